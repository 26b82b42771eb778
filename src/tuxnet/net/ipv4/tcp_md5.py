"""TCP MD5 signatures (RFC 2385), the kernel's CONFIG_TCP_MD5SIG: a socket's keys, each for a peer
address or prefix (TCP_MD5SIG, TCP_MD5SIG_EXT, ``tcp_v4_parse_md5_keys`` and ``tcp_md5_do_*`` of
net/ipv4/tcp_ipv4.c), the digest over a segment (``tcp_v4_md5_hash_skb``), and the check of every
segment that comes in (``tcp_inbound_hash`` of include/net/tcp.h, ``tcp_inbound_md5_hash`` of
net/ipv4/tcp.c, ``tcp_do_parse_auth_options`` of net/ipv4/tcp_input.c).

The digest (RFC 2385 section 2.0) covers the IPv4 pseudo-header, the TCP header without its options
and with a zero checksum, the payload, and the key.  A segment that should carry one and does not
(TCPMD5NotFound), carries one that no key expects (TCPMD5Unexpected), or carries a wrong one
(TCPMD5Failure) is dropped.  tuxnet follows a kernel built, as this machine's is, with MD5
signatures and without TCP-AO (RFC 5925): an AO option is parsed and checked for its form only.
There are no VRF devices, so every key's L3 index is 0."""

from __future__ import annotations

import hashlib
import struct
from typing import TYPE_CHECKING, Any

from tuxnet.kernel.errno import EEXIST, EINVAL, ENOENT, ENOMEM
from tuxnet.net.core.skbuff import skb_views
from tuxnet.net.core.utils import inet_make_mask

if TYPE_CHECKING:
    from tuxnet.net.core.skbuff import SkBuff
    from tuxnet.net.ipv4.tcp_sock import TcpSock

# include/uapi/linux/tcp.h
TCP_MD5SIG = 14
TCP_MD5SIG_EXT = 32
TCP_MD5SIG_MAXKEYLEN = 80
TCP_MD5SIG_FLAG_PREFIX = 0x1  # tcpm_prefixlen is valid (TCP_MD5SIG_EXT)
TCP_MD5SIG_FLAG_IFINDEX = 0x2  # tcpm_ifindex is valid (TCP_MD5SIG_EXT)
# struct tcp_md5sig: a sockaddr_storage, flags, prefix length, key length, ifindex, the key
_tcp_md5sig = struct.Struct("=H2x4s120xBBHi80s")
SIZEOF_TCP_MD5SIG = _tcp_md5sig.size  # 216
# struct tcp_md5sig_key as sock_kmalloc() charges it to the socket's option memory: an hlist_node,
# four octets of lengths and flags, the address union, the L3 index, the key, an rcu_head.  A
# socket holds 963 of them under the default optmem_max (131072), as on this machine's kernel.
SIZEOF_TCP_MD5SIG_KEY = 136

TCPOPT_MD5SIG = 19
TCPOLEN_MD5SIG = 18
TCPOLEN_MD5SIG_ALIGNED = 20
TCPOPT_AO = 29
TCP_AO_HDR_LEN = 4  # struct tcp_ao_hdr: kind, length, keyid, rnext_keyid
# What tcp_options_write() puts first of all: NOP, NOP, the option's kind and length, then room
# for the digest, filled in once the segment is complete.
MD5_OPTION = bytes((1, 1, TCPOPT_MD5SIG, TCPOLEN_MD5SIG)) + bytes(16)

# enum skb_drop_reason: why tcp_inbound_hash() drops a segment, by the names the kernel's
# skb:kfree_skb tracepoint prints (None: it does not drop it, SKB_NOT_DROPPED_YET)
SKB_DROP_REASON_TCP_AUTH_HDR = "TCP_AUTH_HDR"
SKB_DROP_REASON_TCP_MD5NOTFOUND = "TCP_MD5NOTFOUND"
SKB_DROP_REASON_TCP_MD5UNEXPECTED = "TCP_MD5UNEXPECTED"
SKB_DROP_REASON_TCP_MD5FAILURE = "TCP_MD5FAILURE"
SKB_DROP_REASON_TCP_AOFAILURE = "TCP_AOFAILURE"

