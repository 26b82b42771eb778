"""IPv4 routing decisions (net/ipv4/route.c): ``rtable`` entries for output and input.

A route lookup result is cached per (destination, source, device) until the FIB changes, as the
old routing cache did; sockets keep their own ``sk_dst_cache`` on top of that.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from tuxnet.kernel.errno import EACCES, EHOSTUNREACH, EINVAL, ENETUNREACH, ENODEV, EXDEV
from tuxnet.kernel.minmax import max, min
from tuxnet.net.core.utils import ipv4_is_lbcast, ipv4_is_local_multicast, ipv4_is_multicast, ipv4_is_zeronet
from tuxnet.net.ipv4.devinet import in_dev_conf_get, in_dev_orconf, inet_addr_onlink, inet_select_addr
from tuxnet.net.ipv4.fib import (
    INET_DSCP_MASK,
    LOOPBACK_IFINDEX,
    RT_SCOPE_LINK,
    RT_SCOPE_UNIVERSE,
    RTN_BLACKHOLE,
    RTN_BROADCAST,
    RTN_LOCAL,
    RTN_MULTICAST,
    RTN_PROHIBIT,
    RTN_UNICAST,
    RTN_UNREACHABLE,
    FibAlias,
    fib_flush_cache,
    fib_lookup,
)
from tuxnet.world import NSEC_PER_MSEC, NSEC_PER_SEC

if TYPE_CHECKING:
    from tuxnet.kernel.host import Host
    from tuxnet.net.core.dev import NetDevice
    from tuxnet.net.core.skbuff import SkBuff

INADDR_LOOPBACK = 0x7F000001


class Rtable:
    """``struct rtable`` (with its ``dst_entry``): where a packet goes and what runs it.  The
    metrics are the route's when the entry was made (``rt_set_nexthop``): a socket holding this
    entry keeps them until the FIB changes and it routes again, as a dst keeps its ``fib_info``'s."""

    __slots__ = ("dev", "rt_type", "gw", "saddr", "input", "output", "mtu", "error", "genid",
                 "iif", "mtu_lock", "advmss", "initcwnd", "initrwnd", "redirected")

    def __init__(self, dev: NetDevice, rt_type: int, gw: int, saddr: int, mtu: int, genid: int) -> None:
        self.dev = dev
        self.rt_type = rt_type
        self.gw = gw
        self.saddr = saddr
        self.mtu = mtu
        self.genid = genid
        self.input: Callable[[Host, SkBuff], int] = dst_discard  # (dst_alloc's: an output route takes nothing in)
        self.output: Callable[..., int] | None = None
        self.error = 0
        self.iif = 0
        self.mtu_lock = False
        self.advmss = 0
        self.initcwnd = 0
        self.initrwnd = 0
        self.redirected = False

    def nexthop(self, daddr: int) -> int:
        """``rt_nexthop``: the gateway, or the destination itself on a connected route."""
        return self.gw or daddr


IP_MAX_MTU = 0xFFFF


def dst_mtu(rt: Rtable) -> int:
    """``dst_mtu`` → ``ipv4_mtu``: the route's MTU (a route ``mtu`` attribute or a learned path MTU
    wins), no more than an IPv4 packet can be (IP_MAX_MTU: lo's 65536 counts as 65535)."""
    mtu = rt.mtu or rt.dev.mtu
    return mtu if mtu <= IP_MAX_MTU else IP_MAX_MTU


def dst_metric_advmss(rt: Rtable) -> int:
    """``dst_metric_advmss``: the route's ``advmss``, else ``ipv4_default_advmss``: the MTU less
    the IPv4 and TCP headers, at least ``ip_rt_min_advmss`` (256) and at most 65535 - 40."""
    return rt.advmss or min(max(dst_mtu(rt) - 40, 256), 65535 - 40)


def rt_set_nexthop(rt: Rtable, fa: FibAlias) -> None:
    """``rt_set_nexthop``: the new entry takes the route's metrics."""
    rt.mtu_lock = fa.mtu_lock
    rt.advmss = fa.advmss
    rt.initcwnd = fa.initcwnd
    rt.initrwnd = fa.initrwnd


