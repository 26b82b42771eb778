"""The name server, judged by an independent client: dnspython's query functions, running
unmodified in a tuxnet process, against the zone as dnspython itself parses the master file."""

from __future__ import annotations

import random
from typing import Any

import dns.edns
import dns.flags
import dns.message
import dns.name
import dns.opcode
import dns.query
import dns.rcode
import dns.rdataclass
import dns.rdatatype
import dns.zone
import pytest
from apps_support import ZONES, add_zones, dns_world, lo_world, run

from tuxnet import socket as tsock
from tuxnet.socket import stdlib
from tuxnet.user.programs.dns import named, server_cookie
from tuxnet.user.programs.final_project import EXAMPLE_ZONE, REVERSE_ZONE

SERVER = "127.0.0.53"
IN = dns.rdataclass.IN


def query(name: str, rdtype: str, tcp: bool = False, **kw: Any) -> dns.message.Message:
    q = dns.message.make_query(name, rdtype, **kw)
    return (dns.query.tcp if tcp else dns.query.udp)(q, SERVER, timeout=2)


def ask(world: Any, host: Any, fn: Any, *args: Any, **kwargs: Any) -> Any:
    return run(world, host, stdlib(fn), *args, **kwargs)


@pytest.mark.parametrize("tcp", [False, True])
def test_every_record_type_is_what_the_zone_says(tcp: bool) -> None:
    world, host = dns_world()
    zones = [dns.zone.from_text(EXAMPLE_ZONE, relativize=False), dns.zone.from_text(REVERSE_ZONE, relativize=False)]
    cases = [("example.com.", "SOA"), ("example.com.", "NS"), ("example.com.", "MX"), ("example.com.", "TXT"),
             ("example.com.", "A"), ("web.example.com.", "A"), ("web.example.com.", "AAAA"),
             ("www.example.com.", "CNAME"), ("ns1.example.com.", "A"), ("80.3.0.10.in-addr.arpa.", "PTR"),
             ("53.3.0.10.in-addr.arpa.", "PTR")]
    for name, rdtype in cases:
        r = ask(world, host, query, name, rdtype, tcp)
        assert r.rcode() == dns.rcode.NOERROR, (name, rdtype)
        assert r.flags & dns.flags.AA and r.flags & dns.flags.QR
        zone = next(z for z in zones if dns.name.from_text(name).is_subdomain(z.origin))
        expected = zone.find_rdataset(name, rdtype)
        got = r.find_rrset(r.answer, dns.name.from_text(name), IN, dns.rdatatype.from_text(rdtype))
        assert set(got) == set(expected) and got.ttl == expected.ttl, (name, rdtype)


@pytest.mark.parametrize("tcp", [False, True])
def test_a_repeated_query_gets_the_same_answer_under_its_own_id(tcp: bool) -> None:
    """named keeps authoritative answers on the wire; a repeat must differ only in its ID, and
    a query that differs elsewhere (RD, EDNS) must not get another query's answer."""
    world, host = dns_world()

    def twice(rd: bool, edns: int) -> list[dns.message.Message]:
        out = []
        for qid in (0x1111, 0x2222):
            q = dns.message.make_query("www.example.com", "A", use_edns=edns)
            q.id = qid
            if not rd:
                q.flags &= ~dns.flags.RD
            out.append((dns.query.tcp if tcp else dns.query.udp)(q, SERVER, timeout=2))
        return out

    for rd, edns in ((True, -1), (False, -1), (True, 0)):
        first, second = ask(world, host, twice, rd, edns)
        assert (first.id, second.id) == (0x1111, 0x2222)
        assert first.to_wire()[2:] == second.to_wire()[2:]
        assert bool(second.flags & dns.flags.RD) == rd and second.edns == edns
        assert [str(r) for r in second.answer] == [str(r) for r in first.answer] and second.answer


