"""TCP output (net/ipv4/tcp_output.c).

``tcp_write_xmit`` sends what the congestion window, the peer's window and Nagle allow;
``tcp_transmit_skb`` builds the header and options of one segment (a fresh buffer whose payload
is copied from the queued segment, as the clone-and-push of the kernel gives) and hands it to
``ip_queue_xmit``.
"""

from __future__ import annotations

import struct
from typing import TYPE_CHECKING

from tuxnet.kernel.compiler import notrace
from tuxnet.net.core.checksum import csum_tcpudp_nofold
from tuxnet.net.core.skbuff import CHECKSUM_PARTIAL, SkBuff, alloc_skb
from tuxnet.net.ipv4.ip_output import IPPROTO_TCP, ip_queue_xmit
from tuxnet.net.ipv4.tcp_sock import (
    ICSK_ACK_SCHED,
    ICSK_ACK_TIMER,
    ICSK_TIME_PROBE0,
    ICSK_TIME_RETRANS,
    MAX_TCP_HEADER,
    SEQ_MASK,
    TCP_ATO_MIN,
    TCP_CLOSE,
    TCP_DELACK_MAX,
    TCP_DELACK_MIN,
    TCP_INIT_CWND,
    TCP_MSS_DEFAULT,
    TCP_NAGLE_CORK,
    TCP_NAGLE_OFF,
    TCP_NAGLE_PUSH,
    TCP_RTO_MAX,
    TCP_RTO_MIN,
    TCP_TIMEOUT_INIT,
    TCPCB_EVER_RETRANS,
    TCPCB_LOST,
    TCPCB_SACKED_ACKED,
    TCPCB_SACKED_RETRANS,
    TCPHDR_ACK,
    TCPHDR_FIN,
    TCPHDR_PSH,
    TCPHDR_RST,
    TCPHDR_SYN,
    TCPOLEN_TSTAMP_ALIGNED,
    TCP_CA_Loss,
    TcpSock,
    after,
    before,
)

if TYPE_CHECKING:
    from tuxnet.net.ipv4.tcp_minisocks import RequestSock

_tcphdr = struct.Struct("!HHIIHHHH")
_u32 = struct.Struct("!I")
_u16 = struct.Struct("!H")

# Option words in Linux's order (tcp_options_write).
_OPT_MSS = 0x02040000
_OPT_SACKPERM_TS = 0x0402080A
_OPT_NOP_NOP_TS = 0x0101080A
_OPT_NOP_NOP_SACKPERM = 0x01010402
_OPT_NOP_WSCALE = 0x01030300
_OPT_NOP_NOP_SACK = 0x01010500


