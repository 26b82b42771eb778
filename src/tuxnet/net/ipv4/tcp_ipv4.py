"""TCP over IPv4 (net/ipv4/tcp_ipv4.c): receiving segments, connecting, SYN handling, and
replies sent without a full socket (RST, TIME_WAIT and request-socket ACKs)."""

from __future__ import annotations

import struct
from typing import TYPE_CHECKING, Any

from tuxnet.kernel.errno import (
    EHOSTUNREACH,
    EINVAL,
    EMSGSIZE,
    ENETUNREACH,
)
from tuxnet.kernel.minmax import max, min
from tuxnet.net.core.checksum import csum_partial, csum_tcpudp_magic, csum_tcpudp_nofold
from tuxnet.net.core.filter import sk_filter_trim_cap
from tuxnet.net.core.skbuff import (
    CHECKSUM_PARTIAL,
    CHECKSUM_UNNECESSARY,
    PACKET_HOST,
    SkBuff,
    alloc_skb,
    skb_charged_truesize,
    skb_try_coalesce,
)
from tuxnet.net.core.sock import (
    SOCK_BINDADDR_LOCK,
    SOCK_RCVBUF_LOCK,
    sk_acceptq_is_full,
    sk_add_backlog,
    sock_owned_by_user,
)
from tuxnet.net.ipv4.icmp import (
    ICMP_DEST_UNREACH,
    ICMP_ERR_CONVERT,
    ICMP_FRAG_NEEDED,
    ICMP_REDIRECT,
    ICMP_TIME_EXCEEDED,
    NR_ICMP_UNREACH,
)
from tuxnet.net.ipv4.ip_options import IpOptions, __ip_options_echo, ipcb_opt
from tuxnet.net.ipv4.ip_output import (
    IP_PMTUDISC_DONT,
    IP_PMTUDISC_INTERFACE,
    IP_PMTUDISC_OMIT,
    IPHDR_LEN,
    IPPROTO_TCP,
    ip_build_header,
    ip_dont_fragment,
    ip_local_out,
)
from tuxnet.net.ipv4.route import (
    Rtable,
    dst_mtu,
    inet_sk_flowi_flags,
    ip_do_redirect,
    ip_route_output_key,
    ip_route_output_sk,
    ip_rt_update_pmtu,
)
from tuxnet.net.ipv4.syncookies import cookie_init_timestamp, cookie_v4_check, cookie_v4_init_sequence
from tuxnet.net.ipv4.tcp_fastopen import tcp_fastopen_defer_connect, tcp_try_fastopen
from tuxnet.net.ipv4.tcp_input import (
    skb_coalesce_frags,
    tcp_parse_options,
    tcp_rcv_established,
    tcp_rcv_state_process,
    tcp_set_state,
)
from tuxnet.net.ipv4.tcp_md5 import (
    MD5_OPTION,
    TCPOLEN_MD5SIG,
    TcpMd5sigKey,
    tcp_do_parse_auth_options,
    tcp_inbound_hash,
    tcp_md5_do_add,
    tcp_md5_do_lookup,
    tcp_v4_md5_hash_hdr,
    tcp_v4_md5_hash_skb,
)
from tuxnet.net.ipv4.tcp_minisocks import (
    TCP_TW_ACK,
    TCP_TW_RST,
    TCP_TW_SYN,
    RequestSock,
    RequestSockOps,
    TimeWaitSock,
    inet_twsk_kill,
    reqsk_queue_drop,
    tcp_check_req,
    tcp_child_process,
    tcp_create_openreq_child,
    tcp_timewait_state_process,
)
from tuxnet.net.ipv4.tcp_output import (
    KERNEL_MAX_TCP_HEADER,
    MAX_TCP_HEADER,
    tcp_advmss,
    tcp_connect,
    tcp_full_space,
    tcp_initialize_rcv_mss,
    tcp_make_synack,
    tcp_options_write,
    tcp_select_initial_window,
    tcp_simple_retransmit,
    tcp_sync_mss,
)
from tuxnet.net.ipv4.tcp_sock import (
    SEQ_MASK,
    TCP_CLOSE,
    TCP_ESTABLISHED,
    TCP_LISTEN,
    TCP_MSS_DEFAULT,
    TCP_NEW_SYN_RECV,
    TCP_SYN_SENT,
    TCP_TIME_WAIT,
    TCP_TIMEOUT_INIT,
    TCPHDR_ACK,
    TCPHDR_CWR,
    TCPHDR_ECE,
    TCPHDR_FIN,
    TCPHDR_RST,
    TCPHDR_SYN,
    TCPHDR_URG,
    InetConnectionSockAfOps,
    TcpFastopenCookie,
    TcpOptionsReceived,
    TcpSock,
    after,
    before,
)

if TYPE_CHECKING:
    from tuxnet.kernel.host import Host

_tcphdr = struct.Struct("!HHIIHHHH")
_ports = struct.Struct("!HHIIBB")
_addrs = struct.Struct("!II")


# -- sequence numbers and timestamps (RFC 6528, net/core/secure_seq.c) -------------------------

