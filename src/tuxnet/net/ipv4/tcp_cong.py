"""Pluggable congestion control (net/ipv4/tcp_cong.c): ``tcp_congestion_ops`` and Reno.

An algorithm is an object with ``name``, ``ssthresh(sk)``, ``cong_avoid(sk, ack, acked)``,
``undo_cwnd(sk)``, ``init``, ``set_state``, ``cwnd_event``, ``pkts_acked``, and ``cong_control``:
None for an algorithm that reacts to acknowledged segments and losses (Reno, CUBIC), or
``cong_control(sk, ack, flag, rs)`` for one that sets cwnd and pacing itself from each delivery
rate sample (``tcp_cong_control``).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

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


def tcp_assign_congestion_control(sk: TcpSock) -> None:
    """``tcp_assign_congestion_control``: the namespace's default algorithm."""
    sk.icsk_ca_ops = tcp_ca_find(sk.host.sysctl["net.ipv4.tcp_congestion_control"]) or tcp_reno


def tcp_init_congestion_control(sk: TcpSock) -> None:
    sk.icsk_ca_ops.init(sk)


def tcp_set_congestion_control(sk: TcpSock, name: str) -> bool:
    """``TCP_CONGESTION``: switch algorithms; False for an unknown name."""
    ca = tcp_ca_find(name)
    if ca is None:
        return False
    sk.icsk_ca_ops = ca
    ca.init(sk)
    return True


from tuxnet.net.ipv4.tcp_cubic import tcp_cubic  # noqa: E402 - registers Linux's default after the helpers it uses

tcp_register_congestion_control(tcp_cubic)
