"""TCP's socket calls (net/ipv4/tcp.c, inet_connection_sock.c): send, receive, close, shutdown,
listen and accept, options, poll, and ``tcp_prot``."""

from __future__ import annotations

import struct
from typing import TYPE_CHECKING, Any

from tuxnet.kernel.errno import (
    EAGAIN,
    EALREADY,
    ECONNABORTED,
    ECONNRESET,
    EFAULT,
    EFBIG,
    EINPROGRESS,
    EINVAL,
    ENOBUFS,
    ENOENT,
    ENOIOCTLCMD,
    ENOMEM,
    ENOPROTOOPT,
    ENOTCONN,
    EOPNOTSUPP,
    EPERM,
    EPIPE,
)
from tuxnet.kernel.fs import O_NONBLOCK
from tuxnet.kernel.minmax import max, min
from tuxnet.kernel.mm import PAGE_SIZE
from tuxnet.kernel.signal import signal_pending_current, sock_intr_errno
from tuxnet.net.core.datagram import copy_to_msg, msg_iov_fault
from tuxnet.net.core.net_tstamp import (
    SOF_TIMESTAMPING_OPT_RX_FILTER,
    SOF_TIMESTAMPING_RX_SOFTWARE,
    SOF_TIMESTAMPING_SOFTWARE,
    SOF_TIMESTAMPING_TX_ACK,
    SOF_TIMESTAMPING_TX_RECORD_MASK,
)
from tuxnet.net.core.skbuff import (
    MAX_SKB_FRAGS,
    alloc_skb_data,
    msg_zerocopy_put_abort,
    msg_zerocopy_realloc,
    net_zcopy_put,
    skb_add_data,
    skb_views,
    skb_zerocopy_iter_stream,
)
from tuxnet.net.core.sock import (
    RCV_SHUTDOWN,
    SEND_SHUTDOWN,
    SHUTDOWN_MASK,
    SK_FORCE_REUSE,
    SK_NO_REUSE,
    SOCK_BINDADDR_LOCK,
    SOCK_MIN_RCVBUF,
    SOCK_NOSPACE,
    SOCK_RCVBUF_LOCK,
    SOCK_RCVTSTAMP,
    Proto,
    SockoptInt,
    lock_sock,
    release_sock,
    sk_mem_schedule,
    sk_mem_uncharge,
    sk_peek_offset_bwd,
    sk_wait_event,
    sock_error,
    sock_rcvtimeo,
    sock_sndtimeo,
    sock_tx_timestamp,
    sockopt_int,
)
from tuxnet.net.core.utils import byte_view
from tuxnet.net.ipv4.inet_connection_sock import inet_csk_destroy_sock
from tuxnet.net.ipv4.inet_hashtables import inet_unhash
from tuxnet.net.ipv4.ip_sockglue import IpcmCookie, ip_recv_error, sock_cmsg_send
from tuxnet.net.ipv4.tcp_cong import tcp_assign_congestion_control, tcp_set_congestion_control
from tuxnet.net.ipv4.tcp_fastopen import (
    TCP_FASTOPEN_KEY_LENGTH,
    TFO_CLIENT_ENABLE,
    fastopen_queue_tune,
    tcp_fastopen_init_key_once,
    tcp_free_fastopen_req,
)
from tuxnet.net.ipv4.tcp_info import TcpInfo, tcp_get_info_chrono_stats
from tuxnet.net.ipv4.tcp_input import (
    tcp_fast_path_check,
    tcp_queue_rcv,
    tcp_rcv_space_adjust,
    tcp_receive_window,
    tcp_set_state,
    tcp_try_rmem_schedule,
    tcp_write_queue_purge,
)
from tuxnet.net.ipv4.tcp_ipv4 import ipv4_specific, tcp_v4_connect, tcp_v4_do_rcv
from tuxnet.net.ipv4.tcp_md5 import TCP_MD5SIG, TCP_MD5SIG_EXT, tcp_v4_parse_md5_keys
from tuxnet.net.ipv4.tcp_minisocks import tcp_fin_time, tcp_time_wait
from tuxnet.net.ipv4.tcp_output import (
    __tcp_push_pending_frames,
    __tcp_select_window,
    tcp_chrono_start,
    tcp_chrono_stop,
    tcp_connect,
    tcp_current_mss,
    tcp_mtup_init,
    tcp_push_one,
    tcp_send_ack,
    tcp_send_active_reset,
    tcp_send_fin,
    tcp_send_mss,
    tcp_send_window_probe,
    tcp_skb_can_collapse_to,
    tcp_slow_start_after_idle_check,
    tcp_space_from_win,
    tcp_stream_alloc_skb,
)
from tuxnet.net.ipv4.tcp_rate import tcp_compute_delivery_rate, tcp_rate_check_app_limited
from tuxnet.net.ipv4.tcp_sock import (
    APP_LIMITED_INIT,
    ICSK_ACK_PUSHED,
    ICSK_ACK_PUSHED2,
    ICSK_ACK_SCHED,
    SEQ_MASK,
    TCP_CHRONO_BUSY,
    TCP_CHRONO_SNDBUF_LIMITED,
    TCP_CLOSE,
    TCP_CLOSE_WAIT,
    TCP_CLOSING,
    TCP_ESTABLISHED,
    TCP_FIN_TIMEOUT_MAX,
    TCP_FIN_WAIT1,
    TCP_FIN_WAIT2,
    TCP_INFINITE_SSTHRESH,
    TCP_INIT_CWND,
    TCP_LAST_ACK,
    TCP_LISTEN,
    TCP_MIN_MSS,
    TCP_MSS_DEFAULT,
    TCP_NAGLE_CORK,
    TCP_NAGLE_OFF,
    TCP_NAGLE_PUSH,
    TCP_NO_QUEUE,
    TCP_QUEUES_NR,
    TCP_RECV_QUEUE,
    TCP_RTO_MAX,
    TCP_SEND_QUEUE,
    TCP_SYN_RECV,
    TCP_SYN_SENT,
    TCP_TIMEOUT_INIT,
    TCP_TIMEWAIT_LEN,
    TCP_URG_READ,
    TCP_URG_VALID,
    TCPHDR_ACK,
    TCPHDR_FIN,
    TCPHDR_PSH,
    TFO_STATUS_UNSPEC,
    TcpFastopenRequest,
    TcpOptionsReceived,
    TcpSock,
    after,
    before,
    inet_csk_delack_init,
    sk_stream_is_writeable,
    sk_stream_memory_free,
    tcp_min_rtt,
    tcp_skb_cb,
)
from tuxnet.net.ipv4.tcp_timer import (
    inet_csk_reset_keepalive_timer,
    keepalive_time_when,
    tcp_init_xmit_timers,
)
from tuxnet.net.socket import (  # <sys/socket.h>, <poll.h>, <linux/sockios.h>
    AF_UNSPEC,
    MSG_DONTWAIT,
    MSG_EOR,
    MSG_ERRQUEUE,
    MSG_FASTOPEN,
    MSG_MORE,
    MSG_OOB,
    MSG_PEEK,
    MSG_TRUNC,
    MSG_WAITALL,
    MSG_ZEROCOPY,
    POLLERR,
    POLLHUP,
    POLLIN,
    POLLOUT,
    POLLPRI,
    POLLRDHUP,
    POLLRDNORM,
    POLLWRNORM,
    SIOCATMARK,
    SIOCINQ,
    SIOCOUTQ,
    SIOCOUTQNSD,
    put_cmsg,
    put_cmsg_scm_timestamping,
    put_cmsg_timestamp,
)
from tuxnet.world import NSEC_PER_MSEC, NSEC_PER_SEC

if TYPE_CHECKING:
    from tuxnet.net.core.skbuff import SkBuff

IPPROTO_TCP = 6

# include/uapi/linux/tcp.h
TCP_NODELAY = 1
TCP_MAXSEG = 2
TCP_CORK = 3
TCP_KEEPIDLE = 4
TCP_KEEPINTVL = 5
TCP_KEEPCNT = 6
TCP_SYNCNT = 7
TCP_LINGER2 = 8
TCP_DEFER_ACCEPT = 9
TCP_WINDOW_CLAMP = 10
TCP_INFO = 11
TCP_QUICKACK = 12
TCP_CONGESTION = 13
TCP_CA_NAME_MAX = 16
TCP_THIN_LINEAR_TIMEOUTS = 16
TCP_THIN_DUPACK = 17
TCP_USER_TIMEOUT = 18
TCP_REPAIR = 19
TCP_REPAIR_QUEUE = 20
TCP_QUEUE_SEQ = 21
TCP_REPAIR_OPTIONS = 22
TCP_FASTOPEN = 23
TCP_TIMESTAMP = 24
TCP_NOTSENT_LOWAT = 25
TCP_CC_INFO = 26
TCP_SAVE_SYN = 27
TCP_SAVED_SYN = 28
TCP_REPAIR_WINDOW = 29
TCP_FASTOPEN_CONNECT = 30
TCP_ULP = 31
TCP_ULP_NAME_MAX = 16
TCP_FASTOPEN_KEY = 33
TCP_FASTOPEN_NO_COOKIE = 34
TCP_INQ = 36
TCP_CM_INQ = TCP_INQ

# TCP_REPAIR's values (include/uapi/linux/tcp.h)
TCP_REPAIR_ON = 1
TCP_REPAIR_OFF = 0
TCP_REPAIR_OFF_NO_WP = -1  # off, without the window probe
# the options TCP_REPAIR_OPTIONS restores, by their kinds (struct tcp_repair_opt's opt_code)
TCPOPT_MSS = 2
TCPOPT_WINDOW = 3
TCPOPT_SACK_PERM = 4
TCPOPT_TIMESTAMP = 8
TCP_MAX_WSCALE = 14
_tcp_repair_window = struct.Struct("=5I")  # snd_wl1, snd_wnd, max_window, rcv_wnd, rcv_wup
_tcp_repair_opt = struct.Struct("=II")


