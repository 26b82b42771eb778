"""IPv4 addresses on devices (net/ipv4/devinet.c) and the routes they imply (fib_frontend.c)."""

from __future__ import annotations

import contextlib
from typing import TYPE_CHECKING, Any

from tuxnet.kernel.errno import EADDRNOTAVAIL, EEXIST, EFAULT, EINVAL, ENODEV
from tuxnet.kernel.sysctl import DEVCONF
from tuxnet.net.core.dev import IFF_BROADCAST, IFF_LOOPBACK, IFF_POINTOPOINT, IFF_UP, dev_change_flags
from tuxnet.net.core.dev_ioctl import (
    IFREQ_SIZE,
    SIOCGIFADDR,
    SIOCGIFBRDADDR,
    SIOCGIFDSTADDR,
    SIOCGIFNETMASK,
    SIOCSIFADDR,
    SIOCSIFBRDADDR,
    SIOCSIFDSTADDR,
    SIOCSIFFLAGS,
    SIOCSIFNETMASK,
    ifreq,
    ifreq_flags,
    ifreq_name,
    ifreq_sockaddr_in,
    sockaddr_in,
)
from tuxnet.net.core.neighbour import NEIGH_DEV_VARS, NeighParms, neigh_sysctl_register
from tuxnet.net.core.utils import (
    in_ntoa,
    inet_make_mask,
    ipv4_is_lbcast,
    ipv4_is_multicast,
    ipv4_is_zeronet,
    parse_cidr,
)
from tuxnet.net.ipv4.fib import (
    RT_SCOPE_HOST,
    RT_SCOPE_LINK,
    RT_SCOPE_UNIVERSE,
    RT_TABLE_LOCAL,
    RT_TABLE_MAIN,
    RTN_BROADCAST,
    RTN_LOCAL,
    RTN_MULTICAST,
    RTN_UNICAST,
    RTPROT_KERNEL,
    SCOPE_NAMES,
    FibAlias,
    fib_add,
    fib_flush_cache,
)
from tuxnet.net.socket import AF_INET

if TYPE_CHECKING:
    from tuxnet.kernel.host import Host
    from tuxnet.net.core.dev import NetDevice


IFA_F_SECONDARY = 0x01
IFA_F_NOPREFIXROUTE = 0x200  # include/uapi/linux/if_addr.h: no route for the address's prefix


class InIfaddr:
    """``struct in_ifaddr``: one address with its prefix.  ``broadcast`` None gives what a
    configured interface has (ifupdown's and DHCP's ``brd +``: the subnet's broadcast address),
    except on a loopback device, which has none; ``ip addr add`` passes what iproute2 asks for."""

    __slots__ = ("local", "prefixlen", "mask", "broadcast", "scope", "flags", "label", "dev")

    def __init__(self, dev: NetDevice, local: int, prefixlen: int, broadcast: int | None = None) -> None:
        self.dev = dev
        self.local = local
        self.prefixlen = prefixlen
        self.mask = inet_make_mask(prefixlen)
        if broadcast is None:
            configured = prefixlen < 31 and not dev.flags & IFF_LOOPBACK
            broadcast = (local | ~self.mask) & 0xFFFFFFFF if configured else 0
        self.broadcast = broadcast
        self.scope = RT_SCOPE_HOST if dev.flags & IFF_LOOPBACK else RT_SCOPE_UNIVERSE
        self.flags = 0
        self.label = dev.name

    def format(self) -> str:
        """The ``inet`` line of ``ip addr show``."""
        s = f"inet {in_ntoa(self.local)}/{self.prefixlen}"
        if self.broadcast:
            s += f" brd {in_ntoa(self.broadcast)}"
        s += " scope " + SCOPE_NAMES.get(self.scope, str(self.scope))
        if self.flags & IFA_F_SECONDARY:
            s += " secondary"
        if self.flags & IFA_F_NOPREFIXROUTE:
            s += " noprefixroute"
        return s + f" {self.label}"

    def json(self) -> dict[str, object]:
        """``ip -json addr show``'s object for the address (``print_addrinfo``): ``format``'s
        words under iproute2's keys, and its lifetimes (INFINITY_LIFE_TIME)."""
        obj: dict[str, object] = {"family": "inet", "local": in_ntoa(self.local), "prefixlen": self.prefixlen}
        if self.broadcast:
            obj["broadcast"] = in_ntoa(self.broadcast)
        obj["scope"] = SCOPE_NAMES.get(self.scope, str(self.scope))
        if self.flags & IFA_F_SECONDARY:
            obj["secondary"] = True
        if self.flags & IFA_F_NOPREFIXROUTE:
            obj["noprefixroute"] = True
        obj.update(label=self.label, valid_life_time=0xFFFFFFFF, preferred_life_time=0xFFFFFFFF)
        return obj


