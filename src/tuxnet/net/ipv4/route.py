"""IPv4 routing decisions (net/ipv4/route.c): ``rtable`` entries for output and input.

A route lookup result is cached per (destination, source, device) until the FIB changes, as the
old routing cache did; sockets keep their own ``sk_dst_cache`` on top of that.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from tuxnet.kernel.errno import EACCES, EHOSTUNREACH, EINVAL, ENETUNREACH
from tuxnet.net.core.utils import ipv4_is_lbcast, ipv4_is_multicast, ipv4_is_zeronet
from tuxnet.net.ipv4.devinet import inet_select_addr
from tuxnet.net.ipv4.fib import (
    RT_SCOPE_LINK,
    RTN_BLACKHOLE,
    RTN_BROADCAST,
    RTN_LOCAL,
    RTN_PROHIBIT,
    RTN_UNICAST,
    RTN_UNREACHABLE,
    FibAlias,
    fib_lookup,
)

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
                 "iif", "mtu_lock", "advmss", "initcwnd", "initrwnd")

    def __init__(self, dev: NetDevice, rt_type: int, gw: int, saddr: int, mtu: int, genid: int) -> None:
        self.dev = dev
        self.rt_type = rt_type
        self.gw = gw
        self.saddr = saddr
        self.mtu = mtu
        self.genid = genid
        self.input: Callable[[Host, SkBuff], int] | None = None
        self.output: Callable[..., int] | None = None
        self.error = 0
        self.iif = 0
        self.mtu_lock = False
        self.advmss = 0
        self.initcwnd = 0
        self.initrwnd = 0

    def nexthop(self, daddr: int) -> int:
        """``rt_nexthop``: the gateway, or the destination itself on a connected route."""
        return self.gw or daddr


def dst_mtu(rt: Rtable) -> int:
    """``dst_mtu``: the route's MTU (a route ``mtu`` attribute or a learned path MTU wins)."""
    return rt.mtu or rt.dev.mtu


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


_ERRORS = {RTN_UNREACHABLE: -EHOSTUNREACH, RTN_BLACKHOLE: -EINVAL, RTN_PROHIBIT: -EACCES}


def ip_route_output_key(host: Host, daddr: int, saddr: int = 0, oif: int = 0) -> Rtable | int:
    """``ip_route_output_key`` → ``ip_route_output_key_hash_rcu``: a route or ``-errno``."""
    key = (daddr, saddr, oif)
    rt = host.rt_output_cache.get(key)
    if rt is not None:
        return rt
    rt = _route_output_slow(host, daddr, saddr, oif)
    if not isinstance(rt, int):
        host.rt_output_cache[key] = rt
    return rt


def _route_output_slow(host: Host, daddr: int, saddr: int, oif: int) -> Rtable | int:
    from tuxnet.net.ipv4.ip_input import ip_local_deliver
    from tuxnet.net.ipv4.ip_output import ip_output

    lo = host.loopback_dev
    dev_out = host.dev_by_index.get(oif) if oif else None
    if oif and dev_out is None:
        return -ENETUNREACH
    if not daddr:
        # Connecting to 0.0.0.0 means this host (ip_route_output_key_hash_rcu).
        daddr = saddr or INADDR_LOOPBACK
        rt = Rtable(lo, RTN_LOCAL, 0, saddr or INADDR_LOOPBACK, 0, host.rt_genid)
        rt.output = ip_output
        rt.input = ip_local_deliver
        return rt
    if (ipv4_is_lbcast(daddr) or ipv4_is_multicast(daddr)) and dev_out is not None:
        src = saddr or inet_select_addr(host, dev_out, 0, RT_SCOPE_LINK)
        rt = Rtable(dev_out, RTN_BROADCAST, 0, src, 0, host.rt_genid)
        rt.output = ip_output
        return rt
    fa = fib_lookup(host, daddr)
    if fa is None or (dev_out is not None and fa.type == RTN_UNICAST and fa.dev is not dev_out
                      and not fa.gw):
        if dev_out is not None and dev_out.flags & 1:
            # SO_BINDTODEVICE / IP_PKTINFO with no route: assume the destination is on-link.
            src = saddr or inet_select_addr(host, dev_out, daddr, RT_SCOPE_LINK)
            rt = Rtable(dev_out, RTN_UNICAST, 0, src, 0, host.rt_genid)
            rt.output = ip_output
            return rt
        return -ENETUNREACH
    if fa.type in _ERRORS:
        return _ERRORS[fa.type]
    if fa.type == RTN_LOCAL:
        # rt_dst_alloc: a local route delivers what loops back through it (RTCF_LOCAL).
        rt = Rtable(lo, RTN_LOCAL, 0, saddr or fa.prefsrc or daddr, 0, host.rt_genid)
        rt.input = ip_local_deliver
    else:
        dev = fa.dev
        src = saddr or fa.prefsrc or inet_select_addr(host, dev, fa.gw or daddr, fa.scope or RT_SCOPE_LINK)
        locked = fa.mtu_lock and fa.mtu
        rt = Rtable(dev, fa.type, fa.gw, src, fa.mtu if locked else _pmtu(host, daddr, fa.mtu or dev.mtu),
                    host.rt_genid)
        rt_set_nexthop(rt, fa)
    rt.output = ip_output
    return rt


