"""SYN cookies (net/ipv4/syncookies.c): when a listener's SYN queue is full, answer a SYN with a
SYN-ACK whose sequence number encodes the connection (a keyed hash of the 4-tuple, a minute
counter and the MSS), keep no state, and rebuild the request from the ACK that echoes it."""

from __future__ import annotations

from typing import TYPE_CHECKING

from tuxnet.net.ipv4.ip_output import IPPROTO_TCP
from tuxnet.net.ipv4.route import inet_sk_flowi_flags, ip_route_output_key
from tuxnet.net.ipv4.tcp_input import tcp_parse_options
from tuxnet.net.ipv4.tcp_minisocks import RequestSock
from tuxnet.net.ipv4.tcp_output import tcp_advmss, tcp_full_space, tcp_select_initial_window
from tuxnet.net.ipv4.tcp_sock import SEQ_MASK, TCPHDR_ACK, TCPHDR_RST, TcpOptionsReceived, TcpSock

if TYPE_CHECKING:
    from tuxnet.net.core.skbuff import SkBuff

# msstab: the MSS values a cookie can carry, indexed by two bits of the cookie.
MSSTAB = (536, 1300, 1440, 1460)
COOKIEBITS = 24
COOKIEMASK = (1 << COOKIEBITS) - 1
# A cookie is good for the minute it was made in and the next (MAX_SYNCOOKIE_AGE).
MAX_SYNCOOKIE_AGE = 2
TCP_SYNCOOKIE_PERIOD = 60 * 1_000_000_000
# tcp_synq_no_recent_overflow: cookies are checked only for two minutes after the last one sent.
TCP_SYNCOOKIE_VALID = 2 * TCP_SYNCOOKIE_PERIOD
# The low TSBITS bits of a cookie's TSval carry the options the SYN asked for (cookie_init_timestamp).
TS_OPT_WSCALE_MASK = 0xF
TS_OPT_SACK = 1 << 4
TS_OPT_ECN = 1 << 5
TSBITS = 6


