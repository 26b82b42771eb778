"""Networks of Linux namespaces for the tests that set tuxnet beside this machine's kernel."""

from __future__ import annotations

import subprocess
import time

from tuxnet.tapnet import Netns


def a_r_b(prefix: str, far_mtu: int, spaces: list[Netns]) -> tuple[Netns, Netns, Netns]:
    """A 10.0.1.1 (va) -- R (ra 10.0.1.254, rb 10.0.3.254) -- B 10.0.3.2 (vb), of veth pairs: R
    forwards, its link to B has an MTU of ``far_mtu``, A and B route through R.  Each namespace is
    appended to ``spaces`` as it is made, for the caller to close, whatever happens."""
    for n in "arb":
        spaces.append(Netns(f"{prefix}-{n}"))
    a, r, b = spaces[-3:]
    for peer, here, there in ((a, "va", "ra"), (b, "vb", "rb")):
        subprocess.run(["ip", "link", "add", here, "netns", peer.name, "type", "veth", "peer", "name", there,
                        "netns", r.name], check=True, capture_output=True)
    for ns, dev, addr, mtu in ((a, "va", "10.0.1.1/24", 1500), (r, "ra", "10.0.1.254/24", 1500),
                               (r, "rb", "10.0.3.254/24", far_mtu), (b, "vb", "10.0.3.2/24", far_mtu)):
        ns.run("ip", "addr", "add", addr, "dev", dev)
        ns.run("ip", "link", "set", dev, "mtu", str(mtu), "up")
    a.run("ip", "route", "add", "default", "via", "10.0.1.254")
    r.run("sysctl", "-qw", "net.ipv4.ip_forward=1")
    return a, r, b


def start_tcpdump(ns: Netns, dev: str, pcap: str, *expr: str) -> subprocess.Popen:
    """tcpdump writing each packet to ``pcap`` as it comes (-U, --immediate-mode), so that none is
    left in its ring when it is stopped on a busy machine; returns once it listens."""
    dump = ns.popen("tcpdump", "-i", dev, "-n", "-s", "262144", "-B", "16384", "--immediate-mode", "-U",
                    "-Z", "root", "-w", pcap, *expr)
    assert dump.stderr is not None
    while f"listening on {dev}" not in dump.stderr.readline():
        assert dump.poll() is None, "tcpdump did not start"
    return dump


def stop_tcpdump(dump: subprocess.Popen) -> None:
    time.sleep(1)  # what is still in its ring
    dump.terminate()
    dump.communicate(timeout=10)
