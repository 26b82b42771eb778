"""The search list of BIND 9.18's ``host``, ``nslookup`` and ``dig``: the same commands, given the
same /etc/resolv.conf (``search``, ``domain``, ``options ndots:N``) on the tuxnet host and in
the namespace (``ip netns exec`` puts /etc/netns/NAME/resolv.conf in place of /etc/resolv.conf),
asking tuxnet's named for lab.test (the ``lab`` fixture) across the TAP device, print the same
thing and end with the same status as this machine's tools.  A name with fewer dots than ndots
gets the search domains first, then itself; one with enough dots, or a trailing one, itself
alone; only NXDOMAIN moves on.  dig searches only with ``+search`` (or ``+domain=``)."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from test_host_vs_linux import normalize

from procs import dig_masked, lab_argv, run_on_both
from tuxnet.user.programs.dig import dig_main
from tuxnet.user.programs.host import host_main
from tuxnet.user.programs.nslookup import nslookup_main

SEARCH = "search lab.test"
NDOTS = "search lab.test\noptions ndots:2"
# (resolv.conf's lines but its nameserver, the command line; T the tuxnet host's address)
HOST_CASES = [
    (SEARCH, "web"),
    (SEARCH, "www T"),
    (SEARCH, "nope"),
    (SEARCH, "nope.lab.test"),
    (SEARCH, "nope.lab.test."),
    ("search lab.test\noptions ndots:3", "nope.lab.test"),
    (SEARCH, "www."),
    (SEARCH, "-t MX lab"),
    (SEARCH, "-t AAAA web"),
    (SEARCH, "-v web"),
    (SEARCH, "-a www"),
    (SEARCH, "-v nope"),
    (SEARCH, "-v nope.lab.test"),
    (SEARCH, "-v 10.1.2.4"),
    ("search lab.test\noptions ndots:3", "-v nope.lab.test"),
    (SEARCH, "-t AAAA mail"),
    (SEARCH, "-t SOA @"),
    (SEARCH, "10.1.2.3"),
    ("domain lab.test", "mail"),
    ("search nope.test lab.test", "www"),   # refused under nope.test: no further
    ("search lab.test wild.lab.test", "x"),
    ("search lab.test\ndomain wild.lab.test", "x"),   # the last of the two wins
    ("domain lab.test\nsearch wild.lab.test", "www"),
    ("search wild.lab.test", "www.lab.test"),
    (NDOTS, "x.wild"),
    (NDOTS, "www.lab.test"),
    (NDOTS, "-v a.b.c"),
    ("search lab.test\noptions ndots:0", "www"),
    (SEARCH, "-N 2 x.wild"),
    ("", "www"),
]


@pytest.fixture
def search_lab(lab):
    """The lab, and a function that gives both sides a resolv.conf: the tuxnet host as its
    nameserver, then the lines given."""
    etc = Path("/etc/netns") / lab.ns.name
    etc.mkdir(parents=True, exist_ok=True)

    def resolv(lines: str) -> None:
        text = f"nameserver {lab.tux_ip}\n" + "".join(line + "\n" for line in lines.splitlines())
        (etc / "resolv.conf").write_text(text)
        lab.host.files["/etc/resolv.conf"] = text

    try:
        yield lab, resolv
    finally:
        shutil.rmtree(etc, ignore_errors=True)


@pytest.mark.parametrize("conf, case", HOST_CASES)
def test_host_searches_as_linux_host(search_lab, conf, case):
    lab, resolv = search_lab
    resolv(conf)
    ours, status, out, err, rc = run_on_both(lab, "host", host_main, lab_argv(lab, case))
    assert (status, normalize(ours)) == (rc, normalize(err + out))


NSLOOKUP_CASES = [
    (SEARCH, "www"),
    (SEARCH, "web T"),
    (SEARCH, "nope"),
    (SEARCH, "-type=MX lab"),
    (SEARCH, "-nosearch www"),
    (SEARCH, "-domain=wild.lab.test x"),
    (SEARCH, "-ndots=3 www.lab.test"),
    ("", "-domain=lab.test www"),
    ("search wild.lab.test", "-domain=lab.test x"),
    (SEARCH, "lab"),
    (SEARCH, "lab.test"),
    (SEARCH, "nope.lab.test."),
    ("search nope.test lab.test", "www"),
    (SEARCH, "-norecurse www"),
    ("domain lab.test", "mail"),
    (NDOTS, "x.wild"),
    ("", "www"),
]


@pytest.mark.parametrize("conf, case", NSLOOKUP_CASES)
def test_nslookup_searches_as_linux_nslookup(search_lab, conf, case):
    lab, resolv = search_lab
    resolv(conf)
    ours, status, out, err, rc = run_on_both(lab, "nslookup", nslookup_main, lab_argv(lab, case))
    assert (status, ours) == (rc, err + out)


SESSIONS = [
    (SEARCH, "www\nset nosearch\nwww\nset search\nweb\nexit\n"),
    (SEARCH, "set domain=wild.lab.test\nx\nwww\nexit\n"),
    ("search wild.lab.test", "set domain=lab.test\nx\nexit\n"),
    (SEARCH, "server T\nwww\nexit\n"),
    (SEARCH, "set ndots=3\nwww.lab.test\nset ndots=1\nnope\nexit\n"),
]


@pytest.mark.parametrize("conf, script", SESSIONS)
def test_interactive_nslookup_searches_as_linux_nslookup(search_lab, conf, script):
    lab, resolv = search_lab
    resolv(conf)
    ours, status, out, err, rc = run_on_both(lab, "nslookup", nslookup_main, [], stdin=script)
    assert (status, ours) == (rc, err + out), script


DIG_CASES = [
    (SEARCH, "www"),
    (SEARCH, "www +search"),
    (SEARCH, "www +search +nosearch"),
    (SEARCH, "nope +search"),
    (SEARCH, "www. +search"),
    (SEARCH, "web +search +short"),
    (SEARCH, "x.wild +search +ndots=2"),
    (SEARCH, "x +domain=wild.lab.test"),
    (SEARCH, "www +defname"),
    (NDOTS, "x.wild +search"),
    (NDOTS, "x.wild +search +ndots=1"),
    ("", "www +search"),
    ("search wild.lab.test", "x +domain=lab.test"),
    ("search lab.test\noptions ndots:3", "nope.lab.test +search"),
]


@pytest.mark.parametrize("conf, case", DIG_CASES)
def test_dig_searches_as_linux_dig(search_lab, conf, case):
    lab, resolv = search_lab
    resolv(conf)
    ours, status, out, err, rc = run_on_both(lab, "dig", dig_main, lab_argv(lab, case))
    assert (status, dig_masked(ours)) == (rc, dig_masked(err + out))
