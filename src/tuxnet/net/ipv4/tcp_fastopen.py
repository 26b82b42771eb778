"""TCP Fast Open (RFC 7413; net/ipv4/tcp_fastopen.c).

A client that holds a cookie from a server sends data in its SYN; the server checks the cookie
(SipHash of the two addresses under the server's key) and, when it is right, makes the child
socket at once, queues the SYN's data on it, acknowledges the data in its SYN-ACK and lets
``accept()`` return it before the handshake ends.  A client without a cookie asks for one with an
empty Fast Open option in a plain SYN, and keeps the one the SYN-ACK brings in its TCP metrics for
the next connection to that server.

``net.ipv4.tcp_fastopen`` enables the client (1, the default) and the server (2), which also needs
``setsockopt(TCP_FASTOPEN, qlen)`` on the listener: at most ``qlen`` Fast Open children may wait for
their handshake's last ACK.  A client sends data in its SYN with ``sendto(MSG_FASTOPEN)`` on an
unconnected socket, or with ``TCP_FASTOPEN_CONNECT`` then ``connect()`` and a first ``write()``.
"""

from __future__ import annotations

import struct
from typing import TYPE_CHECKING, Any

from tuxnet.kernel.siphash import siphash
from tuxnet.net.core.skbuff import skb_charged_truesize
from tuxnet.net.core.sock import sk_mem_schedule
from tuxnet.net.ipv4.tcp_sock import (
    ICSK_TIME_RETRANS,
    SEQ_MASK,
    TCP_FASTOPEN_COOKIE_SIZE,
    TCP_LISTEN,
    TCP_TIMEOUT_INIT,
    TCPHDR_FIN,
    TCPHDR_SYN,
    TFO_COOKIE_UNAVAILABLE,
    TcpFastopenCookie,
    TcpFastopenRequest,
)

if TYPE_CHECKING:
    from tuxnet.kernel.host import Host
    from tuxnet.net.core.skbuff import SkBuff
    from tuxnet.net.ipv4.tcp_minisocks import RequestSock
    from tuxnet.net.ipv4.tcp_sock import TcpSock

# net.ipv4.tcp_fastopen's bits (include/net/tcp.h)
TFO_CLIENT_ENABLE = 1
TFO_SERVER_ENABLE = 2
TFO_CLIENT_NO_COOKIE = 4
TFO_SERVER_COOKIE_NOT_REQD = 0x200
TFO_SERVER_WO_SOCKOPT1 = 0x400

TCP_FASTOPEN_KEY_LENGTH = 16
TCP_FASTOPEN_KEY_MAX = 2  # a primary and a backup key
TCP_FASTOPEN_KEY_DEFAULT = "00000000-00000000-00000000-00000000"


# How long a Fast Open request reset by its peer still counts in the listener's queue
# (reqsk_fastopen_remove: a defence against spoofed Fast Open SYNs).
TFO_RST_HOLD = 60 * 1_000_000_000


# -- keys and cookies -----------------------------------------------------------------------------

def tcp_fastopen_parse_key(text: str) -> list[bytes] | None:
    """The keys of ``net.ipv4.tcp_fastopen_key``'s text, each four 32-bit hexadecimal words
    joined by '-', a backup key after a ','; each word is stored little-endian
    (``proc_tcp_fastopen_key``).  None for text that is not that."""
    keys = []
    for part in text.strip().split(","):
        words = part.split("-")
        if len(words) != 4:
            return None
        try:
            values = [int(w, 16) for w in words]
        except ValueError:
            return None
        if any(not 0 <= v <= 0xFFFFFFFF for v in values):
            return None
        keys.append(struct.pack("<4I", *values))
    return keys if len(keys) <= TCP_FASTOPEN_KEY_MAX else None


def tcp_fastopen_format_key(keys: list[bytes]) -> str:
    """``proc_tcp_fastopen_key``'s reading: the keys as ``tcp_fastopen_parse_key`` reads them."""
    return ",".join("-".join(f"{w:08x}" for w in struct.unpack("<4I", key)) for key in keys)


