"""named as a recursive resolver: names outside its zones looked up from root hints through a
hierarchy of tuxnet name servers (a root, ``test.``, ``lab.test.`` and ``far.test.``), judged by
dnspython's client against what the zones say."""

from __future__ import annotations

import random
import re
import shutil
import subprocess
from collections.abc import Callable
from pathlib import Path
from typing import Any

import dns.edns
import dns.flags
import dns.message
import dns.name
import dns.query
import dns.rcode
import dns.rdataclass
import dns.rdatatype
import dns.rrset
import dns.zone
import pytest
from apps_support import lo_world, run

from procs import run_main
from tuxnet.net.socket import AF_INET, SOCK_DGRAM, SOCK_STREAM
from tuxnet.socket import stdlib
from tuxnet.topology import load_topology
from tuxnet.user import libc
from tuxnet.user.etc import install_base_files
from tuxnet.user.programs.dig import dig_main
from tuxnet.user.programs.dns import named
from tuxnet.user.programs.dns_acl import AddressMatchList
from tuxnet.user.programs.dns_resolver import (
    MAX_QUERIES,
    QUERY_TIMEOUT,
    RESOLVER_QUERY_TIMEOUT,
    Resolver,
    load_hints,
)
from tuxnet.user.programs.named import named_main
from tuxnet.world import secs

RESOLVER = "127.0.0.53"
EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "dns_recursion.toml"
ROOT_ZONE = """$TTL 86400
.          IN SOA a.root. hostmaster.root. 1 1800 900 604800 86400
.          IN NS  a.root.
a.root.    IN A   127.0.0.10
test.      IN NS  ns.nic.test.
ns.nic.test. IN A 127.0.0.11
"""
TEST_ZONE = """$TTL 3600
test.          IN SOA ns.nic.test. hostmaster.nic.test. 1 1800 900 604800 600
test.          IN NS  ns.nic.test.
ns.nic.test.   IN A   127.0.0.11
lab.test.      IN NS  ns0.lab.test.
lab.test.      IN NS  ns1.lab.test.
ns0.lab.test.  IN A   127.0.0.14
ns1.lab.test.  IN A   127.0.0.12
far.test.      IN NS  ns1.lab.test.
dead.test.     IN NS  ns0.lab.test.
a.test.        IN NS  ns.b.test.
b.test.        IN NS  ns.a.test.
rogue.test.    IN NS  ns.rogue.test.
spoof.test.    IN NS  ns.spoof.test.
ns.spoof.test. IN A   127.0.0.16
broken.test.   IN NS  ns.broken.test.
ns.broken.test. IN A  127.0.0.15
ns.rogue.test. IN A   127.0.0.13
"""
LAB_ZONE = """$TTL 300
lab.test.       IN SOA ns1.lab.test. root.lab.test. 1 3600 600 86400 60
lab.test.       IN NS  ns1.lab.test.
ns1.lab.test.   IN A   127.0.0.12
www.lab.test.   IN A   10.0.2.80
www.lab.test.   IN MX  10 www.lab.test.
web.lab.test.   IN CNAME www.far.test.
loop.lab.test.  IN CNAME loop2.far.test.
"""
FAR_ZONE = """$TTL 300
far.test.       IN SOA ns1.lab.test. root.lab.test. 1 3600 600 86400 60
far.test.       IN NS  ns1.lab.test.
www.far.test.   IN A   10.0.2.81
loop2.far.test. IN CNAME loop.lab.test.
"""
HINTS = """.  3600000 IN NS a.root.
a.root. 3600000 IN A 127.0.0.10
"""
IN = dns.rdataclass.IN


