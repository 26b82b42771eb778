"""tuxnet's named against BIND 9.18's as authoritative servers: both load the same zone file and
this machine's dig asks each the same questions, over the TAP device (tuxnet's) and in the
namespace (BIND's).  The outputs must be the same to the byte count (dig's ``MSG SIZE`` and ``XFR
size``, which BIND's name compression decides), but for what differs by nature: the message ID,
the query time, the date, the cookies and the server's address.  With ``server-id`` in both
configurations, a question with ``+nsid`` gets the same NSID from each (RFC 5001), in the same
place among the EDNS options."""

from __future__ import annotations

import shutil
import tempfile
from pathlib import Path

import pytest

from procs import dig_masked
from tuxnet.user.programs.named import named_main

ZONE = """$TTL 300
@ IN SOA ns.lab.test. hostmaster.lab.test. 7 7200 900 1209600 300
@ IN NS ns
@ IN MX 10 mail
ns IN A 10.1.2.2
www IN A 10.1.2.2
www IN AAAA ::2
web IN CNAME www
mail IN A 10.1.2.4
mail IN TXT "mail" "server"
a.b.c IN A 10.9.9.9
*.wild IN A 10.9.9.8
srv IN SRV 0 5 80 www
ptr IN PTR www.example.
cn IN CNAME x.test.
deep IN CNAME q.b.c
sub IN NS ns.sub
ns.sub IN A 10.1.2.9
"""
CONF = """options {{ directory "{d}"; pid-file "{d}/named.pid"; session-keyfile "{d}/s.key";
  listen-on {{ {addr}; }}; listen-on-v6 {{ none; }}; recursion no; {options} }};
controls {{ }};
{zone}
"""
QUESTIONS = [
    ["www.lab.test"], ["www.lab.test", "AAAA"], ["web.lab.test"], ["lab.test", "MX"], ["lab.test", "NS"],
    ["lab.test", "SOA"], ["lab.test", "ANY"], ["mail.lab.test", "ANY"], ["mail.lab.test", "TXT"],
    ["nope.lab.test"], ["www.lab.test", "TXT"], ["x.wild.lab.test"], ["a.b.c.lab.test"], ["b.c.lab.test"],
    ["srv.lab.test", "SRV"], ["ptr.lab.test", "PTR"], ["cn.lab.test"], ["deep.lab.test"],
    ["www.sub.lab.test"], ["example.com"], ["www.lab.test", "+dnssec"], ["www.lab.test", "+norec"],
    ["www.lab.test", "+noedns"], ["lab.test", "AXFR"], ["lab.test", "AXFR", "+onesoa"], ["lab.test", "IXFR=0"],
    ["lab.test", "IXFR=7"], ["nope.test", "AXFR"], ["www.lab.test", "+tcp"],
]


def compare(p, questions: list[list[str]], ours: str) -> None:
    for question in questions:
        answers = {}
        for server in (p.linux_ip, ours):
            proc = p.ns.popen("dig", f"@{server}", *question)
            out, err = p.run_until_exit(proc, 30)
            answers[server] = (proc.returncode, dig_masked(out + err, addresses=True))
        assert answers[ours] == answers[p.linux_ip], \
            "\n".join([f"{question}, ours:", answers[ours][1], "BIND:", answers[p.linux_ip][1]])


def run_bind(p, options: str, zone: str = 'zone "lab.test" { type primary; file "db.lab"; };'):
    """BIND's named in the namespace with ``options`` and ``zone``: the process, its directory,
    and whether it answered (for lab.test: a secondary answers once it has transferred it)."""
    if shutil.which("named") is None:
        pytest.skip("BIND's named is not installed (apt install bind9)")
    d = tempfile.mkdtemp(prefix="tuxnet-bind-")
    Path(d, "db.lab").write_text(ZONE)
    Path(d, "named.conf").write_text(CONF.format(d=d, addr=p.linux_ip, options=options, zone=zone))
    bind = p.ns.popen("named", "-g", "-4", "-c", f"{d}/named.conf")
    ready = p.ns.popen("sh", "-c", f"for i in $(seq 100); do dig @{p.linux_ip} +time=1 +tries=1 lab.test SOA "
                                   "| grep -q 'status: [NR]' && exit 0; sleep 0.1; done; exit 1")
    p.run_until_exit(ready, 30)
    return bind, d, ready.returncode == 0


def stop_bind(p, bind, d: str) -> None:
    bind.terminate()
    p.run_until_exit(p.ns.popen("sleep", "0.3"), 5)
    bind.communicate(timeout=10)
    shutil.rmtree(d, ignore_errors=True)