class InDevice:
    """``struct in_device``: a device's IPv4 state.  Its settings (Linux's ``cnf``) are the sysctl table's
    net.ipv4.conf.DEV.* entries; ``cnf_state`` names those written since the device came (the
    others follow ``default``), and ``rp_filter`` keeps the effective reverse path filter, read for
    every packet received."""

    __slots__ = ("dev", "ifa_list", "cnf_state", "rp_filter", "arp_parms", "igmp")

    def __init__(self, dev: NetDevice) -> None:
        self.dev = dev
        self.ifa_list: list[InIfaddr] = []
        self.cnf_state: set[str] = set()
        self.rp_filter = 0
        self.arp_parms: NeighParms | None = None  # ARP's parameters for the device
        self.igmp: Any = None  # the multicast groups and IGMP's state (net/ipv4/igmp.py)


def in_dev_get(dev: NetDevice) -> InDevice:
    if dev.ip_ptr is None:
        dev.ip_ptr = InDevice(dev)
    return dev.ip_ptr


# -- the device's settings (net.ipv4.conf.*) -----------------------------------------------------

def in_dev_conf_get(host: Host, dev: NetDevice, name: str) -> int:
    """``IN_DEV_CONF_GET``: the device's own value."""
    return host.sysctl[f"net.ipv4.conf.{dev.name}.{name}"]


def in_dev_orconf(host: Host, dev: NetDevice, name: str) -> bool:
    """``IN_DEV_ORCONF``: on when ``all`` or the device says so."""
    return bool(host.sysctl[f"net.ipv4.conf.all.{name}"] or in_dev_conf_get(host, dev, name))


def in_dev_andconf(host: Host, dev: NetDevice, name: str) -> bool:
    """``IN_DEV_ANDCONF``: on when both ``all`` and the device say so."""
    return bool(host.sysctl[f"net.ipv4.conf.all.{name}"] and in_dev_conf_get(host, dev, name))


def in_dev_maxconf(host: Host, dev: NetDevice, name: str) -> int:
    """``IN_DEV_MAXCONF``: the larger of ``all``'s and the device's."""
    return max(host.sysctl[f"net.ipv4.conf.all.{name}"], in_dev_conf_get(host, dev, name))


def in_dev_rx_redirects(host: Host, dev: NetDevice) -> bool:
    """``IN_DEV_RX_REDIRECTS``: a forwarding device needs both ``all`` and its own
    accept_redirects, a host either."""
    if in_dev_conf_get(host, dev, "forwarding"):
        return in_dev_andconf(host, dev, "accept_redirects")
    return in_dev_orconf(host, dev, "accept_redirects")


def devinet_sysctl_register(host: Host, dev: NetDevice) -> None:
    """``inetdev_init`` → ``devinet_sysctl_register``: the device's net.ipv4.conf.DEV.* entries,
    copied from ``default``."""
    host.sysctl.register_copy(f"net.ipv4.conf.{dev.name}.", "net.ipv4.conf.default.", DEVCONF)
    in_dev = in_dev_get(dev)
    in_dev.rp_filter = in_dev_maxconf(host, dev, "rp_filter")
    in_dev.arp_parms = neigh_sysctl_register(host, dev)


