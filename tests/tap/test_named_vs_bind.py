"""tuxnet's named against BIND 9.18's as authoritative servers: both load the same zone file and
this machine's dig asks each the same questions, over the TAP device (tuxnet's) and in the
namespace (BIND's).  The outputs must be the same to the byte count (dig's ``MSG SIZE`` and ``XFR
size``, which BIND's name compression decides), but for what differs by nature: the message ID,
the query time, the date, the cookies and the server's address."""

from __future__ import annotations

import re
import shutil
import tempfile
from pathlib import Path

import pytest

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
zone "lab.test" {{ type primary; file "db.lab"; }};
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


def normalize(text: str) -> str:
    text = re.sub(r"id: \d+", "id: N", text)
    text = re.sub(r"Query time: \d+ msec", "Query time: N msec", text)
    text = re.sub(r"; COOKIE: [0-9a-f]+", "; COOKIE: C", text)
    text = re.sub(r"(?m)^;; WHEN: .*$", ";; WHEN: -", text)
    return re.sub(r"10\.250\.\d+\.\d+", "S", text)


def compare(p, questions: list[list[str]], ours: str) -> None:
    for question in questions:
        answers = {}
        for server in (p.linux_ip, ours):
            proc = p.ns.popen("dig", f"@{server}", *question)
            out, err = p.run_until_exit(proc, 30)
            answers[server] = (proc.returncode, normalize(out + err))
        assert answers[ours] == answers[p.linux_ip], \
            "\n".join([f"{question}, ours:", answers[ours][1], "BIND:", answers[p.linux_ip][1]])


def run_bind(p, options: str):
    if shutil.which("named") is None:
        pytest.skip("BIND's named is not installed (apt install bind9)")
    d = tempfile.mkdtemp(prefix="tuxnet-bind-")
    Path(d, "db.lab").write_text(ZONE)
    Path(d, "named.conf").write_text(CONF.format(d=d, addr=p.linux_ip, options=options))
    bind = p.ns.popen("named", "-g", "-4", "-c", f"{d}/named.conf")
    ready = p.ns.popen("sh", "-c", f"for i in $(seq 100); do dig @{p.linux_ip} +time=1 +tries=1 lab.test SOA "
                                   "| grep -q status: && exit 0; sleep 0.1; done; exit 1")
    p.run_until_exit(ready, 30)
    return bind, d, ready.returncode == 0


@pytest.mark.parametrize("options, questions", [
    ("", QUESTIONS),
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
        bind.terminate()
        p.run_until_exit(p.ns.popen("sleep", "0.3"), 5)
        bind.communicate(timeout=10)
        shutil.rmtree(d, ignore_errors=True)