def test_the_server_cookie_is_rfc_9018s() -> None:
    """The interoperable server cookie: the two examples of RFC 9018's Appendix A (a client at
    198.51.100.100, the server's secret, two times) come out as the RFC prints them."""
    secret = bytes.fromhex("e5e973e5a6b2a43f48e7dc849e37bfcf")
    client = bytes.fromhex("2464c4abcf10c957")
    assert server_cookie(secret, client, "198.51.100.100", 1559731985).hex() == "010000005cf79f111f8130c3eee29480"
    assert server_cookie(secret, client, "198.51.100.100", 1559734385).hex() == "010000005cf7a871d4a564a1442aca77"


@pytest.mark.parametrize("tcp", [False, True])
def test_a_query_with_a_cookie_gets_it_back_with_a_server_cookie(tcp: bool) -> None:
    """RFC 7873 §5.2: the client cookie comes back with a server cookie of RFC 9018's layout, made
    for that client cookie (an answer with one is never served again from the answers kept)."""
    world, host = dns_world()

    def with_cookies() -> list[bytes]:
        out = []
        for client in (b"\x01" * 8, b"\x02" * 8, b"\x01" * 8):
            q = dns.message.make_query("www.example.com", "A", use_edns=0,
                                       options=[dns.edns.GenericOption(10, client)])
            r = (dns.query.tcp if tcp else dns.query.udp)(q, SERVER, timeout=2)
            assert r.answer and r.rcode() == dns.rcode.NOERROR
            out += [o.to_wire() for o in r.options if o.otype == 10]
        return out

    cookies = ask(world, host, with_cookies)
    assert [len(c) for c in cookies] == [24, 24, 24]
    assert [c[:8] for c in cookies] == [b"\x01" * 8, b"\x02" * 8, b"\x01" * 8]
    assert all(c[8:12] == b"\x01\x00\x00\x00" for c in cookies)
    assert cookies[0][16:] != cookies[1][16:]


def test_cname_is_followed_and_addresses_are_added() -> None:
    world, host = dns_world()
    r = ask(world, host, query, "www.example.com", "A")
    assert [(rr.name.to_text(), dns.rdatatype.to_text(rr.rdtype)) for rr in r.answer] == \
        [("www.example.com.", "CNAME"), ("web.example.com.", "A")]
    mx = ask(world, host, query, "example.com", "MX")
    assert [rr.to_text() for rr in mx.additional] == ["mail.example.com. 3600 IN A 10.0.3.25"]


def test_negative_answers_carry_the_soa() -> None:
    world, host = dns_world()
    nx = ask(world, host, query, "nope.example.com", "A")
    assert nx.rcode() == dns.rcode.NXDOMAIN and not nx.answer and nx.flags & dns.flags.AA
    soa = nx.authority[0]
    assert soa.rdtype == dns.rdatatype.SOA and soa.ttl == 300  # min(SOA TTL, MINIMUM): RFC 2308 §3
    nodata = ask(world, host, query, "mail.example.com", "AAAA")
    assert nodata.rcode() == dns.rcode.NOERROR and not nodata.answer
    assert nodata.authority[0].rdtype == dns.rdatatype.SOA
    ent = ask(world, host, query, "b.deep.example.com", "A")  # an empty non-terminal exists
    assert ent.rcode() == dns.rcode.NOERROR and not ent.answer
    wild = ask(world, host, query, "anything.dyn.example.com", "A")
    assert [rr.to_text() for rr in wild.answer] == ["anything.dyn.example.com. 3600 IN A 10.0.3.99"]


def test_delegation_is_a_referral_with_glue() -> None:
    world, host = dns_world()
    r = ask(world, host, query, "host.lab.example.com", "A")
    assert r.rcode() == dns.rcode.NOERROR and not r.answer and not r.flags & dns.flags.AA
    assert [rr.to_text() for rr in r.authority] == ["lab.example.com. 3600 IN NS ns.lab.example.com."]
    assert [rr.to_text() for rr in r.additional] == ["ns.lab.example.com. 3600 IN A 10.0.4.53"]


