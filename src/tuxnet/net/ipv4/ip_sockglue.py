"""IP's socket options and control messages (net/ipv4/ip_sockglue.c).

The IPPROTO_IP options a socket sets and reads (``do_ip_setsockopt``, ``do_ip_getsockopt``); the
control messages a datagram read gets when it asked for them (``ip_cmsg_recv_offset``: where the
datagram came in and to which address, its TTL, TOS and options, its original destination, the
largest fragment it was reassembled from); those a ``sendmsg`` may give to set the source address,
device, TTL and TOS of one datagram (``ip_cmsg_send``); and the error queue (IP_RECVERR).
"""

from __future__ import annotations

import struct
from typing import Any

from tuxnet.kernel.compiler import notrace
from tuxnet.kernel.errno import (
    EADDRINUSE,
    EADDRNOTAVAIL,
    EAGAIN,
    EINVAL,
    EMSGSIZE,
    ENOBUFS,
    ENOPROTOOPT,
    ENOTCONN,
    EPROTO,
)
from tuxnet.kernel.minmax import c_int
from tuxnet.net.core.checksum import csum_fold, csum_partial
from tuxnet.net.core.datagram import copy_to_msg
from tuxnet.net.core.net_tstamp import (
    SOCKCM_FLAG_TS_OPT_ID,
    SOF_TIMESTAMPING_OPT_CMSG,
    SOF_TIMESTAMPING_OPT_ID,
    SOF_TIMESTAMPING_TX_RECORD_MASK,
)
from tuxnet.net.core.skbuff import (
    SO_EE_ORIGIN_ICMP,
    SO_EE_ORIGIN_LOCAL,
    SO_EE_ORIGIN_TIMESTAMPING,
    SkBuff,
    SockExtendedErr,
    SockExterrSkb,
    consume_err_skb,
    skb_errqueue_purge,
    sock_dequeue_err_skb,
)
from tuxnet.net.core.sock import (
    SCM_CREDENTIALS,
    SCM_RIGHTS,
    SCM_TS_OPT_ID,
    SCM_TXTIME,
    SO_MARK,
    SO_PRIORITY,
    SO_TIMESTAMPING_NEW,
    SO_TIMESTAMPING_OLD,
    SOCK_TXTIME,
    SOL_SOCKET,
    SockoptInt,
    sk_is_tcp,
)
from tuxnet.net.core.utils import in_ntoa, ipv4_is_multicast
from tuxnet.net.ipv4.fib import fib_compute_spec_dst
from tuxnet.net.ipv4.icmp import ICMP_DEST_UNREACH, ICMP_PARAMETERPROB, ICMP_TIME_EXCEEDED
from tuxnet.net.ipv4.ip_fragment import ip_frag_max_size
from tuxnet.net.ipv4.ip_options import (
    MAX_IPOPTLEN,
    InetSkbParm,
    __ip_options_echo,
    ip_options_get,
    ip_options_undo,
)
from tuxnet.net.ipv4.ip_output import ip_cork_mtu, ip_datagram_df
from tuxnet.net.socket import (
    AF_INET,
    MSG_CTRUNC,
    MSG_DONTROUTE,
    MSG_ERRQUEUE,
    MSG_TRUNC,
    SOCK_DGRAM,
    SOCK_RAW,
    SOCK_STREAM,
    put_cmsg,
    sock_recv_timestamp,
)

SOL_IP = 0

# IPPROTO_IP options (include/uapi/linux/in.h); the control messages of the IP_RECV* options carry
# the number of the option that sets the value (IP_TTL, IP_TOS) or their own
IP_TOS = 1
IP_TTL = 2
IP_HDRINCL = 3
IP_OPTIONS = 4
IP_ROUTER_ALERT = 5
IP_RECVOPTS = 6
IP_PKTOPTIONS = 9
IP_RETOPTS = 7
IP_PKTINFO = 8
IP_MTU_DISCOVER = 10
IP_RECVERR = 11
IP_RECVTTL = 12
IP_RECVTOS = 13
IP_MTU = 14
IP_FREEBIND = 15
IP_PASSSEC = 18
IP_TRANSPARENT = 19
IP_RECVORIGDSTADDR = IP_ORIGDSTADDR = 20
IP_NODEFRAG = 22
IP_CHECKSUM = 23
IP_BIND_ADDRESS_NO_PORT = 24
IP_MINTTL = 21
IP_RECVFRAGSIZE = 25
IP_RECVERR_RFC4884 = 26
SO_EE_RFC4884_FLAG_INVALID = 1
IP_MULTICAST_IF = 32
IP_MULTICAST_TTL = 33
IP_MULTICAST_LOOP = 34
IP_ADD_MEMBERSHIP = 35
IP_DROP_MEMBERSHIP = 36
IP_UNBLOCK_SOURCE = 37
IP_BLOCK_SOURCE = 38
IP_ADD_SOURCE_MEMBERSHIP = 39
IP_DROP_SOURCE_MEMBERSHIP = 40
IP_MSFILTER = 41
MCAST_JOIN_GROUP = 42
MCAST_BLOCK_SOURCE = 43
MCAST_UNBLOCK_SOURCE = 44
MCAST_LEAVE_GROUP = 45
MCAST_JOIN_SOURCE_GROUP = 46
MCAST_LEAVE_SOURCE_GROUP = 47
MCAST_MSFILTER = 48
IP_MULTICAST_ALL = 49
IP_UNICAST_IF = 50
IP_LOCAL_PORT_RANGE = 51
IP_PROTOCOL = 52

# inet->cmsg_flags: which control messages a read gets (include/net/inet_sock.h)
IP_CMSG_PKTINFO = 1 << 0
IP_CMSG_TTL = 1 << 1
IP_CMSG_TOS = 1 << 2
IP_CMSG_RECVOPTS = 1 << 3
IP_CMSG_RETOPTS = 1 << 4
IP_CMSG_PASSSEC = 1 << 5
IP_CMSG_ORIGDSTADDR = 1 << 6
IP_CMSG_CHECKSUM = 1 << 7
IP_CMSG_RECVFRAGSIZE = 1 << 8
_CMSG_OPTIONS = {IP_PKTINFO: IP_CMSG_PKTINFO, IP_RECVTTL: IP_CMSG_TTL, IP_RECVTOS: IP_CMSG_TOS,
                 IP_RECVOPTS: IP_CMSG_RECVOPTS, IP_RETOPTS: IP_CMSG_RETOPTS, IP_PASSSEC: IP_CMSG_PASSSEC,
                 IP_RECVORIGDSTADDR: IP_CMSG_ORIGDSTADDR, IP_CHECKSUM: IP_CMSG_CHECKSUM,
                 IP_RECVFRAGSIZE: IP_CMSG_RECVFRAGSIZE}