# include/net/flow.h: the flow may leave from an address that is not this host's
FLOWI_FLAG_ANYSRC = 0x01

_ERRORS = {RTN_UNREACHABLE: -EHOSTUNREACH, RTN_BLACKHOLE: -EINVAL, RTN_PROHIBIT: -EACCES}


def ip_route_output_key(host: Host, daddr: int, saddr: int = 0, oif: int = 0,
                        scope: int = RT_SCOPE_UNIVERSE, mark: int = 0, tos: int = 0,
                        flags: int = 0, proto: int = 0, sport: int = 0, dport: int = 0,
                        uid: int = 0) -> Rtable | int:
    """``ip_route_output_key`` → ``ip_route_output_key_hash_rcu``: a route or ``-errno``.
    ``scope`` RT_SCOPE_LINK (flowi4_scope, for SO_DONTROUTE and MSG_DONTROUTE) takes only
    routes that need no gateway; ``mark``, ``tos`` (its DSCP bits), the transport ``proto`` and
    its ports and the sender's ``uid`` are the flow's, for the rules; ``flags`` the flow's
    flowi4_flags (FLOWI_FLAG_ANYSRC: any source, ours or not)."""
    if host.fib_rules_require_fldissect or uid:  # (rules that pick by protocol, port or uid)
        key: tuple[int, ...] = (daddr, saddr, oif, scope, mark, tos & INET_DSCP_MASK, flags, proto, sport, dport,
                                uid)
    elif scope or mark or tos or flags:  # (RT_SCOPE_UNIVERSE is 0: the common flow's key is the short one)
        key = (daddr, saddr, oif, scope, mark, tos & INET_DSCP_MASK, flags)
    else:
        key = (daddr, saddr, oif)
    rt = host.rt_output_cache.get(key)
    if rt is not None:
        return rt
    rt = _route_output_slow(host, daddr, saddr, oif, scope, mark, tos & INET_DSCP_MASK, flags, proto, sport, dport,
                            uid)
    if not isinstance(rt, int):
        rt.iif = oif  # rt_iif: the device the sender asked for (orig_oif)
        if not ipv4_is_multicast(daddr):  # (a multicast's looping back depends on its source and protocol)
            host.rt_output_cache[key] = rt
    return rt


def ip_sock_rt_scope(sk: Any) -> int:
    """``ip_sock_rt_scope``: a socket with SO_DONTROUTE reaches only hosts on its links."""
    return RT_SCOPE_LINK if sk.sk_localroute else RT_SCOPE_UNIVERSE


def inet_sk_flowi_flags(sk: Any) -> int:
    """``inet_sk_flowi_flags``: a socket with IP_TRANSPARENT or IP_HDRINCL may send from an
    address that is not this host's (FLOWI_FLAG_ANYSRC)."""
    return FLOWI_FLAG_ANYSRC if sk.transparent or sk.hdrincl else 0


def ip_route_output_sk(sk: Any, daddr: int, dport: int = -1) -> Rtable | int:
    """``ip_route_output_ports`` for a socket's own flow (``flowi4_init_output``): its bound
    source and device, SO_DONTROUTE's scope, its mark and TOS, its flow flags, its protocol and
    ports (``dport``, or the connected one)."""
    return ip_route_output_key(sk.host, daddr, sk.inet_saddr, sk.sk_bound_dev_if, ip_sock_rt_scope(sk),
                               sk.sk_mark, sk.tos, inet_sk_flowi_flags(sk), sk.sk_protocol, sk.inet_sport,
                               sk.inet_dport if dport < 0 else dport)


