"""arping on a switched LAN (a packet socket's ARP, as iputils' arping sends and reads it): replies
and their count, a host that is not there, duplicate address detection, gratuitous ARP updating
the neighbours that know us, and arping's errors."""

from __future__ import annotations

import re

from netlab import lan, run

from tuxnet.user.iproute import ip
from tuxnet.user.programs.arping import arping_main

REPLY = re.compile(r"^Unicast reply from 10\.0\.0\.2 \[02:00:00:00:00:0[0-9A-F]\]  (\d+)\.(\d{3})ms$")


def arping(world, host, args: list[str]) -> tuple[int, list[str], int]:
    before, start = len(host.output()), world.now
    rc = run(world, host, arping_main, args)
    return rc, host.output()[before:].splitlines(), world.now - start


def test_replies_then_unicast_probes():
    world, (h1, h2), _ = lan(2)
    rc, lines, took = arping(world, h1, ["-c", "3", "-I", "eth0", "10.0.0.2"])
    assert rc == 0 and lines[0] == "ARPING 10.0.0.2 from 10.0.0.1 eth0"
    assert all(REPLY.match(line) for line in lines[1:4])
    # the first probe broadcast, the next two to the address the reply gave
    assert lines[4:] == ["Sent 3 probes (1 broadcast(s))", "Received 3 response(s)"]
    assert 3_000_000_000 <= took < 3_001_000_000, "a second a probe, and a second for the last one's reply"
    assert h2.mib.Ip["InReceives"] == 0
    # the round trip, switch and all (2 x 2 hops of 50 us, and each frame's time on the wire),
    # printed as iputils prints it: below a millisecond, the microseconds plus 500
    ms, frac = REPLY.match(lines[1]).groups()
    assert (ms, 200 < int(frac) - 500 < 300) == ("0", True)


def test_no_reply_from_a_host_that_is_not_there():
    world, (h1, _), _ = lan(2)
    rc, lines, took = arping(world, h1, ["-c", "2", "-w", "2", "10.0.0.9"])
    assert (rc, lines) == (1, ["ARPING 10.0.0.9 from 10.0.0.1 eth0", "Sent 2 probes (2 broadcast(s))",
                               "Received 0 response(s)"])
    assert 2_000_000_000 <= took < 2_001_000_000


def test_duplicate_address_detection():
    world, (h1, _), _ = lan(2)
    rc, lines, _ = arping(world, h1, ["-D", "-c", "1", "-I", "eth0", "10.0.0.2"])
    assert rc == 1 and lines[0] == "ARPING 10.0.0.2 from 0.0.0.0 eth0"  # taken: status 1
    rc, lines, _ = arping(world, h1, ["-D", "-c", "1", "-I", "eth0", "10.0.0.7"])
    assert rc == 0 and lines[-1] == "Received 0 response(s)"  # free


def test_gratuitous_arp_updates_the_neighbours_that_know_us():
    world, (h1, h2, h3), _ = lan(3)
    # h2 knows h1, by an old address; h3 does not know it
    ip(h2, "neigh add 10.0.0.1 lladdr 02:00:00:00:00:99 dev eth0 nud stale")
    rc, lines, _ = arping(world, h1, ["-U", "-c", "1", "-I", "eth0", "10.0.0.1"])
    assert rc == 0 and lines[0] == "ARPING 10.0.0.1 from 10.0.0.1 eth0"
    world.run_for(10_000_000)
    mac1 = bytes(h1.dev("eth0").dev_addr)
    assert [bytes(n.ha) for n in h2.arp_tbl.entries.values()] == [mac1], "the entry took h1's address"
    assert not h3.arp_tbl.entries, "arp_accept 0: no entry made for it"


def test_errors():
    world, (h1, _), _ = lan(2)
    assert arping(world, h1, ["-c", "1", "-I", "nosuch", "10.0.0.2"])[:2] == (
        2, ["arping: Device nosuch not available."])
    assert arping(world, h1, ["-c", "1", "-I", "lo", "10.0.0.2"])[:2] == (2, ['Interface "lo" is not ARPable'])
    assert arping(world, h1, ["-c", "0", "10.0.0.2"])[:2] == (
        1, ["arping: invalid argument: '0': out of range: 1 <= value <= 2147483647"])
    rc, lines, _ = arping(world, h1, [])
    assert rc == 2 and lines[:3] == ["", "Usage:", "  arping [options] <destination>"]
    assert arping(world, h1, ["-V"])[:2] == (0, ["arping from iputils 20221126",
        "libcap: yes, IDN: yes, NLS: no, error.h: yes, getrandom(): yes, __fpending(): yes"])
    assert arping(world, h1, ["nosuch.host"])[:2] == (2, ["arping: nosuch.host: Name or service not known"])
