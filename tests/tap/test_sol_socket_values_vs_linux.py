"""The values SOL_SOCKET options take and read back on TCP, UDP and raw sockets, judged by this
machine's kernel (``sk_setsockopt``, ``sk_getsockopt``): the buffer sizes, doubled and clamped to
``net.core.wmem_max``/``rmem_max`` (a new namespace shares the machine's, which tuxnet's host is
given), the flags, SO_LINGER's struct, the timeouts, the read-only options (ENOPROTOOPT;
SO_BPF_EXTENSIONS, how far the ancillary loads a filter may use reach),
SO_PEEK_OFF (only where the protocol has ``set_peek_off``), SO_ZEROCOPY (TCP and UDP only), the
options the kernel only keeps (SO_BUSY_POLL, SO_INCOMING_CPU, SO_TXREHASH: TCP's) and those it
refuses (SO_PASSCRED and its kin on an inet socket).  Each value is set on a fresh socket and read
back; the defaults are read from sockets left as they are made.

The play runs as root, so SO_PRIORITY above 6 is allowed (CAP_NET_ADMIN).  Some answers depend on
this machine's kernel: SO_BUSY_POLL exists only with CONFIG_NET_RX_BUSY_POLL; SO_TXREHASH's -1
reads back ``net.core.txrehash`` (1 unless changed); a linger for ever reads back as LONG_MAX /
CONFIG_HZ cut to an int (compared as that, whatever the HZ); SO_PASSCRED, SO_PASSSEC and
SO_PASSPIDFD are EOPNOTSUPP on inet sockets since Linux 6.16, as SO_TXREHASH on all but TCP."""

from __future__ import annotations

import json
import os
import socket
import struct
import sys

import pytest
from loplay import kernel_outcomes, lo_world, outcome, tuxnet_outcomes

pytestmark = pytest.mark.root

SOL = socket.SOL_SOCKET
# include/uapi/asm-generic/socket.h, for the names CPython's socket module may lack
SO_PASSCRED = 16
SO_TIMESTAMP = 29
SO_ACCEPTCONN = 30
SO_PASSSEC = 34
SO_TIMESTAMPNS = 35
SO_MARK = 36
SO_PROTOCOL = 38
SO_DOMAIN = 39
SO_PEEK_OFF = 42
SO_BUSY_POLL = 46
SO_BPF_EXTENSIONS = 48
SO_INCOMING_CPU = 49
SO_ZEROCOPY = 60
SO_TXREHASH = 74
SO_PASSPIDFD = 76
LONG_MAX = (1 << 63) - 1

KINDS = {"tcp": (socket.SOCK_STREAM, 0), "udp": (socket.SOCK_DGRAM, 0),
         "raw": (socket.SOCK_RAW, socket.IPPROTO_ICMP)}
BOOLS = (0, 1, 7, -1)
BUFS = (-5, -1, 0, 1, 1000, 1152, 1153, 2304, 65536, 1 << 20, 2097152, 2097153, 4194304, 1 << 30, 2**31 - 1)


def linger(onoff: int, secs: int) -> bytes:
    return struct.pack("ii", onoff, secs)


def timeval(sec: int, usec: int) -> bytes:
    return struct.pack("ll", sec, usec)


# SO_RCVTIMEO/SO_SNDTIMEO: the kernel keeps a timeout in jiffies, rounded up
# (``sock_set_timeout``), which depends on this machine's CONFIG_HZ; tuxnet keeps it to the
# microsecond on purpose (its ``sock_set_timeout``), so only times whole in jiffies at any HZ
# (100, 250, 300, 1000: multiples of 10/3 ms and 4 ms) are compared, and the errors.
TIMEOUTS = (timeval(0, 0), timeval(1, 0), timeval(0, 500000), timeval(7, 0), timeval(-1, 0),
            timeval(-1, 5), timeval(0, -1), timeval(0, 1000000), timeval(1 << 62, 0), timeval(1, 0)[:8])
# struct linger: l_onoff and l_linger, a short one (EINVAL), a negative time (as unsigned: at least
# MAX_SCHEDULE_TIMEOUT / HZ, which stands for waiting for ever)
LINGERS = (linger(0, 0), linger(1, 0), linger(1, 5), linger(0, 9), linger(1, 2**31 - 1), linger(1, -1),
           struct.pack("i", 1))