def _route_output_slow(host: Host, daddr: int, saddr: int, oif: int, scope: int, mark: int,
                       tos: int, flags: int, proto: int, sport: int, dport: int, uid: int) -> Rtable | int:
    from tuxnet.net.ipv4.ip_input import ip_local_deliver
    from tuxnet.net.ipv4.ip_output import ip_output

    lo = host.loopback_dev
    owner = None
    if saddr:
        # The source (a bound address, or IP_PKTINFO's) must be one of ours (__ip_dev_find:
        # an address of a device, or of a local route, as 127.0.0.2 is), unless the flow may
        # have any (FLOWI_FLAG_ANYSRC); a broadcast or multicast from it still needs its device.
        if ipv4_is_multicast(saddr) or ipv4_is_lbcast(saddr) or ipv4_is_zeronet(saddr):
            return -EINVAL
        owners = host.inet_addr_lst.get(saddr)
        if owners:
            owner = owners[0].dev
        else:
            fa = host.fib_local.lookup(saddr)
            if fa is not None and fa.type == RTN_LOCAL:
                owner = fa.dev
            elif not flags & FLOWI_FLAG_ANYSRC or (not oif and (ipv4_is_lbcast(daddr) or ipv4_is_multicast(daddr))):
                return -ENETUNREACH
    dev_out = host.dev_by_index.get(oif) if oif else None
    if oif and dev_out is None:
        return -ENODEV
    if saddr and not oif and (ipv4_is_lbcast(daddr) or ipv4_is_multicast(daddr)):
        # "Special hack": a limited broadcast or multicast from a bound address leaves by the
        # device that has the address, as if IP_MULTICAST_IF named it.
        dev_out = owner
    if not daddr:
        # Connecting to 0.0.0.0 means this host (ip_route_output_key_hash_rcu).
        daddr = saddr or INADDR_LOOPBACK
        rt = Rtable(lo, RTN_LOCAL, 0, saddr or INADDR_LOOPBACK, 0, host.rt_genid)
        rt.output = ip_output
        rt.input = ip_local_deliver
        return rt
    if (ipv4_is_lbcast(daddr) or ipv4_is_multicast(daddr)) and dev_out is not None:
        src = saddr or inet_select_addr(host, dev_out, 0, RT_SCOPE_LINK)
        rt = Rtable(dev_out, RTN_MULTICAST if ipv4_is_multicast(daddr) else RTN_BROADCAST, 0, src, 0, host.rt_genid)
        return __mkroute_output_mc(host, rt, daddr, proto)
    fa = fib_lookup(host, daddr, scope, saddr, LOOPBACK_IFINDEX, oif, mark, tos, proto, sport, dport, uid)
    failed = fa is None or fa.type in _ERRORS  # no route, or one (or a rule) that is an error
    if failed or (dev_out is not None and fa.type == RTN_UNICAST and fa.dev is not dev_out and not fa.gw):
        if dev_out is not None and dev_out.flags & 1:
            # SO_BINDTODEVICE / IP_PKTINFO with no route: assume the destination is on-link.
            src = saddr or inet_select_addr(host, dev_out, daddr, RT_SCOPE_LINK)
            rt = Rtable(dev_out, RTN_UNICAST, 0, src, 0, host.rt_genid)
            rt.output = ip_output
            return rt
        return _ERRORS[fa.type] if fa is not None and fa.type in _ERRORS else -ENETUNREACH
    if fa.type == RTN_LOCAL:
        # rt_dst_alloc: a local route delivers what loops back through it (RTCF_LOCAL).
        rt = Rtable(lo, RTN_LOCAL, 0, saddr or fa.prefsrc or daddr, 0, host.rt_genid)
        rt.input = ip_local_deliver
    elif ipv4_is_multicast(daddr):
        # a multicast leaves by the device of the route to the group, to no gateway
        src = saddr or fa.prefsrc or inet_select_addr(host, fa.dev, fa.gw, fa.scope or RT_SCOPE_LINK)
        return __mkroute_output_mc(host, Rtable(fa.dev, RTN_MULTICAST, 0, src, 0, host.rt_genid), daddr, proto)
    else:
        dev = fa.dev
        src = saddr or fa.prefsrc or inet_select_addr(host, dev, fa.gw or daddr, fa.scope or RT_SCOPE_LINK)
        locked = fa.mtu_lock and fa.mtu
        rt = Rtable(dev, fa.type, fa.gw, src, fa.mtu if locked else _pmtu(host, daddr, fa.mtu or dev.mtu),
                    host.rt_genid)
        rt_set_nexthop(rt, fa)
        fnhe = find_exception(host, daddr)
        if fnhe is not None:  # rt_bind_exception
            if fnhe.locked and not locked:
                rt.mtu_lock = True
            if fnhe.gw:
                rt.gw = fnhe.gw
                rt.redirected = True  # RTCF_REDIRECTED
        if rt.rt_type == RTN_BROADCAST:
            return __mkroute_output_mc(host, rt, daddr)
    rt.output = ip_output
    return rt


