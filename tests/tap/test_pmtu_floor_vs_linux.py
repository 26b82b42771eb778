"""A path MTU below ``route.min_pmtu`` (552), judged by the Linux kernel on this machine: ``ping -s
1000 -M want`` across a router whose far link has an MTU of 500, on namespaces joined by veth
pairs and on a tuxnet network of the same shape, compared line by line and packet by packet.

    A 10.0.1.1 -- R -- B 10.0.3.2      (R's link to B: MTU 500)

The first echo request carries DF; R answers "fragmentation needed, MTU 500", which the raw socket
of ``ping`` hears (``raw_icmp_error``).  500 is below the floor, so A's route learns 552, locked
(``__ip_rt_update_pmtu``): from then on A sends without DF, in fragments of 548 and 500 bytes,
which R fragments again for the 500-byte link.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess

import pytest
from linuxnet import a_r_b, start_tcpdump, stop_tcpdump

from tuxnet.tapnet import Netns, netns_unavailable
from tuxnet.user.iproute import ip
from tuxnet.user.programs.ping import ping_main
from tuxnet.world import World, msecs

pytestmark = pytest.mark.root

PING = ["-c", "3", "-s", "1000", "-M", "want", "-i", "0.2", "10.0.3.2"]


def ip_packets(frames: list[bytes]) -> list[tuple[int, ...]]:
    """(total length, TOS, TTL, protocol, DF, MF, fragment offset, source, destination) of each
    IPv4 frame."""
    out = []
    for f in frames:
        if f[12:14] != b"\x08\x00":
            continue
        h = f[14:]
        frag = int.from_bytes(h[6:8], "big")
        out.append((int.from_bytes(h[2:4], "big"), h[1], h[8], h[9], frag >> 14 & 1, frag >> 13 & 1,
                    (frag & 0x1FFF) * 8, h[12:16].hex(), h[16:20].hex()))
    return out


def pcap_frames(path: str) -> list[bytes]:
    with open(path, "rb") as f:
        data = f.read()
    frames, pos = [], 24
    while pos + 16 <= len(data):
        caplen = int.from_bytes(data[pos + 8:pos + 12], "little")
        frames.append(data[pos + 16:pos + 16 + caplen])
        pos += 16 + caplen
    return frames


def masked(text: str) -> str:
    """The ping's output without its timings, which are real time on Linux and virtual here."""
    text = re.sub(r"time=[\d.]+ ms", "time=T ms", text)
    text = re.sub(r"time \d+ms", "time Tms", text)
    return re.sub(r"rtt min/avg/max/mdev = \S+ ms", "rtt min/avg/max/mdev = T ms", text)


def linux_run(tmp_dir: str) -> tuple[str, str, list[bytes]]:
    spaces: list[Netns] = []
    try:
        a, r, b = a_r_b(f"tuxnet-floor-{os.getpid()}", 500, spaces)
        b.run("ip", "route", "add", "default", "via", "10.0.3.254")
        pcap = os.path.join(tmp_dir, "a.pcap")
        dump = start_tcpdump(a, "va", pcap, "ip")
        try:
            out = a.run("ping", *PING, check=False).stdout
            route = a.run("ip", "route", "get", "10.0.3.2").stdout
        finally:
            stop_tcpdump(dump)
        return out, route, pcap_frames(pcap)
    except (OSError, subprocess.CalledProcessError) as e:
        pytest.skip(f"cannot build the namespaces' network here: {e}")
    finally:
        for ns in spaces:
            ns.close()


def tuxnet_run() -> tuple[str, str, list[bytes]]:
    from tuxnet.trace.capture import Capture

    world = World(seed=1)
    a, b, r = world.add_host("a"), world.add_host("b"), world.add_router("r")
    world.connect(a, r, rate="1gbit", delay="10us", a_addr="10.0.1.1/24", b_addr="10.0.1.254/24")
    world.connect(r, b, rate="1gbit", delay="10us", mtu=500, a_addr="10.0.3.254/24", b_addr="10.0.3.2/24")
    ip(a, "route add default via 10.0.1.254")
    ip(b, "route add default via 10.0.3.254")
    world.run_for(msecs(10))
    cap = Capture(a, "eth0")
    cap.keep = True
    proc = a.spawn(ping_main, PING)
    world.run_until(lambda: not proc.alive)
    return a.output(), ip(a, "route get 10.0.3.2"), [frame for _, frame, _ in cap.frames]


def test_a_path_mtu_below_the_floor_is_locked_at_552_and_df_cleared(tmp_path):
    reason = netns_unavailable()
    if reason:
        pytest.skip(reason)
    for tool in ("tcpdump", "ping"):
        if shutil.which(tool) is None:
            pytest.skip(f"{tool} is needed (apt-get install tcpdump iputils-ping)")
    linux_out, linux_route, linux_frames = linux_run(str(tmp_path))
    out, route, frames = tuxnet_run()
    assert "Frag needed and DF set (mtu = 500)" in linux_out
    assert masked(out) == masked(linux_out)
    assert linux_route == "10.0.3.2 via 10.0.1.254 dev va src 10.0.1.1 uid 0 \n    cache expires 599sec mtu lock 552 \n"
    assert route == linux_route.replace(" va ", " eth0 ")
    ours, theirs = ip_packets(frames), ip_packets(linux_frames)
    assert ours == theirs
    # The first request with DF and whole; R's error; then each request in two fragments without
    # DF (548 and 500 bytes: 528 bytes of data fit under 552), each reply in three.
    assert [p[:1] + p[4:7] for p in theirs] == [(1028, 1, 0, 0), (576, 0, 0, 0)] + [
        (548, 0, 1, 0), (500, 0, 0, 528), (500, 0, 1, 0), (500, 0, 1, 480), (68, 0, 0, 960)] * 2