def test_truncation_over_512_octets_without_edns() -> None:
    world, host = lo_world()
    add_zones(host)
    host.files["/z"] = "$TTL 60\n@ SOA ns1 h 1 2 3 4 5\n@ NS ns1\nns1 A 10.9.0.1\n" + "".join(
        f"many A 10.9.1.{i}\n" for i in range(1, 61))
    host.spawn(named, {**ZONES, "big.test.": "/z"}, addr=SERVER)

    def fetch() -> tuple[Any, ...]:
        q = dns.message.make_query("many.big.test", "A")
        plain = dns.query.udp(q, SERVER, timeout=2)
        wire = len(plain.to_wire())
        edns = dns.query.udp(dns.message.make_query("many.big.test", "A", use_edns=0, payload=4096), SERVER,
                             timeout=2)
        fallback, used_tcp = dns.query.udp_with_fallback(q, SERVER, timeout=2)
        return plain, wire, edns, fallback, used_tcp

    plain, wire, edns, fallback, used_tcp = ask(world, host, fetch)
    assert plain.flags & dns.flags.TC and wire <= 512
    assert not edns.flags & dns.flags.TC and len(edns.answer[0]) == 60
    assert edns.payload == 1232  # our advertised EDNS buffer
    assert used_tcp and len(fallback.answer[0]) == 60


def _raw_udp(payloads: list[bytes], timeout: float = 1.0) -> list[bytes | None]:
    """Send each payload from one UDP socket; the reply to each (None if none came)."""
    out: list[bytes | None] = []
    with tsock.socket(tsock.AF_INET, tsock.SOCK_DGRAM) as s:
        s.settimeout(timeout)
        for p in payloads:
            s.sendto(p, (SERVER, 53))
            try:
                out.append(s.recv(65535))
            except TimeoutError:
                out.append(None)
    return out


def _header(qid: int, flags: int, qd: int = 1, an: int = 0, ns: int = 0, ar: int = 0) -> bytes:
    return b"".join(v.to_bytes(2, "big") for v in (qid, flags, qd, an, ns, ar))


def test_malformed_queries_get_formerr_or_nothing() -> None:
    world, host = dns_world()
    good = dns.message.make_query("web.example.com", "A")
    good.id = 0x4242
    two = dns.message.make_query("web.example.com", "A")
    two.question.append(two.question[0])
    edns1 = dns.message.make_query("web.example.com", "A", use_edns=1)
    notify = dns.message.make_query("example.com", "SOA")
    notify.set_opcode(dns.opcode.NOTIFY)
    axfr = dns.message.make_query("example.com", "AXFR")
    chaos = dns.message.make_query("version.bind", "TXT", rdclass="CH")
    outside = dns.message.make_query("www.google.com", "A")
    payloads = [
        b"\x12\x34\x01",                                   # shorter than a header: dropped
        _header(0x1234, 0x0100) + b"\x07garbage",          # a question that does not parse
        _header(0x1235, 0x8180) + good.to_wire()[12:],     # a response: never answered
        two.to_wire(), edns1.to_wire(), notify.to_wire(), axfr.to_wire(), chaos.to_wire(), outside.to_wire(),
        bytes(65000),                                      # oversized zeros: a header of zeros, no question
        good.to_wire(),
    ]
    replies = run(world, host, _raw_udp, payloads)
    assert replies[0] is None and replies[2] is None
    parsed = [dns.message.from_wire(r) if r is not None else None for r in replies]
    formerr = parsed[1]
    assert formerr.id == 0x1234 and formerr.rcode() == dns.rcode.FORMERR and formerr.flags & dns.flags.QR
    assert parsed[3].rcode() == dns.rcode.FORMERR
    assert parsed[4].rcode() == dns.rcode.BADVERS and parsed[4].edns == 0  # RFC 6891 §6.1.3
    assert parsed[5].rcode() == dns.rcode.NOTIMP
    assert parsed[6].rcode() == dns.rcode.REFUSED and parsed[7].rcode() == dns.rcode.REFUSED
    assert parsed[8].rcode() == dns.rcode.REFUSED and not parsed[8].flags & dns.flags.RA
    assert parsed[9].rcode() == dns.rcode.FORMERR
    assert parsed[10].id == 0x4242 and parsed[10].answer[0][0].address == "10.0.3.80"


