"""tuxnet's ``host`` against this machine's host (BIND 9.18): the same commands, asking tuxnet's
named over the TAP device (or Linux's side, where no name server listens, or an address no one
has), print the same thing, standard error first.  The message ID, the time a query took and
the order of standard output and standard error are set aside (``-v`` shows the first two)."""

from __future__ import annotations

import re

import pytest

from procs import lab_argv, run_on_both
from tuxnet.user.programs.host import host_main

CASES = [
    "www.lab.test T",
    "web.lab.test T",
    "lab.test T",
    "nope.lab.test T",
    "-t MX lab.test T",
    "-t TXT lab.test T",
    "-t SOA lab.test T",
    "-t NS lab.test T",
    "-t AAAA www.lab.test T",
    "-t A web.lab.test T",
    "example.com T",
    "10.1.2.3 T",
    "-t PTR 10.1.2.3 T",
    "-r www.lab.test T",
    "-T www.lab.test T",
    "-v www.lab.test T",
    "-a www.lab.test T",
    "-W 1 www.lab.test L",
    "-T -W 1 www.lab.test L",
    "-W 1 -R 3 www.lab.test N",
    "-t BOGUS x T",
    "a..b T",
    "",
    "-l lab.test T",
    "-l -t MX lab.test T",
    "-l -t TXT lab.test T",
    "-l 2.1.10.in-addr.arpa T",
    "-l nope.test T",
    "-l -W 1 lab.test L",
    "-l -a lab.test T",
]


def normalize(text: str) -> str:
    text = re.sub(r"id: \d+", "id: N", text)
    return re.sub(r"in \d+ ms", "in N ms", text)


@pytest.mark.parametrize("case", CASES)
def test_host_prints_what_linux_host_prints(lab, case):
    ours, status, out, err, rc = run_on_both(lab, "host", host_main, lab_argv(lab, case))
    assert status == rc, (ours, err + out)
    assert normalize(ours) == normalize(err + out)
