"""``tc qdisc ... netem`` slots and delay distributions judged by this machine's iproute2 (6.1):
for each set of options, tuxnet's ``tc qdisc show`` prints what this machine's tc prints, the
tables tc hands the kernel (read from its ``.dist`` files) are tuxnet's, and a bad slot or
distribution argument gets iproute2's message and exit status.

tc runs in a network namespace of our own, on a veth device, under strace, which catches the
RTM_NEWQDISC request it sends.  Where the kernel has sch_netem the qdisc is made and shown.  Where
it has not (CONFIG_NET_SCH_NETEM off, as on this machine: "Specified qdisc kind is unknown"), the
request is turned into the answer Linux would give to a dump (``netem_change`` then
``netem_dump``: the options as sent, the jitters capped to INT_MAX ns, a slot without delays not
sent back, no tables) and tc prints that itself (``tc monitor file``): iproute2's
``netem_print_opt`` either way.
"""

from __future__ import annotations

import shutil
import struct
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest

from tuxnet.tapnet import Netns
from tuxnet.user.tc import TC_LIB_DIR, TcError, tc
from tuxnet.world import World

pytestmark = pytest.mark.root

SHOWN = [
    "delay 1ms slot 800us 1ms packets 32 bytes 64000", "slot 1ms", "slot 800 1000", "slot 1.5ms 2.25ms packets 0x10",
    "slot 1ms p 3 b 100", "slot 1ms bytes 64k", "slot 0", "slot 0 0 packets 3", "slot 1ms 2ms slot 3ms",
    "slot distribution pareto 1ms 500us packets 4", "slot distribution normal 10ms 2ms bytes 1500",
    "slot distribution paretonormal 1s 100ms", "delay 10ms 2ms distribution pareto",
    "delay 10ms 2ms 25% distribution paretonormal slot 2ms 4ms packets 10",
    "delay 100ms 10ms distribution normal rate 10mbit slot 5ms", "delay 10s 3s",
]
EXPERIMENTAL = Path(TC_LIB_DIR) / "experimental.dist"  # measured, not computed: given to the tuxnet host
REFUSED = [  # by tc, before the kernel sees a request
    "slot 2ms 1ms", "slot distribution normal 1ms 0", "slot distribution foo 1ms 1ms", "slot frob", "slot",
    "slot 1ms packets", "slot 1ms packets x", "slot 1ms packets 99999999999", "slot 1ms bytes -1", "slot 1ms bytes 5x",
    "slot distribution", "slot distribution pareto 1ms", "slot distribution pareto abc 1ms", "slot 1ms abc",
    "delay 10ms 2ms distribution foo", "delay 10ms 2ms distribution uniform", "delay 10ms distribution pareto",
    "delay 1ms slot 1ms 2ms bytes 1500 packets 2", "delay 1ms 1ms distribution pareto extra", "delay abc", "help",
]
KERNEL_REFUSED = ["slot 1ms packets -3", "slot distribution normal -1ms 1ms", "slot 1ms bytes 3000000000"]

RTM_NEWQDISC = 36
TCA_KIND, TCA_OPTIONS = 1, 2
TCA_NETEM_DELAY_DIST, TCA_NETEM_SLOT, TCA_NETEM_SLOT_DIST = 2, 12, 13
NLA_TYPE_MASK = 0x3FFF
INT_MAX = 0x7FFFFFFF
SLOT = struct.Struct("<qqiiqq")  # struct tc_netem_slot


def _attrs(data: bytes) -> Iterator[tuple[int, bytes]]:
    """The netlink attributes in ``data``: (type without its flags, payload)."""
    off = 0
    while off + 4 <= len(data):
        length, kind = struct.unpack_from("<HH", data, off)
        yield kind & NLA_TYPE_MASK, data[off + 4:off + length]
        off += (length + 3) & ~3


def _attr(kind: int, payload: bytes) -> bytes:
    return struct.pack("<HH", 4 + len(payload), kind) + payload + bytes(-len(payload) % 4)


def _options(request: bytes) -> bytes:
    """TCA_OPTIONS of an RTM_NEWQDISC (after its nlmsghdr and tcmsg)."""
    return next(payload for kind, payload in _attrs(request[36:]) if kind == TCA_OPTIONS)


def _tables(request: bytes) -> dict[int, list[int]]:
    """The distribution tables in netem's options (after ``struct tc_netem_qopt``), by type."""
    return {kind: list(struct.unpack(f"<{len(p) // 2}h", p)) for kind, p in _attrs(_options(request)[24:])
            if kind in (TCA_NETEM_DELAY_DIST, TCA_NETEM_SLOT_DIST)}


def netem_dump(request: bytes) -> bytes:
    """The RTM_NEWQDISC with which Linux describes the netem qdisc ``request`` made."""
    options = _options(request)
    qopt = bytearray(options[:24])
    jitter = struct.unpack_from("<I", qopt, 20)[0]
    struct.pack_into("<I", qopt, 20, min(jitter << 6, INT_MAX) >> 6)  # PSCHED_NS2TICKS of the capped q->jitter
    nested = b""
    for kind, payload in _attrs(options[24:]):
        if kind in (TCA_NETEM_DELAY_DIST, TCA_NETEM_SLOT_DIST):
            continue
        if kind == TCA_NETEM_SLOT:
            min_delay, max_delay, packets, size, dist_delay, dist_jitter = SLOT.unpack(payload)
            dist_jitter = min(INT_MAX, abs(dist_jitter))
            if not min_delay | max_delay | dist_jitter:
                continue
            payload = SLOT.pack(min_delay, max_delay, packets, size, dist_delay, dist_jitter)
        nested += _attr(kind, payload)
    body = (struct.pack("<BBHiIII", 0, 0, 0, 1, 0x80010000, 0xFFFFFFFF, 2) + _attr(TCA_KIND, b"netem\0")
            + _attr(TCA_OPTIONS, bytes(qopt) + nested))
    return struct.pack("<IHHII", 16 + len(body), RTM_NEWQDISC, 0, 0, 0) + body