_pseudo = struct.Struct("!IIBBH")


class TcpMd5sigKey:
    """``struct tcp_md5sig_key``: a key for the peers ``addr``/``prefixlen``."""

    __slots__ = ("key", "prefixlen", "l3index", "flags", "addr")

    def __init__(self, key: bytes, addr: int, prefixlen: int, l3index: int, flags: int) -> None:
        self.key = key
        self.addr = addr
        self.prefixlen = prefixlen
        self.l3index = l3index
        self.flags = flags


# -- a socket's keys (net/ipv4/tcp_ipv4.c) ---------------------------------------------------

def better_md5_match(old: TcpMd5sigKey | None, new: TcpMd5sigKey) -> bool:
    """``better_md5_match``: a key bound to an L3 domain beats one that is not, then the longer
    prefix wins."""
    if old is None:
        return True
    if old.l3index and not new.l3index:
        return False
    if not old.l3index and new.l3index:
        return True
    return old.prefixlen < new.prefixlen


def tcp_md5_do_lookup(sk: Any, l3index: int, addr: int) -> TcpMd5sigKey | None:
    """``__tcp_md5_do_lookup``: the best of ``sk``'s keys for peer ``addr`` (None without one)."""
    keys = sk.md5sig_info
    if not keys:
        return None
    best = None
    for key in keys:
        if key.flags & TCP_MD5SIG_FLAG_IFINDEX and key.l3index != l3index:
            continue
        mask = inet_make_mask(key.prefixlen)
        if key.addr & mask == addr & mask and better_md5_match(best, key):
            best = key
    return best


def tcp_md5_do_lookup_exact(sk: TcpSock, addr: int, prefixlen: int, l3index: int,
                            flags: int) -> TcpMd5sigKey | None:
    """``tcp_md5_do_lookup_exact``: the key set for exactly this address, prefix length, L3 index
    and IFINDEX flag."""
    for key in sk.md5sig_info or ():
        if (key.flags & TCP_MD5SIG_FLAG_IFINDEX == flags & TCP_MD5SIG_FLAG_IFINDEX and key.l3index == l3index
                and key.addr == addr and key.prefixlen == prefixlen):
            return key
    return None


def sk_gso_disable(sk: TcpSock) -> None:
    """``sk_gso_disable``: each segment is signed, so none may be cut from a larger one later; the
    segments are built one MSS each (``sk_setup_caps`` keeps ``sk_gso_max_segs`` at 1 for it)."""
    sk.sk_gso_disabled = True
    sk.sk_gso_max_segs = 1


def tcp_md5_do_add(sk: TcpSock, addr: int, prefixlen: int, l3index: int, flags: int, newkey: bytes) -> int:
    """``tcp_md5_do_add``: set the key for a peer, replacing the key of one set before; a new key
    is charged to the socket's option memory (``sock_kmalloc``, ENOMEM past ``optmem_max``)."""
    key = tcp_md5_do_lookup_exact(sk, addr, prefixlen, l3index, flags)
    if key is not None:
        key.key = newkey
        return 0
    if sk.md5sig_info is None:
        sk.md5sig_info = []
        sk_gso_disable(sk)
    optmem_max = sk.host.sysctl["net.core.optmem_max"]
    if SIZEOF_TCP_MD5SIG_KEY > optmem_max or sk.sk_omem_alloc + SIZEOF_TCP_MD5SIG_KEY >= optmem_max:
        return -ENOMEM
    sk.sk_omem_alloc += SIZEOF_TCP_MD5SIG_KEY
    sk.md5sig_info.insert(0, TcpMd5sigKey(newkey, addr, prefixlen, l3index, flags))  # (hlist_add_head_rcu)
    return 0


