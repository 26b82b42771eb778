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
from tuxnet.world import NSEC_PER_SEC

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
        fnhe = None if locked else ip_rt_pmtu_exception(host, daddr)
        if fnhe is not None and fnhe.locked:
            rt.mtu_lock = True  # rt_bind_exception: rt_mtu_locked
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


class FibNhException:
    """``struct fib_nh_exception``: a path MTU learned toward one destination, until ``expires``;
    ``locked`` when the MTU reported was below ``min_pmtu``, and packets then go without DF."""

    __slots__ = ("mtu", "expires", "locked")

    def __init__(self, mtu: int, expires: int, locked: bool) -> None:
        self.mtu = mtu
        self.expires = expires
        self.locked = locked


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
    fnhe = ip_rt_pmtu_exception(host, daddr)
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
    host.pmtu_cache[daddr] = FibNhException(mtu, now + expires, lock)
    host.rt_genid += 1
    host.rt_output_cache.clear()


def ip_rt_pmtu_exception(host: Host, daddr: int) -> FibNhException | None:
    """The path MTU learned toward ``daddr`` (the route's ``fib_nh_exception``), or None once it
    has expired."""
    fnhe = host.pmtu_cache.get(daddr)
    if fnhe is not None and fnhe.expires <= host.world.now:
        del host.pmtu_cache[daddr]
        return None
    return fnhe


def _pmtu(host: Host, daddr: int, mtu: int) -> int:
    fnhe = ip_rt_pmtu_exception(host, daddr)
    if fnhe is None:
        return mtu
    return min(fnhe.mtu, mtu) if mtu else fnhe.mtu


def dst_input(host: Host, skb: SkBuff) -> int:
    """``dst_input``: run the input route's handler (``ip_local_deliver`` or ``ip_forward``)."""
    return skb.dst.input(host, skb)


def dst_output(host: Host, sk: Any, skb: SkBuff) -> int:
    """``dst_output``: run the output route's handler (``ip_output``)."""
    return skb.dst.output(host, sk, skb)
