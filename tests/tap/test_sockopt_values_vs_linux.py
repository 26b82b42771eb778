"""The values TCP's options take and read back, judged by this machine's kernel: TCP_LINGER2
capped at 120 s, TCP_DEFER_ACCEPT kept as SYN-ACK timeouts (``secs_to_retrans``) and read back as
the seconds they cover, SO_RCVLOWAT's negative value as INT_MAX and its cap at half the largest
receive buffer, with the buffer grown to hold it (``tcp_set_rcvlowat``), TCP_MAXSEG's bounds, and
the keepalive and SYN options' limits.  Each value is set on a fresh socket; the kernel's
``tcp_rmem`` is given to tuxnet's host, as a new namespace copies the machine's."""

from __future__ import annotations

import errno
import json
import os
import socket
import sys

import pytest
from loplay import kernel_outcomes, lo_world, tuxnet_outcomes

pytestmark = pytest.mark.root

TCP, SOL = socket.IPPROTO_TCP, socket.SOL_SOCKET
CASES = (
    [(TCP, socket.TCP_LINGER2, v) for v in (-5, -1, 0, 1, 59, 60, 61, 119, 120, 121, 100000)]
    + [(TCP, socket.TCP_DEFER_ACCEPT, v) for v in (-1, 0, 1, 2, 3, 4, 7, 8, 15, 16, 45, 100, 121, 200, 1000, 100000)]
    + [(SOL, socket.SO_RCVLOWAT, v) for v in (-5, -1, 0, 1, 1000, 100000, 1 << 30, 2**31 - 1)]
    + [(TCP, socket.TCP_MAXSEG, v) for v in (-1, 0, 87, 88, 536, 32767, 32768)]
    + [(TCP, socket.TCP_KEEPIDLE, v) for v in (0, 1, 32767, 32768)]
    + [(TCP, socket.TCP_KEEPCNT, v) for v in (0, 1, 127, 128)]
    + [(TCP, socket.TCP_SYNCNT, v) for v in (0, 1, 127, 128)]
    + [(TCP, socket.TCP_WINDOW_CLAMP, v) for v in (-1, 0, 1, 100, 2000, 1 << 30)]
    + [(TCP, socket.TCP_USER_TIMEOUT, v) for v in (-1, 0, 5)]
)


def play() -> list:
    """Each case: the option, the value, "ok" or the errno's name, the value read back, and the
    receive buffer and window clamp after it."""
    out = []
    for level, opt, value in CASES:
        s = socket.socket()
        try:
            s.setsockopt(level, opt, value)
            result = "ok"
        except OSError as e:
            result = errno.errorcode[e.errno]
        out.append([opt, value, result, s.getsockopt(level, opt), s.getsockopt(SOL, socket.SO_RCVBUF),
                    s.getsockopt(TCP, socket.TCP_WINDOW_CLAMP)])
        s.close()
    return out


def test_option_values_read_back_as_on_the_kernel() -> None:
    linux = kernel_outcomes(os.path.basename(__file__), "play")
    world, host = lo_world()
    with open("/proc/sys/net/ipv4/tcp_rmem") as f:
        host.sysctl.set("net.ipv4.tcp_rmem", f.read())
    ours = tuxnet_outcomes(world, host, play)
    assert [c for c in ours if c not in linux] == [], [c for c in linux if c not in ours]


if __name__ == "__main__":
    print(json.dumps({"play": play}[sys.argv[1]]()))
