"""The C library's resolver: /etc/resolv.conf as glibc reads it, /etc/hosts and nsswitch order,
getaddrinfo's results and errors, the search list, and glibc's timeouts, attempts, server
rotation, failover and TCP fallback."""

from __future__ import annotations

import socket as pysocket
from typing import Any

import dns.message
import dns.rcode
import dns.rdatatype
from apps_support import ZONES, add_zones, dns_world, lo_world, run

from tuxnet.net.socket import AF_INET, AF_INET6, SOCK_DGRAM, SOCK_RAW, SOCK_STREAM
from tuxnet.user import libc
from tuxnet.user.etc import install_base_files
from tuxnet.user.programs.dns import named
from tuxnet.user.resolv import (
    AI_CANONNAME,
    AI_NUMERICHOST,
    EAI_ADDRFAMILY,
    EAI_AGAIN,
    EAI_BADFLAGS,
    EAI_FAMILY,
    EAI_NODATA,
    EAI_NONAME,
    EAI_SERVICE,
    HOST_NOT_FOUND,
    NI_NUMERICHOST,
    NI_NUMERICSERV,
    res_ninit,
)


def fake_dns(addr: str, log: list[tuple[str, str]], mode: str, known: dict[str, str] | None = None) -> None:
    """A UDP name server that logs each question and answers per ``mode``: ``silent`` never
    answers, ``servfail`` answers SERVFAIL, ``answer`` gives ``known`` names' A record (NXDOMAIN
    for the rest)."""
    fd = libc.socket(AF_INET, SOCK_DGRAM, 0)
    libc.bind(fd, (addr, 53))
    while True:
        wire, peer = libc.recvfrom(fd, 65535)
        q = dns.message.from_wire(wire)
        name = q.question[0].name.to_text()
        log.append((name, dns.rdatatype.to_text(q.question[0].rdtype)))
        if mode == "silent":
            continue
        r = dns.message.make_response(q)
        if mode == "servfail":
            r.set_rcode(dns.rcode.SERVFAIL)
        elif known and name in known:
            if q.question[0].rdtype == dns.rdatatype.A:
                r.answer.append(dns.rrset.from_text(name, 60, "IN", "A", known[name]))
        else:
            r.set_rcode(dns.rcode.NXDOMAIN)
        libc.sendto(fd, r.to_wire(), 0, peer)


def test_resolv_conf_is_read_as_glibc_reads_it() -> None:
    world, host = lo_world(name="box.lab.test")
    host.files["/etc/resolv.conf"] = (
        "# comment\n; another\nnameserver 10.0.0.1\nnameserver fe80::1\nnameserver 10.0.0.2\n"
        "nameserver 10.0.0.3\nnameserver 10.0.0.4\ndomain foo.test\nsearch a.test b.test\n"
        "options ndots:20 timeout:60 attempts:9 rotate edns0 single-request bogus\n")
    st = run(world, host, res_ninit)
    assert st.nameservers == ["10.0.0.1", "10.0.0.2", "10.0.0.3"]  # MAXNS 3, IPv6 skipped
    assert st.search == ["a.test", "b.test"]
    assert (st.ndots, st.timeout, st.attempts) == (15, 30, 5)  # RES_MAXNDOTS, RES_MAXRETRANS, RES_MAXRETRY
    assert st.rotate and st.edns0 and st.single_request and not st.use_vc
    del host.files["/etc/resolv.conf"]
    st = run(world, host, res_ninit)
    assert st.nameservers == ["127.0.0.1"]  # no nameserver line: the local host
    assert st.search == ["lab.test"]  # no domain/search: the domain of the host name
    assert (st.ndots, st.timeout, st.attempts) == (1, 5, 2)


