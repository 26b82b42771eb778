"""ICMP (RFC 792, RFC 1122 section 3.2.2; net/ipv4/icmp.c).

``icmp_send`` answers a bad or undeliverable datagram with an error, under RFC 1122's rules (never
about an ICMP error, a non-first fragment, or a broadcast) and Linux's per-destination rate limit
(``icmp_ratelimit`` ms with a burst of 6, for the types in ``icmp_ratemask``).  ``icmp_rcv``
answers echo requests and passes errors to the transport protocol they concern.
"""

from __future__ import annotations

import struct
from collections.abc import Callable
from typing import TYPE_CHECKING

from tuxnet.kernel.errno import (
    ECONNREFUSED,
    EHOSTDOWN,
    EHOSTUNREACH,
    EMSGSIZE,
    ENETUNREACH,
    ENONET,
    ENOPROTOOPT,
    EOPNOTSUPP,
)
from tuxnet.kernel.minmax import min
from tuxnet.net.core.checksum import csum_fold, csum_partial
from tuxnet.net.core.dev import IFF_LOOPBACK
from tuxnet.net.core.skbuff import PACKET_HOST, SkBuff, alloc_skb_data
from tuxnet.net.core.utils import ipv4_is_lbcast, ipv4_is_multicast, ipv4_is_zeronet
from tuxnet.net.ipv4.fib import RTN_BROADCAST, RTN_LOCAL, RTN_MULTICAST
from tuxnet.net.ipv4.ip_options import IpOptions, __ip_options_echo, inet_current_timestamp, ip_options_echo, ipcb_opt
from tuxnet.net.ipv4.ip_output import (
    IP_OFFSET,
    IPHDR_LEN,
    IPPROTO_ICMP,
    IPPROTO_TCP,
    MAX_HEADER,
    ip_build_header,
    ip_local_out,
)
from tuxnet.net.ipv4.route import Rtable, ip_do_redirect, ip_route_output_key, ip_rt_update_pmtu
from tuxnet.world import NSEC_PER_SEC

if TYPE_CHECKING:
    from tuxnet.kernel.host import Host

ICMP_ECHOREPLY = 0
ICMP_DEST_UNREACH = 3
ICMP_SOURCE_QUENCH = 4
ICMP_REDIRECT = 5
ICMP_ECHO = 8
ICMP_TIME_EXCEEDED = 11
ICMP_PARAMETERPROB = 12
ICMP_TIMESTAMP = 13
ICMP_TIMESTAMPREPLY = 14
ICMP_ADDRESS = 17
ICMP_ADDRESSREPLY = 18

ICMP_NET_UNREACH = 0
ICMP_HOST_UNREACH = 1
ICMP_PROT_UNREACH = 2
ICMP_PORT_UNREACH = 3
ICMP_FRAG_NEEDED = 4
ICMP_SR_FAILED = 5
ICMP_PKT_FILTERED = 13

NR_ICMP_UNREACH = 15
NR_ICMP_TYPES = 18

# ``icmp_err_convert``: for each destination unreachable code, the errno a socket reports and
# whether the error is hard (fatal to a connected datagram socket without IP_RECVERR).
ICMP_ERR_CONVERT = (
    (ENETUNREACH, False), (EHOSTUNREACH, False), (ENOPROTOOPT, True), (ECONNREFUSED, True),
    (EMSGSIZE, False), (EOPNOTSUPP, False), (ENETUNREACH, True), (EHOSTDOWN, True), (ENONET, True),
    (ENETUNREACH, True), (EHOSTUNREACH, True), (ENETUNREACH, False), (EHOSTUNREACH, False),
    (EHOSTUNREACH, True), (EHOSTUNREACH, True), (EHOSTUNREACH, True),
)

ICMP_REDIR_NET = 0
ICMP_REDIR_HOST = 1

ICMP_EXC_TTL = 0
ICMP_EXC_FRAGTIME = 1

IPTOS_PREC_INTERNETCONTROL = 0xC0
XRLIM_BURST_FACTOR = 6
ICMP_ERROR_ROOM = 576 - 20 - 8  # RFC 1812 section 4.3.2.3: as much as fits in 576 octets

_ERROR_TYPES = (ICMP_DEST_UNREACH, ICMP_SOURCE_QUENCH, ICMP_REDIRECT, ICMP_TIME_EXCEEDED,
                ICMP_PARAMETERPROB)