def hierarchy(hints: str = HINTS) -> tuple[Any, Any, dict[str, Any]]:
    """One host holding the whole tree on loopback addresses: the root's server on .10, test.'s
    on .11, lab.test.'s and far.test.'s on .12, and the recursive server on .53 with the hints."""
    world, host = lo_world()
    host.files.update({"/etc/bind/db.root": ROOT_ZONE, "/etc/bind/db.test": TEST_ZONE,
                       "/etc/bind/db.lab.test": LAB_ZONE, "/etc/bind/db.far.test": FAR_ZONE,
                       "/etc/bind/db.hints": hints})
    servers = {
        "root": host.spawn(named, {".": "/etc/bind/db.root"}, addr="127.0.0.10", announce=False),
        "test": host.spawn(named, {"test.": "/etc/bind/db.test"}, addr="127.0.0.11", announce=False),
        "lab": host.spawn(named, {"lab.test.": "/etc/bind/db.lab.test", "far.test.": "/etc/bind/db.far.test"},
                          addr="127.0.0.12", announce=False),
        "resolver": host.spawn(named, {}, addr=RESOLVER, hints="/etc/bind/db.hints", announce=False),
    }
    # ns0.lab.test. (.14) takes queries and never answers: a server that has gone quiet
    servers["quiet"] = host.spawn(_quiet, "127.0.0.14")
    world.run(until=world.now + 1_000_000)
    return world, host, servers


def _quiet(addr: str) -> None:
    fd = libc.socket(AF_INET, SOCK_DGRAM, 0)
    libc.bind(fd, (addr, 53))
    while True:
        libc.sleep(3600)


def ask(world: Any, host: Any, name: str, rdtype: str = "A", rd: bool = True) -> dns.message.Message:
    def query() -> dns.message.Message:
        q = dns.message.make_query(name, rdtype)
        if not rd:
            q.flags &= ~dns.flags.RD
        return dns.query.udp(q, RESOLVER, timeout=60)
    return run(world, host, stdlib(query))


def records(r: dns.message.Message) -> list[str]:
    return [line for rrset in r.answer for line in rrset.to_text().splitlines()]


def test_a_name_is_looked_up_from_the_root_down() -> None:
    world, host, _ = hierarchy()
    r = ask(world, host, "www.lab.test")
    assert r.rcode() == dns.rcode.NOERROR
    assert r.flags & dns.flags.RA and r.flags & dns.flags.RD and not r.flags & dns.flags.AA
    assert records(r) == ["www.lab.test. 300 IN A 10.0.2.80"] and not r.authority


def test_a_server_that_does_not_answer_is_passed_over_and_then_avoided() -> None:
    """lab.test.'s server ns0 (.14) never answers: a lookup that asks it first goes on to ns1
    after QUERY_TIMEOUT, and later lookups ask ns1 first (its round-trip time is the smaller);
    dead.test.'s only server is ns0, so its names fail after one try."""
    world, host, _ = hierarchy()
    t0 = world.now
    for rdtype in ("A", "MX", "TXT", "SOA"):
        assert ask(world, host, "www.lab.test", rdtype).rcode() == dns.rcode.NOERROR
    assert world.now - t0 <= secs(QUERY_TIMEOUT + 0.1)  # one time-out at most, whichever went first
    t0 = world.now
    assert ask(world, host, "www.dead.test").rcode() == dns.rcode.SERVFAIL
    assert secs(QUERY_TIMEOUT) <= world.now - t0 < secs(QUERY_TIMEOUT + 0.1)


def test_answers_come_from_the_cache_with_their_ttl_counted_down_until_it_runs_out() -> None:
    world, host, servers = hierarchy()
    ask(world, host, "www.lab.test")
    for name in ("root", "test", "lab"):
        servers[name].kill()
    world.run(until=world.now + secs(100))
    r = ask(world, host, "www.lab.test")
    assert records(r) == ["www.lab.test. 199 IN A 10.0.2.80"]  # 300 s, less the 101 gone by
    world.run(until=world.now + secs(200))
    assert ask(world, host, "www.lab.test").rcode() == dns.rcode.SERVFAIL  # expired, nobody to ask


def test_an_alias_is_followed_into_another_zone_through_a_glueless_delegation() -> None:
    """web.lab.test. is an alias for www.far.test., whose server (ns1.lab.test.) comes without
    glue from test.'s servers: the resolver looks its address up itself."""
    world, host, _ = hierarchy()
    r = ask(world, host, "web.lab.test")
    assert r.rcode() == dns.rcode.NOERROR
    assert records(r) == ["web.lab.test. 300 IN CNAME www.far.test.", "www.far.test. 300 IN A 10.0.2.81"]


