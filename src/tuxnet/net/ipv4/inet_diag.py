"""Socket monitoring (net/ipv4/inet_diag.c, tcp_diag.c): what ``ss`` (tuxnet.user.ss) reads."""

from __future__ import annotations

import struct
from dataclasses import dataclass
from typing import Any

from tuxnet.net.core.sock import sk_get_meminfo
from tuxnet.net.core.sock_diag import sock_gen_cookie
from tuxnet.net.core.utils import in_ntoa
from tuxnet.net.ipv4.tcp_info import TcpInfo, tcp_get_info
from tuxnet.net.ipv4.tcp_sock import (
    ICSK_TIME_LOSS_PROBE,
    ICSK_TIME_PROBE0,
    ICSK_TIME_REO_TIMEOUT,
    ICSK_TIME_RETRANS,
    SEQ_MASK,
    TCP_LISTEN,
    TCP_NEW_SYN_RECV,
    TCP_SYN_RECV,
    TCP_TIME_WAIT,
)

SS_STATE = {"ESTABLISHED": "ESTAB", "SYN_SENT": "SYN-SENT", "SYN_RECV": "SYN-RECV", "FIN_WAIT1": "FIN-WAIT-1",
            "FIN_WAIT2": "FIN-WAIT-2", "TIME_WAIT": "TIME-WAIT", "CLOSE": "UNCONN", "CLOSE_WAIT": "CLOSE-WAIT",
            "LAST_ACK": "LAST-ACK", "LISTEN": "LISTEN", "CLOSING": "CLOSING", "NEW_SYN_RECV": "SYN-RECV"}


@dataclass
class TcpBbrInfo:
    """``struct tcp_bbr_info`` (include/uapi/linux/inet_diag.h), the INET_DIAG_BBRINFO attribute:
    the bandwidth estimate in bytes/s (two u32 halves), min_rtt in us, the gains in 1/256."""

    bbr_bw_lo: int
    bbr_bw_hi: int
    bbr_min_rtt: int
    bbr_pacing_gain: int
    bbr_cwnd_gain: int

    def pack(self) -> bytes:
        """The struct's bytes, as getsockopt(TCP_CC_INFO) gives them."""
        return struct.pack("<5I", self.bbr_bw_lo, self.bbr_bw_hi, self.bbr_min_rtt, self.bbr_pacing_gain,
                           self.bbr_cwnd_gain)


@dataclass
class DiagRecord:
    """``struct inet_diag_msg`` with the TCP_INFO attribute, the congestion control's own
    (``get_info``: INET_DIAG_BBRINFO for BBR) and the socket's memory (INET_DIAG_SKMEMINFO,
    ``sk_get_meminfo``; none for a TIME_WAIT socket)."""

    state: int
    local: tuple[str, int]
    peer: tuple[str, int]
    recv_q: int
    send_q: int
    info: TcpInfo | None
    ca: str
    bbr_info: TcpBbrInfo | None = None
    meminfo: tuple[int, ...] | None = None
    inode: int = 0  # idiag_inode: sock_i_ino, the socket's inode (0 without one: TIME_WAIT)
    timer: int = 0  # idiag_timer: 0 none, 1 retransmit, 2 keepalive, 3 TIME_WAIT, 4 zero window probe
    expires: int = 0  # idiag_expires: ms until the timer fires
    retrans: int = 0  # idiag_retrans: retransmissions (probes for 2 and 4)
    cookie: int = 0  # idiag_cookie: sock_gen_cookie
    shutdown: int | None = None  # INET_DIAG_SHUTDOWN: sk_shutdown (none for TIME_WAIT)
    mark: int = 0  # INET_DIAG_MARK: sk_mark
    iface: int = 0  # idiag_if: the device the socket is bound to (sk_bound_dev_if), 0 for none


def sock_i_ino(sk: Any) -> int:
    """``sock_i_ino``: the inode of the socket ``sk`` belongs to, 0 when it has none."""
    sock = sk.sk_socket
    return sock.ino if sock is not None else 0


def inet_sk_diag_fill(sk: Any, peer: tuple[str, int]) -> DiagRecord:
    """``inet_sk_diag_fill`` for a socket that is not TCP's (UDP, raw): its state, addresses,
    the memory of its received datagrams (``sk_rmem_alloc``) and of its sent ones still held
    (``sk_wmem_alloc``) as its queues, its memory, inode, cookie, shutdown state and mark."""
    return DiagRecord(sk.sk_state, (in_ntoa(sk.inet_rcv_saddr), sk.inet_num), peer, sk.sk_rmem_alloc,
                      sk.sk_wmem_alloc, None, "", meminfo=sk_get_meminfo(sk), inode=sock_i_ino(sk),
                      cookie=sock_gen_cookie(sk), shutdown=sk.sk_shutdown, mark=sk.sk_mark, iface=sk.sk_bound_dev_if)