# the ICMP MIB's counter of each type (icmp_pointers[].error and the ICMP_MIB_* of RFC 2011)
_MIB_NAMES = {ICMP_DEST_UNREACH: "DestUnreachs", ICMP_TIME_EXCEEDED: "TimeExcds", ICMP_PARAMETERPROB: "ParmProbs",
              ICMP_SOURCE_QUENCH: "SrcQuenchs", ICMP_REDIRECT: "Redirects", ICMP_ECHO: "Echos",
              ICMP_ECHOREPLY: "EchoReps", ICMP_TIMESTAMP: "Timestamps", ICMP_TIMESTAMPREPLY: "TimestampReps",
              ICMP_ADDRESS: "AddrMasks", ICMP_ADDRESSREPLY: "AddrMaskReps"}
_OUT_COUNTERS = {t: "Out" + name for t, name in _MIB_NAMES.items()}
_IN_COUNTERS = {t: "In" + name for t, name in _MIB_NAMES.items()}
# The /proc/net/snmp IcmpMsg names of every type, made once rather than per message.
ICMPMSG_OUT = tuple(f"OutType{t}" for t in range(256))
ICMPMSG_IN = tuple(f"InType{t}" for t in range(256))

_hdr = struct.Struct("!BBHI")
_u16 = struct.Struct("!H")


def icmpv4_mask_allow(host: Host, type: int, code: int) -> bool:
    """``icmpv4_mask_allow``: a type ``icmp_ratemask`` leaves out goes unlimited, and so does
    fragmentation needed ("don't limit PMTU discovery")."""
    if type > NR_ICMP_TYPES or type == ICMP_DEST_UNREACH and code == ICMP_FRAG_NEEDED:
        return True
    return not (host.sysctl["net.ipv4.icmp_ratemask"] >> type) & 1


def icmp_global_allow(host: Host) -> bool:
    """``icmp_global_allow`` (Linux 6.11+): the host's budget for rate-limited ICMP messages,
    ``icmp_msgs_per_sec`` credits a second up to ``icmp_msgs_burst``, refilled no more often than
    every 20 ms; while credits remain, a message may go."""
    if host.icmp_global_credit > 0:
        return True
    now = host.world.now
    delta = min(now - host.icmp_global_stamp, NSEC_PER_SEC)
    if delta < NSEC_PER_SEC // 50:
        return False
    incr = host.sysctl["net.ipv4.icmp_msgs_per_sec"] * delta // NSEC_PER_SEC
    if not incr:
        return False
    host.icmp_global_stamp = now
    host.icmp_global_credit = min(host.icmp_global_credit + incr, host.sysctl["net.ipv4.icmp_msgs_burst"])
    return True


def icmp_global_consume(host: Host) -> None:
    """``icmp_global_consume``: a message sent takes 0, 1 or 2 credits, at random (one on
    average, so that the budget cannot be timed to the message)."""
    host.icmp_global_credit -= host.rng.randrange(3)


def icmpv4_global_allow(host: Host, type: int, code: int) -> tuple[bool, bool]:
    """``icmpv4_global_allow``: (whether the message may go, whether the per-peer limit then
    applies).  A type the mask leaves out goes unlimited; others need the host's budget, and
    are counted in OutRateLimitGlobal when it is spent."""
    if icmpv4_mask_allow(host, type, code):
        return True, False
    if icmp_global_allow(host):
        return True, True
    host.mib.Icmp["OutRateLimitGlobal"] += 1
    return False, False


def icmpv4_xrlim_allow(host: Host, rt: Rtable, daddr: int) -> bool:
    """``icmpv4_xrlim_allow`` + ``inet_peer_xrlim_allow``: a token bucket per destination,
    ``icmp_ratelimit`` ms a token, six at most (none on loopback); a message that goes takes
    from the host's budget too (``icmp_global_consume``)."""
    if not rt.dev.flags & IFF_LOOPBACK and not inet_peer_xrlim_allow(host, daddr):
        host.mib.Icmp["OutRateLimitHost"] += 1
        return False
    icmp_global_consume(host)
    return True


def inet_peer_xrlim_allow(host: Host, daddr: int) -> bool:
    """``inet_peer_xrlim_allow``: a peer's bucket, full when first seen."""
    timeout = host.sysctl["net.ipv4.icmp_ratelimit"] * 1_000_000
    now = host.world.now
    tokens, last = host.icmp_peers.get(daddr, (XRLIM_BURST_FACTOR * timeout, now))
    tokens = min(tokens + now - last, XRLIM_BURST_FACTOR * timeout)
    if tokens >= timeout:
        host.icmp_peers[daddr] = (tokens - timeout, now)
        return True
    host.icmp_peers[daddr] = (tokens, now)
    return False