def test_negative_answers_carry_the_soa_and_are_cached_for_its_minimum() -> None:
    world, host, servers = hierarchy()
    nx = ask(world, host, "nope.lab.test")
    nodata = ask(world, host, "www.lab.test", "TXT")
    assert nx.rcode() == dns.rcode.NXDOMAIN and not nx.answer
    assert nodata.rcode() == dns.rcode.NOERROR and not nodata.answer
    soa = "lab.test. 60 IN SOA ns1.lab.test. root.lab.test. 1 3600 600 86400 60"
    assert [r.to_text() for r in nx.authority] == [soa] == [r.to_text() for r in nodata.authority]
    servers["lab"].kill()
    world.run(until=world.now + secs(30))
    again = ask(world, host, "nope.lab.test", "MX")  # an NXDOMAIN holds for every type
    assert again.rcode() == dns.rcode.NXDOMAIN
    # 60 s less the 30 s and the moments since each was kept
    assert 29 <= again.authority[0].ttl <= 30
    assert 29 <= ask(world, host, "www.lab.test", "TXT").authority[0].ttl <= 30
    world.run(until=world.now + secs(31))
    assert ask(world, host, "nope.lab.test").rcode() == dns.rcode.SERVFAIL


def test_an_alias_loop_ends_in_servfail() -> None:
    world, host, _ = hierarchy()
    r = ask(world, host, "loop.lab.test")
    assert r.rcode() == dns.rcode.SERVFAIL


def test_no_reachable_root_is_servfail_in_bounded_time() -> None:
    world, host, _ = hierarchy(hints=".  3600000 IN NS a.root.\na.root. 3600000 IN A 127.0.0.99\n")
    t0 = world.now
    assert ask(world, host, "www.lab.test").rcode() == dns.rcode.SERVFAIL
    assert world.now - t0 < secs(1)  # nothing listens there: port unreachable at once


def test_glueless_delegations_that_need_each_other_end_in_servfail() -> None:
    """a.test.'s server is named in b.test. and b.test.'s in a.test.: each address lookup needs
    the other, until BIND's max-recursion-depth stops it, well inside max-recursion-queries."""
    world, host, _ = hierarchy()
    sent = host.mib.Udp["OutDatagrams"]
    t0 = world.now
    assert ask(world, host, "www.a.test").rcode() == dns.rcode.SERVFAIL
    assert host.mib.Udp["OutDatagrams"] - sent <= 2 * (MAX_QUERIES + 1)
    assert world.now - t0 < secs(RESOLVER_QUERY_TIMEOUT)


def test_a_server_cannot_plant_records_for_names_outside_its_zone() -> None:
    """rogue.test.'s server answers every question with an alias to www.lab.test. and an
    address for it: the resolver takes the alias (rogue.test.'s to give) but asks lab.test.'s
    servers for the address (RFC 2181 §5.4.1), and caches nothing from the rogue about them."""
    world, host, _ = hierarchy()
    host.spawn(_rogue, "127.0.0.13")
    world.run(until=world.now + 1_000_000)
    r = ask(world, host, "x.rogue.test")
    assert records(r) == ["x.rogue.test. 300 IN CNAME www.lab.test.", "www.lab.test. 300 IN A 10.0.2.80"]
    assert records(ask(world, host, "www.lab.test")) == ["www.lab.test. 300 IN A 10.0.2.80"]


def _udp_server(addr: str, respond: Callable[[dns.message.Message], bytes]) -> None:
    """A name server of the tests' own on UDP port 53 of ``addr``: each query's answer is what
    ``respond`` makes of it."""
    fd = libc.socket(AF_INET, SOCK_DGRAM, 0)
    libc.bind(fd, (addr, 53))
    while True:
        wire, client = libc.recvfrom(fd, 65535)
        libc.sendto(fd, respond(dns.message.from_wire(wire)), 0, client)


def _rogue(addr: str) -> None:
    def respond(q: dns.message.Message) -> bytes:
        r = dns.message.make_response(q)
        r.flags |= dns.flags.AA
        r.answer.append(dns.rrset.from_text(q.question[0].name, 300, IN, "CNAME", "www.lab.test."))
        r.answer.append(dns.rrset.from_text("www.lab.test.", 300, IN, "A", "6.6.6.6"))
        return r.to_wire()
    _udp_server(addr, respond)