def inet_forward_change(host: Host) -> None:
    """``inet_forward_change``: net.ipv4.ip_forward (which is conf.all.forwarding) written: every
    device and ``default`` follow, and a router stops accepting redirects (all.accept_redirects
    becomes the opposite)."""
    sysctl = host.sysctl
    on = sysctl["net.ipv4.conf.all.forwarding"]
    sysctl.add("net.ipv4.ip_forward", on)
    sysctl.add("net.ipv4.conf.all.accept_redirects", int(not on))
    sysctl.add("net.ipv4.conf.default.forwarding", on)
    for dev in host.devices.values():
        sysctl.add(f"net.ipv4.conf.{dev.name}.forwarding", on)
    host.mib.Ip["Forwarding"] = 1 if on else 2


def devinet_conf_changed(host: Host, key: str) -> None:
    """The ``proc_handler``s of net.ipv4.conf.* (``devinet_conf_proc``, ``devinet_sysctl_forward``)
    and of net.ipv4.ip_forward (``ipv4_sysctl_forward``): a write to ``default`` reaches each device
    whose own value was never written (``devinet_copy_dflt_conf``; not ``forwarding``); routes
    cached under the old settings are flushed."""
    sysctl = host.sysctl
    if key == "net.ipv4.ip_forward":
        sysctl.add("net.ipv4.conf.all.forwarding", sysctl[key])
        key = "net.ipv4.conf.all.forwarding"
    elif not key.startswith("net.ipv4.conf."):
        return
    scope, name = key[len("net.ipv4.conf."):].rsplit(".", 1)
    if name == "forwarding":
        if scope == "all":
            inet_forward_change(host)
    elif scope == "default":
        for dev in host.devices.values():
            if name not in in_dev_get(dev).cnf_state:
                sysctl.add(f"net.ipv4.conf.{dev.name}.{name}", sysctl[key])
    elif scope != "all" and scope in host.devices:
        in_dev_get(host.devices[scope]).cnf_state.add(name)
    for dev in host.devices.values():
        in_dev_get(dev).rp_filter = in_dev_maxconf(host, dev, "rp_filter")
    fib_flush_cache(host)


def inet_addr_add(host: Host, dev: NetDevice, cidr: str, broadcast: int | None = None, *, scope: int | None = None,
                  label: str | None = None, flags: int = 0) -> InIfaddr:
    """``inet_rtm_newaddr`` → ``__inet_insert_ifa``: an address in the subnet of one the device
    has is a secondary, listed after every primary; a primary goes after the primaries of its
    scope or a wider one's; routes follow if the device is up.  ``scope``, ``label`` and
    ``flags`` (IFA_F_NOPREFIXROUTE) are the request's, when it has them."""
    local, plen = parse_cidr(cidr)
    in_dev = in_dev_get(dev)
    ifa = InIfaddr(dev, local, plen, broadcast)
    if scope is not None:
        ifa.scope = scope
    if label is not None:
        ifa.label = label
    ifa.flags |= flags & IFA_F_NOPREFIXROUTE
    last_primary = 0
    for i, ifa1 in enumerate(in_dev.ifa_list):
        if ifa1.local == local:
            raise FileExistsError("Error: ipv4: Address already assigned.")
        if not ifa1.flags & IFA_F_SECONDARY and ifa.scope <= ifa1.scope:
            last_primary = i + 1
        if _same_subnet(ifa1, ifa):
            ifa.flags |= IFA_F_SECONDARY
    if ifa.flags & IFA_F_SECONDARY:
        in_dev.ifa_list.append(ifa)
    else:
        in_dev.ifa_list.insert(last_primary, ifa)
    host.inet_addr_lst.setdefault(local, []).append(ifa)  # inet_hash_insert
    if dev.flags & IFF_UP:
        fib_add_ifaddr(host, ifa)
    return ifa