def secure_tcp_seq(host: Host, saddr: int, daddr: int, sport: int, dport: int) -> int:
    """RFC 6528: ISN = M + F(4-tuple, secret), M a 4-microsecond clock."""
    f = host.tcp_hashinfo.keyed_hash(saddr, daddr, (sport << 16) | dport)
    return (f + host.world.now // 4000) & SEQ_MASK


def secure_tcp_ts_off(host: Host, saddr: int, daddr: int) -> int:
    """``secure_tcp_ts_off``: a per-address-pair random TSval offset."""
    if not host.sysctl["net.ipv4.tcp_timestamps"]:
        return 0
    return host.tcp_hashinfo.keyed_hash_of_pair(saddr, daddr, 0x7473) & SEQ_MASK


# -- receive ---------------------------------------------------------------------------------

def tcp_v4_rcv(host: Host, skb: SkBuff) -> int:
    """``tcp_v4_rcv``: check the segment, find its socket, and hand it over."""
    mib = host.mib.Tcp
    if skb.pkt_type != PACKET_HOST:
        return 0
    buf = skb.buf
    th = skb.data
    length = skb.tail - th
    if length < 20:
        return 0
    doff = (buf[th + 12] >> 4) << 2
    if doff < 20:
        mib["InErrs"] += 1
        return 0
    if doff > length:
        return 0
    nh = skb.network_header
    saddr, daddr = _addrs.unpack_from(buf, nh + 12)
    if skb.ip_summed not in (CHECKSUM_PARTIAL, CHECKSUM_UNNECESSARY):
        if csum_partial(memoryview(buf)[th:skb.tail], csum_tcpudp_nofold(saddr, daddr, length, IPPROTO_TCP)) != 0xFFFF:
            mib["InCsumErrors"] += 1
            mib["InErrs"] += 1
            return 0
        skb.ip_summed = CHECKSUM_UNNECESSARY
    # One a packet, a GRO or GSO packet too: this machine's kernel counts 203 for a 10 MB
    # transfer over a loopback of MTU 1500, where OutSegs and the sockets' segs_in count the
    # 6,900 segments.
    mib["InSegs"] += 1
    sport, dport, seq, ack_seq, _, flags = _ports.unpack_from(buf, th)
    skb.transport_header = th
    skb.data = th + doff
    skb.seq = seq
    skb.end_seq = (seq + (flags & TCPHDR_SYN and 1) + (flags & TCPHDR_FIN and 1) + length - doff) & SEQ_MASK
    skb.ack_seq = ack_seq
    skb.tcp_flags = flags
    hashinfo = host.tcp_hashinfo
    sk = hashinfo.ehash.get((daddr, dport, saddr, sport))
    if sk is None:
        sk = hashinfo.lookup_listener(daddr, dport, skb.dev.ifindex if skb.dev is not None else 0)
        if sk is None:
            tcp_v4_send_reset(host, None, skb)
            return 0
    state = sk.sk_state
    if state == TCP_TIME_WAIT:
        return tcp_v4_timewait(host, sk, skb)
    if state == TCP_NEW_SYN_RECV:
        req = sk
        listener = req.listener
        # (tcp_inbound_hash reads the options only when an MD5 option's worth is there)
        if (doff >= 20 + TCPOLEN_MD5SIG or listener.md5sig_info) and tcp_inbound_hash(listener, req, skb, saddr,
                                                                                         daddr):
            listener.sk_drops += 1
            return 0
        if listener.sk_state != TCP_LISTEN:
            reqsk_queue_drop(req)
            return tcp_v4_rcv_again(host, skb)
        if listener.sk_filter is not None and tcp_filter(listener, skb):
            listener.sk_drops += 1
            return 0
        nsk = tcp_check_req(listener, skb, req)
        if nsk is None:
            return 0
        if nsk is listener:
            if tcp_rcv_state_process(listener, skb):
                tcp_v4_send_reset(host, listener, skb)
            return 0
        if tcp_child_process(listener, nsk, skb):
            tcp_v4_send_reset(host, nsk, skb)
        return 0
    if sk.min_ttl and buf[nh + 8] < sk.min_ttl:
        # IP_MINTTL (RFC 5082): fewer hops left than the socket asks for, from farther away
        host.mib.TcpExt["TCPMinTTLDrop"] += 1
        sk.sk_drops += 1  # (discard_and_relse)
        return 0
    if (doff >= 20 + TCPOLEN_MD5SIG or sk.md5sig_info) and tcp_inbound_hash(sk, None, skb, saddr, daddr):
        sk.sk_drops += 1  # (discard_and_relse)
        return 0
    if sk.sk_filter is not None and tcp_filter(sk, skb):
        sk.sk_drops += 1  # (discard_and_relse)
        return 0
    if not sock_owned_by_user(sk):
        return tcp_v4_do_rcv(sk, skb)
    tcp_add_backlog(sk, skb)
    return 0


def tcp_filter(sk: TcpSock, skb: SkBuff) -> bool:
    """``tcp_filter``: the socket's filter run on the segment from its TCP header; True when it
    drops it.  A segment it cuts (never below the header) ends where the cut is."""
    if not sk_filter_trim_cap(sk, skb, skb.data - skb.transport_header, skb.transport_header):
        if skb.tail < skb.data:
            skb.tail = skb.data
        skb.end_seq = (skb.seq + (skb.tcp_flags & TCPHDR_SYN and 1) + (skb.tcp_flags & TCPHDR_FIN and 1)
                       + skb.tail - skb.data) & SEQ_MASK  # (tcp_v4_fill_cb, again)
        return False
    return True


def tcp_add_backlog(sk: TcpSock, skb: SkBuff) -> bool:
    """``tcp_add_backlog``: a segment for a socket its owner holds waits in the backlog, merged
    into the one before it when it simply continues it (Linux 4.19+): in sequence, the same
    options (timestamps) and ECN bits, ACK on both, no SYN, RST or URG.  The merged segment takes
    the later ACK and window, the FIN and flags of both, and the larger segment size; so a run
    of ACKs queued while the owner sends is processed as one (TCPBacklogCoalesce), and so is a
    run of data: a payload that does not fit the tail's room moves to it as page fragments
    (``skb_try_coalesce``, within MAX_SKB_FRAGS; over lo, four segments of 64 KB, each in two or
    three of the sender's 32 KB pages).  Otherwise it is queued within twice the receive buffer,
    half the send buffer and 64 KB, or dropped (TCPBacklogDrop).  True when dropped."""
    skb.truesize = skb_charged_truesize(skb)
    backlog = sk.sk_backlog
    if backlog:
        tail = backlog[-1]
        buf, tbuf = skb.buf, tail.buf
        th, tth = skb.transport_header, tail.transport_header
        flags, tflags = skb.tcp_flags, tail.tcp_flags
        hdrlen = skb.data - th
        if (tail.end_seq == skb.seq
                and buf[skb.network_header + 1] == tbuf[tail.network_header + 1]  # ip_dsfield
                and not (flags | tflags) & (TCPHDR_SYN | TCPHDR_RST | TCPHDR_URG)
                and flags & tflags & TCPHDR_ACK
                and not (flags ^ tflags) & (TCPHDR_ECE | TCPHDR_CWR)
                and not (buf[th + 12] ^ tbuf[tth + 12]) & 0xF1  # doff, and AE (AccECN)
                and buf[th + 20:th + hdrlen] == tbuf[tth + 20:tth + hdrlen]):
            tail_gso_size = tail.gso_size or tail.tail - tail.data
            gso_size = skb.gso_size or skb.tail - skb.data
            delta = skb_try_coalesce(tail, skb)
            if delta < 0 and skb.tail > skb.data:
                delta = skb_coalesce_frags(sk, tail, skb)
            if delta >= 0:
                tail.end_seq = skb.end_seq
                if not before(skb.ack_seq, tail.ack_seq):
                    tail.ack_seq = skb.ack_seq
                    tbuf[tth + 14:tth + 16] = buf[th + 14:th + 16]  # the window
                tbuf[tth + 13] |= flags & TCPHDR_FIN
                tail.tcp_flags = tflags | flags
                if skb.tstamp:
                    tail.tstamp = skb.tstamp
                tail.gso_size = max(gso_size, tail_gso_size)
                sk.sk_backlog_len += delta
                sk.host.mib.TcpExt["TCPBacklogCoalesce"] += 1
                return False
    limit = (sk.sk_rcvbuf << 1) + (sk.sk_sndbuf >> 1) + 64 * 1024
    if not sk_add_backlog(sk, skb, min(limit, 0xFFFFFFFF)):
        sk.host.mib.TcpExt["TCPBacklogDrop"] += 1
        return True
    return False


def tcp_v4_rcv_again(host: Host, skb: SkBuff) -> int:
    """Look the segment up once more (its request socket's listener went away)."""
    skb.data = skb.transport_header
    return tcp_v4_rcv(host, skb)


def tcp_v4_do_rcv(sk: TcpSock, skb: SkBuff) -> int:
    """``tcp_v4_do_rcv``: ESTABLISHED takes the fast way, the rest the state machine; at a
    listener, an ACK may complete a SYN-cookie handshake (``tcp_v4_cookie_check``)."""
    if sk.sk_state == TCP_ESTABLISHED:
        tcp_rcv_established(sk, skb)
        return 0
    if sk.sk_state == TCP_LISTEN and not skb.tcp_flags & TCPHDR_SYN:
        nsk = cookie_v4_check(sk, skb)
        if nsk is None:
            return 0
        if nsk is not sk:
            if tcp_child_process(sk, nsk, skb):
                tcp_v4_send_reset(sk.host, nsk, skb)
            return 0
    if tcp_rcv_state_process(sk, skb):
        tcp_v4_send_reset(sk.host, sk, skb)
    return 0


def tcp_v4_timewait(host: Host, tw: TimeWaitSock, skb: SkBuff) -> int:
    """The ``do_time_wait`` branch of ``tcp_v4_rcv``."""
    verdict = tcp_timewait_state_process(tw, skb)
    if verdict == TCP_TW_SYN:
        listener = host.tcp_hashinfo.lookup_listener(tw.inet_rcv_saddr, tw.inet_num,
                                                     skb.dev.ifindex if skb.dev is not None else 0)
        if listener is not None:
            inet_twsk_kill(tw)
            return tcp_v4_do_rcv(listener, skb)
        verdict = TCP_TW_ACK
    if verdict == TCP_TW_ACK:
        tcp_v4_send_ack(host, skb, tw.snd_nxt, tw.rcv_nxt, tw.rcv_wnd >> tw.rcv_wscale,
                        (tw.ts_now(), tw.ts_recent) if tw.tstamp_ok else None, tw.tw_md5_key)
    elif verdict == TCP_TW_RST:
        tcp_v4_send_reset(host, None, skb)
    return 0


# -- replies without a socket ------------------------------------------------------------------

def ip_send_unicast_reply(host: Host, skb_in: SkBuff, flags: int, seq: int, ack: int, window: int,
                          opts: bytes, key: TcpMd5sigKey | None = None) -> None:
    """``ip_send_unicast_reply``: a bare segment back to the sender of ``skb_in``, its IP options
    echoed (none if they cannot be), signed with MD5 ``key`` after the options ``opts`` if one is
    given (as ``tcp_v4_send_reset`` and ``tcp_v4_send_ack`` lay it out)."""
    buf = skb_in.buf
    nh = skb_in.network_header
    th = skb_in.transport_header
    saddr, daddr = _addrs.unpack_from(buf, nh + 12)
    sport, dport = struct.unpack_from("!HH", buf, th)
    ipopt = tcp_v4_save_options(host, skb_in)
    if ipopt is None and skb_in.transport_header - nh > IPHDR_LEN:
        return
    rt = ip_route_output_key(host, ipopt.faddr if ipopt is not None and ipopt.srr else saddr, daddr,
                             proto=IPPROTO_TCP, sport=dport, dport=sport)
    if isinstance(rt, int):
        return
    hash_location = 20 + len(opts) + 4
    if key is not None:
        opts += MD5_OPTION
    th_len = 20 + len(opts)
    skb = alloc_skb(th_len, MAX_TCP_HEADER)
    d = skb.data
    skb.put(th_len)
    _tcphdr.pack_into(skb.buf, d, dport, sport, seq, ack, (th_len << 10) | flags, window, 0, 0)
    skb.buf[d + 20:d + th_len] = opts
    if key is not None:
        skb.buf[d + hash_location:d + hash_location + 16] = tcp_v4_md5_hash_hdr(key, saddr, daddr,
                                                                                bytes(skb.buf[d:d + th_len]))
    skb.transport_header = d
    skb.buf[d + 16:d + 18] = csum_tcpudp_magic(daddr, saddr, th_len, IPPROTO_TCP,
                                               csum_partial(memoryview(skb.buf)[d:d + th_len])).to_bytes(2, "big")
    skb.dst = rt
    ip_build_header(host, None, skb, daddr, saddr, IPPROTO_TCP, host.sysctl["net.ipv4.ip_default_ttl"],
                    0, True, ipopt)
    host.mib.Tcp["OutSegs"] += 1
    if flags & TCPHDR_RST:
        host.mib.Tcp["OutRsts"] += 1
    ip_local_out(host, None, skb)


def tcp_v4_send_reset(host: Host, sk: Any, skb: SkBuff) -> None:
    """``tcp_v4_send_reset`` (RFC 9293 section 3.10.7.1): never answer a RST; with an ACK, the RST
    takes its sequence number from it; otherwise RST|ACK acknowledges the segment.  Nor answer a
    segment whose signature options are malformed, or one signed with TCP-AO.  The RST is signed
    with the socket's MD5 key for the sender; without a socket, a signed segment is answered only
    when a listener on this address and on the port it came from (``ntohs(th->source)``: the active
    side of a connection between two listeners on one port, as BGP's, lost it) holds a key that
    verifies it, and with that key."""
    flags = skb.tcp_flags
    if flags & TCPHDR_RST or skb.pkt_type != PACKET_HOST:
        return
    if skb.dst is not None and skb.dst.rt_type not in (1, 2):
        return
    buf = skb.buf
    th = skb.transport_header
    doff = (buf[th + 12] >> 4) << 2
    key = None
    md5 = -1
    if doff >= 20 + TCPOLEN_MD5SIG:
        err, md5, ao = tcp_do_parse_auth_options(buf, th, doff)
        if err or ao >= 0:
            # (an AO-signed segment: tcp_v4_ao_sign_reset(), without TCP-AO, signs no reset)
            return
    nh = skb.network_header
    saddr, daddr = _addrs.unpack_from(buf, nh + 12)
    if sk is not None and not isinstance(sk, TimeWaitSock):
        key = tcp_md5_do_lookup(sk, 0, saddr)
    elif md5 >= 0:
        sk1 = host.tcp_hashinfo.lookup_listener(daddr, (buf[th] << 8) | buf[th + 1],
                                                skb.dev.ifindex if skb.dev is not None else 0)
        if sk1 is None:
            return
        key = tcp_md5_do_lookup(sk1, 0, saddr)
        if key is None or buf[md5:md5 + 16] != tcp_v4_md5_hash_skb(key, saddr, daddr, skb):
            return
    if flags & TCPHDR_ACK:
        ip_send_unicast_reply(host, skb, TCPHDR_RST, skb.ack_seq, 0, 0, b"", key)
    else:
        ip_send_unicast_reply(host, skb, TCPHDR_RST | TCPHDR_ACK, 0, skb.end_seq, 0, b"", key)


def tcp_v4_send_ack(host: Host, skb: SkBuff, seq: int, ack: int, window: int,
                    ts: tuple[int, int] | None, key: TcpMd5sigKey | None) -> None:
    """``tcp_v4_send_ack``: the ACK of a TIME_WAIT or request socket: timestamps, then an MD5
    signature with ``key``."""
    opts = tcp_options_write(ts=ts) if ts is not None else b""
    ip_send_unicast_reply(host, skb, TCPHDR_ACK, seq, ack, min(window, 0xFFFF), opts, key)


def tcp_v4_reqsk_send_ack(listener: TcpSock, skb: SkBuff, req: RequestSock) -> None:
    """``tcp_v4_reqsk_send_ack``: signed with the listener's key for the sender."""
    saddr = _addrs.unpack_from(skb.buf, skb.network_header + 12)[0]
    tcp_v4_send_ack(listener.host, skb, (req.snt_isn + 1) & SEQ_MASK, (req.rcv_isn + 1) & SEQ_MASK,
                    req.rcv_wnd >> req.rcv_wscale, (req.ts_now(), req.ts_recent) if req.tstamp_ok else None,
                    tcp_md5_do_lookup(listener, 0, saddr))


def tcp_v4_save_options(host: Host, skb: SkBuff) -> IpOptions | None:
    """``tcp_v4_save_options``: the options of a reply to a segment, its IP options echoed
    (``__ip_options_echo``); None when it came without, or they cannot be echoed."""
    sopt = ipcb_opt(skb)
    if sopt is None or not sopt.optlen:
        return None
    opt = __ip_options_echo(host, skb, sopt)
    return opt if opt is not None and opt.optlen else None


def inet_csk_route_req(host: Host, listener: TcpSock, req: RequestSock) -> Rtable | int:
    """``inet_csk_route_req``: the route of a request's answers, to the first hop of the source
    route the SYN came by, if it came by one; a strict one must not need a gateway."""
    opt = req.ireq_opt
    rt = ip_route_output_key(host, opt.faddr if opt is not None and opt.srr else req.rmt_addr, req.loc_addr,
                             listener.sk_bound_dev_if, mark=listener.sk_mark, tos=listener.tos,
                             flags=inet_sk_flowi_flags(listener), proto=IPPROTO_TCP, sport=req.loc_port,
                             dport=req.rmt_port)
    if not isinstance(rt, int) and opt is not None and opt.is_strictroute and rt.gw:
        return -EHOSTUNREACH
    return rt


# -- passive open ----------------------------------------------------------------------------

def tcp_v4_send_synack(listener: TcpSock, req: RequestSock, foc: TcpFastopenCookie | None = None,
                       cookie: bool = False) -> int:
    """``tcp_v4_send_synack`` → ``ip_build_and_send_pkt``, with the Fast Open cookie ``foc`` and
    the SYN's IP options echoed; ``cookie``: a SYN cookie's (TCP_SYNACK_COOKIE)."""
    host = listener.host
    rt = inet_csk_route_req(host, listener, req)
    if isinstance(rt, int):
        return rt
    skb = tcp_make_synack(listener, req, foc, cookie)
    skb.dst = rt
    ip_build_header(host, None, skb, req.loc_addr, req.rmt_addr, IPPROTO_TCP, listener.uc_ttl, listener.tos,
                    True, req.ireq_opt)
    req.snt_synack = host.world.now
    host.mib.Tcp["OutSegs"] += 1
    return ip_local_out(host, None, skb)


def tcp_v4_conn_request(listener: TcpSock, skb: SkBuff) -> int:
    """``tcp_v4_conn_request`` → ``tcp_conn_request``: a SYN for a listener.  With the SYN queue
    full (or ``tcp_syncookies`` = 2) the SYN-ACK carries a cookie and no state is kept."""
    host = listener.host
    mib = host.mib.TcpExt
    syncookies = host.sysctl["net.ipv4.tcp_syncookies"]
    want_cookie = False
    if syncookies == 2 or listener.syn_queue_len >= max(listener.sk_max_ack_backlog, 1):
        # tcp_syn_flood_action
        if not syncookies:
            mib["TCPReqQFullDrop"] += 1
            mib["ListenDrops"] += 1
            return 0
        want_cookie = True
        mib["TCPReqQFullDoCookies"] += 1
    if sk_acceptq_is_full(listener):
        mib["ListenOverflows"] += 1
        mib["ListenDrops"] += 1
        return 0
    buf = skb.buf
    nh = skb.network_header
    saddr, daddr = _addrs.unpack_from(buf, nh + 12)
    th = skb.transport_header
    sport, dport = struct.unpack_from("!HH", buf, th)
    rt = ip_route_output_key(host, saddr, daddr, listener.sk_bound_dev_if, mark=listener.sk_mark, tos=listener.tos,
                             flags=inet_sk_flowi_flags(listener), proto=IPPROTO_TCP, sport=dport, dport=sport)
    if isinstance(rt, int):
        mib["ListenDrops"] += 1
        return 0
    opt = TcpOptionsReceived()
    opt.user_mss = listener.rx_opt.user_mss
    foc = TcpFastopenCookie()
    tcp_parse_options(skb, opt, False, None if want_cookie else foc)
    if want_cookie and not opt.saw_tstamp:
        # Without timestamps a cookie cannot carry window scaling or SACK.
        opt.wscale_ok = opt.sack_ok = False
    sysctl = host.sysctl
    req = RequestSock(listener, tcp_request_sock_ops, daddr, dport, saddr, sport)
    req.ireq_opt = tcp_v4_save_options(host, skb)
    req.rcv_isn = skb.seq
    req.rcv_nxt = (skb.seq + 1) & SEQ_MASK
    req.peer_mss = opt.mss_clamp or 536
    req.tstamp_ok = opt.saw_tstamp and bool(sysctl["net.ipv4.tcp_timestamps"])
    req.sack_ok = opt.sack_ok and bool(sysctl["net.ipv4.tcp_sack"])
    req.wscale_ok = opt.wscale_ok and bool(sysctl["net.ipv4.tcp_window_scaling"])
    req.snd_wscale = opt.snd_wscale
    req.ts_recent = opt.rcv_tsval if req.tstamp_ok else 0
    req.ts_off = secure_tcp_ts_off(host, daddr, saddr)
    req.mss = tcp_advmss(listener, rt)
    # tcp_openreq_init_rwin: a receive buffer the user set limits the window, and so its scale
    full_space = tcp_full_space(listener)
    window_clamp = listener.window_clamp
    if listener.sk_userlocks & SOCK_RCVBUF_LOCK and (window_clamp > full_space or not window_clamp):
        window_clamp = full_space
    rcv_wnd, clamp, wscale = tcp_select_initial_window(
        listener, full_space, req.mss - (12 if req.tstamp_ok else 0), req.wscale_ok, window_clamp)
    req.rcv_wnd = rcv_wnd
    req.window_clamp = clamp if req.wscale_ok else min(clamp, 65535)
    req.rcv_wscale = wscale if req.wscale_ok else 0
    tcp_ecn_create_request(req, skb, listener)
    if want_cookie:
        if not req.tstamp_ok:
            req.ecn_ok = False
        req.snt_isn = cookie_v4_init_sequence(listener, req, skb.seq)
        if req.tstamp_ok:
            # The SYN-ACK's TSval is cookie_init_timestamp() + ts_off.
            now_ms = host.world.now // 1_000_000
            req.ts_off = (req.ts_off + cookie_init_timestamp(req, now_ms) - now_ms) & SEQ_MASK
        tcp_v4_send_synack(listener, req, cookie=True)
        return 0
    req.snt_isn = secure_tcp_seq(host, daddr, saddr, dport, sport)
    tcp_reqsk_record_syn(listener, req, skb)
    child = tcp_try_fastopen(listener, skb, req, foc, saddr, daddr)
    if child is not None:
        # The child answers, and goes straight to the accept queue (inet_csk_reqsk_queue_add).
        tcp_v4_send_synack(listener, req, foc)
        child.synack_stamp = req.snt_synack
        listener.accept_queue.append(child)
        listener.sk_ack_backlog += 1
        listener.sk_data_ready()
        return 0
    host.tcp_hashinfo.ehash_insert(req)
    listener.syn_queue_len += 1
    tcp_v4_send_synack(listener, req, foc)
    req.timer.mod(host.world.now + TCP_TIMEOUT_INIT)
    return 0


def tcp_ecn_create_request(req: RequestSock, skb: SkBuff, listener: TcpSock) -> None:
    """``tcp_ecn_create_request`` (RFC 3168 section 6.1.1): a SYN with ECE and CWR asks for ECN;
    accept when ``tcp_ecn`` allows it and the SYN itself is not ECN-capable."""
    flags = skb.tcp_flags
    if not (flags & TCPHDR_ECE and flags & TCPHDR_CWR):
        return
    ect = skb.buf[skb.network_header + 1] & 3
    if not ect and listener.host.sysctl["net.ipv4.tcp_ecn"]:
        req.ecn_ok = True


def sk_setup_caps(sk: TcpSock, rt: Any) -> None:
    """``sk_setup_caps``: TCP always builds GSO packets, which the route's device segments itself
    (TSO) or has segmented in software (``skb_gso_segment``), as large as the device allows
    (``ip link set DEV gso_max_size N gso_max_segs N``) less room for the headers
    (``sk_dst_gso_max_size``); a socket that signs its segments (TCP MD5) builds them one MSS
    each (``sk_gso_disabled``)."""
    if sk.sk_gso_disabled:
        sk.sk_gso_max_segs = 1
        return
    dev = rt.dev
    sk.sk_gso_max_size = dev.gso_ipv4_max_size - (KERNEL_MAX_TCP_HEADER + 1)
    sk.sk_gso_max_segs = max(dev.gso_max_segs, 1)


def tcp_reqsk_record_syn(listener: TcpSock, req: RequestSock, skb: SkBuff) -> None:
    """``tcp_reqsk_record_syn``: with TCP_SAVE_SYN, the SYN's IP and TCP headers (and its
    link-layer header before them, in mode 2) kept for the connection."""
    if listener.save_syn:
        start = skb.mac_header if listener.save_syn == 2 and skb.mac_header >= 0 else skb.network_header
        req.saved_syn = bytes(skb.buf[start:skb.data])


def tcp_v4_syn_recv_sock(listener: TcpSock, skb: SkBuff, req: RequestSock) -> TcpSock | None:
    """``tcp_v4_syn_recv_sock``: make the child socket, unless the accept queue is full."""
    host = listener.host
    if sk_acceptq_is_full(listener):
        host.mib.TcpExt["ListenOverflows"] += 1
        host.mib.TcpExt["ListenDrops"] += 1
        return None
    rt = inet_csk_route_req(host, listener, req)  # (inet_csk_route_child_sock)
    if isinstance(rt, int):
        host.mib.TcpExt["ListenDrops"] += 1
        return None
    newsk = tcp_create_openreq_child(listener, req, skb)
    # the SYN's options, echoed, are the connection's (the request lets go of them)
    newsk.inet_opt = req.ireq_opt
    req.ireq_opt = None
    newsk.icsk_ext_hdr_len = newsk.inet_opt.optlen if newsk.inet_opt is not None else 0
    # the child's multicast TTL and device are those the handshake's last packet came with
    # (newinet->mc_ttl, mc_index: what IP_MULTICAST_TTL reads back on an accepted socket)
    newsk.mc_ttl = skb.buf[skb.network_header + 8]
    newsk.mc_index = skb.dev.ifindex
    newsk.rcv_tos = skb.buf[skb.network_header + 1]
    newsk.saved_syn, req.saved_syn = req.saved_syn, None  # (tcp_move_syn)
    newsk.dst_cache = rt
    sk_setup_caps(newsk, rt)
    newsk.advmss = req.mss
    tcp_sync_mss(newsk, dst_mtu(rt))
    tcp_initialize_rcv_mss(newsk)
    key = tcp_md5_do_lookup(listener, 0, req.rmt_addr)
    if key is not None:
        # the child's own copy of the listener's key, for its peer alone (its segments from here
        # on one MSS each: tcp_md5_do_add's sk_gso_disable)
        tcp_md5_do_add(newsk, req.rmt_addr, 32, key.l3index, key.flags, key.key)
    hashinfo = host.tcp_hashinfo
    hashinfo.bind_hash(newsk, req.loc_port)
    hashinfo.ehash_replace(req, newsk)
    return newsk


# -- active open -----------------------------------------------------------------------------

# ``ipv4_specific``: IPv4's part of a TCP socket, which tcp_v4_init_sock gives it.
ipv4_specific = InetConnectionSockAfOps(conn_request=tcp_v4_conn_request, syn_recv_sock=tcp_v4_syn_recv_sock)
# ``tcp_request_sock_ops``: how an IPv4 request socket answers.
tcp_request_sock_ops = RequestSockOps(rtx_syn_ack=tcp_v4_send_synack, send_ack=tcp_v4_reqsk_send_ack,
                                      send_reset=tcp_v4_send_reset)


def tcp_v4_connect(sk: TcpSock, daddr: int, dport: int) -> int:
    """``tcp_v4_connect``: route, pick the source address and port, then ``tcp_connect``."""
    host = sk.host
    if sk.listened:
        # A listener that shutdown(SHUT_RD) or connect(AF_UNSPEC) closed may listen again but
        # not connect: this machine's kernel (6.18) fails every connect of it with EINVAL,
        # whatever the address (the check's place in the kernel is not identified here)
        return -EINVAL
    opt = sk.inet_opt
    nexthop = daddr
    if opt is not None and opt.srr:  # a source route: the connection goes by its first hop
        if not daddr:
            return -EINVAL
        nexthop = opt.faddr
    orig_sport = sk.inet_sport
    rt = ip_route_output_sk(sk, nexthop, dport)
    if isinstance(rt, int):
        if rt == -ENETUNREACH:
            host.mib.Ip["OutNoRoutes"] += 1
        return rt
    if rt.rt_type not in (1, 2):
        return -ENETUNREACH
    if not sk.inet_saddr:
        # inet_bhash2_update_saddr: the route's source becomes the socket's, the bound address
        # (lookup key) too, even one bound to broadcast or multicast (which left inet_saddr 0)
        sk.inet_saddr = sk.inet_rcv_saddr = rt.saddr
    else:
        sk.inet_rcv_saddr = sk.inet_saddr
    sk.inet_daddr = daddr if daddr else rt.saddr
    sk.inet_dport = dport
    sk.icsk_ext_hdr_len = opt.optlen if opt is not None else 0
    sk.dst_cache = rt
    sk_setup_caps(sk, rt)
    sk.rx_opt.mss_clamp = TCP_MSS_DEFAULT  # until the SYN-ACK's MSS (an earlier connect's is gone)
    tcp_set_state(sk, TCP_SYN_SENT)
    hashinfo = host.tcp_hashinfo
    err = hashinfo.hash_connect(sk, _check_established)
    if not err and sk.inet_num != orig_sport and host.fib_rules_require_fldissect:
        # ip_route_newports: the flow again with the port connect() chose, for the rules that
        # pick by port (for the others the route is the same)
        sk.inet_sport = sk.inet_num
        rt = ip_route_output_sk(sk, nexthop)
        if isinstance(rt, int):
            err = rt
        else:
            sk.dst_cache = rt
            sk_setup_caps(sk, rt)
    if err < 0:
        tcp_set_state(sk, TCP_CLOSE)
        if not sk.sk_userlocks & SOCK_BINDADDR_LOCK:
            sk.inet_rcv_saddr = sk.inet_saddr = 0  # inet_bhash2_reset_saddr
        sk.inet_dport = 0
        sk.dst_cache = None
        return err
    sk.inet_sport = sk.inet_num
    hashinfo.ehash_insert(sk)
    if not sk.repair:  # (in repair mode the sequence numbers and the clock are the ones set)
        sk.write_seq = secure_tcp_seq(host, sk.inet_saddr, sk.inet_daddr, sk.inet_sport, dport)
        sk.tsoffset = secure_tcp_ts_off(host, sk.inet_saddr, sk.inet_daddr)
    sk.inet_id = sk.write_seq & 0xFFFF
    deferred, err = tcp_fastopen_defer_connect(sk)
    if deferred or err:
        return err
    return tcp_connect(sk)


def _check_established(sk: TcpSock, port: int) -> bool:
    """``__inet_check_established``: is (saddr, port, daddr, dport) free?  A TIME_WAIT socket
    there may be reused when ``tcp_tw_reuse`` allows it (``tcp_twsk_unique``)."""
    hashinfo = sk.host.tcp_hashinfo
    other = hashinfo.ehash.get((sk.inet_rcv_saddr, port, sk.inet_daddr, sk.inet_dport))
    if other is None:
        return True
    if other.sk_state == TCP_TIME_WAIT:
        reuse = sk.host.sysctl["net.ipv4.tcp_tw_reuse"]
        loopback = (sk.inet_daddr >> 24) == 127
        if other.tstamp_ok and (reuse == 1 or (reuse == 2 and loopback)) and \
                sk.host.world.now - other.ts_recent_stamp > 1_000_000_000:
            inet_twsk_kill(other)
            return True
    return False


# -- ICMP errors -----------------------------------------------------------------------------

def tcp_v4_mtu_reduced(sk: TcpSock, mtu: int) -> None:
    """``tcp_v4_mtu_reduced`` (RFC 1191): the route learns the smaller path MTU (unless its MTU is
    locked); if that is below the one the MSS was sized for, resize and resend at once what no
    longer fits."""
    if sk.sk_state in (TCP_LISTEN, TCP_CLOSE):
        return
    host = sk.host
    ip_rt_update_pmtu(host, sk.inet_daddr, mtu)
    rt = ip_route_output_sk(sk, sk.inet_daddr)
    if isinstance(rt, int):
        return
    sk.dst_cache = rt
    if mtu < dst_mtu(rt) and ip_dont_fragment(sk, rt):
        sk.sk_err_soft = EMSGSIZE
    mtu = dst_mtu(rt)
    if sk.pmtudisc not in (IP_PMTUDISC_DONT, IP_PMTUDISC_INTERFACE, IP_PMTUDISC_OMIT) and sk.pmtu_cookie > mtu:
        tcp_sync_mss(sk, mtu)
        tcp_simple_retransmit(sk)


def tcp_v4_err(host: Host, skb: SkBuff, inner: int, type: int, code: int, info: int) -> None:
    """``tcp_v4_err``: an ICMP error about one of our segments (RFC 1122 4.2.3.9, RFC 5927)."""
    buf = skb.buf
    ihl = (buf[inner] & 0x0F) * 4
    saddr, daddr = _addrs.unpack_from(buf, inner + 12)
    sport, dport, seq = struct.unpack_from("!HHI", buf, inner + ihl)
    sk = host.tcp_hashinfo.ehash.get((saddr, sport, daddr, dport))
    if sk is None or sk.sk_state in (TCP_TIME_WAIT, TCP_NEW_SYN_RECV):
        return
    if sk.min_ttl and buf[inner + 8] < sk.min_ttl:
        host.mib.TcpExt["TCPMinTTLDrop"] += 1  # (IP_MINTTL, read in the header the error quotes)
        return
    if before(seq, sk.snd_una) or after(seq, sk.snd_nxt):
        host.mib.TcpExt["OutOfWindowIcmps"] += 1
        return
    if type == ICMP_REDIRECT:
        if sk.dst_cache is not None and not sock_owned_by_user(sk):
            ip_do_redirect(host, skb, inner)  # do_redirect: the socket routes anew on its next send
        return
    if type == ICMP_DEST_UNREACH and code == ICMP_FRAG_NEEDED:
        if sk.dst_cache is not None:
            tcp_v4_mtu_reduced(sk, info)
        return
    if type == ICMP_DEST_UNREACH:
        if code > NR_ICMP_UNREACH:
            return
        err = ICMP_ERR_CONVERT[code][0]
    elif type == ICMP_TIME_EXCEEDED:
        err = EHOSTUNREACH
    else:
        return
    if sk.sk_state == TCP_SYN_SENT and not sock_owned_by_user(sk):
        sk.sk_err = err
        sk.sk_error_report()
        from tuxnet.net.ipv4.tcp_input import tcp_done

        tcp_done(sk)
    else:
        sk.sk_err_soft = err

