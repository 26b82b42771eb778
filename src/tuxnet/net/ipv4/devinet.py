"""IPv4 addresses on devices (net/ipv4/devinet.c) and the routes they imply (fib_frontend.c)."""

from __future__ import annotations

import contextlib
from typing import TYPE_CHECKING

from tuxnet.net.core.dev import IFF_LOOPBACK, IFF_UP
from tuxnet.net.core.utils import in_ntoa, inet_make_mask, parse_cidr
from tuxnet.net.ipv4.fib import (
    RT_SCOPE_HOST,
    RT_SCOPE_LINK,
    RT_SCOPE_UNIVERSE,
    RT_TABLE_LOCAL,
    RTN_BROADCAST,
    RTN_LOCAL,
    RTN_UNICAST,
    FibAlias,
    fib_add,
    fib_flush_cache,
)

if TYPE_CHECKING:
    from tuxnet.kernel.host import Host
    from tuxnet.net.core.dev import NetDevice


class InIfaddr:
    """``struct in_ifaddr``: one address with its prefix."""

    __slots__ = ("local", "prefixlen", "mask", "broadcast", "scope", "label", "dev")

    def __init__(self, dev: NetDevice, local: int, prefixlen: int) -> None:
        self.dev = dev
        self.local = local
        self.prefixlen = prefixlen
        self.mask = inet_make_mask(prefixlen)
        self.broadcast = (local | ~self.mask) & 0xFFFFFFFF if prefixlen < 31 else 0
        self.scope = RT_SCOPE_HOST if dev.flags & IFF_LOOPBACK else RT_SCOPE_UNIVERSE
        self.label = dev.name

    def format(self) -> str:
        """The ``inet`` line of ``ip addr show``."""
        s = f"inet {in_ntoa(self.local)}/{self.prefixlen}"
        if self.broadcast:
            s += f" brd {in_ntoa(self.broadcast)}"
        s += " scope " + {RT_SCOPE_HOST: "host", RT_SCOPE_LINK: "link"}.get(self.scope, "global")
        return s + f" {self.label}"


class InDevice:
    """``struct in_device``: a device's IPv4 state."""

    __slots__ = ("dev", "ifa_list")

    def __init__(self, dev: NetDevice) -> None:
        self.dev = dev
        self.ifa_list: list[InIfaddr] = []


def in_dev_get(dev: NetDevice) -> InDevice:
    if dev.ip_ptr is None:
        dev.ip_ptr = InDevice(dev)
    return dev.ip_ptr


def inet_addr_add(host: Host, dev: NetDevice, cidr: str) -> InIfaddr:
    """``inet_rtm_newaddr`` → ``__inet_insert_ifa``; routes follow if the device is up."""
    local, plen = parse_cidr(cidr)
    in_dev = in_dev_get(dev)
    for ifa in in_dev.ifa_list:
        if ifa.local == local:
            raise FileExistsError("RTNETLINK answers: File exists")
    ifa = InIfaddr(dev, local, plen)
    in_dev.ifa_list.append(ifa)
    if dev.flags & IFF_UP:
        fib_add_ifaddr(host, ifa)
    return ifa


def fib_add_ifaddr(host: Host, ifa: InIfaddr) -> None:
    """``fib_add_ifaddr``: the local, broadcast and connected-prefix routes of an address."""
    dev = ifa.dev
    prefix = ifa.local & ifa.mask
    fib_add(host, FibAlias(ifa.local, 32, RTN_LOCAL, dev, scope=RT_SCOPE_HOST, prefsrc=ifa.local,
                           protocol="kernel", table=RT_TABLE_LOCAL))
    if dev.flags & IFF_LOOPBACK:
        if ifa.prefixlen < 32:
            fib_add(host, FibAlias(prefix, ifa.prefixlen, RTN_LOCAL, dev, scope=RT_SCOPE_HOST,
                                   prefsrc=ifa.local, protocol="kernel", table=RT_TABLE_LOCAL))
        if ifa.prefixlen < 31:  # the network broadcast address (127.255.255.255 for 127.0.0.1/8)
            with contextlib.suppress(FileExistsError):
                fib_add(host, FibAlias(prefix | ~ifa.mask & 0xFFFFFFFF, 32, RTN_BROADCAST, dev,
                                       scope=RT_SCOPE_LINK, prefsrc=ifa.local, protocol="kernel",
                                       table=RT_TABLE_LOCAL))
        return
    # A second address in the same subnet (a secondary) finds these routes made by the first one;
    # fib_magic appends (NLM_F_APPEND), so they stay as they are.
    with contextlib.suppress(FileExistsError):
        if ifa.broadcast:
            fib_add(host, FibAlias(ifa.broadcast, 32, RTN_BROADCAST, dev, scope=RT_SCOPE_LINK,
                                   prefsrc=ifa.local, protocol="kernel", table=RT_TABLE_LOCAL))
    with contextlib.suppress(FileExistsError):
        if ifa.prefixlen < 32:
            fib_add(host, FibAlias(prefix, ifa.prefixlen, RTN_UNICAST, dev, scope=RT_SCOPE_LINK,
                                   prefsrc=ifa.local, protocol="kernel"))


def inetdev_event_up(host: Host, dev: NetDevice) -> None:
    """``inetdev_event`` for NETDEV_UP: install the routes of the device's addresses, then
    announce them if ``arp_notify`` says so."""
    from tuxnet.net.ipv4.arp import arp_netdev_up

    if dev.ip_ptr is not None:
        for ifa in dev.ip_ptr.ifa_list:
            fib_add_ifaddr(host, ifa)
        arp_netdev_up(host, dev)


def inetdev_event_down(host: Host, dev: NetDevice) -> None:
    """NETDEV_DOWN: ``fib_disable_ip`` removes every route through the device, and ``arp_ifdown``
    its neighbour entries."""
    from tuxnet.net.ipv4.arp import arp_ifdown

    host.fib_local.remove_dev(dev)
    host.fib_main.remove_dev(dev)
    fib_flush_cache(host)
    arp_ifdown(host, dev)


def inet_select_addr(host: Host, dev: NetDevice | None, dst: int, scope: int) -> int:
    """``inet_select_addr``: a source address on ``dev`` (same subnet first), else any global one."""
    if dev is not None and dev.ip_ptr is not None:
        best = 0
        for ifa in dev.ip_ptr.ifa_list:
            if ifa.scope > scope:
                continue
            if dst and (dst & ifa.mask) == (ifa.local & ifa.mask):
                return ifa.local
            if not best:
                best = ifa.local
        if best:
            return best
    for d in host.devices.values():
        if d.ip_ptr is None or d is dev:
            continue
        for ifa in d.ip_ptr.ifa_list:
            if ifa.scope <= scope:
                return ifa.local
    return 0


def inet_addr_type(host: Host, addr: int) -> int:
    """``inet_addr_type``: RTN_LOCAL for our addresses, RTN_BROADCAST, else RTN_UNICAST."""
    fa = host.fib_local.lookup(addr)
    if fa is not None:
        return fa.type
    return RTN_UNICAST

