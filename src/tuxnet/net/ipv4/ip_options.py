"""IPv4 options (net/ipv4/ip_options.c; RFC 791 section 3.1, RFC 1812 section 5.2.4).

A received header with options is checked and compiled (``ip_options_compile``, called by
``ip_rcv_options`` once the packet is routed): where its record route (RR), timestamp (TS),
source route (LSRR, SSRR) and router alert options sit, and what this host adds to them.  The
receiver writes into the slot an option's pointer names the address a reply would come from
(``fib_compute_spec_dst``) and, for a timestamp, the milliseconds since midnight UT
(``inet_current_timestamp``).  A router then writes over its RR slot the address of the interface
the datagram leaves by (``ip_forward_options``); an ICMP reply carries the request's options back
with room made for one more hop, a source route reversed (``ip_options_echo``); and a socket's
options (IP_OPTIONS, or an IP_RETOPTS control message) go into each datagram it sends, the
sender's own slot filled by ``ip_options_build``.

A malformed option draws ICMP parameter problem pointing at the bad octet and counts in
InHdrErrors.  A source-routed datagram is dropped unless ``accept_source_route`` is set on both
``all`` and the device (off on ``all`` by default, as in Linux).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from tuxnet.kernel.errno import EINVAL
from tuxnet.kernel.timekeeping import ktime_get_real
from tuxnet.net.core.skbuff import PACKET_HOST, SkBuff, skb_cloned
from tuxnet.net.ipv4.fib import RTN_LOCAL, RTN_UNICAST, fib_compute_spec_dst, fib_lookup, fib_result_prefsrc

if TYPE_CHECKING:
    from tuxnet.kernel.host import Host
    from tuxnet.net.core.dev import NetDevice

IPHDR_LEN = 20
MAX_IPOPTLEN = 40

# Option types (include/uapi/linux/ip.h)
IPOPT_END = 0
IPOPT_NOOP = 1
IPOPT_RR = 7
IPOPT_TIMESTAMP = 68
IPOPT_SEC = 130
IPOPT_LSRR = 131
IPOPT_CIPSO = 134
IPOPT_SID = 136
IPOPT_SSRR = 137
IPOPT_RA = 148
IPOPT_MINOFF = 4  # the pointer of an empty route option
IPOPT_COPY = 0x80  # the flag of an option every fragment carries (RFC 791 section 3.1)

# The timestamp option's flags (its fourth octet's low nibble)
IPOPT_TS_TSONLY = 0
IPOPT_TS_TSANDADDR = 1
IPOPT_TS_PRESPEC = 3


class IpOptions:
    """``struct ip_options``: the offsets from the IP header's start of the options found (0:
    none), whether this host fills an RR or TS slot, the first hop of a source route
    (``faddr``) and the next one (``nexthop``); ``data``, the options themselves, for the
    options of a socket or a reply (``__data``; a received packet's stay in its header)."""

    __slots__ = ("optlen", "srr", "rr", "ts", "router_alert", "is_strictroute", "srr_is_hit", "is_changed",
                 "rr_needaddr", "ts_needtime", "ts_needaddr", "faddr", "nexthop", "data")

    def __init__(self, optlen: int = 0, data: bytearray | None = None) -> None:
        self.optlen = optlen
        self.srr = self.rr = self.ts = self.router_alert = 0
        self.is_strictroute = self.srr_is_hit = self.is_changed = False
        self.rr_needaddr = self.ts_needtime = self.ts_needaddr = False
        self.faddr = self.nexthop = 0
        self.data = bytearray() if data is None else data

    def copy(self) -> IpOptions:
        """A copy with its own ``data`` (the ``opt_copy`` a send or a read of the options makes)."""
        new = IpOptions(self.optlen, bytearray(self.data))
        for name in self.__slots__:
            if name not in ("optlen", "data"):
                setattr(new, name, getattr(self, name))
        return new


class InetSkbParm:
    """``IPCB(skb)`` (``struct inet_skb_parm``): a received datagram's compiled options, and for
    one reassembled from fragments the largest of them (``frag_max_size``), which
    IP_RECVFRAGSIZE reports."""

    __slots__ = ("opt", "frag_max_size")

    def __init__(self, opt: IpOptions | None = None, frag_max_size: int = 0) -> None:
        self.opt = opt
        self.frag_max_size = frag_max_size


def ipcb_opt(skb: SkBuff) -> IpOptions | None:
    """``&IPCB(skb)->opt`` when the datagram came with options (None otherwise)."""
    cb = skb.cb
    return cb.opt if cb.__class__ is InetSkbParm else None


def inet_current_timestamp(host: Host) -> int:
    """``inet_current_timestamp``: milliseconds since midnight UT (RFC 791's standard value)."""
    return ktime_get_real(host.world) // 1_000_000 % 86_400_000


def ip_rt_get_source(host: Host, skb: SkBuff) -> int:
    """``ip_rt_get_source`` for a datagram being forwarded: the address of ours its route
    leaves by (the route's preferred source, else the output device's address for the next
    hop)."""
    from tuxnet.net.ipv4.devinet import inet_select_addr
    from tuxnet.net.ipv4.fib import RT_SCOPE_UNIVERSE

    buf = skb.buf
    nh = skb.network_header
    daddr = int.from_bytes(buf[nh + 16:nh + 20], "big")
    fa = fib_lookup(host, daddr)
    if fa is not None:
        return fib_result_prefsrc(host, fa)
    rt = skb.dst
    return inet_select_addr(host, rt.dev, rt.gw or daddr, RT_SCOPE_UNIVERSE)


def _put_addr(buf: bytearray, at: int, addr: int) -> None:
    buf[at:at + 4] = addr.to_bytes(4, "big")


def __ip_options_compile(host: Host, opt: IpOptions, skb: SkBuff | None) -> int:
    """``__ip_options_compile``: check the ``opt.optlen`` octets of options, of the received
    ``skb``'s header or, with no ``skb``, of ``opt.data`` (a socket's), and note where each
    sits.  A received RR or TS gets this host's slot filled in.  Returns 0, or the offset from
    the header's start of the octet at fault (the parameter problem's pointer)."""
    if skb is not None:
        buf = skb.buf
        iph = skb.network_header
        routed = skb.dst is not None
    else:
        buf = opt.data
        iph = -IPHDR_LEN
        routed = False
    spec_dst = 0
    p = iph + IPHDR_LEN
    left = opt.optlen
    while left > 0:
        kind = buf[p]
        if kind == IPOPT_END:
            # the rest of the header is padding: make it all END
            for q in range(p + 1, p + left):
                if buf[q] != IPOPT_END:
                    buf[q] = IPOPT_END
                    opt.is_changed = True
            return 0
        if kind == IPOPT_NOOP:
            left -= 1
            p += 1
            continue
        if left < 2:
            return p - iph
        optlen = buf[p + 1]
        if optlen < 2 or optlen > left:
            return p - iph
        if kind in (IPOPT_SSRR, IPOPT_LSRR):
            if optlen < 3:
                return p + 1 - iph
            if buf[p + 2] < 4:
                return p + 2 - iph
            if opt.srr:  # RFC 1812 section 5.2.4.1: one source route at most
                return p - iph
            if skb is None:
                # a socket's route lists its first hop first: it goes to faddr, the rest moves up
                if buf[p + 2] != 4 or optlen < 7 or (optlen - 3) & 3:
                    return p + 1 - iph
                opt.faddr = int.from_bytes(buf[p + 3:p + 7], "big")
                if optlen > 7:
                    buf[p + 3:p + optlen - 4] = buf[p + 7:p + optlen]
            opt.is_strictroute = kind == IPOPT_SSRR
            opt.srr = p - iph
        elif kind == IPOPT_RR:
            if opt.rr:
                return p - iph
            if optlen < 3:
                return p + 1 - iph
            ptr = buf[p + 2]
            if ptr < 4:
                return p + 2 - iph
            if ptr <= optlen:  # room left: this host records itself
                if ptr + 3 > optlen:
                    return p + 2 - iph
                if routed:
                    spec_dst = spec_dst or fib_compute_spec_dst(host, skb)
                    _put_addr(buf, p + ptr - 1, spec_dst)
                    opt.is_changed = True
                buf[p + 2] = ptr + 4
                opt.rr_needaddr = True
            opt.rr = p - iph
        elif kind == IPOPT_TIMESTAMP:
            if opt.ts:
                return p - iph
            if optlen < 4:
                return p + 1 - iph
            ptr = buf[p + 2]
            if ptr < 5:
                return p + 2 - iph
            flag = buf[p + 3] & 0x0F
            if ptr <= optlen:
                if ptr + 3 > optlen:
                    return p + 2 - iph
                timeptr = -1
                if flag == IPOPT_TS_TSONLY:
                    if skb is not None:
                        timeptr = p + ptr - 1
                    opt.ts_needtime = True
                    buf[p + 2] = ptr + 4
                elif flag == IPOPT_TS_TSANDADDR:
                    if ptr + 7 > optlen:
                        return p + 2 - iph
                    if routed:
                        spec_dst = spec_dst or fib_compute_spec_dst(host, skb)
                        _put_addr(buf, p + ptr - 1, spec_dst)
                        timeptr = p + ptr + 3
                    opt.ts_needaddr = opt.ts_needtime = True
                    buf[p + 2] = ptr + 8
                elif flag == IPOPT_TS_PRESPEC:
                    if ptr + 7 > optlen:
                        return p + 2 - iph
                    from tuxnet.net.ipv4.devinet import inet_addr_type

                    # only the host the next pair names stamps it
                    if inet_addr_type(host, int.from_bytes(buf[p + ptr - 1:p + ptr + 3], "big")) != RTN_UNICAST:
                        if skb is not None:
                            timeptr = p + ptr + 3
                        opt.ts_needtime = True
                        buf[p + 2] = ptr + 8
                if timeptr >= 0:
                    _put_addr(buf, timeptr, inet_current_timestamp(host))
                    opt.is_changed = True
            elif flag != IPOPT_TS_PRESPEC:
                # full: count the hop in the overflow nibble, which must not overflow itself
                overflow = buf[p + 3] >> 4
                if overflow == 15:
                    return p + 3 - iph
                if skb is not None:
                    buf[p + 3] = flag | (overflow + 1) << 4
                    opt.is_changed = True
            opt.ts = p - iph
        elif kind == IPOPT_RA:
            if optlen < 4:
                return p + 1 - iph
            if buf[p + 2] == 0 and buf[p + 3] == 0:
                opt.router_alert = p - iph
        # Any other option (security, stream ID, CIPSO, ...) is carried as it is; a process
        # of tuxnet has CAP_NET_RAW, which Linux asks of a socket that sets one.
        left -= optlen
        p += optlen
    return 0


def ip_options_compile(host: Host, opt: IpOptions, skb: SkBuff | None) -> int:
    """``ip_options_compile``: 0, or -EINVAL for a malformed option, about which a received
    datagram's sender gets ICMP parameter problem."""
    pp = __ip_options_compile(host, opt, skb)
    if not pp:
        return 0
    if skb is not None:
        from tuxnet.net.ipv4.icmp import ICMP_PARAMETERPROB, icmp_send

        icmp_send(host, skb, ICMP_PARAMETERPROB, 0, pp << 24)
    return -EINVAL


def ip_options_get(host: Host, data: bytes | bytearray) -> IpOptions | int:
    """``ip_options_get``: a socket's options (IP_OPTIONS, IP_RETOPTS) from what the user
    gave, padded with END to a multiple of four octets, compiled; or -EINVAL."""
    raw = bytearray(data)
    while len(raw) & 3:
        raw.append(IPOPT_END)
    opt = IpOptions(len(raw), raw)
    if opt.optlen and ip_options_compile(host, opt, None):
        return -EINVAL
    return opt


def ip_options_undo(opt: IpOptions) -> None:
    """``ip_options_undo``: a socket's compiled options back as the user gave them (what
    ``getsockopt(IP_OPTIONS)`` returns): the first hop back in front of the source route, the
    slots compiling reserved emptied."""
    data = opt.data
    if opt.srr:
        p = opt.srr - IPHDR_LEN
        length = data[p + 1]
        data[p + 7:p + length] = data[p + 3:p + length - 4]
        _put_addr(data, p + 3, opt.faddr)
    if opt.rr_needaddr:
        p = opt.rr - IPHDR_LEN
        data[p + 2] -= 4
        _put_addr(data, p + data[p + 2] - 1, 0)
    if opt.ts:
        p = opt.ts - IPHDR_LEN
        if opt.ts_needtime:
            data[p + 2] -= 4
            _put_addr(data, p + data[p + 2] - 1, 0)
            if data[p + 3] & 0x0F == IPOPT_TS_PRESPEC:
                data[p + 2] -= 4
        if opt.ts_needaddr:
            data[p + 2] -= 4
            _put_addr(data, p + data[p + 2] - 1, 0)


def __ip_options_echo(host: Host, skb: SkBuff, sopt: IpOptions) -> IpOptions | None:
    """``__ip_options_echo``: the options of a reply to ``skb``, whose compiled options are
    ``sopt``: RR and TS copied with room for this host's entry, a source route reversed (its
    first hop, the last one recorded, in ``faddr``), padded to four octets; None (-EINVAL)
    when an option has no room left that its pointer promised."""
    dopt = IpOptions()
    if not sopt.optlen:
        return dopt
    buf = skb.buf
    nh = skb.network_header
    out = dopt.data
    if sopt.rr:
        s = nh + sopt.rr
        optlen, soffset = buf[s + 1], buf[s + 2]
        start = len(out)
        dopt.rr = dopt.optlen + IPHDR_LEN
        out += buf[s:s + optlen]
        if sopt.rr_needaddr and soffset <= optlen:
            if soffset + 3 > optlen:
                return None
            out[start + 2] = soffset + 4
            dopt.rr_needaddr = True
        dopt.optlen += optlen
    if sopt.ts:
        s = nh + sopt.ts
        optlen, soffset = buf[s + 1], buf[s + 2]
        start = len(out)
        dopt.ts = dopt.optlen + IPHDR_LEN
        out += buf[s:s + optlen]
        if soffset <= optlen:
            if sopt.ts_needaddr:
                if soffset + 3 > optlen:
                    return None
                dopt.ts_needaddr = True
                soffset += 4
            if sopt.ts_needtime:
                if soffset + 3 > optlen:
                    return None
                if out[start + 3] & 0x0F != IPOPT_TS_PRESPEC:
                    dopt.ts_needtime = True
                    soffset += 4
                elif soffset + 7 <= optlen:
                    from tuxnet.net.ipv4.devinet import inet_addr_type

                    addr = int.from_bytes(out[start + soffset - 1:start + soffset + 3], "big")
                    if inet_addr_type(host, addr) != RTN_UNICAST:
                        dopt.ts_needtime = True
                        soffset += 8
            out[start + 2] = soffset
        dopt.optlen += optlen
    if sopt.srr:
        s = nh + sopt.srr
        optlen, soffset = buf[s + 1], buf[s + 2]
        if soffset > optlen:
            soffset = optlen + 1
        soffset -= 4
        doffset = 0
        route = bytearray(optlen + 4)
        faddr = 0
        if soffset > 3:
            faddr = int.from_bytes(buf[s + soffset - 1:s + soffset + 3], "big")
            soffset -= 4
            doffset = 4
            while soffset > 3:
                route[doffset - 1:doffset + 3] = buf[s + soffset - 1:s + soffset + 3]
                soffset -= 4
                doffset += 4
            # RFC 1812 5.2.4.1: a route that names its own source is an illegal one, mended
            if buf[nh + 12:nh + 16] == buf[s + soffset + 3:s + soffset + 7]:
                doffset -= 4
        if doffset > 3:
            dopt.faddr = faddr
            route[0], route[1], route[2] = buf[s], doffset + 3, IPOPT_MINOFF
            dopt.srr = dopt.optlen + IPHDR_LEN
            out += route[:doffset + 3]
            dopt.optlen += doffset + 3
            dopt.is_strictroute = sopt.is_strictroute
    while dopt.optlen & 3:
        out.append(IPOPT_END)
        dopt.optlen += 1
    return dopt


def ip_options_echo(host: Host, skb: SkBuff) -> IpOptions | None:
    """``ip_options_echo``: the options of a reply to ``skb`` (none when it came without)."""
    sopt = ipcb_opt(skb)
    if sopt is None:
        return IpOptions()
    return __ip_options_echo(host, skb, sopt)


def ip_options_build(host: Host, skb: SkBuff, opt: IpOptions, daddr: int) -> None:
    """``ip_options_build``: write a sent datagram's options behind the header at
    ``skb.network_header`` (which has room for them) and set its length; a source route's last
    slot gets the final destination ``daddr``; the sender's RR and TS slots, its source address
    and the time."""
    buf = skb.buf
    nh = skb.network_header
    o = nh + IPHDR_LEN
    buf[o:o + opt.optlen] = opt.data
    buf[nh] = 0x40 | (IPHDR_LEN + opt.optlen) >> 2
    if opt.srr:
        p = nh + opt.srr
        _put_addr(buf, p + buf[p + 1] - 4, daddr)
    saddr = int.from_bytes(buf[nh + 12:nh + 16], "big")
    if opt.rr_needaddr:
        p = nh + opt.rr
        _put_addr(buf, p + buf[p + 2] - 5, saddr)
    if opt.ts_needaddr:
        p = nh + opt.ts
        _put_addr(buf, p + buf[p + 2] - 9, saddr)
    if opt.ts_needtime:
        p = nh + opt.ts
        _put_addr(buf, p + buf[p + 2] - 5, inet_current_timestamp(host))


def ip_forward_options(host: Host, skb: SkBuff, opt: IpOptions) -> None:
    """``ip_forward_options``: a router writes its outgoing address over the RR slot it filled
    on receipt; on a source route it reached, the next hop becomes the destination and its slot
    gets the router's address; the header's checksum is made again if anything changed."""
    from tuxnet.net.ipv4.ip_output import ip_send_check

    buf = skb.buf
    nh = skb.network_header
    if opt.rr_needaddr:
        p = nh + opt.rr
        _put_addr(buf, p + buf[p + 2] - 5, ip_rt_get_source(host, skb))
        opt.is_changed = True
    if opt.srr_is_hit:
        p = nh + opt.srr
        srrptr, srrspace = buf[p + 2], buf[p + 1]
        nexthop = opt.nexthop.to_bytes(4, "big")
        while srrptr + 3 <= srrspace and buf[p + srrptr - 1:p + srrptr + 3] != nexthop:
            srrptr += 4
        if srrptr + 3 <= srrspace:
            opt.is_changed = True
            buf[nh + 16:nh + 20] = nexthop
            _put_addr(buf, p + srrptr - 1, ip_rt_get_source(host, skb))
            buf[p + 2] = srrptr + 4
        if opt.ts_needaddr:
            p = nh + opt.ts
            _put_addr(buf, p + buf[p + 2] - 9, ip_rt_get_source(host, skb))
            opt.is_changed = True
    if opt.is_changed:
        opt.is_changed = False
        ip_send_check(buf, nh)


def ip_options_rcv_srr(host: Host, skb: SkBuff, dev: NetDevice, opt: IpOptions) -> int:
    """``ip_options_rcv_srr``: a source-routed datagram addressed to us goes on to the next hop
    its route names (hops that are ours are passed over, "loopback forward"); one that is not
    ours on a strict route is refused with a parameter problem.  0, or -EINVAL to drop it."""
    from tuxnet.net.ipv4.icmp import ICMP_PARAMETERPROB, icmp_send
    from tuxnet.net.ipv4.route import ip_route_input_noref

    rt = skb.dst
    if rt is None:
        return 0
    if skb.pkt_type != PACKET_HOST:
        return -EINVAL
    if rt.rt_type == RTN_UNICAST:
        if not opt.is_strictroute:
            return 0
        icmp_send(host, skb, ICMP_PARAMETERPROB, 0, 16 << 24)  # the destination address
        return -EINVAL
    if rt.rt_type != RTN_LOCAL:
        return -EINVAL
    buf = skb.buf
    nh = skb.network_header
    p = nh + opt.srr
    srrptr, srrspace = buf[p + 2], buf[p + 1]
    saddr = int.from_bytes(buf[nh + 12:nh + 16], "big")
    nexthop = 0
    while srrptr <= srrspace:
        if srrptr + 3 > srrspace:
            icmp_send(host, skb, ICMP_PARAMETERPROB, 0, (opt.srr + 2) << 24)
            return -EINVAL
        nexthop = int.from_bytes(buf[p + srrptr - 1:p + srrptr + 3], "big")
        skb.dst = None
        err = ip_route_input_noref(host, skb, nexthop, saddr, dev)
        rt2 = skb.dst
        if err < 0 or rt2 is None or rt2.rt_type not in (RTN_UNICAST, RTN_LOCAL):
            skb.dst = rt
            return -EINVAL
        if rt2.rt_type != RTN_LOCAL:
            break
        _put_addr(buf, nh + 16, nexthop)
        opt.is_changed = True
        srrptr += 4
    if srrptr <= srrspace:
        opt.srr_is_hit = True
        opt.nexthop = nexthop
        opt.is_changed = True
    return 0


def ip_rcv_options(host: Host, skb: SkBuff, dev: NetDevice) -> bool:
    """``ip_rcv_options``: compile a received header's options into its IPCB (the header made
    the packet's own first, ``skb_cow``, as they are written to); True to drop the packet: a
    malformed option (InHdrErrors), or a source route where ``accept_source_route`` is off."""
    from tuxnet.net.ipv4.devinet import in_dev_andconf

    if skb_cloned(skb):
        skb.buf = bytearray(skb.buf)
        skb.cloned = False
    nh = skb.network_header
    opt = IpOptions((skb.buf[nh] & 0x0F) * 4 - IPHDR_LEN)
    skb.cb = InetSkbParm(opt)
    if ip_options_compile(host, opt, skb):
        host.mib.Ip["InHdrErrors"] += 1
        return True
    if opt.srr:
        if not in_dev_andconf(host, dev, "accept_source_route"):  # IN_DEV_SOURCE_ROUTE
            return True
        if ip_options_rcv_srr(host, skb, dev, opt):
            return True
    return False


def ip_options_fragment(header: bytes) -> bytes:
    """``ip_options_fragment``: the header of the fragments after the first, whose options not
    marked to be copied (RFC 791 section 3.1: record route, timestamp) are NOPs, the header's
    length unchanged.  A malformed option ends the pass, as in Linux."""
    out = bytearray(header)
    ptr, end = IPHDR_LEN, len(out)
    while ptr < end:
        kind = out[ptr]
        if kind == IPOPT_END:
            break
        if kind == IPOPT_NOOP:
            ptr += 1
            continue
        optlen = out[ptr + 1] if ptr + 1 < end else 0
        if optlen < 2 or optlen > end - ptr:
            break
        if not kind & IPOPT_COPY:
            out[ptr:ptr + optlen] = bytes([IPOPT_NOOP]) * optlen
        ptr += optlen
    return bytes(out)
