"""The IPv4 forwarding information base (net/ipv4/fib_frontend.c, fib_trie.c, fib_semantics.c).

The tables, as Linux has them: ``local`` (255), consulted first, holds the host's own and
broadcast addresses; ``main`` (254) holds connected prefixes and the routes the user adds; any
other (``ip route add ... table N``) comes when its first route does, and is consulted as the
rules say (tuxnet.net.ipv4.fib_rules).  A table's lookup returns the longest matching prefix, the
lowest metric breaking ties.
"""

from __future__ import annotations

import bisect
from collections.abc import Callable
from typing import TYPE_CHECKING

from tuxnet.kernel.minmax import min
from tuxnet.net.core.utils import in_aton, in_ntoa, inet_make_mask, ipv4_is_multicast, parse_cidr

if TYPE_CHECKING:
    from tuxnet.kernel.host import Host
    from tuxnet.net.core.dev import NetDevice
    from tuxnet.net.core.skbuff import SkBuff

RT_TABLE_UNSPEC = 0
RT_TABLE_DEFAULT = 253
RT_TABLE_MAIN = 254
RT_TABLE_LOCAL = 255
RT_TABLE_NAMES = {RT_TABLE_DEFAULT: "default", RT_TABLE_MAIN: "main", RT_TABLE_LOCAL: "local"}
LOOPBACK_IFINDEX = 1  # the flowi4_iif of what the host itself sends
INET_DSCP_MASK = 0xFC  # the DSCP bits of the TOS octet, which the rules compare (flowi4_dscp)

RTN_UNICAST = 1
RTN_LOCAL = 2
RTN_BROADCAST = 3
RTN_MULTICAST = 5
RTN_BLACKHOLE = 6
RTN_UNREACHABLE = 7
RTN_PROHIBIT = 8
RTN_THROW = 9  # the table has no route for it: the rules go on to the next (fib_props' -EAGAIN)

RT_SCOPE_UNIVERSE = 0
RT_SCOPE_LINK = 253
RT_SCOPE_HOST = 254

RTN_NAMES = {RTN_UNICAST: "unicast", RTN_LOCAL: "local", RTN_BROADCAST: "broadcast", RTN_MULTICAST: "multicast",
             RTN_BLACKHOLE: "blackhole", RTN_UNREACHABLE: "unreachable", RTN_PROHIBIT: "prohibit",
             RTN_THROW: "throw"}
RT_SCOPE_SITE = 200
RT_SCOPE_NOWHERE = 255
# iproute2's /etc/iproute2/rt_scopes and rt_protos: the names it prints and takes
SCOPE_NAMES = {RT_SCOPE_UNIVERSE: "global", RT_SCOPE_NOWHERE: "nowhere", RT_SCOPE_HOST: "host",
               RT_SCOPE_LINK: "link", RT_SCOPE_SITE: "site"}
RTPROT_KERNEL = 2  # include/uapi/linux/rtnetlink.h: a route the kernel made (an address's)
RTPROT_BOOT = 3  # one added by hand, unless said otherwise
PROTO_NAMES = {0: "unspec", 1: "redirect", RTPROT_KERNEL: "kernel", RTPROT_BOOT: "boot", 4: "static", 8: "gated",
               9: "ra", 10: "mrt", 11: "zebra", 12: "bird", 13: "dnrouted", 14: "xorp", 15: "ntk", 16: "dhcp",
               18: "keepalived", 42: "babel", 99: "openr", 186: "bgp", 187: "isis", 188: "ospf", 189: "rip",
               192: "eigrp"}


IP_MAX_MTU = 0xFFF0  # fib_convert_metrics: a route's mtu is at most 65535 - 15
ADVMSS_MAX = 65535 - 40