@notrace
def tcp_time_stamp(sk: TcpSock) -> int:
    """``tcp_time_stamp_ts``: the millisecond TSval clock plus the connection's offset."""
    return (sk.host.world.now // 1_000_000 + sk.tsoffset) & SEQ_MASK


# -- options ---------------------------------------------------------------------------------

def tcp_options_write(mss: int = 0, ts: tuple[int, int] | None = None, sack_perm: bool = False,
                      wscale: int = -1, sacks: list[tuple[int, int]] | None = None) -> bytes:
    """``tcp_options_write``: the option words, laid out exactly as Linux lays them out."""
    words: list[int] = []
    if mss:
        words.append(_OPT_MSS | mss)
    if ts is not None:
        if sack_perm:
            words.append(_OPT_SACKPERM_TS)
            sack_perm = False
        else:
            words.append(_OPT_NOP_NOP_TS)
        words.append(ts[0] & SEQ_MASK)
        words.append(ts[1] & SEQ_MASK)
    if sack_perm:
        words.append(_OPT_NOP_NOP_SACKPERM)
    if wscale >= 0:
        words.append(_OPT_NOP_WSCALE | wscale)
    if sacks:
        words.append(_OPT_NOP_NOP_SACK | (2 + 8 * len(sacks)))
        for start, end in sacks:
            words.append(start & SEQ_MASK)
            words.append(end & SEQ_MASK)
    return struct.pack(f"!{len(words)}I", *words)


def tcp_syn_options(sk: TcpSock) -> bytes:
    """``tcp_syn_options``: MSS, then timestamps, SACK-permitted and window scale as enabled."""
    opt = sk.rx_opt
    ts = (tcp_time_stamp(sk), opt.ts_recent) if opt.tstamp_ok else None
    return tcp_options_write(mss=sk.advmss, ts=ts, sack_perm=opt.sack_ok,
                             wscale=opt.rcv_wscale if opt.wscale_ok else -1)


def tcp_established_options(sk: TcpSock) -> bytes:
    """``tcp_established_options``: timestamps, then SACK blocks (D-SACK first) that fit."""
    opt = sk.rx_opt
    ts = (tcp_time_stamp(sk), opt.ts_recent) if opt.tstamp_ok else None
    sacks = None
    if opt.sack_ok and (sk.duplicate_sack or sk.selective_acks):
        room = (40 - (TCPOLEN_TSTAMP_ALIGNED if ts else 0) - 4) // 8
        sacks = (sk.duplicate_sack + sk.selective_acks)[:room]
    if ts is None and not sacks:
        return b""
    return tcp_options_write(ts=ts, sacks=sacks)


# -- windows ---------------------------------------------------------------------------------

def tcp_win_from_space(sk: TcpSock, space: int) -> int:
    """``tcp_win_from_space``: the part of buffer space offered as window (``tcp_adv_win_scale``)."""
    scale = sk.host.sysctl["net.ipv4.tcp_adv_win_scale"]
    return space - (space >> scale) if scale > 0 else space >> -scale


def tcp_space(sk: TcpSock) -> int:
    return tcp_win_from_space(sk, sk.sk_rcvbuf - sk.sk_rmem_alloc)


def tcp_full_space(sk: TcpSock) -> int:
    return tcp_win_from_space(sk, sk.sk_rcvbuf)


def tcp_select_initial_window(sk: TcpSock, space: int, mss: int, wscale_ok: bool) -> tuple[int, int, int]:
    """``tcp_select_initial_window``: (rcv_wnd, window_clamp, rcv_wscale)."""
    window_clamp = sk.window_clamp or (0xFFFF << 14)
    space = min(window_clamp, max(space, 0))
    if space > mss:
        space -= space % mss
    rcv_wnd = space
    rcv_wscale = 0
    if wscale_ok:
        sysctl = sk.host.sysctl
        big = max(space, sysctl["net.ipv4.tcp_rmem"][2], sysctl["net.core.rmem_max"])
        big = min(big, window_clamp)
        rcv_wscale = max(0, min(big.bit_length() - 1 - 15, 14))
    window_clamp = min(0xFFFF << rcv_wscale, window_clamp)
    return rcv_wnd, window_clamp, rcv_wscale


def __tcp_select_window(sk: TcpSock) -> int:
    """``__tcp_select_window``: the window to offer now (receiver-side silly window avoidance)."""
    mss = sk.icsk_ack.rcv_mss
    free_space = tcp_space(sk)
    full_space = min(sk.window_clamp, tcp_full_space(sk))
    if mss > full_space:
        mss = max(full_space, 1)
    if free_space < full_space // 2:
        sk.icsk_ack.quick = 0
        if free_space < mss:
            return 0
    if free_space > sk.rcv_ssthresh:
        free_space = sk.rcv_ssthresh
    window = sk.rcv_wnd
    if sk.rx_opt.rcv_wscale:
        window = free_space
        unit = 1 << sk.rx_opt.rcv_wscale
        if window & (unit - 1):
            window = ((window >> sk.rx_opt.rcv_wscale) + 1) << sk.rx_opt.rcv_wscale
            if window > free_space + unit:
                window -= unit
        return window
    if window <= free_space - mss or window > free_space:
        window = (free_space // mss) * mss
    elif mss == full_space and free_space > window + (full_space >> 1):
        window = free_space
    return window


def tcp_select_window(sk: TcpSock) -> int:
    """``tcp_select_window``: never shrink what was offered; returns the header's field value."""
    old_win = sk.rcv_wnd
    cur_win = sk.rcv_wup + sk.rcv_wnd - sk.rcv_nxt
    if cur_win < 0:
        cur_win = 0
    new_win = __tcp_select_window(sk)
    if new_win < cur_win:
        unit = 1 << sk.rx_opt.rcv_wscale
        new_win = (cur_win + unit - 1) // unit * unit
    sk.rcv_wnd = new_win
    sk.rcv_wup = sk.rcv_nxt
    if not sk.rx_opt.rcv_wscale:
        new_win = min(new_win, 0xFFFF)
    else:
        new_win = min(new_win, 0xFFFF << sk.rx_opt.rcv_wscale)
    new_win >>= sk.rx_opt.rcv_wscale
    if new_win == 0 and old_win:
        sk.host.mib.TcpExt["TCPToZeroWindowAdv"] += 1
    elif old_win == 0 and new_win:
        sk.host.mib.TcpExt["TCPFromZeroWindowAdv"] += 1
    return new_win


# -- MSS -------------------------------------------------------------------------------------

def tcp_mtu_to_mss(sk: TcpSock, pmtu: int) -> int:
    """``tcp_mtu_to_mss``: the largest payload for a path MTU, options of this connection included."""
    mss_now = pmtu - 20 - 20
    if sk.rx_opt.mss_clamp and mss_now > sk.rx_opt.mss_clamp:
        mss_now = sk.rx_opt.mss_clamp
    mss_now -= sk.tcp_header_len - 20
    return max(mss_now, sk.host.sysctl["net.ipv4.tcp_min_snd_mss"])


def tcp_bound_to_half_wnd(sk: TcpSock, pktsize: int) -> int:
    """``tcp_bound_to_half_wnd``: no segment larger than half the peer's largest window."""
    cutoff = sk.max_window >> 1 if sk.max_window > TCP_MSS_DEFAULT else sk.max_window
    if cutoff and pktsize > cutoff:
        return max(cutoff, 68 - sk.tcp_header_len)
    return pktsize


def tcp_sync_mss(sk: TcpSock, pmtu: int) -> int:
    """``tcp_sync_mss``: recompute ``mss_cache`` for the path MTU."""
    sk.pmtu_cookie = pmtu
    mss_now = tcp_bound_to_half_wnd(sk, tcp_mtu_to_mss(sk, pmtu))
    sk.mss_cache = mss_now
    return mss_now


def tcp_current_mss(sk: TcpSock) -> int:
    """``tcp_current_mss``: ``mss_cache`` less the room SACK blocks take now."""
    mss_now = sk.mss_cache
    rt = sk.dst_cache
    if rt is not None:
        mtu = rt.mtu or rt.dev.mtu
        if mtu != sk.pmtu_cookie:
            mss_now = tcp_sync_mss(sk, mtu)
    if sk.duplicate_sack or sk.selective_acks:
        header_len = 20 + len(tcp_established_options(sk))
        if header_len != sk.tcp_header_len:
            mss_now -= header_len - sk.tcp_header_len
    return mss_now


# -- sending one segment -----------------------------------------------------------------------

def tcp_v4_send_check(skb: SkBuff, saddr: int, daddr: int) -> None:
    """``__tcp_v4_send_check``: leave the checksum partial, seeded with the pseudo-header."""
    d = skb.transport_header
    length = skb.tail - d
    _u16.pack_into(skb.buf, d + 16, csum_tcpudp_nofold(saddr, daddr, length, IPPROTO_TCP))
    skb.ip_summed = CHECKSUM_PARTIAL
    skb.csum_start = d
    skb.csum_offset = 16


def tcp_transmit_skb(sk: TcpSock, skb: SkBuff, clone_it: bool = True) -> int:
    """``tcp_transmit_skb``: header, options, checksum, then ``ip_queue_xmit``."""
    flags = skb.tcp_flags
    if flags & TCPHDR_SYN:
        opts = tcp_syn_options(sk)
    else:
        opts = tcp_established_options(sk)
    th_len = 20 + len(opts)
    plen = skb.tail - skb.data
    n = alloc_skb(th_len + plen, MAX_TCP_HEADER)
    d = n.data
    n.tail = d + th_len + plen
    buf = n.buf
    if plen:
        buf[d + th_len:d + th_len + plen] = memoryview(skb.buf)[skb.data:skb.tail]
    if flags & TCPHDR_SYN:
        window = min(sk.rcv_wnd, 0xFFFF)
    else:
        window = tcp_select_window(sk)
    ack_seq = sk.rcv_nxt if flags & TCPHDR_ACK else 0
    _tcphdr.pack_into(buf, d, sk.inet_sport, sk.inet_dport, skb.seq, ack_seq,
                      (th_len << 10) | flags, window, 0, 0)
    if opts:
        buf[d + 20:d + th_len] = opts
    n.transport_header = d
    n.sk = sk
    n.seq = skb.seq
    n.end_seq = skb.end_seq
    n.tcp_flags = flags
    tcp_v4_send_check(n, sk.inet_saddr, sk.inet_daddr)
    if flags & TCPHDR_ACK:
        tcp_event_ack_sent(sk)
    if plen:
        tcp_event_data_sent(sk)
        sk.data_segs_out += 1
        sk.bytes_sent += plen
    sk.segs_out += 1
    sk.host.mib.Tcp["OutSegs"] += 1
    if flags & TCPHDR_RST:
        sk.host.mib.Tcp["OutRsts"] += 1
    skb.skb_mstamp = sk.host.world.now
    return ip_queue_xmit(sk.host, sk, n)


def tcp_event_ack_sent(sk: TcpSock) -> None:
    """``tcp_event_ack_sent``: an ACK went out, so the delayed ACK is no longer due."""
    ack = sk.icsk_ack
    if ack.quick:
        ack.quick -= 1
        if not ack.quick:
            ack.ato = TCP_ATO_MIN
    ack.pending = 0
    sk.icsk_delack_timer.delete()


def tcp_event_data_sent(sk: TcpSock) -> None:
    """``tcp_event_data_sent``: restart after idle; answering soon after receiving means an
    interactive (ping-pong) connection."""
    now = sk.host.world.now
    if (sk.host.sysctl["net.ipv4.tcp_slow_start_after_idle"] and not sk.packets_out
            and sk.lsndtime and now - sk.lsndtime > sk.icsk_rto):
        tcp_cwnd_restart(sk, now - sk.lsndtime)
    sk.lsndtime = now
    if now - sk.icsk_ack.lrcvtime < sk.icsk_ack.ato:
        sk.icsk_ack.pingpong = 1


def tcp_cwnd_restart(sk: TcpSock, delta: int) -> None:
    """``tcp_cwnd_restart`` (RFC 5681 section 4.1): halve cwnd per RTO of idleness."""
    restart_cwnd = min(TCP_INIT_CWND, sk.snd_cwnd)
    cwnd = sk.snd_cwnd
    sk.snd_ssthresh = max(sk.snd_ssthresh, (3 * cwnd) >> 2)
    rto = max(sk.icsk_rto, 1)
    while delta > rto and cwnd > restart_cwnd:
        delta -= rto
        cwnd >>= 1
    sk.snd_cwnd = max(cwnd, restart_cwnd)
    sk.snd_cwnd_cnt = 0


def tcp_event_new_data_sent(sk: TcpSock, skb: SkBuff) -> None:
    """``tcp_event_new_data_sent``: the segment moves to the retransmit queue; arm the RTO."""
    sk.sk_write_queue.popleft()
    sk.tcp_rtx_queue.append(skb)
    prior_packets = sk.packets_out
    sk.snd_nxt = skb.end_seq
    sk.packets_out += 1
    if not prior_packets or sk.icsk_pending == ICSK_TIME_PROBE0:
        tcp_rearm_rto(sk)
    sk.host.mib.TcpExt["TCPOrigDataSent"] += 1


# -- the write loop --------------------------------------------------------------------------

@notrace
def tcp_packets_in_flight(sk: TcpSock) -> int:
    return sk.packets_out - (sk.sacked_out + sk.lost_out) + sk.retrans_out


def tcp_cwnd_test(sk: TcpSock) -> int:
    """``tcp_cwnd_test``: how many more segments the congestion window allows."""
    in_flight = tcp_packets_in_flight(sk)
    return sk.snd_cwnd - in_flight if in_flight < sk.snd_cwnd else 0


def tcp_snd_wnd_test(sk: TcpSock, skb: SkBuff, cur_mss: int) -> bool:
    """``tcp_snd_wnd_test``: does the first MSS of ``skb`` fit in the peer's window?"""
    end_seq = skb.end_seq
    if skb.tail - skb.data > cur_mss:
        end_seq = (skb.seq + cur_mss) & SEQ_MASK
    return not after(end_seq, (sk.snd_una + sk.snd_wnd) & SEQ_MASK)


@notrace
def tcp_minshall_check(sk: TcpSock) -> bool:
    return after(sk.snd_sml, sk.snd_una) and not after(sk.snd_sml, sk.snd_nxt)


def tcp_nagle_check(partial: bool, sk: TcpSock, nonagle: int) -> bool:
    """``tcp_nagle_check``: True means hold a small segment back (RFC 896, Minshall's variant)."""
    return partial and bool((nonagle & TCP_NAGLE_CORK) or (not nonagle and sk.packets_out
                                                           and tcp_minshall_check(sk)))


def tcp_nagle_test(sk: TcpSock, skb: SkBuff, cur_mss: int, nonagle: int) -> bool:
    """``tcp_nagle_test``: may ``skb`` go now?"""
    if nonagle & TCP_NAGLE_PUSH:
        return True
    if skb.tcp_flags & TCPHDR_FIN:
        return True
    return not tcp_nagle_check(skb.tail - skb.data < cur_mss, sk, nonagle)


def tcp_fragment(sk: TcpSock, skb: SkBuff, length: int) -> SkBuff:
    """``tcp_fragment``: split a queued segment after ``length`` bytes; returns the tail part,
    queued right after ``skb``."""
    buff = SkBuff(bytearray(skb.buf[skb.data + length:skb.tail]))
    skb.tail = skb.data + length
    del skb.buf[skb.tail:]
    skb.end = skb.tail
    buff.seq = (skb.seq + length) & SEQ_MASK
    buff.end_seq = skb.end_seq
    skb.end_seq = buff.seq
    flags = skb.tcp_flags
    skb.tcp_flags = flags & ~(TCPHDR_FIN | TCPHDR_PSH)
    buff.tcp_flags = flags
    buff.sacked = skb.sacked
    buff.skb_mstamp = skb.skb_mstamp
    return buff


def tcp_mark_push(sk: TcpSock, skb: SkBuff) -> None:
    skb.tcp_flags |= TCPHDR_PSH
    sk.pushed_seq = sk.write_seq


def tcp_write_xmit(sk: TcpSock, mss_now: int, nonagle: int, push_one: int) -> bool:
    """``tcp_write_xmit``: send queued segments within cwnd, the peer's window and Nagle.

    Returns True when nothing is in flight yet something waits (the caller arms the probe timer)."""
    queue = sk.sk_write_queue
    sent = 0
    while queue:
        skb = queue[0]
        if not tcp_cwnd_test(sk):
            break
        if not tcp_snd_wnd_test(sk, skb, mss_now):
            break
        last = len(queue) == 1
        if not tcp_nagle_test(sk, skb, mss_now, nonagle if last else TCP_NAGLE_PUSH):
            break
        if skb.tail - skb.data > mss_now:
            queue.insert(1, tcp_fragment(sk, skb, mss_now))
        skb.skb_mstamp = sk.host.world.now
        if tcp_transmit_skb(sk, skb) < 0:
            break
        if skb.tail - skb.data < mss_now:
            sk.snd_sml = skb.end_seq
        tcp_event_new_data_sent(sk, skb)
        sent += 1
        if push_one:
            break
    return not sk.packets_out and bool(queue)


def tcp_check_probe_timer(sk: TcpSock) -> None:
    """``tcp_check_probe_timer``: arm the persist timer when data waits with nothing in flight."""
    if not sk.packets_out and sk.icsk_pending == 0:
        inet_csk_reset_xmit_timer(sk, ICSK_TIME_PROBE0, tcp_probe0_base(sk))


def __tcp_push_pending_frames(sk: TcpSock, cur_mss: int, nonagle: int) -> None:
    """``__tcp_push_pending_frames``."""
    if sk.sk_state == TCP_CLOSE:
        return
    if tcp_write_xmit(sk, cur_mss, nonagle, 0):
        tcp_check_probe_timer(sk)


def tcp_push_pending_frames(sk: TcpSock) -> None:
    if sk.sk_write_queue:
        __tcp_push_pending_frames(sk, tcp_current_mss(sk), sk.nonagle)


def tcp_push_one(sk: TcpSock, mss_now: int) -> None:
    """``tcp_push_one``: send just the head segment."""
    tcp_write_xmit(sk, mss_now, TCP_NAGLE_PUSH, 1)


# -- retransmission --------------------------------------------------------------------------

def tcp_probe0_base(sk: TcpSock) -> int:
    """``tcp_probe0_base``: the persist timer starts from the RTO (at least 200 ms)."""
    return max(sk.icsk_rto, TCP_RTO_MIN)


def inet_csk_reset_xmit_timer(sk: TcpSock, what: int, when: int) -> None:
    """``inet_csk_reset_xmit_timer``: arm the retransmit timer for ``what`` in ``when`` ns."""
    when = min(when, TCP_RTO_MAX)
    sk.icsk_pending = what
    sk.icsk_timeout = sk.host.world.now + when
    sk.icsk_retransmit_timer.mod(sk.icsk_timeout)


def inet_csk_clear_xmit_timer(sk: TcpSock) -> None:
    sk.icsk_pending = 0
    sk.icsk_retransmit_timer.delete()


def tcp_rearm_rto(sk: TcpSock) -> None:
    """``tcp_rearm_rto``: restart the RTO from now, or stop it when nothing is in flight."""
    if not sk.packets_out:
        inet_csk_clear_xmit_timer(sk)
    else:
        inet_csk_reset_xmit_timer(sk, ICSK_TIME_RETRANS, sk.icsk_rto)


def tcp_retransmit_skb(sk: TcpSock, skb: SkBuff) -> int:
    """``tcp_retransmit_skb``: send a queued segment again (trimming what was acknowledged)."""
    if before(skb.seq, sk.snd_una):
        cut = (sk.snd_una - skb.seq) & SEQ_MASK
        if cut >= skb.tail - skb.data and not skb.tcp_flags & (TCPHDR_SYN | TCPHDR_FIN):
            return -1
        cut = min(cut, skb.tail - skb.data)
        skb.data += cut
        skb.seq = (skb.seq + cut) & SEQ_MASK
    cur_mss = tcp_current_mss(sk)
    if skb.tail - skb.data > cur_mss:
        rtx = sk.tcp_rtx_queue
        idx = rtx.index(skb)
        rtx.insert(idx + 1, tcp_fragment(sk, skb, cur_mss))
        sk.packets_out += 1
    first_sent = skb.skb_mstamp
    err = tcp_transmit_skb(sk, skb)
    if err < 0:
        return err
    if not skb.sacked & TCPCB_SACKED_RETRANS:
        sk.retrans_out += 1
    skb.sacked |= TCPCB_SACKED_RETRANS | TCPCB_EVER_RETRANS
    skb.tx_count += 1
    sk.total_retrans += 1
    sk.bytes_retrans += skb.tail - skb.data
    sk.host.mib.Tcp["RetransSegs"] += 1
    if skb.tcp_flags & TCPHDR_SYN:
        sk.host.mib.TcpExt["TCPSynRetrans"] += 1
    if sk.retrans_stamp < 0:
        sk.retrans_stamp = first_sent
    return 0


def tcp_xmit_retransmit_queue(sk: TcpSock) -> None:
    """``tcp_xmit_retransmit_queue``: resend segments marked lost while cwnd allows."""
    if not sk.lost_out:
        return
    for skb in list(sk.tcp_rtx_queue):
        if tcp_packets_in_flight(sk) >= sk.snd_cwnd:
            break
        sacked = skb.sacked
        if sacked & (TCPCB_SACKED_ACKED | TCPCB_SACKED_RETRANS) or not sacked & TCPCB_LOST:
            continue
        if tcp_retransmit_skb(sk, skb) < 0:
            break
        if skb is sk.tcp_rtx_queue[0]:
            inet_csk_reset_xmit_timer(sk, ICSK_TIME_RETRANS, sk.icsk_rto)


def tcp_simple_retransmit(sk: TcpSock, mtu: int) -> None:
    """``tcp_v4_mtu_reduced`` → ``tcp_simple_retransmit``: the path MTU shrank (RFC 1191), so
    resend at once every segment that no longer fits."""
    mss = tcp_sync_mss(sk, mtu)
    for skb in sk.tcp_rtx_queue:
        if skb.tail - skb.data > mss and not skb.sacked & TCPCB_LOST:
            skb.sacked |= TCPCB_LOST
            if skb.sacked & TCPCB_SACKED_RETRANS:
                skb.sacked &= ~TCPCB_SACKED_RETRANS
                sk.retrans_out -= 1
            sk.lost_out += 1
    if not sk.lost_out:
        return
    if sk.icsk_ca_state != TCP_CA_Loss:
        sk.high_seq = sk.snd_nxt
        sk.prior_ssthresh = 0
        sk.icsk_ca_state = TCP_CA_Loss
    tcp_xmit_retransmit_queue(sk)


# -- control segments ------------------------------------------------------------------------

def tcp_control_skb(seq: int, flags: int) -> SkBuff:
    """An empty segment for SYN/FIN/RST/ACK (``tcp_init_nondata_skb``)."""
    skb = SkBuff(bytearray(), 0, 0)
    skb.seq = seq
    skb.end_seq = (seq + (1 if flags & (TCPHDR_SYN | TCPHDR_FIN) else 0)) & SEQ_MASK
    skb.tcp_flags = flags
    return skb


def tcp_send_ack(sk: TcpSock) -> None:
    """``tcp_send_ack``: a pure ACK now."""
    if sk.sk_state == TCP_CLOSE:
        return
    tcp_transmit_skb(sk, tcp_control_skb(sk.snd_nxt, TCPHDR_ACK), False)


def tcp_send_delayed_ack(sk: TcpSock) -> None:
    """``tcp_send_delayed_ack``: arm the delayed-ACK timer (40 ms up to 200 ms, or the RTT)."""
    ack = sk.icsk_ack
    ato = ack.ato
    if ato > TCP_DELACK_MIN:
        max_ato = 500_000_000
        if ack.pingpong or ack.pending & 4:
            max_ato = TCP_DELACK_MAX
        if sk.srtt_us:
            rtt = max((sk.srtt_us >> 3) * 1000, TCP_DELACK_MIN)
            if rtt < max_ato:
                max_ato = rtt
        ato = min(ato, max_ato)
    now = sk.host.world.now
    timeout = now + ato
    if ack.pending & ICSK_ACK_TIMER:
        if ack.timeout <= now + (ato >> 2):
            tcp_send_ack(sk)
            return
        timeout = min(timeout, ack.timeout)
    ack.pending |= ICSK_ACK_SCHED | ICSK_ACK_TIMER
    ack.timeout = timeout
    sk.icsk_delack_timer.mod(timeout)


def tcp_send_fin(sk: TcpSock) -> None:
    """``tcp_send_fin``: put FIN on the last unsent segment, or queue a bare FIN, and push."""
    queue = sk.sk_write_queue
    if queue:
        tail = queue[-1]
        tail.tcp_flags |= TCPHDR_FIN
        tail.end_seq = (tail.end_seq + 1) & SEQ_MASK
    else:
        skb = tcp_control_skb(sk.write_seq, TCPHDR_ACK | TCPHDR_FIN)
        queue.append(skb)
    sk.write_seq = (sk.write_seq + 1) & SEQ_MASK
    __tcp_push_pending_frames(sk, tcp_current_mss(sk), TCP_NAGLE_OFF)


def tcp_send_active_reset(sk: TcpSock) -> None:
    """``tcp_send_active_reset``: RST with the next sequence number (abort, RFC 793)."""
    skb = tcp_control_skb(sk.snd_nxt, TCPHDR_ACK | TCPHDR_RST)
    tcp_transmit_skb(sk, skb, False)


def tcp_send_synack(sk: TcpSock) -> None:
    """``tcp_send_synack``: simultaneous open answers a SYN with SYN-ACK from SYN_SENT state."""
    skb = sk.tcp_rtx_queue[0] if sk.tcp_rtx_queue else None
    if skb is None:
        return
    skb.tcp_flags = TCPHDR_SYN | TCPHDR_ACK
    tcp_transmit_skb(sk, skb)


# -- connection set-up -----------------------------------------------------------------------

def tcp_connect_init(sk: TcpSock) -> None:
    """``tcp_connect_init``: header length, MSS, initial windows and scale for an active open."""
    sysctl = sk.host.sysctl
    opt = sk.rx_opt
    opt.tstamp_ok = bool(sysctl["net.ipv4.tcp_timestamps"])
    opt.sack_ok = bool(sysctl["net.ipv4.tcp_sack"])
    opt.wscale_ok = bool(sysctl["net.ipv4.tcp_window_scaling"])
    sk.tcp_header_len = 20 + (TCPOLEN_TSTAMP_ALIGNED if opt.tstamp_ok else 0)
    if opt.user_mss:
        opt.mss_clamp = opt.user_mss
    sk.max_window = 0
    mtu = sk.dst_cache.mtu or sk.dst_cache.dev.mtu
    sk.advmss = tcp_advmss(sk, mtu)
    tcp_sync_mss(sk, mtu)
    tcp_initialize_rcv_mss(sk)
    rcv_wnd, clamp, wscale = tcp_select_initial_window(
        sk, tcp_full_space(sk), sk.advmss - (sk.tcp_header_len - 20 if opt.ts_recent_stamp else 0), opt.wscale_ok)
    sk.rcv_wnd = rcv_wnd
    sk.window_clamp = clamp
    opt.rcv_wscale = wscale
    sk.rcv_ssthresh = rcv_wnd
    sk.snd_wnd = 0
    sk.snd_una = sk.write_seq
    sk.snd_sml = sk.write_seq
    sk.snd_up = sk.write_seq
    sk.snd_nxt = sk.write_seq
    sk.rcv_nxt = 0
    sk.rcv_wup = 0
    sk.copied_seq = 0
    sk.icsk_rto = TCP_TIMEOUT_INIT
    sk.icsk_retransmits = 0


def tcp_advmss(sk: TcpSock, mtu: int) -> int:
    """``ipv4_default_advmss``: the MSS we announce, capped by IP's 65535-byte maximum."""
    advmss = max(mtu - 40, 256)
    advmss = min(advmss, 65535 - 40)
    if sk.rx_opt.user_mss and sk.rx_opt.user_mss < advmss:
        advmss = sk.rx_opt.user_mss
    return advmss


def tcp_initialize_rcv_mss(sk: TcpSock) -> None:
    """``tcp_initialize_rcv_mss``: a first guess at the peer's segment size."""
    hint = min(sk.advmss, sk.mss_cache)
    hint = min(hint, sk.rcv_wnd // 2) if sk.rcv_wnd else hint
    sk.icsk_ack.rcv_mss = max(min(hint, TCP_MSS_DEFAULT), 88)


def tcp_connect(sk: TcpSock) -> int:
    """``tcp_connect``: send the SYN and arm its retransmission."""
    tcp_connect_init(sk)
    skb = tcp_control_skb(sk.write_seq, TCPHDR_SYN)
    sk.write_seq = (sk.write_seq + 1) & SEQ_MASK
    sk.retrans_stamp = sk.host.world.now
    sk.sk_write_queue.append(skb)
    tcp_transmit_skb(sk, skb)
    tcp_event_new_data_sent(sk, skb)
    sk.pushed_seq = sk.write_seq
    sk.host.mib.Tcp["ActiveOpens"] += 1
    inet_csk_reset_xmit_timer(sk, ICSK_TIME_RETRANS, sk.icsk_rto)
    return 0


def tcp_make_synack(sk: TcpSock, req: RequestSock) -> SkBuff:
    """``tcp_make_synack``: the SYN-ACK of a request socket (``tcp_synack_options`` order)."""
    ts = (req.ts_now(), req.ts_recent) if req.tstamp_ok else None
    opts = tcp_options_write(mss=req.mss, ts=ts, sack_perm=req.sack_ok,
                             wscale=req.rcv_wscale if req.wscale_ok else -1)
    th_len = 20 + len(opts)
    skb = alloc_skb(th_len, MAX_TCP_HEADER)
    d = skb.data
    skb.put(th_len)
    _tcphdr.pack_into(skb.buf, d, req.loc_port, req.rmt_port, req.snt_isn, (req.rcv_isn + 1) & SEQ_MASK,
                      (th_len << 10) | TCPHDR_SYN | TCPHDR_ACK, min(req.rcv_wnd, 0xFFFF), 0, 0)
    skb.buf[d + 20:d + th_len] = opts
    skb.transport_header = d
    tcp_v4_send_check(skb, req.loc_addr, req.rmt_addr)
    return skb


# -- zero window probes ----------------------------------------------------------------------

def tcp_xmit_probe_skb(sk: TcpSock, urgent: bool) -> int:
    """``tcp_xmit_probe_skb``: an ACK with an old sequence number, which the peer must answer."""
    seq = (sk.snd_una - (0 if urgent else 1)) & SEQ_MASK
    return tcp_transmit_skb(sk, tcp_control_skb(seq, TCPHDR_ACK), False)


def tcp_write_wakeup(sk: TcpSock) -> int:
    """``tcp_write_wakeup``: send new data if the window opened, else a window probe."""
    if sk.sk_state == TCP_CLOSE:
        return -1
    skb = sk.tcp_send_head()
    if skb is not None and before(skb.seq, (sk.snd_una + sk.snd_wnd) & SEQ_MASK):
        mss = tcp_current_mss(sk)
        seg_size = min((sk.snd_una + sk.snd_wnd - skb.seq) & SEQ_MASK, mss)
        if seg_size < skb.tail - skb.data:
            sk.sk_write_queue.insert(1, tcp_fragment(sk, skb, seg_size))
        skb.tcp_flags |= TCPHDR_PSH
        err = tcp_transmit_skb(sk, skb)
        if err == 0:
            tcp_event_new_data_sent(sk, skb)
        return err
    sk.host.mib.TcpExt["TCPWinProbe"] += 1
    return tcp_xmit_probe_skb(sk, False)


def tcp_send_probe0(sk: TcpSock) -> None:
    """``tcp_send_probe0``: probe a zero window, backing off while it stays shut."""
    err = tcp_write_wakeup(sk)
    if sk.packets_out or not sk.sk_write_queue:
        sk.icsk_probes_out = 0
        sk.icsk_backoff = 0
        return
    sk.icsk_probes_out += 1
    if err <= 0:
        if sk.icsk_backoff < 15:
            sk.icsk_backoff += 1
        timeout = min(tcp_probe0_base(sk) << sk.icsk_backoff, TCP_RTO_MAX)
    else:
        timeout = 500_000_000
    inet_csk_reset_xmit_timer(sk, ICSK_TIME_PROBE0, timeout)


def tcp_sndbuf_expand(sk: TcpSock) -> None:
    """``tcp_sndbuf_expand``: room for two congestion windows of full segments."""
    if sk.sk_userlocks & 1:
        return
    per_mss = sk.mss_cache + MAX_TCP_HEADER + 320
    nr_segs = max(TCP_INIT_CWND, sk.snd_cwnd, sk.reordering + 1)
    sndmem = 2 * nr_segs * per_mss
    if sk.sk_sndbuf < sndmem:
        sk.sk_sndbuf = min(sndmem, sk.host.sysctl["net.ipv4.tcp_wmem"][2])

