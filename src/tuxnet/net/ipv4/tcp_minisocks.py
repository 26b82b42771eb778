"""The small TCP sockets (net/ipv4/tcp_minisocks.c): request sockets for half-open passive
connections, and TIME_WAIT sockets that outlive a closed connection for 60 s."""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from tuxnet.kernel.minmax import max, min
from tuxnet.net.core.skbuff import skb_charged_truesize
from tuxnet.net.core.sock import __sk_add_backlog, sock_owned_by_user
from tuxnet.net.ipv4.tcp_fastopen import reqsk_fastopen_remove
from tuxnet.net.ipv4.tcp_input import (
    TCP_PAWS_24DAYS,
    TCP_PAWS_WINDOW,
    tcp_done,
    tcp_parse_options,
    tcp_rcv_state_process,
    tcp_reset,
)
from tuxnet.net.ipv4.tcp_md5 import tcp_v4_md5_lookup
from tuxnet.net.ipv4.tcp_metrics import tcp_update_metrics
from tuxnet.net.ipv4.tcp_sock import (
    SEQ_MASK,
    TCP_CLOSE,
    TCP_ECN_OK,
    TCP_FIN_WAIT2,
    TCP_NEW_SYN_RECV,
    TCP_RTO_MAX,
    TCP_SYN_RECV,
    TCP_TIME_WAIT,
    TCP_TIMEOUT_INIT,
    TCP_TIMEWAIT_LEN,
    TCPHDR_ACK,
    TCPHDR_FIN,
    TCPHDR_RST,
    TCPHDR_SYN,
    TcpOptionsReceived,
    TcpSock,
    after,
    before,
)

if TYPE_CHECKING:
    from tuxnet.net.core.skbuff import SkBuff

TCP_TW_SUCCESS = 0
TCP_TW_RST = 1
TCP_TW_ACK = 2
TCP_TW_SYN = 3


class RequestSockOps:
    """``struct request_sock_ops``: how a request socket answers (``tcp_request_sock_ops``): the
    SYN-ACK again, an ACK to an out-of-window segment, or an RST."""

    __slots__ = ("rtx_syn_ack", "send_ack", "send_reset")

    def __init__(self, rtx_syn_ack: Callable[..., int], send_ack: Callable[..., None],
                 send_reset: Callable[..., None]) -> None:
        self.rtx_syn_ack = rtx_syn_ack
        self.send_ack = send_ack
        self.send_reset = send_reset