def inet_csk_timer(sk: Any) -> tuple[int, int]:
    """The timer a full TCP socket reports, as ``get_tcp4_sock`` and ``inet_sk_diag_fill`` pick it:
    (1 retransmit, the RTO's family of timers; 4 zero window probe; 2 keepalive, ``sk_timer``;
    or 0 none) and when it fires (ns; 0 for none)."""
    pending = sk.icsk_pending
    if pending in (ICSK_TIME_RETRANS, ICSK_TIME_REO_TIMEOUT, ICSK_TIME_LOSS_PROBE):
        return 1, sk.icsk_timeout
    if pending == ICSK_TIME_PROBE0:
        return 4, sk.icsk_timeout
    if sk.sk_timer is not None and sk.sk_timer.pending():
        return 2, sk.sk_timer.expires
    return 0, 0


def inet_sk_diag_timer(sk: Any, now: int) -> tuple[int, int, int]:
    """``inet_sk_diag_fill``'s timer: (idiag_timer, idiag_expires in ms, idiag_retrans: the
    retransmissions for the retransmit timer, the probes sent for the others)."""
    timer, expires = inet_csk_timer(sk)
    if not timer:
        return 0, 0, 0
    retrans = sk.icsk_retransmits if timer == 1 else sk.icsk_probes_out
    return timer, max(0, expires - now) // 1_000_000, retrans  # jiffies_delta_to_msecs


def tcp_sockets(host: Any) -> list[Any]:
    """The host's TCP sockets in the order /proc/net/tcp and inet_diag walk them: the listeners,
    then the established hash (connections, TIME_WAIT sockets and request sockets)."""
    hashinfo = host.tcp_hashinfo
    socks: list[Any] = [sk for lst in hashinfo.lhash.values() for sk in lst]
    return socks + [sk for sk in hashinfo.ehash.values() if sk not in socks]


def inet_diag_dump(host: Any) -> list[DiagRecord]:
    """``inet_diag_dump``: every TCP socket of the host (listeners, connections, TIME_WAIT
    sockets, and request sockets, shown in SYN_RECV)."""
    out = []
    for sk in tcp_sockets(host):
        local = (in_ntoa(sk.inet_rcv_saddr), sk.inet_num)
        peer = (in_ntoa(sk.inet_daddr) if sk.inet_dport else "0.0.0.0", sk.inet_dport)
        if sk.sk_state == TCP_NEW_SYN_RECV:  # inet_req_diag_fill: a SYN waiting for its last ACK
            left = max(0, sk.timer.expires - host.world.now) // 1_000_000
            out.append(DiagRecord(TCP_SYN_RECV, local, peer, 0, 0, None, "", timer=1, expires=left,
                                  retrans=sk.num_retrans, cookie=sock_gen_cookie(sk), iface=sk.sk_bound_dev_if))
            continue
        if sk.sk_state == TCP_TIME_WAIT:  # inet_twsk_diag_fill
            left = max(0, sk.timer.expires - host.world.now) // 1_000_000
            out.append(DiagRecord(TCP_TIME_WAIT, local, peer, 0, 0, None, "", timer=3, expires=left,
                                  cookie=sock_gen_cookie(sk), iface=sk.sk_bound_dev_if))
            continue
        if sk.sk_state == TCP_LISTEN:
            recv_q, send_q = sk.sk_ack_backlog, sk.sk_max_ack_backlog
        else:
            recv_q = (sk.rcv_nxt - sk.copied_seq) & SEQ_MASK
            send_q = (sk.write_seq - sk.snd_una) & SEQ_MASK
        timer, expires, retrans = inet_sk_diag_timer(sk, host.world.now)
        ca_ops = sk.icsk_ca_ops
        get_info = ca_ops.get_info if ca_ops else None
        out.append(DiagRecord(sk.sk_state, local, peer, recv_q, send_q, tcp_get_info(sk),
                              ca_ops.name if ca_ops else "", get_info(sk) if get_info is not None else None,
                              sk_get_meminfo(sk), sock_i_ino(sk), timer, expires, retrans, sock_gen_cookie(sk),
                              sk.sk_shutdown, sk.sk_mark, sk.sk_bound_dev_if))
    return out