NSID_QUESTIONS = [
    ["www.lab.test", "+nsid"], ["www.lab.test", "+nsid", "+nocookie"], ["www.lab.test", "+nsid", "+noedns"],
    ["www.lab.test", "+nsid", "+tcp"], ["www.lab.test", "+nsid", "+qr"], ["www.lab.test", "+nsid", "+edns=1"],
    ["www.lab.test"], ["nope.lab.test", "+nsid", "+multiline"], ["lab.test", "SOA", "+nsid", "+multiline"],
    ["lab.test", "ANY", "+multiline"], ["lab.test", "MX", "+multi", "+nsid"], ["srv.lab.test", "SRV", "+multiline"],
    ["lab.test", "AXFR", "+nsid"], ["lab.test", "AXFR", "+multiline", "+nsid"], ["lab.test", "IXFR=7", "+nsid"],
    ["example.com", "+nsid"],
]


@pytest.mark.parametrize("options, questions", [
    ("", QUESTIONS),
    ('server-id "ns1.lab.test";', NSID_QUESTIONS),
    ("server-id none;", [["www.lab.test", "+nsid"], ["lab.test", "SOA", "+nsid", "+multiline"]]),
    ('server-id "";', [["www.lab.test", "+nsid"]]),
    ("allow-transfer { none; };", [["lab.test", "AXFR"], ["lab.test", "IXFR=0"], ["www.lab.test"]]),
    ("allow-query { !L; any; };", [["www.lab.test"], ["lab.test", "AXFR"], ["nope.lab.test"]]),
])
def test_named_answers_as_bind_does(tap_pair, options, questions):
    """The same zone, and the same access lists written in each named.conf."""
    p = tap_pair
    options = options.replace("!L", f"!{p.linux_ip}")
    p.host.files["/etc/bind/named.conf"] = (f'options {{ listen-on {{ {p.tux_ip}; }}; recursion no; {options} }};\n'
                                            'zone "lab.test" { type primary; file "/etc/bind/db.lab"; };\n')
    p.host.files["/etc/bind/db.lab"] = ZONE
    p.host.spawn(named_main, [])
    bind, d, started = run_bind(p, options)
    try:
        assert started, "BIND's named did not start"
        compare(p, questions, p.tux_ip)
    finally:
        stop_bind(p, bind, d)


SECONDARY_QUESTIONS = [["www.lab.test"], ["web.lab.test"], ["lab.test", "MX"], ["nope.lab.test"], ["x.wild.lab.test"],
                       ["srv.lab.test", "SRV"], ["www.sub.lab.test"], ["lab.test", "AXFR"]]


def test_bind_takes_a_transfer_from_tuxnet(tap_pair):
    """BIND's named, secondary for lab.test, transfers it from tuxnet's (the primary) and then
    answers as the primary does.  (Its own transfer of the copy lists a name's record sets in
    the order of its database, which differs from the zone file's for some names: the same
    records, in another order.)"""
    p = tap_pair
    p.host.files["/etc/bind/named.conf"] = (f'options {{ listen-on {{ {p.tux_ip}; }}; recursion no; }};\n'
                                            'zone "lab.test" { type primary; file "/etc/bind/db.lab"; };\n')
    p.host.files["/etc/bind/db.lab"] = ZONE
    p.host.spawn(named_main, [])
    zone = f'zone "lab.test" {{ type secondary; primaries {{ {p.tux_ip}; }}; }};'
    bind, d, started = run_bind(p, "", zone=zone)
    try:
        assert started, "BIND's named did not start"
        compare(p, SECONDARY_QUESTIONS[:-1], p.tux_ip)
        transfers = [sorted(p.run_until_exit(p.ns.popen("dig", f"@{server}", "+noall", "+answer", "lab.test", "AXFR"),
                                             30)[0].splitlines()) for server in (p.linux_ip, p.tux_ip)]
        assert transfers[0] == transfers[1] and len(transfers[0]) == 18
    finally:
        stop_bind(p, bind, d)


def test_tuxnet_takes_a_transfer_from_bind(tap_pair):
    """tuxnet's named, secondary for lab.test, transfers it from BIND's (the primary) and then
    answers as BIND does."""
    p = tap_pair
    bind, d, started = run_bind(p, "")
    try:
        assert started, "BIND's named did not start"
        p.host.files["/etc/bind/named.conf"] = (
            f'options {{ listen-on {{ {p.tux_ip}; }}; recursion no; }};\n'
            f'zone "lab.test" {{ type secondary; primaries {{ {p.linux_ip}; }}; }};\n')
        p.host.spawn(named_main, [])
        p.run_until_exit(p.ns.popen("sleep", "0.5"), 5)
        compare(p, SECONDARY_QUESTIONS, p.tux_ip)
    finally:
        stop_bind(p, bind, d)