# The options that are inet flags of their own (inet_assign_bit), as their Sock fields.
_FLAG_OPTIONS = {IP_FREEBIND: "freebind", IP_TRANSPARENT: "transparent",
                 IP_BIND_ADDRESS_NO_PORT: "bind_address_no_port", IP_NODEFRAG: "nodefrag"}
# The options whose value is an int, or one unsigned char when shorter (0 when empty), and those
# of them that refuse an empty value (``optlen < 1``).
_INT_OPTIONS = frozenset((*_CMSG_OPTIONS, *_FLAG_OPTIONS, IP_TOS, IP_TTL, IP_HDRINCL, IP_MTU_DISCOVER, IP_RECVERR,
                          IP_RECVERR_RFC4884,
                          IP_MULTICAST_TTL, IP_MULTICAST_ALL, IP_MULTICAST_LOOP, IP_LOCAL_PORT_RANGE,
                          IP_UNICAST_IF, IP_MINTTL, IP_ROUTER_ALERT))
_NOT_EMPTY = frozenset((IP_FREEBIND, IP_TRANSPARENT, IP_TTL, IP_MULTICAST_TTL, IP_MULTICAST_LOOP, IP_MULTICAST_ALL))

# struct in_pktinfo: the interface, the local address a reply would come from (ipi_spec_dst), the
# header's destination; struct sockaddr_in
_in_pktinfo = struct.Struct("=i4s4s")
_sockaddr_in = struct.Struct("=H2s4s8x")

# ip_tos2prio (net/ipv4/route.c): the priority (TC_PRIO_*) a TOS gives packets, by IPTOS_TOS >> 1
IP_TOS2PRIO = (0, 0, 0, 0, 2, 2, 2, 2, 6, 6, 6, 6, 4, 4, 4, 4)
INET_ECN_MASK = 3


@notrace
def rt_tos2priority(tos: int) -> int:
    """``rt_tos2priority``."""
    return IP_TOS2PRIO[(tos & 0x1E) >> 1]


# -- options (do_ip_setsockopt / do_ip_getsockopt) --------------------------------------------

def ip_setsockopt(sk: Any, optname: int, optval: Any) -> int:
    """``do_ip_setsockopt``: IP options, TOS, TTL, PMTU discovery, RECVERR, HDRINCL, the control
    messages a read gets (IP_PKTINFO, IP_RECVTTL, IP_RECVTOS, IP_RECVOPTS, IP_RETOPTS, IP_PASSSEC,
    IP_RECVORIGDSTADDR, IP_CHECKSUM, IP_RECVFRAGSIZE), multicast (memberships, IP_MULTICAST_IF,
    _TTL, _LOOP, _ALL), IP_UNICAST_IF, the flags IP_FREEBIND, IP_TRANSPARENT,
    IP_BIND_ADDRESS_NO_PORT and IP_NODEFRAG, and IP_LOCAL_PORT_RANGE.  The value of an int
    option is a C int (a Python int), or bytes: at least four give an int, fewer one unsigned
    char, none 0 (``optlen``)."""
    if optname in (IP_ADD_MEMBERSHIP, IP_DROP_MEMBERSHIP, IP_MULTICAST_IF):
        return ip_mc_setsockopt(sk, optname, optval)
    if IP_UNBLOCK_SOURCE <= optname <= MCAST_MSFILTER:
        return ip_mc_source_setsockopt(sk, optname, optval)
    if optname == IP_OPTIONS:
        return ip_set_options(sk, optval)
    if optname not in _INT_OPTIONS:
        return -ENOPROTOOPT
    optlen = 4
    if isinstance(optval, bytes | bytearray):
        optlen = len(optval)
        optval = int.from_bytes(optval[:4], "little", signed=True) if optlen >= 4 else optval[0] if optlen else 0
    if not isinstance(optval, int):
        return -EINVAL
    if optname in _NOT_EMPTY and optlen < 1:
        return -EINVAL
    if optname in _FLAG_OPTIONS:
        # IP_HDRINCL's rule for IP_NODEFRAG; IP_TRANSPARENT wants CAP_NET_ADMIN or CAP_NET_RAW,
        # which a tuxnet process has
        if optname == IP_NODEFRAG and sk.sk_type != SOCK_RAW:
            return -ENOPROTOOPT
        setattr(sk, _FLAG_OPTIONS[optname], bool(optval))
    elif optname == IP_LOCAL_PORT_RANGE:
        # a u32 of exactly four octets: the low port, the high one above it; either 0 for the
        # sysctl's, else the low no higher than the high
        lo, hi = optval & 0xFFFF, optval >> 16 & 0xFFFF
        if optlen != 4 or lo and hi and lo > hi:
            return -EINVAL
        sk.local_port_range = optval & 0xFFFFFFFF
    elif optname == IP_ROUTER_ALERT:
        from tuxnet.net.ipv4.raw import ip_ra_control  # (raw imports this module)

        return ip_ra_control(sk, bool(optval))
    elif optname == IP_MINTTL:
        # RFC 5082 (GTSM): TCP takes no segment with a lower TTL (tcp_v4_rcv)
        if optlen < 1 or not 0 <= optval <= 255:
            return -EINVAL
        sk.min_ttl = optval
    elif optname == IP_UNICAST_IF:
        # the device a datagram to a unicast address leaves by when the send names none: an
        # ifindex in network order, in exactly four octets; not beside SO_BINDTODEVICE (unless
        # that is the device's VRF, which tuxnet has not)
        if optlen != 4:
            return -EINVAL
        ifindex = c_int(int.from_bytes((optval & 0xFFFFFFFF).to_bytes(4, "little"), "big"))
        if ifindex and ifindex not in sk.host.dev_by_index:
            return -EADDRNOTAVAIL
        if ifindex and sk.sk_bound_dev_if:
            return -EINVAL
        sk.uc_index = ifindex
    elif optname in _CMSG_OPTIONS:
        if optname == IP_RECVFRAGSIZE and sk.sk_type not in (SOCK_RAW, SOCK_DGRAM):
            return -EINVAL
        flag = _CMSG_OPTIONS[optname]
        sk.cmsg_flags = sk.cmsg_flags | flag if optval else sk.cmsg_flags & ~flag
    elif optname == IP_TOS:
        __ip_sock_set_tos(sk, optval)
    elif optname == IP_TTL:
        if optval == -1:
            optval = sk.host.sysctl["net.ipv4.ip_default_ttl"]
        if not 1 <= optval <= 255:
            return -EINVAL
        sk.uc_ttl = optval
    elif optname == IP_MTU_DISCOVER:
        if not 0 <= optval <= 5:
            return -EINVAL
        sk.pmtudisc = optval
    elif optname == IP_RECVERR:
        sk.recverr = bool(optval)
        if not optval:
            skb_errqueue_purge(sk.sk_error_queue)
    elif optname == IP_RECVERR_RFC4884:
        if not 0 <= optval <= 1:
            return -EINVAL
        sk.recverr_rfc4884 = bool(optval)
    elif optname == IP_HDRINCL:
        if sk.sk_type != SOCK_RAW:
            return -ENOPROTOOPT
        sk.hdrincl = bool(optval)
    elif optname == IP_MULTICAST_TTL:
        if sk.sk_type == SOCK_STREAM:
            return -EINVAL
        if optval == -1:
            optval = 1
        if not 0 <= optval <= 255:
            return -EINVAL
        sk.mc_ttl = optval
    elif optname == IP_MULTICAST_LOOP:
        sk.mc_loop = bool(optval)
    elif optname == IP_MULTICAST_ALL:
        if optval not in (0, 1):
            return -EINVAL
        sk.mc_all = bool(optval)
    return 0