def _mangler(addr: str, seed: int) -> None:
    """A server for rogue.test. whose every answer is a real one damaged at random: bytes
    flipped, cut short, sections and flags made up."""
    rng = random.Random(seed)

    def respond(q: dns.message.Message) -> bytes:
        name = q.question[0].name
        r = dns.message.make_response(q)
        r.flags |= rng.choice([0, dns.flags.AA, dns.flags.TC])
        r.set_rcode(rng.choice([dns.rcode.NOERROR, dns.rcode.NOERROR, dns.rcode.NXDOMAIN, dns.rcode.SERVFAIL]))
        for section, owner, rdtype, text in rng.sample([
                (r.answer, name, "CNAME", "www.lab.test."), (r.answer, name, "A", "10.6.6.6"),
                (r.answer, name, "NS", "ns.rogue.test."), (r.authority, "rogue.test.", "NS", "ns.rogue.test."),
                (r.authority, name, "NS", "ns.elsewhere.test."), (r.additional, "www.lab.test.", "A", "6.6.6.6"),
                (r.authority, "rogue.test.", "SOA", "ns. root. 1 2 3 4 5"), (r.answer, name, "CNAME", str(name)),
                (r.authority, ".", "NS", "a.root."), (r.additional, "ns.elsewhere.test.", "A", "127.0.0.13"),
        ], rng.randint(0, 4)):
            section.append(dns.rrset.from_text(owner, rng.choice([0, 1, 300, 0xFFFFFFFF]), IN, rdtype, text))
        out = bytearray(r.to_wire())
        for _ in range(rng.choice([0, 0, 1, 3])):
            out[rng.randrange(2, len(out))] = rng.randrange(256)
        if rng.random() < 0.2:
            out = out[:rng.randrange(2, len(out))]
        return bytes(out)
    _udp_server(addr, respond)


def test_damaged_and_lying_answers_never_stop_the_resolver() -> None:
    world, host, _ = hierarchy()
    host.spawn(_mangler, "127.0.0.13", 7)
    world.run(until=world.now + 1_000_000)
    rcodes = set()
    for i in range(150):
        r = ask(world, host, f"n{i % 40}.rogue.test", ["A", "NS", "MX", "CNAME"][i % 4])
        rcodes.add(r.rcode())
        world.run(until=world.now + secs(1 + i % 3 * 150))  # some answers expire in between
    assert rcodes <= {dns.rcode.NOERROR, dns.rcode.NXDOMAIN, dns.rcode.SERVFAIL} and len(rcodes) >= 2
    assert records(ask(world, host, "www.lab.test")) == ["www.lab.test. 300 IN A 10.0.2.80"]


def _wrong_cookie(addr: str) -> None:
    """A server for spoof.test. whose answers carry a client cookie that is not the one asked
    with, as an off-path forger's would."""
    def respond(q: dns.message.Message) -> bytes:
        r = dns.message.make_response(q)
        r.flags |= dns.flags.AA
        r.answer.append(dns.rrset.from_text(q.question[0].name, 300, IN, "A", "10.6.6.6"))
        r.use_edns(0, 0, 1232, options=[dns.edns.GenericOption(10, bytes(8) + bytes(range(16)))])
        return r.to_wire()
    _udp_server(addr, respond)


def test_queries_carry_cookies_and_an_answer_with_another_client_cookie_is_dropped() -> None:
    """RFC 7873 §5.3: the resolver's client cookie for each server is the same every time, the
    server's cookie goes back to it, and an answer echoing another client cookie is not taken."""
    world, host, _ = hierarchy()
    host.spawn(_wrong_cookie, "127.0.0.16")
    world.run(until=world.now + 1_000_000)

    def lookups() -> tuple[Resolver, int]:
        resolver = Resolver(load_hints(HINTS))
        resolver.resolve(dns.name.from_text("www.lab.test"), dns.rdatatype.A)
        return resolver, resolver.resolve(dns.name.from_text("www.spoof.test"), dns.rdatatype.A)[0]

    resolver, rcode = run(world, host, lookups)
    assert rcode == dns.rcode.SERVFAIL
    assert set(resolver.server_cookies) == {"127.0.0.10", "127.0.0.11", "127.0.0.12"}
    assert all(len(c) == 16 for c in resolver.server_cookies.values())
    assert resolver.client_cookie("127.0.0.10") != resolver.client_cookie("127.0.0.11")
    assert resolver.client_cookie("127.0.0.10") == resolver.client_cookie("127.0.0.10")


