"""The resolver's DNS messages on the wire (tuxnet.user.nameser), judged by dnspython: the queries
it builds are the octets dnspython builds, the answers dnspython renders (names compressed) read
back as dnspython reads them, and no octets a server sends make the parser raise anything but
ValueError.  Then a resolver facing a hostile server: it ignores every bad answer and takes the
good one that follows."""

from __future__ import annotations

import random

import dns.flags
import dns.message
import dns.name
import dns.rcode
import dns.rdatatype
import dns.rrset
import pytest
from apps_support import lo_world, run
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tuxnet.net.socket import AF_INET, SOCK_DGRAM
from tuxnet.user import libc
from tuxnet.user.etc import install_base_files
from tuxnet.user.nameser import (
    C_IN,
    T_A,
    T_AAAA,
    T_CNAME,
    T_PTR,
    dn_expand,
    mkquery,
    ns_initparse,
    ns_name_pton,
)
from tuxnet.user.resolv import getanswer

LABEL = st.text(alphabet="abcdefghijklmnopqrstuvwxyz0123456789-_", min_size=1, max_size=20)
NAME = st.lists(LABEL, min_size=1, max_size=5).map(".".join)


def test_names_go_on_the_wire_as_ns_name_pton_puts_them() -> None:
    assert ns_name_pton("www.example.com") == b"\x03www\x07example\x03com\x00"
    assert ns_name_pton("www.example.com.") == ns_name_pton("www.example.com")
    assert ns_name_pton(".") == ns_name_pton("") == b"\x00"
    assert ns_name_pton(r"a\.b.c") == b"\x03a.b\x01c\x00"
    assert ns_name_pton(r"\065\\x.c") == b"\x03A\\x\x01c\x00"
    for bad in ("a..b", ".a", "a" * 64 + ".com", ".".join(["abcdefghi"] * 26), "a\\", "a\\300.b"):
        with pytest.raises(ValueError):
            ns_name_pton(bad)
    assert len(ns_name_pton(".".join(["a" * 63] * 3 + ["b" * 61]))) == 255  # the longest there is


@given(NAME, st.sampled_from([T_A, T_AAAA, T_PTR, T_CNAME]), st.integers(0, 0xFFFF), st.booleans())
def test_a_query_is_the_octets_dnspython_builds(name: str, qtype: int, qid: int, edns: bool) -> None:
    ours = mkquery(qid, name, qtype, 1200 if edns else 0)
    theirs = dns.message.make_query(name, qtype, use_edns=0 if edns else False, payload=1200, id=qid)
    assert ours == theirs.to_wire()


# The question's name, the names its CNAME chain goes through (each once: dnspython merges the
# records of a repeated name), A records at the end of the chain, the ID and the rcode.
ANSWER = st.lists(NAME, min_size=1, max_size=4, unique=True).flatmap(lambda names: st.tuples(
    st.just(names[0]), st.just(names[1:]), st.lists(st.integers(0, 2**32 - 1), max_size=4, unique=True),
    st.integers(0, 0xFFFF), st.sampled_from([0, 2, 3])))


@given(ANSWER)
def test_answers_dnspython_renders_read_back_as_dnspython_reads_them(answer: tuple) -> None:
    """A CNAME chain and A records, names compressed by dnspython's renderer; the records, their
    names and what getanswer makes of them are dnspython's reading."""
    qname, chain, addrs, qid, rcode = answer
    query = dns.message.make_query(qname, "A", id=qid)
    r = dns.message.make_response(query)
    r.set_rcode(rcode)
    owner = qname + "."
    for target in chain:
        r.answer.append(dns.rrset.from_text(owner, 60, "IN", "CNAME", target + "."))
        owner = target + "."
    for a in addrs:
        r.answer.append(dns.rrset.from_text(owner, 30, "IN", "A", ".".join(str(a >> s & 255) for s in (24, 16, 8, 0))))
    wire = r.to_wire()
    msg = ns_initparse(wire)
    back = dns.message.from_wire(wire)
    assert (msg.id, msg.flags, msg.rcode) == (back.id, back.flags, back.rcode())
    assert msg.question == [(qname, T_A, C_IN)]
    assert [(rr.name + ".", rr.type, rr.ttl) for rr in msg.answer] == [
        (rrset.name.to_text(), rrset.rdtype, rrset.ttl) for rrset in back.answer for _ in rrset]
    canon, aliases, found = getanswer(msg)
    if addrs and rcode != dns.rcode.NXDOMAIN:  # (dnspython refuses to chain those)
        chained = back.resolve_chaining()
        assert canon == chained.canonical_name.to_text(omit_final_dot=True)
        assert aliases == [c.name.to_text(omit_final_dot=True) for c in chained.cnames]
        assert sorted(found) == sorted((AF_INET, rd.address) for rd in chained.answer)


def test_a_name_is_expanded_whatever_its_pointers_do() -> None:
    msg = b"\x00" * 12 + b"\x03www\xc0\x14" + b"\x00\x00" + b"\x07example\x00"
    assert dn_expand(msg, 12) == ("www.example", 18)
    with pytest.raises(ValueError):
        dn_expand(b"\x00" * 12 + b"\xc0\x0c", 12)  # points at itself
    with pytest.raises(ValueError):
        dn_expand(b"\x00" * 12 + b"\x01a\xc0\x0e\x01b\xc0\x0c", 12)  # two pointers in a ring
    with pytest.raises(ValueError):
        dn_expand(b"\x00" * 12 + b"\xc0\x40", 12)  # past the end
    with pytest.raises(ValueError):
        dn_expand(b"\x00" * 12 + b"\x41a", 12)  # label type 0x40
    with pytest.raises(ValueError):
        dn_expand(b"\x00" * 12 + b"\x05ab", 12)  # a label longer than what is left
    long = b"".join(b"\x3f" + b"x" * 63 for _ in range(4)) + b"\x00"  # 257 octets
    with pytest.raises(ValueError):
        dn_expand(b"\x00" * 12 + long, 12)
    assert dn_expand(b"\x00" * 12 + b"\x04a.b\\\x01 \x00", 12)[0] == "a\\.b\\\\.\\032"


