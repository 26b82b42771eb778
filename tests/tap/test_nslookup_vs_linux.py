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
    # numbers as parse_uint reads them: its words, and the setting left as it was
    "-timeout=abc www.lab.test T",
    "-retry=² www.lab.test T",
    "-port=70000 www.lab.test T",
    "-timeout= www.lab.test T",
]


@pytest.mark.parametrize("case", CASES)
def test_nslookup_prints_what_linux_nslookup_prints(lab, case):
    ours, status, out, err, rc = run_on_both(lab, "nslookup", nslookup_main, lab_argv(lab, case))
    assert status == rc, (ours, err + out)
    assert ours == err + out


# Interactive mode: commands on standard input (not a terminal: no prompt is printed)
SESSIONS = [
    ("- T", "www.lab.test\nexit\n"),
    ("", "server T\nwww.lab.test\nset type=mx\nlab.test\nset q=TXT\nlab.test\nexit\n"),
    ("- T", "web.lab.test\nnope.lab.test\n10.1.2.3\n\nexit\n"),
    ("", "lserver T\nset vc\nwww.lab.test\nset novc\nset norecurse\nwww.lab.test\n"),
    ("", "server L\nset timeout=1\nset retry=1\nwww.lab.test\nserver T\nwww.lab.test T\nexit\n"),
    ("- T", "set bogus\nset type=BOGUS\nset port=5353\nset timeout=1\nset retry=1\nwww.lab.test\nexit\n"),
    ("- T", "server nowhere.invalid\nwww.lab.test\nexit\n"),
    ("-type=MX - T", "lab.test T\nexit\n"),
]


@pytest.mark.parametrize("argv, script", SESSIONS)
def test_interactive_nslookup_prints_what_linux_nslookup_prints(lab, argv, script):
    script = "".join(" ".join(lab_argv(lab, line)) + "\n" for line in script.splitlines())
    ours, status, out, err, rc = run_on_both(lab, "nslookup", nslookup_main, lab_argv(lab, argv), stdin=script)
    assert (status, ours) == (rc, err + out), script