MAX_TCP_KEEPIDLE = 32767
MAX_TCP_KEEPINTVL = 32767
MAX_TCP_KEEPCNT = 127
MAX_TCP_SYNCNT = 127
MAX_TCP_WINDOW = 32767  # (include/net/tcp.h: the largest TCP_MAXSEG a user may ask for)


def secs_to_retrans(seconds: int, timeout: int, rto_max: int) -> int:
    """``secs_to_retrans``: how many SYN-ACK timeouts, the first ``timeout`` seconds and each
    next one double the last up to ``rto_max``, it takes to cover ``seconds`` (at most 255):
    TCP_DEFER_ACCEPT's seconds as the kernel keeps them."""
    res = 0
    if seconds > 0:
        period = timeout
        res = 1
        while seconds > period and res < 255:
            res += 1
            timeout = min(timeout << 1, rto_max)
            period += timeout
    return res


def retrans_to_secs(retrans: int, timeout: int, rto_max: int) -> int:
    """``retrans_to_secs``: the seconds ``retrans`` SYN-ACK timeouts cover (what
    ``getsockopt(TCP_DEFER_ACCEPT)`` reads back: 3 becomes 3, 4 becomes 7)."""
    period = 0
    if retrans > 0:
        period = timeout
        for _ in range(retrans - 1):
            timeout = min(timeout << 1, rto_max)
            period += timeout
    return period


def tcp_init_sock(sk: TcpSock) -> None:
    """``tcp_init_sock``: timers, initial RTO and window, buffer sizes, congestion control."""
    sysctl = sk.host.sysctl
    tcp_init_xmit_timers(sk)
    sk.icsk_rto = TCP_TIMEOUT_INIT
    sk.mdev_us = TCP_TIMEOUT_INIT // 1000
    sk.snd_cwnd = TCP_INIT_CWND
    sk.snd_ssthresh = TCP_INFINITE_SSTHRESH
    sk.snd_cwnd_clamp = 0xFFFFFFFF
    sk.mss_cache = TCP_MSS_DEFAULT
    sk.reordering = sysctl["net.ipv4.tcp_reordering"]
    sk.sk_sndbuf = sysctl["net.ipv4.tcp_wmem"][1]
    sk.sk_rcvbuf = sysctl["net.ipv4.tcp_rmem"][1]
    tcp_assign_congestion_control(sk)


# -- sending ---------------------------------------------------------------------------------

def sk_stream_wait_connect(sk: TcpSock, timeo: int) -> tuple[int, int]:
    """``sk_stream_wait_connect``: wait for the handshake; (0 or -errno, time left)."""
    while True:
        err = sock_error(sk)
        if err:
            return err, timeo
        if sk.sk_state not in (TCP_SYN_SENT, TCP_SYN_RECV):
            return -EPIPE, timeo
        if not timeo:
            return -EAGAIN, timeo
        timeo = sk_wait_event(sk, timeo, lambda: sk.sk_err or sk.sk_state not in (TCP_SYN_SENT, TCP_SYN_RECV))
        if not sk.sk_err and sk.sk_state in (TCP_ESTABLISHED, TCP_CLOSE_WAIT):
            return 0, timeo


def sk_stream_wait_memory(sk: TcpSock, timeo: int) -> tuple[int, int]:
    """``sk_stream_wait_memory``: wait for room in the send buffer; (0 or -errno, time left).
    Whenever EAGAIN is returned, SOCK_NOSPACE makes sure EPOLLOUT comes later; a signal ends the
    wait (``sock_intr_errno``), and a send that had copied some returns that much."""
    while True:
        if sk.sk_err or sk.sk_shutdown & SEND_SHUTDOWN:
            return -EPIPE, timeo
        if not timeo:
            sk.sock_flags |= SOCK_NOSPACE
            return -EAGAIN, timeo
        if signal_pending_current():
            return sock_intr_errno(timeo), timeo
        if sk_stream_memory_free(sk):
            return 0, timeo
        sk.sock_flags |= SOCK_NOSPACE
        timeo = sk_wait_event(sk, timeo, lambda: sk.sk_err or sk.sk_shutdown & SEND_SHUTDOWN
                              or sk_stream_memory_free(sk))


def sk_stream_error(sk: TcpSock, err: int) -> int:
    """``sk_stream_error``: EPIPE becomes the pending socket error if there is one."""
    if err == -EPIPE:
        err = sock_error(sk) or -EPIPE
    return err


def forced_push(sk: TcpSock) -> bool:
    """``forced_push``: more than half the peer's largest window written since the last PSH."""
    return after(sk.write_seq, (sk.pushed_seq + (sk.max_window >> 1)) & SEQ_MASK)


def tcp_mark_push(sk: TcpSock, skb: SkBuff) -> None:
    """``tcp_mark_push``."""
    skb.tcp_flags |= TCPHDR_PSH
    sk.pushed_seq = sk.write_seq


def tcp_skb_entail(sk: TcpSock, skb: SkBuff) -> None:
    """``tcp_skb_entail``: queue a fresh buffer at the write sequence."""
    skb.seq = skb.end_seq = sk.write_seq
    skb.tcp_flags = TCPHDR_ACK
    if not sk.sk_write_queue:
        tcp_chrono_start(sk, TCP_CHRONO_BUSY)
    sk.sk_write_queue.append(skb)
    truesize = tcp_skb_cb(skb).truesize
    sk.sk_wmem_queued += truesize
    sk.sk_forward_alloc -= truesize  # sk_mem_charge
    if sk.nonagle & TCP_NAGLE_PUSH:
        sk.nonagle &= ~TCP_NAGLE_PUSH
    tcp_slow_start_after_idle_check(sk)


def tcp_push(sk: TcpSock, flags: int, mss_now: int, nonagle: int) -> None:
    """``tcp_push``: mark PSH (unless MSG_MORE) and the urgent pointer (MSG_OOB), and send what
    may go."""
    if not sk.sk_write_queue:
        return
    skb = sk.sk_write_queue[-1]
    if not flags & MSG_MORE or forced_push(sk):
        tcp_mark_push(sk, skb)
    if flags & MSG_OOB:
        # tcp_mark_urg: the urgent pointer points past the last byte written (RFC 9293 section
        # 3.8.5; Linux, as BSD, makes that last byte the urgent one: tcp_stdurg is 0)
        sk.snd_up = sk.write_seq
    if flags & MSG_MORE:
        nonagle = TCP_NAGLE_CORK
    __tcp_push_pending_frames(sk, mss_now, nonagle)


def tcp_sendmsg(sk: TcpSock, msg: Any, size: int) -> int:
    """``tcp_sendmsg``: copy user data into segments on the write queue and push them."""
    lock_sock(sk)
    ret = tcp_sendmsg_locked(sk, msg, size)
    release_sock(sk)
    return ret