def test_dig_trace_walks_the_hierarchy_and_survives_a_lying_server() -> None:
    """dig +trace down the loopback hierarchy: each zone's step, then rogue.test.'s damaged
    answers, which end the walk with dig's own verdicts and never a crash."""
    world, host, _ = hierarchy()
    install_base_files(host, nameservers=[RESOLVER])
    host.spawn(_mangler, "127.0.0.13", 3)
    world.run(until=world.now + 1_000_000)
    out, status = run_main(world, host, dig_main, ["+trace", "www.lab.test"])
    assert status == 0
    assert re.findall(r"(?m)^;; Received \d+ bytes from ([\d.]+)#53\((\S+)\)", out) == [
        (RESOLVER, RESOLVER), ("127.0.0.10", "a.root"), ("127.0.0.11", "ns.nic.test"), ("127.0.0.12", "ns1.lab.test")]
    assert "www.lab.test.\t\t300\tIN\tA\t10.0.2.80\n" in out
    for i in range(40):
        out, status = run_main(world, host, dig_main, ["+trace", "+time=1", "+tries=1", f"n{i}.rogue.test"])
        assert status in (0, 1, 9) and "\ntest.\t\t\t86400\tIN\tNS\tns.nic.test.\n" in out


def _broken(addr: str, asked: list[str]) -> None:
    """A server for broken.test. that answers every NS question NXDOMAIN (as servers that know
    nothing of empty non-terminals do) and every other with an address."""
    def respond(q: dns.message.Message) -> bytes:
        question = q.question[0]
        asked.append(f"{dns.rdatatype.to_text(question.rdtype)}? {question.name}")
        r = dns.message.make_response(q)
        r.flags |= dns.flags.AA
        if question.rdtype == dns.rdatatype.NS:
            r.set_rcode(dns.rcode.NXDOMAIN)
            r.authority.append(dns.rrset.from_text("broken.test.", 60, IN, "SOA",
                                                   "ns.broken.test. root.broken.test. 1 3600 600 86400 60"))
        else:
            r.answer.append(dns.rrset.from_text(question.name, 300, IN, "A", "10.0.0.15"))
        return r.to_wire()
    _udp_server(addr, respond)


@pytest.mark.parametrize("mode, rcode, asked", [
    ("relaxed", dns.rcode.NOERROR, ["NS? y.broken.test.", "A? x.y.broken.test."]),
    ("strict", dns.rcode.NXDOMAIN, ["NS? y.broken.test."]),
    ("off", dns.rcode.NOERROR, ["A? x.y.broken.test."]),
])
def test_qname_minimisation_asks_for_one_label_more_at_a_time(mode: str, rcode: int, asked: list[str]) -> None:
    """RFC 9156 as BIND 9.18 does it: each zone's servers are asked only for the NS records of
    the next label, until the name itself; ``relaxed`` (the default) asks for the whole name
    when a shortened one is NXDOMAIN, ``strict`` believes it (RFC 8020), ``off`` never shortens."""
    world, host, _ = hierarchy()
    seen: list[str] = []
    host.spawn(_broken, "127.0.0.15", seen)
    world.run(until=world.now + 1_000_000)

    def lookup() -> int:
        resolver = Resolver(load_hints(HINTS), qname_minimization=mode)
        return resolver.resolve(dns.name.from_text("x.y.broken.test"), dns.rdatatype.A)[0]

    assert run(world, host, lookup) == rcode
    assert seen == asked


def test_the_root_is_primed_and_referrals_fill_the_cache() -> None:
    """RFC 8109: the first lookup asks a hinted root server for the root's NS records; the
    delegations met on the way are kept with their glue."""
    world, host, _ = hierarchy()

    def lookup() -> tuple[Resolver, tuple]:
        resolver = Resolver(load_hints(HINTS))
        return resolver, resolver.resolve(dns.name.from_text("www.lab.test"), dns.rdatatype.A)

    resolver, (rcode, answer, authority) = run(world, host, lookup)
    assert rcode == dns.rcode.NOERROR and answer[0][0].address == "10.0.2.80"
    cache = resolver.cache.rrsets
    assert resolver.primed and (dns.name.root, dns.rdatatype.NS) in cache
    for name in ("test.", "lab.test."):
        assert (dns.name.from_text(name), dns.rdatatype.NS) in cache
    assert (dns.name.from_text("ns1.lab.test."), dns.rdatatype.A) in cache