def check_tcp_fastopen_key(value: Any) -> str | None:
    """A write to ``net.ipv4.tcp_fastopen_key`` that is not a key is refused (EINVAL)."""
    return None if tcp_fastopen_parse_key(str(value)) is not None else "Invalid argument"


def tcp_fastopen_init_key_once(host: Host) -> None:
    """``tcp_fastopen_init_key_once``: the namespace's first need of a key makes a random one,
    unless one was set."""
    if host.sysctl["net.ipv4.tcp_fastopen_key"] == TCP_FASTOPEN_KEY_DEFAULT:
        host.sysctl["net.ipv4.tcp_fastopen_key"] = tcp_fastopen_format_key(
            [host.rng.getrandbits(128).to_bytes(TCP_FASTOPEN_KEY_LENGTH, "little")])


def tcp_fastopen_get_keys(sk: TcpSock) -> list[bytes]:
    """``tcp_fastopen_get_ctx``: the listener's own keys (TCP_FASTOPEN_KEY), else the namespace's."""
    if sk.fastopen_keys:
        return sk.fastopen_keys
    text = sk.host.sysctl["net.ipv4.tcp_fastopen_key"]
    if text == TCP_FASTOPEN_KEY_DEFAULT:
        return []  # none made yet
    return tcp_fastopen_parse_key(text) or []


def __tcp_fastopen_cookie_gen_cipher(saddr: int, daddr: int, key: bytes) -> TcpFastopenCookie:
    """``__tcp_fastopen_cookie_gen_cipher``: SipHash of the SYN's source and destination addresses,
    as they stand in its IP header, under the key; the 64-bit result, little-endian, is the cookie."""
    k0, k1 = struct.unpack("<QQ", key)
    value = siphash(struct.pack("!II", saddr, daddr), k0, k1)
    return TcpFastopenCookie(value.to_bytes(TCP_FASTOPEN_COOKIE_SIZE, "little"), TCP_FASTOPEN_COOKIE_SIZE)


def tcp_fastopen_cookie_gen(sk: TcpSock, saddr: int, daddr: int) -> TcpFastopenCookie:
    """``tcp_fastopen_cookie_gen``: the cookie the SYN's sender should have, from the primary key."""
    keys = tcp_fastopen_get_keys(sk)
    if not keys:
        return TcpFastopenCookie()
    return __tcp_fastopen_cookie_gen_cipher(saddr, daddr, keys[0])


def tcp_fastopen_cookie_gen_check(sk: TcpSock, saddr: int, daddr: int, orig: TcpFastopenCookie,
                                  valid: TcpFastopenCookie) -> int:
    """``tcp_fastopen_cookie_gen_check``: 1 when the SYN's cookie is the primary key's, 2 when it
    is the backup key's, 0 when neither; ``valid`` gets the primary key's."""
    keys = tcp_fastopen_get_keys(sk)
    for i, key in enumerate(keys):
        search = __tcp_fastopen_cookie_gen_cipher(saddr, daddr, key)
        if i == 0:
            valid.val, valid.len, valid.exp = search.val, search.len, search.exp
        if search.len == orig.len and search.val == orig.val:
            return i + 1
    return 0


def tcp_fastopen_no_cookie(sk: TcpSock, flag: int) -> bool:
    """``tcp_fastopen_no_cookie``: may Fast Open go without a cookie (the sysctl's ``flag``, or the
    socket's TCP_FASTOPEN_NO_COOKIE)?"""
    return bool(sk.host.sysctl["net.ipv4.tcp_fastopen"] & flag) or sk.fastopen_no_cookie


# -- the server ---------------------------------------------------------------------------------