def tcp_sendmsg_locked(sk: TcpSock, msg: Any, size: int) -> int:
    """``tcp_sendmsg_locked``: fill the tail buffer up to the size goal (a GSO packet) or start
    a new one while the send buffer has room; push a full buffer at the head at once.

    With MSG_ZEROCOPY on a SO_ZEROCOPY socket the buffers take the caller's memory itself, not a
    copy (``skb_zerocopy_iter_stream``), under a notification (``msg_zerocopy_realloc``) that
    reaches the error queue once the data is acknowledged.  The route's device needs
    scatter-gather for that, and every TCP route has it: ``sk_setup_caps`` adds NETIF_F_SG with
    GSO.  Without SO_ZEROCOPY the flag is ignored."""
    flags = msg.msg_flags
    uarg = None
    if flags & MSG_ZEROCOPY and size and sk.sk_zerocopy:
        queue = sk.sk_write_queue
        uarg = msg_zerocopy_realloc(sk, size, queue[-1].destructor_arg if queue else None)
        if uarg is None:
            return _sendmsg_error(sk, -ENOBUFS)
    copied_syn = 0
    if flags & MSG_FASTOPEN or sk.defer_connect:
        err, copied_syn = tcp_sendmsg_fastopen(sk, msg, size)
        if err == -EINPROGRESS and copied_syn > 0:
            return copied_syn
        if err:
            msg_zerocopy_put_abort(uarg, True)
            return _sendmsg_error(sk, err)
    timeo = sock_sndtimeo(sk, bool(flags & MSG_DONTWAIT))
    tcp_rate_check_app_limited(sk)  # is sending application-limited?
    copied = 0
    err = 0
    if sk.sk_state not in (TCP_ESTABLISHED, TCP_CLOSE_WAIT) and not tcp_passive_fastopen(sk):
        err, timeo = sk_stream_wait_connect(sk, timeo)
        if err:
            msg_zerocopy_put_abort(uarg, True)
            if copied_syn:
                return copied_syn
            return _sendmsg_error(sk, err)
    if sk.repair:
        # repair mode: the data goes into the queue being restored, and never to the peer now
        if sk.repair_queue == TCP_RECV_QUEUE:
            return tcp_send_rcvq(sk, msg, size)
        if sk.repair_queue == TCP_NO_QUEUE:
            msg_zerocopy_put_abort(uarg, True)
            return _sendmsg_error(sk, -EINVAL)
    tsflags = sk.sk_tsflags  # sockcm_init
    if msg.msg_control:
        # only SOL_SOCKET's are looked at, and only their send timestamps are kept: a stream
        # has no per-send mark or priority
        sockc = IpcmCookie(sk, sk.inet_daddr)
        if sock_cmsg_send(sk, msg, sockc):
            msg_zerocopy_put_abort(uarg, True)
            return _sendmsg_error(sk, -EINVAL)
        tsflags = sockc.tsflags
    iov = msg.msg_iov
    if any(b is None for b in iov):
        data = None
    elif uarg is None:
        data = byte_view(iov[0] if len(iov) == 1 else b"".join(bytes(b) for b in iov))
    else:
        data = [view for view in map(byte_view, iov) if view.nbytes]  # the caller's own memory
    if copied_syn:
        data = data[copied_syn:]  # (what the SYN took is sent)
    mss_now, size_goal = tcp_send_mss(sk, not flags & MSG_OOB)
    queue = sk.sk_write_queue
    if sk.sk_err or sk.sk_shutdown & SEND_SHUTDOWN:
        err = -EPIPE
    elif data is None and size:
        err = -EFAULT
    left = size - copied_syn if not err else 0
    new_segment = False
    while left > 0:
        skb = queue[-1] if queue else None
        copy = size_goal - (skb.tail - skb.data) if skb is not None else 0
        if copy <= 0 or skb is None or new_segment or not tcp_skb_can_collapse_to(skb):
            if not sk_stream_memory_free(sk):
                # wait_for_space
                sk.sock_flags |= SOCK_NOSPACE
                if copied:
                    tcp_push(sk, flags & ~MSG_MORE, mss_now, TCP_NAGLE_PUSH)
                err, timeo = sk_stream_wait_memory(sk, timeo)
                if err:
                    break
                mss_now, size_goal = tcp_send_mss(sk, not flags & MSG_OOB)
                continue
            skb = tcp_stream_alloc_skb(sk)
            tcp_skb_entail(sk, skb)
            copy = size_goal
            new_segment = False
        copy = min(copy, left)
        if uarg is None:
            skb_add_data(skb, data[copied:copied + copy])
            truesize = copy
        else:
            copy, truesize = skb_zerocopy_iter_stream(skb, data, copied, copy, uarg)
            if copy < 0:
                # -EMSGSIZE (no fragment left) or -EEXIST (another send's pages): a new buffer
                tcp_mark_push(sk, skb)
                new_segment = True
                continue
        if not copied:
            skb.tcp_flags &= ~TCPHDR_PSH
        cb = tcp_skb_cb(skb)
        cb.truesize += truesize
        cb.pcount = 0
        sk_mem_schedule(sk, truesize)  # sk_wmem_schedule, then skb_copy_to_page_nocache's charge
        sk.sk_wmem_queued += truesize
        sk.sk_forward_alloc -= truesize  # sk_mem_charge
        sk.write_seq = (sk.write_seq + copy) & SEQ_MASK
        skb.end_seq = (skb.end_seq + copy) & SEQ_MASK
        copied += copy
        left -= copy
        if not left:
            if flags & MSG_EOR:
                cb.eor = True
            break
        if skb.tail - skb.data < size_goal or flags & MSG_OOB:
            continue
        if forced_push(sk):
            tcp_mark_push(sk, skb)
            __tcp_push_pending_frames(sk, mss_now, TCP_NAGLE_PUSH)
        elif skb is queue[0]:
            tcp_push_one(sk, mss_now)
    if copied:
        if tsflags:
            tcp_tx_timestamp(sk, tsflags)
        tcp_push(sk, flags, mss_now, sk.nonagle)
        if uarg is not None:
            net_zcopy_put(uarg)
        return copied + copied_syn
    msg_zerocopy_put_abort(uarg, True)
    if copied_syn:
        return copied_syn
    return _sendmsg_error(sk, err)


def tcp_passive_fastopen(sk: TcpSock) -> bool:
    """``tcp_passive_fastopen``: a Fast Open child before its handshake's last ACK, which may
    send already."""
    return sk.sk_state == TCP_SYN_RECV and sk.fastopen_rsk is not None


def tcp_sendmsg_fastopen(sk: TcpSock, msg: Any, size: int) -> tuple[int, int]:
    """``tcp_sendmsg_fastopen``: a send with MSG_FASTOPEN, or the first after a deferred
    TCP_FASTOPEN_CONNECT connect, connects with a SYN that carries what it can of the data
    (``tcp_send_syn_data``).  Returns 0 or -errno (EINPROGRESS while a non-blocking connect goes
    on), and how many bytes the SYN took."""
    from tuxnet.net.ipv4.af_inet import __inet_stream_connect  # (af_inet imports this module)

    addr = msg.msg_name
    if not sk.host.sysctl["net.ipv4.tcp_fastopen"] & TFO_CLIENT_ENABLE or (addr is not None and addr[0] == AF_UNSPEC):
        return -EOPNOTSUPP, 0
    if sk.fastopen_req is not None:
        return -EALREADY, 0  # another Fast Open is in progress
    fo = sk.fastopen_req = TcpFastopenRequest()
    iov = msg.msg_iov
    fo.size = size
    if not any(b is None for b in iov):  # (else a bad buffer, which the SYN cannot take)
        fo.data = byte_view(iov[0] if len(iov) == 1 else b"".join(bytes(b) for b in iov))
    if sk.defer_connect:
        err = tcp_connect(sk)
        if err:  # as tcp_v4_connect fails
            tcp_set_state(sk, TCP_CLOSE)
            sk.inet_dport = 0
    flags = O_NONBLOCK if msg.msg_flags & MSG_DONTWAIT else 0
    err = __inet_stream_connect(sk.sk_socket, addr, flags, True)
    copied = 0
    if sk.fastopen_req is not None:
        copied = sk.fastopen_req.copied
        tcp_free_fastopen_req(sk)
        sk.defer_connect = False
    return err, copied


def tcp_tx_timestamp(sk: TcpSock, tsflags: int) -> None:
    """``tcp_tx_timestamp``: the send timestamps a send asked for (``tsflags``: the socket's,
    or its control message's) go on the buffer holding its last byte, which is their key."""
    queue = sk.sk_write_queue
    if not queue:
        return
    skb = queue[-1]
    skb.tx_flags |= sock_tx_timestamp(tsflags)
    if tsflags & SOF_TIMESTAMPING_TX_ACK:
        tcp_skb_cb(skb).txstamp_ack = True
    if tsflags & SOF_TIMESTAMPING_TX_RECORD_MASK:
        skb.tskey = (skb.seq + skb.tail - skb.data - 1) & SEQ_MASK


# The attributes of SCM_TIMESTAMPING_OPT_STATS (enum, include/uapi/linux/tcp.h)
(TCP_NLA_PAD, TCP_NLA_BUSY, TCP_NLA_RWND_LIMITED, TCP_NLA_SNDBUF_LIMITED, TCP_NLA_DATA_SEGS_OUT,
 TCP_NLA_TOTAL_RETRANS, TCP_NLA_PACING_RATE, TCP_NLA_DELIVERY_RATE, TCP_NLA_SND_CWND, TCP_NLA_REORDERING,
 TCP_NLA_MIN_RTT, TCP_NLA_RECUR_RETRANS, TCP_NLA_DELIVERY_RATE_APP_LMT, TCP_NLA_SNDQ_SIZE, TCP_NLA_CA_STATE,
 TCP_NLA_SND_SSTHRESH, TCP_NLA_DELIVERED, TCP_NLA_DELIVERED_CE, TCP_NLA_BYTES_SENT, TCP_NLA_BYTES_RETRANS,
 TCP_NLA_DSACK_DUPS, TCP_NLA_REORD_SEEN, TCP_NLA_SRTT, TCP_NLA_TIMEOUT_REHASH, TCP_NLA_BYTES_NOTSENT,
 TCP_NLA_EDT, TCP_NLA_TTL, TCP_NLA_REHASH) = range(28)
# tcp_opt_stats_get_size: ten 64-bit attributes, twelve 32-bit, one 16-bit, four 8-bit, each with
# its 4-octet header and padded to 4 octets
TCP_OPT_STATS_SIZE = 10 * 12 + 12 * 8 + 8 + 4 * 8


def nla_put(out: bytearray, attrtype: int, fmt: str, value: int) -> None:
    """``nla_put``: a netlink attribute, its length and type, the value in host order, padding to
    4 octets (x86-64 needs no pad attribute before a 64-bit value, ``nla_put_64bit``)."""
    data = struct.pack(fmt, value)
    out += struct.pack("HH", 4 + len(data), attrtype) + data + bytes(-len(data) % 4)


def tcp_get_timestamping_opt_stats(sk: TcpSock, orig_skb: SkBuff, ack_skb: SkBuff | None) -> bytes:
    """``tcp_get_timestamping_opt_stats``: what a send timestamp with OPT_STATS carries, the
    connection's state as netlink attributes: the chrono times, segments and bytes sent and
    retransmitted, the pacing and delivery rates, cwnd, ssthresh, RTTs, the packet's departure
    time (EDT), and for an ACK timestamp the TTL of the ACK."""
    info = TcpInfo()
    tcp_get_info_chrono_stats(sk, info)
    notsent = (sk.write_seq - sk.snd_nxt) & SEQ_MASK
    out = bytearray()
    for attrtype, fmt, value in (
            (TCP_NLA_BUSY, "Q", info.tcpi_busy_time), (TCP_NLA_RWND_LIMITED, "Q", info.tcpi_rwnd_limited),
            (TCP_NLA_SNDBUF_LIMITED, "Q", info.tcpi_sndbuf_limited), (TCP_NLA_DATA_SEGS_OUT, "Q", sk.data_segs_out),
            (TCP_NLA_TOTAL_RETRANS, "Q", sk.total_retrans),
            (TCP_NLA_PACING_RATE, "Q", min(sk.sk_pacing_rate, (1 << 64) - 1)),
            (TCP_NLA_DELIVERY_RATE, "Q", tcp_compute_delivery_rate(sk)), (TCP_NLA_SND_CWND, "I", sk.snd_cwnd),
            (TCP_NLA_REORDERING, "I", sk.reordering), (TCP_NLA_MIN_RTT, "I", tcp_min_rtt(sk)),
            (TCP_NLA_RECUR_RETRANS, "B", min(sk.icsk_retransmits, 0xFF)),
            (TCP_NLA_DELIVERY_RATE_APP_LMT, "B", int(bool(sk.rate_app_limited))),
            (TCP_NLA_SND_SSTHRESH, "I", min(sk.snd_ssthresh, 0xFFFFFFFF)), (TCP_NLA_DELIVERED, "I", sk.delivered),
            (TCP_NLA_DELIVERED_CE, "I", sk.delivered_ce),
            (TCP_NLA_SNDQ_SIZE, "I", (sk.write_seq - sk.snd_una) & SEQ_MASK),
            (TCP_NLA_CA_STATE, "B", sk.icsk_ca_state), (TCP_NLA_BYTES_SENT, "Q", sk.bytes_sent),
            (TCP_NLA_BYTES_RETRANS, "Q", sk.bytes_retrans), (TCP_NLA_DSACK_DUPS, "I", sk.dsack_dups),
            (TCP_NLA_REORD_SEEN, "I", sk.reord_seen), (TCP_NLA_SRTT, "I", sk.srtt_us >> 3),
            (TCP_NLA_TIMEOUT_REHASH, "H", min(sk.timeout_rehash, 0xFFFF)),
            (TCP_NLA_BYTES_NOTSENT, "I", 0 if notsent >= 0x80000000 else notsent),
            # skb->skb_mstamp_ns, which shares its field with tstamp in Linux: a sent packet's
            # departure time, a queued segment's last send
            (TCP_NLA_EDT, "Q", orig_skb.skb_mstamp or orig_skb.tstamp)):
        nla_put(out, attrtype, fmt, value)
    if ack_skb is not None:
        nla_put(out, TCP_NLA_TTL, "B", ack_skb.buf[ack_skb.network_header + 8])
    nla_put(out, TCP_NLA_REHASH, "I", sk.timeout_rehash)  # (plb_rehash: tuxnet has no PLB)
    return bytes(out)


