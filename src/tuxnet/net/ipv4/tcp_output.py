"""TCP output (net/ipv4/tcp_output.c).

Segments wait on the write queue as large buffers (up to ``tcp_xmit_size_goal``, a multiple of
the MSS: GSO/TSO packets), each with its ``TCP_SKB_CB`` (``seq``, ``end_seq``, flags, SACK tags,
``tcp_skb_pcount``).  ``tcp_write_xmit`` sends what the congestion window, the peer's window,
Nagle and TSO deferral allow, splitting a buffer where they say (``tso_fragment``); the sent
buffer moves to the retransmit queue.  ``__tcp_transmit_skb`` builds the header and options of a
copy and hands it to ``ip_queue_xmit``: one packet carrying ``gso_size``, which the device cuts
into MSS-sized packets itself (TSO) or has cut in software on its way out (GSO).
"""

from __future__ import annotations

import struct
from typing import TYPE_CHECKING

from tuxnet.kernel.compiler import notrace
from tuxnet.kernel.minmax import max, max3, min, min3
from tuxnet.net.core.checksum import csum_tcpudp_nofold
from tuxnet.net.core.net_tstamp import SKBTX_ANY_TSTAMP
from tuxnet.net.core.skbuff import (
    CHECKSUM_PARTIAL,
    SKB_FRAG_PAGE_SIZE,
    SKB_SHINFO_SIZE,
    SKB_STRUCT_SIZE,
    OwnedBuffer,
    SkBuff,
    __pskb_trim_head,
    alloc_skb,
    pskb_trim,
    skb_add_data,
    skb_add_frag,
    skb_add_frags,
    skb_clone,
    skb_cloned,
    skb_copy_bits,
    skb_pure_zcopy_same,
    skb_unclone,
    skb_views,
    skb_zcopy_clear,
    skb_zerocopy_clone,
)
from tuxnet.net.core.sock import (
    SK_PACING_NEEDED,
    SK_PACING_NONE,
    SOCK_NOSPACE,
    SOCK_RCVBUF_LOCK,
    sk_mem_schedule,
    sk_mem_uncharge,
)
from tuxnet.net.ipv4.ip_output import IPPROTO_TCP, ip_queue_xmit
from tuxnet.net.ipv4.route import dst_metric_advmss, dst_mtu
from tuxnet.net.ipv4.tcp_cong import CA_EVENT_CWND_RESTART, CA_EVENT_TX_START, tcp_is_cwnd_limited
from tuxnet.net.ipv4.tcp_fastopen import tcp_fastopen_cookie_check
from tuxnet.net.ipv4.tcp_md5 import MD5_OPTION, TCPOLEN_MD5SIG_ALIGNED, tcp_md5_sign, tcp_v4_md5_lookup
from tuxnet.net.ipv4.tcp_rate import tcp_rate_skb_sent
from tuxnet.net.ipv4.tcp_sock import (
    ICSK_ACK_PUSHED,
    ICSK_ACK_SCHED,
    ICSK_ACK_TIMER,
    ICSK_TIME_LOSS_PROBE,
    ICSK_TIME_PROBE0,
    ICSK_TIME_REO_TIMEOUT,
    ICSK_TIME_RETRANS,
    MAX_TCP_HEADER,
    SEQ_MASK,
    SKB_TRUESIZE_OVERHEAD,
    TCP_ATO_MIN,
    TCP_CA_CWR,
    TCP_CHRONO_BUSY,
    TCP_CHRONO_RWND_LIMITED,
    TCP_CHRONO_SNDBUF_LIMITED,
    TCP_CHRONO_UNSPEC,
    TCP_CLOSE,
    TCP_CLOSE_WAIT,
    TCP_CLOSING,
    TCP_DELACK_MAX,
    TCP_DELACK_MIN,
    TCP_ECN_DEMAND_CWR,
    TCP_ECN_OK,
    TCP_ECN_QUEUE_CWR,
    TCP_ESTABLISHED,
    TCP_FIN_WAIT1,
    TCP_INIT_CWND,
    TCP_LAST_ACK,
    TCP_MSS_DEFAULT,
    TCP_NAGLE_CORK,
    TCP_NAGLE_OFF,
    TCP_NAGLE_PUSH,
    TCP_RESOURCE_PROBE_INTERVAL,
    TCP_RMEM_TO_WIN_SCALE,
    TCP_RTO_MAX,
    TCP_RTO_MIN,
    TCP_SEND_QUEUE,
    TCP_TIMEOUT_INIT,
    TCP_TIMEOUT_MIN,
    TCPCB_EVER_RETRANS,
    TCPCB_LOST,
    TCPCB_RETRANS,
    TCPCB_SACKED_ACKED,
    TCPCB_SACKED_RETRANS,
    TCPHDR_ACK,
    TCPHDR_CWR,
    TCPHDR_ECE,
    TCPHDR_FIN,
    TCPHDR_PSH,
    TCPHDR_RST,
    TCPHDR_SYN,
    TCPHDR_URG,
    TCPOLEN_EXP_FASTOPEN_BASE,
    TCPOLEN_FASTOPEN_BASE,
    TCPOLEN_TSTAMP_ALIGNED,
    TCPOPT_EXP,
    TCPOPT_FASTOPEN,
    TCPOPT_FASTOPEN_MAGIC,
    TCP_CA_Loss,
    TCP_CA_Open,
    TCP_CA_Recovery,
    TcpFastopenCookie,
    TcpSock,
    after,
    before,
    tcp_has_tx_tstamp,
    tcp_min_rtt,
    tcp_packets_in_flight,
    tcp_skb_cb,
    tcp_skb_collapse_tstamp,
    tcp_skb_pcount,
)
from tuxnet.world import NSEC_PER_MSEC, NSEC_PER_SEC

if TYPE_CHECKING:
    from collections import deque

    from tuxnet.net.ipv4.route import Rtable
    from tuxnet.net.ipv4.tcp_minisocks import RequestSock

_tcphdr = struct.Struct("!HHIIHHHH")
_u16 = struct.Struct("!H")
_ts_option = struct.Struct("!III")  # NOP, NOP, kind/length, TSval, TSecr

# Option words in Linux's order (tcp_options_write).
_OPT_MSS = 0x02040000
_OPT_SACKPERM_TS = 0x0402080A
_OPT_NOP_NOP_TS = 0x0101080A
_OPT_NOP_NOP_SACKPERM = 0x01010402
_OPT_NOP_WSCALE = 0x01030300
_OPT_NOP_NOP_SACK = 0x01010500
MAX_TCP_OPTION_SPACE = 40
TCPOLEN_SACK_BASE_ALIGNED = 4
TCPOLEN_SACK_PERBLOCK = 8

# The headroom tcp_sndbuf_expand() reckons with: MAX_TCP_HEADER as the kernel sizes it.
KERNEL_MAX_TCP_HEADER = 320

INET_ECN_MASK = 3
INET_ECN_ECT_0 = 2
TCP_TSO_RTT_LOG = 9  # net.ipv4.tcp_tso_rtt_log


