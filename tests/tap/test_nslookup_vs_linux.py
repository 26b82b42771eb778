"""tuxnet's ``nslookup`` against this machine's nslookup (BIND 9.18): the same commands, asking
tuxnet's named over the TAP device (or Linux's side, where no name server listens, or an address
no one has), print the same thing and end with the same status."""

from __future__ import annotations

import pytest

from procs import lab_argv, run_on_both
from tuxnet.user.programs.nslookup import nslookup_main

CASES = [
    "www.lab.test T",
    "web.lab.test T",
    "lab.test T",
    "nope.lab.test T",
    "-type=MX lab.test T",
    "-query=TXT lab.test T",
    "-type=SOA lab.test T",
    "-type=NS lab.test T",
    "-type=AAAA www.lab.test T",
    "-type=ANY www.lab.test T",
    "-type=PTR 3.2.1.10.in-addr.arpa T",
    "example.com T",
    "10.1.2.3 T",
    "10.1.2.4 T",
    "10.1.9.9 T",
    "-vc www.lab.test T",
    "-norecurse www.lab.test T",
    "-bogus www.lab.test T",
    "-type=BOGUS x T",
    "-timeout=1 www.lab.test L",
    "-timeout=1 -retry=1 www.lab.test N",
    "-port=5353 -timeout=1 www.lab.test T",
    "a..b T",
]


@pytest.mark.parametrize("case", CASES)
def test_nslookup_prints_what_linux_nslookup_prints(lab, case):
    ours, status, out, err, rc = run_on_both(lab, "nslookup", nslookup_main, lab_argv(lab, case))
    assert status == rc, (ours, err + out)
    assert ours == err + out