class FibAlias:
    """One route: prefix, type, next hop and attributes (``fib_alias`` + ``fib_info``), with the
    metrics ``ip route`` can set (RTAX_MTU, optionally locked, RTAX_ADVMSS, RTAX_INITCWND and
    RTAX_INITRWND; 0 is unset)."""

    __slots__ = ("dst", "plen", "mask", "type", "gw", "dev", "scope", "prefsrc", "metric",
                 "protocol", "mtu", "mtu_lock", "advmss", "initcwnd", "initrwnd", "table")

    def __init__(self, dst: int, plen: int, type: int, dev: NetDevice | None, *, gw: int = 0,
                 scope: int = RT_SCOPE_UNIVERSE, prefsrc: int = 0, metric: int = 0,
                 protocol: int = RTPROT_BOOT, mtu: int = 0, mtu_lock: bool = False, advmss: int = 0,
                 initcwnd: int = 0, initrwnd: int = 0, table: int = RT_TABLE_MAIN) -> None:
        self.mask = inet_make_mask(plen)
        self.dst = dst & self.mask
        self.plen = plen
        self.type = type
        self.gw = gw
        self.dev = dev
        self.scope = scope
        self.prefsrc = prefsrc
        self.metric = metric
        self.protocol = protocol
        self.mtu = min(mtu, IP_MAX_MTU)
        self.mtu_lock = mtu_lock
        self.advmss = min(advmss, ADVMSS_MAX)
        self.initcwnd = initcwnd
        self.initrwnd = initrwnd
        self.table = table

    def dst_name(self) -> str:
        """The destination as iproute2 names it: ``default``, an address, or a prefix."""
        if self.plen == 0 and self.table != RT_TABLE_LOCAL:
            return "default"
        return in_ntoa(self.dst) + ("" if self.plen == 32 else f"/{self.plen}")

    def linkdown(self) -> bool:
        """RTNH_F_LINKDOWN: the next hop's device has no carrier."""
        return self.dev is not None and not self.dev.carrier and self.scope != RT_SCOPE_HOST

    def format(self, show_table: bool = False, omit: frozenset[str] = frozenset()) -> str:
        """One line of ``ip route show`` (``table local`` lines carry their type first; with
        ``show_table``, as ``table all`` lists them, a table other than main is named); the
        fields a selector fixed (``omit``: ``via``, ``dev``, ``proto``, ``scope``, ``src``,
        ``metric``) are left out, as iproute2 leaves them."""
        return " ".join(f"{key} {value}" if key != "dst" and key != "type" and key != "linkdown" else value
                        for key, value in self.fields(show_table, omit)) + "".join(
            f" {word}" for word in format_metrics(self))

    def fields(self, show_table: bool, omit: frozenset[str]) -> list[tuple[str, str]]:
        """``print_route``'s words before the metrics, as (iproute2's text key, value)."""
        fields = [] if self.type == RTN_UNICAST else [("type", RTN_NAMES[self.type])]
        fields.append(("dst", self.dst_name()))
        if self.gw and "via" not in omit:
            fields.append(("via", in_ntoa(self.gw)))
        if self.dev is not None and "dev" not in omit:
            fields.append(("dev", self.dev.name))
        if show_table and self.table != RT_TABLE_MAIN:
            fields.append(("table", rt_table_name(self.table)))
        if self.protocol != RTPROT_BOOT and "proto" not in omit:
            fields.append(("proto", PROTO_NAMES.get(self.protocol, str(self.protocol))))
        if self.scope != RT_SCOPE_UNIVERSE and "scope" not in omit:
            fields.append(("scope", SCOPE_NAMES.get(self.scope, str(self.scope))))
        if self.prefsrc and "src" not in omit:
            fields.append(("src", in_ntoa(self.prefsrc)))
        if self.metric and "metric" not in omit:
            fields.append(("metric", str(self.metric)))
        if self.linkdown():
            fields.append(("linkdown", "linkdown"))
        return fields


_JSON_KEYS = {"via": "gateway", "proto": "protocol", "src": "prefsrc"}


def route_json(route: FibAlias, show_table: bool = False, omit: frozenset[str] = frozenset()) -> dict[str, object]:
    """``ip -json route show``'s object for a route: ``format``'s words under iproute2's keys."""
    obj: dict[str, object] = {}
    for key, value in route.fields(show_table, omit):
        if key != "linkdown":
            obj[_JSON_KEYS.get(key, key)] = int(value) if key == "metric" else value
    obj["flags"] = ["linkdown"] if route.linkdown() else []
    metrics = metrics_json(route)
    if metrics:
        obj["metrics"] = metrics
    return obj