def _sendmsg_error(sk: TcpSock, err: int) -> int:
    """The ``out_err`` path of ``tcp_sendmsg_locked``: wake any edge-triggered epoll waiter."""
    err = sk_stream_error(sk, err)
    if not sk.tcp_rtx_queue and not sk.sk_write_queue and err == -EAGAIN:
        sk.sk_write_space()
        tcp_chrono_stop(sk, TCP_CHRONO_SNDBUF_LIMITED)
    return err


# -- receiving -------------------------------------------------------------------------------

def tcp_cleanup_rbuf(sk: TcpSock, copied: int) -> None:
    """``tcp_cleanup_rbuf``: after reading, ACK if one is owed or the window opened a lot."""
    ack = sk.icsk_ack
    time_to_ack = False
    if ack.pending & ICSK_ACK_SCHED:
        # more than a segment unacknowledged; or this read emptied the queue of small segments
        # (two of them, or one from a peer not interactive)
        if (((sk.rcv_nxt - sk.rcv_wup) & SEQ_MASK) > ack.rcv_mss
                or (copied > 0 and (ack.pending & ICSK_ACK_PUSHED2
                                    or (ack.pending & ICSK_ACK_PUSHED and not ack.pingpong))
                    and not sk.sk_rmem_alloc)):
            time_to_ack = True
    if copied > 0 and not time_to_ack and not sk.sk_shutdown & RCV_SHUTDOWN:
        rcv_window_now = tcp_receive_window(sk)
        if 2 * rcv_window_now <= sk.window_clamp:
            new_window = __tcp_select_window(sk)
            if new_window and new_window >= 2 * rcv_window_now:
                time_to_ack = True
    if time_to_ack and sk.sk_state not in (TCP_CLOSE, TCP_LISTEN, TCP_SYN_SENT):
        tcp_send_ack(sk)


def tcp_recvmsg(sk: TcpSock, msg: Any, size: int, flags: int) -> bytes | int:
    """``tcp_recvmsg``: copy from the receive queue, waiting for data as the flags say;
    MSG_ERRQUEUE reads the error queue instead (``inet_recv_error``: zerocopy notifications)."""
    if flags & MSG_ERRQUEUE:
        return ip_recv_error(sk, msg, size)
    lock_sock(sk)
    ret = tcp_recvmsg_locked(sk, msg, size, flags)
    release_sock(sk)
    return ret


def tcp_recv_urg(sk: TcpSock, msg: Any, size: int, flags: int) -> bytes | int:
    """``tcp_recv_urg``: ``recv(MSG_OOB)`` reads the urgent byte, once; it never waits."""
    if sk.sk_urginline or not sk.urg_data or sk.urg_data == TCP_URG_READ:
        return -EINVAL  # no urgent byte to read (or it stays in the stream): EINVAL, as Linux
    if sk.sk_state == TCP_CLOSE and not sk.sk_done:
        return -ENOTCONN
    if sk.urg_data & TCP_URG_VALID:
        byte = bytes([sk.urg_data & 0xFF])
        if not flags & MSG_PEEK:
            sk.urg_data = TCP_URG_READ
        if msg is not None:
            msg.msg_flags |= MSG_OOB | (0 if size > 0 else MSG_TRUNC)
        return copy_to_msg(msg, [byte] if size > 0 and not flags & MSG_TRUNC else [])
    if sk.sk_state == TCP_CLOSE or sk.sk_shutdown & RCV_SHUTDOWN:
        return b""
    return -EAGAIN  # the pointer came, the byte not yet


def tcp_recvmsg_locked(sk: TcpSock, msg: Any, size: int, flags: int) -> bytes | int:
    if sk.sk_state == TCP_LISTEN:
        return -ENOTCONN
    if flags & MSG_OOB:
        return tcp_recv_urg(sk, msg, size, flags)
    if sk.repair:
        # repair mode: the queues are only looked at, the send queue as the receive queue is
        if not flags & MSG_PEEK:
            return -EPERM
        if sk.repair_queue == TCP_SEND_QUEUE:
            return tcp_peek_sndq(sk, size)
        if sk.repair_queue == TCP_NO_QUEUE:
            return -EINVAL
    timeo = sock_rcvtimeo(sk, bool(flags & MSG_DONTWAIT))
    peek = bool(flags & MSG_PEEK)
    seq = sk.copied_seq
    if peek and sk.sk_peek_off > 0:
        seq = (seq + sk.sk_peek_off) & SEQ_MASK  # SO_PEEK_OFF: peek_seq, past what was peeked at
    target = size if flags & MSG_WAITALL else min(sk.sk_rcvlowat, size)
    target = max(target, 1)
    out: list[memoryview | bytes] = []
    copied = 0
    tstamp = 0  # the arrival of the last segment read from (tcp_update_recv_tstamps)
    queue = sk.sk_receive_queue
    bad_buffer = msg_iov_fault(msg)
    while copied < size:
        if sk.urg_data and sk.urg_seq == seq and copied:
            break  # at the urgent mark: what came before it is read on its own
        fin = False
        found = None
        for skb in queue:
            offset = (seq - skb.seq) & SEQ_MASK
            if offset < skb.tail - skb.data:
                found = (skb, offset)
                break
            if skb.tcp_flags & TCPHDR_FIN and offset == skb.tail - skb.data:
                fin = True
                found = (skb, offset)
                break
        if found is not None and not fin:
            skb, offset = found
            used = min(skb.tail - skb.data - offset, size - copied)
            if sk.urg_data:
                urg_offset = (sk.urg_seq - seq) & SEQ_MASK
                if urg_offset < used:
                    if urg_offset:
                        used = urg_offset  # stop at the mark
                    elif not sk.sk_urginline:
                        # the urgent byte is not part of the stream: step over it
                        seq = (seq + 1) & SEQ_MASK
                        offset += 1
                        used -= 1
            if used and bad_buffer and not flags & MSG_TRUNC:
                # skb_copy_datagram_msg() faults on the user's buffer: bail out.
                if not copied:
                    return -EFAULT
                break
            if used and not flags & MSG_TRUNC:
                start = skb.data + offset
                if skb.frags is None:
                    out.append(memoryview(skb.buf)[start:start + used])  # copied to the user once, below
                else:
                    out.extend(skb_views(skb, start, start + used))
            seq = (seq + used) & SEQ_MASK
            copied += used
            if sk.sk_peek_off >= 0:
                sk_peek_offset_bwd(sk, -used if peek else used)  # (sk_peek_offset_fwd when peeking)
            if skb.tstamp:
                tstamp = skb.tstamp
            if not peek:
                sk.copied_seq = seq
            if used:
                tcp_rcv_space_adjust(sk)  # after each buffer's bytes, as Linux calls it
            if sk.urg_data and after(sk.copied_seq, sk.urg_seq):
                sk.urg_data = 0  # past the mark
                tcp_fast_path_check(sk)
            if used + offset < skb.tail - skb.data:
                continue
            if skb.tcp_flags & TCPHDR_FIN:
                fin = True
            elif not peek:
                queue.popleft()
                sk.sk_rmem_alloc -= skb.rcv_charge  # tcp_eat_recv_skb → sock_rfree
                sk_mem_uncharge(sk, skb.rcv_charge)
                continue
            else:
                continue
        if fin:
            skb = found[0]
            seq = (seq + 1) & SEQ_MASK
            if not peek:
                sk.copied_seq = seq
                if queue and queue[0] is skb:
                    queue.popleft()
                    sk.sk_rmem_alloc -= skb.rcv_charge
                    sk_mem_uncharge(sk, skb.rcv_charge)
            break
        if copied >= target and not sk.sk_backlog:
            break
        if copied:
            if sk.sk_err or sk.sk_state == TCP_CLOSE or sk.sk_shutdown & RCV_SHUTDOWN or not timeo \
                    or signal_pending_current():
                break
        else:
            if sk.sk_done:
                break
            if sk.sk_err:
                return sock_error(sk)
            if sk.sk_shutdown & RCV_SHUTDOWN:
                break
            if sk.sk_state == TCP_CLOSE:
                return -ENOTCONN
            if not timeo:
                return -EAGAIN
            if signal_pending_current():
                return sock_intr_errno(timeo)
        tcp_cleanup_rbuf(sk, copied)
        if copied >= target:
            release_sock(sk)
            lock_sock(sk)
        else:
            if out:
                # Copy what was read before sleeping: views of the buffers must not outlive this
                # call's hold on them (a sender may grow a buffer that a clone shares).
                part = copy_to_msg(msg, out)
                out = [] if part.__class__ is int else [part]
            last = queue[-1] if queue else None
            timeo = sk_wait_event(sk, timeo, lambda last=last: (queue[-1] if queue else None) is not last or sk.sk_err
                                  or sk.sk_shutdown & RCV_SHUTDOWN or sk.sk_state == TCP_CLOSE)
    tcp_cleanup_rbuf(sk, copied)
    if not copied and sk.sk_err and not sk.sk_shutdown & RCV_SHUTDOWN:
        return sock_error(sk)
    if msg is not None:
        if tstamp:
            tcp_recv_timestamp(msg, sk, tstamp)
        if sk.recvmsg_inq:
            put_cmsg(msg, IPPROTO_TCP, TCP_CM_INQ, tcp_inq_hint(sk))
    if flags & MSG_TRUNC:
        # Read and dropped: the count says how much (as bytes of that length, when the caller
        # gave no buffer).
        return copied if msg is not None and msg.msg_iov else bytes(copied)
    return copy_to_msg(msg, out)  # skb_copy_datagram_msg: the one copy to the user