def __mkroute_output_mc(host: Host, rt: Rtable, daddr: int, proto: int = 0) -> Rtable:
    """``__mkroute_output`` for a broadcast or multicast: ``ip_mc_output`` sends it and loops a
    copy back to this host, which takes it (RTCF_LOCAL) for a broadcast, or a group the device
    belongs to whose filter lets the route's source in (for the flow's protocol)."""
    from tuxnet.net.ipv4.igmp import ip_check_mc
    from tuxnet.net.ipv4.ip_input import ip_local_deliver
    from tuxnet.net.ipv4.ip_output import ip_mc_output

    rt.output = ip_mc_output
    if rt.rt_type == RTN_BROADCAST or ip_check_mc(rt.dev, daddr, rt.saddr, proto):
        rt.input = ip_local_deliver
    return rt


def dst_discard(host: Host, skb: SkBuff) -> int:
    """``dst_discard``: a route that takes nothing in."""
    return -EINVAL


def ip_route_input_mc(host: Host, skb: SkBuff, daddr: int, saddr: int, dev: NetDevice) -> int:
    """``ip_route_input_rcu`` for a multicast: ours only if the device belongs to the group
    (``ip_check_mc_rcu``), from a source that may send one (``ip_mc_validate_source``: not a
    multicast or broadcast, not loopback's, 0.0.0.0 only for the link's groups and IGMP), past the
    reverse path filter; 0 or -EINVAL."""
    from tuxnet.net.ipv4.igmp import IPPROTO_IGMP, ip_check_mc
    from tuxnet.net.ipv4.ip_input import ip_local_deliver

    if not ip_check_mc(dev, daddr, saddr, skb.buf[skb.network_header + 9]):
        return -EINVAL
    if ipv4_is_multicast(saddr) or ipv4_is_lbcast(saddr):
        return -EINVAL
    if saddr >> 24 == 127 and not in_dev_orconf(host, dev, "route_localnet"):
        return -EINVAL
    if not saddr:
        if not ipv4_is_local_multicast(daddr) and skb.buf[skb.network_header + 9] != IPPROTO_IGMP:
            return -EINVAL
    elif dev.ip_ptr is not None and dev.ip_ptr.rp_filter:
        err = fib_validate_source(host, saddr, daddr, dev, dev.ip_ptr.rp_filter,
                                  fib4_rules_early_flow_dissect(skb) if host.fib_rules_require_fldissect else _NO_FLOW)
        if err:
            return err
    rt = Rtable(host.loopback_dev, RTN_MULTICAST, 0, 0, 0, host.rt_genid)
    rt.input = ip_local_deliver
    rt.iif = dev.ifindex
    skb.dst = rt
    return 0