def test_getaddrinfo_results_as_glibc_orders_them() -> None:
    world, host = dns_world()
    r = run(world, host, libc.getaddrinfo, "web.example.com", "http")
    assert r == [(AF_INET, SOCK_STREAM, 6, "", ("10.0.3.80", 80)),
                 (AF_INET6, SOCK_STREAM, 6, "", ("2001:db8:3::80", 80, 0, 0))]
    r = run(world, host, libc.getaddrinfo, "www.example.com", 8080, AF_INET, 0, 0, AI_CANONNAME)
    assert [(e[1], e[2]) for e in r] == [(SOCK_STREAM, 6), (SOCK_DGRAM, 17), (SOCK_RAW, 0)]
    assert r[0][3] == "web.example.com" and r[1][3] == ""
    assert all(e[4] == ("10.0.3.80", 8080) for e in r)
    r = run(world, host, libc.getaddrinfo, "10.1.2.3", "domain", 0, SOCK_DGRAM)
    assert r == [(AF_INET, SOCK_DGRAM, 17, "", ("10.1.2.3", 53))]
    r = run(world, host, libc.getaddrinfo, None, 80, AF_INET, SOCK_STREAM, 0, 1)  # AI_PASSIVE
    assert r[0][4] == ("0.0.0.0", 80)


SERVICES_AS_TEXT = ["80", " 5", "+5", "-1", "70000", "1_0", "", "http", "²", "0x50", "99999999999999999999"]


def test_a_service_in_text_is_read_as_glibc_reads_it() -> None:
    """gaih_inet: strtoul's number when nothing follows it, kept in an int (a negative one looked
    up as a name), the port its low 16 bits; this machine's getaddrinfo is the judge."""
    world, host = dns_world()
    for service in SERVICES_AS_TEXT:
        ours = run(world, host, libc.getaddrinfo, "127.0.0.1", service, AF_INET, SOCK_STREAM)
        try:
            theirs: object = pysocket.getaddrinfo("127.0.0.1", service, pysocket.AF_INET, pysocket.SOCK_STREAM)[0][4]
        except pysocket.gaierror as e:
            theirs = e.errno
        assert (ours[0][4] if isinstance(ours, list) else ours.errno) == theirs, service


def test_getaddrinfo_errors_are_glibcs() -> None:
    world, host = dns_world()
    cases = [
        (("nope.example.com", 80), EAI_NONAME),                 # NXDOMAIN
        (("mail.example.com", 80, AF_INET6), EAI_NODATA),       # the name exists, no AAAA
        (("web.example.com", "nosuchservice"), EAI_SERVICE),
        (("web.example.com", 80, 0, 0, 0, 0x8000), EAI_BADFLAGS),
        (("web.example.com", 80, 99), EAI_FAMILY),
        (("10.0.0.1", 80, AF_INET6), EAI_ADDRFAMILY),
        (("web.example.com", 80, 0, 0, 0, AI_NUMERICHOST), EAI_NONAME),
        ((None, None), EAI_NONAME),
    ]
    for args, code in cases:
        err = run(world, host, libc.getaddrinfo, *args)
        assert isinstance(err, pysocket.gaierror), args
        assert err.errno == code, (args, err)
    host.files["/etc/resolv.conf"] = "nameserver 127.0.0.99\n"  # nobody listens there
    err = run(world, host, libc.getaddrinfo, "web.example.com", 80)
    assert isinstance(err, pysocket.gaierror) and err.errno == EAI_AGAIN
    assert err.strerror == "Temporary failure in name resolution"