def tcp_recv_timestamp(msg: Any, sk: TcpSock, tstamp: int) -> None:
    """``tcp_recv_timestamp``: the arrival of the last segment read from, as SO_TIMESTAMP(NS)
    asks, and as SO_TIMESTAMPING reports software times (unless OPT_RX_FILTER leaves them to
    RX_SOFTWARE)."""
    if sk.sk_flags & SOCK_RCVTSTAMP:
        put_cmsg_timestamp(msg, sk, tstamp)
    tsflags = sk.sk_tsflags
    if tsflags & SOF_TIMESTAMPING_SOFTWARE and (tsflags & SOF_TIMESTAMPING_RX_SOFTWARE
                                                or not tsflags & SOF_TIMESTAMPING_OPT_RX_FILTER):
        put_cmsg_scm_timestamping(msg, sk, tstamp)


def tcp_inq_hint(sk: TcpSock) -> int:
    """``tcp_inq_hint``: bytes left to read; 1 after a FIN, so the reader reads on to EOF."""
    inq = (sk.rcv_nxt - sk.copied_seq) & SEQ_MASK
    if inq >= 0x80000000:
        inq = 0
    if inq == 0 and sk.sk_done:
        inq = 1
    return inq


# -- closing ---------------------------------------------------------------------------------

_NEW_STATE = {
    TCP_ESTABLISHED: (TCP_FIN_WAIT1, True), TCP_SYN_SENT: (TCP_CLOSE, False),
    TCP_SYN_RECV: (TCP_FIN_WAIT1, True), TCP_FIN_WAIT1: (TCP_FIN_WAIT1, False),
    TCP_FIN_WAIT2: (TCP_FIN_WAIT2, False), TCP_CLOSE: (TCP_CLOSE, False),
    TCP_CLOSE_WAIT: (TCP_LAST_ACK, True), TCP_LAST_ACK: (TCP_LAST_ACK, False),
    TCP_LISTEN: (TCP_CLOSE, False), TCP_CLOSING: (TCP_CLOSING, False),
}


def tcp_close_state(sk: TcpSock) -> bool:
    """``tcp_close_state``: the state after close (RFC 9293 section 3.10.4); True means send FIN."""
    new, fin = _NEW_STATE.get(sk.sk_state, (sk.sk_state, False))
    tcp_set_state(sk, new)
    return fin


def tcp_shutdown(sk: TcpSock, how: int) -> None:
    """``tcp_shutdown``: SHUT_WR sends FIN."""
    if not how & SEND_SHUTDOWN:
        return
    if sk.sk_state in (TCP_ESTABLISHED, TCP_SYN_SENT, TCP_SYN_RECV, TCP_CLOSE_WAIT):
        if tcp_close_state(sk):
            tcp_send_fin(sk)


def inet_csk_listen_stop(sk: TcpSock) -> None:
    """``inet_csk_listen_stop``: reset the connections nobody accepted."""
    while sk.accept_queue:
        child = sk.accept_queue.popleft()
        sk.sk_ack_backlog -= 1
        child.sk_dead = True
        child.sk_socket = None
        tcp_disconnect(child, 0)
        inet_csk_destroy_sock(child)


def tcp_disconnect(sk: TcpSock, flags: int) -> int:
    """``tcp_disconnect``: abort to CLOSE (RST where the peer knows the connection)."""
    old_state = sk.sk_state
    if old_state != TCP_CLOSE:
        tcp_set_state(sk, TCP_CLOSE)
    if old_state == TCP_LISTEN:
        inet_csk_listen_stop(sk)
    elif sk.repair:
        sk.sk_err = ECONNABORTED
    elif old_state in (TCP_ESTABLISHED, TCP_CLOSE_WAIT, TCP_FIN_WAIT1, TCP_FIN_WAIT2, TCP_SYN_RECV) or (
            sk.snd_nxt != sk.write_seq and old_state in (TCP_CLOSING, TCP_LAST_ACK)):
        tcp_send_active_reset(sk)
        sk.sk_err = ECONNRESET
    elif old_state == TCP_SYN_SENT:
        sk.sk_err = ECONNRESET
    sk.sk_receive_queue.clear()
    sk.out_of_order_queue = []
    sk_mem_uncharge(sk, sk.sk_rmem_alloc)
    sk.sk_rmem_alloc = 0
    sk.selective_acks = []
    tcp_write_queue_purge(sk)
    from tuxnet.net.ipv4.tcp_input import tcp_clear_xmit_timers

    tcp_clear_xmit_timers(sk)
    if not sk.sk_userlocks & SOCK_BINDADDR_LOCK:
        sk.inet_rcv_saddr = sk.inet_saddr = 0  # inet_reset_saddr
    sk.inet_dport = 0
    sk.inet_daddr = 0
    sk.sk_shutdown = 0
    sk.sk_done = False  # sock_reset_flag(sk, SOCK_DONE): a read is ENOTCONN again, not EOF
    sk.srtt_us = 0
    sk.mdev_us = TCP_TIMEOUT_INIT // 1000
    sk.icsk_rto = TCP_TIMEOUT_INIT
    sk.icsk_backoff = 0
    sk.icsk_retransmits = 0
    sk.icsk_probes_out = 0
    sk.snd_cwnd = TCP_INIT_CWND
    sk.snd_ssthresh = TCP_INFINITE_SSTHRESH
    sk.snd_cwnd_cnt = 0
    sk.is_cwnd_limited = False
    sk.max_packets_out = 0
    sk.window_clamp = 0
    sk.icsk_ca_state = 0
    sk.delivered = sk.delivered_ce = 0
    # what TCP_INFO reports of the connection that was (Linux 5.6: "tcp: clear tp->... in
    # tcp_disconnect()")
    sk.bytes_sent = sk.bytes_acked = sk.bytes_received = sk.bytes_retrans = 0
    sk.segs_in = sk.segs_out = sk.data_segs_in = sk.data_segs_out = 0
    sk.total_retrans = sk.dsack_dups = sk.reord_seen = sk.rcv_ooopack = 0
    sk.rcv_rtt_last_tsecr = 0
    sk.tlp_high_seq = 0
    sk.app_limited = APP_LIMITED_INIT
    sk.rate_app_limited = False
    sk.rate_delivered = sk.rate_interval_us = 0
    sk.write_seq = (sk.write_seq + sk.max_window + 2) & SEQ_MASK
    sk.max_window = 0
    sk.dst_cache = None
    # memset(&tp->rx_opt, 0): what the peer negotiated goes, and a TCP_MAXSEG set before the
    # connect with it (the next connect starts from TCP_MSS_DEFAULT again)
    sk.rx_opt = TcpOptionsReceived()
    inet_csk_delack_init(sk)
    sk.icsk_ack.rcv_mss = TCP_MIN_MSS  # (not 0: __tcp_select_window divides by it)
    # what a Fast Open left (tcp_free_fastopen_req, DEFER_CONNECT)
    tcp_free_fastopen_req(sk)
    sk.defer_connect = False
    sk.fastopen_client_fail = TFO_STATUS_UNSPEC
    sk.sk_state_change()
    return 0