def fib_validate_source(host: Host, saddr: int, daddr: int, dev: NetDevice, rpf: int,
                        fl: tuple[int, int, int] = (0, 0, 0)) -> int:
    """``__fib_validate_source``: the reverse path filter (RFC 3704), 0 or -errno.  The route back
    to the source must leave through ``dev`` (``rp_filter`` 1, strict), or merely exist (2, loose);
    a source that is one of our own addresses passes only with ``accept_local``.  -EXDEV when the
    filter refuses, -EINVAL for a source no unicast route reaches.  The rules see a reply's flow:
    from ``daddr`` to ``saddr``, the packet's ports (``fl``: protocol, source, destination)
    swapped."""
    proto, sport, dport = fl
    fa = fib_lookup(host, saddr, saddr=daddr, proto=proto, sport=dport, dport=sport)
    if fa is None:
        return -EXDEV
    if fa.type != RTN_UNICAST and (fa.type != RTN_LOCAL or not in_dev_orconf(host, dev, "accept_local")):
        return -EINVAL
    if fa.dev is dev or (fa.type == RTN_LOCAL and dev is host.loopback_dev):
        return 0
    if rpf == 1 or not dev.ip_ptr.ifa_list:
        return -EXDEV
    return 0


def ip_route_input_noref(host: Host, skb: SkBuff, daddr: int, saddr: int, dev: NetDevice) -> int:
    """``ip_route_input_noref``: choose the input route (deliver, forward or error); 0 or -errno.

    Only a martian source and the reverse path filter depend on the source address, so the decision
    is cached per (destination, device), as Linux caches the input route on the FIB next hop, and
    the source is checked for each packet (``fib_validate_source``): the reverse path filter when
    the device has it on, else only that it is not one of our own addresses (``accept_local``
    allows that).  A loopback source is martian off ``lo`` (loopback's packets keep their route
    and never come here), unless ``route_localnet``; so is 0.0.0.0, but to a broadcast or a
    multicast group."""
    if saddr:
        if (ipv4_is_multicast(saddr) or ipv4_is_lbcast(saddr) or ipv4_is_zeronet(saddr) or (
                saddr >> 24 == 127 and not in_dev_orconf(host, dev, "route_localnet"))):
            return -EINVAL  # martian source
    elif daddr and not ipv4_is_lbcast(daddr) and not ipv4_is_multicast(daddr):
        return -EINVAL  # ip_route_input_slow: a zero source only to a broadcast (or a group)
    tos = 0
    fl = _NO_FLOW
    if host.fib_has_custom_rules:  # (once rules may choose by source, mark or DSCP, so does the cache)
        tos = skb.buf[skb.network_header + 1] & INET_DSCP_MASK
        key: tuple[int, ...] = (daddr, dev.ifindex, saddr, skb.mark, tos)
        if host.fib_rules_require_fldissect:
            fl = fib4_rules_early_flow_dissect(skb)
            key += fl
    else:
        key = (daddr, dev.ifindex)
    rt = host.rt_input_cache.get(key)
    if rt is None:
        if ipv4_is_multicast(daddr):  # (never cached: the device's groups decide)
            return ip_route_input_mc(host, skb, daddr, saddr, dev)
        rt = _route_input_slow(host, daddr, saddr, dev, skb.mark, tos, fl)
        if isinstance(rt, int):
            return rt
        if daddr:
            host.rt_input_cache[key] = rt
    if saddr and rt.rt_type != RTN_UNREACHABLE:
        in_dev = dev.ip_ptr
        if in_dev is not None and in_dev.rp_filter:
            err = fib_validate_source(host, saddr, daddr, dev, in_dev.rp_filter, fl)
            if err:
                return err
        elif saddr in host.inet_addr_lst and not in_dev_orconf(host, dev, "accept_local"):
            return -EINVAL  # inet_lookup_ifaddr_rcu: a martian source, one of ours
    skb.dst = rt
    return 0


_NO_FLOW = (0, 0, 0)
# proto_ports_offset: where in the transport header the protocols with ports keep them
_PORTS_OFFSET = {6: 0, 17: 0, 33: 0, 50: 0, 132: 0, 136: 0, 51: 4}