def fastopen_queue_tune(sk: TcpSock, backlog: int) -> None:
    """``fastopen_queue_tune``: TCP_FASTOPEN's queue length, no more than ``somaxconn``."""
    sk.fastopenq_max_qlen = min(backlog, sk.host.sysctl["net.core.somaxconn"])


def tcp_fastopen_queue_check(sk: TcpSock) -> bool:
    """``tcp_fastopen_queue_check``: has the listener room for one more Fast Open child?"""
    if not sk.fastopenq_max_qlen:
        return False
    if sk.fastopenq_qlen >= sk.fastopenq_max_qlen:
        sk.host.mib.TcpExt["TCPFastOpenListenOverflow"] += 1
        return False
    return True


def tcp_fastopen_add_skb(sk: TcpSock, skb: SkBuff) -> None:
    """``tcp_fastopen_add_skb``: the data a SYN (or, on the client, a SYN-ACK) carries goes on the
    receive queue, the SYN's sequence number left behind."""
    from tuxnet.net.ipv4 import tcp_input  # (which imports this module)

    if skb.end_seq == sk.rcv_nxt:
        return
    skb.data = skb.transport_header + ((skb.buf[skb.transport_header + 12] >> 4) << 2)
    skb.dst = None
    skb.seq = (skb.seq + 1) & SEQ_MASK
    skb.tcp_flags &= ~TCPHDR_SYN
    sk_mem_schedule(sk, skb_charged_truesize(skb))  # sk_forced_mem_schedule
    tcp_input.tcp_queue_rcv(sk, skb)
    sk.syn_data_acked = True
    if skb.tcp_flags & TCPHDR_FIN:
        tcp_input.tcp_fin(sk)


def tcp_fastopen_create_child(sk: TcpSock, skb: SkBuff, req: RequestSock) -> TcpSock | None:
    """``tcp_fastopen_create_child``: the full socket of a valid Fast Open SYN, made now, in
    SYN_RECV: its SYN-ACK retransmitted from its own retransmission timer, the SYN's data on its
    receive queue."""
    from tuxnet.net.ipv4 import tcp_input, tcp_output  # (which import this module)

    child = sk.icsk_af_ops.syn_recv_sock(sk, skb, req)
    if child is None:
        return None
    sk.fastopenq_qlen += 1
    child.fastopen_rsk = req
    req.tfo_listener = True
    # the SYN's window is never scaled (RFC 7323 section 2.2)
    buf = skb.buf
    th = skb.transport_header
    child.snd_wnd = (buf[th + 14] << 8) | buf[th + 15]
    child.max_window = child.snd_wnd
    tcp_output.inet_csk_reset_xmit_timer(child, ICSK_TIME_RETRANS, TCP_TIMEOUT_INIT)
    tcp_input.tcp_init_transfer(child)
    child.rcv_nxt = (skb.seq + 1) & SEQ_MASK
    tcp_fastopen_add_skb(child, skb)
    req.rcv_nxt = child.rcv_nxt
    child.rcv_wup = child.rcv_nxt
    return child