def _same_subnet(a: InIfaddr, b: InIfaddr) -> bool:
    return a.mask == b.mask and (a.local ^ b.local) & a.mask == 0


def inet_addr_del(host: Host, dev: NetDevice, local: int, prefixlen: int | None = None,
                  label: str | None = None) -> None:
    """``inet_rtm_deladdr`` → ``__inet_del_ifa``: remove an address (any prefix length when
    ``prefixlen`` is None, iproute2's wildcard deletion).  A primary takes its subnet's secondaries
    with it, unless ``promote_secondaries`` makes the first of them the primary.  Then the routes
    follow, as ``fib_del_ifaddr`` and ``fib_inetaddr_event`` leave them: those the remaining
    addresses make, routes naming a vanished address as source gone (``fib_sync_down_addr``), and
    every route through the device gone with its last address (``fib_disable_ip``)."""
    ifa_list = dev.ip_ptr.ifa_list if dev.ip_ptr is not None else []
    ifa = next((a for a in ifa_list if a.local == local and prefixlen in (None, a.prefixlen)
                and label in (None, a.label)), None)
    if ifa is None:
        raise ValueError("Error: ipv4: Address not found.")
    gone = [ifa]
    promote = None
    if not ifa.flags & IFA_F_SECONDARY:
        secondaries = [a for a in ifa_list if a.flags & IFA_F_SECONDARY and _same_subnet(a, ifa)]
        if secondaries and in_dev_orconf(host, dev, "promote_secondaries"):
            promote = secondaries[0]
        else:
            gone += secondaries
    for a in gone:
        ifa_list.remove(a)
        owners = host.inet_addr_lst[a.local]  # inet_hash_remove
        owners.remove(a)
        if not owners:
            del host.inet_addr_lst[a.local]
    if promote is not None:  # it moves up, after the last primary
        ifa_list.remove(promote)
        promote.flags &= ~IFA_F_SECONDARY
        last_primary = max((i + 1 for i, a in enumerate(ifa_list) if not a.flags & IFA_F_SECONDARY), default=0)
        ifa_list.insert(last_primary, promote)
    if not ifa_list:
        for table in host.fib_tables.values():
            table.remove_dev(dev)
    else:
        for table in host.fib_tables.values():
            table.remove_if(lambda e: e.dev is dev and e.protocol == RTPROT_KERNEL)
        if dev.flags & IFF_UP:
            for a in ifa_list:
                fib_add_ifaddr(host, a)
        vanished = {a.local for a in gone} - {a.local for d in host.devices.values() if d.ip_ptr is not None
                                             for a in d.ip_ptr.ifa_list}
        for table in host.fib_tables.values():
            table.remove_if(lambda e: e.prefsrc in vanished)
    fib_flush_cache(host)


def _primary(ifa: InIfaddr) -> InIfaddr:
    """``inet_ifa_byprefix``: the primary address of a secondary's subnet."""
    if ifa.flags & IFA_F_SECONDARY:
        for ifa1 in ifa.dev.ip_ptr.ifa_list:
            if not ifa1.flags & IFA_F_SECONDARY and _same_subnet(ifa1, ifa):
                return ifa1
    return ifa