def metrics_json(route: FibAlias | None, pmtu: int = 0) -> list[dict[str, int]]:
    """``print_rta_metrics`` in JSON: one object of the metrics (a lock is not said), or none."""
    metrics = {name: value for name, value, _ in route_metrics(route, pmtu)}
    return [metrics] if metrics else []


def route_metrics(route: FibAlias | None, pmtu: int = 0, pmtu_locked: bool = False) -> list[tuple[str, int, bool]]:
    """A route's metrics (RTA_METRICS) in RTAX order, as (name, value, locked); ``pmtu``, a path
    MTU learned since (``pmtu_locked``: below min_pmtu), stands for the route's own."""
    metrics = []
    if pmtu:
        metrics.append(("mtu", pmtu, pmtu_locked))
    elif route is not None and route.mtu:
        metrics.append(("mtu", route.mtu, route.mtu_lock))
    for name in ("advmss", "initcwnd", "initrwnd"):
        value = getattr(route, name, 0)
        if value:
            metrics.append((name, value, False))
    return metrics


def format_metrics(route: FibAlias | None, pmtu: int = 0, pmtu_locked: bool = False) -> list[str]:
    """``route_metrics`` as iproute2 prints them, a locked one saying ``lock``."""
    parts = []
    for name, value, locked in route_metrics(route, pmtu, pmtu_locked):
        parts += [name, "lock", str(value)] if locked else [name, str(value)]
    return parts


def _entry_order(e: FibAlias) -> tuple[int, int]:
    return -e.plen, e.metric


def rt_table_name(table: int) -> str:
    """``rtnl_rttable_n2a``: a table's name, else its number."""
    return RT_TABLE_NAMES.get(table, str(table))


def _alias_order(e: FibAlias) -> int:
    return e.metric


class FibTable:
    """A routing table; entries kept longest prefix first, then by metric."""

    def __init__(self, id: int) -> None:
        self.id = id
        self.entries: list[FibAlias] = []
        # For the lookup: per prefix length present (longest first), prefix -> aliases by metric.
        # (Linux walks an LC-trie; a hash per prefix length finds the same longest match.)
        self._plens: list[tuple[int, int]] = []
        self._by_prefix: dict[tuple[int, int], list[FibAlias]] = {}

    def insert(self, fa: FibAlias, exclusive: bool = False) -> None:
        """``fib_table_insert``: with NLM_F_EXCL (``ip route add``) any route to the prefix of the
        same priority is a duplicate (``fib_find_alias``: tos and priority, whatever its next
        hop); else (NLM_F_APPEND, as the kernel adds a connected prefix) one alike in every way
        is.  The index is updated in place (a router with thousands of addresses inserts
        thousands of routes)."""
        key = (fa.plen, fa.dst)
        aliases = self._by_prefix.get(key)
        if aliases is not None:
            for e in aliases:
                if e.metric == fa.metric and (exclusive or (e.type, e.dev, e.gw) == (fa.type, fa.dev, fa.gw)):
                    raise FileExistsError("RTNETLINK answers: File exists")
        # After the equal keys: the order appending and a stable sort would give.
        bisect.insort_right(self.entries, fa, key=_entry_order)
        if aliases is None:
            self._by_prefix[key] = [fa]
            if (fa.plen, fa.mask) not in self._plens:
                self._plens.append((fa.plen, fa.mask))
                self._plens.sort(reverse=True)
        else:
            bisect.insort_right(aliases, fa, key=_alias_order)

    def _reindex(self) -> None:
        self._by_prefix = {}
        for e in self.entries:
            self._by_prefix.setdefault((e.plen, e.dst), []).append(e)
        self._plens = sorted({(e.plen, e.mask) for e in self.entries}, reverse=True)

    def lookup(self, daddr: int, scope: int = RT_SCOPE_UNIVERSE) -> FibAlias | None:
        """``fib_table_lookup``: the longest prefix containing ``daddr`` (lowest metric first) whose
        device is up and whose scope is at least ``scope`` (RT_SCOPE_LINK: no route through a
        gateway, for SO_DONTROUTE)."""
        by_prefix = self._by_prefix
        for plen, mask in self._plens:
            aliases = by_prefix.get((plen, daddr & mask))
            if aliases is not None:
                for e in aliases:
                    if (e.dev is None or e.dev.flags & 1) and e.scope >= scope:
                        return e
        return None

    def remove_dev(self, dev: NetDevice) -> None:
        self.remove_if(lambda e: e.dev is dev)

    def remove_if(self, doomed: Callable[[FibAlias], bool]) -> None:
        """Remove every route ``doomed`` picks."""
        self.entries = [e for e in self.entries if not doomed(e)]
        self._reindex()

    def remove(self, fa: FibAlias) -> None:
        self.entries.remove(fa)
        self._reindex()