def ip_set_options(sk: Any, optval: Any) -> int:
    """IP_OPTIONS: the options every datagram of the socket carries (at most 40 octets, checked
    by ``ip_options_get``; none for an empty value).  A connection's segments are that much
    smaller (``icsk_ext_hdr_len``, ``tcp_sync_mss``)."""
    if isinstance(optval, int) and not isinstance(optval, bool):
        optval = optval.to_bytes(4, "little", signed=optval < 0)  # a C int, as its four octets
    if not isinstance(optval, bytes | bytearray) or len(optval) > MAX_IPOPTLEN:
        return -EINVAL
    opt = ip_options_get(sk.host, optval)
    if isinstance(opt, int):
        return opt
    new = opt if opt.optlen else None
    if sk_is_tcp(sk):
        from tuxnet.net.ipv4.tcp_output import tcp_sync_mss

        old = sk.inet_opt
        sk.icsk_ext_hdr_len += (new.optlen if new is not None else 0) - (old.optlen if old is not None else 0)
        tcp_sync_mss(sk, sk.pmtu_cookie)
    sk.inet_opt = new
    return 0


_cmsghdr = struct.Struct("=QiI")  # struct cmsghdr: its length (a size_t), level, type


def ip_pktoptions(sk: Any, optlen: int | None) -> bytes | int:
    """IP_PKTOPTIONS (TCP's alone, ENOPROTOOPT for others): the control messages a connection's
    handshake gives, for the cmsg options it has on: IP_PKTINFO (the device the handshake came by,
    ``mc_index``, and the local address), IP_TTL (its TTL, ``mc_ttl``) and IP_TOS (``rcv_tos``),
    laid out as ``put_cmsg`` lays them into the caller's ``optlen`` octets: one that does not fit
    whole is cut, and none starts in fewer than a ``cmsghdr``'s."""
    if sk.sk_type != SOCK_STREAM:
        return -ENOPROTOOPT
    room = optlen if optlen is not None else 1 << 16
    out = bytearray()
    for flag, kind, data in ((IP_CMSG_PKTINFO, IP_PKTINFO, _in_pktinfo.pack(sk.mc_index, sk.inet_rcv_saddr.to_bytes(
            4, "big"), sk.inet_rcv_saddr.to_bytes(4, "big"))), (IP_CMSG_TTL, IP_TTL, sk.mc_ttl.to_bytes(4, "little")),
                             (IP_CMSG_TOS, IP_TOS, sk.rcv_tos.to_bytes(4, "little"))):
        if not sk.cmsg_flags & flag:
            continue
        if room < _cmsghdr.size:
            break  # (MSG_CTRUNC)
        cmlen = min(_cmsghdr.size + len(data), room)
        cmsg = (_cmsghdr.pack(cmlen, SOL_IP, kind) + data)[:cmlen]
        space = min((_cmsghdr.size + len(data) + 7) & ~7, room)  # (CMSG_SPACE)
        out += cmsg.ljust(space, b"\0")
        room -= space
    return bytes(out)