@notrace
def tcp_time_stamp(sk: TcpSock) -> int:
    """``tcp_time_stamp_ts``: the millisecond TSval clock plus the connection's offset."""
    return (sk.host.world.now // NSEC_PER_MSEC + sk.tsoffset) & SEQ_MASK


@notrace
def usecs_to_jiffies(usecs: int) -> int:
    """``usecs_to_jiffies`` with HZ=1000, as nanoseconds: timers fire on a millisecond tick."""
    return -(-usecs // 1000) * NSEC_PER_MSEC


@notrace
def tcp_skb_len(skb: SkBuff) -> int:
    """``skb->len`` of a queued (headerless) segment."""
    return skb.tail - skb.data


@notrace
def tcp_skb_mss(skb: SkBuff) -> int:
    """``tcp_skb_mss``: the segment size a multi-segment buffer is cut into."""
    return tcp_skb_cb(skb).gso_size


@notrace
def tcp_wnd_end(sk: TcpSock) -> int:
    """``tcp_wnd_end``: the right edge of the peer's window."""
    return (sk.snd_una + sk.snd_wnd) & SEQ_MASK



@notrace
def tcp_init_cwnd(sk: TcpSock, rt: Rtable | None) -> int:
    """``tcp_init_cwnd``: the initial window (RFC 6928's 10 segments, or the route's
    ``initcwnd``), no more than ``snd_cwnd_clamp``."""
    cwnd = rt.initcwnd if rt is not None and rt.initcwnd else TCP_INIT_CWND
    return min(cwnd, sk.snd_cwnd_clamp)



@notrace
def tcp_in_cwnd_reduction(sk: TcpSock) -> bool:
    return sk.icsk_ca_state in (TCP_CA_CWR, TCP_CA_Recovery)


def tcp_current_ssthresh(sk: TcpSock) -> int:
    """``tcp_current_ssthresh``: ssthresh, or 3/4 of cwnd when that is more (outside reductions)."""
    if tcp_in_cwnd_reduction(sk):
        return sk.snd_ssthresh
    return max(sk.snd_ssthresh, (sk.snd_cwnd >> 1) + (sk.snd_cwnd >> 2))


def tcp_ca_event(sk: TcpSock, event: int) -> None:
    """``tcp_ca_event``: tell the congestion control module."""
    sk.icsk_ca_ops.cwnd_event(sk, event)


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


def tcp_fastopen_option(foc: TcpFastopenCookie) -> bytes:
    """``tcp_options_write``'s Fast Open option (RFC 7413 section 4.1.1), last of all: the cookie,
    or none to ask for one, two NOPs after a length of 2 mod 4; the experimental form when the
    cookie came in it."""
    if foc.exp:
        length = TCPOLEN_EXP_FASTOPEN_BASE + foc.len
        opt = struct.pack("!BBH", TCPOPT_EXP, length, TCPOPT_FASTOPEN_MAGIC) + foc.val[:foc.len]
    else:
        length = TCPOLEN_FASTOPEN_BASE + foc.len
        opt = bytes((TCPOPT_FASTOPEN, length)) + foc.val[:foc.len]
    if length & 3 == 2:
        opt += b"\x01\x01"
    return opt


def tcp_fastopen_option_fits(foc: TcpFastopenCookie, used: int) -> bool:
    """Is there room for the Fast Open option after ``used`` octets of options (its ``need``)?"""
    need = foc.len + (TCPOLEN_EXP_FASTOPEN_BASE if foc.exp else TCPOLEN_FASTOPEN_BASE)
    return MAX_TCP_OPTION_SPACE - used >= (need + 3) & ~3


def tcp_syn_options(sk: TcpSock, tsval: int) -> bytes:
    """``tcp_syn_options``: MSS, then timestamps, SACK-permitted and window scale as enabled, and
    the Fast Open option of a client's Fast Open (its cookie, or a request for one) if it fits.
    A socket with an MD5 key for the peer puts its signature first and offers no timestamps."""
    opt = sk.rx_opt
    md5 = sk.md5sig_info and tcp_v4_md5_lookup(sk, sk)
    ts = (tsval, opt.ts_recent) if opt.tstamp_ok and not md5 else None
    opts = tcp_options_write(mss=sk.advmss, ts=ts, sack_perm=opt.sack_ok,
                             wscale=opt.rcv_wscale if opt.wscale_ok else -1)
    if md5:
        opts = MD5_OPTION + opts
    fastopen = sk.fastopen_req
    if fastopen is not None and fastopen.cookie.len >= 0 and tcp_fastopen_option_fits(fastopen.cookie, len(opts)):
        sk.syn_fastopen = True
        sk.syn_fastopen_exp = fastopen.cookie.exp
        opts += tcp_fastopen_option(fastopen.cookie)
    return opts


def tcp_established_options(sk: TcpSock, tsval: int) -> bytes:
    """``tcp_established_options``: the MD5 signature (with a key for the peer), timestamps, then
    the SACK blocks that fit (D-SACK first)."""
    opt = sk.rx_opt
    md5 = sk.md5sig_info and tcp_v4_md5_lookup(sk, sk)
    if opt.tstamp_ok and not md5 and not (opt.sack_ok and (sk.duplicate_sack or sk.selective_acks)):
        # The usual case, written as tcp_options_write lays it out: NOP, NOP, timestamps.
        return _ts_option.pack(_OPT_NOP_NOP_TS, tsval & SEQ_MASK, opt.ts_recent & SEQ_MASK)
    ts = (tsval, opt.ts_recent) if opt.tstamp_ok else None
    sacks = None
    if opt.sack_ok and (sk.duplicate_sack or sk.selective_acks):
        remaining = (MAX_TCP_OPTION_SPACE - (TCPOLEN_TSTAMP_ALIGNED if ts else 0)
                     - (TCPOLEN_MD5SIG_ALIGNED if md5 else 0))
        room = (remaining - TCPOLEN_SACK_BASE_ALIGNED) // TCPOLEN_SACK_PERBLOCK
        sacks = (sk.duplicate_sack + sk.selective_acks)[:room]
    opts = tcp_options_write(ts=ts, sacks=sacks) if ts is not None or sacks else b""
    return MD5_OPTION + opts if md5 else opts


# -- windows ---------------------------------------------------------------------------------

def tcp_win_from_space(sk: TcpSock, space: int) -> int:
    """``tcp_win_from_space``: the part of ``space`` bytes of receive memory offered as window,
    ``scaling_ratio``/256 of it (Linux 6.6+; ``tcp_adv_win_scale`` is no longer read)."""
    return (space * sk.scaling_ratio) >> TCP_RMEM_TO_WIN_SCALE


def tcp_space_from_win(sk: TcpSock, win: int) -> int:
    """``tcp_space_from_win``: the receive memory that offers ``win`` (the inverse)."""
    return (win << TCP_RMEM_TO_WIN_SCALE) // sk.scaling_ratio


def tcp_space(sk: TcpSock) -> int:
    """``tcp_space``: the window the free receive memory makes, what waits in the backlog counted
    as used."""
    return tcp_win_from_space(sk, sk.sk_rcvbuf - sk.sk_backlog_len - sk.sk_rmem_alloc)


def tcp_full_space(sk: TcpSock) -> int:
    return tcp_win_from_space(sk, sk.sk_rcvbuf)


def tcp_select_initial_window(sk: TcpSock, space: int, mss: int, wscale_ok: bool,
                              window_clamp: int = -1) -> tuple[int, int, int]:
    """``tcp_select_initial_window``: (rcv_wnd, window_clamp, rcv_wscale), ``window_clamp`` the
    clamp to start from (a request socket's; by default the socket's own)."""
    if window_clamp < 0:
        window_clamp = sk.window_clamp
    window_clamp = window_clamp or (0xFFFF << 14)
    space = min(window_clamp, max(space, 0))
    if space > mss:
        space -= space % mss
    rcv_wnd = min(space, 0xFFFF)
    rcv_wscale = 0
    if wscale_ok:
        sysctl = sk.host.sysctl
        big = max3(space, sysctl["net.ipv4.tcp_rmem"][2], sysctl["net.core.rmem_max"])
        big = min(big, window_clamp)
        rcv_wscale = max(0, min(big.bit_length() - 1 - 15, 14))
    window_clamp = min(0xFFFF << rcv_wscale, window_clamp)
    return rcv_wnd, window_clamp, rcv_wscale


def __tcp_select_window(sk: TcpSock) -> int:
    """``__tcp_select_window``: the window to offer now (receiver-side silly window avoidance)."""
    mss = sk.icsk_ack.rcv_mss
    free_space = tcp_space(sk)
    allowed_space = tcp_full_space(sk)
    full_space = min(sk.window_clamp, allowed_space)
    if mss > full_space:
        mss = max(full_space, 1)
    if free_space < full_space // 2:
        sk.icsk_ack.quick = 0
        # The window may become free_space: rounded down, so that the scale does not grow it.
        free_space &= -(1 << sk.rx_opt.rcv_wscale)
        # Close the window once less than a sixteenth of the buffer is free, not only below an
        # MSS: with a large window the MSS test comes too late, and the queue outgrows the
        # buffer before a zero window is announced (tcp_clamp_window then grows it).
        if free_space < allowed_space >> 4 or free_space < mss:
            return 0
    if free_space > sk.rcv_ssthresh:
        free_space = sk.rcv_ssthresh
    window = sk.rcv_wnd
    if sk.rx_opt.rcv_wscale:
        # ALIGN: enough that the scale does not round it away (a zero window when 1 << wscale
        # is more than an MSS).
        unit = 1 << sk.rx_opt.rcv_wscale
        return (free_space + unit - 1) & -unit
    if window <= free_space - mss or window > free_space:
        window = (free_space // mss) * mss
    elif mss == full_space and free_space > window + (full_space >> 1):
        window = free_space
    return window


def tcp_select_window(sk: TcpSock) -> int:
    """``tcp_select_window``: never shrink what was offered; returns the header's field value."""
    old_win = sk.rcv_wnd
    # tcp_receive_window(), in sequence space: rcv_nxt may have wrapped past 2**32 since rcv_wup.
    cur_win = (sk.rcv_wup + sk.rcv_wnd - sk.rcv_nxt) & SEQ_MASK
    if cur_win >= 0x80000000:
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
    if new_win == 0:
        sk.pred_flags = 0  # advertising a zero window: no header prediction
    if new_win == 0 and old_win:
        sk.host.mib.TcpExt["TCPToZeroWindowAdv"] += 1
    elif old_win == 0 and new_win:
        sk.host.mib.TcpExt["TCPFromZeroWindowAdv"] += 1
    return new_win


# -- MSS -------------------------------------------------------------------------------------

def tcp_mtu_to_mss(sk: TcpSock, pmtu: int) -> int:
    """``tcp_mtu_to_mss``: the largest payload for a path MTU, the IP options (``icsk_ext_hdr_len``)
    and TCP options of this connection left out."""
    mss_now = pmtu - 20 - 20
    if sk.rx_opt.mss_clamp and mss_now > sk.rx_opt.mss_clamp:
        mss_now = sk.rx_opt.mss_clamp
    mss_now = max(mss_now - sk.icsk_ext_hdr_len, sk.host.sysctl["net.ipv4.tcp_min_snd_mss"])
    return mss_now - (sk.tcp_header_len - 20)


def tcp_bound_to_half_wnd(sk: TcpSock, pktsize: int) -> int:
    """``tcp_bound_to_half_wnd``: no segment larger than half the peer's largest window."""
    cutoff = sk.max_window >> 1 if sk.max_window > TCP_MSS_DEFAULT else sk.max_window
    if cutoff and pktsize > cutoff:
        return max(cutoff, 68 - sk.tcp_header_len)
    return pktsize


def tcp_mss_to_mtu(sk: TcpSock, mss: int) -> int:
    """``tcp_mss_to_mtu``: the path MTU a segment of ``mss`` payload bytes needs (the inverse of
    ``tcp_mtu_to_mss``)."""
    return mss + sk.tcp_header_len + sk.icsk_ext_hdr_len + 20


def tcp_mtup_init(sk: TcpSock) -> None:
    """``tcp_mtup_init``: start the path MTU search (RFC 4821) between ``tcp_base_mss`` and the
    peer's MSS; probing is on from the start only with ``tcp_mtu_probing`` 2 (with 1 it starts when
    a black hole is detected, ``tcp_mtu_probing`` in tcp_timer)."""
    sysctl = sk.host.sysctl
    mtup = sk.icsk_mtup
    mtup.enabled = sysctl["net.ipv4.tcp_mtu_probing"] > 1
    mtup.search_high = (sk.rx_opt.mss_clamp or TCP_MSS_DEFAULT) + 20 + 20
    mtup.search_low = tcp_mss_to_mtu(sk, sysctl["net.ipv4.tcp_base_mss"])
    mtup.probe_size = 0
    if mtup.enabled:
        mtup.probe_timestamp = sk.host.world.now


def tcp_sync_mss(sk: TcpSock, pmtu: int) -> int:
    """``tcp_sync_mss``: recompute ``mss_cache`` for the path MTU; while probing, no larger than
    the search's known-good floor."""
    mtup = sk.icsk_mtup
    if mtup.search_high > pmtu:
        mtup.search_high = pmtu
    mss_now = tcp_bound_to_half_wnd(sk, tcp_mtu_to_mss(sk, pmtu))
    sk.pmtu_cookie = pmtu
    if mtup.enabled:
        mss_now = min(mss_now, tcp_mtu_to_mss(sk, mtup.search_low))
    sk.mss_cache = mss_now
    return mss_now


def tcp_current_mss(sk: TcpSock) -> int:
    """``tcp_current_mss``: ``mss_cache`` less the room SACK blocks and an MD5 signature take now."""
    mss_now = sk.mss_cache
    rt = sk.dst_cache
    if rt is not None:
        mtu = rt.mtu or rt.dev.mtu
        if mtu != sk.pmtu_cookie:
            mss_now = tcp_sync_mss(sk, mtu)
    if sk.duplicate_sack or sk.selective_acks or sk.md5sig_info:
        header_len = 20 + len(tcp_established_options(sk, 0))
        if header_len != sk.tcp_header_len:
            mss_now -= header_len - sk.tcp_header_len
    return mss_now


def tcp_xmit_size_goal(sk: TcpSock, mss_now: int, large_allowed: bool) -> int:
    """``tcp_xmit_size_goal``: how big a buffer ``tcp_sendmsg`` fills (a GSO packet's worth)."""
    if not large_allowed:
        return mss_now
    new_size_goal = tcp_bound_to_half_wnd(sk, sk.sk_gso_max_size)
    size_goal = sk.gso_segs * mss_now
    if new_size_goal < size_goal or new_size_goal >= size_goal + mss_now:
        sk.gso_segs = min(new_size_goal // mss_now, sk.sk_gso_max_segs)
        size_goal = sk.gso_segs * mss_now
    return max(size_goal, mss_now)


def tcp_send_mss(sk: TcpSock, large_allowed: bool) -> tuple[int, int]:
    """``tcp_send_mss``: (mss_now, size_goal)."""
    mss_now = tcp_current_mss(sk)
    return mss_now, tcp_xmit_size_goal(sk, mss_now, large_allowed)


# -- segment bookkeeping -----------------------------------------------------------------------

def tcp_stream_alloc_skb(sk: TcpSock) -> SkBuff:
    """``tcp_stream_alloc_skb``: an empty buffer for the write queue, with MAX_TCP_HEADER of
    headroom for the headers its clone will carry (``__tcp_transmit_skb``); the socket's forward
    allocation is made to cover it (``sk_wmem_schedule``), for its queuing to charge."""
    skb = alloc_skb(0, MAX_TCP_HEADER)
    cb = tcp_skb_cb(skb)
    cb.truesize = SKB_TRUESIZE_OVERHEAD
    sk_mem_schedule(sk, SKB_TRUESIZE_OVERHEAD)
    return skb


def sk_wmem_queued_add(sk: TcpSock, delta: int) -> None:
    sk.sk_wmem_queued += delta


def tcp_wmem_free_skb(sk: TcpSock, skb: SkBuff) -> None:
    """``tcp_wmem_free_skb``: give back what the buffer cost; a zerocopy sender's pages are let go
    of (``__kfree_skb`` → ``skb_release_data``)."""
    truesize = tcp_skb_cb(skb).truesize
    sk_wmem_queued_add(sk, -truesize)
    sk_mem_uncharge(sk, truesize)
    skb_unclone(skb)  # a clone still held has the head to itself now
    if skb.destructor_arg is not None:
        skb_zcopy_clear(skb, True)


def tcp_set_skb_tso_segs(skb: SkBuff, mss_now: int) -> int:
    """``tcp_set_skb_tso_segs``: how many MSS-sized segments the buffer makes (returned)."""
    cb = tcp_skb_cb(skb)
    length = skb.tail - skb.data
    if length <= mss_now:
        cb.pcount = 1
        cb.gso_size = 0
        return 1
    cb.pcount = pcount = -(-length // mss_now)
    cb.gso_size = mss_now
    return pcount


def tcp_adjust_pcount(sk: TcpSock, skb: SkBuff, decr: int) -> None:
    """``tcp_adjust_pcount``: a sent buffer's segment count changed; fix the counters."""
    sk.packets_out -= decr
    sacked = skb.sacked
    if sacked & TCPCB_SACKED_ACKED:
        sk.sacked_out -= decr
    if sacked & TCPCB_SACKED_RETRANS:
        sk.retrans_out -= decr
    if sacked & TCPCB_LOST:
        sk.lost_out -= decr
    if not sk.rx_opt.sack_ok and decr > 0:
        sk.sacked_out -= min(sk.sacked_out, decr)


def _split_skb(skb: SkBuff, length: int) -> SkBuff:
    """``tcp_stream_alloc_skb`` + ``skb_split``: a new buffer, an empty head of its own with
    MAX_TCP_HEADER of headroom, whose bytes are those after ``length`` as page fragments of the
    storage that holds them (not copied: a zerocopy send's pages, ``skb_zerocopy_clone``, or the
    kernel's).  No headers go in front of those fragments (``room`` 0): the part before may be
    sent first and still be read with its bytes there.  So the new buffer is sent as a clone, its
    headers in its own headroom, as Linux sends it."""
    buff = alloc_skb(0, MAX_TCP_HEADER)
    skb_add_frags(buff, skb, skb.data + length, skb.tail)
    pskb_trim(skb, length)
    if skb.destructor_arg is not None:
        skb_zerocopy_clone(buff, skb)
    return buff


def tcp_fragment(sk: TcpSock, queue: deque[SkBuff], skb: SkBuff, length: int, mss_now: int) -> SkBuff:
    """``tcp_fragment``: split a queued segment after ``length`` bytes; the tail part is queued
    right after ``skb`` (in ``queue``: the write queue or the retransmit queue)."""
    nlen = skb.tail - skb.data - length
    cb = tcp_skb_cb(skb)
    skb_unclone(skb)
    buff = _split_skb(skb, length)
    bcb = tcp_skb_cb(buff)
    bcb.truesize = SKB_TRUESIZE_OVERHEAD + nlen
    cb.truesize -= nlen
    sk_mem_schedule(sk, SKB_TRUESIZE_OVERHEAD)  # (tcp_stream_alloc_skb, forced)
    sk_wmem_queued_add(sk, SKB_TRUESIZE_OVERHEAD)
    sk.sk_forward_alloc -= SKB_TRUESIZE_OVERHEAD  # sk_mem_charge
    buff.seq = (skb.seq + length) & SEQ_MASK
    buff.end_seq = skb.end_seq
    skb.end_seq = buff.seq
    flags = skb.tcp_flags
    skb.tcp_flags = flags & ~(TCPHDR_FIN | TCPHDR_PSH)
    buff.tcp_flags = flags
    buff.sacked = skb.sacked
    bcb.eor = cb.eor
    cb.eor = False
    buff.skb_mstamp = skb.skb_mstamp
    buff.tx_count = skb.tx_count
    old_factor = cb.pcount
    tcp_set_skb_tso_segs(skb, mss_now)
    tcp_set_skb_tso_segs(buff, mss_now)
    bcb.first_tx_mstamp = cb.first_tx_mstamp  # TCP_SKB_CB(buff)->tx = TCP_SKB_CB(skb)->tx
    bcb.delivered_mstamp = cb.delivered_mstamp
    bcb.delivered = cb.delivered
    bcb.delivered_ce = cb.delivered_ce
    bcb.is_app_limited = cb.is_app_limited
    if not before(sk.snd_nxt, buff.end_seq):
        diff = old_factor - cb.pcount - bcb.pcount
        if diff:
            tcp_adjust_pcount(sk, skb, diff)
    tcp_fragment_tstamp(skb, buff)
    queue.insert(queue.index(skb) + 1, buff)
    if queue is sk.tcp_rtx_queue:
        sk.tsorted_sent_queue.add_after(skb, buff)
    return buff


def tcp_fragment_tstamp(skb: SkBuff, buff: SkBuff) -> None:
    """``tcp_fragment_tstamp``: the send timestamps go with the part that holds the key byte."""
    if tcp_has_tx_tstamp(skb) and not before(skb.tskey, buff.seq):
        flags = skb.tx_flags & SKBTX_ANY_TSTAMP
        skb.tx_flags &= ~flags
        buff.tx_flags |= flags
        skb.tskey, buff.tskey = buff.tskey, skb.tskey
        cb = tcp_skb_cb(skb)
        tcp_skb_cb(buff).txstamp_ack = cb.txstamp_ack
        cb.txstamp_ack = False


def tso_fragment(sk: TcpSock, skb: SkBuff, length: int, mss_now: int) -> SkBuff:
    """``tso_fragment``: ``tcp_fragment`` for a never-sent buffer of the write queue."""
    return tcp_fragment(sk, sk.sk_write_queue, skb, length, mss_now)


def tcp_trim_head(sk: TcpSock, skb: SkBuff, length: int) -> None:
    """``tcp_trim_head``: drop acknowledged bytes from the front of a sent segment."""
    skb_unclone(skb)
    length = min(length, skb.tail - skb.data)
    if skb.frags is None:
        skb.data += length
    else:
        __pskb_trim_head(skb, length)
    skb.seq = (skb.seq + length) & SEQ_MASK
    cb = tcp_skb_cb(skb)
    cb.truesize -= length
    sk_wmem_queued_add(sk, -length)
    sk_mem_uncharge(sk, length)
    if cb.pcount > 1:
        tcp_set_skb_tso_segs(skb, cb.gso_size)


def tcp_skb_can_collapse_to(skb: SkBuff) -> bool:
    """``tcp_skb_can_collapse_to``: no data may be added after an end-of-record mark."""
    return not tcp_skb_cb(skb).eor


def tcp_skb_can_collapse(to: SkBuff, frm: SkBuff) -> bool:
    """``tcp_skb_can_collapse``: ``frm`` may join ``to``: no end-of-record mark, and both or
    neither all a zerocopy sender's pages (``skb_pure_zcopy_same``)."""
    return tcp_skb_can_collapse_to(to) and skb_pure_zcopy_same(to, frm)


# -- sending one segment -----------------------------------------------------------------------

def tcp_v4_send_check(skb: SkBuff, saddr: int, daddr: int) -> None:
    """``__tcp_v4_send_check``: leave the checksum partial, seeded with the pseudo-header."""
    d = skb.transport_header
    length = skb.tail - d
    _u16.pack_into(skb.buf, d + 16, csum_tcpudp_nofold(saddr, daddr, length, IPPROTO_TCP))
    skb.ip_summed = CHECKSUM_PARTIAL
    skb.csum_start = d
    skb.csum_offset = 16


def tcp_ecn_send(sk: TcpSock, skb: SkBuff, flags: int, has_data: bool) -> int:
    """``tcp_ecn_send`` (RFC 3168 section 6.1): ECT(0) on new data, CWR once after a reduction,
    ECE while the receiver owes the peer an echo; returns the header flags."""
    ecn = sk.ecn_flags
    if not ecn & TCP_ECN_OK:
        return flags
    if has_data and not before(skb.seq, sk.snd_nxt):
        sk.tos = (sk.tos & ~INET_ECN_MASK) | INET_ECN_ECT_0
        if ecn & TCP_ECN_QUEUE_CWR:
            sk.ecn_flags &= ~TCP_ECN_QUEUE_CWR
            flags |= TCPHDR_CWR
    else:
        sk.tos &= ~INET_ECN_MASK
    if sk.ecn_flags & TCP_ECN_DEMAND_CWR:
        flags |= TCPHDR_ECE
    return flags


def _tcp_skb_for_xmit(skb: SkBuff) -> SkBuff:
    """The packet ``__tcp_transmit_skb`` sends for queued segment ``skb``: a clone sharing its bytes
    (``skb_clone``), as Linux sends, the TCP header going into the segment's own headroom.  A
    segment sent before (a retransmission: the first clone may still sit in a receive queue) or
    whose headroom is not its own (its front taken by the buffer before it, ``tcp_grow_skb``, or
    acknowledged) gets the ``pskb_copy`` case instead: a new head for the headers, its bytes as
    page fragments of the storage that holds them, not copied (Linux's payload is all in page
    fragments, which ``pskb_copy`` shares).

    A segment of a zerocopy send holds the sender's pages (fragments).  Linux's clone shares
    them and the NIC reads them by scatter-gather DMA as the packet leaves; here the packet's bytes
    are gathered from them now, so what goes out, the first time and on every retransmission, is
    what the sender's memory holds at that moment.  The packet keeps the send's ``ubuf_info``, as
    a clone shares ``skb_shinfo()``, for a receiver that must copy the pages (``skb_orphan_frags_rx``).

    A new head keeps the send timestamps asked for (``skb_shinfo()->tx_flags``), as Linux's clone
    does: a retransmission is stamped again.  (Linux's ``pskb_copy`` would not keep them, but it
    copies only while the first clone still shares the segment's head; tuxnet makes a new head
    whenever the old may be shared, and marks it as the clone Linux would have sent when nothing
    shared it any more: ``skb_cloned``.)"""
    if skb.destructor_arg is not None:
        buf = bytearray(MAX_TCP_HEADER)
        for view in skb_views(skb, skb.data, skb.tail):
            buf += view
        n = SkBuff(buf, MAX_TCP_HEADER)
        n.destructor_arg = skb.destructor_arg
    elif skb.cloned or skb.data != MAX_TCP_HEADER:
        n = alloc_skb(0, MAX_TCP_HEADER)
        skb_add_frags(n, skb, skb.data, skb.tail)
        if not skb_cloned(skb):
            # Linux clones a segment no earlier clone shares: the two share a head (skb_cloned)
            n.cloned = skb.cloned = [True]
    else:
        n = skb_clone(skb)
        n.cloned = skb.cloned = [True]  # their head's reference, until skb_unclone
        return n
    n.tx_flags = skb.tx_flags
    n.tskey = skb.tskey
    return n


def _build_segment(sk: TcpSock, n: SkBuff, seq: int, flags: int, opts: bytes, window: int,
                   ack_seq: int, urg_ptr: int = 0) -> SkBuff:
    """Push and fill the TCP header of packet ``n`` and leave its checksum partial."""
    th_len = 20 + len(opts)
    d = n.push(th_len)
    buf = n.buf
    _tcphdr.pack_into(buf, d, sk.inet_sport, sk.inet_dport, seq, ack_seq, (th_len << 10) | flags, window, 0,
                      urg_ptr)
    if opts:
        buf[d + 20:d + th_len] = opts
    n.transport_header = d
    n.sk = sk
    n.seq = seq
    n.tcp_flags = flags
    tcp_v4_send_check(n, sk.inet_saddr, sk.inet_daddr)
    return n


def __tcp_transmit_skb(sk: TcpSock, skb: SkBuff, clone_it: bool, rcv_nxt: int) -> int:
    """``__tcp_transmit_skb``: header, options, checksum, then ``ip_queue_xmit``; 0 or -errno."""
    now = sk.host.world.now
    prior_wstamp = sk.tcp_wstamp_ns
    sk.tcp_wstamp_ns = max(sk.tcp_wstamp_ns, now)
    skb.skb_mstamp = sk.tcp_wstamp_ns
    cb = tcp_skb_cb(skb)
    pcount = cb.pcount or 1
    flags = skb.tcp_flags
    tsval = (skb.skb_mstamp // NSEC_PER_MSEC + sk.tsoffset) & SEQ_MASK
    if flags & TCPHDR_SYN:
        opts = tcp_syn_options(sk, tsval)
        window = min(sk.rcv_wnd, 0xFFFF)
    else:
        opts = tcp_established_options(sk, tsval)
        # Force a PSH flag on all (GSO) packets to expedite GRO flush at the receiver (on the
        # clone that is sent: the queued segment keeps its flags).
        if pcount > 1:
            flags |= TCPHDR_PSH
        window = tcp_select_window(sk)
    plen = skb.tail - skb.data
    if not flags & TCPHDR_SYN:
        flags = tcp_ecn_send(sk, skb, flags, plen > 0)
    ack_seq = rcv_nxt if flags & TCPHDR_ACK else 0
    mss = cb.gso_size
    if not flags & TCPHDR_SYN:
        sk.duplicate_sack = []
    urg_ptr = 0
    if sk.snd_up != sk.snd_una and before(skb.seq, sk.snd_up):
        # Urgent mode (tcp_urg_mode): every segment before the urgent pointer carries it, or, when
        # it lies more than 64 KB ahead, 0xFFFF while that still points past what was sent.
        if before(sk.snd_up, (skb.seq + 0x10000) & SEQ_MASK):
            urg_ptr = (sk.snd_up - skb.seq) & SEQ_MASK
            flags |= TCPHDR_URG
        elif after((skb.seq + 0xFFFF) & SEQ_MASK, sk.snd_nxt):
            urg_ptr = 0xFFFF
            flags |= TCPHDR_URG
    # A queued segment goes as a clone; a control segment made for this one send (an ACK, a
    # reset, a window probe: clone_it false) goes itself, as in Linux.
    n = _build_segment(sk, _tcp_skb_for_xmit(skb) if clone_it else skb, skb.seq, flags, opts, window, ack_seq,
                       urg_ptr)
    if sk.md5sig_info:
        key = tcp_v4_md5_lookup(sk, sk)
        if key is not None:
            tcp_md5_sign(n, key, sk.inet_saddr, sk.inet_daddr)
    n.end_seq = skb.end_seq
    if plen or flags & (TCPHDR_SYN | TCPHDR_FIN | TCPHDR_RST):
        # Not a pure ACK: the clone carries the segment's truesize, charged to the socket while a
        # qdisc holds it (skb_set_owner_w), and tcp_wfree to give it back.
        n.truesize = cb.truesize
        n.destructor = tcp_wfree
    if pcount > 1:
        n.gso_size = mss
    n.tstamp = skb.skb_mstamp
    if flags & TCPHDR_ACK:
        tcp_event_ack_sent(sk, rcv_nxt)
    if plen:
        tcp_event_data_sent(sk)
        sk.data_segs_out += pcount
        sk.bytes_sent += plen
    mib = sk.host.mib.Tcp
    if after(skb.end_seq, sk.snd_nxt) or skb.seq == skb.end_seq:
        mib["OutSegs"] += pcount
    sk.segs_out += pcount
    err = ip_queue_xmit(sk.host, sk, n)
    if err > 0:
        # The qdisc dropped it: local congestion, as an ECN mark would say (net_xmit_eval).
        from tuxnet.net.ipv4.tcp_input import tcp_enter_cwr

        tcp_enter_cwr(sk)
        return err
    if err == 0 and clone_it:
        tcp_update_skb_after_send(sk, skb, prior_wstamp)
        tcp_rate_skb_sent(sk, skb)
    return err


def tcp_transmit_skb(sk: TcpSock, skb: SkBuff, clone_it: bool = True) -> int:
    """``tcp_transmit_skb``."""
    return __tcp_transmit_skb(sk, skb, clone_it, sk.rcv_nxt)


def tcp_update_skb_after_send(sk: TcpSock, skb: SkBuff, prior_wstamp: int) -> None:
    """``tcp_update_skb_after_send``: under fq pacing, the next departure time moves on by the
    time this segment takes at the pacing rate (Earliest Departure Time model); the segment is
    now the last sent (``tsorted_sent_queue``)."""
    if sk.sk_pacing_status != SK_PACING_NONE:
        rate = sk.sk_pacing_rate
        if rate and rate != (1 << 64) - 1 and sk.data_segs_out >= 10:
            len_ns = (skb.tail - skb.data) * NSEC_PER_SEC // rate
            credit = sk.tcp_wstamp_ns - prior_wstamp
            len_ns -= min(len_ns // 2, credit)
            sk.tcp_wstamp_ns += len_ns
    sk.tsorted_sent_queue.move_tail(skb)


def tcp_dec_quickack_mode(sk: TcpSock) -> None:
    """``tcp_dec_quickack_mode``: an ACK went out; it uses up a quick ACK only if it acknowledges
    new data, one ACK for one (Linux 6.6+, "count actual ACKs of new data": before, every packet
    sent counted, a TSO packet as its segments)."""
    ack = sk.icsk_ack
    if ack.quick:
        pkts = 1 if ack.pending & ICSK_ACK_SCHED else 0
        if pkts >= ack.quick:
            ack.quick = 0
            ack.ato = TCP_ATO_MIN
        else:
            ack.quick -= pkts


def tcp_event_ack_sent(sk: TcpSock, rcv_nxt: int) -> None:
    """``tcp_event_ack_sent``: an ACK went out, so the delayed ACK is no longer due, nor the
    compressed one (the ACKs it stood for are counted in TCPAckCompressed)."""
    if sk.compressed_ack:
        sk.host.mib.TcpExt["TCPAckCompressed"] += sk.compressed_ack
        sk.compressed_ack = 0
        sk.compressed_ack_timer.delete()
    if rcv_nxt != sk.rcv_nxt:
        return
    tcp_dec_quickack_mode(sk)
    sk.icsk_ack.pending = 0
    sk.icsk_delack_timer.delete()


def tcp_event_data_sent(sk: TcpSock) -> None:
    """``tcp_event_data_sent``: sending within ``ato`` of the last data received marks an
    interactive connection (pingpong: delayed ACKs, to ride on the replies).  Any send counts,
    not only the first after a receive: that stricter test went with the revert of "tcp: change
    pingpong threshold to 3" (commit 4d8f24eeedc5, 2022), its jiffy-based test being too coarse."""
    now = sk.host.world.now
    if tcp_packets_in_flight(sk) == 0:
        tcp_ca_event(sk, CA_EVENT_TX_START)
    sk.lsndtime = now
    ack = sk.icsk_ack
    if now - ack.lrcvtime < ack.ato:
        ack.pingpong = 1


def tcp_cwnd_restart(sk: TcpSock, delta: int) -> None:
    """``tcp_cwnd_restart`` (RFC 5681 section 4.1, RFC 2861): halve cwnd per RTO of idleness."""
    tcp_ca_event(sk, CA_EVENT_CWND_RESTART)
    restart_cwnd = min(tcp_init_cwnd(sk, sk.dst_cache), sk.snd_cwnd)
    cwnd = sk.snd_cwnd
    sk.snd_ssthresh = tcp_current_ssthresh(sk)
    rto = max(sk.icsk_rto, 1)
    delta -= rto
    while delta > 0 and cwnd > restart_cwnd:
        cwnd >>= 1
        delta -= rto
    sk.snd_cwnd = max(cwnd, restart_cwnd)
    sk.snd_cwnd_stamp = sk.host.world.now
    sk.snd_cwnd_used = 0


def tcp_slow_start_after_idle_check(sk: TcpSock) -> None:
    """``tcp_slow_start_after_idle_check``: restart from a small window after an idle RTO (not
    for a congestion control that sets cwnd itself)."""
    if (not sk.host.sysctl["net.ipv4.tcp_slow_start_after_idle"] or sk.packets_out
            or sk.icsk_ca_ops.cong_control is not None):
        return
    delta = sk.host.world.now - sk.lsndtime
    if delta > sk.icsk_rto:
        tcp_cwnd_restart(sk, delta)


def tcp_event_new_data_sent(sk: TcpSock, skb: SkBuff) -> None:
    """``tcp_event_new_data_sent``: the segment moves to the retransmit queue; arm the RTO."""
    prior_packets = sk.packets_out
    sk.snd_nxt = skb.end_seq
    sk.sk_write_queue.remove(skb)
    sk.tcp_rtx_queue.append(skb)
    pcount = tcp_skb_pcount(skb)
    sk.packets_out += pcount
    if not prior_packets or sk.icsk_pending == ICSK_TIME_LOSS_PROBE:
        tcp_rearm_rto(sk)
    sk.host.mib.TcpExt["TCPOrigDataSent"] += pcount
    tcp_check_space(sk)


def tcp_minshall_check(sk: TcpSock) -> bool:
    return after(sk.snd_sml, sk.snd_una) and not after(sk.snd_sml, sk.snd_nxt)


def tcp_minshall_update(sk: TcpSock, mss_now: int, skb: SkBuff) -> None:
    """``tcp_minshall_update``: remember the end of the last sub-MSS segment."""
    if skb.tail - skb.data < tcp_skb_pcount(skb) * mss_now:
        sk.snd_sml = skb.end_seq


def tcp_nagle_check(partial: bool, sk: TcpSock, nonagle: int) -> bool:
    """``tcp_nagle_check``: True means hold a small segment back (RFC 896, Minshall's variant)."""
    return partial and bool((nonagle & TCP_NAGLE_CORK) or (not nonagle and sk.packets_out
                                                           and tcp_minshall_check(sk)))


def tcp_nagle_test(sk: TcpSock, skb: SkBuff, cur_mss: int, nonagle: int) -> bool:
    """``tcp_nagle_test``: may ``skb`` go now?"""
    if nonagle & TCP_NAGLE_PUSH:
        return True
    if sk.snd_una != sk.snd_up or skb.tcp_flags & TCPHDR_FIN:
        return True
    return not tcp_nagle_check(skb.tail - skb.data < cur_mss, sk, nonagle)


def tcp_snd_wnd_test(sk: TcpSock, skb: SkBuff, cur_mss: int) -> bool:
    """``tcp_snd_wnd_test``: does the first MSS of ``skb`` fit in the peer's window?"""
    end_seq = skb.end_seq
    if skb.tail - skb.data > cur_mss:
        end_seq = (skb.seq + cur_mss) & SEQ_MASK
    return not after(end_seq, tcp_wnd_end(sk))


def tcp_cwnd_test(sk: TcpSock) -> int:
    """``tcp_cwnd_test``: how many segments the congestion window allows now (at most half of
    it, so that at least two GSO packets are in flight).  A final FIN gets no exception (Linux
    6.10 dropped it)."""
    in_flight = tcp_packets_in_flight(sk)
    cwnd = sk.snd_cwnd
    if in_flight >= cwnd:
        return 0
    return min(max(cwnd >> 1, 1), cwnd - in_flight)


def tcp_tso_autosize(sk: TcpSock, mss_now: int, min_tso_segs: int) -> int:
    """``tcp_tso_autosize``: about 1 ms of data at the pacing rate, more for close peers."""
    nbytes = sk.sk_pacing_rate >> sk.sk_pacing_shift
    r = tcp_min_rtt(sk) >> TCP_TSO_RTT_LOG
    if r < 32:
        nbytes += sk.sk_gso_max_size >> r
    nbytes = min(nbytes, sk.sk_gso_max_size)
    return max(nbytes // mss_now, min_tso_segs)


def tcp_tso_segs(sk: TcpSock, mss_now: int) -> int:
    """``tcp_tso_segs``: the most segments one TSO packet should carry."""
    ca_ops = sk.icsk_ca_ops
    min_tso = (ca_ops.min_tso_segs(sk) if ca_ops.min_tso_segs is not None
               else sk.host.sysctl["net.ipv4.tcp_min_tso_segs"])
    return min(tcp_tso_autosize(sk, mss_now, min_tso), sk.sk_gso_max_segs)


def tcp_mss_split_point(sk: TcpSock, skb: SkBuff, mss_now: int, max_segs: int, nonagle: int) -> int:
    """``tcp_mss_split_point``: the part of ``skb`` that may go now."""
    window = (tcp_wnd_end(sk) - skb.seq) & SEQ_MASK
    max_len = mss_now * max_segs
    is_tail = skb is sk.sk_write_queue[-1]
    if max_len <= window and not is_tail:
        return max_len
    needed = min(skb.tail - skb.data, window)
    if max_len <= needed:
        return max_len
    partial = needed % mss_now
    if tcp_nagle_check(partial != 0, sk, nonagle):
        return needed - partial
    return needed


def tcp_tso_should_defer(sk: TcpSock, skb: SkBuff, max_segs: int) -> tuple[bool, bool, bool]:
    """``tcp_tso_should_defer`` (John Heffner's TSO Nagle): wait for more room to send a bigger
    TSO packet?  Returns (defer, is_cwnd_limited, is_rwnd_limited)."""
    if sk.icsk_ca_state >= TCP_CA_Recovery:
        return False, False, False
    now = sk.host.world.now
    # Only defer if the last write was recent (1 ms).
    if now - sk.tcp_wstamp_ns - NSEC_PER_MSEC > 0:
        return False, False, False
    in_flight = tcp_packets_in_flight(sk)
    send_win = (tcp_wnd_end(sk) - skb.seq) & SEQ_MASK
    cong_win = (sk.snd_cwnd - in_flight) * sk.mss_cache
    limit = min(send_win, cong_win)
    if limit >= max_segs * sk.mss_cache:
        return False, False, False
    length = skb.tail - skb.data
    if skb is not sk.sk_write_queue[-1] and limit >= length:
        return False, False, False
    win_divisor = sk.host.sysctl["net.ipv4.tcp_tso_win_divisor"]
    if win_divisor:
        chunk = min(sk.snd_wnd, sk.snd_cwnd * sk.mss_cache) // win_divisor
        if limit >= chunk:
            return False, False, False
    elif limit > 3 * sk.mss_cache:
        return False, False, False
    if not sk.tcp_rtx_queue:
        return False, False, False
    head = sk.tcp_rtx_queue[0]
    # If the next ACK is likely to come too late (half srtt), do not defer.
    if now - head.skb_mstamp - 1000 * (sk.srtt_us >> 4) < 0:
        return False, False, False
    if cong_win < send_win:
        if cong_win <= length:
            return True, True, False
    elif send_win <= length:
        return True, False, True
    if skb.tcp_flags & TCPHDR_FIN or tcp_skb_cb(skb).eor:
        return False, False, False
    return True, False, False


def tcp_chrono_set(sk: TcpSock, new: int) -> None:
    """``tcp_chrono_set``: charge the time since the last change to the old state (in
    jiffies, as ``chrono_stat`` counts them)."""
    now = sk.host.world.now
    old = sk.chrono_type
    if old > TCP_CHRONO_UNSPEC:
        sk.chrono_stat[old - 1] += now // NSEC_PER_MSEC - sk.chrono_start // NSEC_PER_MSEC
    sk.chrono_start = now
    sk.chrono_type = new


def tcp_chrono_start(sk: TcpSock, chrono: int) -> None:
    """``tcp_chrono_start``: the more interesting limit wins."""
    if chrono > sk.chrono_type:
        tcp_chrono_set(sk, chrono)


def tcp_chrono_stop(sk: TcpSock, chrono: int) -> None:
    """``tcp_chrono_stop``: back to busy (or idle when nothing is queued)."""
    if not sk.tcp_rtx_queue and not sk.sk_write_queue:
        tcp_chrono_set(sk, TCP_CHRONO_UNSPEC)
    elif chrono == sk.chrono_type:
        tcp_chrono_set(sk, TCP_CHRONO_BUSY)


def tcp_cwnd_application_limited(sk: TcpSock) -> None:
    """``tcp_cwnd_application_limited`` (RFC 2861): shrink a cwnd the application did not use."""
    if sk.icsk_ca_state == TCP_CA_Open and sk.sk_socket is not None and not sk.sock_flags & SOCK_NOSPACE:
        win_used = max(sk.snd_cwnd_used, tcp_init_cwnd(sk, sk.dst_cache))
        if win_used < sk.snd_cwnd:
            sk.snd_ssthresh = tcp_current_ssthresh(sk)
            sk.snd_cwnd = (sk.snd_cwnd + win_used) >> 1
        sk.snd_cwnd_used = 0
    sk.snd_cwnd_stamp = sk.host.world.now


def tcp_cwnd_validate(sk: TcpSock, is_cwnd_limited: bool) -> None:
    """``tcp_cwnd_validate``: track how much of the window is used each round trip."""
    if not before(sk.snd_una, sk.max_packets_seq) or sk.packets_out > sk.max_packets_out or is_cwnd_limited:
        sk.max_packets_out = sk.packets_out
        sk.max_packets_seq = sk.snd_nxt
        sk.is_cwnd_limited = is_cwnd_limited
    now = sk.host.world.now
    if tcp_is_cwnd_limited(sk):
        sk.snd_cwnd_used = 0
        sk.snd_cwnd_stamp = now
    else:
        if sk.packets_out > sk.snd_cwnd_used:
            sk.snd_cwnd_used = sk.packets_out
        if (sk.host.sysctl["net.ipv4.tcp_slow_start_after_idle"] and now - sk.snd_cwnd_stamp >= sk.icsk_rto
                and sk.icsk_ca_ops.cong_control is None):
            tcp_cwnd_application_limited(sk)
        if (not sk.sk_write_queue and sk.sk_socket is not None and sk.sock_flags & SOCK_NOSPACE
                and sk.sk_state in (TCP_ESTABLISHED, TCP_CLOSE_WAIT)):
            tcp_chrono_start(sk, TCP_CHRONO_SNDBUF_LIMITED)


def tcp_small_queue_check(sk: TcpSock, skb: SkBuff, factor: int) -> bool:
    """``tcp_small_queue_check`` (TCP Small Queues): hold back while the qdisc and device below
    already keep more than about 1 ms of this flow at its pacing rate (at least two packets),
    and never more than ``tcp_limit_output_bytes``, a paced flow too (Linux 6.16+: "always use
    tcp_limit_output_bytes limitation"); ``tcp_wfree`` resumes the sending when they leave.
    True when the caller must stop."""
    limit = max(2 * tcp_skb_cb(skb).truesize, sk.sk_pacing_rate >> sk.sk_pacing_shift)
    limit = min(limit, sk.host.sysctl["net.ipv4.tcp_limit_output_bytes"])
    limit <<= factor
    if sk.sk_wmem_alloc > limit:
        # Always send when the retransmit queue is empty or holds one packet: no TX completion
        # may call us back soon (tcp_rtx_queue_empty_or_single_skb, Linux 6.6).
        if len(sk.tcp_rtx_queue) <= 1:
            return False
        sk.tsq_throttled = True
        return True
    return False


def tcp_wfree(skb: OwnedBuffer) -> None:
    """``tcp_wfree``, the destructor of TCP's packets: one left the host or was dropped; a socket
    throttled by TCP Small Queues is queued for the TSQ tasklet (``tcp_tasklet_func``), which
    sends more."""
    sk = skb.sk
    sk.sk_wmem_alloc -= skb.truesize
    if not sk.tsq_throttled:
        return
    sk.tsq_throttled = False
    if sk.tsq_tasklet is None:
        sk.tsq_tasklet = sk.host.timer(tcp_tsq_handler, sk)
    sk.tsq_tasklet.mod(sk.host.world.now)


def tcp_pacing_check(sk: TcpSock) -> bool:
    """``tcp_pacing_check``: with TCP pacing itself (``SK_PACING_NEEDED``: a rate-based congestion
    control or SO_MAX_PACING_RATE, and no fq below), the next segment may not leave before its
    Earliest Departure Time; arm the pacing timer for it and tell the caller to stop."""
    if sk.sk_pacing_status != SK_PACING_NEEDED or sk.tcp_wstamp_ns <= sk.host.world.now:
        return False
    timer = sk.pacing_timer
    if timer is None:
        timer = sk.pacing_timer = sk.host.timer(tcp_pace_kick, sk)
    if not timer.pending():
        timer.mod(sk.tcp_wstamp_ns)
    return True


def tcp_pace_kick(sk: TcpSock) -> None:
    """``tcp_pace_kick``: the pacing hrtimer fired; send what waits (``tcp_tsq_handler``)."""
    tcp_tsq_handler(sk)


def tcp_tsq_handler(sk: TcpSock) -> None:
    """``tcp_tsq_handler`` → ``tcp_tsq_write``: retransmit what is lost, then send new data."""
    if sk.sk_state not in (TCP_ESTABLISHED, TCP_FIN_WAIT1, TCP_CLOSING, TCP_CLOSE_WAIT, TCP_LAST_ACK):
        return
    if sk.lost_out > sk.retrans_out and sk.snd_cwnd > tcp_packets_in_flight(sk):
        tcp_xmit_retransmit_queue(sk)
    tcp_write_xmit(sk, tcp_current_mss(sk), sk.nonagle, 0)


def tcp_mtu_check_reprobe(sk: TcpSock) -> None:
    """``tcp_mtu_check_reprobe``: the search has ended; after ``tcp_probe_interval`` seconds it
    starts again from the current MSS up to the peer's, in case the path has grown."""
    mtup = sk.icsk_mtup
    now = sk.host.world.now
    if now - mtup.probe_timestamp >= sk.host.sysctl["net.ipv4.tcp_probe_interval"] * NSEC_PER_SEC:
        mss = tcp_current_mss(sk)
        mtup.probe_size = 0
        mtup.search_high = sk.rx_opt.mss_clamp + 20 + 20
        mtup.search_low = tcp_mss_to_mtu(sk, mss)
        mtup.probe_timestamp = now


def tcp_can_coalesce_send_queue_head(sk: TcpSock, length: int) -> bool:
    """``tcp_can_coalesce_send_queue_head``: the first ``length`` bytes of the write queue may be
    sent as one segment (no end-of-record mark before them, no mix of a zerocopy send's pages
    with other bytes: ``tcp_skb_can_collapse``)."""
    queue = sk.sk_write_queue
    for i, skb in enumerate(queue):
        if length <= skb.tail - skb.data:
            break
        if not tcp_skb_can_collapse(skb, queue[i + 1] if i + 1 < len(queue) else skb):
            return False
        length -= skb.tail - skb.data
    return True


def tcp_mtu_probe(sk: TcpSock) -> int:
    """``tcp_mtu_probe`` (RFC 4821 section 7.3): send the head of the write queue as one segment
    of the size half-way between ``search_low`` and ``search_high``, followed by enough ordinary
    segments that its loss shows as a fast retransmit rather than a timeout.  1 when a probe
    went, 0 to wait (for the window or for cwnd to drain), -1 when there is nothing to probe."""
    mtup = sk.icsk_mtup
    if (not mtup.enabled or mtup.probe_size or sk.icsk_ca_state != TCP_CA_Open or sk.snd_cwnd < 11
            or sk.selective_acks or sk.duplicate_sack):
        return -1
    mss_now = tcp_current_mss(sk)
    probe_size = tcp_mtu_to_mss(sk, (mtup.search_high + mtup.search_low) >> 1)
    size_needed = probe_size + (sk.reordering + 1) * sk.mss_cache
    interval = mtup.search_high - mtup.search_low
    if (probe_size > tcp_mtu_to_mss(sk, mtup.search_high)
            or interval < sk.host.sysctl["net.ipv4.tcp_probe_threshold"]):
        tcp_mtu_check_reprobe(sk)
        return -1
    if ((sk.write_seq - sk.snd_nxt) & SEQ_MASK) < size_needed or sk.snd_wnd < size_needed:
        return -1
    if after((sk.snd_nxt + size_needed) & SEQ_MASK, tcp_wnd_end(sk)):
        return 0
    in_flight = tcp_packets_in_flight(sk)
    if in_flight + 2 > sk.snd_cwnd:
        return 0 if in_flight else -1
    if not tcp_can_coalesce_send_queue_head(sk, probe_size):
        return -1
    queue = sk.sk_write_queue
    head = queue[0]
    nskb = tcp_stream_alloc_skb(sk)
    ncb = tcp_skb_cb(nskb)
    nskb.seq = head.seq
    nskb.end_seq = (head.seq + probe_size) & SEQ_MASK
    nskb.tcp_flags = TCPHDR_ACK
    length = 0
    while length < probe_size:
        skb = queue[0]
        have = skb.tail - skb.data
        copy = min(have, probe_size - length)
        for view in skb_views(skb, skb.data, skb.data + copy):  # one copy, as skb_copy_bits
            skb_add_data(nskb, view)
        if have <= copy:
            tcp_eat_one_skb(sk, nskb, skb)
        else:
            nskb.tcp_flags |= skb.tcp_flags & ~(TCPHDR_FIN | TCPHDR_PSH)
            __pskb_trim_head(skb, copy)
            skb.seq = (skb.seq + copy) & SEQ_MASK
            tcp_set_skb_tso_segs(skb, mss_now)
        length += copy
    ncb.truesize += probe_size
    sk_wmem_queued_add(sk, ncb.truesize)
    sk.sk_forward_alloc -= ncb.truesize  # sk_mem_charge
    queue.appendleft(nskb)
    tcp_set_skb_tso_segs(nskb, probe_size)
    if tcp_transmit_skb(sk, nskb):
        return -1  # tcp_write_xmit sends it in MSS-sized pieces
    sk.snd_cwnd -= 1  # the probe counts as two segments
    tcp_event_new_data_sent(sk, nskb)
    mtup.probe_size = tcp_mss_to_mtu(sk, probe_size)
    mtup.probe_seq_start = nskb.seq
    mtup.probe_seq_end = nskb.end_seq
    return 1


def tcp_eat_one_skb(sk: TcpSock, dst: SkBuff, src: SkBuff) -> None:
    """``tcp_eat_one_skb``: ``src``, of the write queue, has given all its bytes to ``dst``, which
    takes its flags, end of record and send timestamps; it goes."""
    dst.tcp_flags |= src.tcp_flags
    tcp_skb_cb(dst).eor = tcp_skb_cb(src).eor
    tcp_skb_collapse_tstamp(dst, src)
    sk.sk_write_queue.remove(src)
    tcp_wmem_free_skb(sk, src)


def tcp_grow_skb(sk: TcpSock, skb: SkBuff, amount: int) -> None:
    """``tcp_grow_skb`` (Linux 6.10+): the head of the write queue takes up to ``amount`` bytes
    from the buffer after it (``skb_shift``; not a zerocopy send's pages), so that what cwnd
    allows goes as one TSO packet, and the next buffer goes if it gave them all.  The bytes move
    as page fragments, as ``skb_shift`` moves page references: none is copied."""
    queue = sk.sk_write_queue
    if skb is queue[-1]:
        return
    next_skb = queue[1]
    if not tcp_skb_can_collapse(skb, next_skb) or skb.destructor_arg is not None \
            or next_skb.destructor_arg is not None:
        return
    nlen = min(amount, next_skb.tail - next_skb.data)
    if not nlen:
        return
    # Bytes at the start of a head of its own that was never sent have its unused headroom before
    # them, free for the headers of the segment that GSO cuts there (skb_gso_segment).
    if next_skb.frags is None:
        room = MAX_TCP_HEADER if next_skb.data == MAX_TCP_HEADER and next_skb.cloned is False \
            and next_skb.buf.__class__ is bytearray else 0
        skb_add_frag(skb, next_skb.buf, next_skb.data, next_skb.data + nlen, room)
        next_skb.data += nlen
    else:
        skb_add_frags(skb, next_skb, next_skb.data, next_skb.data + nlen)
        __pskb_trim_head(next_skb, nlen)
    tcp_skb_cb(skb).truesize += nlen
    tcp_skb_cb(next_skb).truesize -= nlen
    skb.end_seq = (skb.end_seq + nlen) & SEQ_MASK
    next_skb.seq = (next_skb.seq + nlen) & SEQ_MASK
    if next_skb.tail == next_skb.data:
        skb.end_seq = next_skb.end_seq  # (a FIN it carried)
        tcp_eat_one_skb(sk, skb, next_skb)


def tcp_write_xmit(sk: TcpSock, mss_now: int, nonagle: int, push_one: int) -> bool:
    """``tcp_write_xmit``: send queued segments within cwnd, the peer's window, Nagle and TSO
    deferral, an MTU probe first when one is due.  ``push_one`` 1 sends at most one packet, 2 one
    loss probe even beyond cwnd.  A head buffer smaller than what cwnd allows grows first
    (``tcp_grow_skb``), and its segment count is set anew (Linux 6.10+).

    Returns True when nothing is in flight yet something waits (the caller arms the probe timer)."""
    queue = sk.sk_write_queue
    sent_pkts = 0
    if not push_one and sk.icsk_mtup.enabled:
        result = tcp_mtu_probe(sk)
        if not result:
            return False
        if result > 0:
            sent_pkts = 1
    is_cwnd_limited = False
    is_rwnd_limited = False
    max_segs = tcp_tso_segs(sk, mss_now)
    while queue:
        skb = queue[0]
        if sk.repair and sk.repair_queue == TCP_SEND_QUEUE:
            # repair mode: the segment counts as sent, and is not (the peer had it already); its
            # time starts the retransmission timer
            sk.tcp_wstamp_ns = skb.skb_mstamp = sk.host.world.now
            sk.tsorted_sent_queue.move_tail(skb)
            tcp_set_skb_tso_segs(skb, mss_now)  # (tcp_init_tso_segs)
        else:
            if tcp_pacing_check(sk):
                break
            cwnd_quota = tcp_cwnd_test(sk)
            if not cwnd_quota:
                if push_one == 2:
                    cwnd_quota = 1
                else:
                    break
            cwnd_quota = min(cwnd_quota, max_segs)
            if cwnd_quota * mss_now > skb.tail - skb.data:
                tcp_grow_skb(sk, skb, cwnd_quota * mss_now - (skb.tail - skb.data))
            tso_segs = tcp_set_skb_tso_segs(skb, mss_now)
            if not tcp_snd_wnd_test(sk, skb, mss_now):
                is_rwnd_limited = True
                break
            if tso_segs == 1:
                if not tcp_nagle_test(sk, skb, mss_now, nonagle if skb is queue[-1] else TCP_NAGLE_PUSH):
                    break
            elif not push_one:
                defer, cwnd_lim, rwnd_lim = tcp_tso_should_defer(sk, skb, max_segs)
                is_cwnd_limited |= cwnd_lim
                is_rwnd_limited |= rwnd_lim
                if defer:
                    break
            limit = mss_now
            if tso_segs > 1 and sk.snd_una == sk.snd_up:
                limit = tcp_mss_split_point(sk, skb, mss_now, cwnd_quota, nonagle)
            if skb.tail - skb.data > limit:
                tso_fragment(sk, skb, limit, mss_now)
            if tcp_small_queue_check(sk, skb, 0):
                break
            if skb.end_seq == skb.seq:
                break
            if tcp_transmit_skb(sk, skb):
                break
        tcp_event_new_data_sent(sk, skb)
        tcp_minshall_update(sk, mss_now, skb)
        sent_pkts += tcp_skb_pcount(skb)
        if push_one:
            break
    if is_rwnd_limited:
        tcp_chrono_start(sk, TCP_CHRONO_RWND_LIMITED)
    else:
        tcp_chrono_stop(sk, TCP_CHRONO_RWND_LIMITED)
    is_cwnd_limited |= tcp_packets_in_flight(sk) >= sk.snd_cwnd
    if sent_pkts or is_cwnd_limited:
        tcp_cwnd_validate(sk, is_cwnd_limited)
    if sent_pkts:
        if tcp_in_cwnd_reduction(sk):
            sk.prr_out += sent_pkts
        if push_one != 2:
            tcp_schedule_loss_probe(sk, False)
        return False
    return not sk.packets_out and bool(queue)


def tcp_check_probe_timer(sk: TcpSock) -> None:
    """``tcp_check_probe_timer``: arm the persist timer when data waits with nothing in flight."""
    if not sk.packets_out and not sk.icsk_pending:
        tcp_reset_xmit_timer(sk, ICSK_TIME_PROBE0, tcp_probe0_base(sk), True)


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


# -- send buffer -----------------------------------------------------------------------------

def tcp_sndbuf_expand(sk: TcpSock) -> None:
    """``tcp_sndbuf_expand`` (net/ipv4/tcp_input.c): room for two congestion windows of
    non-GSO segments (or as many as the congestion control's ``sndbuf_expand`` says), each in a
    power-of-two allocation."""
    per_mss = max(sk.rx_opt.mss_clamp, sk.mss_cache) + KERNEL_MAX_TCP_HEADER + SKB_SHINFO_SIZE
    per_mss = (1 << (per_mss - 1).bit_length()) + SKB_STRUCT_SIZE
    nr_segs = max3(TCP_INIT_CWND, sk.snd_cwnd, sk.reordering + 1)
    ca_ops = sk.icsk_ca_ops
    sndmem = (ca_ops.sndbuf_expand(sk) if ca_ops.sndbuf_expand is not None else 2) * nr_segs * per_mss
    if sk.sk_sndbuf < sndmem:
        sk.sk_sndbuf = min(sndmem, sk.host.sysctl["net.ipv4.tcp_wmem"][2])


def tcp_should_expand_sndbuf(sk: TcpSock) -> bool:
    """``tcp_should_expand_sndbuf``: not when the user set SO_SNDBUF or cwnd is full."""
    if sk.sk_userlocks & 1:
        return False
    return tcp_packets_in_flight(sk) < sk.snd_cwnd


def tcp_new_space(sk: TcpSock) -> None:
    """``tcp_new_space``: grow the send buffer if it makes sense, and wake writers."""
    if tcp_should_expand_sndbuf(sk):
        tcp_sndbuf_expand(sk)
        sk.snd_cwnd_stamp = sk.host.world.now
    sk.sk_write_space()


def tcp_check_space(sk: TcpSock) -> None:
    """``tcp_check_space`` (net/ipv4/tcp_input.c): a writer found the buffer full; is there room?"""
    if sk.sk_socket is not None and sk.sock_flags & SOCK_NOSPACE:
        tcp_new_space(sk)
        if not sk.sock_flags & SOCK_NOSPACE:
            tcp_chrono_stop(sk, TCP_CHRONO_SNDBUF_LIMITED)


# -- timers ----------------------------------------------------------------------------------

def inet_csk_reset_xmit_timer(sk: TcpSock, what: int, when: int, max_when: int = TCP_RTO_MAX) -> None:
    """``inet_csk_reset_xmit_timer``: arm the retransmit timer for ``what`` in ``when`` ns."""
    when = min(when, max_when)
    sk.icsk_pending = what
    sk.icsk_timeout = sk.host.world.now + when
    sk.icsk_retransmit_timer.mod(sk.icsk_timeout)


def tcp_pacing_delay(sk: TcpSock) -> int:
    """``tcp_pacing_delay``: how far in the future the next departure time is."""
    delay = sk.tcp_wstamp_ns - sk.host.world.now
    return -(-delay // NSEC_PER_MSEC) * NSEC_PER_MSEC if delay > 0 else 0


def tcp_reset_xmit_timer(sk: TcpSock, what: int, when: int, pace_delay: bool, max_when: int = TCP_RTO_MAX) -> None:
    """``tcp_reset_xmit_timer``: as ``inet_csk_reset_xmit_timer``, after any pacing delay."""
    if pace_delay:
        when += tcp_pacing_delay(sk)
    inet_csk_reset_xmit_timer(sk, what, when, max_when)


def inet_csk_clear_xmit_timer(sk: TcpSock) -> None:
    sk.icsk_pending = 0
    sk.icsk_retransmit_timer.delete()


def tcp_rto_delta_us(sk: TcpSock) -> int:
    """``tcp_rto_delta_us``: how far in the future the RTO of the head segment is (us)."""
    if not sk.tcp_rtx_queue:
        return sk.icsk_rto // 1000
    rto_time_stamp = sk.tcp_rtx_queue[0].skb_mstamp + sk.icsk_rto
    return (rto_time_stamp - sk.host.world.now) // 1000


def tcp_rearm_rto(sk: TcpSock) -> None:
    """``tcp_rearm_rto`` (net/ipv4/tcp_input.c): restart the RTO (RFC 6298 5.3), or stop it
    when nothing is in flight; a pending TLP or RACK timer keeps the RTO's original deadline.
    A Fast Open child's timer resends its SYN-ACK until the handshake ends: it stays put."""
    if sk.fastopen_rsk is not None:
        return
    if not sk.packets_out:
        inet_csk_clear_xmit_timer(sk)
        return
    rto = sk.icsk_rto
    if sk.icsk_pending in (ICSK_TIME_REO_TIMEOUT, ICSK_TIME_LOSS_PROBE):
        rto = usecs_to_jiffies(max(tcp_rto_delta_us(sk), 1))
    tcp_reset_xmit_timer(sk, ICSK_TIME_RETRANS, rto, True)


def tcp_schedule_loss_probe(sk: TcpSock, advancing_rto: bool) -> bool:
    """``tcp_schedule_loss_probe`` (Tail Loss Probe, RFC 8985 section 7): a probe after 2 RTTs
    for SACK connections that are not in loss recovery, nor in a Fast Open child's handshake."""
    early_retrans = sk.host.sysctl["net.ipv4.tcp_early_retrans"]
    if (early_retrans not in (3, 4) or not sk.packets_out or not sk.rx_opt.sack_ok or sk.fastopen_rsk is not None
            or sk.icsk_ca_state not in (TCP_CA_Open, TCP_CA_CWR)):
        return False
    if sk.srtt_us:
        timeout = usecs_to_jiffies(sk.srtt_us >> 2)
        timeout += TCP_RTO_MIN if sk.packets_out == 1 else TCP_TIMEOUT_MIN
    else:
        timeout = TCP_TIMEOUT_INIT
    rto_delta_us = sk.icsk_rto // 1000 if advancing_rto else tcp_rto_delta_us(sk)
    if rto_delta_us > 0:
        timeout = min(timeout, usecs_to_jiffies(rto_delta_us))
    tcp_reset_xmit_timer(sk, ICSK_TIME_LOSS_PROBE, timeout, True)
    return True


def tcp_send_loss_probe(sk: TcpSock) -> None:
    """``tcp_send_loss_probe``: the probe timeout fired; send new data if possible, else
    retransmit the last segment."""
    mss = tcp_current_mss(sk)
    if sk.tlp_high_seq:
        tcp_rearm_rto(sk)
        return
    sk.tlp_retrans = False
    skb = sk.tcp_send_head()
    if skb is not None and tcp_snd_wnd_test(sk, skb, mss):
        pcount = sk.packets_out
        tcp_write_xmit(sk, mss, TCP_NAGLE_OFF, 2)
        if sk.packets_out <= pcount:
            tcp_rearm_rto(sk)
            return
    else:
        if not sk.tcp_rtx_queue:
            sk.icsk_pending = 0
            return
        skb = sk.tcp_rtx_queue[-1]
        pcount = tcp_skb_pcount(skb)
        if pcount > 1 and skb.tail - skb.data > (pcount - 1) * mss:
            skb = tcp_fragment(sk, sk.tcp_rtx_queue, skb, (pcount - 1) * mss, mss)
        if __tcp_retransmit_skb(sk, skb, 1):
            tcp_rearm_rto(sk)
            return
        sk.tlp_retrans = True
    sk.tlp_high_seq = sk.snd_nxt
    sk.host.mib.TcpExt["TCPLossProbes"] += 1
    sk.icsk_pending = 0
    tcp_rearm_rto(sk)


# -- retransmission --------------------------------------------------------------------------

def tcp_probe0_base(sk: TcpSock) -> int:
    """``tcp_probe0_base``: the persist timer starts from the RTO (at least 200 ms)."""
    return max(sk.icsk_rto, TCP_RTO_MIN)


def tcp_probe0_when(sk: TcpSock, max_when: int) -> int:
    """``tcp_probe0_when``: the backed-off persist interval."""
    backoff = min(sk.icsk_backoff, 63)
    return min(tcp_probe0_base(sk) << backoff, max_when)


def tcp_clamp_probe0_to_user_timeout(sk: TcpSock, when: int) -> int:
    """``tcp_clamp_probe0_to_user_timeout``: never probe past TCP_USER_TIMEOUT."""
    if not sk.icsk_user_timeout or sk.icsk_probes_tstamp < 0:
        return when
    elapsed = max(sk.host.world.now - sk.icsk_probes_tstamp, 0)
    remaining = max(sk.icsk_user_timeout - elapsed, TCP_TIMEOUT_MIN)
    return min(remaining, when)


def tcp_can_collapse(sk: TcpSock, skb: SkBuff) -> bool:
    """``tcp_can_collapse``."""
    return tcp_skb_pcount(skb) <= 1 and not skb.sacked & TCPCB_SACKED_ACKED


def tcp_collapse_retrans(sk: TcpSock, skb: SkBuff) -> bool:
    """``tcp_collapse_retrans``: merge the next segment into ``skb`` for the retransmission."""
    rtx = sk.tcp_rtx_queue
    nxt = rtx[rtx.index(skb) + 1]
    if skb.destructor_arg is not None or nxt.destructor_arg is not None:
        return False  # skb_shift: a zerocopy send's pages are not moved between buffers
    data = skb_copy_bits(skb, 0, skb.tail - skb.data) + skb_copy_bits(nxt, 0, nxt.tail - nxt.data)
    skb.buf = bytearray(data)
    skb.data = 0
    skb.tail = skb.end = len(data)
    skb.frags = None
    skb.data_len = 0
    cb = tcp_skb_cb(skb)
    ncb = tcp_skb_cb(nxt)
    cb.truesize += ncb.truesize - SKB_TRUESIZE_OVERHEAD
    sk_wmem_queued_add(sk, -SKB_TRUESIZE_OVERHEAD)
    sk_mem_uncharge(sk, SKB_TRUESIZE_OVERHEAD)
    skb.end_seq = nxt.end_seq
    skb.tcp_flags |= nxt.tcp_flags
    skb.sacked |= nxt.sacked & TCPCB_EVER_RETRANS
    cb.eor = ncb.eor
    tcp_skb_collapse_tstamp(skb, nxt)
    if sk.highest_sack is nxt:
        sk.highest_sack = skb
    tcp_adjust_pcount(sk, nxt, tcp_skb_pcount(nxt))
    rtx.remove(nxt)
    sk.tsorted_sent_queue.delete(nxt)
    return True


def tcp_retrans_try_collapse(sk: TcpSock, to: SkBuff, space: int) -> None:
    """``tcp_retrans_try_collapse``: retransmit small neighbours as one segment."""
    if not sk.host.sysctl["net.ipv4.tcp_retrans_collapse"] or to.tcp_flags & TCPHDR_SYN:
        return
    rtx = sk.tcp_rtx_queue
    first = True
    i = rtx.index(to)
    while i < len(rtx):
        skb = rtx[i]
        if not tcp_can_collapse(sk, skb) or not tcp_skb_can_collapse_to(to):
            break
        space -= skb.tail - skb.data
        if first:
            first = False
            i += 1
            continue
        if space < 0 or after(skb.end_seq, tcp_wnd_end(sk)):
            break
        if not tcp_collapse_retrans(sk, to):
            break


def __tcp_retransmit_skb(sk: TcpSock, skb: SkBuff, segs: int) -> int:
    """``__tcp_retransmit_skb``: send a queued segment again (trimmed to what is unacknowledged
    and to ``segs`` segments); 0 or -errno."""
    from tuxnet.kernel.errno import EAGAIN, EINVAL

    # Inconclusive MTU probe: once anything is resent, an ACK past the probe no longer says the
    # probe's size got through.
    sk.icsk_mtup.probe_size = 0
    if before(skb.seq, sk.snd_una):
        if before(skb.end_seq, sk.snd_una):
            return -EINVAL
        tcp_trim_head(sk, skb, (sk.snd_una - skb.seq) & SEQ_MASK)
    # Do not send more than we queued; 1/4 is reserved for copying overhead.
    if sk.sk_wmem_alloc > min(sk.sk_wmem_queued + (sk.sk_wmem_queued >> 2), sk.sk_sndbuf):
        return -EAGAIN
    cur_mss = tcp_current_mss(sk)
    if not before(skb.seq, tcp_wnd_end(sk)) and skb.seq != sk.snd_una:
        return -EAGAIN
    length = cur_mss * segs
    if skb.tail - skb.data > length:
        tcp_fragment(sk, sk.tcp_rtx_queue, skb, length, cur_mss)
    else:
        skb_unclone(skb)
        diff = tcp_skb_pcount(skb)
        tcp_set_skb_tso_segs(skb, cur_mss)
        diff -= tcp_skb_pcount(skb)
        if diff:
            tcp_adjust_pcount(sk, skb, diff)
        if skb.tail - skb.data < cur_mss:
            tcp_retrans_try_collapse(sk, skb, cur_mss)
    segs = tcp_skb_pcount(skb)
    mib = sk.host.mib
    mib.Tcp["RetransSegs"] += segs
    if skb.tcp_flags & TCPHDR_SYN:
        mib.TcpExt["TCPSynRetrans"] += 1
    sk.total_retrans += segs
    sk.bytes_retrans += skb.tail - skb.data
    err = tcp_transmit_skb(sk, skb)
    skb.sacked |= TCPCB_EVER_RETRANS
    if err:
        mib.TcpExt["TCPRetransFail"] += segs
    return err


def tcp_retransmit_skb(sk: TcpSock, skb: SkBuff, segs: int) -> int:
    """``tcp_retransmit_skb``: retransmit and account it (retrans_out, retrans_stamp, undo)."""
    err = __tcp_retransmit_skb(sk, skb, segs)
    if err == 0:
        skb.sacked |= TCPCB_RETRANS
        sk.retrans_out += tcp_skb_pcount(skb)
        skb.tx_count += 1
    if sk.retrans_stamp < 0:
        sk.retrans_stamp = skb.skb_mstamp
    if sk.undo_retrans < 0:
        sk.undo_retrans = 0
    sk.undo_retrans += tcp_skb_pcount(skb)
    return err


def tcp_xmit_retransmit_queue(sk: TcpSock) -> None:
    """``tcp_xmit_retransmit_queue``: resend segments marked lost while cwnd allows (RFC 6675
    section 5, NextSeg() rule 1)."""
    if not sk.packets_out:
        return
    rtx = sk.tcp_rtx_queue
    max_segs = tcp_tso_segs(sk, tcp_current_mss(sk))
    rearm_timer = False
    i = 0
    while i < len(rtx):
        skb = rtx[i]
        segs = sk.snd_cwnd - tcp_packets_in_flight(sk)
        if segs <= 0:
            break
        sacked = skb.sacked
        segs = min(segs, max_segs)
        if sk.retrans_out >= sk.lost_out:
            break
        if not sacked & TCPCB_LOST:
            i += 1
            continue
        if sacked & (TCPCB_SACKED_ACKED | TCPCB_SACKED_RETRANS):
            i += 1
            continue
        if tcp_pacing_check(sk):
            break
        if tcp_small_queue_check(sk, skb, 1):
            break
        if tcp_retransmit_skb(sk, skb, segs):
            break
        mib = "TCPFastRetrans" if sk.icsk_ca_state != TCP_CA_Loss else "TCPSlowStartRetrans"
        sk.host.mib.TcpExt[mib] += tcp_skb_pcount(skb)
        if tcp_in_cwnd_reduction(sk):
            sk.prr_out += tcp_skb_pcount(skb)
        if skb is rtx[0] and sk.icsk_pending != ICSK_TIME_REO_TIMEOUT:
            rearm_timer = True
        i = rtx.index(skb) + 1
    if rearm_timer:
        tcp_reset_xmit_timer(sk, ICSK_TIME_RETRANS, sk.icsk_rto, True)


# -- control segments ------------------------------------------------------------------------

def tcp_control_skb(seq: int, flags: int) -> SkBuff:
    """``tcp_init_nondata_skb``: an empty segment for SYN/FIN/RST/ACK."""
    skb = alloc_skb(0, MAX_TCP_HEADER)
    skb.seq = seq
    skb.end_seq = (seq + (1 if flags & (TCPHDR_SYN | TCPHDR_FIN) else 0)) & SEQ_MASK
    skb.tcp_flags = flags
    cb = tcp_skb_cb(skb)
    cb.pcount = 1
    return skb


def tcp_acceptable_seq(sk: TcpSock) -> int:
    """``tcp_acceptable_seq``: SND.NXT, unless the peer shrank its window below it."""
    wnd_end = tcp_wnd_end(sk)
    if not before(wnd_end, sk.snd_nxt) or (sk.rx_opt.wscale_ok and
                                           ((sk.snd_nxt - wnd_end) & SEQ_MASK) < (1 << sk.rx_opt.rcv_wscale)):
        return sk.snd_nxt
    return wnd_end


def __tcp_send_ack(sk: TcpSock, rcv_nxt: int) -> None:
    """``__tcp_send_ack``: a pure ACK now, acknowledging ``rcv_nxt``."""
    if sk.sk_state == TCP_CLOSE:
        return
    __tcp_transmit_skb(sk, tcp_control_skb(tcp_acceptable_seq(sk), TCPHDR_ACK), False, rcv_nxt)


def tcp_send_ack(sk: TcpSock) -> None:
    """``tcp_send_ack``."""
    __tcp_send_ack(sk, sk.rcv_nxt)


def tcp_send_delayed_ack(sk: TcpSock) -> None:
    """``tcp_send_delayed_ack``: arm the delayed-ACK timer (40 ms up to 200 ms, or the RTT)."""
    ack = sk.icsk_ack
    ato = ack.ato
    if ato > TCP_DELACK_MIN:
        max_ato = 500 * NSEC_PER_MSEC
        if ack.pingpong or ack.pending & ICSK_ACK_PUSHED:
            max_ato = TCP_DELACK_MAX
        if sk.srtt_us:
            rtt = max(usecs_to_jiffies(sk.srtt_us >> 3), TCP_DELACK_MIN)
            if rtt < max_ato:
                max_ato = rtt
        ato = min(ato, max_ato)
    ato = min(ato, TCP_DELACK_MAX)
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


def tcp_queue_skb(sk: TcpSock, skb: SkBuff) -> None:
    """``tcp_queue_skb``: append to the write queue; write_seq moves on."""
    sk.write_seq = skb.end_seq
    sk.sk_write_queue.append(skb)
    truesize = tcp_skb_cb(skb).truesize
    sk_wmem_queued_add(sk, truesize)
    sk.sk_forward_alloc -= truesize  # sk_mem_charge


def tcp_send_fin(sk: TcpSock) -> None:
    """``tcp_send_fin``: put FIN on the last unsent segment, or queue a bare FIN, and push."""
    queue = sk.sk_write_queue
    if queue:
        tail = queue[-1]
        tail.tcp_flags |= TCPHDR_FIN
        tail.end_seq = (tail.end_seq + 1) & SEQ_MASK
        sk.write_seq = (sk.write_seq + 1) & SEQ_MASK
    else:
        skb = tcp_control_skb(sk.write_seq, TCPHDR_ACK | TCPHDR_FIN)
        tcp_skb_cb(skb).truesize = SKB_TRUESIZE_OVERHEAD
        sk_mem_schedule(sk, SKB_TRUESIZE_OVERHEAD)  # sk_forced_mem_schedule
        tcp_queue_skb(sk, skb)
    __tcp_push_pending_frames(sk, tcp_current_mss(sk), TCP_NAGLE_OFF)


def tcp_send_active_reset(sk: TcpSock) -> None:
    """``tcp_send_active_reset``: RST with the next sequence number (abort, RFC 9293 3.10.5)."""
    sk.host.mib.Tcp["OutRsts"] += 1
    tcp_transmit_skb(sk, tcp_control_skb(tcp_acceptable_seq(sk), TCPHDR_ACK | TCPHDR_RST), False)


def tcp_send_synack(sk: TcpSock) -> int:
    """``tcp_send_synack``: simultaneous open answers a SYN with SYN-ACK from SYN_SENT state."""
    if not sk.tcp_rtx_queue:
        return -1
    skb = sk.tcp_rtx_queue[0]
    if not skb.tcp_flags & TCPHDR_ACK:
        skb.tcp_flags |= TCPHDR_ACK
        skb.tcp_flags &= ~TCPHDR_CWR
        if not sk.ecn_flags & TCP_ECN_OK:
            skb.tcp_flags &= ~TCPHDR_ECE
    return tcp_transmit_skb(sk, skb)


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
    rt = sk.dst_cache
    tcp_mtup_init(sk)
    tcp_sync_mss(sk, dst_mtu(rt))
    sk.advmss = tcp_advmss(sk, rt)
    tcp_initialize_rcv_mss(sk)
    if sk.sk_userlocks & SOCK_RCVBUF_LOCK and (sk.window_clamp > tcp_full_space(sk) or sk.window_clamp == 0):
        sk.window_clamp = tcp_full_space(sk)
    rcv_wnd, clamp, wscale = tcp_select_initial_window(
        sk, tcp_full_space(sk), sk.advmss - (sk.tcp_header_len - 20 if opt.ts_recent_stamp else 0), opt.wscale_ok)
    sk.rcv_wnd = rcv_wnd
    sk.window_clamp = clamp
    opt.rcv_wscale = wscale
    sk.rcv_ssthresh = rcv_wnd
    sk.snd_wnd = 0
    sk.snd_wl1 = 0
    sk.snd_una = sk.write_seq
    sk.snd_sml = sk.write_seq
    sk.snd_up = sk.write_seq
    sk.snd_nxt = sk.write_seq
    if sk.repair:
        sk.rcv_tstamp = sk.host.world.now  # (RCV.NXT is the one TCP_QUEUE_SEQ set)
    else:
        sk.rcv_nxt = 0
    sk.rcv_wup = sk.copied_seq = sk.rcv_nxt
    sk.icsk_rto = TCP_TIMEOUT_INIT
    sk.icsk_retransmits = 0
    sk.retrans_out = sk.lost_out = sk.sacked_out = 0
    sk.undo_marker = 0
    sk.undo_retrans = -1


def tcp_advmss(sk: TcpSock, rt: Rtable) -> int:
    """``tcp_mss_clamp(tp, dst_metric_advmss(dst))``: the MSS we announce, the route's (its
    ``advmss`` metric, or its MTU less the headers), no more than TCP_MAXSEG."""
    advmss = dst_metric_advmss(rt)
    if sk.rx_opt.user_mss and sk.rx_opt.user_mss < advmss:
        advmss = sk.rx_opt.user_mss
    return advmss


def tcp_initialize_rcv_mss(sk: TcpSock) -> None:
    """``tcp_initialize_rcv_mss``: a first guess at the peer's segment size."""
    hint = min(sk.advmss, sk.mss_cache)
    hint = min(hint, sk.rcv_wnd // 2)
    hint = min(hint, TCP_MSS_DEFAULT)
    sk.icsk_ack.rcv_mss = max(hint, 88)


def tcp_ecn_send_syn(sk: TcpSock, skb: SkBuff) -> None:
    """``tcp_ecn_send_syn`` (RFC 3168 section 6.1.1): offer ECN with ECE|CWR when enabled."""
    sk.ecn_flags = 0
    if sk.host.sysctl["net.ipv4.tcp_ecn"] == 1:
        skb.tcp_flags |= TCPHDR_ECE | TCPHDR_CWR
        sk.ecn_flags = TCP_ECN_OK


def tcp_connect(sk: TcpSock) -> int:
    """``tcp_connect``: send the SYN and arm its retransmission; in repair mode the connection is
    made at once, without one (``tcp_finish_connect``), from the sequence numbers set."""
    tcp_connect_init(sk)
    if sk.repair:
        from tuxnet.net.ipv4.tcp_input import tcp_finish_connect

        tcp_finish_connect(sk)
        return 0
    skb = tcp_stream_alloc_skb(sk)
    seq = sk.write_seq
    skb.seq = seq
    skb.end_seq = (seq + 1) & SEQ_MASK
    skb.tcp_flags = TCPHDR_SYN
    tcp_skb_cb(skb).pcount = 1
    sk.retrans_stamp = sk.host.world.now
    sk.write_seq = skb.end_seq
    truesize = tcp_skb_cb(skb).truesize
    sk_wmem_queued_add(sk, truesize)  # tcp_connect_queue_skb
    sk.sk_forward_alloc -= truesize  # sk_mem_charge
    sk.packets_out += 1
    tcp_ecn_send_syn(sk, skb)
    sk.tcp_rtx_queue.append(skb)
    if sk.fastopen_req is not None:
        tcp_send_syn_data(sk, skb)
    else:
        tcp_transmit_skb(sk, skb)
    sk.snd_nxt = sk.write_seq
    sk.pushed_seq = sk.write_seq
    sk.host.mib.Tcp["ActiveOpens"] += 1
    inet_csk_reset_xmit_timer(sk, ICSK_TIME_RETRANS, sk.icsk_rto)
    return 0


def tcp_send_syn_data(sk: TcpSock, syn: SkBuff) -> int:
    """``tcp_send_syn_data``: a client's Fast Open SYN.  With a cookie cached for the server (or
    none needed) the SYN carries it and as much of the waiting data as fits in a segment of the
    cached MSS with room for every option; the data stays queued after the SYN, as a segment of
    its own, for a retransmission to send without the SYN.  Without a cookie a plain SYN asks for
    one.  Retransmitted SYNs carry no Fast Open option."""
    fo = sk.fastopen_req
    opt = sk.rx_opt
    opt.mss_clamp = sk.advmss  # if no MSS is cached
    ok, cached_mss = tcp_fastopen_cookie_check(sk, fo.cookie)
    if cached_mss:
        opt.mss_clamp = cached_mss
    err = 0
    if ok:
        if opt.user_mss and opt.user_mss < opt.mss_clamp:
            opt.mss_clamp = opt.user_mss
        tcp_sync_mss(sk, sk.pmtu_cookie)
        # __tcp_mtu_to_mss: the MSS before this connection's options are taken off
        space = tcp_mtu_to_mss(sk, sk.pmtu_cookie) + sk.tcp_header_len - 20 - MAX_TCP_OPTION_SPACE
        # the SYN's data is copied into the socket's page fragment, a fresh one (nothing was sent
        # before): no more than its 32 KB (skb_page_frag_refill)
        space = max(min3(space, fo.size, SKB_FRAG_PAGE_SIZE), 0)
        # the data cannot be copied from a bad buffer (EFAULT): a plain SYN
        ok = not (space and fo.data is None)
    if ok:
        syn_data = tcp_stream_alloc_skb(sk)
        if space:
            skb_add_data(syn_data, fo.data[:space])
        if space == fo.size:
            fo.data = None  # nothing more waits for the handshake
        fo.copied = space
        # tcp_connect_queue_skb: the SYN's control block, its end moved past the data
        syn_data.seq = syn.seq
        syn_data.end_seq = (syn.end_seq + space) & SEQ_MASK
        syn_data.tcp_flags = syn.tcp_flags
        cb = tcp_skb_cb(syn_data)
        cb.pcount = 1
        cb.truesize += space
        sk_wmem_queued_add(sk, cb.truesize)
        sk.sk_forward_alloc -= cb.truesize  # sk_mem_charge
        sk.write_seq = syn_data.end_seq
        sk.packets_out += 1
        if space:
            tcp_chrono_start(sk, TCP_CHRONO_BUSY)
        err = tcp_transmit_skb(sk, syn_data)
        syn.skb_mstamp = syn_data.skb_mstamp
        # The SYN and its data went as one; what stays queued is the data alone, after the SYN.
        syn_data.seq = (syn_data.seq + 1) & SEQ_MASK
        syn_data.tcp_flags = TCPHDR_ACK | TCPHDR_PSH
        if not err:
            sk.syn_data = fo.copied > 0
            sk.tcp_rtx_queue.append(syn_data)
            sk.host.mib.TcpExt["TCPOrigDataSent"] += 1
            fo.cookie.len = -1
            return 0
        # not sent: the data waits on the write queue, the SYN goes alone
        sk.sk_write_queue.append(syn_data)
        sk.packets_out -= 1
    if fo.cookie.len > 0:
        fo.cookie.len = 0
    err = tcp_transmit_skb(sk, syn)
    if err:
        sk.syn_fastopen = False
    fo.cookie.len = -1  # no Fast Open option on a retransmitted SYN
    return err


def tcp_make_synack(sk: TcpSock, req: RequestSock, foc: TcpFastopenCookie | None = None,
                    cookie: bool = False) -> SkBuff:
    """``tcp_make_synack``: the SYN-ACK of a request socket (``tcp_synack_options`` order), with
    the Fast Open cookie ``foc`` if one is given and fits.  It acknowledges the SYN, and with Fast
    Open the SYN's data (``req.rcv_nxt``).  With the listener's MD5 key for the peer it is signed,
    and, unless it carries a SYN cookie, gives up timestamps for SACK: a segment with both and the
    signature has no room for a SACK block."""
    md5 = sk.md5sig_info and tcp_v4_md5_lookup(sk, req)
    if md5 and not cookie:
        req.tstamp_ok = req.tstamp_ok and not req.sack_ok
    ts = (req.ts_now(), req.ts_recent) if req.tstamp_ok else None
    opts = tcp_options_write(mss=req.mss, ts=ts, sack_perm=req.sack_ok,
                             wscale=req.rcv_wscale if req.wscale_ok else -1)
    if md5:
        opts = MD5_OPTION + opts
    if foc is not None and foc.len >= 0 and tcp_fastopen_option_fits(foc, len(opts)):
        opts += tcp_fastopen_option(foc)
    th_len = 20 + len(opts)
    skb = alloc_skb(th_len, MAX_TCP_HEADER)
    d = skb.data
    skb.put(th_len)
    flags = TCPHDR_SYN | TCPHDR_ACK | (TCPHDR_ECE if req.ecn_ok else 0)
    _tcphdr.pack_into(skb.buf, d, req.loc_port, req.rmt_port, req.snt_isn, req.rcv_nxt,
                      (th_len << 10) | flags, min(req.rcv_wnd, 0xFFFF), 0, 0)
    skb.buf[d + 20:d + th_len] = opts
    skb.transport_header = d
    if md5:
        tcp_md5_sign(skb, md5, req.loc_addr, req.rmt_addr)
    tcp_v4_send_check(skb, req.loc_addr, req.rmt_addr)
    return skb


# -- zero window probes ----------------------------------------------------------------------

def tcp_send_window_probe(sk: TcpSock) -> None:
    """``tcp_send_window_probe``: as repair mode ends, an ACK with an old sequence number, which
    the peer must answer with its window (and so the connection's state)."""
    if sk.sk_state == TCP_ESTABLISHED:
        sk.snd_wl1 = (sk.rcv_nxt - 1) & SEQ_MASK
        sk.host.mib.TcpExt["TCPWinProbe"] += 1
        tcp_xmit_probe_skb(sk, False)


def tcp_xmit_probe_skb(sk: TcpSock, urgent: bool) -> int:
    """``tcp_xmit_probe_skb``: an ACK with an old sequence number, which the peer must answer."""
    seq = (sk.snd_una - (0 if urgent else 1)) & SEQ_MASK
    return tcp_transmit_skb(sk, tcp_control_skb(seq, TCPHDR_ACK), False)


def tcp_write_wakeup(sk: TcpSock, mib: str) -> int:
    """``tcp_write_wakeup``: send new data if the window opened, else a window probe."""
    if sk.sk_state == TCP_CLOSE:
        return -1
    skb = sk.tcp_send_head()
    if skb is not None and before(skb.seq, tcp_wnd_end(sk)):
        mss = tcp_current_mss(sk)
        seg_size = (tcp_wnd_end(sk) - skb.seq) & SEQ_MASK
        if before(sk.pushed_seq, skb.end_seq):
            sk.pushed_seq = skb.end_seq
        if seg_size < ((skb.end_seq - skb.seq) & SEQ_MASK) or skb.tail - skb.data > mss:
            seg_size = min(seg_size, mss)
            skb.tcp_flags |= TCPHDR_PSH
            tcp_fragment(sk, sk.sk_write_queue, skb, seg_size, mss)
        elif not tcp_skb_cb(skb).pcount:
            tcp_set_skb_tso_segs(skb, mss)
        skb.tcp_flags |= TCPHDR_PSH
        err = tcp_transmit_skb(sk, skb)
        if not err:
            tcp_event_new_data_sent(sk, skb)
        return err
    sk.host.mib.TcpExt[mib] += 1
    return tcp_xmit_probe_skb(sk, False)


def tcp_send_probe0(sk: TcpSock) -> None:
    """``tcp_send_probe0``: probe a zero window, backing off while it stays shut."""
    err = tcp_write_wakeup(sk, "TCPWinProbe")
    if sk.packets_out or not sk.sk_write_queue:
        sk.icsk_probes_out = 0
        sk.icsk_backoff = 0
        sk.icsk_probes_tstamp = -1
        return
    sk.icsk_probes_out += 1
    if err <= 0:
        if sk.icsk_backoff < sk.host.sysctl["net.ipv4.tcp_retries2"]:
            sk.icsk_backoff += 1
        timeout = tcp_probe0_when(sk, TCP_RTO_MAX)
    else:
        timeout = TCP_RESOURCE_PROBE_INTERVAL
    timeout = tcp_clamp_probe0_to_user_timeout(sk, timeout)
    tcp_reset_xmit_timer(sk, ICSK_TIME_PROBE0, timeout, True)


def tcp_simple_retransmit(sk: TcpSock) -> None:
    """``tcp_simple_retransmit``: the path MTU shrank (``tcp_v4_mtu_reduced``, RFC 1191) or an MTU
    probe was lost, so resend at once every segment that no longer fits, without reducing cwnd."""
    from tuxnet.net.ipv4.tcp_input import tcp_mark_skb_lost

    mss = tcp_current_mss(sk)
    for skb in sk.tcp_rtx_queue:
        seglen = skb.tail - skb.data if tcp_skb_pcount(skb) == 1 else tcp_skb_mss(skb)
        if seglen > mss:
            tcp_mark_skb_lost(sk, skb)
    if not sk.lost_out:
        return
    tcp_non_congestion_loss_retransmit(sk)


def tcp_non_congestion_loss_retransmit(sk: TcpSock) -> None:
    """``tcp_non_congestion_loss_retransmit``: segments lost for a reason other than congestion
    (too large for the path, or a Fast Open SYN's data the server did not take) go again at once,
    in the Loss state but with ssthresh kept and nothing to undo."""
    from tuxnet.net.ipv4.tcp_input import tcp_set_ca_state

    if sk.icsk_ca_state != TCP_CA_Loss:
        sk.high_seq = sk.snd_nxt
        sk.snd_ssthresh = tcp_current_ssthresh(sk)
        sk.prior_ssthresh = 0
        sk.undo_marker = 0
        tcp_set_ca_state(sk, TCP_CA_Loss)
    tcp_xmit_retransmit_queue(sk)