def _written(trace: str) -> list[bytes]:
    """The buffers strace's ``-e write=all`` dumped (`` * N bytes in buffer I`` and its lines)."""
    buffers: list[bytearray] = []
    for line in trace.splitlines():
        if line.startswith(" * "):
            buffers.append(bytearray())
        elif line.startswith(" | ") and buffers:
            buffers[-1] += bytes.fromhex(line[10:58])
    return [bytes(b) for b in buffers]


class LinuxTc:
    """This machine's tc in a namespace of our own, on ``d0``, one end of a veth pair."""

    def __init__(self, ns: Netns) -> None:
        self.ns = ns
        ns.run("ip", "link", "add", "d0", "type", "veth", "peer", "name", "d1")
        ns.run("ip", "link", "set", "d0", "up")
        self.has_netem = self.run("").returncode == 0

    def run(self, options: str):
        return self.ns.run("tc", "qdisc", "replace", "dev", "d0", "root", "netem", *options.split(), check=False)

    def request(self, options: str) -> tuple[int, str, bytes]:
        """tc's exit status and error, and the RTM_NEWQDISC it sent."""
        with tempfile.TemporaryDirectory() as tmp:
            trace = Path(tmp) / "trace"
            r = self.ns.run("strace", "-qq", "-e", "trace=sendmsg", "-e", "write=all", "-o", str(trace), "tc",
                            "qdisc", "replace", "dev", "d0", "root", "netem", *options.split(), check=False)
            sent = [b for b in _written(trace.read_text()) if struct.unpack_from("<H", b, 4)[0] == RTM_NEWQDISC]
        return r.returncode, r.stderr, sent[0]

    def shown(self, options: str) -> tuple[str, dict[int, list[int]]]:
        """The options' part of tc's line for the qdisc, and the tables tc sent."""
        status, err, request = self.request(options)
        if self.has_netem:
            assert status == 0, err
            line = self.ns.run("tc", "qdisc", "show", "dev", "d0").stdout
        else:
            assert "Specified qdisc kind is unknown" in err, err
            with tempfile.NamedTemporaryFile(suffix=".nl") as f:
                f.write(netem_dump(request))
                f.flush()
                line = self.ns.run("tc", "monitor", "file", f.name).stdout
        return line[line.index("limit "):], _tables(request)


@pytest.fixture
def linux(netns) -> LinuxTc:
    for tool in ("tc", "strace"):
        if shutil.which(tool) is None:
            pytest.skip(f"{tool} is not installed")
    return LinuxTc(netns)


def tuxnet_host():
    """A tuxnet host with eth0, and this machine's experimental.dist in tc's directory."""
    world = World(seed=1)
    a, b = world.add_host("a"), world.add_host("b")
    world.connect(a, b, a_addr="10.0.0.1/24", b_addr="10.0.0.2/24")
    if EXPERIMENTAL.exists():
        a.files[str(EXPERIMENTAL)] = EXPERIMENTAL.read_text()
    return a


def tuxnet_tc(host, options: str) -> tuple[int, str]:
    """tuxnet's tc: the exit status and the show line, or the error."""
    try:
        tc(host, f"qdisc replace dev eth0 root netem {options}")
    except TcError as e:
        return e.status, f"{e}\n"
    return 0, tc(host, "qdisc show dev eth0")


def test_netem_slots_and_distributions_show_as_iproute2_prints_them(linux):
    host = tuxnet_host()
    experimental = ["delay 10ms 5ms distribution experimental"] if EXPERIMENTAL.exists() else []
    for options in SHOWN + experimental:
        theirs, tables = linux.shown(options)
        status, ours = tuxnet_tc(host, options)
        assert status == 0, (options, ours)
        assert ours[ours.index("limit "):] == theirs, options
        q = host.devices["eth0"].qdisc
        if TCA_NETEM_DELAY_DIST in tables:
            assert q.params.dist_table == tables[TCA_NETEM_DELAY_DIST], options
        if TCA_NETEM_SLOT_DIST in tables:
            assert q.slot_dist == tables[TCA_NETEM_SLOT_DIST], options
        tc(host, "qdisc del dev eth0 root")


def test_bad_slot_and_distribution_arguments_get_iproute2s_messages(linux):
    host = tuxnet_host()
    for options in REFUSED:
        r = linux.run(options)
        assert tuxnet_tc(host, options) == (r.returncode, r.stdout + r.stderr), options


def test_what_the_kernel_refuses_in_a_slot(linux):
    if not linux.has_netem:
        pytest.skip("this kernel has no sch_netem (CONFIG_NET_SCH_NETEM), whose validate_slot refuses these")
    host = tuxnet_host()
    for options in KERNEL_REFUSED:
        r = linux.run(options)
        assert tuxnet_tc(host, options) == (r.returncode, r.stdout + r.stderr), options