def ip_mc_setsockopt(sk: Any, optname: int, optval: Any) -> int:
    """The options that take a structure: IP_ADD_MEMBERSHIP and IP_DROP_MEMBERSHIP (a ``struct
    ip_mreq`` or ``ip_mreqn``), IP_MULTICAST_IF (those, or an address: the device and source of
    the socket's multicasts; 0.0.0.0 for the route's)."""
    from tuxnet.net.ipv4.igmp import ip_mc_join_group, ip_mc_leave_group, ip_mreq_parse

    if optname != IP_MULTICAST_IF and sk.sk_type == SOCK_STREAM:
        return -EPROTO  # a connection socket (is_icsk) joins no group
    if not isinstance(optval, bytes | bytearray):
        return -EINVAL
    if optname == IP_MULTICAST_IF:
        if sk.sk_type == SOCK_STREAM:
            return -EINVAL
        # an ip_mreqn, an ip_mreq (its imr_interface) or an in_addr; anything shorter is EINVAL
        if len(optval) < 4:
            return -EINVAL
        _, address, ifindex = ip_mreq_parse(optval) if len(optval) >= 8 else \
            (0, int.from_bytes(optval[:4], "big"), 0)
        host = sk.host
        if not ifindex:
            if not address:
                sk.mc_index = sk.mc_addr = 0
                return 0
            owners = host.inet_addr_lst.get(address)
            dev = owners[0].dev if owners else None
            if dev is not None:
                ifindex = dev.ifindex
        else:
            dev = host.dev_by_index.get(ifindex)
        if dev is None:
            return -EADDRNOTAVAIL
        if sk.sk_bound_dev_if and ifindex != sk.sk_bound_dev_if:
            return -EINVAL
        sk.mc_index = ifindex
        sk.mc_addr = address
        return 0
    mreq = ip_mreq_parse(optval)
    if mreq is None:
        return -EINVAL
    if optname == IP_ADD_MEMBERSHIP:
        return ip_mc_join_group(sk, *mreq)
    return ip_mc_leave_group(sk, *mreq)


_ip_mreq_source = struct.Struct("!III")  # the group, the interface's address, the source
_msfilter_head = struct.Struct("=4s4sII")  # struct ip_msfilter: group, interface, mode, number of sources
_GROUP_REQ = 136  # struct group_req: the index (and padding), a sockaddr_storage
_GROUP_SOURCE_REQ = 264  # struct group_source_req: and another
_GROUP_FILTER_HEAD = 144  # GROUP_FILTER_SIZE(0): index, group, mode, number of sources
_STORAGE = 128  # struct sockaddr_storage


def _storage_in(data: bytes) -> int | None:
    """The address in a ``sockaddr_storage`` holding a ``sockaddr_in``; None for another family."""
    if int.from_bytes(data[:2], "little") != AF_INET:
        return None
    return int.from_bytes(data[4:8], "big")


def ip_mc_source_setsockopt(sk: Any, optname: int, optval: Any) -> int:
    """Source filters (``do_ip_setsockopt``): IP_ADD_SOURCE_MEMBERSHIP, IP_DROP_SOURCE_MEMBERSHIP,
    IP_BLOCK_SOURCE and IP_UNBLOCK_SOURCE take a ``struct ip_mreq_source`` (group, interface
    address, source: exactly 12 octets); IP_MSFILTER a ``struct ip_msfilter`` (a whole filter);
    MCAST_JOIN_GROUP and MCAST_LEAVE_GROUP a ``struct group_req`` (an interface index and a
    ``sockaddr_storage``), the source ones a ``group_source_req``, MCAST_MSFILTER a
    ``group_filter``.  An addition for INCLUDE joins the group first, if the socket has not."""
    from tuxnet.net.ipv4.igmp import (
        MCAST_EXCLUDE,
        MCAST_INCLUDE,
        __ip_mc_join_group,
        ip_mc_join_group,
        ip_mc_leave_group,
        ip_mc_msfilter,
        ip_mc_source,
    )

    if not isinstance(optval, bytes | bytearray):
        return -EINVAL
    optlen = len(optval)
    host = sk.host
    if optname in (IP_BLOCK_SOURCE, IP_UNBLOCK_SOURCE, IP_ADD_SOURCE_MEMBERSHIP, IP_DROP_SOURCE_MEMBERSHIP):
        if optlen != _ip_mreq_source.size:
            return -EINVAL
        group, address, source = _ip_mreq_source.unpack(optval)
        omode = MCAST_EXCLUDE if optname in (IP_BLOCK_SOURCE, IP_UNBLOCK_SOURCE) else MCAST_INCLUDE
        if optname == IP_ADD_SOURCE_MEMBERSHIP:
            err = __ip_mc_join_group(sk, group, address, 0, MCAST_INCLUDE)
            if err and err != -EADDRINUSE:
                return err
        return ip_mc_source(sk, optname in (IP_BLOCK_SOURCE, IP_ADD_SOURCE_MEMBERSHIP), omode, group, address, source)
    if optname == IP_MSFILTER:
        if optlen < _msfilter_head.size:
            return -EINVAL
        if optlen > host.sysctl["net.core.optmem_max"]:
            return -ENOBUFS
        group, address, fmode, numsrc = _msfilter_head.unpack_from(optval)
        if numsrc >= 0x3FFFFFFC or numsrc > host.sysctl["net.ipv4.igmp_max_msf"]:
            return -ENOBUFS
        if _msfilter_head.size + 4 * numsrc > optlen:
            return -EINVAL
        sources = [int.from_bytes(optval[16 + 4 * i:20 + 4 * i], "big") for i in range(numsrc)]
        return ip_mc_msfilter(sk, int.from_bytes(group, "big"), int.from_bytes(address, "big"), fmode, sources)
    ifindex = int.from_bytes(optval[:4], "little")
    if optname in (MCAST_JOIN_GROUP, MCAST_LEAVE_GROUP):
        if optlen < _GROUP_REQ:
            return -EINVAL
        group = _storage_in(optval[8:8 + _STORAGE])
        if group is None:
            return -EINVAL
        if optname == MCAST_JOIN_GROUP:
            return ip_mc_join_group(sk, group, 0, ifindex)
        return ip_mc_leave_group(sk, group, 0, ifindex)
    if optname == MCAST_MSFILTER:
        if optlen < _GROUP_FILTER_HEAD:
            return -EINVAL
        if optlen > host.sysctl["net.core.optmem_max"]:
            return -ENOBUFS
        fmode, numsrc = struct.unpack_from("=II", optval, 136)
        if numsrc >= 0x1FFFFFF or numsrc > host.sysctl["net.ipv4.igmp_max_msf"]:
            return -ENOBUFS
        if _GROUP_FILTER_HEAD + _STORAGE * numsrc > optlen:
            return -EINVAL
        group = _storage_in(optval[8:8 + _STORAGE])
        sources = [_storage_in(optval[_GROUP_FILTER_HEAD + _STORAGE * i:]) for i in range(numsrc)]
        if group is None or None in sources:
            return -EADDRNOTAVAIL
        return ip_mc_msfilter(sk, group, 0, fmode, [src for src in sources if src is not None], ifindex)
    # do_mcast_group_source: MCAST_JOIN_SOURCE_GROUP, MCAST_LEAVE_SOURCE_GROUP, MCAST_BLOCK_SOURCE,
    # MCAST_UNBLOCK_SOURCE
    if optlen < _GROUP_SOURCE_REQ:
        return -EINVAL
    group = _storage_in(optval[8:8 + _STORAGE])
    source = _storage_in(optval[8 + _STORAGE:8 + 2 * _STORAGE])
    if group is None or source is None:
        return -EADDRNOTAVAIL
    omode = MCAST_EXCLUDE if optname in (MCAST_BLOCK_SOURCE, MCAST_UNBLOCK_SOURCE) else MCAST_INCLUDE
    if optname == MCAST_JOIN_SOURCE_GROUP:
        err = __ip_mc_join_group(sk, group, 0, ifindex, MCAST_INCLUDE)
        if err and err != -EADDRINUSE:
            return err
    return ip_mc_source(sk, optname in (MCAST_BLOCK_SOURCE, MCAST_JOIN_SOURCE_GROUP), omode, group, 0, source,
                        ifindex)