def icmp_push_reply(host: Host, type: int, code: int, info: int, payload: bytes | memoryview,
                    saddr: int, daddr: int, tos: int, opt: IpOptions | None = None) -> int:
    """Build and send one ICMP message (``icmp_push_reply``), with the options ``opt`` echoed
    from what it answers; a source-routed one goes to the reversed route's first hop
    (``icmp_route_lookup``).  The flow's type and code stand where its destination port would
    (``fl4_icmp_type``, ``fl4_icmp_code``), for the rules."""
    rt = ip_route_output_key(host, opt.faddr if opt is not None and opt.srr else daddr, saddr,
                             proto=IPPROTO_ICMP, dport=type << 8 | code)
    if isinstance(rt, int):
        host.mib.Icmp["OutErrors"] += 1
        return rt
    skb = alloc_skb_data(payload, 8, MAX_HEADER)
    d = skb.data
    buf = skb.buf
    _hdr.pack_into(buf, d, type, code, 0, info)
    _u16.pack_into(buf, d + 2, csum_fold(csum_partial(memoryview(buf)[d:skb.tail])))
    skb.transport_header = d
    skb.dst = rt
    ip_build_header(host, None, skb, rt.saddr, daddr, IPPROTO_ICMP,
                    host.sysctl["net.ipv4.ip_default_ttl"], tos, False, opt)
    icmp_out_count(host, type)
    return ip_local_out(host, None, skb)


def icmp_out_count(host: Host, type: int) -> None:
    """``icmp_out_count``: an ICMP message sent (by the kernel or a raw socket) counts in the MIB."""
    mib = host.mib.Icmp
    mib["OutMsgs"] += 1
    counter = _OUT_COUNTERS.get(type)
    if counter:
        mib[counter] += 1
    host.mib.IcmpMsg[ICMPMSG_OUT[type]] += 1


def icmp_send(host: Host, skb_in: SkBuff, type: int, code: int, info: int) -> None:
    """``__icmp_send``: an ICMP error about ``skb_in`` to its sender, if the rules allow one."""
    buf = skb_in.buf
    nh = skb_in.network_header
    if nh < 0 or skb_in.tail - nh < 20:
        return
    ihl = (buf[nh] & 0x0F) * 4
    saddr = int.from_bytes(buf[nh + 12:nh + 16], "big")
    daddr = int.from_bytes(buf[nh + 16:nh + 20], "big")
    rt = skb_in.dst
    if rt is not None and rt.rt_type == RTN_BROADCAST or skb_in.pkt_type != PACKET_HOST:
        return
    if ipv4_is_multicast(daddr) or ipv4_is_lbcast(daddr):
        return
    if ipv4_is_zeronet(saddr) or ipv4_is_multicast(saddr) or ipv4_is_lbcast(saddr):
        return
    if ((buf[nh + 6] << 8) | buf[nh + 7]) & IP_OFFSET:
        return  # only the first fragment gets an error
    if buf[nh + 9] == IPPROTO_ICMP and type in _ERROR_TYPES:
        inner = nh + ihl
        if skb_in.tail - inner < 1 or buf[inner] in _ERROR_TYPES or buf[inner] > 18:
            return  # never an error about an error
    # the host's budget, unless the datagram came in on loopback; then the peer's
    apply_ratelimit = False
    if skb_in.dev is None or not skb_in.dev.flags & IFF_LOOPBACK:
        allowed, apply_ratelimit = icmpv4_global_allow(host, type, code)
        if not allowed:
            return
    back = ip_route_output_key(host, saddr, proto=IPPROTO_ICMP, dport=type << 8 | code)
    if apply_ratelimit and not isinstance(back, int) and not icmpv4_xrlim_allow(host, back, saddr):
        return
    src = 0
    if rt is not None and rt.rt_type == RTN_LOCAL:
        src = daddr
    opt = None
    sopt = ipcb_opt(skb_in)
    if sopt is not None and sopt.optlen:
        opt = __ip_options_echo(host, skb_in, sopt)
        if opt is None:
            return
        if not opt.optlen:
            opt = None
    tos = (buf[nh + 1] & 0x1E) | IPTOS_PREC_INTERNETCONTROL
    # as much of the datagram as fits in 576 octets, the reply's own options counted
    room = ICMP_ERROR_ROOM - (opt.optlen if opt is not None else 0)
    payload = memoryview(buf)[nh:min(skb_in.tail, nh + room)]
    if type == ICMP_DEST_UNREACH and code == ICMP_FRAG_NEEDED:
        info &= 0xFFFF
    icmp_push_reply(host, type, code, info, bytes(payload), src, saddr, tos, opt)