def test_without_rd_the_cache_answers_and_with_recursion_off_names_outside_the_zones_are_refused() -> None:
    """A question without RD is answered from the cache alone, as BIND answers it: a referral
    to the root's hinted servers before anything is known, the records with their zone's NS
    records once they are kept, a referral to the deepest zone known when they are not."""
    world, host, _ = hierarchy()
    r = ask(world, host, "www.lab.test", rd=False)
    assert r.rcode() == dns.rcode.NOERROR and not r.answer and not r.flags & dns.flags.AA
    assert [x.to_text() for x in r.authority] == [". 3600000 IN NS a.root."]
    ask(world, host, "www.lab.test")
    r = ask(world, host, "www.lab.test", rd=False)
    assert records(r) == ["www.lab.test. 300 IN A 10.0.2.80"]
    assert [x.name.to_text() for x in r.authority] == ["lab.test."] and r.additional
    r = ask(world, host, "zzz.lab.test", rd=False)
    assert not r.answer and r.authority[0].name.to_text() == "lab.test."
    host.files["/etc/bind/named.conf"] = ('options { listen-on { 127.0.0.54; }; recursion no; };\n'
                                          'zone "." { type hint; file "/etc/bind/db.hints"; };\n')
    host.spawn(named_main, [])
    world.run(until=world.now + 1_000_000)

    def query() -> dns.message.Message:
        return dns.query.udp(dns.message.make_query("www.lab.test", "A"), "127.0.0.54", timeout=5)
    r = run(world, host, stdlib(query))
    assert r.rcode() == dns.rcode.REFUSED and not r.flags & dns.flags.RA


@pytest.mark.parametrize("conf, hints, message", [
    ('zone "." { type hint; file "db.root"; };', None,
     "could not configure root hints from 'db.root': file not found"),
    ('zone "." { type hint; file "db.root"; };', "a.root. 3600000 IN A 127.0.0.10\n",
     "could not configure root hints from 'db.root': db.root: no NS records for the root"),
    ('zone "test" { type hint; file "db.root"; };', HINTS,
     "/etc/bind/named.conf:1: zone 'test': hints are the root's ('.'), not another zone's"),
    ('options { recursion maybe; };', HINTS, "/etc/bind/named.conf:1: boolean expected near 'maybe'"),
    ('options { qname-minimization some; };', HINTS,
     "/etc/bind/named.conf:1: invalid qname-minimization 'some'"),
    ('options { allow-recursion { localnets; trusted; }; };', HINTS, "/etc/bind/named.conf:1: undefined ACL 'trusted'"),
])
def test_a_bad_hint_configuration_is_reported(conf: str, hints: str | None, message: str) -> None:
    world, host = lo_world()
    host.files["/etc/bind/named.conf"] = conf if conf.startswith("options") else (
        'options { directory "/etc/bind"; }; ' + conf)
    if hints is not None:
        host.files["/etc/bind/db.root"] = hints
    out, status = run_main(world, host, named_main, [])
    assert status == 1 and out.splitlines()[0] == message


@pytest.mark.parametrize("port", ["²", "abc", "5x", "70000", "0", "", "99999999999999999999", "-5"])
def test_a_bad_port_is_refused_as_bind_refuses_it(port: str) -> None:
    """``named -p``: BIND's parse_port (strtoul, nothing after the number, 1 to 65535), its words
    and status 1; this machine's named is the judge where it is installed."""
    world, host = lo_world()
    out, status = run_main(world, host, named_main, ["-p", port])
    assert status == 1
    if shutil.which("named") is not None:
        real = subprocess.run(["named", "-p", port, "-g", "-c", "/nonexistent"], capture_output=True, text=True,
                              timeout=30)
        assert (out, status) == (real.stderr, real.returncode)
    else:
        assert out in (f"named: port '{port}' must be numeric\n", f"named: port '{port}' out of range\n")