def __ip_sock_set_tos(sk: Any, val: int) -> None:
    """``__ip_sock_set_tos``: a stream socket keeps its own ECN bits (TCP sets them); a value (the
    option's int) other than the TOS kept also sets the priority of the socket's packets
    (``rt_tos2priority``), and the TOS is its low octet: 256 sets a TOS of 0 and priority 0 even
    where the TOS was 0."""
    if sk.sk_type == SOCK_STREAM:
        val = (val & ~INET_ECN_MASK) | (sk.tos & INET_ECN_MASK)
    if sk.tos != val:
        sk.tos = val & 0xFF
        sk.sk_priority = rt_tos2priority(val)
        sk.dst_cache = None


def ip_getsockopt(sk: Any, optname: int, optlen: int | None = None) -> int | bytes:
    """``do_ip_getsockopt``: the value (a ``SockoptInt``, or bytes) or ``-errno``; ``optlen``, the
    caller's room (None: any)."""
    if optname in (IP_MSFILTER, MCAST_MSFILTER):
        # ip_mc_msfget and ip_mc_gsfget read the group asked about from the caller's buffer, which
        # tuxnet's getsockopt does not take in: as for a buffer of zeros, it names no group (and a
        # buffer shorter than the request's head is EINVAL first)
        return -EINVAL
    if optname in _CMSG_OPTIONS:
        return SockoptInt(bool(sk.cmsg_flags & _CMSG_OPTIONS[optname]))
    if optname in _FLAG_OPTIONS:
        return SockoptInt(getattr(sk, _FLAG_OPTIONS[optname]))
    if optname == IP_PKTOPTIONS:
        return ip_pktoptions(sk, optlen)
    if optname == IP_LOCAL_PORT_RANGE:
        return SockoptInt(c_int(sk.local_port_range))
    if optname == IP_OPTIONS:
        # the options as they were given: a copy, its compiled entries undone
        opt = sk.inet_opt
        if opt is None:
            return b""
        given = opt.copy()
        ip_options_undo(given)
        return bytes(given.data)
    if optname == IP_TOS:
        return SockoptInt(sk.tos)
    if optname == IP_TTL:
        return SockoptInt(sk.uc_ttl)
    if optname == IP_MTU_DISCOVER:
        return SockoptInt(sk.pmtudisc)
    if optname == IP_RECVERR:
        return SockoptInt(sk.recverr)
    if optname == IP_RECVERR_RFC4884:
        return SockoptInt(sk.recverr_rfc4884)
    if optname == IP_HDRINCL:
        return SockoptInt(sk.hdrincl)
    if optname == IP_MULTICAST_TTL:
        return SockoptInt(sk.mc_ttl)
    if optname == IP_MULTICAST_LOOP:
        return SockoptInt(sk.mc_loop)
    if optname == IP_MULTICAST_ALL:
        return SockoptInt(sk.mc_all)
    if optname == IP_MULTICAST_IF:
        return sk.mc_addr.to_bytes(4, "big")  # a struct in_addr
    if optname == IP_MINTTL:
        return SockoptInt(sk.min_ttl)
    if optname == IP_ROUTER_ALERT:
        return SockoptInt(sk.rtalert)
    if optname == IP_UNICAST_IF:
        return SockoptInt(c_int(int.from_bytes(sk.uc_index.to_bytes(4, "big", signed=True), "little")))
    if optname == IP_PROTOCOL:
        return SockoptInt(sk.inet_num)  # (the local port, for a socket that has one)
    if optname == IP_MTU:
        rt = sk.dst_cache
        if rt is None:
            return -ENOTCONN
        return SockoptInt(rt.mtu or rt.dev.mtu)
    return -ENOPROTOOPT


# -- control messages of a read ----------------------------------------------------------------

# the PKTINFO_SKB_CB of a datagram queued while the socket did not ask for IP_PKTINFO
NO_PKTINFO = (0, 0)


def ipv4_pktinfo_prepare(sk: Any, skb: SkBuff) -> tuple[int, int]:
    """``ipv4_pktinfo_prepare``, as a datagram is queued to a socket with IP_PKTINFO (the
    caller checks ``IP_CMSG_PKTINFO``): the interface it came in by (for a packet looped back, the
    one its sender chose, else ``lo``) and ``ipi_spec_dst`` (``fib_compute_spec_dst``)."""
    rt = skb.dst
    if rt is None:
        return NO_PKTINFO
    dev = skb.dev
    ifindex = dev.ifindex if dev is not None else 0
    if dev is not None and dev is sk.host.loopback_dev and rt.iif:
        ifindex = rt.iif  # inet_iif: rt_iif, the output device the sender asked for
    return ifindex, fib_compute_spec_dst(sk.host, skb)


