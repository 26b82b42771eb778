"""arping across a TAP device: this machine's arping against a tuxnet host, whose ARP must answer
it as Linux's does, and tuxnet's arping (a packet socket) against this machine's kernel; the same
lines as this machine's arping prints, addresses and times aside."""

from __future__ import annotations

import re
import shutil

import pytest

from tuxnet.user.programs.arping import arping_main

pytestmark = [pytest.mark.root, pytest.mark.skipif(shutil.which("arping") is None,
                                                    reason="no arping: apt-get install iputils-arping")]

MAC = re.compile(r"\[([0-9A-F]{2}:){5}[0-9A-F]{2}\]")
TIME = re.compile(r" \d+\.\d{3}ms$", re.M)


def masked(out: str, me: str, peer: str, dev: str) -> list[str]:
    out = out.replace(peer, "PEER").replace(me, "ME").replace(f" {dev}\n", " DEV\n")
    return TIME.sub(" Tms", MAC.sub("[MAC]", out)).splitlines()


@pytest.mark.parametrize("options", [["-c", "2"], ["-D", "-c", "1"], ["-f", "-c", "3"]])
def test_arping_both_ways_as_on_the_kernel(tap_pair, options):
    p = tap_pair
    linux = p.ns.popen("arping", *options, "-I", p.ifname, p.tux_ip)
    theirs, err = p.run_until_exit(linux, timeout=20)
    proc = p.host.spawn(arping_main, [*options, "-I", "eth0", p.linux_ip])
    p.world.run_until(lambda: not proc.alive, timeout=int(20e9))
    ours = p.host.output()
    assert masked(ours, p.tux_ip, p.linux_ip, "eth0") == masked(theirs, p.linux_ip, p.tux_ip, p.ifname), \
        ours + theirs + err
    assert proc.result == linux.returncode
    mac = ":".join(f"{b:02X}" for b in p.eth.dev_addr)
    if "-D" not in options:
        assert f"reply from {p.tux_ip} [{mac}]" in theirs  # our ARP answered this machine's arping