# icmp_pointers[type].handler for what a protocol above takes, and for an error about an ICMP
# message of ours what ``icmp_err`` hands it to, by that message's type: ping sockets take the
# echo reply and the errors about echo requests (ping_rcv, ping_err, registered by inet_init as
# inet_add_protocol registers the transports).
icmp_handlers: dict[int, Callable[[Host, SkBuff], int]] = {}
icmp_err_handlers: dict[int, Callable[[Host, SkBuff, int, int, int, int], None]] = {}


def icmp_rcv(host: Host, skb: SkBuff) -> int:
    """``icmp_rcv``: check the message, count it, and dispatch by type."""
    mib = host.mib.Icmp
    mib["InMsgs"] += 1
    d = skb.data
    buf = skb.buf
    if skb.tail - d < 8:
        mib["InErrors"] += 1
        return 0
    if csum_partial(memoryview(buf)[d:skb.tail]) != 0xFFFF:
        mib["InCsumErrors"] += 1
        mib["InErrors"] += 1
        return 0
    type = buf[d]
    code = buf[d + 1]
    counter = _IN_COUNTERS.get(type)
    if counter:
        mib[counter] += 1
    host.mib.IcmpMsg[ICMPMSG_IN[type]] += 1
    if type > NR_ICMP_TYPES:
        mib["InErrors"] += 1
        return 0
    if skb.dst is not None and skb.dst.rt_type in (RTN_BROADCAST, RTN_MULTICAST):
        # RFC 1122 3.2.2.6 and 3.2.2.8: an echo or timestamp request sent to a broadcast or
        # multicast address may be ignored (icmp_echo_ignore_broadcasts); any other message but an
        # address mask's sent to one is an error
        if type in (ICMP_ECHO, ICMP_TIMESTAMP) and host.sysctl["net.ipv4.icmp_echo_ignore_broadcasts"] or \
                type not in (ICMP_ECHO, ICMP_TIMESTAMP, ICMP_ADDRESS, ICMP_ADDRESSREPLY):
            mib["InErrors"] += 1
            return 0
    if type == ICMP_ECHO:
        return icmp_echo(host, skb)
    if type == ICMP_TIMESTAMP:
        return icmp_timestamp(host, skb)
    handler = icmp_handlers.get(type)
    if handler is not None:
        return handler(host, skb)
    if type in (ICMP_DEST_UNREACH, ICMP_TIME_EXCEEDED, ICMP_PARAMETERPROB, ICMP_SOURCE_QUENCH):
        return icmp_unreach(host, skb, type, code)
    if type == ICMP_REDIRECT:
        return icmp_redirect(host, skb, code)
    return 0


def icmp_reply(host: Host, skb: SkBuff, type: int, payload: bytes) -> None:
    """``icmp_reply``: answer the request in ``skb`` with a message of ``type``, the request's
    identifier and sequence, and ``payload``, from the address it was sent to (any of ours for
    a broadcast), its IP options echoed (``ip_options_echo``; none, no answer)."""
    buf = skb.buf
    nh = skb.network_header
    saddr = int.from_bytes(buf[nh + 12:nh + 16], "big")
    daddr = int.from_bytes(buf[nh + 16:nh + 20], "big")
    if skb.dst is not None and skb.dst.rt_type == RTN_BROADCAST:
        daddr = 0
    opt = None
    if skb.transport_header - nh > IPHDR_LEN:
        opt = ip_options_echo(host, skb)
        if opt is None:
            return
    d = skb.data
    info = int.from_bytes(buf[d + 4:d + 8], "big")
    icmp_push_reply(host, type, 0, info, payload, daddr, saddr, buf[nh + 1],
                    opt if opt is not None and opt.optlen else None)


def icmp_echo(host: Host, skb: SkBuff) -> int:
    """``icmp_echo``: answer an echo request with the same identifier, sequence and data."""
    if host.sysctl["net.ipv4.icmp_echo_ignore_all"]:
        return 0
    icmp_reply(host, skb, ICMP_ECHOREPLY, bytes(skb.buf[skb.data + 8:skb.tail]))
    return 0