def ip_cmsg_recv_offset(msg: Any, sk: Any, skb: SkBuff, pktinfo: tuple[int, int], ipcb: Any) -> None:
    """``ip_cmsg_recv_offset``: the IP control messages the socket asked for, in the kernel's
    order: IP_PKTINFO (``pktinfo`` as queued, and the header's destination), the TTL (an int),
    the TOS (one byte), the options, the original destination as a ``sockaddr_in`` (the port is
    the transport header's third and fourth bytes), the largest fragment (IP_RECVFRAGSIZE, from
    ``ipcb``, the IPCB of a reassembled datagram).  IP_PASSSEC's needs a security module, which
    tuxnet has not; IP_CHECKSUM's a packet whose checksum the device summed (CHECKSUM_COMPLETE),
    which no tuxnet device gives (nor loopback on Linux)."""
    flags = sk.cmsg_flags
    buf = skb.buf
    nh = skb.network_header
    if flags & IP_CMSG_PKTINFO:
        ifindex, spec_dst = pktinfo
        info = _in_pktinfo.pack(ifindex, spec_dst.to_bytes(4, "big"), bytes(buf[nh + 16:nh + 20]))
        put_cmsg(msg, SOL_IP, IP_PKTINFO, info)
    if flags & IP_CMSG_TTL:
        put_cmsg(msg, SOL_IP, IP_TTL, buf[nh + 8])
    if flags & IP_CMSG_TOS:
        put_cmsg(msg, SOL_IP, IP_TOS, bytes(buf[nh + 1:nh + 2]))
    if flags & IP_CMSG_RECVOPTS:
        ihl = (buf[nh] & 0x0F) * 4
        if ihl > 20:
            put_cmsg(msg, SOL_IP, IP_RECVOPTS, bytes(buf[nh + 20:nh + ihl]))
    if flags & IP_CMSG_RETOPTS:
        ip_cmsg_recv_retopts(sk.host, msg, skb, ipcb)
    if flags & IP_CMSG_ORIGDSTADDR:
        th = skb.transport_header
        if th + 4 <= len(buf):
            put_cmsg(msg, SOL_IP, IP_ORIGDSTADDR,
                     _sockaddr_in.pack(AF_INET, bytes(buf[th + 2:th + 4]), bytes(buf[nh + 16:nh + 20])))
    if flags & IP_CMSG_RECVFRAGSIZE:
        frag_max_size = ip_frag_max_size(ipcb)
        if frag_max_size:
            put_cmsg(msg, SOL_IP, IP_RECVFRAGSIZE, frag_max_size)


def ip_cmsg_recv_retopts(host: Any, msg: Any, skb: SkBuff, ipcb: Any) -> None:
    """``ip_cmsg_recv_retopts``: the options a reply to the datagram would carry, as a socket
    would give them (``ip_options_echo``, then ``ip_options_undo``); MSG_CTRUNC when they cannot
    be made."""
    sopt = ipcb.opt if ipcb.__class__ is InetSkbParm else None
    if sopt is None or not sopt.optlen:
        return
    opt = __ip_options_echo(host, skb, sopt)
    if opt is None:
        msg.msg_flags |= MSG_CTRUNC
        return
    ip_options_undo(opt)
    put_cmsg(msg, SOL_IP, IP_RETOPTS, bytes(opt.data))


# -- control messages of a send ---------------------------------------------------------------

class IpcmCookie:
    """``struct ipcm_cookie`` with its ``sockcm_cookie``: what one send to ``daddr`` uses, the
    socket's own settings (``ipcm_init_sk``) unless its control messages say otherwise: source
    address, device, TTL (``__ip_make_skb``'s: IP_MULTICAST_TTL's to a multicast group), TOS,
    IP options, mark and priority, and SO_TIMESTAMPING's flags with the key a send may give
    (``tsflags``, ``ts_opt_id``)."""

    __slots__ = ("addr", "oif", "ttl", "tos", "opt", "mark", "priority", "multicast", "tsflags", "ts_opt_id",
                 "gso_size")

    def __init__(self, sk: Any, daddr: int) -> None:
        self.addr = sk.inet_saddr
        self.oif = sk.sk_bound_dev_if
        self.multicast = multicast = ipv4_is_multicast(daddr)
        self.ttl = sk.mc_ttl if multicast else sk.uc_ttl
        self.tos = sk.tos
        self.opt = sk.inet_opt  # (an IP_RETOPTS control message's take their place)
        self.mark = sk.sk_mark
        self.priority = sk.sk_priority
        self.tsflags = sk.sk_tsflags
        self.ts_opt_id = 0
        self.gso_size = 0  # UDP_SEGMENT's, for a UDP send (udp_sendmsg sets it)


def ipcm_send(sk: Any, msg: Any, daddr: int) -> IpcmCookie | int:
    """What a datagram send (``udp_sendmsg``, ``raw_sendmsg``, ``ping_v4_sendmsg``) does before
    it routes: the socket's settings (``ipcm_init_sk``), those its control messages give
    (``ip_cmsg_send``, or -errno), and for a multicast IP_MULTICAST_IF's device and source unless
    the send named its own, for another destination IP_UNICAST_IF's device."""
    ipc = IpcmCookie(sk, daddr)
    if msg.msg_control:
        err = ip_cmsg_send(sk, msg, ipc)
        if err:
            return err
    if ipc.multicast:
        if not ipc.oif:
            ipc.oif = sk.mc_index
        if not ipc.addr:
            ipc.addr = sk.mc_addr
    elif not ipc.oif:
        ipc.oif = sk.uc_index
    return ipc


def ip_optlen(ipc: IpcmCookie) -> int:
    """The length of the options a send carries (``fragheaderlen``'s share of them)."""
    return ipc.opt.optlen if ipc.opt is not None else 0


def ip_options_route(msg: Any, ipc: IpcmCookie, daddr: int) -> tuple[int, int, bool]:
    """Where a datagram send (``udp_sendmsg``, ``raw_sendmsg``, ``ping_v4_sendmsg``) routes to,
    given the options it carries (``ipc.opt``): the first hop of a source route (``faddr``,
    or -EINVAL when the send has no destination), else ``daddr``; the options' length; and
    whether the route must take no gateway (link scope: MSG_DONTROUTE, or a strict source
    route; SO_DONTROUTE is ``ip_sock_rt_scope``'s)."""
    opt = ipc.opt
    if opt is None:
        return daddr, 0, bool(msg.msg_flags & MSG_DONTROUTE)
    faddr = daddr
    if opt.srr:
        if not daddr:
            return -EINVAL, 0, False
        faddr = opt.faddr
    return faddr, opt.optlen, bool(msg.msg_flags & MSG_DONTROUTE) or opt.is_strictroute