def fib4_rules_early_flow_dissect(skb: SkBuff) -> tuple[int, int, int]:
    """``fib4_rules_early_flow_dissect``: a packet's transport protocol and ports, as the rules
    see them (``__skb_flow_dissect``); no ports for a fragment, or for a protocol without them."""
    buf, nh = skb.buf, skb.network_header
    proto = buf[nh + 9]
    offset = _PORTS_OFFSET.get(proto)
    if offset is None or int.from_bytes(buf[nh + 6:nh + 8], "big") & 0x3FFF:  # (MF or an offset)
        return (proto, 0, 0)
    at = nh + (buf[nh] & 0x0F) * 4 + offset
    if at + 4 > skb.tail:
        return (proto, 0, 0)
    return (proto, int.from_bytes(buf[at:at + 2], "big"), int.from_bytes(buf[at + 2:at + 4], "big"))


def _route_input_slow(host: Host, daddr: int, saddr: int, dev: NetDevice, mark: int,
                      tos: int, fl: tuple[int, int, int]) -> Rtable | int:
    from tuxnet.net.ipv4.ip_forward import ip_forward
    from tuxnet.net.ipv4.ip_input import ip_error, ip_local_deliver
    from tuxnet.net.ipv4.ip_output import ip_output

    if ipv4_is_lbcast(daddr) or (daddr == 0 and saddr == 0):
        rt = Rtable(host.loopback_dev, RTN_BROADCAST, 0, 0, 0, host.rt_genid)
        rt.input = ip_local_deliver
        rt.iif = dev.ifindex
        return rt
    if ipv4_is_zeronet(daddr) or (daddr >> 24 == 127 and not in_dev_orconf(host, dev, "route_localnet")):
        return -EINVAL  # martian destination
    fa = fib_lookup(host, daddr, RT_SCOPE_UNIVERSE, saddr, dev.ifindex, 0, mark, tos, *fl)
    if fa is not None and fa.type in (RTN_LOCAL, RTN_BROADCAST):
        rt = Rtable(host.loopback_dev, fa.type, 0, 0, 0, host.rt_genid)
        rt.input = ip_local_deliver
    elif not in_dev_conf_get(host, dev, "forwarding"):  # IN_DEV_FORWARD
        rt = Rtable(host.loopback_dev, RTN_UNREACHABLE, 0, 0, 0, host.rt_genid)
        rt.input = ip_error
        rt.error = -EHOSTUNREACH
    elif fa is None or fa.type != RTN_UNICAST:
        rt = Rtable(host.loopback_dev, RTN_UNREACHABLE, 0, 0, 0, host.rt_genid)
        rt.input = ip_error
        rt.error = -ENETUNREACH if fa is None else _ERRORS.get(fa.type, -EHOSTUNREACH)
    else:
        rt = Rtable(fa.dev, RTN_UNICAST, fa.gw, 0, fa.mtu, host.rt_genid)
        rt_set_nexthop(rt, fa)
        rt.input = ip_forward
        rt.output = ip_output
    rt.iif = dev.ifindex
    return rt


class FibNhException:
    """``struct fib_nh_exception``: what was learned about one destination, until ``expires``: a
    path MTU (``mtu``, 0 for none; ``locked`` when it was reported below ``min_pmtu``, and packets
    then go without DF) and a better first hop an ICMP redirect named (``gw``, 0 for none)."""

    __slots__ = ("mtu", "locked", "gw", "expires")

    def __init__(self) -> None:
        self.mtu = 0
        self.locked = False
        self.gw = 0
        self.expires = 0


def update_or_create_fnhe(host: Host, daddr: int, gw: int, pmtu: int, lock: bool, expires: int) -> None:
    """``update_or_create_fnhe``: learn a gateway or a path MTU toward ``daddr`` (keeping what
    was learned of the other) until ``expires``; routes made before are stale."""
    fnhe = find_exception(host, daddr)
    if fnhe is None:
        fnhe = host.fnhe_cache[daddr] = FibNhException()
    if gw:
        fnhe.gw = gw
    if pmtu:
        fnhe.mtu = pmtu
        fnhe.locked = lock
    fnhe.expires = expires
    fib_flush_cache(host)