def fib_add_ifaddr(host: Host, ifa: InIfaddr) -> None:
    """``fib_add_ifaddr``: the routes of an address: its local route; its broadcast address if one
    was given; and, for a primary, the subnet's route (local on a loopback device) and its network
    broadcast address.  Each names the primary's address as its source (``fib_magic``)."""
    dev = ifa.dev
    prim = _primary(ifa)
    prefix = ifa.local & ifa.mask

    def magic(dst: int, plen: int, type: int) -> None:
        table = RT_TABLE_MAIN if type == RTN_UNICAST else RT_TABLE_LOCAL
        scope = RT_SCOPE_HOST if type == RTN_LOCAL else RT_SCOPE_LINK
        # NLM_F_APPEND: a route another address made already is left as it is.
        with contextlib.suppress(FileExistsError):
            fib_add(host, FibAlias(dst, plen, type, dev, scope=scope, prefsrc=prim.local, protocol=RTPROT_KERNEL,
                                   table=table))

    magic(ifa.local, 32, RTN_LOCAL)
    if ifa.broadcast and ifa.broadcast != 0xFFFFFFFF:
        magic(ifa.broadcast, 32, RTN_BROADCAST)
    if prefix and not ifa.flags & IFA_F_SECONDARY and (prefix != ifa.local or ifa.prefixlen < 32):
        if not ifa.flags & IFA_F_NOPREFIXROUTE:
            magic(prefix, ifa.prefixlen, RTN_LOCAL if dev.flags & IFF_LOOPBACK else RTN_UNICAST)
        if ifa.prefixlen < 31:
            magic(prefix | ~ifa.mask & 0xFFFFFFFF, 32, RTN_BROADCAST)


def inetdev_event_up(host: Host, dev: NetDevice) -> None:
    """``inetdev_event`` for NETDEV_UP: install the routes of the device's addresses, then
    announce them if ``arp_notify`` says so; join 224.0.0.1 and announce the device's groups
    (``ip_mc_up``).  Loopback's settings stop following ``default``
    (``ipv4_devconf_setall``), nor do its neighbour parameters."""
    from tuxnet.net.ipv4.arp import arp_netdev_up
    from tuxnet.net.ipv4.igmp import ip_mc_up

    if dev.flags & IFF_LOOPBACK:
        in_dev = in_dev_get(dev)
        in_dev.cnf_state.update(DEVCONF)
        if in_dev.arp_parms is not None:
            in_dev.arp_parms.data_state.update(NEIGH_DEV_VARS)  # neigh_parms_data_state_setall
    if dev.ip_ptr is not None:
        for ifa in dev.ip_ptr.ifa_list:
            fib_add_ifaddr(host, ifa)
        arp_netdev_up(host, dev)
    ip_mc_up(dev)


def inetdev_event_down(host: Host, dev: NetDevice) -> None:
    """NETDEV_DOWN: ``fib_disable_ip`` removes every route through the device, ``arp_ifdown``
    its neighbour entries, and ``ip_mc_down`` stops its IGMP reports."""
    from tuxnet.net.ipv4.arp import arp_ifdown
    from tuxnet.net.ipv4.igmp import ip_mc_down

    ip_mc_down(dev)
    for table in host.fib_tables.values():  # (fib_sync_down_dev: every table)
        table.remove_dev(dev)
    fib_flush_cache(host)
    arp_ifdown(host, dev)


def inet_select_addr(host: Host, dev: NetDevice | None, dst: int, scope: int) -> int:
    """``inet_select_addr``: a source address on ``dev`` (same subnet first), else any global one."""
    if dev is not None and dev.ip_ptr is not None:
        best = 0
        for ifa in dev.ip_ptr.ifa_list:
            if ifa.scope > scope or ifa.flags & IFA_F_SECONDARY:
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
            if ifa.scope <= scope and not ifa.flags & IFA_F_SECONDARY:
                return ifa.local
    return 0


def inet_ifa_match(addr: int, ifa: InIfaddr) -> bool:
    """``inet_ifa_match``: is ``addr`` in ``ifa``'s subnet?"""
    return (addr ^ ifa.local) & ifa.mask == 0


def inet_addr_onlink(dev: NetDevice, a: int, b: int) -> bool:
    """``inet_addr_onlink``: is there an address on ``dev`` whose subnet holds ``a`` and (unless
    0) ``b``?"""
    ifa_list = dev.ip_ptr.ifa_list if dev.ip_ptr is not None else []
    return any(inet_ifa_match(a, ifa) and (not b or inet_ifa_match(b, ifa)) for ifa in ifa_list)