def tcp_cookie_time(now: int) -> int:
    """``tcp_cookie_time``: the minute counter."""
    return (now // TCP_SYNCOOKIE_PERIOD) & 0xFFFFFFFF


def cookie_hash(sk: TcpSock, saddr: int, daddr: int, sport: int, dport: int, count: int, c: int) -> int:
    """``cookie_hash``: siphash of the 4-tuple and ``count`` under secret ``c``."""
    return sk.host.tcp_hashinfo.keyed_hash(saddr, daddr, (sport << 16) | dport, count, 0x636F6F6B + c) & SEQ_MASK


def secure_tcp_syn_cookie(sk: TcpSock, saddr: int, daddr: int, sport: int, dport: int, sseq: int,
                          data: int) -> int:
    """``secure_tcp_syn_cookie``: HASH1(4-tuple) + sseq + count * 2^24 + (HASH2(4-tuple, count) + data) % 2^24."""
    count = tcp_cookie_time(sk.host.world.now)
    return (cookie_hash(sk, saddr, daddr, sport, dport, 0, 0) + sseq + (count << COOKIEBITS)
            + ((cookie_hash(sk, saddr, daddr, sport, dport, count, 1) + data) & COOKIEMASK)) & SEQ_MASK


def check_tcp_syn_cookie(sk: TcpSock, cookie: int, saddr: int, daddr: int, sport: int, dport: int,
                         sseq: int) -> int:
    """``check_tcp_syn_cookie``: the data the cookie carries, or -1 if it is stale or forged."""
    count = tcp_cookie_time(sk.host.world.now)
    cookie = (cookie - cookie_hash(sk, saddr, daddr, sport, dport, 0, 0) - sseq) & SEQ_MASK
    diff = (count - (cookie >> COOKIEBITS)) & (SEQ_MASK >> COOKIEBITS)
    if diff >= MAX_SYNCOOKIE_AGE:
        return -1
    return (cookie - cookie_hash(sk, saddr, daddr, sport, dport, (count - diff) & SEQ_MASK, 1)) & COOKIEMASK


def tcp_synq_overflow(sk: TcpSock) -> None:
    """``tcp_synq_overflow``: remember when the listener last answered with a cookie."""
    sk.rx_opt.ts_recent_stamp = sk.host.world.now


def tcp_synq_no_recent_overflow(sk: TcpSock) -> bool:
    """``tcp_synq_no_recent_overflow``: no cookie went out in the last two minutes."""
    last = sk.rx_opt.ts_recent_stamp
    return not last or sk.host.world.now - last > TCP_SYNCOOKIE_VALID


def cookie_v4_init_sequence(sk: TcpSock, req: RequestSock, seq: int) -> int:
    """``cookie_v4_init_sequence``: the cookie ISN for a SYN; the peer's MSS drops to the
    largest table entry not above it."""
    mssind = max(i for i, m in enumerate(MSSTAB) if i == 0 or req.peer_mss >= m)
    req.peer_mss = MSSTAB[mssind]
    tcp_synq_overflow(sk)
    sk.host.mib.TcpExt["SyncookiesSent"] += 1
    return secure_tcp_syn_cookie(sk, req.rmt_addr, req.loc_addr, req.rmt_port, req.loc_port, seq, mssind)


def cookie_init_timestamp(req: RequestSock, now_ms: int) -> int:
    """``cookie_init_timestamp``: a TSval no later than now whose low bits hold wscale, SACK and
    ECN, so the ACK's TSecr brings them back."""
    options = req.snd_wscale if req.wscale_ok else TS_OPT_WSCALE_MASK
    if req.sack_ok:
        options |= TS_OPT_SACK
    if req.ecn_ok:
        options |= TS_OPT_ECN
    ts = ((now_ms >> TSBITS) << TSBITS) | options
    if ts > now_ms:
        ts -= 1 << TSBITS
    return ts


def cookie_timestamp_decode(sk: TcpSock, opt: TcpOptionsReceived) -> bool:
    """``cookie_timestamp_decode``: the options of the original SYN, from the echoed TSecr."""
    sysctl = sk.host.sysctl
    if not opt.saw_tstamp:
        opt.sack_ok = opt.wscale_ok = False
        opt.snd_wscale = 0
        return True
    if not sysctl["net.ipv4.tcp_timestamps"]:
        return False
    options = opt.rcv_tsecr
    opt.sack_ok = bool(options & TS_OPT_SACK)
    if opt.sack_ok and not sysctl["net.ipv4.tcp_sack"]:
        return False
    if options & TS_OPT_WSCALE_MASK == TS_OPT_WSCALE_MASK:
        return True
    opt.wscale_ok = True
    opt.snd_wscale = options & TS_OPT_WSCALE_MASK
    return bool(sysctl["net.ipv4.tcp_window_scaling"])


def cookie_v4_check(sk: TcpSock, skb: SkBuff) -> TcpSock | None:
    """``cookie_v4_check``: an ACK at a listener that may carry one of our cookies.  Returns the
    listener (not a cookie: carry on), a new child socket, or None (drop)."""
    from tuxnet.net.ipv4.tcp_ipv4 import _addrs, secure_tcp_ts_off, tcp_request_sock_ops, tcp_v4_save_options

    host = sk.host
    mib = host.mib.TcpExt
    flags = skb.tcp_flags
    if not host.sysctl["net.ipv4.tcp_syncookies"] or not flags & TCPHDR_ACK or flags & TCPHDR_RST:
        return sk
    if tcp_synq_no_recent_overflow(sk):
        return sk
    saddr, daddr = _addrs.unpack_from(skb.buf, skb.network_header + 12)
    th = skb.transport_header
    sport = (skb.buf[th] << 8) | skb.buf[th + 1]
    dport = (skb.buf[th + 2] << 8) | skb.buf[th + 3]
    cookie = (skb.ack_seq - 1) & SEQ_MASK
    seq = (skb.seq - 1) & SEQ_MASK
    mssind = check_tcp_syn_cookie(sk, cookie, saddr, daddr, sport, dport, seq)
    if not 0 <= mssind < len(MSSTAB):
        mib["SyncookiesFailed"] += 1
        return sk
    mib["SyncookiesRecv"] += 1
    # tcp_parse_options(..., estab=0): on a non-SYN that reads timestamps when tcp_timestamps is on
    opt = TcpOptionsReceived()
    opt.tstamp_ok = bool(host.sysctl["net.ipv4.tcp_timestamps"])
    tcp_parse_options(skb, opt, True)
    tsoff = 0
    if opt.saw_tstamp and opt.rcv_tsecr:
        tsoff = secure_tcp_ts_off(host, daddr, saddr)
        opt.rcv_tsecr = (opt.rcv_tsecr - tsoff) & SEQ_MASK
    if not cookie_timestamp_decode(sk, opt):
        return sk
    # cookie_tcp_reqsk_alloc: the request socket the SYN would have made.
    rt = ip_route_output_key(host, saddr, daddr, sk.sk_bound_dev_if, mark=sk.sk_mark, tos=sk.tos,
                             flags=inet_sk_flowi_flags(sk), proto=IPPROTO_TCP, sport=dport, dport=sport)
    if isinstance(rt, int):
        return None
    req = RequestSock(sk, tcp_request_sock_ops, daddr, dport, saddr, sport)
    req.ireq_opt = tcp_v4_save_options(host, skb)  # the ACK's, the SYN's being gone
    req.peer_mss = MSSTAB[mssind]
    req.mss = tcp_advmss(sk, rt)
    req.snt_isn = cookie
    req.rcv_isn = seq
    req.rcv_nxt = (seq + 1) & SEQ_MASK
    req.wscale_ok = opt.wscale_ok
    req.snd_wscale = opt.snd_wscale
    req.sack_ok = opt.sack_ok
    req.tstamp_ok = opt.saw_tstamp
    req.ts_recent = opt.rcv_tsval if opt.saw_tstamp else 0
    req.ts_off = tsoff
    req.ecn_ok = bool(opt.saw_tstamp and opt.rcv_tsecr & TS_OPT_ECN and host.sysctl["net.ipv4.tcp_ecn"])
    # Try to redo what tcp_v4_send_synack did.
    rcv_wnd, clamp, wscale = tcp_select_initial_window(sk, tcp_full_space(sk),
                                                       req.mss - (12 if req.tstamp_ok else 0), req.wscale_ok)
    req.rcv_wnd = rcv_wnd
    req.window_clamp = clamp if req.wscale_ok else min(clamp, 65535)
    req.rcv_wscale = wscale if req.wscale_ok else 0
    # tcp_get_cookie_sock: the child goes straight to the accept queue.
    child = sk.icsk_af_ops.syn_recv_sock(sk, skb, req)  # (tcp_get_cookie_sock)
    if child is None:
        return None
    sk.accept_queue.append(child)
    sk.sk_ack_backlog += 1
    return child