def icmp_timestamp(host: Host, skb: SkBuff) -> int:
    """``icmp_timestamp`` (RFC 792): the originate timestamp back, and the time it was received
    and sent, milliseconds since midnight UT (``inet_current_timestamp``).  A request without its
    originate timestamp is counted in InErrors; one to a broadcast is left alone as a broadcast
    echo is (RFC 1122 3.2.2.8)."""
    d = skb.data
    if skb.tail - d < 8 + 4:
        host.mib.Icmp["InErrors"] += 1
        return 0
    now = inet_current_timestamp(host).to_bytes(4, "big")
    icmp_reply(host, skb, ICMP_TIMESTAMPREPLY, bytes(skb.buf[d + 8:d + 12]) + now + now)
    return 0


def icmp_unreach(host: Host, skb: SkBuff, type: int, code: int) -> int:
    """``icmp_unreach``: an error about a datagram we sent, handed on (``icmp_socket_deliver``)
    with ``info``: for "fragmentation needed" the next hop's MTU, as ``net.ipv4.ip_no_pmtu_disc``
    allows (0: believe it; 1: 0, which locks the path at ``route.min_pmtu``; 2: ignore the
    message; 3: believe it only for protocols that validate it against their own state, TCP), for
    a parameter problem the pointer."""
    inner = _inner_header(host, skb)
    if inner < 0:
        return 0
    d = skb.data
    buf = skb.buf
    info = 0
    if type == ICMP_DEST_UNREACH and code == ICMP_FRAG_NEEDED:
        mode = host.sysctl["net.ipv4.ip_no_pmtu_disc"]
        if mode == 2 or (mode == 3 and buf[inner + 9] != IPPROTO_TCP):
            return 0
        if mode in (0, 3):
            info = (buf[d + 6] << 8) | buf[d + 7]
    elif type == ICMP_PARAMETERPROB:
        info = buf[d + 4]
    icmp_socket_deliver(host, skb, inner, type, code, info)
    return 0


def icmp_err(host: Host, skb: SkBuff, inner: int, type: int, code: int, info: int) -> None:
    """``icmp_err``, ICMP's ``err_handler``: an error about an ICMP message we sent.  About an
    echo reply the kernel sent, it teaches the route (a smaller path MTU, a redirect); about
    anything else it goes to ping sockets (``ping_err``)."""
    buf = skb.buf
    quoted = buf[inner + (buf[inner] & 0x0F) * 4]
    if quoted != ICMP_ECHOREPLY:
        handler = icmp_err_handlers.get(quoted)
        if handler is not None:
            handler(host, skb, inner, type, code, info)
        return
    if type == ICMP_DEST_UNREACH and code == ICMP_FRAG_NEEDED:
        ip_rt_update_pmtu(host, int.from_bytes(buf[inner + 16:inner + 20], "big"), info)
    elif type == ICMP_REDIRECT:
        ip_do_redirect(host, skb, inner)


def icmp_redirect(host: Host, skb: SkBuff, code: int) -> int:
    """``icmp_redirect``: handed on with the new gateway as ``info``."""
    inner = _inner_header(host, skb)
    if inner >= 0:
        icmp_socket_deliver(host, skb, inner, ICMP_REDIRECT, code, int.from_bytes(skb.buf[skb.data + 4:skb.data + 8],
                                                                                     "big"))
    return 0


def _inner_header(host: Host, skb: SkBuff) -> int:
    """Where the offending datagram's IP header starts, or -1 (counted in InErrors) when the
    message does not carry it and 8 bytes after it."""
    d = skb.data
    buf = skb.buf
    inner = d + 8
    if skb.tail - inner < 28:
        host.mib.Icmp["InErrors"] += 1
        return -1
    inner_ihl = (buf[inner] & 0x0F) * 4
    if inner_ihl < 20 or skb.tail - inner < inner_ihl + 8:
        host.mib.Icmp["InErrors"] += 1
        return -1
    return inner


def icmp_socket_deliver(host: Host, skb: SkBuff, inner: int, type: int, code: int, info: int) -> None:
    """``icmp_socket_deliver``: the raw sockets of the offending datagram's protocol
    (``raw_icmp_error``), then its ``err_handler``."""
    protocol = skb.buf[inner + 9]
    if getattr(host, "raw_v4_hashinfo", None):
        from tuxnet.net.ipv4.raw import raw_icmp_error

        raw_icmp_error(host, skb, inner, protocol, type, code, info)
    ipprot = host.inet_protos.get(protocol)
    if ipprot is not None and ipprot.err_handler is not None:
        ipprot.err_handler(host, skb, inner, type, code, info)