def fib_lookup(host: Host, daddr: int, scope: int = RT_SCOPE_UNIVERSE, saddr: int = 0,
               iif: int = LOOPBACK_IFINDEX, oif: int = 0, mark: int = 0, tos: int = 0, proto: int = 0,
               sport: int = 0, dport: int = 0, uid: int = 0) -> FibAlias | None:
    """``fib_lookup``: the local table, then main; or, once rules were changed, the route the
    rules give the flow (its source, the devices it comes in by or is to leave by, its mark, its
    DSCP bits ``tos``, its transport protocol and ports, its sender's uid)."""
    if host.fib_has_custom_rules:
        from tuxnet.net.ipv4.fib_rules import fib_rules_lookup

        return fib_rules_lookup(host, daddr, scope, saddr, iif, oif, mark, tos, proto, sport, dport, uid)
    fa = host.fib_local.lookup(daddr, scope) or host.fib_main.lookup(daddr, scope)
    return None if fa is not None and fa.type == RTN_THROW else fa  # (-EAGAIN: no route)


def fib_get_table(host: Host, table: int) -> FibTable | None:
    """``fib_get_table``: the table of that number (0 is main), if it exists."""
    return host.fib_tables.get(table or RT_TABLE_MAIN)


def fib_new_table(host: Host, table: int) -> FibTable:
    """``fib_new_table``: the table, made empty when it does not exist yet."""
    found = fib_get_table(host, table)
    if found is None:
        found = host.fib_tables[table] = FibTable(table)
    return found


def fib_result_prefsrc(host: Host, fa: FibAlias) -> int:
    """``fib_result_prefsrc``: the route's preferred source, else an address of its device for
    its next hop (``__fib_res_prefsrc``)."""
    from tuxnet.net.ipv4.devinet import inet_select_addr

    return fa.prefsrc or inet_select_addr(host, fa.dev, fa.gw, fa.scope)


def fib_compute_spec_dst(host: Host, skb: SkBuff) -> int:
    """``fib_compute_spec_dst`` (net/ipv4/fib_frontend.c): the address a reply to this packet
    would come from: its own destination, when that is one of ours; else (a broadcast, a
    multicast, a datagram passing through) the preferred source of the route back to the sender
    (or the device's address, ``inet_select_addr``)."""
    from tuxnet.net.ipv4.devinet import inet_select_addr

    buf = skb.buf
    nh = skb.network_header
    saddr = int.from_bytes(buf[nh + 12:nh + 16], "big")
    daddr = int.from_bytes(buf[nh + 16:nh + 20], "big")
    if skb.dst.rt_type == RTN_LOCAL and not ipv4_is_multicast(daddr):
        return daddr
    scope = RT_SCOPE_UNIVERSE
    if saddr:
        fa = fib_lookup(host, saddr)
        if fa is not None:
            return fib_result_prefsrc(host, fa)
    else:
        scope = RT_SCOPE_LINK
    return inet_select_addr(host, skb.dev, saddr, scope)