def ip_cmsg_send(sk: Any, msg: Any, ipc: IpcmCookie) -> int:
    """``ip_cmsg_send``: a datagram's control messages: SOL_SOCKET's (``__sock_cmsg_send``), and
    at SOL_IP IP_PKTINFO (the source address, and the device when its index is not 0), IP_TTL,
    IP_TOS (an int or a byte, which also sets the priority), IP_PROTOCOL (checked only) and
    IP_RETOPTS (this datagram's options, cut to 40 octets as ``ip_options_get`` takes them);
    those of other levels are left alone.  0 or -EINVAL for a message of the wrong size or value,
    or one it does not know."""
    for level, type, data in msg.msg_control:
        if level == SOL_SOCKET:
            err = __sock_cmsg_send(sk, type, data, ipc)
            if err:
                return err
            continue
        if level != SOL_IP:
            continue
        size = len(data)
        if type == IP_PKTINFO:
            if size != _in_pktinfo.size:
                return -EINVAL
            ifindex, spec_dst, _ = _in_pktinfo.unpack(data)
            if ifindex:
                ipc.oif = ifindex
            ipc.addr = int.from_bytes(spec_dst, "big")
        elif type == IP_TTL:
            if size != 4:
                return -EINVAL
            val = int.from_bytes(data, "little", signed=True)
            if not 1 <= val <= 255:
                return -EINVAL
            ipc.ttl = val
        elif type == IP_TOS:
            if size not in (1, 4):
                return -EINVAL
            val = int.from_bytes(data, "little", signed=True) if size == 4 else data[0]
            if not 0 <= val <= 255:
                return -EINVAL
            ipc.tos = val
            ipc.priority = rt_tos2priority(val)
        elif type == IP_PROTOCOL:
            # the protocol of a raw socket's flow, which only IPsec policy and routing by
            # protocol look at (tuxnet has neither): checked, as the kernel checks it
            if size != 4 or not 1 <= int.from_bytes(data, "little", signed=True) <= 255:
                return -EINVAL
        elif type == IP_RETOPTS:
            opt = ip_options_get(sk.host, data[:MAX_IPOPTLEN])
            if isinstance(opt, int):
                return opt
            ipc.opt = opt  # (empty: this datagram carries none, the socket's neither)
        else:
            return -EINVAL
    return 0


def sock_cmsg_send(sk: Any, msg: Any, ipc: IpcmCookie) -> int:
    """``sock_cmsg_send`` (net/core/sock.c): only the SOL_SOCKET control messages, what a TCP
    send looks at."""
    for level, type, data in msg.msg_control:
        if level == SOL_SOCKET:
            err = __sock_cmsg_send(sk, type, data, ipc)
            if err:
                return err
    return 0


def __sock_cmsg_send(sk: Any, type: int, data: bytes, ipc: IpcmCookie) -> int:
    """``__sock_cmsg_send``: SO_MARK and SO_PRIORITY for this send (a process of tuxnet has
    CAP_NET_ADMIN); SO_TIMESTAMPING, the send timestamps this send asks for instead of the
    socket's (only those: TX_RECORD_MASK); SCM_TS_OPT_ID, the key of a datagram's timestamps on
    a socket with OPT_ID; SCM_TXTIME, a departure time (a u64, on a socket with SO_TXTIME: no
    qdisc of tuxnet's schedules by it, as none of Linux's but fq and etf does); SCM_RIGHTS and
    SCM_CREDENTIALS belong to AF_UNIX and are passed over; any other is -EINVAL."""
    if type == SCM_TXTIME:
        return 0 if sk.sk_flags & SOCK_TXTIME and len(data) == 8 else -EINVAL
    if type in (SO_MARK, SO_PRIORITY, SO_TIMESTAMPING_OLD, SO_TIMESTAMPING_NEW, SCM_TS_OPT_ID):
        if len(data) != 4:
            return -EINVAL
        val = int.from_bytes(data, "little")
        if type == SO_MARK:
            ipc.mark = val
        elif type == SO_PRIORITY:
            ipc.priority = val
        elif type == SCM_TS_OPT_ID:
            if sk_is_tcp(sk) or not sk.sk_tsflags & SOF_TIMESTAMPING_OPT_ID:
                return -EINVAL
            ipc.ts_opt_id = val
            ipc.tsflags |= SOCKCM_FLAG_TS_OPT_ID
        else:
            if val & ~SOF_TIMESTAMPING_TX_RECORD_MASK:
                return -EINVAL
            ipc.tsflags = ipc.tsflags & ~SOF_TIMESTAMPING_TX_RECORD_MASK | val
        return 0
    return 0 if type in (SCM_RIGHTS, SCM_CREDENTIALS) else -EINVAL


def ip_append_check(sk: Any, length: int, rt: Any, daddr: int, gso: bool = False) -> int:
    """``__ip_append_data``'s limit on a datagram of ``length`` octets, IP header included
    (``ip_datagram_df``; ``gso``: a UDP GSO packet's): -EMSGSIZE, which a socket with IP_RECVERR
    also finds in its error queue with the MTU (``ip_local_error``); else whether to set DF."""
    df = ip_datagram_df(sk, length, rt, gso)
    if df < 0:
        ip_local_error(sk, EMSGSIZE, daddr, sk.inet_dport, ip_cork_mtu(sk, rt))
    return df


# -- the error queue (IP_RECVERR) ----------------------------------------------------------------

def ip_local_error(sk: Any, err: int, daddr: int, port: int, info: int) -> None:
    """``ip_local_error``: an error of our own making (a datagram too long, say) goes to the
    error queue of a socket with IP_RECVERR: SO_EE_ORIGIN_LOCAL, ``info`` (the MTU), the
    destination and port, no payload."""
    if sk.recverr:
        sk.sk_error_queue.append(SockExterrSkb(SockExtendedErr(err, SO_EE_ORIGIN_LOCAL, 0, 0, info), daddr, port))
        sk.sk_error_report()