def _confirm_addr_indev(dev: NetDevice, dst: int, local: int, scope: int) -> int:
    """``confirm_addr_indev``: the address ``local`` (or, when 0, one) on ``dev`` of scope at most
    ``scope``, provided some address of the device has ``local`` and ``dst`` in its subnet."""
    addr = 0
    same = False
    for ifa in dev.ip_ptr.ifa_list if dev.ip_ptr is not None else []:
        if not addr and (local == ifa.local or not local) and ifa.scope <= scope:
            addr = ifa.local
            if same:
                break
        if not same:
            same = (not local or inet_ifa_match(local, ifa)) and (not dst or inet_ifa_match(dst, ifa))
            if same and addr:
                if local or not dst or inet_ifa_match(addr, ifa):
                    break
                if ifa.scope <= scope:
                    addr = ifa.local
                    break
                same = False
    return addr if same else 0


def inet_confirm_addr(host: Host, dev: NetDevice | None, dst: int, local: int, scope: int) -> int:
    """``inet_confirm_addr``: ``_confirm_addr_indev`` on ``dev``, or on every device when None."""
    for d in [dev] if dev is not None else list(host.devices.values()):
        addr = _confirm_addr_indev(d, dst, local, scope)
        if addr:
            return addr
    return 0


def inet_addr_type(host: Host, addr: int) -> int:
    """``inet_addr_type`` (``__inet_dev_addr_type``): RTN_BROADCAST for 0.0.0.0 and
    255.255.255.255, RTN_MULTICAST for a group, else the local table's type (RTN_LOCAL for our
    addresses, RTN_BROADCAST for our subnets'), RTN_UNICAST for the rest."""
    if ipv4_is_zeronet(addr) or ipv4_is_lbcast(addr):
        return RTN_BROADCAST
    if ipv4_is_multicast(addr):
        return RTN_MULTICAST
    fa = host.fib_local.lookup(addr)
    if fa is not None:
        return fa.type
    return RTN_UNICAST



# -- the address requests of ifconfig (SIOCxIFADDR and their kind) ---------------------------------

def inet_abc_len(addr: int) -> int:
    """``inet_abc_len``: the prefix length of ``addr``'s class (A /8, B /16, C /24, E /32; 0 for
    0.0.0.0 and 255.255.255.255), -1 for a group address."""
    if ipv4_is_zeronet(addr) or ipv4_is_lbcast(addr):
        return 0
    if addr < 0x80000000:
        return 8
    if addr < 0xC0000000:
        return 16
    if addr < 0xE0000000:
        return 24
    return 32 if addr >= 0xF0000000 else -1


def bad_mask(mask: int, addr: int) -> bool:
    """``bad_mask``: a netmask that is not a run of ones, or ``addr`` with host bits under it."""
    inverse = ~mask & 0xFFFFFFFF
    return bool(addr & inverse) or bool(inverse & (inverse + 1))


def _reinsert(host: Host, ifa: InIfaddr, local: int, prefixlen: int, broadcast: int) -> int:
    """``inet_del_ifa`` then ``inet_insert_ifa`` of the address changed: it goes to the end of
    the primaries (or secondaries), its routes made again; an address of 0.0.0.0 is not put back
    (``__inet_insert_ifa``)."""
    dev = ifa.dev
    inet_addr_del(host, dev, ifa.local, ifa.prefixlen, ifa.label)
    if not local:
        return 0
    try:
        inet_addr_add(host, dev, f"{in_ntoa(local)}/{prefixlen}", broadcast, scope=ifa.scope, label=ifa.label,
                      flags=ifa.flags)
    except FileExistsError:
        return -EEXIST
    return 0