def fib_flush_cache(host: Host) -> None:
    """Routes changed: cached routes are stale (``rt_cache_flush`` bumps the genid)."""
    host.rt_genid += 1
    host.rt_output_cache.clear()
    host.rt_input_cache.clear()


def fib_add(host: Host, fa: FibAlias, exclusive: bool = False) -> None:
    fib_new_table(host, fa.table).insert(fa, exclusive)
    fib_flush_cache(host)


# fib_props' scopes: the narrowest scope a route of the type may have
_TYPE_SCOPE = {RTN_LOCAL: RT_SCOPE_HOST, RTN_BROADCAST: RT_SCOPE_LINK}


def _route_alias(host: Host, dst: str, via: str | None, dev: str | None, metric: int, src: str | None,
                 type: int, table: int, scope: int | None = None, protocol: int = RTPROT_BOOT,
                 **metrics: int) -> FibAlias:
    """``rtm_to_fib_config`` and ``fib_create_info``: the route ``ip route add|change|replace``
    describe.  The next hop must be reachable on a connected prefix, by a route of a narrower
    scope than this one's; a host-scope route (a local one) needs a device.  Without a ``scope``,
    iproute2's: host for a local route, link for a broadcast one and a unicast one without a
    gateway, else global."""
    if type in (RTN_BLACKHOLE, RTN_UNREACHABLE, RTN_PROHIBIT, RTN_THROW) and (via or dev):
        # fib_props' error types: no next hop
        raise ValueError("Error: Gateway, device and multipath can not be specified for this route type.")
    if scope is None:
        if type == RTN_LOCAL:
            scope = RT_SCOPE_HOST
        elif type == RTN_BROADCAST or type == RTN_UNICAST and not via:
            scope = RT_SCOPE_LINK
        else:
            scope = RT_SCOPE_UNIVERSE
    if scope > RT_SCOPE_HOST or scope < _TYPE_SCOPE.get(type, RT_SCOPE_UNIVERSE):  # (fib_props[type].scope)
        raise ValueError("Error: Invalid scope.")
    if scope == RT_SCOPE_HOST and via:
        raise ValueError("Error: Route with host scope can not have a gateway.")
    if scope == RT_SCOPE_HOST and not dev:
        raise ValueError("RTNETLINK answers: No such device")
    if dst == "default":
        addr, plen = 0, 0
    else:
        addr, plen = parse_cidr(dst)
    if addr & ~inet_make_mask(plen) & 0xFFFFFFFF:
        raise ValueError("Error: Invalid prefix for given prefix length.")
    gw = in_aton(via) if via else 0
    out = host.dev(dev) if dev else None
    if gw:
        # fib_check_nh_v4_gw: a route to the gateway of a scope narrower than this one's (link at
        # least), in the route's own table first (one other than main), else wherever the rules
        # find one
        nh_scope = max(scope + 1, RT_SCOPE_LINK)
        own = fib_get_table(host, table) if table and table != RT_TABLE_MAIN else None
        nh = own.lookup(gw, nh_scope) if own is not None else None
        if nh is None:
            nh = fib_lookup(host, gw, nh_scope)
        if nh is None or nh.gw or nh.type not in (RTN_UNICAST, RTN_LOCAL) or nh.dev is None:
            raise ValueError("Error: Nexthop has invalid gateway.")
        if out is None:
            out = nh.dev
    if out is None and type == RTN_UNICAST:
        raise ValueError("Error: Device for nexthop is not up or no device given.")
    prefsrc = in_aton(src) if src else 0
    if prefsrc and getattr(host.fib_local.lookup(prefsrc), "type", None) != RTN_LOCAL:
        raise ValueError("Error: Invalid prefsrc address.")  # fib_valid_prefsrc: one of ours
    return FibAlias(addr, plen, type, out, gw=gw, scope=scope, metric=metric, prefsrc=prefsrc,
                    protocol=protocol, table=table or RT_TABLE_MAIN, **metrics)


