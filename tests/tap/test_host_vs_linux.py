"""tuxnet's ``host`` against this machine's host (BIND 9.18): the same commands, asking tuxnet's
named over the TAP device (or Linux's side, where no name server listens, or an address no one
has), print the same thing, standard error first.  The message ID, the time a query took and
the order of standard output and standard error are set aside (``-v`` shows the first two).
``-C`` asks the servers of zones served twice on the tuxnet host (serials 1 and 2), whose
servers' names both sides find in their /etc/hosts, one of them an address no one has."""

from __future__ import annotations

import re
import shutil
from pathlib import Path

import pytest

from procs import lab_argv, run_on_both
from tuxnet.user.etc import install_base_files
from tuxnet.user.programs.dns import named
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
    "-W 1 -R 0 www.lab.test N",   # host's tries: atoi + 1, at least 2
    "-W abc -R -5 www.lab.test T",  # atoi: no number is 0, a wait of at least 1 s
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


# each zone's name servers: ns1 (the tuxnet host, serial 1), ns2 (a second address of it, serial
# 2), ns3 (an address no one has), ns4 (not in /etc/hosts)
SOA_ZONES = {"two.test.": "ns1 ns2", "dead.test.": "ns1 ns2 ns3", "one.test.": "ns1", "gone.test.": "ns3 nsx",
             "lost.test.": "ns4"}
SOA_CASES = [
    "-C two.test T",
    "-C -W 1 dead.test T",
    "-C one.test T",           # one server: BIND 9.18 gives up on it at once
    "-C -W 1 gone.test T",     # nsx has no address, ns3 no one
    "-C lost.test T",          # no address at all
    "-C www.two.test T",       # no NS records there
    "-C nope.two.test T",
    "-C example.com T",        # refused
    "-C -v two.test T",
    "-C -r two.test T",
    "-C -T two.test T",
    "-C -t A two.test T",
    "-C -t NS two.test T",
    "-C two.test L",
]


@pytest.fixture
def soa_lab(tap_pair):
    """named twice on the tuxnet host, on its address (ns1) and on .20 (ns2), for SOA_ZONES,
    their serials 1 and 2; the names of the servers in both sides' /etc/hosts (``ip netns exec``
    puts /etc/netns/NAME/hosts in place of /etc/hosts)."""
    p = tap_pair
    base = p.tux_ip.rsplit(".", 1)[0]
    p.host.ip_addr_add("eth0", f"{base}.20/24")
    install_base_files(p.host)
    for serial, addr in ((1, p.tux_ip), (2, f"{base}.20")):
        for zone, servers in SOA_ZONES.items():
            p.host.files[f"/etc/db.{zone}{serial}"] = (
                f"$ORIGIN {zone}\n$TTL 300\n@ IN SOA ns1.two.test. root.two.test. {serial} 3600 600 86400 300\n"
                + "".join(f"@ IN NS {ns}.two.test.\n" for ns in servers.split()) + "www IN A 10.0.0.1\n")
        p.host.spawn(named, {zone: f"/etc/db.{zone}{serial}" for zone in SOA_ZONES}, addr=addr, announce=False)
    p.world.run_for(int(2e8))
    hosts = f"127.0.0.1\tlocalhost\n{p.tux_ip}\tns1.two.test\n{base}.20\tns2.two.test\n{base}.9\tns3.two.test\n"
    p.host.files["/etc/hosts"] = hosts
    etc = Path("/etc/netns") / p.ns.name
    etc.mkdir(parents=True, exist_ok=True)
    try:
        (etc / "hosts").write_text(hosts)
        yield p
    finally:
        shutil.rmtree(etc, ignore_errors=True)


def soa_normalize(text: str) -> list[str]:
    """``-C``'s lines in an order of their own: host asks the servers in a random order and
    prints each answer as it comes, the first answer's server in "Using domain server:"; and
    the records of named's NS sets come in a random order too."""
    text = normalize(text).replace(":\n\t", ": ")
    text = re.sub(r"Name: \S+\nAddress: \S+", "Name: S\nAddress: S", text)
    return sorted(text.splitlines())


@pytest.mark.parametrize("case", SOA_CASES)
def test_host_soa_check_as_linux_host(soa_lab, case):
    ours, status, out, err, rc = run_on_both(soa_lab, "host", host_main, lab_argv(soa_lab, case))
    assert status == rc, (ours, err + out)
    assert soa_normalize(ours) == soa_normalize(err + out)
