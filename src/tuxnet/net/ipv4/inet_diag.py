"""Socket monitoring (net/ipv4/inet_diag.c, tcp_diag.c) and the text ``ss -tani`` prints from it."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from tuxnet.net.core.utils import in_ntoa
from tuxnet.net.ipv4.tcp_info import TcpInfo, tcp_get_info
from tuxnet.net.ipv4.tcp_sock import SEQ_MASK, TCP_LISTEN, TCP_STATE_NAMES, TCP_TIME_WAIT

SS_STATE = {"ESTABLISHED": "ESTAB", "SYN_SENT": "SYN-SENT", "SYN_RECV": "SYN-RECV", "FIN_WAIT1": "FIN-WAIT-1",
            "FIN_WAIT2": "FIN-WAIT-2", "TIME_WAIT": "TIME-WAIT", "CLOSE": "UNCONN", "CLOSE_WAIT": "CLOSE-WAIT",
            "LAST_ACK": "LAST-ACK", "LISTEN": "LISTEN", "CLOSING": "CLOSING", "NEW_SYN_RECV": "SYN-RECV"}


@dataclass
class DiagRecord:
    """``struct inet_diag_msg`` with the TCP_INFO attribute."""

    state: int
    local: tuple[str, int]
    peer: tuple[str, int]
    recv_q: int
    send_q: int
    info: TcpInfo | None
    ca: str
    timer: str


def inet_diag_dump(host: Any) -> list[DiagRecord]:
    """``inet_diag_dump``: every TCP socket of the host (listeners, connections, TIME_WAIT)."""
    hashinfo = host.tcp_hashinfo
    socks: list[Any] = [sk for lst in hashinfo.lhash.values() for sk in lst]
    socks += [sk for sk in hashinfo.ehash.values() if sk.sk_state != 12 and sk not in socks]
    out = []
    for sk in socks:
        local = (in_ntoa(sk.inet_rcv_saddr), sk.inet_num)
        peer = (in_ntoa(sk.inet_daddr) if sk.inet_dport else "0.0.0.0", sk.inet_dport)
        if sk.sk_state == TCP_TIME_WAIT:
            left = max(0, sk.timer.expires - host.world.now) // 1_000_000
            out.append(DiagRecord(TCP_TIME_WAIT, local, peer, 0, 0, None, "", f"timer:(timewait,{left}ms,0)"))
            continue
        if sk.sk_state == TCP_LISTEN:
            recv_q, send_q = sk.sk_ack_backlog, sk.sk_max_ack_backlog
        else:
            recv_q = (sk.rcv_nxt - sk.copied_seq) & SEQ_MASK
            send_q = (sk.write_seq - sk.snd_una) & SEQ_MASK
        timer = ""
        if sk.icsk_pending:
            left = max(0, sk.icsk_timeout - host.world.now) // 1_000_000
            kind = {1: "on", 3: "persist"}.get(sk.icsk_pending, "on")
            timer = f"timer:({kind},{left}ms,{sk.icsk_retransmits})"
        out.append(DiagRecord(sk.sk_state, local, peer, recv_q, send_q, tcp_get_info(sk),
                              sk.icsk_ca_ops.name if sk.icsk_ca_ops else "", timer))
    return out


def _tcp_info_line(r: DiagRecord) -> str:
    """The second line ``ss -i`` prints for a connection (tcp_show_info in ss.c)."""
    i = r.info
    assert i is not None
    parts = [r.ca]
    if i.tcpi_options & 4:
        parts.append(f"wscale:{i.tcpi_snd_wscale},{i.tcpi_rcv_wscale}")
    parts.append(f"rto:{i.tcpi_rto / 1000:g}")
    if i.tcpi_backoff:
        parts.append(f"backoff:{i.tcpi_backoff}")
    parts.append(f"rtt:{i.tcpi_rtt / 1000:g}/{i.tcpi_rttvar / 1000:g}")
    if i.tcpi_ato:
        parts.append(f"ato:{i.tcpi_ato / 1000:g}")
    parts += [f"mss:{i.tcpi_snd_mss}", f"pmtu:{i.tcpi_pmtu}", f"rcvmss:{i.tcpi_rcv_mss}",
              f"advmss:{i.tcpi_advmss}", f"cwnd:{i.tcpi_snd_cwnd}"]
    if i.tcpi_snd_ssthresh < 0xFFFF:
        parts.append(f"ssthresh:{i.tcpi_snd_ssthresh}")
    for name in ("bytes_sent", "bytes_retrans", "bytes_acked", "bytes_received", "segs_out", "segs_in",
                 "data_segs_out", "data_segs_in"):
        v = getattr(i, "tcpi_" + name)
        if v:
            parts.append(f"{name}:{v}")
    if i.tcpi_rtt:
        parts.append(f"send {i.tcpi_snd_cwnd * i.tcpi_snd_mss * 8 / (i.tcpi_rtt / 1e6) / 1e6:.1f}Mbps")
    parts += [f"lastsnd:{i.tcpi_last_data_sent}", f"lastrcv:{i.tcpi_last_data_recv}",
              f"lastack:{i.tcpi_last_ack_recv}"]
    if i.tcpi_unacked:
        parts.append(f"unacked:{i.tcpi_unacked}")
    if i.tcpi_retrans or i.tcpi_total_retrans:
        parts.append(f"retrans:{i.tcpi_retrans}/{i.tcpi_total_retrans}")
    if i.tcpi_lost:
        parts.append(f"lost:{i.tcpi_lost}")
    if i.tcpi_sacked:
        parts.append(f"sacked:{i.tcpi_sacked}")
    parts += [f"rcv_space:{i.tcpi_rcv_space}", f"rcv_ssthresh:{i.tcpi_rcv_ssthresh}",
              f"notsent:{i.tcpi_notsent_bytes}" if i.tcpi_notsent_bytes else "", f"snd_wnd:{i.tcpi_snd_wnd}"]
    return "\t " + " ".join(p for p in parts if p)


def format_ss(host: Any, info: bool = False, listening: bool = True) -> str:
    """``ss -tan`` (``-i`` for TCP_INFO): one line per socket, as ss prints them."""
    rows = [("State", "Recv-Q", "Send-Q", "Local Address:Port", "Peer Address:Port")]
    extra: list[str] = []
    records = [r for r in inet_diag_dump(host) if listening or r.state != TCP_LISTEN]
    for r in records:
        peer = "0.0.0.0:*" if r.state == TCP_LISTEN else f"{r.peer[0]}:{r.peer[1]}"
        rows.append((SS_STATE.get(TCP_STATE_NAMES.get(r.state, "?"), "?"), str(r.recv_q), str(r.send_q),
                     f"{r.local[0]}:{r.local[1]}", peer))
        extra.append(_tcp_info_line(r) if info and r.info is not None and r.state != TCP_LISTEN else
                     ("\t " + r.timer if info and r.timer else ""))
    widths = [max(len(row[c]) for row in rows) for c in range(5)]
    lines = []
    for n, row in enumerate(rows):
        lines.append(f"{row[0]:<{widths[0]}} {row[1]:>{widths[1]}} {row[2]:>{widths[2]}} "
                     f"{row[3]:>{widths[3]}} {row[4]:<{widths[4]}}".rstrip())
        if n and extra[n - 1]:
            lines.append(extra[n - 1])
    return "\n".join(lines) + "\n"