def ip_icmp_error_rfc4884(buf: bytearray, hlen: int, payload: int, end: int, off: int) -> int:
    """``ip_icmp_error_rfc4884``: ``struct sock_ee_data_rfc4884`` (as ``ee_data`` holds it: its
    length in the low 16 bits, its flags above) of an ICMP error whose length field says the
    original datagram takes ``off`` octets, ``hlen`` of them the headers before ``payload`` (RFC
    4884 section 4: at least 128 octets, then the extension structure): where the extensions
    begin in the payload, and SO_EE_RFC4884_FLAG_INVALID when they are not well formed
    (``ip_icmp_error_rfc4884_validate``: a version 2 header whose checksum, when it has one, is
    wrong, or an object shorter than its header or past the end); 0 without any."""
    if off < 128 or off < hlen:
        return 0
    off -= hlen
    start = payload + off
    if start + 4 > end:
        return 0
    flags = 0
    if buf[start] >> 4 == 2:
        ext = memoryview(buf)[start:end]
        if (buf[start + 2] or buf[start + 3]) and csum_fold(csum_partial(ext)):
            flags = SO_EE_RFC4884_FLAG_INVALID
        else:
            at = start + 4
            while at < end:
                if at + 4 > end:
                    flags = SO_EE_RFC4884_FLAG_INVALID
                    break
                olen = (buf[at] << 8) | buf[at + 1]
                at += olen
                if olen < 4 or at > end:
                    flags = SO_EE_RFC4884_FLAG_INVALID
                    break
    return off | flags << 16


def ip_icmp_error(sk: Any, skb: SkBuff, inner: int, err: int, port: int, info: int, payload: int) -> None:
    """``ip_icmp_error`` (IP_RECVERR): the ICMP error in ``skb``, about the datagram whose IP
    header is at ``inner``, goes to the socket's error queue: the error, where the datagram went
    (``port`` as given), who reported it, and what the message quotes from ``payload`` on.  It
    keeps the ICMP message's own headers and device (a copy), for the IP control messages a read
    of it gets."""
    buf = skb.buf
    nh = skb.network_header
    ee = SockExtendedErr(err, SO_EE_ORIGIN_ICMP, buf[skb.data], buf[skb.data + 1], info)
    if sk.recverr_rfc4884 and ee.ee_type in (ICMP_DEST_UNREACH, ICMP_TIME_EXCEEDED, ICMP_PARAMETERPROB):
        ee.ee_data = ip_icmp_error_rfc4884(buf, payload - skb.data - 8, payload, skb.tail, buf[skb.data + 5] * 4)
    err_skb = SockExterrSkb(ee, int.from_bytes(buf[inner + 16:inner + 20], "big"), port,
                            int.from_bytes(buf[nh + 12:nh + 16], "big"), bytes(buf[payload:skb.tail]), skb.tstamp)
    icmp = SkBuff(bytearray(buf[nh:skb.tail]))
    icmp.network_header = 0
    icmp.transport_header = skb.data - nh  # (the ICMP header: IP_ORIGDSTADDR's "ports" are its checksum)
    icmp.dev = skb.dev
    err_skb.skb = icmp
    sk.sk_error_queue.append(err_skb)


def ip_recv_error(sk: Any, msg: Any, size: int) -> bytes | int:
    """``ip_recv_error``, ``recvmsg(MSG_ERRQUEUE)``: the first entry of the error queue, -EAGAIN
    when there is none.  The call returns the bytes it carries (cut to ``size``, with MSG_TRUNC);
    an ICMP error gives the address its datagram was sent to as ``msg_name``; the
    ``sock_extended_err``, followed by the ``sockaddr_in`` of the ICMP message's source (zeros for
    other origins), is the IP_RECVERR control message; ``msg_flags`` says MSG_ERRQUEUE.  A send
    timestamp of a packet that had gone through a device, on a socket with SO_TIMESTAMPING's
    OPT_CMSG, names the packet's source instead and gets the IP control messages the socket
    asked for, IP_PKTINFO saying which device (``ipv4_datagram_support_cmsg``)."""
    skb = sock_dequeue_err_skb(sk)
    if skb is None:
        return -EAGAIN
    payload = skb.payload
    copied = len(payload)
    if copied > size:
        msg.msg_flags |= MSG_TRUNC
        copied = size
    ret = copy_to_msg(msg, [memoryview(payload)[:copied]])
    consume_err_skb(skb)
    if ret.__class__ is int and ret < 0:
        return ret
    sock_recv_timestamp(msg, sk, skb)
    ee = skb.ee
    if ee.ee_origin in (SO_EE_ORIGIN_ICMP, SO_EE_ORIGIN_LOCAL) or skb.port:  # ipv4_datagram_support_addr
        msg.msg_name = (in_ntoa(skb.addr), skb.port)
    offender = bytes(16)
    pkt = skb.skb
    if ee.ee_origin == SO_EE_ORIGIN_ICMP:  # ipv4_datagram_support_cmsg
        offender = _sockaddr_in.pack(AF_INET, bytes(2), skb.offender.to_bytes(4, "big"))
        if sk.cmsg_flags and pkt is not None:
            # the ICMP message's own: the device it came in on (IPCB's iif), no specific
            # destination (the options' faddr the pktinfo overlays)
            ip_cmsg_recv_offset(msg, sk, pkt, (pkt.dev.ifindex if pkt.dev is not None else 0, 0), None)
    elif ee.ee_origin == SO_EE_ORIGIN_TIMESTAMPING and sk.sk_tsflags & SOF_TIMESTAMPING_OPT_CMSG:
        if pkt is not None and pkt.dev is not None:
            nh = pkt.network_header
            saddr = bytes(pkt.buf[nh + 12:nh + 16])
            offender = _sockaddr_in.pack(AF_INET, bytes(2), saddr)
            if sk.cmsg_flags:
                ip_cmsg_recv_offset(msg, sk, pkt, (pkt.dev.ifindex, int.from_bytes(saddr, "big")), None)
    put_cmsg(msg, SOL_IP, IP_RECVERR, ee.pack() + offender)
    msg.msg_flags |= MSG_ERRQUEUE
    return ret