def test_random_and_mutated_queries_never_stop_the_server() -> None:
    world, host = dns_world()
    rng = random.Random(7)
    good = dns.message.make_query("www.example.com", "A", use_edns=0).to_wire()
    payloads = [rng.randbytes(rng.randrange(0, 600)) for _ in range(150)]
    for _ in range(250):
        b = bytearray(good)
        for _ in range(rng.randrange(1, 6)):
            b[rng.randrange(len(b))] = rng.randrange(256)
        payloads.append(bytes(b[:rng.randrange(len(b) + 1)] if rng.random() < 0.3 else b))
    replies = run(world, host, _raw_udp, payloads, 0.05)
    for reply in replies:
        if reply is not None:
            assert reply[2] & 0x80  # anything that comes back is a response
    last = ask(world, host, query, "web.example.com", "A")
    assert last.answer[0][0].address == "10.0.3.80"


def test_tcp_pipelining_and_slow_clients() -> None:
    world, host = dns_world()
    q1 = dns.message.make_query("web.example.com", "A")
    q2 = dns.message.make_query("mail.example.com", "A")

    def pipelined() -> list[int]:
        with tsock.create_connection((SERVER, 53), timeout=5) as s:
            s.sendall(b"".join(len(w).to_bytes(2, "big") + w for w in (q1.to_wire(), q2.to_wire())))
            f = s.makefile("rb")
            ids = []
            for _ in range(2):
                n = int.from_bytes(f.read(2), "big")
                ids.append(dns.message.from_wire(f.read(n)).id)
            f.close()
            return ids

    assert run(world, host, pipelined) == [q1.id, q2.id]

    def garbage_frames() -> tuple[Any, ...]:
        with tsock.create_connection((SERVER, 53), timeout=5) as s:
            s.sendall(b"\x00\x0e" + _header(0x0707, 0x0100) + b"\xff\xff")  # a question that does not parse
            f = s.makefile("rb")
            n = int.from_bytes(f.read(2), "big")
            formerr = dns.message.from_wire(f.read(n))
            s.sendall(b"\x00\x00")  # a zero length: the server hangs up
            eof = f.read(1)
            f.close()
            return formerr.id, formerr.rcode(), eof

    assert run(world, host, garbage_frames) == (0x0707, dns.rcode.FORMERR, b"")

    closed_at: dict[str, float] = {}

    def slowloris() -> None:
        s = tsock.create_connection((SERVER, 53))
        s.sendall(b"\x00")  # half a length prefix, then silence
        t0 = world.now
        assert s.recv(10) == b""
        closed_at["after"] = (world.now - t0) / 1e9
        s.close()

    host.spawn(slowloris)
    world.run(until=world.now + 1_000_000_000)
    r = ask(world, host, query, "web.example.com", "A", True)  # others are served meanwhile
    assert r.answer[0][0].address == "10.0.3.80"
    world.run(until=world.now + 40_000_000_000)
    assert closed_at["after"] == pytest.approx(30.0, abs=0.01)  # BIND's tcp-initial-timeout


def test_forwarding_to_an_upstream_server() -> None:
    world, host = dns_world()
    host.spawn(named, {}, addr="127.0.0.54", forwarders=[SERVER])
    host.spawn(named, {}, addr="127.0.0.55", forwarders=["127.0.0.99"])

    def via(server: str, rd: bool = True, tcp: bool = False) -> dns.message.Message:
        q = dns.message.make_query("www.example.com", "A")
        if not rd:
            q.flags &= ~dns.flags.RD
        return (dns.query.tcp if tcp else dns.query.udp)(q, server, timeout=30)

    r = ask(world, host, via, "127.0.0.54")
    assert r.rcode() == dns.rcode.NOERROR and r.flags & dns.flags.RA and not r.flags & dns.flags.AA
    assert [rr.rdtype for rr in r.answer] == [dns.rdatatype.CNAME, dns.rdatatype.A]
    assert ask(world, host, via, "127.0.0.54", True, True).answer[1][0].address == "10.0.3.80"
    assert ask(world, host, via, "127.0.0.54", False).rcode() == dns.rcode.REFUSED
    t0 = world.now
    assert ask(world, host, via, "127.0.0.55").rcode() == dns.rcode.SERVFAIL
    assert world.now - t0 < 1_000_000_000  # the dead upstream refuses at once (port unreachable)