def tcp_set_window_clamp(sk: TcpSock, val: int) -> int:
    """``tcp_set_window_clamp`` (TCP_WINDOW_CLAMP): 0 takes the clamp off, only while CLOSE; a
    small one is raised to half of SOCK_MIN_RCVBUF; a smaller clamp lowers rcv_ssthresh with
    it, a larger one lets it grow as far as the window already offered."""
    if not val:
        if sk.sk_state != TCP_CLOSE:
            return -EINVAL
        sk.window_clamp = 0
        return 0
    old = sk.window_clamp
    new = max(SOCK_MIN_RCVBUF // 2, val)
    if new == old:
        return 0
    sk.window_clamp = new
    if new < old:
        sk.rcv_ssthresh = min(sk.rcv_ssthresh, new)  # __tcp_adjust_rcv_ssthresh, no reserved memory
    else:
        sk.rcv_ssthresh = max(min(sk.rcv_wnd, new), sk.rcv_ssthresh)
    return 0


def sk_stream_wait_close(sk: TcpSock, timeout: int) -> None:
    """``sk_stream_wait_close``: SO_LINGER with a time waits for the FIN to be acknowledged."""
    closing = (TCP_FIN_WAIT1, TCP_CLOSING, TCP_LAST_ACK)
    while timeout and sk.sk_state in closing:
        timeout = sk_wait_event(sk, timeout, lambda: sk.sk_state not in closing)


def tcp_close(sk: TcpSock, timeout: int) -> None:
    """``tcp_close``: unread data means RST (RFC 2525), linger 0 means RST, else FIN; then the
    socket lives on as an orphan until the connection is over."""
    lock_sock(sk)
    sk.sk_shutdown = SHUTDOWN_MASK
    host = sk.host
    if sk.sk_state == TCP_LISTEN:
        tcp_set_state(sk, TCP_CLOSE)
        inet_csk_listen_stop(sk)
    else:
        data_was_unread = 0
        freed = 0
        for skb in sk.sk_receive_queue:
            length = (skb.end_seq - skb.seq) & SEQ_MASK
            if skb.tcp_flags & TCPHDR_FIN:
                length -= 1
            data_was_unread += length
            freed += skb.rcv_charge
        sk.sk_receive_queue.clear()
        # (the out-of-order queue stays until the socket is done with, as in Linux)
        sk.sk_rmem_alloc -= freed
        sk_mem_uncharge(sk, freed)
        if sk.sk_state == TCP_CLOSE:
            pass
        elif sk.repair:
            tcp_disconnect(sk, 0)  # (a socket in repair mode goes without a word to its peer)
        elif data_was_unread:
            tcp_set_state(sk, TCP_CLOSE)
            tcp_send_active_reset(sk)
            host.mib.TcpExt["TCPAbortOnClose"] += 1
        elif sk.sk_linger and not sk.sk_lingertime:
            tcp_disconnect(sk, 0)
            host.mib.TcpExt["TCPAbortOnData"] += 1
        elif tcp_close_state(sk):
            tcp_send_fin(sk)
        sk_stream_wait_close(sk, timeout)
    state = sk.sk_state
    sk.sk_dead = True
    sk.sk_socket = None
    release_sock(sk)
    if state != TCP_CLOSE and sk.sk_state == TCP_CLOSE:
        return
    if sk.sk_state == TCP_FIN_WAIT2:
        if sk.linger2 < 0:
            tcp_set_state(sk, TCP_CLOSE)
            tcp_send_active_reset(sk)
            host.mib.TcpExt["TCPAbortOnLinger"] += 1
        else:
            tmo = tcp_fin_time(sk)
            if tmo > TCP_TIMEWAIT_LEN:
                inet_csk_reset_keepalive_timer(sk, tmo - TCP_TIMEWAIT_LEN)
            else:
                tcp_time_wait(sk, TCP_FIN_WAIT2, tmo)
                return
    if sk.sk_state == TCP_CLOSE:
        inet_csk_destroy_sock(sk)
    else:
        host.tcp_orphans.add(sk)


# -- listen and accept -----------------------------------------------------------------------

def inet_csk_listen_start(sk: TcpSock, backlog: int) -> int:
    """``inet_csk_listen_start``: take (or keep) the port and go to LISTEN."""
    from tuxnet.kernel.errno import EADDRINUSE

    hashinfo = sk.host.tcp_hashinfo
    sk.sk_max_ack_backlog = backlog
    sk.sk_ack_backlog = 0
    inet_csk_delack_init(sk)  # (before the port is checked: a listen refused has done it too)
    old = sk.sk_state
    sk.sk_state = TCP_LISTEN
    if sk.inet_num:
        tb = hashinfo.bhash.get(sk.inet_num)
        if tb is not None and hashinfo.bind_conflict(sk, tb):
            sk.sk_state = old
            return -EADDRINUSE
    else:
        err = hashinfo.get_port(sk, 0)
        if err:
            sk.sk_state = old
            return err
    sk.inet_sport = sk.inet_num
    sk.dst_cache = None
    hashinfo.listen_hash(sk)
    sk.listened = True
    return 0


def inet_csk_accept(sk: TcpSock, flags: int) -> TcpSock | int:
    """``inet_csk_accept``: the first connection of the accept queue, waiting if there is none."""
    lock_sock(sk)
    try:
        if sk.sk_state != TCP_LISTEN:
            return -EINVAL
        if not sk.accept_queue:
            timeo = sock_rcvtimeo(sk, bool(flags & O_NONBLOCK))
            while not sk.accept_queue:
                if not timeo:
                    return -EAGAIN
                if signal_pending_current():  # inet_csk_wait_for_connect
                    return sock_intr_errno(timeo)
                timeo = sk_wait_event(sk, timeo, lambda: sk.accept_queue or sk.sk_state != TCP_LISTEN)
                if sk.sk_state != TCP_LISTEN:
                    return -EINVAL
        child = sk.accept_queue.popleft()
        sk.sk_ack_backlog -= 1
        child.parent = None
        return child
    finally:
        release_sock(sk)


# -- poll and ioctl --------------------------------------------------------------------------

def tcp_poll(sk: TcpSock) -> int:
    """``tcp_poll``: when the buffer is not writeable, SOCK_NOSPACE asks for a wake-up later."""
    state = sk.sk_state
    if state == TCP_LISTEN:
        return POLLIN | POLLRDNORM if sk.accept_queue else 0
    mask = 0
    shutdown = sk.sk_shutdown
    if shutdown == SHUTDOWN_MASK or state == TCP_CLOSE:
        mask |= POLLHUP
    if shutdown & RCV_SHUTDOWN:
        mask |= POLLIN | POLLRDNORM | POLLRDHUP
    if state != TCP_SYN_SENT and (state != TCP_SYN_RECV or sk.fastopen_rsk is not None):
        avail = (sk.rcv_nxt - sk.copied_seq) & SEQ_MASK
        target = min(sk.sk_rcvlowat, 1 << 30)
        if sk.urg_data and sk.urg_seq == sk.copied_seq and not sk.sk_urginline:
            target += 1  # the urgent byte next is not readable data
        if avail and avail < 0x80000000 and avail >= target:
            mask |= POLLIN | POLLRDNORM
        if not shutdown & SEND_SHUTDOWN:
            if sk_stream_is_writeable(sk, 1):
                mask |= POLLOUT | POLLWRNORM
            else:
                sk.sock_flags |= SOCK_NOSPACE
        else:
            mask |= POLLOUT | POLLWRNORM
    elif state == TCP_SYN_SENT and sk.defer_connect:
        # a Fast Open connect waiting for the write whose data its SYN is to carry
        mask |= POLLOUT | POLLWRNORM
    if sk.urg_data & TCP_URG_VALID:
        mask |= POLLPRI
    if sk.sk_err or sk.sk_error_queue:
        mask |= POLLERR
    return mask


def tcp_inq(sk: TcpSock) -> int:
    """``tcp_inq``: the bytes a read may return: none while the handshake is on, those before
    an urgent byte not yet read out of band, else all received and unread (the FIN, once
    received, is not one: SOCK_DONE)."""
    if sk.sk_state in (TCP_SYN_SENT, TCP_SYN_RECV):
        return 0
    if (sk.sk_urginline or not sk.urg_data or before(sk.urg_seq, sk.copied_seq)
            or not before(sk.urg_seq, sk.rcv_nxt)):
        answ = (sk.rcv_nxt - sk.copied_seq) & SEQ_MASK
        if answ and sk.sk_done:
            answ -= 1
        return answ
    return (sk.urg_seq - sk.copied_seq) & SEQ_MASK


def tcp_ioctl(sk: TcpSock, cmd: int) -> int:
    """``tcp_ioctl``: SIOCINQ (unread bytes), SIOCOUTQ (unacknowledged), SIOCOUTQNSD (unsent);
    while the handshake is on, nothing is counted as sent (the SYN is not data)."""
    if cmd in (SIOCINQ, SIOCOUTQ, SIOCOUTQNSD) and sk.sk_state == TCP_LISTEN:
        return -EINVAL
    if cmd == SIOCINQ:
        return tcp_inq(sk)
    if cmd == SIOCOUTQ or cmd == SIOCOUTQNSD:
        if sk.sk_state in (TCP_SYN_SENT, TCP_SYN_RECV):
            return 0
        return (sk.write_seq - (sk.snd_una if cmd == SIOCOUTQ else sk.snd_nxt)) & SEQ_MASK
    if cmd == SIOCATMARK:
        # sockatmark(3): is the next byte to read the urgent one?
        return int(bool(sk.urg_data) and sk.urg_seq == sk.copied_seq)
    return -ENOIOCTLCMD


# -- options ---------------------------------------------------------------------------------

# -- repair mode -------------------------------------------------------------------------------
# TCP_REPAIR lets a program (CRIU) read a connection out of its socket and build it again in
# another: the sequence numbers of both queues, their contents, the windows and the options the
# handshake agreed on are read and set, and a connect() makes the connection without one.

def tcp_can_repair_sock(sk: TcpSock) -> bool:
    """``tcp_can_repair_sock``: CAP_NET_ADMIN (tuxnet's programs have it), and not a listener."""
    return sk.sk_state != TCP_LISTEN


def tcp_repair_set_window(sk: TcpSock, optval: Any) -> int:
    """``tcp_repair_set_window``: ``struct tcp_repair_window``, checked against RCV.NXT."""
    if not sk.repair:
        return -EPERM
    if len(optval) != _tcp_repair_window.size:
        return -EINVAL
    snd_wl1, snd_wnd, max_window, rcv_wnd, rcv_wup = _tcp_repair_window.unpack(optval)
    if max_window < snd_wnd:
        return -EINVAL
    if after(snd_wl1, (sk.rcv_nxt + rcv_wnd) & SEQ_MASK) or after(rcv_wup, sk.rcv_nxt):
        return -EINVAL
    sk.snd_wl1, sk.snd_wnd, sk.max_window, sk.rcv_wnd, sk.rcv_wup = snd_wl1, snd_wnd, max_window, rcv_wnd, rcv_wup
    return 0


def tcp_repair_options_est(sk: TcpSock, optval: Any) -> int:
    """``tcp_repair_options_est``: the options the handshake agreed on, as ``struct tcp_repair_opt``
    (an option's kind and value): the peer's MSS, both window scales (the send scale in the low
    16 bits), SACK and timestamps (value 0); other kinds, and a short tail, are let be."""
    opt = sk.rx_opt
    for at in range(0, len(optval) - _tcp_repair_opt.size + 1, _tcp_repair_opt.size):
        code, val = _tcp_repair_opt.unpack_from(optval, at)
        if code == TCPOPT_MSS:
            opt.mss_clamp = val
            tcp_mtup_init(sk)
        elif code == TCPOPT_WINDOW:
            snd_wscale, rcv_wscale = val & 0xFFFF, val >> 16
            if snd_wscale > TCP_MAX_WSCALE or rcv_wscale > TCP_MAX_WSCALE:
                return -EFBIG
            opt.snd_wscale, opt.rcv_wscale, opt.wscale_ok = snd_wscale, rcv_wscale, True
        elif code == TCPOPT_SACK_PERM:
            if val:
                return -EINVAL
            opt.sack_ok = True
        elif code == TCPOPT_TIMESTAMP:
            if val:
                return -EINVAL
            opt.tstamp_ok = True
    return 0


def tcp_send_rcvq(sk: TcpSock, msg: Any, size: int) -> int:
    """``tcp_send_rcvq``: a send in repair mode on the receive queue puts the data there, as if it
    had come in order (RCV.NXT moves on), at most MAX_SKB_FRAGS pages and what is left of a page
    at a time; ENOMEM when the receive memory has no room."""
    if size == 0:
        return 0
    if size > PAGE_SIZE:
        size = min(size // PAGE_SIZE, MAX_SKB_FRAGS) * PAGE_SIZE + size % PAGE_SIZE
    data = b"".join(bytes(b) for b in msg.msg_iov)[:size]
    skb = alloc_skb_data(data, 0, 0)
    skb.transport_header = 0
    if tcp_try_rmem_schedule(sk, skb):
        sk.host.mib.TcpExt["TCPRcvQDrop"] += 1
        return -ENOMEM
    skb.seq = sk.rcv_nxt
    skb.end_seq = (skb.seq + size) & SEQ_MASK
    skb.ack_seq = (sk.snd_una - 1) & SEQ_MASK
    tcp_queue_rcv(sk, skb)
    return size


def tcp_peek_sndq(sk: TcpSock, size: int) -> bytes | int:
    """``tcp_peek_sndq``: in repair mode, a peek at the send queue reads what was sent and not
    acknowledged, then what was not sent, buffer by buffer (EFAULT if a buffer does not fit)."""
    out = bytearray()
    for skb in (*sk.tcp_rtx_queue, *sk.sk_write_queue):
        if len(out) + skb.tail - skb.data > size:
            return -EFAULT
        for view in skb_views(skb, skb.data, skb.tail):
            out += view
    return bytes(out)


def tcp_setsockopt(sk: TcpSock, optname: int, optval: Any) -> int:
    """``do_tcp_setsockopt``."""
    if optname == TCP_FASTOPEN_KEY:
        # a listener's own Fast Open key, a backup key after it (tcp_fastopen_reset_cipher)
        if not isinstance(optval, bytes | bytearray) or len(optval) not in (TCP_FASTOPEN_KEY_LENGTH,
                                                                             2 * TCP_FASTOPEN_KEY_LENGTH):
            return -EINVAL
        key = bytes(optval)
        sk.fastopen_keys = [key[i:i + TCP_FASTOPEN_KEY_LENGTH] for i in range(0, len(key), TCP_FASTOPEN_KEY_LENGTH)]
        return 0
    if optname == TCP_CONGESTION:
        if isinstance(optval, bytes | bytearray):
            if not optval:
                return -EINVAL  # (optlen < 1)
            name = optval[:TCP_CA_NAME_MAX - 1].rstrip(b"\0").decode(errors="replace")
        else:
            name = str(optval)
        return 0 if tcp_set_congestion_control(sk, name) else -ENOENT
    if optname in (TCP_MD5SIG, TCP_MD5SIG_EXT):
        if sockopt_int(optval) is None:
            return -EINVAL  # (optlen < sizeof(int), before any option's own check)
        lock_sock(sk)
        try:
            return tcp_v4_parse_md5_keys(sk, optname, optval)  # (tp->af_specific->md5_parse)
        finally:
            release_sock(sk)
    if optname == TCP_ULP:
        # tcp_set_ulp: an upper-layer protocol (kTLS, MPTCP) by name; tuxnet has none, so every
        # name is one no module provides
        if isinstance(optval, bytes | bytearray) and not optval:
            return -EINVAL
        return -ENOENT
    val = sockopt_int(optval)
    if val is None:
        return -EINVAL
    lock_sock(sk)
    try:
        if optname == TCP_NODELAY:
            if val:
                sk.nonagle |= TCP_NAGLE_OFF | TCP_NAGLE_PUSH
                if sk.sk_write_queue:
                    __tcp_push_pending_frames(sk, tcp_current_mss(sk), sk.nonagle)
            else:
                sk.nonagle &= ~TCP_NAGLE_OFF
        elif optname == TCP_CORK:
            if val:
                sk.nonagle |= TCP_NAGLE_CORK
            else:
                sk.nonagle &= ~TCP_NAGLE_CORK
                if sk.nonagle & TCP_NAGLE_OFF:
                    sk.nonagle |= TCP_NAGLE_PUSH
                if sk.sk_write_queue:
                    __tcp_push_pending_frames(sk, tcp_current_mss(sk), sk.nonagle)
        elif optname == TCP_MAXSEG:
            if val and (val < TCP_MIN_MSS or val > MAX_TCP_WINDOW):
                return -EINVAL
            sk.rx_opt.user_mss = val
        elif optname == TCP_KEEPIDLE:
            if val < 1 or val > MAX_TCP_KEEPIDLE:
                return -EINVAL
            sk.keepalive_time = val * NSEC_PER_SEC
            if sk.sk_keepopen and sk.sk_state not in (TCP_CLOSE, TCP_LISTEN):
                inet_csk_reset_keepalive_timer(sk, keepalive_time_when(sk))
        elif optname == TCP_KEEPINTVL:
            if val < 1 or val > MAX_TCP_KEEPINTVL:
                return -EINVAL
            sk.keepalive_intvl = val * NSEC_PER_SEC
        elif optname == TCP_KEEPCNT:
            if val < 1 or val > MAX_TCP_KEEPCNT:
                return -EINVAL
            sk.keepalive_probes = val
        elif optname == TCP_SYNCNT:
            if val < 1 or val > MAX_TCP_SYNCNT:
                return -EINVAL
            sk.icsk_syn_retries = val
        elif optname == TCP_LINGER2:
            sk.linger2 = -1 if val < 0 else min(val * NSEC_PER_SEC, TCP_FIN_TIMEOUT_MAX)
        elif optname == TCP_DEFER_ACCEPT:
            sk.rskq_defer_accept = secs_to_retrans(val, TCP_TIMEOUT_INIT // NSEC_PER_SEC,
                                                   TCP_RTO_MAX // NSEC_PER_SEC)
        elif optname == TCP_WINDOW_CLAMP:
            return tcp_set_window_clamp(sk, val)
        elif optname == TCP_QUICKACK:
            # __tcp_sock_set_quickack: out of pingpong, and an ACK owed goes as a read that
            # emptied the queue would send it (tcp_cleanup_rbuf); an even value returns to it
            ack = sk.icsk_ack
            if val:
                ack.pingpong = 0
                if sk.sk_state in (TCP_ESTABLISHED, TCP_CLOSE_WAIT) and ack.pending & ICSK_ACK_SCHED:
                    ack.pending |= ICSK_ACK_PUSHED
                    tcp_cleanup_rbuf(sk, 1)
                    if not val & 1:
                        ack.pingpong = 1
            else:
                ack.pingpong = 1
        elif optname == TCP_USER_TIMEOUT:
            if val < 0:
                return -EINVAL
            sk.icsk_user_timeout = val * NSEC_PER_MSEC
        elif optname == TCP_NOTSENT_LOWAT:
            sk.notsent_lowat = val & 0xFFFFFFFF
            sk.sk_write_space()
        elif optname == TCP_INQ:
            if val > 1 or val < 0:
                return -EINVAL
            sk.recvmsg_inq = bool(val)
        elif optname == TCP_THIN_LINEAR_TIMEOUTS:
            if val not in (0, 1):
                return -EINVAL
            sk.thin_lto = val
        elif optname == TCP_SAVE_SYN:
            if not 0 <= val <= 2:  # (0: off, 1: from the IP header, 2: from the link-layer header)
                return -EINVAL
            sk.save_syn = val
        elif optname == TCP_THIN_DUPACK:
            if val not in (0, 1):  # (obsolete since Linux 4.13: checked, and otherwise ignored)
                return -EINVAL
        elif optname == TCP_FASTOPEN:
            if val < 0 or sk.sk_state not in (TCP_CLOSE, TCP_LISTEN):
                return -EINVAL
            tcp_fastopen_init_key_once(sk.host)
            fastopen_queue_tune(sk, val)
        elif optname == TCP_FASTOPEN_CONNECT:
            if val > 1 or val < 0:
                return -EINVAL
            if not sk.host.sysctl["net.ipv4.tcp_fastopen"] & TFO_CLIENT_ENABLE:
                return -EOPNOTSUPP
            if sk.sk_state != TCP_CLOSE:
                return -EINVAL
            sk.fastopen_connect = bool(val)
        elif optname == TCP_FASTOPEN_NO_COOKIE:
            if val > 1 or val < 0 or sk.sk_state not in (TCP_CLOSE, TCP_LISTEN):
                return -EINVAL
            sk.fastopen_no_cookie = bool(val)
        elif optname == TCP_REPAIR:
            if not tcp_can_repair_sock(sk):
                return -EPERM
            if val == TCP_REPAIR_ON:
                sk.repair = 1
                sk.sk_reuse = SK_FORCE_REUSE
                sk.repair_queue = TCP_NO_QUEUE
            elif val in (TCP_REPAIR_OFF, TCP_REPAIR_OFF_NO_WP):
                sk.repair = 0
                sk.sk_reuse = SK_NO_REUSE
                if val == TCP_REPAIR_OFF:
                    tcp_send_window_probe(sk)
            else:
                return -EINVAL
        elif optname == TCP_REPAIR_QUEUE:
            if not sk.repair:
                return -EPERM
            if not 0 <= val < TCP_QUEUES_NR:
                return -EINVAL
            sk.repair_queue = val
        elif optname == TCP_QUEUE_SEQ:
            val &= SEQ_MASK
            if sk.sk_state != TCP_CLOSE:
                return -EPERM
            if sk.repair_queue == TCP_SEND_QUEUE:
                if sk.tcp_rtx_queue:
                    return -EPERM
                sk.write_seq = val
            elif sk.repair_queue == TCP_RECV_QUEUE:
                if sk.rcv_nxt != sk.copied_seq:
                    return -EPERM
                sk.rcv_nxt = sk.copied_seq = val
            else:
                return -EINVAL
        elif optname == TCP_REPAIR_OPTIONS:
            if not sk.repair:
                return -EINVAL
            if sk.sk_state != TCP_ESTABLISHED or sk.bytes_sent:
                return -EPERM
            return tcp_repair_options_est(sk, optval)
        elif optname == TCP_REPAIR_WINDOW:
            return tcp_repair_set_window(sk, optval)
        elif optname == TCP_TIMESTAMP:
            if not sk.repair:
                return -EPERM
            sk.tsoffset = (val - sk.host.world.now // NSEC_PER_MSEC) & SEQ_MASK  # (val - tcp_clock_ts())
        else:
            return -ENOPROTOOPT
        return 0
    finally:
        release_sock(sk)


def tcp_set_rcvlowat(sk: TcpSock, val: int) -> int:
    """``tcp_set_rcvlowat`` (inet_stream_ops' ``set_rcvlowat``): SO_RCVLOWAT no higher than half
    the receive buffer the socket may have (its own, when set, else ``tcp_rmem``'s largest), a
    reader woken if what is queued already reaches it (``tcp_data_ready``), and an unlocked buffer
    grown to hold a window that big, a window clamp already set raised to it (an unset one,
    0 before the connection, stays so, as on this machine's Linux 6.18)."""
    locked = sk.sk_userlocks & SOCK_RCVBUF_LOCK
    cap = (sk.sk_rcvbuf if locked else sk.host.sysctl["net.ipv4.tcp_rmem"][2]) >> 1
    val = min(val, cap)
    sk.sk_rcvlowat = val or 1
    if (sk.rcv_nxt - sk.copied_seq) & SEQ_MASK >= sk.sk_rcvlowat or sk.sk_done:
        sk.sk_data_ready()
    if locked:
        return 0
    space = tcp_space_from_win(sk, val)
    if space > sk.sk_rcvbuf:
        sk.sk_rcvbuf = space
        if sk.window_clamp and sk.window_clamp < val:
            sk.window_clamp = val
    return 0


def tcp_getsockopt(sk: TcpSock, optname: int, optlen: int | None = None) -> int | bytes:
    """``do_tcp_getsockopt``: a ``SockoptInt``, or bytes (TCP_INFO's ``struct tcp_info``), or
    ``-errno``; ``optlen`` is the caller's room (None: any)."""
    if optname == TCP_SAVED_SYN:
        # the SYN's headers, once, into a buffer that holds them all (EINVAL, and kept, if not)
        saved = sk.saved_syn
        if saved is None:
            return b""
        if optlen is not None and optlen < len(saved):
            return -EINVAL
        sk.saved_syn = None  # (tcp_saved_syn_free)
        return saved
    if optname == TCP_INFO:
        from tuxnet.net.ipv4.tcp_info import tcp_get_info

        return tcp_get_info(sk).pack()
    if optname == TCP_CONGESTION:
        return sk.icsk_ca_ops.name.encode().ljust(TCP_CA_NAME_MAX, b"\0")
    if optname == TCP_FASTOPEN_KEY:
        # the socket's own keys as they were set, none when it has none: tcp_fastopen_get_cipher,
        # given the socket, does not fall back to the namespace's (as this machine's kernel reads)
        return b"".join(sk.fastopen_keys)
    if optname == TCP_ULP:
        return b""  # (the name of none)
    if optname == TCP_REPAIR_WINDOW:
        if optlen is not None and optlen != _tcp_repair_window.size:
            return -EINVAL
        if not sk.repair:
            return -EPERM
        return _tcp_repair_window.pack(sk.snd_wl1, sk.snd_wnd, sk.max_window, sk.rcv_wnd, sk.rcv_wup)
    if optname == TCP_REPAIR_QUEUE and not sk.repair:
        return -EINVAL
    if optname == TCP_QUEUE_SEQ:
        if sk.repair_queue == TCP_SEND_QUEUE:
            return SockoptInt(sk.write_seq)
        if sk.repair_queue == TCP_RECV_QUEUE:
            return SockoptInt(sk.rcv_nxt)
        return -EINVAL
    if optname == TCP_CC_INFO:
        # union tcp_cc_info: the algorithm's own record (BBR's tcp_bbr_info), empty for those
        # without a get_info (Reno, CUBIC)
        get_info = sk.icsk_ca_ops.get_info
        return get_info(sk).pack() if get_info is not None else b""
    values = {
        TCP_NODELAY: int(bool(sk.nonagle & TCP_NAGLE_OFF)),
        TCP_CORK: int(bool(sk.nonagle & TCP_NAGLE_CORK)),
        # the MSS in use; the one the user asked for while there is no connection to use one
        # (in repair mode, the peer's MSS as TCP_REPAIR_OPTIONS gave it)
        TCP_MAXSEG: sk.rx_opt.mss_clamp if sk.repair else sk.rx_opt.user_mss
        if sk.rx_opt.user_mss and sk.sk_state in (TCP_CLOSE, TCP_LISTEN) else sk.mss_cache,
        TCP_KEEPIDLE: keepalive_time_when(sk) // NSEC_PER_SEC,
        TCP_KEEPINTVL: (sk.keepalive_intvl or sk.host.sysctl["net.ipv4.tcp_keepalive_intvl"] * NSEC_PER_SEC)
        // NSEC_PER_SEC,
        TCP_KEEPCNT: sk.keepalive_probes or sk.host.sysctl["net.ipv4.tcp_keepalive_probes"],
        TCP_SYNCNT: sk.icsk_syn_retries or sk.host.sysctl["net.ipv4.tcp_syn_retries"],
        TCP_LINGER2: -1 if sk.linger2 < 0 else (sk.linger2 or sk.host.sysctl["net.ipv4.tcp_fin_timeout"]
                                                * NSEC_PER_SEC) // NSEC_PER_SEC,
        TCP_DEFER_ACCEPT: retrans_to_secs(sk.rskq_defer_accept, TCP_TIMEOUT_INIT // NSEC_PER_SEC,
                                          TCP_RTO_MAX // NSEC_PER_SEC),
        TCP_WINDOW_CLAMP: sk.window_clamp,
        TCP_QUICKACK: int(not sk.icsk_ack.pingpong),
        TCP_USER_TIMEOUT: sk.icsk_user_timeout // NSEC_PER_MSEC,
        TCP_NOTSENT_LOWAT: sk.notsent_lowat,
        TCP_INQ: int(sk.recvmsg_inq),
        TCP_THIN_LINEAR_TIMEOUTS: sk.thin_lto, TCP_THIN_DUPACK: 0, TCP_SAVE_SYN: sk.save_syn,
        TCP_FASTOPEN: sk.fastopenq_max_qlen,
        TCP_FASTOPEN_CONNECT: int(sk.fastopen_connect),
        TCP_FASTOPEN_NO_COOKIE: int(sk.fastopen_no_cookie),
        TCP_REPAIR: sk.repair, TCP_REPAIR_QUEUE: sk.repair_queue,
        TCP_TIMESTAMP: (sk.host.world.now // NSEC_PER_MSEC + sk.tsoffset) & SEQ_MASK,  # (tcp_clock_ts + tsoffset)
    }
    if optname in values:
        return SockoptInt(values[optname])
    return -ENOPROTOOPT


def tcp_v4_init_sock(sk: TcpSock) -> None:
    """``tcp_v4_init_sock``."""
    tcp_init_sock(sk)
    sk.icsk_af_ops = ipv4_specific


def tcp_set_keepalive(sk: TcpSock, on: bool) -> None:
    """``tcp_set_keepalive``: SO_KEEPALIVE arms or stops the keepalive timer."""
    if sk.sk_state in (TCP_CLOSE, TCP_LISTEN):
        return
    if on:
        inet_csk_reset_keepalive_timer(sk, keepalive_time_when(sk))
    else:
        sk.sk_timer.delete()


def inet_csk_get_port(sk: TcpSock, snum: int) -> int:
    """``inet_csk_get_port``."""
    return sk.host.tcp_hashinfo.get_port(sk, snum)


tcp_prot = Proto(
    "TCP",
    level=IPPROTO_TCP,
    bind=None,
    close=tcp_close,
    connect=tcp_v4_connect,
    disconnect=tcp_disconnect,
    accept=inet_csk_accept,
    ioctl=tcp_ioctl,
    init=tcp_v4_init_sock,
    shutdown=tcp_shutdown,
    setsockopt=tcp_setsockopt,
    getsockopt=tcp_getsockopt,
    sendmsg=tcp_sendmsg,
    recvmsg=tcp_recvmsg,
    backlog_rcv=tcp_v4_do_rcv,
    unhash=inet_unhash,
    poll=tcp_poll,
    listen=inet_csk_listen_start,
    keepalive=tcp_set_keepalive,
    get_port=inet_csk_get_port,
    sock_class=TcpSock,
)