CASES = (
    [(SOL, socket.SO_SNDBUF, v) for v in BUFS]
    + [(SOL, socket.SO_RCVBUF, v) for v in BUFS]
    + [(SOL, socket.SO_PRIORITY, v) for v in (-1, 0, 6, 7, 255, 2**31 - 1)]
    + [(SOL, SO_MARK, v) for v in (0, 1, 0xFFFF, -1)]
    + [(SOL, o, v) for o in (socket.SO_KEEPALIVE, socket.SO_BROADCAST, socket.SO_REUSEADDR,
                             socket.SO_REUSEPORT, socket.SO_OOBINLINE, socket.SO_DONTROUTE,
                             SO_TIMESTAMP, SO_TIMESTAMPNS, SO_PASSCRED, SO_PASSSEC, SO_PASSPIDFD)
       for v in BOOLS]
    + [(SOL, socket.SO_LINGER, v) for v in LINGERS]
    + [(SOL, o, v) for o in (socket.SO_RCVTIMEO, socket.SO_SNDTIMEO) for v in TIMEOUTS]
    + [(SOL, o, 1) for o in (socket.SO_TYPE, SO_PROTOCOL, SO_DOMAIN, SO_ACCEPTCONN, socket.SO_ERROR,
                             SO_BPF_EXTENSIONS)]
    + [(SOL, SO_PEEK_OFF, v) for v in (-2, -1, 0, 5)]
    + [(SOL, SO_BUSY_POLL, v) for v in (-1, 0, 50, 2**31 - 1)]
    + [(SOL, SO_INCOMING_CPU, v) for v in (-2, -1, 0, 1, 100)]
    + [(SOL, SO_TXREHASH, v) for v in (-2, -1, 0, 1, 2)]
    + [(SOL, SO_ZEROCOPY, v) for v in (-1, 0, 1, 2)]
    + [(SOL, socket.SO_RCVLOWAT, v) for v in (-5, -1, 0, 1, 1000, 2**31 - 1)]
    + [(SOL, socket.SO_SNDLOWAT, v) for v in (0, 1, 100)]
    # None: only read, the default
    + [(SOL, o, None) for o in (socket.SO_SNDBUF, socket.SO_RCVBUF, socket.SO_PRIORITY, SO_MARK,
                                socket.SO_KEEPALIVE, socket.SO_REUSEADDR, socket.SO_LINGER, socket.SO_RCVTIMEO,
                                SO_PEEK_OFF, SO_BUSY_POLL, SO_INCOMING_CPU, SO_TXREHASH, SO_ZEROCOPY,
                                socket.SO_RCVLOWAT, socket.SO_TYPE, SO_PROTOCOL, SO_DOMAIN, SO_ACCEPTCONN,
                                SO_BPF_EXTENSIONS)]
)
# the options read back as a struct, and its size
STRUCTS = {socket.SO_LINGER: 8, socket.SO_RCVTIMEO: 16, socket.SO_SNDTIMEO: 16}


def play() -> list:
    """Each case on each kind of socket: the kind, the option, the value (bytes as hex), "ok" or
    the errno's name, and the value read back."""
    out = []
    for kind, (type, proto) in KINDS.items():
        # SO_RCVLOWAT is TCP's own on a stream socket (test_sockopt_values_vs_linux.py)
        for level, opt, value in CASES if kind != "tcp" else [c for c in CASES if c[1] != socket.SO_RCVLOWAT]:
            s = socket.socket(socket.AF_INET, type, proto)
            result = "unset" if value is None else outcome(s.setsockopt, level, opt, value)
            back = outcome(s.getsockopt, level, opt, *[STRUCTS[opt]] if opt in STRUCTS else [])
            out.append([kind, opt, value.hex() if isinstance(value, bytes) else value, result or "ok", back])
            s.close()
    return out


SYSCTLS = ("net.core.wmem_max", "net.core.rmem_max", "net.core.wmem_default", "net.core.rmem_default",
           "net.ipv4.tcp_wmem", "net.ipv4.tcp_rmem")


def sysctls() -> list:
    """The buffer sizes and limits of the namespace the kernel plays in."""
    out = []
    for name in SYSCTLS:
        with open("/proc/sys/" + name.replace(".", "/")) as f:
            out.append([name, " ".join(f.read().split())])
    return out


def for_ever(case: list) -> list:
    """A case with a linger for ever read back as LONG_MAX / HZ in a C int for some usual HZ (the
    kernel's CONFIG_HZ, tuxnet's HZ), its time written as "for ever"."""
    if case[1] == socket.SO_LINGER and isinstance(case[4], str) and len(case[4]) == 16:
        onoff, secs = struct.unpack("ii", bytes.fromhex(case[4]))
        if onoff and secs in [struct.unpack("i", struct.pack("I", LONG_MAX // hz & 0xFFFFFFFF))[0]
                              for hz in (100, 250, 300, 1000)]:
            return case[:4] + ["for ever"]
    return case


@pytest.fixture(scope="module")
def outcomes() -> tuple[list, list]:
    """(the kernel's outcomes, tuxnet's), tuxnet's host given the namespace's buffer sysctls."""
    script = os.path.basename(__file__)
    linux = kernel_outcomes(script, "play")
    world, host = lo_world()
    for name, value in kernel_outcomes(script, "sysctls"):
        host.sysctl.set(name, value)  # (wmem_max and rmem_max differ from tuxnet's defaults here)
    ours = tuxnet_outcomes(world, host, play)
    return [for_ever(c) for c in linux], [for_ever(c) for c in ours]


def test_sol_socket_values_read_back_as_on_the_kernel(outcomes: tuple[list, list]) -> None:
    linux, ours = outcomes
    assert [c for c in ours if c not in linux] == [], [c for c in linux if c not in ours]
    assert len(ours) == len(linux)
    assert ["tcp", socket.SO_LINGER, struct.pack("ii", 1, -1).hex(), "ok", "for ever"] in ours


if __name__ == "__main__":
    print(json.dumps({"play": play, "sysctls": sysctls}[sys.argv[1]]()))