def find_exception(host: Host, daddr: int) -> FibNhException | None:
    """``find_exception``: what was learned toward ``daddr``, or None once it has expired."""
    fnhe = host.fnhe_cache.get(daddr)
    if fnhe is not None and fnhe.expires <= host.world.now:
        del host.fnhe_cache[daddr]
        return None
    return fnhe


def ip_rt_update_pmtu(host: Host, daddr: int, mtu: int) -> None:
    """``__ip_rt_update_pmtu`` (RFC 1191): remember a smaller path MTU toward ``daddr`` for
    ``route.mtu_expires`` seconds.  A locked MTU (the route's ``mtu lock``, or one learned below
    ``route.min_pmtu``) does not change.  A report below ``min_pmtu`` is raised to it and locked:
    the packets go without DF from then on, so that routers on the path fragment them.  The same
    MTU reported again refreshes the entry only once half its lifetime has gone."""
    fa = fib_lookup(host, daddr)
    if fa is not None and fa.mtu_lock:
        return
    now = host.world.now
    fnhe = find_exception(host, daddr)
    if fnhe is not None and fnhe.locked:
        return
    old_mtu = _pmtu(host, daddr, (fa.mtu or fa.dev.mtu) if fa is not None and fa.dev is not None else 0)
    if old_mtu and old_mtu < mtu:
        return
    sysctl = host.sysctl
    min_pmtu = sysctl["net.ipv4.route.min_pmtu"]
    lock = mtu < min_pmtu
    if lock:
        mtu = min(old_mtu, min_pmtu) if old_mtu else min_pmtu
    expires = sysctl["net.ipv4.route.mtu_expires"] * NSEC_PER_SEC
    if fnhe is not None and fnhe.mtu == mtu and not lock and now < fnhe.expires - expires // 2:
        return
    update_or_create_fnhe(host, daddr, 0, mtu, lock, now + expires)


IP_RT_REDIRECT_NUMBER = 9  # ip_rt_redirect_number: redirects unheeded before a router stops
IP_RT_REDIRECT_LOAD = 20 * NSEC_PER_MSEC  # ip_rt_redirect_load, HZ/50: the first gap, doubling
IP_RT_REDIRECT_SILENCE = IP_RT_REDIRECT_LOAD << (IP_RT_REDIRECT_NUMBER + 1)  # quiet this long: start over
IP_RT_GC_TIMEOUT = 300 * NSEC_PER_SEC  # ip_rt_gc_timeout: how long a redirect is kept


def rt_redirect_due(host: Host, dev: NetDevice, saddr: int, gw: int) -> bool:
    """``__mkroute_input``'s IPSKB_DOREDIRECT, for a packet going back out of ``dev``, the device
    it came in by: the route back to its sender is directly connected through ``dev``
    (``fib_validate_source``'s 1), ``send_redirects`` is on, and the sender shares the medium
    with the next hop (``shared_media``, or both on one of the device's subnets)."""
    back = fib_lookup(host, saddr)
    if back is None or back.dev is not dev or back.gw or not in_dev_orconf(host, dev, "send_redirects"):
        return False
    return in_dev_orconf(host, dev, "shared_media") or inet_addr_onlink(dev, saddr, gw)


def ip_rt_send_redirect(host: Host, skb: SkBuff, saddr: int, daddr: int) -> None:
    """``ip_rt_send_redirect`` (RFC 1812 section 5.2.7.2): a router forwarding a packet back out
    of the device it came in by, when a redirect is due (``rt_redirect_due``), tells the sender
    the better first hop with ICMP redirect (host).  Per sender, the redirects are spaced 20 ms,
    40 ms, 80 ms ... apart; after 9 unheeded it stops, until 20 s pass with none due."""
    from tuxnet.net.ipv4.icmp import ICMP_REDIR_HOST, ICMP_REDIRECT, icmp_send

    rt = skb.dst
    if not rt_redirect_due(host, rt.dev, saddr, rt.gw):
        return
    now = host.world.now
    peer = host.redirect_peers.get(saddr)
    if peer is None:
        peer = host.redirect_peers[saddr] = [0, now]  # n_redirects, rate_last
    if now > peer[1] + IP_RT_REDIRECT_SILENCE:
        peer[0] = 0
    if peer[0] >= IP_RT_REDIRECT_NUMBER:
        peer[1] = now
        return
    if peer[0] == 0 or now > peer[1] + (IP_RT_REDIRECT_LOAD << peer[0]):
        icmp_send(host, skb, ICMP_REDIRECT, ICMP_REDIR_HOST, rt.gw or daddr)
        peer[1] = now
        peer[0] += 1