def devinet_ioctl(host: Host, cmd: int, arg: Any) -> int | bytes:
    """``devinet_ioctl`` (from ``inet_ioctl``): the IPv4 address of the device or alias an ifreq
    names (``eth0:1``: the address labelled so), read or changed as ifconfig asks.  A request to
    read, given an address, prefers the address of that label that matches it (4.4BSD); a change
    of netmask or broadcast address takes the address out and puts it back; SIOCSIFADDR makes the
    address when the label has none, with its class's prefix length and broadcast address (a
    point-to-point device's is /32); SIOCSIFFLAGS on an alias without UP removes its address, on
    a device goes on to ``dev_change_flags``."""
    if not isinstance(arg, bytes | bytearray) or len(arg) < IFREQ_SIZE:
        return -EFAULT
    name = ifreq_name(arg)
    family, addr = ifreq_sockaddr_in(arg)
    getting = cmd in (SIOCGIFADDR, SIOCGIFBRDADDR, SIOCGIFDSTADDR, SIOCGIFNETMASK)
    if cmd in (SIOCSIFADDR, SIOCSIFBRDADDR, SIOCSIFDSTADDR, SIOCSIFNETMASK) and family != AF_INET:
        return -EINVAL
    colon = ":" in name
    dev = host.devices.get(name.partition(":")[0])
    if dev is None:
        return -ENODEV
    ifa_list = dev.ip_ptr.ifa_list if dev.ip_ptr is not None else []
    ifa = None
    if getting and family == AF_INET:
        ifa = next((a for a in ifa_list if a.label == name and a.local == addr), None)
    if ifa is None:
        ifa = next((a for a in ifa_list if a.label == name), None)
    if ifa is None and cmd not in (SIOCSIFADDR, SIOCSIFFLAGS):
        return -EADDRNOTAVAIL
    if getting:
        value = {SIOCGIFADDR: ifa.local, SIOCGIFBRDADDR: ifa.broadcast, SIOCGIFDSTADDR: ifa.local,
                 SIOCGIFNETMASK: ifa.mask}[cmd]
        return ifreq(name, sockaddr_in(AF_INET, value))
    if cmd == SIOCSIFFLAGS:
        if not colon:
            return dev_change_flags(dev, ifreq_flags(arg))
        if ifa is None:
            return -EADDRNOTAVAIL
        if not ifreq_flags(arg) & IFF_UP:
            inet_addr_del(host, dev, ifa.local, ifa.prefixlen, ifa.label)
        return 0
    if cmd == SIOCSIFADDR:
        plen = inet_abc_len(addr)
        if plen < 0:
            return -EINVAL
        if dev.flags & IFF_POINTOPOINT:
            plen = 32
        broadcast = 0
        if dev.flags & IFF_BROADCAST and plen < 31:
            broadcast = (addr | ~inet_make_mask(plen)) & 0xFFFFFFFF
        if ifa is None:
            if not addr:
                return 0
            try:
                inet_addr_add(host, dev, f"{in_ntoa(addr)}/{plen}", broadcast, label=name)
            except FileExistsError:
                return -EEXIST
            return 0
        if ifa.local == addr:
            return 0
        ifa.scope = RT_SCOPE_HOST if addr >> 24 == 127 else RT_SCOPE_UNIVERSE
        return _reinsert(host, ifa, addr, plen, broadcast)
    if cmd == SIOCSIFBRDADDR:
        return 0 if ifa.broadcast == addr else _reinsert(host, ifa, ifa.local, ifa.prefixlen, addr)
    if cmd == SIOCSIFNETMASK:
        if bad_mask(addr, 0):
            return -EINVAL
        if ifa.mask == addr:
            return 0
        broadcast = ifa.broadcast
        if dev.flags & IFF_BROADCAST and inet_mask_len(addr) < 31 and broadcast == (ifa.local | ~ifa.mask) & 0xFFFFFFFF:
            broadcast = (ifa.local | ~addr) & 0xFFFFFFFF
        return _reinsert(host, ifa, ifa.local, inet_mask_len(addr), broadcast)
    return -EINVAL  # SIOCSIFDSTADDR: only a point-to-point device's peer, which tuxnet does not keep


def inet_mask_len(mask: int) -> int:
    """``inet_mask_len``: the number of ones of a netmask."""
    return bin(mask).count("1")
