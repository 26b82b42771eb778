"""tuxnet's ``dig`` against this machine's dig (BIND 9.18): the same commands print the same
thing.  Both ask tuxnet's named, authoritative for lab.test on the tuxnet host across the TAP
device, or Linux's side of it (no name server: refused), or an address no one has (no answer);
ours runs on the tuxnet host, the real one in the namespace.  What differs by nature is set
aside: the message ID, the query time, the date, the cookies (named's server cookie holds the
time; the real dig saying "good" of it is judged), and dig's version.  dig's warnings and errors
go to its standard error, before anything it prints on standard output (but for a bad port,
whose line on standard output comes first)."""

from __future__ import annotations

import pytest

from procs import dig_masked, lab_argv, run_on_both
from tuxnet.user.programs.dig import dig_main

CASES = [
    "@T www.lab.test",
    "@T web.lab.test +norec",
    "@T lab.test MX",
    "@T nope.lab.test",
    "@T a-rather-long-host-name-here.lab.test",
    "@T a-rather-long-host-name-here.lab.test +noall +answer",
    "@T lab.test TXT +short",
    "@T lab.test SOA +nocmd +noquestion",
    "@T example.com",
    "@T -x 10.1.2.3",
    "@T -x 1.2.3",
    "@T www.lab.test +tcp",
    "@T web.lab.test +short",
    "@T www.lab.test +noedns +nocmd +nostats",
    "@T www.lab.test CH",
    "@T",
    "@T www.wild.lab.test +noall +answer +comments",
    "@T -p 5353 www.lab.test +time=1 +tries=1",
    "@L www.lab.test +time=1 +tries=2",
    "@L www.lab.test +tcp +short",
    "@N www.lab.test +time=1 +tries=1",
    "@N www.lab.test +tcp +time=1 +tries=1",
    "@T www.lab.test -t BOGUS",
    "@T www.lab.test -c XX +short",
    "@T -p abc www.lab.test",
    "@T a..b",
    "+bogus",
    "@T www.lab.test -q",
    "@T www.lab.test +qr",
    "@T web.lab.test MX +qr +noedns +nocookie +norec",
    "@T www.lab.test +qr +short",
    "@T -x 10.1.2.3 +qr +tcp",
    "@N www.lab.test +qr +time=1 +tries=1",
    "@T www.lab.test +dnssec",       # DO, and named copies it (RFC 3225 §3)
    "@T www.lab.test +dnssec +qr +nocookie",
    "@T lab.test AXFR",
    "@T lab.test AXFR +onesoa",
    "@T lab.test IXFR=0",
    "@T lab.test -t ixfr=1",       # the client is current: the SOA alone
    "@T nope.test AXFR",
    "@T 2.1.10.in-addr.arpa AXFR +nostats",
]


@pytest.mark.parametrize("case", CASES)
def test_dig_prints_what_linux_dig_prints(lab, case):
    ours, status, out, err, rc = run_on_both(lab, "dig", dig_main, lab_argv(lab, case))
    theirs = out + err if out.startswith("invalid port") else err + out
    assert status == rc, (ours, theirs)
    assert dig_masked(ours) == dig_masked(theirs)
