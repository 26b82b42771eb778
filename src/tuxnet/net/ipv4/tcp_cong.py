"""Pluggable congestion control (net/ipv4/tcp_cong.c): ``tcp_congestion_ops`` and Reno.

An algorithm is an object with ``name``, ``ssthresh(sk)``, ``cong_avoid(sk, ack, acked)``,
``undo_cwnd(sk)``, ``init``, ``set_state``, ``cwnd_event``, ``pkts_acked``, and ``cong_control``:
None for an algorithm that reacts to acknowledged segments and losses (Reno, CUBIC), or
``cong_control(sk, ack, flag, rs)`` for one that sets cwnd and pacing itself from each delivery
rate sample (``tcp_cong_control``; BBR, which has no ``cong_avoid`` nor ``pkts_acked``).  The
optional hooks are None when an algorithm leaves them to the stack: ``min_tso_segs(sk)``
(``tcp_tso_segs``), ``sndbuf_expand(sk)`` (``tcp_sndbuf_expand``) and ``get_info(sk)`` (the
``INET_DIAG`` record ``ss -i`` prints).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from tuxnet.kernel.minmax import max, min
from tuxnet.net.ipv4.tcp_sock import TCP_CLOSE, TCP_LISTEN

if TYPE_CHECKING:
    from tuxnet.net.ipv4.tcp_sock import TcpSock

CA_EVENT_TX_START = 0
CA_EVENT_CWND_RESTART = 1
CA_EVENT_COMPLETE_CWR = 2
CA_EVENT_LOSS = 3


def tcp_in_slow_start(sk: TcpSock) -> bool:
    return sk.snd_cwnd < sk.snd_ssthresh


def tcp_is_cwnd_limited(sk: TcpSock) -> bool:
    """``tcp_is_cwnd_limited``: only grow cwnd when it is being used (RFC 7661); in slow start,
    until it is twice what was in flight (``tcp_cwnd_validate`` keeps the record)."""
    if tcp_in_slow_start(sk):
        return sk.snd_cwnd < 2 * sk.max_packets_out
    return sk.is_cwnd_limited


def tcp_slow_start(sk: TcpSock, acked: int) -> int:
    """``tcp_slow_start`` (RFC 5681 with appropriate byte counting by packets): returns leftover."""
    cwnd = min(sk.snd_cwnd + acked, sk.snd_ssthresh)
    acked -= cwnd - sk.snd_cwnd
    sk.snd_cwnd = min(cwnd, sk.snd_cwnd_clamp)
    return acked


def tcp_cong_avoid_ai(sk: TcpSock, w: int, acked: int) -> None:
    """``tcp_cong_avoid_ai``: grow by one segment every ``w`` segments acknowledged."""
    if sk.snd_cwnd_cnt >= w:
        sk.snd_cwnd_cnt = 0
        sk.snd_cwnd += 1
    sk.snd_cwnd_cnt += acked
    if sk.snd_cwnd_cnt >= w:
        delta = sk.snd_cwnd_cnt // w
        sk.snd_cwnd_cnt -= delta * w
        sk.snd_cwnd += delta
    sk.snd_cwnd = min(sk.snd_cwnd, sk.snd_cwnd_clamp)


class TcpReno:
    """``tcp_reno``: slow start, then additive increase; halve on loss (RFC 5681)."""

    name = "reno"
    cong_control = None
    min_tso_segs = None
    sndbuf_expand = None
    get_info = None

    def init(self, sk: TcpSock) -> None:
        return None

    def ssthresh(self, sk: TcpSock) -> int:
        """``tcp_reno_ssthresh``."""
        return max(sk.snd_cwnd >> 1, 2)

    def cong_avoid(self, sk: TcpSock, ack: int, acked: int) -> None:
        """``tcp_reno_cong_avoid``."""
        if not tcp_is_cwnd_limited(sk):
            return
        if tcp_in_slow_start(sk):
            acked = tcp_slow_start(sk, acked)
            if not acked:
                return
        tcp_cong_avoid_ai(sk, sk.snd_cwnd, acked)

    def undo_cwnd(self, sk: TcpSock) -> int:
        """``tcp_reno_undo_cwnd``."""
        return max(sk.snd_cwnd, sk.prior_cwnd)

    def set_state(self, sk: TcpSock, new_state: int) -> None:
        return None

    def cwnd_event(self, sk: TcpSock, event: int) -> None:
        return None

    def pkts_acked(self, sk: TcpSock, acked: int, rtt_us: int) -> None:
        return None


tcp_reno = TcpReno()

TCP_CONG_LIST: dict[str, Any] = {"reno": tcp_reno}


def tcp_register_congestion_control(ca: Any) -> None:
    """``tcp_register_congestion_control``."""
    TCP_CONG_LIST[ca.name] = ca


def tcp_ca_find(name: str) -> Any:
    return TCP_CONG_LIST.get(name)


def tcp_set_default_congestion_control(name: str) -> str | None:
    """``proc_tcp_congestion_control``'s check (``tcp_set_default_congestion_control``): the
    namespace's default must be a registered algorithm."""
    return None if tcp_ca_find(name) is not None else "No such file or directory"


def tcp_assign_congestion_control(sk: TcpSock) -> None:
    """``tcp_assign_congestion_control``: the namespace's default algorithm."""
    sk.icsk_ca_ops = tcp_ca_find(sk.host.sysctl["net.ipv4.tcp_congestion_control"]) or tcp_reno


def tcp_init_congestion_control(sk: TcpSock) -> None:
    """``tcp_init_congestion_control``: no undo to an ssthresh from before, then the algorithm's
    ``init``."""
    sk.prior_ssthresh = 0
    sk.icsk_ca_ops.init(sk)


def tcp_set_congestion_control(sk: TcpSock, name: str) -> bool:
    """``TCP_CONGESTION`` (``tcp_set_congestion_control``): switch algorithms; False for an unknown
    name.  Asking for the current one changes nothing; another starts from fresh private state
    (``tcp_reinit_congestion_control``), initialised now unless the socket is closed or
    listening (``tcp_init_transfer`` does it when the connection is established)."""
    ca = tcp_ca_find(name)
    if ca is None:
        return False
    if ca is not sk.icsk_ca_ops:
        sk.icsk_ca_ops = ca
        sk.ca_priv = None
        if sk.sk_state not in (TCP_CLOSE, TCP_LISTEN):
            tcp_init_congestion_control(sk)
    return True


# The algorithms built in, loaded after the helpers they use: CUBIC, Linux's default, and BBR
# (tcp_bbr.ko); each registers itself, as its module_init does.
import tuxnet.net.ipv4.tcp_bbr  # noqa: E402, F401
import tuxnet.net.ipv4.tcp_cubic  # noqa: E402, F401
