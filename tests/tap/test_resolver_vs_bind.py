"""tuxnet's recursive named against BIND 9.18's, both resolving from the same root hints through
the same hierarchy of tuxnet name servers (a root, ``test.``, and ``lab.test.`` with ``far.test.``,
each on its own address of the tuxnet host): this machine's dig asks each resolver the same
questions and must print the same answers, and each resolver must ask the hierarchy the same
questions, as this machine's tcpdump sees BIND's and tuxnet's tcpdump sees ours: the same flags and
the same sizes, which the EDNS cookies (a client cookie, then the server's too) make.

Set aside as differing by nature: the message ID, the query time, the date, the cookies and the
server's address; the answers' sizes must be the same, BIND's name compression included.  Both
send the priming query (``NS? .``) alongside the first one, once; the rest in the same order."""

from __future__ import annotations

import contextlib
import re
import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest
from dnszones import DNS_HINTS

from procs import dig_masked
from tuxnet.user.programs.named import named_main
from tuxnet.user.programs.tcpdump import tcpdump_main

BIND_CONF = """options {{
  directory "{d}"; pid-file "{d}/named.pid"; session-keyfile "{d}/session.key";
  managed-keys-directory "{d}";
  listen-on {{ {addr}; }}; listen-on-v6 {{ none; }};
  dnssec-validation no;
  {options}
}};
controls {{ }};
zone "." {{ type hint; file "db.root"; }};
"""
QUESTIONS = [
    ["+norec", "www.lab.test"],    # no recursion asked, nothing cached: the root's servers
    ["web.lab.test"],              # an alias into a sibling zone served without glue
    ["nope.lab.test"],             # NXDOMAIN
    ["www.lab.test", "TXT"],       # NODATA
    ["x.ent.lab.test"],            # below an empty non-terminal
    ["a.b.nope.lab.test"],         # below a name that does not exist
    ["lab.test", "NS"],            # the referral's NS records are glue: asked of lab.test.
    ["www.lab.test", "MX"],        # with the exchanger's address from the cache
    ["ns1.lab.test"],              # an address known only as glue
    ["test", "NS"],
    ["far.test", "SOA"],
    ["www.lab.test", "AAAA"],
    ["c.d.nope2.lab.test"],        # the shortened name is NXDOMAIN: the whole name asked
    ["nope3.lab.test"],
    ["e.f.nope3.lab.test"],        # ... and with that NXDOMAIN cached, one label further
    ["g.h.x.ent.lab.test"],        # below names that exist
    ["long.lab.test"],             # a TTL past max-cache-ttl (a week)
    ["web.lab.test", "+noall", "+answer"],  # again: from the cache
    # no recursion asked: what the cache holds, with the NS records of its zone
    ["+norec", "web.lab.test"],
    ["+norec", "www.lab.test", "TXT"],
    ["+norec", "lab.test", "NS"],
    ["+norec", "www.lab.test", "MX"],
    ["+norec", "zzz.lab.test"],
    ["+norec", "nope.lab.test"],
    ["+norec", "ns1.lab.test"],
    ["+norec", "www.far.test", "MX"],
]


RECORD_TTL = re.compile(r"(?m)^(\S+\s+)(\d+)(\s+IN\s)")


def same_answer(ours: str, theirs: str) -> bool:
    """The same text, but that a TTL taken from the cache a few seconds later may be less: BIND
    runs in real time, and on a slow machine its cache ages up to 3 s between filling and
    answering (a run met 297 against tuxnet's 299)."""
    ttls = [int(m[2]) for m in RECORD_TTL.finditer(ours)], [int(m[2]) for m in RECORD_TTL.finditer(theirs)]
    masked = [RECORD_TTL.sub(lambda m: f"{m[1]}T{m[3]}", text) for text in (ours, theirs)]
    return (masked[0] == masked[1] and len(ttls[0]) == len(ttls[1])
            and all(abs(a - b) <= 3 for a, b in zip(*ttls, strict=True)))


def upstream(lines: str, resolver: str, servers: list[str]) -> list[str]:
    """The questions a resolver sent to the hierarchy's ``servers``, as tcpdump prints them:
    server, flags, type and name, and the message's size (its EDNS COOKIE included)."""
    pattern = rf"IP {re.escape(resolver)}\.\d+ > (\S+)\.53: \d+(\S*) \[1au\] (\S+ \S+) \((\d+)\)"
    return [f"{server} {flags} {q} ({size})" for server, flags, q, size in re.findall(pattern, lines)
            if server in servers]