def _recursion_example(allow: str | None) -> tuple[Any, Any, Any]:
    """examples/dns_recursion.toml's network with its servers started and no [[run]] else, the
    resolver's allow-recursion line replaced by ``allow`` (or gone: BIND's default)."""
    text = EXAMPLE.read_text()
    text = re.sub(r"(?m)^    allow-recursion .*$", allow or "", text)
    text = text[:text.index('[[run]]\nhost = "resolver"\ncmd = "tcpdump')]
    net = load_topology("dns_recursion.toml", text=text)
    net.start()
    net.world.run(until=net.world.now + secs(0.5))
    return net, net.nodes["client"], net.nodes["resolver"]


@pytest.mark.parametrize("allow, refused, own_refused", [
    (None, True, False),                                    # BIND's default: localnets; localhost;
    ("allow-recursion { 10.0.1.0/24; };", False, True),     # a list replaces the default
    ("allow-recursion { !10.0.1.1; any; };", True, False),
    ("allow-query { !10.0.1.0/24; any; };", True, False),   # recursion falls back on allow-query
])
def test_who_may_have_recursion_is_what_the_address_match_lists_say(allow: str | None, refused: bool,
                                                                    own_refused: bool) -> None:
    """The client is a router away from the resolver, outside its localnets: BIND's default
    refuses it recursion (REFUSED, RA clear, Extended DNS Error 18), a list that lets it in gives
    it the answer.  The resolver's own host is localhost, which only the default names."""
    net, client, resolver = _recursion_example(allow)
    try:
        for host, denied in ((client, refused), (resolver, own_refused)):
            out, status = run_main(net.world, host, dig_main, ["@10.0.2.53", "www.lab.test"])
            assert status == 0
            if denied:
                assert "status: REFUSED" in out and ";; flags: qr rd;" in out and "; EDE: 18 (Prohibited)" in out
            else:
                assert "status: NOERROR" in out and ";; flags: qr rd ra;" in out and "10.0.2.80" in out
    finally:
        net.close()


@pytest.mark.parametrize("words, allowed", [
    (["any"], {"10.0.0.1": True}),
    (["none"], {"10.0.0.1": False}),
    (["10.1.0.0/16", "!10.0.0.0/8", "any"], {"10.1.2.3": True, "10.2.0.1": False, "192.0.2.1": True}),
    (["!10.1.2.3", "10.1.0.0/16"], {"10.1.2.3": False, "10.1.2.4": True, "10.2.0.1": False}),
    (["192.0.2.7"], {"192.0.2.7": True, "192.0.2.8": False}),
])
def test_an_address_match_list_takes_the_first_element_that_matches(words: list[str], allowed: dict) -> None:
    acl = AddressMatchList.parse(words)
    assert {addr: acl.allows(addr) for addr in allowed} == allowed


@pytest.mark.parametrize("word", ["foo", "10.0.0.1/33", "10.0.0.1/8", "10.0.0", "!"])
def test_a_bad_address_match_list_element_is_refused(word: str) -> None:
    with pytest.raises(ValueError, match=re.escape(word)):
        AddressMatchList.parse([word])


SECONDARY = "127.0.0.20"


def _ask_at(world: Any, host: Any, server: str, name: str, rdtype: str = "A") -> dns.message.Message:
    def query() -> dns.message.Message:
        q = dns.message.make_query(name, rdtype)
        q.flags = 0
        return dns.query.udp(q, server, timeout=5)
    return run(world, host, stdlib(query))


def _axfr_at(world: Any, host: Any, server: str) -> list[str]:
    def transfer() -> list[str]:
        messages = dns.query.xfr(server, "lab.test", lifetime=10)
        return [rrset.to_text() for message in messages for rrset in message.answer]
    return run(world, host, stdlib(transfer))