def ip_do_redirect(host: Host, skb: SkBuff, inner: int) -> None:
    """``ipv4_sk_redirect`` → ``__ip_do_redirect``: an ICMP redirect about a packet we sent to
    the inner header's destination.  Heeded only when it comes from the route's own gateway and
    names another unicast address on the device's subnet, with ``accept_redirects`` (both
    ``all`` and the device's on a router, either on a host) and, where the medium is not shared,
    ``secure_redirects`` allowing only a default gateway.  The new gateway must already be a known
    neighbour: if not, ARP asks for it and this redirect is dropped (the next one will do).  Then
    it is the first hop toward that destination for 300 s (``cache <redirected>``)."""
    from tuxnet.net.core.neighbour import NUD_VALID, __ipv4_neigh_lookup_noref, __neigh_create, neigh_event_send
    from tuxnet.net.ipv4.devinet import in_dev_orconf, in_dev_rx_redirects, inet_addr_onlink, inet_addr_type

    buf = skb.buf
    d = skb.data
    if buf[d + 1] & 7 > 3:  # ICMP_REDIR_NET, _HOST, _NETTOS, _HOSTTOS
        return
    new_gw = int.from_bytes(buf[d + 4:d + 8], "big")
    old_gw = int.from_bytes(buf[skb.network_header + 12:skb.network_header + 16], "big")
    saddr = int.from_bytes(buf[inner + 12:inner + 16], "big")
    daddr = int.from_bytes(buf[inner + 16:inner + 20], "big")
    rt = ip_route_output_key(host, daddr, saddr)
    dev = skb.dev
    if isinstance(rt, int) or rt.gw != old_gw or dev is None or dev.ip_ptr is None:
        return
    if new_gw == old_gw or not in_dev_rx_redirects(host, dev) or ipv4_is_multicast(new_gw) or \
            ipv4_is_lbcast(new_gw) or ipv4_is_zeronet(new_gw):
        return
    if not in_dev_orconf(host, dev, "shared_media"):
        if not inet_addr_onlink(dev, new_gw, old_gw):
            return
        if in_dev_orconf(host, dev, "secure_redirects") and not any(
                fa.gw == new_gw and fa.dev is dev for fa in host.fib_main.entries if fa.plen == 0):
            return  # ip_fib_check_default: only to a default gateway
    elif inet_addr_type(host, new_gw) != RTN_UNICAST:
        return
    n = __ipv4_neigh_lookup_noref(host, rt.dev, new_gw) or __neigh_create(host.arp_tbl, new_gw, rt.dev)
    if isinstance(n, int):
        return
    if not n.nud_state & NUD_VALID:
        neigh_event_send(n, None)
        return
    update_or_create_fnhe(host, daddr, new_gw, 0, False, host.world.now + IP_RT_GC_TIMEOUT)


def _pmtu(host: Host, daddr: int, mtu: int) -> int:
    fnhe = find_exception(host, daddr)
    if fnhe is None or not fnhe.mtu:
        return mtu
    return min(fnhe.mtu, mtu) if mtu else fnhe.mtu


def dst_input(host: Host, skb: SkBuff) -> int:
    """``dst_input``: run the input route's handler (``ip_local_deliver`` or ``ip_forward``)."""
    return skb.dst.input(host, skb)


def dst_output(host: Host, sk: Any, skb: SkBuff) -> int:
    """``dst_output``: run the output route's handler (``ip_output``)."""
    return skb.dst.output(host, sk, skb)