class RequestSock:
    """``struct tcp_request_sock``: a received SYN waiting for the final ACK (state NEW_SYN_RECV)."""

    __slots__ = (
        "listener", "host", "sk_state", "loc_addr", "loc_port", "rmt_addr", "rmt_port",
        "rcv_isn", "snt_isn", "mss", "peer_mss", "wscale_ok", "snd_wscale", "rcv_wscale",
        "sack_ok", "tstamp_ok", "ts_recent", "ts_off", "rcv_wnd", "window_clamp",
        "num_retrans", "num_timeout", "snt_synack", "ecn_ok", "timer", "inet_rcv_saddr",
        "inet_num", "inet_daddr", "inet_dport", "sk_bound_dev_if", "rsk_ops", "rcv_nxt", "tfo_listener",
        "ireq_opt", "sk_cookie", "acked", "saved_syn",
    )

    def __init__(self, listener: TcpSock, rsk_ops: RequestSockOps, loc_addr: int, loc_port: int, rmt_addr: int,
                 rmt_port: int) -> None:
        self.listener = listener
        self.rsk_ops = rsk_ops
        self.host = listener.host
        self.sk_state = TCP_NEW_SYN_RECV
        self.loc_addr = loc_addr
        self.loc_port = loc_port
        self.rmt_addr = rmt_addr
        self.rmt_port = rmt_port
        self.rcv_isn = 0
        self.sk_cookie = 0  # (sock_gen_cookie)
        self.rcv_nxt = 0  # what the SYN-ACK acknowledges: past the SYN, and its data with Fast Open
        self.tfo_listener = False  # a Fast Open child's request, counted in its listener's queue
        self.snt_isn = 0
        self.mss = 0
        self.peer_mss = 536
        self.wscale_ok = False
        self.snd_wscale = 0
        self.rcv_wscale = 0
        self.sack_ok = False
        self.tstamp_ok = False
        self.ts_recent = 0
        self.ts_off = 0
        self.rcv_wnd = 0
        self.window_clamp = 0
        self.num_retrans = 0
        self.num_timeout = 0
        self.acked = False  # a bare ACK came and TCP_DEFER_ACCEPT dropped it (inet_rsk(req)->acked)
        self.snt_synack = -1
        self.ecn_ok = False
        self.ireq_opt = None  # the SYN's IP options, echoed (tcp_v4_save_options): the connection's
        self.saved_syn: bytes | None = None  # the SYN's headers, for TCP_SAVED_SYN (tcp_reqsk_record_syn)
        self.timer = self.host.timer(reqsk_timer_handler, self)
        # the ehash key fields, shared with full sockets
        self.inet_rcv_saddr = loc_addr
        self.inet_num = loc_port
        self.inet_daddr = rmt_addr
        self.inet_dport = rmt_port
        self.sk_bound_dev_if = 0

    def ts_now(self) -> int:
        return (self.host.world.now // 1_000_000 + self.ts_off) & SEQ_MASK


def reqsk_queue_drop(req: RequestSock) -> None:
    """``inet_csk_reqsk_queue_drop``: forget a half-open connection (and free it: its timer is shut
    down)."""
    req.timer.shutdown()
    listener = req.listener
    listener.host.tcp_hashinfo.ehash_remove(req)
    if listener.syn_queue_len > 0:
        listener.syn_queue_len -= 1


def inet_rtx_syn_ack(req: RequestSock) -> None:
    """``inet_rtx_syn_ack`` (→ ``tcp_v4_rtx_synack``): the SYN-ACK again, counted as a
    retransmission."""
    req.rsk_ops.rtx_syn_ack(req.listener, req)
    req.num_retrans += 1
    req.host.mib.TcpExt["TCPSynRetrans"] += 1
    req.host.mib.Tcp["RetransSegs"] += 1


def syn_ack_recalc(req: RequestSock, max_syn_ack_retries: int, rskq_defer_accept: int) -> tuple[bool, bool]:
    """``syn_ack_recalc``: (expire, resend) at a SYN-ACK timeout.  Without TCP_DEFER_ACCEPT the
    request expires after ``max_syn_ack_retries`` and resends each time; with it, a request whose
    bare ACK was dropped lives through the deferring period and is sent its SYN-ACK again only at
    its last timeout, a last chance for data or an ACK to make the connection."""
    if not rskq_defer_accept:
        return req.num_timeout >= max_syn_ack_retries, True
    expire = req.num_timeout >= max_syn_ack_retries and (not req.acked or req.num_timeout >= rskq_defer_accept)
    return expire, not req.acked or req.num_timeout >= rskq_defer_accept - 1


def reqsk_timer_handler(req: RequestSock) -> None:
    """``reqsk_timer_handler``: retransmit the SYN-ACK with backoff, ``tcp_synack_retries`` times
    (TCP_SYNCNT's), as ``syn_ack_recalc`` decides."""
    listener = req.listener
    max_retries = listener.icsk_syn_retries or listener.host.sysctl["net.ipv4.tcp_synack_retries"]
    expire, resend = syn_ack_recalc(req, max_retries, listener.rskq_defer_accept)
    if listener.sk_state != 10 or expire:
        reqsk_queue_drop(req)
        return
    if resend:
        inet_rtx_syn_ack(req)
    req.num_timeout += 1
    req.timer.mod(req.host.world.now + min(TCP_TIMEOUT_INIT << req.num_timeout, TCP_RTO_MAX))


class TimeWaitSock:
    """``struct tcp_timewait_sock``: what remains of a closed connection (RFC 9293 TIME-WAIT)."""

    __slots__ = (
        "host", "sk_state", "tw_substate", "inet_rcv_saddr", "inet_num", "inet_daddr",
        "inet_dport", "inet_saddr", "sk_bound_dev_if", "sk_reuse", "sk_reuseport", "rcv_nxt",
        "snd_nxt", "rcv_wnd", "rcv_wscale", "tstamp_ok", "ts_recent", "ts_recent_stamp",
        "tsoffset", "timer", "sk_cookie", "tw_md5_key",
    )

    def __init__(self, sk: TcpSock, state: int) -> None:
        self.host = sk.host
        self.sk_state = TCP_TIME_WAIT
        self.tw_substate = state
        self.inet_rcv_saddr = sk.inet_rcv_saddr
        self.inet_num = sk.inet_num
        self.inet_daddr = sk.inet_daddr
        self.inet_dport = sk.inet_dport
        self.inet_saddr = sk.inet_saddr
        self.sk_cookie = sk.sk_cookie  # inet_twsk_alloc
        self.sk_bound_dev_if = sk.sk_bound_dev_if
        self.sk_reuse = sk.sk_reuse
        self.sk_reuseport = sk.sk_reuseport
        self.rcv_nxt = sk.rcv_nxt
        self.snd_nxt = sk.snd_nxt
        self.rcv_wnd = (sk.rcv_wup + sk.rcv_wnd - sk.rcv_nxt) & SEQ_MASK
        if self.rcv_wnd >= 0x80000000:
            self.rcv_wnd = 0
        self.rcv_wscale = sk.rx_opt.rcv_wscale
        self.tstamp_ok = sk.rx_opt.tstamp_ok
        self.ts_recent = sk.rx_opt.ts_recent
        self.ts_recent_stamp = sk.rx_opt.ts_recent_stamp
        self.tsoffset = sk.tsoffset
        # the connection's MD5 key, which signs the ACKs sent from TIME_WAIT (tcp_time_wait_init)
        self.tw_md5_key = tcp_v4_md5_lookup(sk, sk) if sk.md5sig_info else None
        self.timer = sk.host.timer(tw_timer_handler, self)

    def schedule(self, timeo: int) -> None:
        """``inet_twsk_schedule``."""
        self.timer.mod(self.host.world.now + timeo)

    def ts_now(self) -> int:
        return (self.host.world.now // 1_000_000 + self.tsoffset) & SEQ_MASK


def tw_timer_handler(tw: TimeWaitSock) -> None:
    """``tw_timer_handler`` → ``inet_twsk_kill``: the TIME_WAIT period is over."""
    tw.host.mib.TcpExt["TW"] += 1
    inet_twsk_kill(tw)


def inet_twsk_kill(tw: TimeWaitSock) -> None:
    """``inet_twsk_kill``: unhash and free a TIME_WAIT socket (its timer shut down)."""
    tw.timer.shutdown()
    hashinfo = tw.host.tcp_hashinfo
    hashinfo.ehash_remove(tw)
    hashinfo.put_port(tw)


def tcp_fin_time(sk: TcpSock) -> int:
    """``tcp_fin_time``: how long an orphan waits in FIN_WAIT2 (``tcp_fin_timeout``)."""
    fin_timeout = sk.linger2 if sk.linger2 > 0 else sk.host.sysctl["net.ipv4.tcp_fin_timeout"] * 1_000_000_000
    rto = sk.icsk_rto
    return max(fin_timeout, (rto << 2) - (rto >> 1))


def tcp_time_wait(sk: TcpSock, state: int, timeo: int) -> None:
    """``tcp_time_wait``: replace the socket by a TIME_WAIT socket and close it."""
    hashinfo = sk.host.tcp_hashinfo
    tw = TimeWaitSock(sk, state)
    rto = sk.icsk_rto
    timeo = max(timeo, (rto << 2) - (rto >> 1))
    if state == TCP_TIME_WAIT:
        timeo = TCP_TIMEWAIT_LEN
    hashinfo.ehash_replace(sk, tw)
    tb = hashinfo.bhash.get(sk.inet_num)
    if tb is not None:
        tb.owners[tw] = None
    tw.schedule(timeo)
    tcp_update_metrics(sk)
    tcp_done(sk)


def tcp_timewait_state_process(tw: TimeWaitSock, skb: SkBuff) -> int:
    """``tcp_timewait_state_process``: RFC 9293 TIME-WAIT handling with RFC 7323 PAWS and
    Linux's acceptance of a new SYN (higher sequence number or timestamp)."""
    opt = TcpOptionsReceived()
    opt.tstamp_ok = tw.tstamp_ok
    tcp_parse_options(skb, opt, True)
    flags = skb.tcp_flags
    seq, end_seq = skb.seq, skb.end_seq
    paws_reject = False
    if opt.saw_tstamp and tw.ts_recent_stamp:
        diff = (tw.ts_recent - opt.rcv_tsval) & SEQ_MASK
        if TCP_PAWS_WINDOW < diff < 0x80000000 and tw.host.world.now - tw.ts_recent_stamp < TCP_PAWS_24DAYS:
            paws_reject = not flags & TCPHDR_RST
    if tw.tw_substate == TCP_FIN_WAIT2:
        if paws_reject or not _in_window(seq, end_seq, tw.rcv_nxt, (tw.rcv_nxt + tw.rcv_wnd) & SEQ_MASK):
            return TCP_TW_ACK
        if flags & TCPHDR_RST:
            inet_twsk_kill(tw)
            return TCP_TW_SUCCESS
        if flags & TCPHDR_SYN and not before(seq, tw.rcv_nxt):
            inet_twsk_kill(tw)
            return TCP_TW_RST
        if not flags & TCPHDR_ACK or not after(end_seq, tw.rcv_nxt) or end_seq == seq:
            return TCP_TW_SUCCESS
        if not flags & TCPHDR_FIN or end_seq != ((tw.rcv_nxt + 1) & SEQ_MASK):
            inet_twsk_kill(tw)
            return TCP_TW_RST
        tw.tw_substate = TCP_TIME_WAIT
        tw.rcv_nxt = end_seq
        if opt.saw_tstamp:
            tw.ts_recent = opt.rcv_tsval
            tw.ts_recent_stamp = tw.host.world.now
        tw.schedule(TCP_TIMEWAIT_LEN)
        return TCP_TW_ACK
    if not paws_reject and seq == tw.rcv_nxt and (seq == end_seq or flags & TCPHDR_RST):
        if flags & TCPHDR_RST:
            if not tw.host.sysctl["net.ipv4.tcp_rfc1337"]:
                inet_twsk_kill(tw)
                return TCP_TW_SUCCESS
        else:
            tw.schedule(TCP_TIMEWAIT_LEN)
        if opt.saw_tstamp:
            tw.ts_recent = opt.rcv_tsval
            tw.ts_recent_stamp = tw.host.world.now
        return TCP_TW_SUCCESS
    if flags & TCPHDR_SYN and not flags & (TCPHDR_RST | TCPHDR_ACK) and not paws_reject and (
            after(seq, tw.rcv_nxt) or (opt.saw_tstamp and ((tw.ts_recent - opt.rcv_tsval) & SEQ_MASK) >= 0x80000000)):
        return TCP_TW_SYN
    if paws_reject:
        tw.host.mib.TcpExt["PAWSEstab"] += 1
    if not flags & TCPHDR_RST:
        if paws_reject or flags & TCPHDR_ACK:
            tw.schedule(TCP_TIMEWAIT_LEN)
        return TCP_TW_ACK
    return TCP_TW_SUCCESS


def _in_window(seq: int, end_seq: int, s_win: int, e_win: int) -> bool:
    """``tcp_in_window``."""
    if seq == s_win:
        return True
    if after(end_seq, s_win) and before(seq, e_win):
        return True
    return seq == e_win and seq == end_seq


def tcp_create_openreq_child(listener: TcpSock, req: RequestSock, skb: SkBuff) -> TcpSock:
    """``tcp_create_openreq_child``: the full socket of a passive open, in SYN_RECV."""
    newsk = TcpSock(listener.host, listener.sk_prot, listener.sk_family, listener.sk_type,
                    listener.sk_protocol)
    listener.sk_prot.init(newsk)  # (tcp_v4_init_sock: the state a copy of the listener starts from)
    newsk.sk_state = TCP_SYN_RECV
    newsk.parent = listener
    # What sock_copy() carries over from the listener (inet_csk_clone_lock), field by field.
    newsk.sk_reuse = listener.sk_reuse
    newsk.sk_reuseport = listener.sk_reuseport
    newsk.sk_bound_dev_if = listener.sk_bound_dev_if
    newsk.sk_rcvbuf = listener.sk_rcvbuf
    newsk.sk_sndbuf = listener.sk_sndbuf
    newsk.sk_userlocks = listener.sk_userlocks
    newsk.sk_priority = listener.sk_priority
    newsk.sk_mark = listener.sk_mark
    newsk.sk_txrehash = listener.sk_txrehash
    newsk.sk_ll_usec = listener.sk_ll_usec
    newsk.sk_incoming_cpu = listener.sk_incoming_cpu
    newsk.freebind = listener.freebind
    newsk.transparent = listener.transparent
    newsk.bind_address_no_port = listener.bind_address_no_port
    newsk.local_port_range = listener.local_port_range
    newsk.sk_keepopen = listener.sk_keepopen
    newsk.sk_linger = listener.sk_linger
    newsk.sk_lingertime = listener.sk_lingertime
    newsk.uc_ttl = listener.uc_ttl
    newsk.tos = listener.tos
    newsk.uc_index = listener.uc_index
    newsk.nonagle = listener.nonagle
    newsk.linger2 = listener.linger2
    newsk.keepalive_time = listener.keepalive_time
    newsk.keepalive_intvl = listener.keepalive_intvl
    newsk.keepalive_probes = listener.keepalive_probes
    newsk.icsk_user_timeout = listener.icsk_user_timeout
    newsk.icsk_ca_ops = listener.icsk_ca_ops
    newsk.notsent_lowat = listener.notsent_lowat
    newsk.sk_rcvtimeo = listener.sk_rcvtimeo
    newsk.sk_sndtimeo = listener.sk_sndtimeo
    newsk.sk_urginline = listener.sk_urginline
    newsk.sk_zerocopy = listener.sk_zerocopy
    newsk.sk_max_pacing_rate = listener.sk_max_pacing_rate
    newsk.sk_pacing_rate = listener.sk_pacing_rate
    newsk.sk_pacing_status = listener.sk_pacing_status
    newsk.rx_opt.user_mss = listener.rx_opt.user_mss
    newsk.inet_daddr = req.rmt_addr
    newsk.inet_dport = req.rmt_port
    newsk.inet_rcv_saddr = req.loc_addr
    newsk.inet_saddr = req.loc_addr
    newsk.inet_sport = req.loc_port
    newsk.rcv_nxt = (req.rcv_isn + 1) & SEQ_MASK
    newsk.rcv_wup = newsk.rcv_nxt
    newsk.copied_seq = newsk.rcv_nxt
    isn1 = (req.snt_isn + 1) & SEQ_MASK
    newsk.snd_una = newsk.snd_nxt = newsk.snd_up = isn1
    newsk.write_seq = newsk.pushed_seq = newsk.snd_sml = isn1
    newsk.snd_wl1 = req.rcv_isn
    newsk.rcv_wnd = req.rcv_wnd
    newsk.rcv_ssthresh = req.rcv_wnd
    newsk.window_clamp = req.window_clamp
    opt = newsk.rx_opt
    opt.wscale_ok = req.wscale_ok
    opt.snd_wscale = req.snd_wscale if req.wscale_ok else 0
    opt.rcv_wscale = req.rcv_wscale if req.wscale_ok else 0
    opt.sack_ok = req.sack_ok
    opt.tstamp_ok = req.tstamp_ok
    opt.ts_recent = req.ts_recent
    opt.ts_recent_stamp = listener.host.world.now
    opt.mss_clamp = req.peer_mss
    newsk.tcp_header_len = 32 if req.tstamp_ok else 20
    newsk.tsoffset = req.ts_off
    buf = skb.buf
    th = skb.transport_header
    newsk.snd_wnd = ((buf[th + 14] << 8) | buf[th + 15]) << opt.snd_wscale
    newsk.max_window = newsk.snd_wnd
    newsk.total_retrans = req.num_retrans
    newsk.lsndtime = listener.host.world.now
    newsk.synack_stamp = req.snt_synack if not req.num_retrans else -1
    newsk.ecn_flags = TCP_ECN_OK if req.ecn_ok else 0
    listener.host.mib.Tcp["PassiveOpens"] += 1
    return newsk


def tcp_check_req(sk: TcpSock, skb: SkBuff, req: RequestSock, fastopen: bool = False) -> Any:
    """``tcp_check_req``: the segment that should complete a passive open, at the listener ``sk``;
    or, with ``fastopen``, any segment to the Fast Open child ``sk`` made at the SYN, before its
    handshake's last ACK.  Returns the new child (with ``fastopen``: ``sk``, to go on with the
    segment), the listener (meaning: answer with RST), or None (dropped)."""
    flags = skb.tcp_flags
    opt = TcpOptionsReceived()
    opt.tstamp_ok = req.tstamp_ok
    tcp_parse_options(skb, opt, True)
    paws_reject = False
    if opt.saw_tstamp:
        diff = (req.ts_recent - opt.rcv_tsval) & SEQ_MASK
        paws_reject = TCP_PAWS_WINDOW < diff < 0x80000000 and not flags & TCPHDR_RST
    if skb.seq == req.rcv_isn and flags & TCPHDR_SYN and not flags & TCPHDR_RST \
            and not (fastopen and (flags & TCPHDR_ACK or paws_reject)):
        # A retransmitted SYN: resend the SYN-ACK.
        inet_rtx_syn_ack(req)
        return None
    if flags & TCPHDR_ACK and not fastopen and skb.ack_seq != ((req.snt_isn + 1) & SEQ_MASK):
        return sk
    rcv_nxt = req.rcv_nxt
    if paws_reject or not _in_window(skb.seq, skb.end_seq, rcv_nxt, (rcv_nxt + req.rcv_wnd) & SEQ_MASK):
        if not flags & TCPHDR_RST:
            req.rsk_ops.send_ack(sk, skb, req)
        if paws_reject:
            sk.host.mib.TcpExt["PAWSEstab"] += 1
        return None
    if opt.saw_tstamp and not after(skb.seq, rcv_nxt):
        req.ts_recent = opt.rcv_tsval
    if skb.seq == req.rcv_isn:
        flags &= ~TCPHDR_SYN
    if flags & (TCPHDR_RST | TCPHDR_SYN):
        if fastopen:
            # embryonic_reset: a bad SYN is answered, a valid RST ends the child
            sk.host.mib.Tcp["AttemptFails"] += 1
            if not flags & TCPHDR_RST:
                req.rsk_ops.send_reset(sk.host, sk, skb)
            else:
                reqsk_fastopen_remove(sk, req, True)
                tcp_reset(sk)
            return None
        sk.host.mib.TcpExt["EmbryonicRsts"] += 1
        reqsk_queue_drop(req)
        return sk if not flags & TCPHDR_RST else None
    if not flags & TCPHDR_ACK:
        return None
    if fastopen:
        return sk  # (the child, already made)
    listener = sk
    # While TCP_DEFER_ACCEPT is active, a bare ACK is dropped (and remembered).
    if req.num_timeout < listener.rskq_defer_accept and skb.end_seq == (req.rcv_isn + 1) & SEQ_MASK:
        req.acked = True
        listener.host.mib.TcpExt["TCPDeferAcceptDrop"] += 1
        return None
    child = listener.icsk_af_ops.syn_recv_sock(listener, skb, req)
    if child is None:
        if listener.host.sysctl["net.ipv4.tcp_abort_on_overflow"]:
            reqsk_queue_drop(req)
            return listener
        return None
    req.timer.shutdown()  # inet_csk_complete_hashdance: the child replaces the request, freed
    if listener.syn_queue_len > 0:
        listener.syn_queue_len -= 1
    listener.accept_queue.append(child)
    listener.sk_ack_backlog += 1
    return child


def tcp_child_process(parent: TcpSock, child: TcpSock, skb: SkBuff) -> int:
    """``tcp_child_process``: run the completing segment through the child, then wake
    ``accept()`` on the parent.  Non-zero means: reset."""
    ret = 0
    if not sock_owned_by_user(child):
        ret = tcp_rcv_state_process(child, skb)
        parent.sk_data_ready()
    else:
        skb.truesize = skb_charged_truesize(skb)
        __sk_add_backlog(child, skb)  # (no limit: the child is new)
    if child.sk_state == TCP_CLOSE and child in parent.accept_queue:
        parent.accept_queue.remove(child)
        parent.sk_ack_backlog -= 1
    return ret