def tcp_md5_do_del(sk: TcpSock, addr: int, prefixlen: int, l3index: int, flags: int) -> int:
    """``tcp_md5_do_del``: forget the key set for exactly this peer (ENOENT if there is none)."""
    key = tcp_md5_do_lookup_exact(sk, addr, prefixlen, l3index, flags)
    if key is None:
        return -ENOENT
    sk.md5sig_info.remove(key)
    sk.sk_omem_alloc -= SIZEOF_TCP_MD5SIG_KEY
    return 0


def tcp_v4_parse_md5_keys(sk: TcpSock, optname: int, optval: Any) -> int:
    """``tcp_v4_parse_md5_keys``: TCP_MD5SIG and TCP_MD5SIG_EXT take a ``struct tcp_md5sig``; a key
    length of 0 deletes the key.  The extended form may give a prefix (of at most 32 bits) and an
    interface, which must be an L3 master (a VRF, which tuxnet has not: EINVAL)."""
    if not isinstance(optval, bytes | bytearray) or len(optval) < SIZEOF_TCP_MD5SIG:
        return -EINVAL
    family, sin_addr, cmd_flags, cmd_prefixlen, keylen, ifindex, key = _tcp_md5sig.unpack_from(optval)
    if family != 2:  # AF_INET
        return -EINVAL
    flags = cmd_flags & TCP_MD5SIG_FLAG_IFINDEX
    prefixlen = 32
    if optname == TCP_MD5SIG_EXT and cmd_flags & TCP_MD5SIG_FLAG_PREFIX:
        prefixlen = cmd_prefixlen
        if prefixlen > 32:
            return -EINVAL
    if optname == TCP_MD5SIG_EXT and ifindex and cmd_flags & TCP_MD5SIG_FLAG_IFINDEX:
        return -EINVAL
    addr = int.from_bytes(sin_addr, "big")
    if not keylen:
        return tcp_md5_do_del(sk, addr, prefixlen, 0, flags)
    if keylen > TCP_MD5SIG_MAXKEYLEN:
        return -EINVAL
    return tcp_md5_do_add(sk, addr, prefixlen, 0, flags, bytes(key[:keylen]))


def tcp_v4_md5_lookup(sk: Any, addr_sk: Any) -> TcpMd5sigKey | None:
    """``tcp_v4_md5_lookup``: ``sk``'s key for the peer of ``addr_sk`` (a socket, or a request
    socket for its SYN-ACK)."""
    return tcp_md5_do_lookup(sk, 0, addr_sk.inet_daddr)


# -- the digest --------------------------------------------------------------------------------

def tcp_v4_md5_hash_headers(h: Any, daddr: int, saddr: int, th: bytes | memoryview, nbytes: int) -> None:
    """``tcp_v4_md5_hash_headers``: the pseudo-header (RFC 2385 section 2.0, in the order source,
    destination, zero, protocol, segment length), then the fixed TCP header with its checksum 0."""
    h.update(_pseudo.pack(saddr, daddr, 0, 6, nbytes))
    h.update(th[:16])
    h.update(b"\0\0")
    h.update(th[18:20])


def tcp_v4_md5_hash_hdr(key: TcpMd5sigKey, daddr: int, saddr: int, th: bytes) -> bytes:
    """``tcp_v4_md5_hash_hdr``: the digest of a segment without payload (a reply built whole)."""
    h = hashlib.md5()
    tcp_v4_md5_hash_headers(h, daddr, saddr, th, len(th))
    h.update(key.key)
    return h.digest()


def tcp_v4_md5_hash_skb(key: TcpMd5sigKey, saddr: int, daddr: int, skb: SkBuff) -> bytes:
    """``tcp_v4_md5_hash_skb``: the digest of the segment at ``skb``'s transport header, its
    payload wherever it lies (``tcp_sig_hash_skb_data``)."""
    th = skb.transport_header
    buf = skb.buf
    h = hashlib.md5()
    tcp_v4_md5_hash_headers(h, daddr, saddr, memoryview(buf)[th:th + 20], skb.tail - th)
    for view in skb_views(skb, th + ((buf[th + 12] >> 4) << 2), skb.tail):
        h.update(view)
    h.update(key.key)
    return h.digest()


