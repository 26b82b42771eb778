"""Source filters on multicast memberships (IP_ADD_SOURCE_MEMBERSHIP and its kin, IP_MSFILTER,
the MCAST_* requests) judged by this machine's kernel: ``ssmplay.py``'s member and sender, in two
network namespaces of our own joined by a veth pair and on two tuxnet hosts joined by a cable,
must give the same outcomes (what each call returns, which datagrams each socket reads), the
member's IGMPv3 reports the same ``tcpdump -vv`` lines, their source lists included, and its
``/proc/net/mcfilter`` the same sources and counts, read twice on the way.  Both
members repeat a state change 100 ms apart at most (``igmpv3_unsolicited_report_interval``), so
that each change is told in full before the next."""

from __future__ import annotations

import os
import time

import pytest
from ssmplay import PLAYS, S2, S3
from test_multicast_vs_linux import kernel_plays, play_ends

import tuxnet.socket as tux_socket
from tuxnet.tapnet import netns_pair, netns_unavailable
from tuxnet.trace.capture import Capture
from tuxnet.user import libc
from tuxnet.user.iproute import ip
from tuxnet.user.programs.cat import cat_main
from tuxnet.world import World

pytestmark = pytest.mark.root

SCRIPT = os.path.join(os.path.dirname(__file__), "ssmplay.py")
INTERVAL = "net.ipv4.conf.eth0.igmpv3_unsolicited_report_interval"
MAX_MSF = "net.ipv4.igmp_max_msf"
SNAPSHOTS = (2.4, 6.9)  # (seconds into the play: both members' INCLUDE filters; then s1's EXCLUDE one)


def linux_play(play: str = "", mtu: int = 1500) -> tuple[list, list, list[str], str]:
    """The member and the sender of ``play`` in namespaces, the member's device of ``mtu``."""
    reason = netns_unavailable()
    if reason:
        pytest.skip(reason)
    a, b = netns_pair(f"tuxnet-ssm-{os.getpid()}", "10.9.0.1/24", "10.9.0.2/24")
    try:
        for extra in (S2, S3):
            a.run("ip", "addr", "add", f"{extra}/24", "dev", "eth0")
        b.run("sysctl", "-qw", f"{INTERVAL}=100", f"{MAX_MSF}=20")
        b.run("ip", "link", "set", "eth0", "mtu", str(mtu))

        def during(start: float) -> str:
            mcfilter = ""
            for at in SNAPSHOTS:
                time.sleep(max(0.0, start + at - time.monotonic()))
                mcfilter += b.run("cat", "/proc/net/mcfilter").stdout
            return mcfilter

        return kernel_plays(a, b, SCRIPT, play, "-vv", during)
    finally:
        a.close()
        b.close()


def tuxnet_play(play: str = "", mtu: int = 1500) -> tuple[list, list, list[str], str]:
    world = World(seed=1)
    a, b = world.add_host("a"), world.add_host("b")
    world.connect(a, b, a_addr="10.9.0.1/24", b_addr="10.9.0.2/24")
    for extra in (S2, S3):
        ip(a, f"addr add {extra}/24 dev eth0")
    b.sysctl.set(INTERVAL, "100")
    b.sysctl.set(MAX_MSF, "20")
    ip(b, f"link set eth0 mtu {mtu}")
    lines: list[str] = []
    cap = Capture(b, "eth0", tcpdump=lines.append, verbose=2)
    start = world.now

    def sleep_until(at: float) -> None:
        libc.sleep(max(0.0, start / 1e9 + at - libc.clock_monotonic()))

    member = b.spawn(tux_socket.stdlib(PLAYS[f"{play}member"]), sleep_until)
    sender = a.spawn(tux_socket.stdlib(PLAYS[f"{play}sender"]), sleep_until)
    before = len(b.output())
    for at in SNAPSHOTS:
        world.run_until(lambda at=at: world.now >= start + int(at * 1e9))
        cat = b.spawn(cat_main, ["/proc/net/mcfilter"])
        world.run_until(lambda cat=cat: not cat.alive)
    mcfilter = b.output()[before:]
    return (*play_ends(world, member, sender, cap, lines), mcfilter)


def test_source_filters_as_on_the_kernel():
    linux = linux_play()
    ours = tuxnet_play()
    assert ours[:2] == linux[:2]
    mine = [line for line in linux[2] if "\n    10.9.0.2 >" in line]
    assert [line for line in ours[2] if "\n    10.9.0.2 >" in line] == mine
    assert ours[3] == linux[3]
    # what the play shows, in case both got it wrong the same way: the INCLUDE socket reads only
    # its sources, the first report allows the one source, the last blocks the two last sources
    assert ["s1 reads", ["one from 10.9.0.1", "one from 10.9.0.7", "EAGAIN"]] in ours[0]
    assert mine[0].endswith("[gaddr 239.1.1.1 allow { 10.9.0.1 }]")
    assert mine[-1].endswith("[gaddr 239.1.1.1 block { 10.9.0.8 10.9.0.1 }]")
    assert "  2   eth0 0xef010101 0x0a090001      1      0" in ours[3]



def test_reports_fill_the_mtu_as_on_the_kernel():
    """With an MTU of 100 a report holds 15 sources: an INCLUDE record of twenty goes in two, an
    EXCLUDE record of eighteen in one packet of its own, cut to what fits, and the three groups'
    answers to the general query come newest first."""
    linux = linux_play("crowded_", mtu=100)
    ours = tuxnet_play("crowded_", mtu=100)
    assert ours[:2] == linux[:2]
    mine = [line for line in linux[2] if "\n    10.9.0.2 >" in line]
    assert [line for line in ours[2] if "\n    10.9.0.2 >" in line] == mine
    assert ours[3] == linux[3]
    assert any("[gaddr 239.2.2.2 is_ex { 10.7.2.1 " in line for line in mine)