def test_hosts_file_comes_first_unless_nsswitch_says_otherwise() -> None:
    world, host = dns_world(hosts={"192.0.2.1": ["www.example.com", "www"]})
    r = run(world, host, libc.getaddrinfo, "WWW.example.com", 80, AF_INET, SOCK_STREAM)
    assert [e[4][0] for e in r] == ["192.0.2.1"]
    h = run(world, host, libc.gethostbyname, "www")
    assert (h.h_name, h.h_aliases, h.h_addr_list) == ("www.example.com", ["www"], ["192.0.2.1"])
    host.files["/etc/nsswitch.conf"] = "hosts: dns files\n"
    h = run(world, host, libc.gethostbyname, "www.example.com")
    assert (h.h_name, h.h_aliases, h.h_addr_list) == ("web.example.com", ["www.example.com"], ["10.0.3.80"])
    host.files["/etc/nsswitch.conf"] = "hosts: files\n"
    err = run(world, host, libc.gethostbyname, "web.example.com")
    assert isinstance(err, pysocket.herror) and err.errno == HOST_NOT_FOUND
    # a NUL in the name is no address (it used to raise ValueError from the address check)
    for name in ("192.0.2.1\0junk", "192.0.2.1\udcff"):  # (and a lone surrogate, as from surrogateescape)
        err = run(world, host, libc.gethostbyname, name)
        assert isinstance(err, pysocket.herror) and err.errno == HOST_NOT_FOUND


def test_reverse_lookups_and_getnameinfo() -> None:
    world, host = dns_world()
    h = run(world, host, libc.gethostbyaddr, "10.0.3.80")
    assert h.h_name == "web.example.com" and h.h_addr_list == ["10.0.3.80"]
    assert run(world, host, libc.getnameinfo, ("10.0.3.53", 53)) == ("ns1.example.com", "domain")
    assert run(world, host, libc.getnameinfo, ("10.0.3.53", 53), NI_NUMERICHOST | NI_NUMERICSERV) == \
        ("10.0.3.53", "53")
    assert run(world, host, libc.getnameinfo, ("10.0.3.9", 4444)) == ("10.0.3.9", "4444")


def _lookup_log(world: Any, host: Any, log: list, name: str) -> list[str]:
    log.clear()
    run(world, host, libc.getaddrinfo, name, 80, AF_INET, SOCK_STREAM)
    return [q for q, _ in log]


def test_search_list_and_ndots() -> None:
    world, host = lo_world()
    log: list[tuple[str, str]] = []
    host.spawn(fake_dns, "127.0.0.53", log, "answer", {"web.example.com.": "10.0.3.80", "x.y.": "10.9.9.9"})
    install_base_files(host, nameservers=["127.0.0.53"], search=["example.com", "lab.test"])
    assert _lookup_log(world, host, log, "web") == ["web.example.com."]
    assert _lookup_log(world, host, log, "nope") == ["nope.example.com.", "nope.lab.test.", "nope."]
    assert _lookup_log(world, host, log, "x.y") == ["x.y."]  # as many dots as ndots: as given first
    assert _lookup_log(world, host, log, "q.z") == ["q.z.", "q.z.example.com.", "q.z.lab.test."]
    assert _lookup_log(world, host, log, "abs.") == ["abs."]  # a trailing dot: no search
    host.files["/etc/resolv.conf"] += "options ndots:2\n"
    assert _lookup_log(world, host, log, "q.z") == ["q.z.example.com.", "q.z.lab.test.", "q.z."]