def tcp_md5_sign(skb: SkBuff, key: TcpMd5sigKey, saddr: int, daddr: int) -> None:
    """Write the digest where ``MD5_OPTION`` left room for it, first among the options
    (``opts->hash_location``)."""
    th = skb.transport_header
    skb.buf[th + 24:th + 40] = tcp_v4_md5_hash_skb(key, saddr, daddr, skb)


# -- segments coming in ------------------------------------------------------------------------

def tcp_do_parse_auth_options(buf: Any, th: int, doff: int) -> tuple[int, int, int]:
    """``tcp_do_parse_auth_options``: (error, where the MD5 digest is, where the AO option is; -1
    for none).  It reads options while at least an MD5 option's worth remains, and any option it
    meets there of a bad length, an MD5 or AO option of the wrong size, or a second of them is an
    error: the whole segment is dropped (SKB_DROP_REASON_TCP_AUTH_HDR)."""
    length = doff - 20
    ptr = th + 20
    md5 = ao = -1
    while length >= TCPOLEN_MD5SIG:
        opcode = buf[ptr]
        ptr += 1
        if opcode == 0:  # TCPOPT_EOL
            return 0, md5, ao
        if opcode == 1:  # TCPOPT_NOP
            length -= 1
            continue
        opsize = buf[ptr]
        ptr += 1
        if opsize < 2 or opsize > length:
            return -EINVAL, -1, -1
        if opcode == TCPOPT_MD5SIG:
            if opsize != TCPOLEN_MD5SIG:
                return -EINVAL, -1, -1
            if md5 >= 0 or ao >= 0:
                return -EEXIST, -1, -1
            md5 = ptr
        elif opcode == TCPOPT_AO:
            if opsize <= TCP_AO_HDR_LEN:
                return -EINVAL, -1, -1
            if md5 >= 0 or ao >= 0:
                return -EEXIST, -1, -1
            ao = ptr
        ptr += opsize - 2
        length -= opsize
    return 0, md5, ao


def tcp_inbound_md5_hash(sk: Any, skb: SkBuff, saddr: int, daddr: int, l3index: int,
                         location: int) -> str | None:
    """``tcp_inbound_md5_hash``: a signed segment needs a key for its sender, and the digest that
    key gives."""
    mib = sk.host.mib.TcpExt
    key = tcp_md5_do_lookup(sk, l3index, saddr)
    if key is None:
        mib["TCPMD5Unexpected"] += 1
        return SKB_DROP_REASON_TCP_MD5UNEXPECTED
    if skb.buf[location:location + 16] != tcp_v4_md5_hash_skb(key, saddr, daddr, skb):
        mib["TCPMD5Failure"] += 1
        return SKB_DROP_REASON_TCP_MD5FAILURE
    return None


def tcp_inbound_hash(sk: Any, req: Any, skb: SkBuff, saddr: int, daddr: int) -> str | None:
    """``tcp_inbound_hash``: the check ``tcp_v4_rcv`` makes of every segment for a listener, a
    request socket (``req``, its listener ``sk``) or a full socket; why it drops it, or None."""
    th = skb.transport_header
    buf = skb.buf
    err, md5, ao = tcp_do_parse_auth_options(buf, th, (buf[th + 12] >> 4) << 2)
    if err:
        return SKB_DROP_REASON_TCP_AUTH_HDR
    if req is not None and ao >= 0:
        # tcp_rsk_used_ao(req) is false without TCP-AO: an ACK that carries the option does not
        # belong to the handshake the request socket made
        sk.host.mib.TcpExt["TCPAOBad"] += 1
        return SKB_DROP_REASON_TCP_AOFAILURE
    if md5 < 0:
        if ao < 0 and tcp_md5_do_lookup(sk, 0, saddr) is not None:
            sk.host.mib.TcpExt["TCPMD5NotFound"] += 1
            return SKB_DROP_REASON_TCP_MD5NOTFOUND
        return None  # (an AO option: tcp_inbound_ao_hash() is a stub without TCP-AO)
    return tcp_inbound_md5_hash(sk, skb, saddr, daddr, 0, md5)