def ip_route_input_noref(host: Host, skb: SkBuff, daddr: int, saddr: int, dev: NetDevice) -> int:
    """``ip_route_input_noref``: choose the input route (deliver, forward or error); 0 or -errno.

    Only a martian source depends on the source address, so the decision is cached per
    (destination, device), as Linux caches the input route on the FIB next hop."""
    if saddr and (ipv4_is_multicast(saddr) or ipv4_is_lbcast(saddr) or ipv4_is_zeronet(saddr)):
        return -EINVAL  # martian source
    key = (daddr, dev.ifindex)
    rt = host.rt_input_cache.get(key)
    if rt is None:
        rt = _route_input_slow(host, daddr, saddr, dev)
        if isinstance(rt, int):
            return rt
        if daddr:
            host.rt_input_cache[key] = rt
    skb.dst = rt
    return 0


def _route_input_slow(host: Host, daddr: int, saddr: int, dev: NetDevice) -> Rtable | int:
    from tuxnet.net.ipv4.ip_forward import ip_forward
    from tuxnet.net.ipv4.ip_input import ip_error, ip_local_deliver
    from tuxnet.net.ipv4.ip_output import ip_output

    if ipv4_is_lbcast(daddr) or (daddr == 0 and saddr == 0):
        rt = Rtable(host.loopback_dev, RTN_BROADCAST, 0, 0, 0, host.rt_genid)
        rt.input = ip_local_deliver
        rt.iif = dev.ifindex
        return rt
    if ipv4_is_zeronet(daddr):
        return -EINVAL
    fa = fib_lookup(host, daddr)
    if fa is not None and fa.type in (RTN_LOCAL, RTN_BROADCAST):
        rt = Rtable(host.loopback_dev, fa.type, 0, 0, 0, host.rt_genid)
        rt.input = ip_local_deliver
    elif not host.sysctl["net.ipv4.ip_forward"]:
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


IP_RT_MTU_EXPIRES = 10 * 60 * 1_000_000_000
IP_RT_MIN_PMTU = 552


def ip_rt_update_pmtu(host: Host, daddr: int, mtu: int) -> None:
    """``__ip_rt_update_pmtu``: remember a smaller path MTU toward ``daddr`` for 10 minutes
    (RFC 1191), no lower than ``min_pmtu``; a route whose MTU is locked keeps it."""
    fa = fib_lookup(host, daddr)
    if fa is not None and fa.mtu_lock:
        return
    mtu = max(mtu, IP_RT_MIN_PMTU)
    old = host.pmtu_cache.get(daddr)
    if old is not None and old[0] <= mtu and old[1] > host.world.now:
        return
    host.pmtu_cache[daddr] = (mtu, host.world.now + IP_RT_MTU_EXPIRES)
    host.rt_genid += 1
    host.rt_output_cache.clear()


def ip_rt_pmtu_exception(host: Host, daddr: int) -> tuple[int, int] | None:
    """The path MTU learned toward ``daddr`` and when it expires (the route's ``fib_nh_exception``),
    or None."""
    learned = host.pmtu_cache.get(daddr)
    if learned is not None and learned[1] <= host.world.now:
        del host.pmtu_cache[daddr]
        return None
    return learned


def _pmtu(host: Host, daddr: int, mtu: int) -> int:
    learned = ip_rt_pmtu_exception(host, daddr)
    if learned is None:
        return mtu
    return min(learned[0], mtu) if mtu else learned[0]


def dst_input(host: Host, skb: SkBuff) -> int:
    """``dst_input``: run the input route's handler (``ip_local_deliver`` or ``ip_forward``)."""
    return skb.dst.input(host, skb)


def dst_output(host: Host, sk: Any, skb: SkBuff) -> int:
    """``dst_output``: run the output route's handler (``ip_output``)."""
    return skb.dst.output(host, sk, skb)