@settings(max_examples=500, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.binary(max_size=300), st.randoms(use_true_random=False))
def test_any_octets_parse_or_raise_value_error(data: bytes, rng: random.Random) -> None:
    """Random octets, and a real answer with octets flipped or cut short."""
    real = dns.message.make_response(dns.message.make_query("www.example.com", "A", id=7))
    real.answer.append(dns.rrset.from_text("www.example.com.", 60, "IN", "CNAME", "web.example.com."))
    real.answer.append(dns.rrset.from_text("web.example.com.", 60, "IN", "A", "10.0.3.80"))
    mutated = bytearray(real.to_wire())
    for _ in range(rng.randrange(1, 6)):
        mutated[rng.randrange(len(mutated))] = rng.randrange(256)
    for wire in (data, bytes(mutated), bytes(mutated[:rng.randrange(len(mutated))])):
        try:
            msg = ns_initparse(wire)
        except ValueError:
            continue
        getanswer(msg)


def hostile_dns(addr: str, answers: list[bytes]) -> None:
    """A UDP name server that answers each query with every one of ``answers`` (their ID set to
    the query's), then with the right one: www.example.com is 10.0.3.80."""
    fd = libc.socket(AF_INET, SOCK_DGRAM, 0)
    libc.bind(fd, (addr, 53))
    while True:
        wire, peer = libc.recvfrom(fd, 65535)
        for bad in answers:
            libc.sendto(fd, wire[:2] + bad[2:], 0, peer)
        q = dns.message.from_wire(wire)
        r = dns.message.make_response(q)
        if q.question[0].rdtype == dns.rdatatype.A:
            r.answer.append(dns.rrset.from_text(q.question[0].name, 60, "IN", "A", "10.0.3.80"))
        libc.sendto(fd, r.to_wire(), 0, peer)


def _bad_answers() -> list[bytes]:
    good = dns.message.make_response(dns.message.make_query("www.example.com", "A", id=1))
    good.answer.append(dns.rrset.from_text("www.example.com.", 60, "IN", "A", "10.6.6.6"))
    wire = good.to_wire()
    other = dns.message.make_response(dns.message.make_query("evil.example.com", "A", id=1))
    other.answer.append(dns.rrset.from_text("evil.example.com.", 60, "IN", "A", "10.6.6.6"))
    header_only = wire[:4] + b"\x00\x01\x00\x05\x00\x00\x00\x00"  # counts with nothing behind them
    looped = wire[:12] + b"\xc0\x0c" + wire[-20:]  # the question's name points at itself
    query = dns.message.make_query("www.example.com", "A", id=1).to_wire()  # QR clear
    other.flags |= dns.flags.TC  # truncated, but not an answer to this query: no TCP for it
    return [b"\x00\x01", header_only, looped, query, other.to_wire(), wire[:-3], bytes(range(256))]


def test_a_resolver_ignores_what_does_not_answer_its_query() -> None:
    """Too short, sections running off the end, a pointer loop, a query instead of a response,
    the truncated answer to another question, a record cut short, noise: each is ignored (glibc's
    ``res_queriesmatch`` and ``ns_initparse``; TC counts only in an answer to the query), and the
    answer after them is taken, over UDP."""
    world, host = lo_world()
    host.spawn(hostile_dns, "127.0.0.53", _bad_answers())
    install_base_files(host, nameservers=["127.0.0.53"])
    h = run(world, host, libc.gethostbyname, "www.example.com")
    assert h.h_addr_list == ["10.0.3.80"]
    assert host.mib.Tcp["ActiveOpens"] == 0


def test_getanswer_skips_what_glibc_skips() -> None:
    """An A record whose rdata is not four octets is skipped; a CNAME chain that loops ends with
    no address rather than going round."""
    r = dns.message.make_response(dns.message.make_query("a.test", "A", id=3))
    r.answer.append(dns.rrset.from_text("a.test.", 60, "IN", "A", "10.0.0.1"))
    wire = bytearray(r.to_wire())
    wire[-6:-4] = b"\x00\x03"  # rdlength 3: the record now ends an octet early
    msg = ns_initparse(bytes(wire[:-1]))
    assert getanswer(msg) == ("a.test", [], [])
    loop = dns.message.make_response(dns.message.make_query("a.test", "A", id=3))
    loop.answer.append(dns.rrset.from_text("a.test.", 60, "IN", "CNAME", "b.test."))
    loop.answer.append(dns.rrset.from_text("b.test.", 60, "IN", "CNAME", "a.test."))
    canon, aliases, addrs = getanswer(ns_initparse(loop.to_wire()))
    assert addrs == [] and len(aliases) == 17 and dns.name.from_text(canon)
    assert dns.flags.QR & ns_initparse(loop.to_wire()).flags
    assert dns.rcode.NOERROR == ns_initparse(loop.to_wire()).rcode