@contextlib.contextmanager
def bind_resolver(p, addrs: dict[str, str], options: str = "") -> Iterator[list[str]]:
    """BIND's named resolving from DNS_HINTS on the namespace's address, with ``options`` added
    to BIND_CONF's; yields a list that holds its log once it has stopped."""
    if shutil.which("named") is None:
        pytest.skip("BIND's named is not installed (apt install bind9)")
    log: list[str] = []
    with tempfile.TemporaryDirectory(prefix="tuxnet-bind-") as d:
        Path(d, "db.root").write_text(DNS_HINTS.format(**addrs))
        Path(d, "named.conf").write_text(BIND_CONF.format(d=d, addr=p.linux_ip, options=options))
        bind = p.ns.popen("named", "-g", "-4", "-c", f"{d}/named.conf")
        try:
            ready = p.ns.popen("sh", "-c", f"for i in $(seq 100); do dig @{p.linux_ip} +time=1 +tries=1 +norec "
                                           "version.bind CH TXT >/dev/null && exit 0; sleep 0.1; done; exit 1")
            p.run_until_exit(ready, 30)
            assert ready.returncode == 0, "BIND's named did not start"
            yield log
        finally:
            bind.terminate()
            p.run_until_exit(p.ns.popen("sleep", "0.3"), 5)
            log.append(bind.communicate(timeout=10)[1])


def ask_both(p, question: list[str], ours: str) -> None:
    """This machine's dig asks BIND and the tuxnet server at ``ours`` the same question: the
    same answer."""
    answers = {}
    for server in (p.linux_ip, ours):
        proc = p.ns.popen("dig", f"@{server}", *question)
        out, err = p.run_until_exit(proc, 30)
        answers[server] = dig_masked(out + err, addresses=True)
    assert same_answer(answers[ours], answers[p.linux_ip]), \
        "\n".join([f"{question}, ours:", answers[ours], "BIND:", answers[p.linux_ip]])


def test_tuxnet_resolves_as_bind_does(dns_hierarchy):
    p, addrs = dns_hierarchy
    dump = p.ns.popen("tcpdump", "-n", "-l", "-i", p.ifname, f"udp port 53 and src {p.linux_ip}")
    before = len(p.host.output())
    p.host.spawn(tcpdump_main, ["-n", "-i", "lo", "udp", "port", "53"])
    try:
        with bind_resolver(p, addrs) as bind_log:
            for question in QUESTIONS:
                ask_both(p, question, p.tux_ip)
    finally:
        dump.terminate()
        p.run_until_exit(p.ns.popen("sleep", "0.3"), 5)
        bind_asked = dump.communicate(timeout=10)[0]
    assert "running" in bind_log[0]
    theirs = upstream(bind_asked, p.linux_ip, list(addrs.values()))
    mine = upstream(p.host.output()[before:], p.tux_ip, list(addrs.values()))
    # The priming query and the first question to the root go out together: each carries the
    # root's server cookie only if the other's answer came first, which for BIND is a race
    # (priming 40 or 56, the question 45 or 61); tuxnet's named sends them in one order.
    priming = f"{addrs['R']}  NS? . (40)"  # (no CD; a client cookie)
    assert mine.count(priming) == 1
    theirs_priming = [q for q in theirs if q in (priming, f"{addrs['R']}  NS? . (56)")]
    assert len(theirs_priming) == 1
    theirs.remove(theirs_priming[0])
    mine.remove(priming)
    first = f"{addrs['R']} % NS? test."
    assert mine[0] == f"{first} (45)" and theirs[0] in (f"{first} (45)", f"{first} (61)")
    assert mine[1:] == theirs[1:], "\n".join(["ours:", *mine, "BIND:", *theirs])
    assert len(mine) >= 8


@pytest.mark.parametrize("options", [
    "allow-recursion { none; };",
    "allow-query-cache { none; };",          # recursion falls back on it
    "allow-query { !L; any; };",
    "allow-recursion { !L; localnets; };",
    "allow-recursion { 10.0.0.0/8; };",
    "recursion no;",
])
def test_who_may_ask_is_answered_as_bind_answers_it(dns_hierarchy, options):
    """The same address match lists in BIND's named.conf and in the tuxnet named's (a second
    resolver on .13): this machine's dig gets the same refusals, RA flags and Extended DNS
    Errors from both."""
    p, addrs = dns_hierarchy
    base = p.tux_ip.rsplit(".", 1)[0]
    ours = f"{base}.13"
    p.host.ip_addr_add("eth0", f"{ours}/24")
    acl = options.replace("!L", f"!{p.linux_ip}")
    p.host.files["/etc/bind/named.conf"] = (f'options {{ listen-on {{ {ours}; }}; {acl} }};\n'
                                            'zone "." { type hint; file "/h"; };\n')
    p.host.spawn(named_main, [])
    with bind_resolver(p, addrs, acl):
        for question in (["www.lab.test"], ["+norec", "www.lab.test"], ["www.lab.test"], ["+norec", "www.lab.test"]):
            ask_both(p, question, ours)