def test_a_secondary_zone_is_transferred_refreshed_and_expired() -> None:
    """named with a secondary zone: SERVFAIL until its first transfer, then the primary's records,
    authoritatively, and the same transfer; a newer serial is fetched at the next refresh (the
    SOA's 3600 s); with the primary gone the copy is served until it expires (86400 s)."""
    world, host = lo_world()
    host.files["/etc/bind/db.lab.test"] = LAB_ZONE
    sec = host.spawn(named, {}, addr=SECONDARY, secondaries={"lab.test.": ["127.0.0.12"]}, announce=False)
    world.run(until=world.now + secs(1))
    assert _ask_at(world, host, SECONDARY, "www.lab.test").rcode() == dns.rcode.SERVFAIL  # no primary yet
    primary = host.spawn(named, {"lab.test.": "/etc/bind/db.lab.test"}, addr="127.0.0.12", announce=False)
    world.run(until=world.now + secs(600))  # past the retry BIND waits at least (min-retry-time, 500 s)
    r = _ask_at(world, host, SECONDARY, "www.lab.test")
    assert r.flags & dns.flags.AA and records(r) == ["www.lab.test. 300 IN A 10.0.2.80"]
    assert _axfr_at(world, host, SECONDARY) == _axfr_at(world, host, "127.0.0.12")
    # the primary comes back with serial 2 and a new name: the next refresh takes it
    primary.kill()
    host.files["/etc/bind/db.lab.test"] = LAB_ZONE.replace(" 1 3600 600 86400 60", " 2 3600 600 86400 60") + \
        "new.lab.test.   IN A   10.0.2.99\n"
    primary = host.spawn(named, {"lab.test.": "/etc/bind/db.lab.test"}, addr="127.0.0.12", announce=False)
    world.run(until=world.now + secs(60))
    assert _ask_at(world, host, SECONDARY, "new.lab.test").rcode() == dns.rcode.NXDOMAIN
    world.run(until=world.now + secs(3600))
    assert records(_ask_at(world, host, SECONDARY, "new.lab.test")) == ["new.lab.test. 300 IN A 10.0.2.99"]
    primary.kill()
    world.run(until=world.now + secs(80000))
    assert records(_ask_at(world, host, SECONDARY, "new.lab.test")) == ["new.lab.test. 300 IN A 10.0.2.99"]
    world.run(until=world.now + secs(7000))
    assert _ask_at(world, host, SECONDARY, "new.lab.test").rcode() == dns.rcode.SERVFAIL  # expired
    sec.kill()


def test_a_transfer_that_is_not_whole_is_not_taken() -> None:
    """A primary whose transfer stops before the closing SOA, or ends with another SOA: the
    secondary keeps asking and serves nothing meanwhile (SERVFAIL)."""
    world, host = lo_world()
    host.spawn(_truncating_primary, "127.0.0.12")
    host.spawn(named, {}, addr=SECONDARY, secondaries={"lab.test.": ["127.0.0.12"]}, announce=False)
    world.run(until=world.now + secs(2000))
    assert _ask_at(world, host, SECONDARY, "www.lab.test").rcode() == dns.rcode.SERVFAIL


def _truncating_primary(addr: str) -> None:
    """Answers SOA questions, and AXFRs with the zone but a different closing SOA."""
    zone = dns.zone.from_text(LAB_ZONE, origin="lab.test.", relativize=False)
    tcp = libc.socket(AF_INET, SOCK_STREAM, 0)
    libc.bind(tcp, (addr, 53))
    libc.listen(tcp, 5)

    def respond(q: dns.message.Message) -> bytes:
        r = dns.message.make_response(q)
        r.flags |= dns.flags.AA
        r.answer.append(zone.find_rrset("lab.test.", "SOA"))
        return r.to_wire()

    libc.fork(_udp_server, addr, respond)
    while True:
        conn, _ = libc.accept(tcp)
        head = libc.recv(conn, 2)
        q = dns.message.from_wire(libc.recv(conn, int.from_bytes(head, "big")))
        r = dns.message.make_response(q)
        r.flags |= dns.flags.AA
        soa = zone.find_rrset("lab.test.", "SOA")
        other = dns.rrset.from_text("lab.test.", 300, IN, "SOA", "ns1.lab.test. root.lab.test. 9 3600 600 86400 60")
        r.answer += [soa, zone.find_rrset("www.lab.test.", "A"), other]
        wire = r.to_wire()
        libc.send(conn, len(wire).to_bytes(2, "big") + wire)
        libc.close(conn)