def test_timeouts_and_attempts_follow_glibc() -> None:
    """send_dg: the server at index ns waits (timeout << ns) / nscount seconds (timeout for the
    first), for ``attempts`` rounds; A and AAAA go out together unless single-request."""
    world, host = lo_world()
    logs: dict[str, list] = {"127.0.0.61": [], "127.0.0.62": [], "127.0.0.63": []}
    for addr, log in logs.items():
        host.spawn(fake_dns, addr, log, "silent")
    install_base_files(host, nameservers=["127.0.0.61"])

    def timed(*args: Any) -> tuple[float, Any]:
        for log in logs.values():
            log.clear()
        t0 = world.now
        err = run(world, host, libc.getaddrinfo, *args)
        return (world.now - t0) / 1e9, err

    elapsed, err = timed("web.example.com", 80, AF_INET, SOCK_STREAM)
    assert err.errno == EAI_AGAIN
    assert round(elapsed, 3) == 10.0  # 2 attempts x 5 s
    assert len(logs["127.0.0.61"]) == 2
    elapsed, _ = timed("web.example.com", 80)
    assert round(elapsed, 3) == 10.0
    assert sorted(t for _, t in logs["127.0.0.61"]) == ["A", "A", "AAAA", "AAAA"]
    host.files["/etc/resolv.conf"] = "nameserver 127.0.0.61\noptions single-request\n"
    timed("web.example.com", 80)
    assert [t for _, t in logs["127.0.0.61"]] == ["A", "A"]  # AAAA waits for the A answer
    host.files["/etc/resolv.conf"] = "".join(f"nameserver {a}\n" for a in logs)
    elapsed, _ = timed("web.example.com", 80, AF_INET, SOCK_STREAM)
    assert round(elapsed, 3) == 28.0  # per attempt: 5 s, (5 << 1) / 3 = 3 s, (5 << 2) / 3 = 6 s
    assert len(logs["127.0.0.61"]) == len(logs["127.0.0.62"]) == len(logs["127.0.0.63"]) == 2
    host.files["/etc/resolv.conf"] = "nameserver 127.0.0.61\noptions timeout:1 attempts:3\n"
    elapsed, _ = timed("web.example.com", 80, AF_INET, SOCK_STREAM)
    assert round(elapsed, 3) == 3.0 and len(logs["127.0.0.61"]) == 3


def test_failover_on_icmp_unreachable_and_servfail() -> None:
    world, host = dns_world(nameservers=["127.0.0.99", "127.0.0.53"])
    t0 = world.now
    r = run(world, host, libc.getaddrinfo, "web.example.com", 80, AF_INET, SOCK_STREAM)
    assert r[0][4] == ("10.0.3.80", 80)
    assert world.now - t0 < 10_000_000  # port unreachable: no waiting for a timeout
    log: list = []
    host.spawn(fake_dns, "127.0.0.61", log, "servfail")
    host.files["/etc/resolv.conf"] = "nameserver 127.0.0.61\nnameserver 127.0.0.53\n"
    r = run(world, host, libc.getaddrinfo, "web.example.com", 80, AF_INET, SOCK_STREAM)
    assert r[0][4] == ("10.0.3.80", 80) and len(log) == 1
    host.files["/etc/resolv.conf"] = "nameserver 127.0.0.61\n"
    err = run(world, host, libc.getaddrinfo, "web.example.com", 80, AF_INET, SOCK_STREAM)
    assert err.errno == EAI_AGAIN


def test_rotate_spreads_queries_over_the_servers() -> None:
    world, host = lo_world()
    logs: dict[str, list] = {"127.0.0.61": [], "127.0.0.62": []}
    for addr, log in logs.items():
        host.spawn(fake_dns, addr, log, "answer", {"web.example.com.": "10.0.3.80"})
    install_base_files(host, nameservers=list(logs), options=["rotate"])
    for _ in range(4):
        run(world, host, libc.getaddrinfo, "web.example.com", 80, AF_INET, SOCK_STREAM)
    assert len(logs["127.0.0.61"]) == len(logs["127.0.0.62"]) == 2


def test_truncated_answer_is_asked_again_over_tcp() -> None:
    world, host = lo_world()
    add_zones(host)
    host.files["/etc/bind/db.big.test"] = "$TTL 60\n@ SOA ns1 h 1 2 3 4 5\n@ NS ns1\nns1 A 10.9.0.1\n" + "".join(
        f"many A 10.9.1.{i}\n" for i in range(1, 61))
    host.spawn(named, {**ZONES, "big.test.": "/etc/bind/db.big.test"}, addr="127.0.0.53")
    install_base_files(host, nameservers=["127.0.0.53"])
    opens = host.mib.Tcp["ActiveOpens"]
    r = run(world, host, libc.getaddrinfo, "many.big.test", 80, AF_INET, SOCK_STREAM)
    assert sorted(e[4][0] for e in r) == sorted(f"10.9.1.{i}" for i in range(1, 61))
    assert host.mib.Tcp["ActiveOpens"] == opens + 1  # the UDP answer had TC set: send_vc
