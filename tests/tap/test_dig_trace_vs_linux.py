"""tuxnet's ``dig +trace`` against this machine's: both follow a name down the tuxnet host's
hierarchy of name servers (``dns_hierarchy``), asking the recursive one for the root's servers
and looking each zone's servers up through it, and must print the same steps.  The query times
differ by nature, and a TTL from the resolver's cache may be a second lower for the one that
asks second."""

from __future__ import annotations

import re

import pytest

from procs import run_on_both
from tuxnet.user.programs.dig import dig_main

RECORD_TTL = re.compile(r"(?m)^(\S+\s+)(\d+)(\s+IN\s)")
CASES = [
    "+trace web.lab.test",          # down three zones to an alias (not followed into far.test.)
    "+trace nope.lab.test",         # NXDOMAIN: the SOA
    "+trace www.lab.test TXT",      # NODATA: the SOA
    "+trace www.lab.test MX",
    "+trace lab.test NS",           # the zone's own NS records, after its parent's referral
    "+trace x.ent.lab.test",
    "+trace @T www.far.test",       # the root's servers asked of a server given by address
    "+trace +nocmd www.lab.test",
    "+trace www.bad.test",          # a zone whose server's name has no address
    "+trace @L www.lab.test",       # the first server refuses the root's NS records
    "+trace @R lab.test AXFR",      # a transfer: the root's servers, asked without RD, and no further
]


def masked(text: str) -> tuple[str, list[int]]:
    text = re.sub(r" in \d+ ms$", " in N ms", text, flags=re.M)
    return RECORD_TTL.sub(lambda m: f"{m[1]}T{m[3]}", text), [int(m[2]) for m in RECORD_TTL.finditer(text)]


@pytest.mark.parametrize("case", CASES)
def test_dig_trace_prints_what_linux_dig_prints(dns_hierarchy, case):
    p, addrs = dns_hierarchy
    argv = case.replace("@T", f"@{p.tux_ip}").replace("@L", f"@{addrs['L']}").replace("@R", f"@{addrs['R']}").split()
    ours, status, out, err, rc = run_on_both(p, "dig", dig_main, argv)
    theirs = out + err
    assert status == rc, (ours, theirs)
    (ours_text, ours_ttls), (their_text, their_ttls) = masked(ours), masked(theirs)
    assert ours_text == their_text
    assert len(ours_ttls) == len(their_ttls)
    assert all(0 <= b - a <= 1 for a, b in zip(ours_ttls, their_ttls, strict=True))
