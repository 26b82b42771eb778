"""Black hole detection and MTU probing (``tcp_mtu_probing`` 1), judged by the Linux kernel on this
machine: the network of ``examples/pmtu_blackhole.py`` built of network namespaces and veth pairs,
a Linux sender sending 1 MB (the example's 256 KB end just after tuxnet's search does; with real
time's jitter the kernel's could end before its last probe), and the two compared.

    A 10.0.1.1 -- R -- B 10.0.3.2      (R's link to B: MTU 1000; B announces MSS 1460 anyway)

R's ICMP is routed into a blackhole (``ip rule add ipproto icmp``), so A never hears
"fragmentation needed".  A's veth sends one segment per packet (``gso_max_segs 1``), so its
capture shows the segments as they leave.
"""

from __future__ import annotations

import io
import os
import re
import runpy
import shutil
import subprocess
from pathlib import Path

import pytest
from linuxnet import a_r_b, kernel_measurement, start_tcpdump, stop_tcpdump

from tuxnet.tapnet import Netns, netns_unavailable

pytestmark = [pytest.mark.root, pytest.mark.slow]

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "pmtu_blackhole.py"
COUNTERS = ("TCPTimeouts", "TCPMTUPSuccess", "TCPMTUPFail")
# The search on a 1000-byte path with 52 bytes of headers (IPv4, TCP, timestamps): 1448 to start;
# black hole detection turns probing on at tcp_base_mss, 1024, then halves it to 512 (an MTU of
# 564); probes at the middle of [low, high]: (1500+564)/2 = 1032 → 980 lost, high 1031;
# (1031+564)/2 = 797 → 745 through; 914 → 862; 972 → 920; 1001 → 949 lost, high 1000;
# 986 → 934; 993 → 941, and 1000 - 993 < tcp_probe_threshold (8) ends the search.
SEARCH = [1448, 1024, 512, 980, 745, 862, 920, 949, 934, 941]
SENDER = """
import socket
s = socket.create_connection(("10.0.3.2", 5001))
s.sendall(bytes(1 << 20))
s.shutdown(socket.SHUT_WR)
s.recv(1)
"""
SINK = """
import socket
s = socket.socket(); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind(("10.0.3.2", 5001)); s.listen(1); print("ready", flush=True)
c, _ = s.accept(); n = 0
while data := c.recv(65536):
    n += len(data)
print(n, flush=True)
"""


def first_appearances(sizes: list[int]) -> list[int]:
    seen: list[int] = []
    for n in sizes:
        if n not in seen:
            seen.append(n)
    return seen


def linux_run(tmp_dir: str) -> tuple[list[int], dict[str, int], int]:
    """The sender's data segment sizes (captured into ``tmp_dir``), its nstat counters and what
    the sink received."""
    spaces: list[Netns] = []
    try:
        a, r, b = a_r_b(f"tuxnet-pmtu-{os.getpid()}", 1000, spaces)
        b.run("ip", "route", "add", "default", "via", "10.0.3.254", "advmss", "1460")
        r.run("ip", "rule", "add", "ipproto", "icmp", "table", "100")
        r.run("ip", "route", "add", "blackhole", "default", "table", "100")
        a.run("sysctl", "-qw", "net.ipv4.tcp_mtu_probing=1")
        a.run("ip", "link", "set", "va", "gso_max_segs", "1")
        sink = b.popen("python3", "-c", SINK)
        assert sink.stdout is not None and sink.stdout.readline().strip() == "ready"
        pcap = os.path.join(tmp_dir, "a.pcap")
        dump = start_tcpdump(a, "va", pcap, "tcp and src 10.0.1.1")
        try:
            a.run("python3", "-c", SENDER, timeout=60)
            received = int(sink.communicate(timeout=10)[0].strip())
        finally:
            stop_tcpdump(dump)
        out = subprocess.run(["tcpdump", "-n", "-r", pcap], capture_output=True, text=True, check=True).stdout
        sizes = [int(m) for m in re.findall(r"length (\d+)", out) if int(m)]
        nstat = a.run("nstat", "-az", *(f"TcpExt{c}" for c in COUNTERS)).stdout
        counters = {c: int(re.search(rf"TcpExt{c}\s+(\d+)", nstat).group(1)) for c in COUNTERS}
        return sizes, counters, received
    except (OSError, subprocess.CalledProcessError) as e:
        pytest.skip(f"cannot build the namespaces' network here: {e}")
    finally:
        for ns in spaces:
            ns.close()


def test_black_hole_search_matches_linux(tmp_path):
    reason = netns_unavailable()
    if reason:
        pytest.skip(reason)
    for tool in ("tcpdump", "nstat", "python3"):
        if shutil.which(tool) is None:
            pytest.skip(f"{tool} is needed (apt-get install tcpdump iproute2)")
    def judge(run: tuple[list[int], dict[str, int], int]) -> str | None:
        sizes, counters, received = run
        linux = first_appearances(sizes)
        if received != 1 << 20 or [n for n in linux if n in SEARCH] != SEARCH or max(sizes[-50:]) != SEARCH[-1]:
            return f"received {received}, sizes in order of appearance {linux}, {counters}"
        return None

    _, counters, _ = kernel_measurement(lambda: linux_run(str(tmp_path)), judge)

    out = io.StringIO()
    assert runpy.run_path(str(EXAMPLE))["main"](1, out) == 0
    ours = first_appearances([int(n) for n in re.findall(r"length (\d+)", out.getvalue()) if int(n)])
    assert [n for n in ours if n in SEARCH] == SEARCH, ours
    assert "mss:941 " in out.getvalue()
    assert " ".join(f"{c} {counters[c]}" for c in COUNTERS) in out.getvalue(), (counters, out.getvalue())