def tcp_try_fastopen(sk: TcpSock, skb: SkBuff, req: RequestSock, foc: TcpFastopenCookie,
                     saddr: int, daddr: int) -> TcpSock | None:
    """``tcp_try_fastopen``: the child of a SYN whose cookie is right (or that needs none), or None;
    ``foc`` becomes the cookie the SYN-ACK is to carry (none, -1, after a child was made)."""
    mib = sk.host.mib.TcpExt
    tcp_fastopen = sk.host.sysctl["net.ipv4.tcp_fastopen"]
    syn_data = skb.end_seq != ((skb.seq + 1) & SEQ_MASK)
    valid = TcpFastopenCookie()
    if foc.len == 0:  # the client asks for a cookie
        mib["TCPFastOpenCookieReqd"] += 1
    if not (tcp_fastopen & TFO_SERVER_ENABLE and (syn_data or foc.len >= 0) and tcp_fastopen_queue_check(sk)):
        foc.len = -1
        return None
    ret = 1
    if not (syn_data and tcp_fastopen_no_cookie(sk, TFO_SERVER_COOKIE_NOT_REQD)):
        if foc.len == 0:
            valid = tcp_fastopen_cookie_gen(sk, saddr, daddr)
            ret = 0
        elif foc.len > 0:
            ret = tcp_fastopen_cookie_gen_check(sk, saddr, daddr, foc, valid)
            if not ret:
                mib["TCPFastOpenPassiveFail"] += 1
        else:
            ret = 0
    if ret:
        child = tcp_fastopen_create_child(sk, skb, req)
        if child is not None:
            if ret == 2:
                valid.exp = foc.exp
                foc.val, foc.len, foc.exp = valid.val, valid.len, valid.exp
                mib["TCPFastOpenPassiveAltKey"] += 1
            else:
                foc.len = -1
            mib["TCPFastOpenPassive"] += 1
            return child
        mib["TCPFastOpenPassiveFail"] += 1
    valid.exp = foc.exp
    foc.val, foc.len, foc.exp = valid.val, valid.len, valid.exp
    return None


def reqsk_fastopen_remove(sk: TcpSock, req: RequestSock, reset: bool) -> None:
    """``reqsk_fastopen_remove`` (net/core/request_sock.c): a Fast Open child's handshake is over
    (or the child is gone): it leaves its listener's Fast Open queue.  One an RST ended, once
    accepted, stays counted for a minute while its listener listens."""
    listener = req.listener
    sk.fastopen_rsk = None
    req.tfo_listener = False
    if reset and listener.sk_state == TCP_LISTEN and sk not in listener.accept_queue:
        listener.host.world.call_at(listener.host.world.now + TFO_RST_HOLD, _fastopen_rst_expired, listener)
        return
    listener.fastopenq_qlen = max(listener.fastopenq_qlen - 1, 0)


def _fastopen_rst_expired(listener: TcpSock) -> None:
    listener.fastopenq_qlen = max(listener.fastopenq_qlen - 1, 0)


# -- the client ---------------------------------------------------------------------------------

def tcp_fastopen_cookie_check(sk: TcpSock, cookie: TcpFastopenCookie) -> tuple[bool, int]:
    """``tcp_fastopen_cookie_check``: may the SYN carry data: with a cookie cached for the
    destination (``cookie`` gets it), or with none needed?  Returns that and the cached MSS."""
    from tuxnet.net.ipv4 import tcp_metrics  # (tcp_output, which imports this module, needs it)

    mss = tcp_metrics.tcp_fastopen_cache_get(sk, cookie)
    # (Linux would first turn Fast Open off for a while after it seemed blackholed, with
    # tcp_fastopen_blackhole_timeout_sec, which is 0, never, since Linux 5.14; not modelled)
    if tcp_fastopen_no_cookie(sk, TFO_CLIENT_NO_COOKIE):
        cookie.len = -1
        return True, mss
    if cookie.len > 0:
        return True, mss
    sk.fastopen_client_fail = TFO_COOKIE_UNAVAILABLE
    return False, mss


def tcp_fastopen_defer_connect(sk: TcpSock) -> tuple[bool, int]:
    """``tcp_fastopen_defer_connect``: with TCP_FASTOPEN_CONNECT and a cookie, ``connect()`` sends
    nothing yet: the SYN goes with the first write's data.  Without a cookie the SYN asks for one.
    Returns whether the connect is deferred, and 0 or -errno."""
    if sk.fastopen_connect and sk.fastopen_req is None:
        cookie = TcpFastopenCookie(length=0)
        ok, _ = tcp_fastopen_cookie_check(sk, cookie)
        if ok:
            sk.defer_connect = True
            return True, 0
        sk.fastopen_req = TcpFastopenRequest(cookie)
    return False, 0


def tcp_free_fastopen_req(sk: TcpSock) -> None:
    """``tcp_free_fastopen_req``."""
    sk.fastopen_req = None