def ip_route_add(host: Host, dst: str, *, via: str | None = None, dev: str | None = None,
                 metric: int = 0, src: str | None = None, type: int = RTN_UNICAST, table: int = RT_TABLE_MAIN,
                 scope: int | None = None, protocol: int = RTPROT_BOOT, **metrics: int) -> None:
    """``ip route add``: a static route, in main or ``table``; ``metrics`` are FibAlias's
    (``mtu``, ``mtu_lock``, ``advmss``, ``initcwnd``, ``initrwnd``)."""
    fib_add(host, _route_alias(host, dst, via, dev, metric, src, type, table, scope, protocol, **metrics),
            exclusive=True)


def ip_route_change(host: Host, dst: str, *, create: bool = False, via: str | None = None,
                    dev: str | None = None, metric: int = 0, src: str | None = None,
                    type: int = RTN_UNICAST, table: int = RT_TABLE_MAIN, scope: int | None = None,
                    protocol: int = RTPROT_BOOT, **metrics: int) -> None:
    """``ip route change`` (NLM_F_REPLACE) and, with ``create``, ``ip route replace``
    (NLM_F_CREATE|NLM_F_REPLACE): ``fib_table_insert`` replaces the route of the same prefix and
    metric; without one, ``change`` fails with ENOENT and ``replace`` adds the route."""
    fa = _route_alias(host, dst, via, dev, metric, src, type, table, scope, protocol, **metrics)
    found = fib_get_table(host, fa.table)
    old = next((e for e in found.entries if (e.dst, e.plen, e.metric) == (fa.dst, fa.plen, fa.metric)),
               None) if found is not None else None
    if old is None and not create:
        raise ValueError("RTNETLINK answers: No such file or directory")
    if old is not None:
        found.remove(old)
    fib_add(host, fa)


def ip_route_del(host: Host, dst: str, table: int = RT_TABLE_MAIN, *, metric: int | None = None,
                 via: str | None = None, dev: str | None = None, src: str | None = None,
                 protocol: int | None = None, scope: int | None = None, type: int | None = None) -> None:
    """``ip route del`` (``fib_table_delete``): the first route of that prefix in main or
    ``table``, of the lowest metric, that has what else was given: its metric, gateway, device,
    preferred source, protocol, scope and type."""
    addr, plen = (0, 0) if dst == "default" else parse_cidr(dst)
    found = fib_get_table(host, table)
    if found is None:
        raise ValueError("Error: FIB table does not exist.")
    wanted = {"metric": metric, "gw": in_aton(via) if via else None, "prefsrc": in_aton(src) if src else None,
              "protocol": protocol, "scope": scope, "type": type}
    for e in sorted(found.entries, key=_alias_order):
        if e.dst == addr and e.plen == plen and (dev is None or e.dev is not None and e.dev.name == dev) and all(
                value is None or getattr(e, key) == value for key, value in wanted.items()):
            found.remove(e)
            fib_flush_cache(host)
            return
    raise ValueError("RTNETLINK answers: No such process")


def fib_route_dump(host: Host, table: int | None = RT_TABLE_MAIN) -> list[FibAlias]:
    """The routes of ``RTM_GETROUTE``'s dump of ``table`` (None: all), in the kernel's order: the
    tables as its dump walks them (its hash of table numbers, the newest of a bucket first), the
    routes of each in the order of its trie."""
    if table is None:
        made = list(host.fib_tables.values())
        tables = sorted(made, key=lambda t: (t.id & 0xFF, -made.index(t)))
    else:
        tables = [host.fib_tables[table]]
    routes = []
    for t in tables:
        if t.id == RT_TABLE_LOCAL:
            routes += sorted(t.entries, key=lambda e: (e.dst, e.type))
        else:
            routes += sorted(t.entries, key=lambda e: (e.dst, -e.plen, e.metric))  # (a leaf's: longest first)
    return routes


def fib_table_flush(host: Host, routes: list[FibAlias]) -> None:
    """``ip route flush SELECTOR``: each route the selector chose goes (RTM_DELROUTE), as
    iproute2 deletes them one by one."""
    for fa in routes:
        table = host.fib_tables[fa.table]
        if fa in table.entries:
            table.remove(fa)
    fib_flush_cache(host)
