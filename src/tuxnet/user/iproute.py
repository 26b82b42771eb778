"""The ``ip`` command of iproute2, for tuxnet hosts: ``ip addr`` (show, add, del), ``ip link``
(``-s``, ``-s -s``, set), ``ip route`` (show, add, change, replace, del, get) and ``ip neigh`` (show,
add, flush), printing what iproute2 prints, byte for byte (``tests/l2l3/test_iproute.py`` compares
them with this machine's).

``ip(host, "route add default via 10.0.1.254")`` runs a command from Python and returns its
output; ``ip_main`` is the same as a program run on a host (``host.spawn(ip_main, ["-s", "link"])``).
Errors raise ``IpError`` with iproute2's message.
"""

from __future__ import annotations

import shlex
from collections.abc import Callable
from functools import partial
from typing import TYPE_CHECKING

from tuxnet.kernel.errno import strerror
from tuxnet.kernel.minmax import INT_MAX, U32_MAX
from tuxnet.net.core.dev import (
    ARPHRD_LOOPBACK,
    ETH_P_8021Q,
    GSO_MAX_SEGS,
    IFF_LOWER_UP,
    IFF_UP,
    NetDevice,
    dev_get_flags,
    dev_set_mtu,
)
from tuxnet.net.core.neighbour import (
    NUD_NAMES,
    NUD_NOARP,
    NUD_PERMANENT,
    NUD_REACHABLE,
    NUD_STALE,
    NUD_VALID,
    neigh_add,
    neigh_delete,
    pneigh_create,
    pneigh_delete,
)
from tuxnet.net.core.skbuff import SkBuff
from tuxnet.net.core.sock import IFNAMSIZ
from tuxnet.net.core.utils import in_ntoa, inet_make_mask
from tuxnet.net.ethernet.eth import format_mac
from tuxnet.net.ipv4.devinet import IFA_F_NOPREFIXROUTE, InIfaddr, inet_addr_add, inet_addr_del
from tuxnet.net.ipv4.fib import (
    INET_DSCP_MASK,
    PROTO_NAMES,
    RT_TABLE_DEFAULT,
    RT_TABLE_LOCAL,
    RT_TABLE_MAIN,
    RTN_BLACKHOLE,
    RTN_BROADCAST,
    RTN_LOCAL,
    RTN_NAMES,
    RTN_PROHIBIT,
    RTN_THROW,
    RTN_UNICAST,
    RTN_UNREACHABLE,
    SCOPE_NAMES,
    FibAlias,
    fib_flush_cache,
    fib_get_table,
    fib_lookup,
    fib_route_dump,
    fib_table_flush,
    format_metrics,
    metrics_json,
    route_json,
    rt_table_name,
)
from tuxnet.net.ipv4.fib import ip_route_add as fib_route_add
from tuxnet.net.ipv4.fib import ip_route_change as fib_route_change
from tuxnet.net.ipv4.fib import ip_route_del as fib_route_del
from tuxnet.net.ipv4.fib_rules import (
    FR_ACT_BLACKHOLE,
    FR_ACT_GOTO,
    FR_ACT_NOP,
    FR_ACT_PROHIBIT,
    FR_ACT_TO_TBL,
    FR_ACT_UNREACHABLE,
    FibRule,
    fib_default_rule_pref,
    fib_rule_add,
    fib_rule_del,
    fib_rules_flush,
)
from tuxnet.net.ipv4.icmp import ICMP_ECHO
from tuxnet.net.ipv4.ip_output import IPPROTO_ICMP, IPPROTO_TCP, IPPROTO_UDP
from tuxnet.net.ipv4.route import (
    fib4_rules_early_flow_dissect,
    find_exception,
    ip_route_input_noref,
    ip_route_output_key,
    rt_redirect_due,
)
from tuxnet.net.ipv4.tcp_metrics import tcp_metrics_flush, tcp_metrics_show
from tuxnet.net.ipv4.tcp_output import KERNEL_MAX_TCP_HEADER
from tuxnet.net.vlan.vlan import (
    VLAN_PROTO_NAMES,
    VLAN_PROTOCOLS,
    is_vlan_dev,
    register_vlan_dev,
    unregister_vlan_dev,
)
from tuxnet.user import libc
from tuxnet.user.json_print import json_dumps
from tuxnet.user.resolv import protocols_entries
from tuxnet.user.tool import ToolError, tool_main
from tuxnet.world import NSEC_PER_SEC

if TYPE_CHECKING:
    from tuxnet.kernel.host import Host

_FLAG_NAMES = ((0x8, "LOOPBACK"), (0x2, "BROADCAST"), (0x10, "POINTOPOINT"), (0x1000, "MULTICAST"),
               (0x80, "NOARP"), (0x200, "ALLMULTI"), (0x100, "PROMISC"))
_ROUTE_TYPES = {"unreachable": RTN_UNREACHABLE, "blackhole": RTN_BLACKHOLE, "prohibit": RTN_PROHIBIT,
                "unicast": RTN_UNICAST, "local": RTN_LOCAL, "broadcast": RTN_BROADCAST, "throw": RTN_THROW}
_NUD_BY_NAME = {"permanent": NUD_PERMANENT, "reachable": NUD_REACHABLE, "stale": NUD_STALE, "noarp": NUD_NOARP}
# nud_state_a2n's names, "none" (NUD_NONE, 0) as the bit 0x100 iproute2's filter gives it
_NUD_FILTER_NONE = 0x100
_NUD_FILTER = {name.lower(): state or _NUD_FILTER_NONE for state, name in NUD_NAMES.items()}
_NUD_ALL = 0x1FF


class IpError(ToolError):
    """An ``ip`` command failed; the message is iproute2's, and ``status`` its exit status: 1 when
    iproute2 itself rejects an argument (an address it cannot parse, a device it cannot find), 255
    for a command line it cannot make sense of (its ``exit(-1)``), 2 when the kernel refused the
    request (``RTNETLINK answers: ...``, or the kernel's own message, ``Error: ...``)."""


def _usage_error(message: str) -> IpError:
    return IpError(message, 255)


def _dev(host: Host, name: str) -> NetDevice:
    """``ll_name_to_index``: the device, or iproute2's complaint."""
    dev = host.devices.get(name)
    if dev is None:
        raise IpError(f'Cannot find device "{name}"')
    return dev


def get_addr_ipv4(text: str) -> int | None:
    """iproute2's ``get_addr_ipv4``: up to four numbers (``strtoul``, base 0: 0x hexadecimal, 0
    octal) of at most 255, dot-separated, the missing ones zero (``10.1`` is 10.1.0.0); None for
    anything else."""
    octets = []
    rest = text
    while True:
        number, end, _ = libc.strtoul(rest, base=0)
        if end == 0 or number > 255 or not rest[:1].isdigit():
            return None
        octets.append(number)
        rest = rest[end:]
        if not rest:
            break
        if len(octets) == 4 or rest[0] != ".":
            return None
        rest = rest[1:]
    return int.from_bytes(bytes(octets + [0] * (4 - len(octets))), "big")


def _prefix(text: str) -> tuple[int, int]:
    """``get_prefix``: ``ADDR[/LEN]``, the address as ``get_addr_ipv4`` reads it and the length
    a number or a netmask; ``default``, ``all`` and ``any`` are 0/0."""
    if text in ("default", "all", "any"):
        return 0, 0
    addr_text, slash, len_text = text.partition("/")
    addr = get_addr_ipv4(addr_text)
    plen: int | None = 32
    if slash:
        plen = get_unsigned(len_text)
        if plen is None:
            mask = get_addr_ipv4(len_text) if len_text.count(".") == 3 else None
            ones = bin(mask).count("1") if mask is not None else 0
            plen = ones if mask is not None and mask == inet_make_mask(ones) else None
    if addr is None or plen is None or plen > 32:
        raise IpError(f'Error: any valid prefix is expected rather than "{text}".')
    return addr, plen


def _cidr(text: str) -> str:
    """A prefix as the kernel's side of tuxnet takes it: ``A.B.C.D/LEN`` (``default`` kept)."""
    if text == "default":
        return text
    addr, plen = _prefix(text)
    return f"{in_ntoa(addr)}/{plen}"


def _inet_addr(text: str, what: str = "inet address") -> int:
    """``get_addr``: an IPv4 address, as ``get_addr_ipv4`` reads it."""
    addr = get_addr_ipv4(text)
    if addr is None:
        raise IpError(f'Error: {what} is expected rather than "{text}".')
    return addr


# -- ip link ---------------------------------------------------------------------------------------

def _flags(dev: NetDevice) -> list[str]:
    """The device's flags as iproute2 names them (``print_link_flags``)."""
    flags = dev_get_flags(dev)
    names = []
    if flags & IFF_UP and not flags & IFF_LOWER_UP:
        names.append("NO-CARRIER")
    names += [name for bit, name in _FLAG_NAMES if flags & bit]
    if flags & IFF_UP:
        names.append("UP")
        if flags & IFF_LOWER_UP:
            names.append("LOWER_UP")
    return names


def _link_lines(host: Host, dev: NetDevice, mode: bool, details: bool = False) -> list[str]:
    qdisc = "noqueue" if dev.qdisc is None else dev.qdisc.kind
    name = f"{dev.name}@{dev.priv.real_dev.name}" if is_vlan_dev(dev) else dev.name
    head = f"{dev.ifindex}: {name}: <{','.join(_flags(dev))}> mtu {dev.mtu} qdisc {qdisc} state {dev.operstate()}"
    head += " mode DEFAULT group default" if mode else " group default"
    if dev.tx_queue_len:
        head += f" qlen {dev.tx_queue_len}"
    if dev.type == ARPHRD_LOOPBACK:
        link = f"    link/loopback {format_mac(dev.dev_addr)} brd {format_mac(bytes(dev.addr_len))}"
    else:
        link = f"    link/ether {format_mac(dev.dev_addr)} brd {format_mac(dev.broadcast)}"
    if details:
        # iproute2's print_linkinfo details for a device without a kind (and with no IPv6, so no
        # addrgenmode), on the link line as it prints them, ending with a space
        link += f" promiscuity {dev.promiscuity}  allmulti {dev.allmulti} minmtu {dev.min_mtu} maxmtu {dev.max_mtu}"
        if is_vlan_dev(dev):  # the kind's own (vlan_print_opt), on a line of its own
            vlan = dev.priv
            link += f" \n    vlan protocol {VLAN_PROTO_NAMES[vlan.vlan_proto]} id {vlan.vlan_id} <REORDER_HDR>"
        link += (f" numtxqueues 1 numrxqueues 1 gso_max_size {dev.gso_max_size} gso_max_segs {dev.gso_max_segs}"
                 f" tso_max_size {dev.tso_max_size} tso_max_segs {dev.tso_max_segs} gro_max_size 65536 ")
    return [head, link]


def _link_json(dev: NetDevice, mode: bool, details: bool = False) -> dict[str, object]:
    """``print_linkinfo`` in JSON: ``_link_lines``'s words under iproute2's keys."""
    obj: dict[str, object] = {"ifindex": dev.ifindex}
    if is_vlan_dev(dev):
        obj["link"] = dev.priv.real_dev.name
    obj.update(ifname=dev.name, flags=_flags(dev), mtu=dev.mtu,
               qdisc="noqueue" if dev.qdisc is None else dev.qdisc.kind, operstate=dev.operstate())
    if mode:
        obj["linkmode"] = "DEFAULT"
    obj["group"] = "default"
    if dev.tx_queue_len:
        obj["txqlen"] = dev.tx_queue_len
    if dev.type == ARPHRD_LOOPBACK:
        obj.update(link_type="loopback", address=format_mac(dev.dev_addr), broadcast=format_mac(bytes(dev.addr_len)))
    else:
        obj.update(link_type="ether", address=format_mac(dev.dev_addr), broadcast=format_mac(dev.broadcast))
    if details:
        obj.update(promiscuity=dev.promiscuity, allmulti=dev.allmulti, min_mtu=dev.min_mtu, max_mtu=dev.max_mtu)
        if is_vlan_dev(dev):  # vlan_print_opt
            vlan = dev.priv
            obj["linkinfo"] = {"info_kind": "vlan", "info_data": {
                "protocol": VLAN_PROTO_NAMES[vlan.vlan_proto], "id": vlan.vlan_id, "flags": ["REORDER_HDR"]}}
        obj.update(num_tx_queues=1, num_rx_queues=1, gso_max_size=dev.gso_max_size, gso_max_segs=dev.gso_max_segs,
                   tso_max_size=dev.tso_max_size, tso_max_segs=dev.tso_max_segs, gro_max_size=65536)
    return obj


def _stats_json(dev: NetDevice, level: int) -> dict[str, object]:
    """``print_link_stats64`` in JSON (its ``over_errors`` is the overruns, which the text's first
    line leaves for ``missed``)."""
    s = dev.stats
    rx = dict(bytes=s.rx_bytes, packets=s.rx_packets, errors=s.rx_errors, dropped=s.rx_dropped,
              over_errors=s.rx_over_errors, multicast=s.multicast)
    tx = dict(bytes=s.tx_bytes, packets=s.tx_packets, errors=s.tx_errors, dropped=s.tx_dropped,
              carrier_errors=s.tx_carrier_errors, collisions=s.collisions)
    if level > 1:
        rx.update(length_errors=s.rx_length_errors, crc_errors=s.rx_crc_errors, frame_errors=s.rx_frame_errors,
                  fifo_errors=s.rx_fifo_errors, missed_errors=s.rx_missed_errors)
        tx.update(aborted_errors=s.tx_aborted_errors, fifo_errors=s.tx_fifo_errors,
                  window_errors=s.tx_window_errors, heartbeat_errors=s.tx_heartbeat_errors, carrier_changes=0)
    return {"stats64": {"rx": rx, "tx": tx}}


def _size_columns(cols: list[int], *values: int) -> None:
    """``size_columns``: widen each column to its value's digits."""
    for i, value in enumerate(values):
        cols[i] = max(cols[i], len(str(value)))


def _stats_lines(dev: NetDevice, level: int) -> list[str]:
    """``print_link_stats64``'s text: the columns as wide as their titles (the first as
    ``*X errors:``) or their widest number, each number followed by a space, an empty column for
    the compressed packets tuxnet never has."""
    s = dev.stats
    rx = (s.rx_bytes, s.rx_packets, s.rx_errors, s.rx_dropped, s.rx_missed_errors, s.multicast)
    rx_errors = (0, s.rx_length_errors, s.rx_crc_errors, s.rx_frame_errors, s.rx_fifo_errors, s.rx_over_errors)
    tx = (s.tx_bytes, s.tx_packets, s.tx_errors, s.tx_dropped, s.tx_carrier_errors, s.collisions)
    tx_errors = (0, s.tx_aborted_errors, s.tx_fifo_errors, s.tx_window_errors, s.tx_heartbeat_errors, 0)
    rows = (rx, rx_errors, tx, tx_errors) if level > 1 else (rx, tx)
    cols = [len("*X errors:"), len("packets"), len("errors"), len("dropped"), len("heartbt"), len("overrun"),
            len("compressed")]
    for row in rows:
        _size_columns(cols, *row)

    def titles(head: str, names: tuple[str, ...]) -> str:
        return head + " ".join(f"{name:>{cols[i]}}" for i, name in enumerate(names, 1))

    def numbers(row: tuple[int, ...], first: int = 0) -> str:
        return "    " + "".join(f"{'' if i < first else v:>{cols[i]}} " for i, v in enumerate(row))

    bytes_title = f"{'bytes':>{cols[0] - 4}} "
    lines = [f"    RX: {bytes_title}" + titles("", ("packets", "errors", "dropped", "missed", "mcast", "")),
             numbers(rx)]
    if level > 1:
        lines += [titles("    RX errors: ", ("length", "crc", "frame", "fifo", "overrun")), numbers(rx_errors, 1)]
    lines += [f"    TX: {bytes_title}" + titles("", ("packets", "errors", "dropped", "carrier", "collsns", "")),
              numbers(tx)]
    if level > 1:
        lines += [titles("    TX errors: ", ("aborted", "fifo", "window", "heartbt", "transns")), numbers(tx_errors, 1)]
    return lines


def _devices(host: Host, name: str | None) -> list[NetDevice]:
    if name is None:
        return sorted(host.devices.values(), key=lambda d: d.ifindex)
    if name not in host.devices:
        raise IpError(f'Device "{name}" does not exist.')
    return [host.devices[name]]


def _brief_head(dev: NetDevice) -> str:
    """``-brief``'s first two columns: the name and the operational state, padded."""
    return f"{dev.name:<16} {dev.operstate():<14} "


def _brief_json(dev: NetDevice) -> dict[str, object]:
    """``-brief``'s first two columns in JSON."""
    obj: dict[str, object] = {"link": dev.priv.real_dev.name} if is_vlan_dev(dev) else {}
    obj.update(ifname=dev.name, operstate=dev.operstate())
    return obj


def ip_link_show(host: Host, dev: str | None = None, stats: int = 0, details: bool = False,
                 brief: bool = False, json: bool = False, oneline: bool = False) -> str | list[dict[str, object]]:
    """``ip [-s [-s]] [-d] link show [DEV]``; ``-brief``: a line a device, its name, state,
    address and flags (statistics and details are not shown then); ``json``: iproute2's objects;
    ``oneline``: each device's lines on one, joined by a backslash (iproute2's ``_SL_``)."""
    if json:
        if brief:
            return [{**_brief_json(d), "address": format_mac(d.dev_addr), "flags": _flags(d)}
                    for d in _devices(host, dev)]
        return [{**_link_json(d, True, details), **(_stats_json(d, stats) if stats else {})}
                for d in _devices(host, dev)]
    if brief:
        return "".join(f"{_brief_head(d)}{format_mac(d.dev_addr):<17} <{','.join(_flags(d))}> \n"
                       for d in _devices(host, dev))
    out = []
    for d in _devices(host, dev):
        lines = _link_lines(host, d, True, details) + (_stats_lines(d, stats) if stats else [])
        out += ["\\".join(lines)] if oneline else lines
    return "".join(line + "\n" for line in out)


def ip_addr_show(host: Host, dev: str | None = None, stats: int = 0, brief: bool = False,
                 json: bool = False, oneline: bool = False) -> str | list[dict[str, object]]:
    """``ip [-s] addr show [DEV]``; ``-brief``: a line a device, its name, state and addresses;
    ``json``: iproute2's objects; ``oneline``: a line an address, after its device's index and
    name (the devices' own lines left out)."""
    def addresses(d: NetDevice) -> list[InIfaddr]:
        return d.ip_ptr.ifa_list if d.ip_ptr else []

    if json:
        if brief:
            return [{**_brief_json(d), "addr_info": [{"local": in_ntoa(ifa.local), "prefixlen": ifa.prefixlen}
                                                     for ifa in addresses(d)]}
                    for d in _devices(host, dev)]
        return [{**_link_json(d, False), "addr_info": [ifa.json() for ifa in addresses(d)],
                 **(_stats_json(d, stats) if stats else {})} for d in _devices(host, dev)]
    if brief:
        return "".join(_brief_head(d) + "".join(f"{in_ntoa(ifa.local)}/{ifa.prefixlen} " for ifa in addresses(d))
                       + "\n" for d in _devices(host, dev))
    if oneline:
        return "".join(f"{d.ifindex}: {d.name}    {ifa.format()}\\       valid_lft forever preferred_lft forever\n"
                       for d in _devices(host, dev) for ifa in addresses(d))
    lines = []
    for d in _devices(host, dev):
        lines += _link_lines(host, d, False)
        for ifa in addresses(d):
            lines.append("    " + ifa.format())
            lines.append("       valid_lft forever preferred_lft forever")
        if stats:
            lines += _stats_lines(d, stats)
    return "".join(line + "\n" for line in lines)


# -- ip neigh --------------------------------------------------------------------------------------

def ip_neigh_show(host: Host, args: list[str] | None = None, brief: bool = False,
                  json: bool = False, stats: int = 0) -> str | list[dict[str, object]]:
    """``ip neigh show [[to] PREFIX] [dev DEV] [nud STATE...]`` (``_neigh_filter``): NOARP entries
    only when asked for, as iproute2; each entry's device unless one was named; ``-brief``: the
    address, the device and the link address in columns; ``json``: the same under iproute2's
    keys; ``stats`` (``-s``): the entry's cache information (``neigh_fill_info``: its references
    but the table's, which a pending timer holds, and the seconds since it was used, confirmed and
    updated) and its probes, as ``print_cacheinfo`` prints them (no space before ``probes``)."""
    prefix, plen, dev, states = _neigh_filter(host, list(args or []), False)
    mask = inet_make_mask(plen)
    lines = []
    objs: list[dict[str, object]] = []
    for n in host.arp_tbl.entries.values():
        if dev is not None and n.dev is not dev or not _nud_bits(n.nud_state) & states or (
                n.primary_key & mask != prefix & mask):
            continue
        obj: dict[str, object] = {"dst": in_ntoa(n.primary_key)}
        if brief:
            ha = format_mac(n.ha) if n.nud_state & NUD_VALID else ""
            lines.append(f"{in_ntoa(n.primary_key):<39} {n.dev.name:<16} {ha}")
            objs.append({**obj, "dev": n.dev.name, **({"lladdr": ha} if ha else {})})
            continue
        parts = [in_ntoa(n.primary_key)]
        if dev is None:
            parts += ["dev", n.dev.name]
            obj["dev"] = n.dev.name
        if n.nud_state & NUD_VALID:
            parts += ["lladdr", format_mac(n.ha)]
            obj["lladdr"] = format_mac(n.ha)
        if stats:
            now = host.world.now
            ref = 1 if n.timer.pending() else 0
            ages = [(now - t) // NSEC_PER_SEC for t in (n.used, n.confirmed, n.updated)]
            parts.append((f" ref {ref}" if ref else "") + " used {}/{}/{}probes {}".format(*ages, n.probes))
            obj.update({"refcnt": ref} if ref else {})
            obj.update(used=ages[0], confirmed=ages[1], updated=ages[2], probes=n.probes)
        state = NUD_NAMES.get(n.nud_state, hex(n.nud_state))
        if n.nud_state:  # (print_neigh_state: nothing for NUD_NONE)
            parts.append(state)
            obj["state"] = [state]
        lines.append(" ".join(parts))
        objs.append(obj)
    if json:
        return objs
    if brief:
        return "".join(line + "\n" for line in lines)
    return "".join(line + " \n" for line in lines)  # iproute2 ends each line with a space


def _addr_add(host: Host, args: list[str]) -> None:
    """``ip addr add ADDR/LEN [brd|broadcast ADDR|+|-] [label LABEL] [scope SCOPE] [noprefixroute]
    dev DEV``: without ``brd`` the address has no broadcast address (its subnet's network
    broadcast route is made all the same); ``+`` sets the host part's bits, ``-`` clears them; a
    label longer than a device's name fails the kernel's policy."""
    cidr, rest = args[0], args[1:]
    dev = brd = label = None
    scope: int | None = None
    flags = 0
    while rest:
        key = rest.pop(0)
        if key == "dev" and rest:
            dev = rest.pop(0)
        elif key in ("brd", "broadcast") and rest:
            brd = rest.pop(0)
        elif key == "label" and rest:
            label = rest.pop(0)
        elif key == "scope" and rest:
            scope = _name_or_number(rest.pop(0), SCOPE_NAMES, "invalid scope value.")
        elif key == "noprefixroute":
            flags |= IFA_F_NOPREFIXROUTE
        else:
            raise _usage_error(f'Error: either "local" is duplicate, or "{key}" is a garbage.')
    if dev is None:
        raise IpError('Not enough information: "dev" argument is required.')
    if label is not None and len(label) >= IFNAMSIZ:
        raise IpError("Error: Attribute failed policy validation.", 2)
    local, plen = _prefix(cidr)
    mask = inet_make_mask(plen)
    if brd is None:
        broadcast = 0
    elif brd in ("+", "-"):
        broadcast = (local | ~mask) & 0xFFFFFFFF if brd == "+" else local & mask
    else:
        broadcast = _inet_addr(brd)
    inet_addr_add(host, _dev(host, dev), f"{in_ntoa(local)}/{plen}", broadcast, scope=scope, label=label,
                  flags=flags)


def _addr_del(host: Host, args: list[str]) -> None:
    """``ip addr del ADDR[/LEN] dev DEV [label LABEL]``; without the length, any address ADDR
    (iproute2's wildcard deletion, which it warns about on stderr); a label must be the
    address's (``inet_rtm_deladdr``)."""
    words = dict(zip(args[1::2], args[2::2], strict=False))
    if "dev" not in words or len(args) % 2 == 0 or set(words) - {"dev", "label"}:
        raise IpError('Not enough information: "dev" argument is required.')
    local, plen = _prefix(args[0])
    inet_addr_del(host, _dev(host, words["dev"]), local, plen if "/" in args[0] else None, words.get("label"))


# -- ip route --------------------------------------------------------------------------------------

def ip_route_get(host: Host, addr: str, saddr: int = 0, oif: int = 0, mark: int = 0, tos: int = 0,
                 json: bool = False, fl: tuple[int, int, int] = (IPPROTO_UDP, 0, 0),
                 uid: int = 0) -> str | list[dict[str, object]]:
    """``ip route get ADDR [from ADDR] [oif DEV] [mark MARK] [tos TOS] [ipproto P] [sport N]
    [dport N] [uid N]``, byte for byte as iproute2 prints it (each line ends with a space): the
    route's type, ``from`` as asked, its table when rules chose one other than main, its source
    when not the one asked for, the mark, the uid; ``json``: the same under iproute2's keys.  The
    flow's protocol and ports are ``fl`` (``inet_rtm_getroute``'s: UDP unless asked)."""
    daddr = _prefix(addr)[0]
    rt = ip_route_output_key(host, daddr, saddr, oif, mark=mark, tos=tos, proto=fl[0], sport=fl[1], dport=fl[2],
                             uid=uid)
    if isinstance(rt, int):
        raise IpError(f"RTNETLINK answers: {strerror(-rt)}", 2)
    fa = fib_lookup(host, daddr, saddr=saddr, oif=oif, mark=mark, tos=tos & INET_DSCP_MASK, proto=fl[0],
                    sport=fl[1], dport=fl[2], uid=uid)
    words = [addr]
    obj: dict[str, object] = {}
    if rt.rt_type in (RTN_LOCAL, RTN_BROADCAST):
        words.insert(0, RTN_NAMES[rt.rt_type])
        obj["type"] = RTN_NAMES[rt.rt_type]
    obj["dst"] = in_ntoa(daddr)
    if saddr:
        words += ["from", in_ntoa(saddr)]
        obj["from"] = in_ntoa(saddr)
    if rt.gw:
        words += ["via", in_ntoa(rt.gw)]
        obj["gateway"] = in_ntoa(rt.gw)
    words += ["dev", rt.dev.name]
    obj["dev"] = rt.dev.name
    if fa is not None and fa.table != RT_TABLE_MAIN and host.fib_has_custom_rules:
        # (until rules change, Linux keeps local's routes in main's trie: fib_unmerge)
        words += ["table", rt_table_name(fa.table)]
        obj["table"] = rt_table_name(fa.table)
    if rt.saddr != saddr:
        words += ["src", in_ntoa(rt.saddr)]
        obj["prefsrc"] = in_ntoa(rt.saddr)
    obj["flags"] = []
    if mark:  # (iproute2: in hexadecimal from 16)
        words += ["mark", f"0x{mark:x}" if mark >= 16 else str(mark)]
        obj["mark"] = mark
    words += ["uid", str(uid)]
    obj["uid"] = uid
    if rt.rt_type in (RTN_LOCAL, RTN_BROADCAST):  # (RTCF_BROADCAST | RTCF_LOCAL: it loops back as well)
        flags = ["local"] if rt.rt_type == RTN_LOCAL else ["local", "brd"]
        obj["cache"] = flags
        return [obj] if json else f"{' '.join(words)} \n    cache <{','.join(flags)}> \n"
    cache = ["    cache"]
    obj["cache"] = []
    if rt.redirected:
        cache.append("<redirected>")
        obj["cache"] = ["redirected"]
    fnhe = find_exception(host, daddr)
    if fnhe is not None:
        expires = (fnhe.expires - host.world.now) // NSEC_PER_SEC
        cache.append(f"expires {expires}sec")
        obj["expires"] = expires
    # The entry's metrics are its route's (rt_set_nexthop), but for a path MTU learned since
    # (rt_fill_info), locked when it was learned below min_pmtu.
    pmtu = fnhe.mtu if fnhe is not None else 0
    cache += format_metrics(fa, pmtu, fnhe is not None and fnhe.locked)
    metrics = metrics_json(fa, pmtu)
    if metrics:
        obj["metrics"] = metrics
    return [obj] if json else f"{' '.join(words)} \n{' '.join(cache)} \n"


def _route_get_args(host: Host, args: list[str]) -> tuple[int, int, NetDevice | None, int, int,
                                                          tuple[int, int, int], int]:
    """What follows ``ip route get ADDR``: ``from ADDR``, ``oif DEV``, ``iif DEV`` (the route a
    packet coming in by it would take), ``mark MARK``, ``tos``/``dsfield TOS``, ``ipproto`` (TCP,
    UDP or ICMP: ``rtm_getroute_parse_ip_proto``), ``sport``, ``dport`` and ``uid`` (iproute2's
    words): (source, output device's index, input device, mark, TOS, (protocol, source port,
    destination port), uid)."""
    saddr = oif = mark = tos = sport = dport = uid = 0
    proto = IPPROTO_UDP
    iif = None
    while args:
        key = args.pop(0)
        if key in ("from", "oif", "iif", "mark", "tos", "dsfield", "ipproto", "sport", "dport", "uid") and not args:
            raise _usage_error('Command line is not complete. Try option "help"')
        if key == "from":
            saddr = _prefix(args.pop(0))[0]
        elif key == "oif":
            oif = _dev(host, args.pop(0)).ifindex
        elif key == "iif":
            iif = _dev(host, args.pop(0))
        elif key == "mark":
            value = args.pop(0)
            number = get_unsigned(value)
            if number is None:
                raise _usage_error(f'Error: argument "{value}" is wrong: invalid mark value')
            mark = number
        elif key in ("tos", "dsfield"):
            tos = _dsfield(args.pop(0))
        elif key == "ipproto":
            value = args.pop(0)
            proto = inet_proto_a2n(host, value)
            if proto < 0:
                raise _usage_error(f'Error: argument "{value}" is wrong: Invalid "ipproto" value')
            if proto not in (IPPROTO_TCP, IPPROTO_UDP, IPPROTO_ICMP):
                raise IpError("Error: Unsupported ip proto.", 2)
        elif key in ("sport", "dport", "uid"):
            value = args.pop(0)
            number = get_unsigned(value, 0, U32_MAX if key == "uid" else 0xFFFF)
            if number is None:
                raise _usage_error(f'Error: argument "{value}" is wrong: invalid {"UID" if key == "uid" else key}')
            if key == "sport":
                sport = number
            elif key == "dport":
                dport = number
            else:
                uid = number
        else:
            raise _usage_error(f'Error: either "to" is duplicate, or "{key}" is a garbage.')
    return saddr, oif, iif, mark, tos, (proto, sport, dport), uid


def ip_route_get_input(host: Host, addr: str, saddr: int, dev: NetDevice, mark: int = 0, tos: int = 0,
                       json: bool = False,
                       fl: tuple[int, int, int] = (IPPROTO_UDP, 0, 0)) -> str | list[dict[str, object]]:
    """``ip route get ADDR from SRC iif DEV``: ``ip_route_input_rcu`` for such a packet, as
    ``inet_rtm_getroute`` prints it (an error route's error is the answer); ``json``: the same
    under iproute2's keys.  The packet is the one ``inet_rtm_getroute_build_skb`` makes: a
    header of protocol ``fl[0]`` and, for TCP and UDP, the ports ``fl[1:]`` (an ICMP echo
    request has none)."""
    daddr = _prefix(addr)[0]
    proto, sport, dport = fl
    skb = SkBuff(bytearray(28))
    skb.network_header = 0
    skb.buf[0] = 0x45
    skb.buf[1] = tos
    skb.buf[9] = proto
    if proto == IPPROTO_ICMP:
        skb.buf[20] = ICMP_ECHO
    else:
        skb.buf[20:24] = sport.to_bytes(2, "big") + dport.to_bytes(2, "big")
    skb.mark = mark
    err = ip_route_input_noref(host, skb, daddr, saddr, dev)
    if not err and skb.dst.error:
        err = skb.dst.error
    if err:
        raise IpError(f"RTNETLINK answers: {strerror(-err)}", 2)
    rt = skb.dst
    words = [addr, "from", in_ntoa(saddr)]
    obj: dict[str, object] = {}
    flags = []
    if rt.rt_type in (RTN_LOCAL, RTN_BROADCAST):
        words.insert(0, RTN_NAMES[rt.rt_type])
        obj["type"] = RTN_NAMES[rt.rt_type]
        flags = ["local"] if rt.rt_type == RTN_LOCAL else ["local", "brd"]
    elif rt.dev is dev and rt_redirect_due(host, dev, saddr, rt.gw):
        flags = ["redirect"]
    obj.update(dst=in_ntoa(daddr), **{"from": in_ntoa(saddr)})
    if rt.gw:
        words += ["via", in_ntoa(rt.gw)]
        obj["gateway"] = in_ntoa(rt.gw)
    words += ["dev", rt.dev.name]
    obj["dev"] = rt.dev.name
    proto, sport, dport = fib4_rules_early_flow_dissect(skb) if host.fib_rules_require_fldissect else (0, 0, 0)
    fa = fib_lookup(host, daddr, saddr=saddr, iif=dev.ifindex, mark=mark, tos=tos & INET_DSCP_MASK, proto=proto,
                    sport=sport, dport=dport)
    if fa is not None and fa.table != RT_TABLE_MAIN and host.fib_has_custom_rules:
        words += ["table", rt_table_name(fa.table)]
        obj["table"] = rt_table_name(fa.table)
    obj["flags"] = []
    if mark:
        words += ["mark", f"0x{mark:x}" if mark >= 16 else str(mark)]
        obj["mark"] = mark
    obj.update(cache=flags, iif=dev.name)
    if json:
        return [obj]
    cache = f"    cache <{','.join(flags)}>" if flags else "    cache"
    return f"{' '.join(words)} \n{cache} iif {dev.name} \n"


# -- ip rule ---------------------------------------------------------------------------------------

_RULE_ACTIONS = {"unicast": FR_ACT_TO_TBL, "blackhole": FR_ACT_BLACKHOLE, "unreachable": FR_ACT_UNREACHABLE,
                 "prohibit": FR_ACT_PROHIBIT, "nop": FR_ACT_NOP}
# iproute2's rule words tuxnet's rules do not have
_RULE_UNSUPPORTED = ("realms", "suppress_ifgroup", "l3mdev", "protocol", "nat", "map-to", "flowid", "dscp")


def _rule_args(host: Host, args: list[str]) -> dict[str, object]:
    """``iprule_modify``'s and the listing's reading of a rule: FibRule's attributes, only those
    the command line names."""
    want: dict[str, object] = {}
    args = list(args)
    while args:
        key = args.pop(0)
        if key == "not":
            want["invert"] = True
            continue
        if key in _RULE_UNSUPPORTED:
            raise _usage_error(f'Error: tuxnet\'s "ip rule" has no "{key}" (from, to, tos, fwmark, iif, oif, '
                               "uidrange, ipproto, sport, dport, pref, table, suppress_prefixlength, goto, nop, "
                               "blackhole, unreachable, prohibit).")
        if key == "type":
            key = args.pop(0) if args else ""
        if key in _RULE_ACTIONS:
            want["action"] = _RULE_ACTIONS[key]
            continue
        if key == "goto":
            value = args.pop(0) if args else ""
            target = get_unsigned(value)
            if target is None:
                raise _usage_error(f'Error: argument "{value}" is wrong: invalid target')
            want["action"], want["target"] = FR_ACT_GOTO, target
            continue
        if key not in ("from", "to", "iif", "dev", "oif", "pref", "priority", "order", "table", "lookup", "fwmark",
                       "tos", "dsfield", "suppress_prefixlength", "sup_pl", "uidrange", "ipproto", "sport", "dport"):
            raise _usage_error(f'Error: argument "{key}" is wrong: Failed to parse rule type')
        if not args:
            raise _usage_error('Command line is not complete. Try option "help"')
        value = args.pop(0)
        if key in ("from", "to"):
            addr, plen = _prefix(value)
            side = "src" if key == "from" else "dst"
            want[side], want[side + "_len"] = (addr, plen) if plen else (0, 0)
        elif key in ("iif", "dev", "oif"):
            want["oifname" if key == "oif" else "iifname"] = value
        elif key == "fwmark":
            mark_text, slash, mask_text = value.partition("/")
            mark = get_unsigned(mark_text)
            if mark is None:
                raise _usage_error(f'Error: argument "{mark_text}" is wrong: fwmark value is invalid')
            mask = get_unsigned(mask_text) if slash else 0xFFFFFFFF
            if mask is None:
                raise _usage_error(f'Error: argument "{mask_text}" is wrong: fwmask value is invalid')
            want["mark"], want["mark_mask"] = mark, mask
        elif key in ("tos", "dsfield"):
            tos = _dsfield(value)
            if tos & 0x03:  # fib4_rule_configure
                raise IpError("Error: Invalid dsfield (tos): ECN bits must be 0.", 2)
            if tos & ~0x1E:
                raise IpError("Error: Invalid tos.", 2)
            want["tos"] = tos
        elif key in ("suppress_prefixlength", "sup_pl"):
            length = get_integer(value)
            if length is None or length < 0:
                raise _usage_error(f'Error: argument "{value}" is wrong: suppress_prefixlength value is invalid')
            want["suppress_prefixlen"] = length
        elif key == "uidrange":
            uids = scan_range(value, 32)
            if len(uids) != 2:
                raise _usage_error(f'Error: argument "{value}" is wrong: invalid UID range')
            want["uid_range"] = (uids[0], uids[1])
        elif key == "ipproto":
            proto = inet_proto_a2n(host, value)
            if proto < 0:
                raise _usage_error(f'Error: argument "{value}" is wrong: Invalid "ipproto" value')
            want["ip_proto"] = proto
        elif key in ("sport", "dport"):
            ports = scan_range(value, 16)
            if not ports:
                raise _usage_error(f'Error: argument "{value}" is wrong: invalid port range')
            want[f"{key}_range"] = (ports[0], ports[-1])
        elif key in ("pref", "priority", "order"):
            pref = get_unsigned(value)
            if pref is None:
                raise _usage_error(f'Error: argument "{value}" is wrong: preference value is invalid')
            want["pref"] = pref
        else:
            want["table"] = _table_id(value)
    return want


def _dsfield(word: str) -> int:
    """``rtnl_dsfield_a2n``: a TOS octet, in hexadecimal with or without 0x."""
    number, end, err = libc.strtoul(word, base=16)
    if not word or end != len(word) or err or number > 0xFF:
        raise _usage_error(f'Error: argument "{word}" is wrong: TOS value is invalid')
    return number


def ip_rule(host: Host, cmd: str, args: list[str], json: bool = False, pretty: bool = False) -> str:
    """``ip rule [show|list] [table ID] [pref N]``, ``ip rule add|del SELECTOR ACTION`` and
    ``ip rule flush``, as iproute2 and the kernel's fib_rules do them (``json``: ``ip -json``)."""
    if cmd in ("show", "list", "ls", "lst", "s"):
        want = _rule_args(host, args)
        name = partial(inet_proto_n2a, host)
        if json:
            return json_dumps([r.json(host, name) for r in host.fib_rules if r.has(want)], pretty)
        return "".join(r.format(host, name) + "\n" for r in host.fib_rules if r.has(want))
    if cmd == "add":
        want = _rule_args(host, args)
        action = want.pop("action", FR_ACT_TO_TBL)
        table = want.pop("table", RT_TABLE_MAIN if action == FR_ACT_TO_TBL else 0)
        pref = want.pop("pref", None)
        rule = FibRule(fib_default_rule_pref(host) if pref is None else pref, action, table, **want)
        fib_rule_add(host, rule)
        return ""
    if cmd in ("del", "delete"):
        want = _rule_args(host, args)
        want.pop("target", None)  # (rule_find does not compare a goto's target)
        fib_rule_del(host, want)
        return ""
    if cmd == "flush":
        fib_rules_flush(host)
        return ""
    raise _usage_error(f'Command "{cmd}" is unknown, try "ip rule help".')


_METRIC_NAMES = {"mtu": "mtu", "advmss": "mss", "initcwnd": "initcwnd", "initrwnd": "initrwnd"}


def _route_args(args: list[str]) -> tuple[str, dict[str, str], dict[str, int]]:
    """``iproute_modify``'s parsing: the prefix, the plain options and the metrics."""
    if not args:
        raise _usage_error("Usage: ip route { list | flush } SELECTOR")
    args = list(args)
    opts: dict[str, str] = {}
    if args[0] in ("anycast", "multicast", "nat", "xresolve"):
        raise _usage_error(f'Error: tuxnet\'s "ip route" has no "{args[0]}" routes (unicast, local, broadcast, '
                           "throw, blackhole, unreachable, prohibit).")
    if args[0] in _ROUTE_TYPES:
        opts["type"] = args.pop(0)
    if not args:
        raise _usage_error("Usage: ip route { list | flush } SELECTOR")
    dst = _cidr(args.pop(0))
    metrics: dict[str, int] = {}
    while args:
        key = args.pop(0)
        if key in _METRIC_NAMES:
            if args[:1] == ["lock"]:
                if key != "mtu":
                    raise _usage_error(f'Error: "{key} lock" is not supported by tuxnet (only "mtu lock").')
                args.pop(0)
                metrics["mtu_lock"] = True
            if not args:
                raise _usage_error('Command line is not complete. Try option "help"')
            value = args.pop(0)
            number = get_unsigned(value)
            if number is None:
                raise _usage_error(f'Error: argument "{value}" is wrong: "{_METRIC_NAMES[key]}" value is invalid')
            metrics[key] = number
        elif key in ("via", "dev", "metric", "src", "proto", "scope", "table") and args:
            opts[key] = args.pop(0)
        else:
            raise _usage_error(f'Error: either "to" is duplicate, or "{key}" is a garbage.')
    for key in ("via", "src"):
        if key in opts:
            opts[key] = in_ntoa(_inet_addr(opts[key]))
    metric = get_unsigned(opts.get("metric", "0"))
    if metric is None:
        raise _usage_error(f'Error: argument "{opts["metric"]}" is wrong: "metric" value is invalid')
    opts["metric"] = str(metric)
    # a local or broadcast route goes to the local table unless one is named (iproute_modify)
    default = "local" if opts.get("type") in ("local", "broadcast") else "main"
    opts["table"] = str(_table_id(opts.get("table", default)))
    return dst, opts, metrics


def _route_delete(host: Host, args: list[str]) -> None:
    """``ip route del [TYPE] PREFIX [table ID] [metric N] [via ADDR] [dev DEV] [src ADDR]
    [proto P] [scope S]``: what is given must match (iproute2 sends a scope of "nowhere", any,
    unless one is named)."""
    dst, opts, _ = _route_args(args)
    table = int(opts["table"])
    if "dev" in opts:
        _dev(host, opts["dev"])
    proto = _name_or_number(opts["proto"], PROTO_NAMES, '"protocol" value is invalid') if "proto" in opts else None
    scope = _name_or_number(opts["scope"], SCOPE_NAMES, 'invalid "scope" value') if "scope" in opts else None
    fib_route_del(host, dst, table, metric=int(opts["metric"]) if "metric" in args else None,
                  via=opts.get("via"), dev=opts.get("dev"), src=opts.get("src"), protocol=proto, scope=scope,
                  type=_ROUTE_TYPES[opts["type"]] if "type" in opts else None)


def _name_or_number(word: str, names: dict[int, str], complaint: str) -> int:
    """``rtnl_rtscope_a2n``, ``rtnl_rtprot_a2n``: a name from iproute2's table, or a number
    (base 0) below 256; else iproute2's complaint."""
    number = next((n for n, name in names.items() if name == word), None)
    if number is None:
        number = get_unsigned(word)
    if number is None or number > 255:
        raise _usage_error(f'Error: argument "{word}" is wrong: {complaint}')
    return number


def _route_modify(host: Host, cmd: str, args: list[str]) -> None:
    """``ip route add|change|replace``."""
    dst, opts, metrics = _route_args(args)
    if "dev" in opts:
        _dev(host, opts["dev"])
    kwargs = dict(via=opts.get("via"), dev=opts.get("dev"), metric=int(opts.get("metric", 0)),
                  src=opts.get("src"), type=_ROUTE_TYPES[opts.get("type", "unicast")],
                  table=int(opts["table"]), **metrics)
    if "scope" in opts:
        kwargs["scope"] = _name_or_number(opts["scope"], SCOPE_NAMES, 'invalid "scope" value')
    if "proto" in opts:
        kwargs["protocol"] = _name_or_number(opts["proto"], PROTO_NAMES, '"protocol" value is invalid')
    try:
        if cmd == "add":
            fib_route_add(host, dst, **kwargs)
        else:
            fib_route_change(host, dst, create=cmd == "replace", **kwargs)
    except (FileExistsError, ValueError) as e:
        raise IpError(str(e), 2) from None


def ip_neigh_show_proxy(host: Host, json: bool = False) -> str | list[dict[str, object]]:
    """``ip neigh show proxy``: the addresses answered for, with their device unless any."""
    objs: list[dict[str, object]] = []
    for ifindex, key in sorted(host.arp_tbl.phash):
        obj: dict[str, object] = {"dst": in_ntoa(key)}
        if ifindex:
            obj["dev"] = host.dev_by_index[ifindex].name
        objs.append({**obj, "proxy": None})
    if json:
        return objs
    return "".join(f"{o['dst']}{' dev ' + str(o['dev']) if 'dev' in o else ''} proxy \n" for o in objs)


def _neigh_proxy(host: Host, cmd: str, args: list[str]) -> None:
    """``ip neigh add|replace|del proxy ADDR [dev DEV]``."""
    if not args:
        raise _usage_error('Command line is not complete. Try option "help"')
    addr = _inet_addr(args[0], "any valid address")
    dev = None
    if args[1:2] == ["dev"] and len(args) == 3:
        dev = _dev(host, args[2])
    elif len(args) > 1:
        raise _usage_error(f'Error: either "to" is duplicate, or "{args[1]}" is a garbage.')
    if cmd in ("add", "replace"):
        pneigh_create(host.arp_tbl, addr, dev)
    elif not pneigh_delete(host.arp_tbl, addr, dev):
        raise IpError("RTNETLINK answers: No such file or directory", 2)


def _neigh_modify(host: Host, cmd: str, args: list[str]) -> None:
    """``ip neigh add|replace|change|del [to] ADDR [lladdr MAC] [nud STATE] dev DEV``
    (``ipneigh_modify``), as the kernel's ``neigh_add`` and ``neigh_delete`` take them."""
    addr = ""
    opts: dict[str, str] = {}
    while args:
        key = args.pop(0)
        if key in ("lladdr", "dev", "nud") and args:
            opts[key] = args.pop(0)
        elif not addr and key not in ("lladdr", "dev", "nud", "to") or key == "to" and args and not addr:
            addr = args.pop(0) if key == "to" else key
        else:
            raise _usage_error(f'Error: either "to" is duplicate, or "{key}" is a garbage.')
    if "dev" not in opts or not addr:
        raise _usage_error("Device and destination are required arguments.")
    state = _NUD_BY_NAME.get(opts.get("nud", "permanent"))
    if state is None:
        raise _usage_error(f'Error: argument "{opts["nud"]}" is wrong: nud state is bad')
    dst = _inet_addr(addr, "any valid address")
    dev = _dev(host, opts["dev"])
    lladdr = _ll_addr_a2n(opts["lladdr"]) if "lladdr" in opts else None
    if lladdr is not None and len(lladdr) < dev.addr_len:
        raise IpError("Error: Invalid link address.", 2)  # (neigh_add: shorter than the device's)
    try:
        if cmd in ("del", "delete"):
            neigh_delete(host.arp_tbl, dst, dev)
        else:
            neigh_add(host.arp_tbl, dst, dev, lladdr, state, create=cmd != "change", excl=cmd == "add",
                      replace=cmd != "add")
    except OSError as e:
        raise IpError(f"RTNETLINK answers: {e.strerror}", 2) from None
    except ValueError as e:
        raise IpError(str(e), 2) from None


def _ll_addr_a2n(text: str) -> bytes:
    """``ll_addr_a2n``: colon-separated bytes of one or two hexadecimal digits, as many as given."""
    try:
        octets = [int(part, 16) for part in text.split(":")]
    except ValueError:
        octets = []
    if not octets or any(not 0 <= o <= 0xFF for o in octets) or any(len(p) > 2 for p in text.split(":")):
        raise IpError(f'"{text}" is invalid lladdr.')
    return bytes(octets)


def _neigh_filter(host: Host, args: list[str], flush: bool) -> tuple[int, int, NetDevice | None, int]:
    """``do_show_or_flush``'s selectors: ``[to] PREFIX`` (``all``: any), ``dev DEV``, ``nud STATE``
    (again for more states; ``all`` for every one): the prefix, its length, the device and the
    states.  Without ``nud``, a show leaves NOARP and NONE entries out, a flush NOARP and
    PERMANENT ones."""
    prefix = plen = 0
    dev = None
    states: int | None = None
    while args:
        word = args.pop(0)
        if word == "dev" and args:
            dev = _dev(host, args.pop(0))
        elif word == "nud" and args:
            name = args.pop(0)
            # (a flush of "all" leaves NOARP entries all the same)
            state = (_NUD_ALL & ~NUD_NOARP if flush else _NUD_ALL) if name == "all" else _NUD_FILTER.get(name)
            if state is None:
                raise _usage_error(f'Error: argument "{name}" is wrong: nud state is bad')
            states = (states or 0) | state
        elif word in ("dev", "nud"):
            raise _usage_error('Command line is not complete. Try option "help"')
        else:
            text = args.pop(0) if word == "to" and args else word
            prefix, plen = _prefix(text)
    if states is None:  # (a show's, the states proper; a flush's, NONE too)
        states = _NUD_ALL & ~NUD_NOARP & ~NUD_PERMANENT if flush else 0xFF & ~NUD_NOARP
    return prefix, plen, dev, states


def _nud_bits(state: int) -> int:
    """An entry's state as the filters see it: NUD_NONE as iproute2's own bit."""
    return state or _NUD_FILTER_NONE


def _neigh_flush(host: Host, args: list[str]) -> None:
    """``ip neigh flush SELECTOR``: each entry it selects deleted (RTM_DELNEIGH), as iproute2 does."""
    if not args:
        raise IpError("Flush requires arguments.")
    prefix, plen, dev, states = _neigh_filter(host, args, True)
    mask = inet_make_mask(plen)
    for n in list(host.arp_tbl.entries.values()):
        if (dev is None or n.dev is dev) and _nud_bits(n.nud_state) & states and n.primary_key & mask == prefix & mask:
            neigh_delete(host.arp_tbl, n.primary_key, n.dev)


# -- the command -----------------------------------------------------------------------------------

def _match(word: str, full: str) -> bool:
    """iproute2's ``matches``: any prefix of the full word."""
    return bool(word) and full.startswith(word)


def _dev_arg(args: list[str]) -> str | None:
    if not args:
        return None
    if args[0] == "dev":
        if len(args) < 2:
            raise _usage_error('Command line is not complete. Try option "help"')
        return args[1]
    return args[0]


def ip(host: Host, argv: str | list[str]) -> str:
    """Run one ``ip`` command on ``host``; returns its output.  ``-json`` prints what a show
    command shows as iproute2's JSON (``-pretty``: indented)."""
    args = shlex.split(argv) if isinstance(argv, str) else list(argv)
    stats = 0
    details = brief = json = pretty = oneline = False
    while args and args[0].startswith("-"):
        opt = args.pop(0)
        if _match(opt, "-stats") or _match(opt, "-statistics"):
            stats += 1
        elif _match(opt, "-details"):
            details = True
        elif len(opt) > 2 and "-brief".startswith(opt):
            brief = True
        elif _match(opt, "-json"):
            json = True
        elif _match(opt, "-oneline"):
            oneline = True
        elif _match(opt, "-pretty"):
            pretty = True
        elif opt not in ("-4", "-n"):
            raise _usage_error(f'Option "{opt}" is unknown, try "ip -help".')
    if not args:
        raise _usage_error("Usage: ip [ OPTIONS ] OBJECT { COMMAND | help }")
    obj = args.pop(0)
    cmd = args.pop(0) if args else "show"
    out = _ip_command(host, obj, cmd, args, stats, details, brief, json, pretty, oneline)
    return json_dumps(out, pretty) if isinstance(out, list) else out


def _ip_command(host: Host, obj: str, cmd: str, args: list[str], stats: int, details: bool, brief: bool,
                json: bool, pretty: bool, oneline: bool) -> str | list[dict[str, object]]:
    """``ip OBJECT COMMAND ARGS``: the output, or (``json``) the objects iproute2 would print."""
    try:
        if _match(obj, "address"):
            if cmd in ("show", "list", "ls", "lst", "s"):
                return ip_addr_show(host, _dev_arg(args), stats, brief, json, oneline)
            if cmd == "add" and args:
                _addr_add(host, args)
                return ""
            if cmd in ("del", "delete") and args:
                _addr_del(host, args)
                return ""
        elif _match(obj, "link"):
            if cmd in ("show", "list", "ls", "lst", "s"):
                return ip_link_show(host, _dev_arg(args), stats, details, brief, json, oneline)
            if cmd == "set" and args:
                return _link_set(host, args)
            if cmd == "add":
                _link_add(host, args)
                return ""
            if cmd in ("del", "delete") and args:
                dev = _dev(host, _dev_arg(args))
                if not is_vlan_dev(dev):  # (rtnl_dellink: a device without dellink)
                    raise IpError("RTNETLINK answers: Operation not supported", 2)
                unregister_vlan_dev(host, dev)
                return ""
        elif _match(obj, "route"):
            if cmd in ("show", "list", "ls", "lst", "s"):
                table, routes, omit = _route_select(host, args, "Dump")
                if json:
                    return [route_json(fa, table is None, omit) for fa in routes]
                return "".join(fa.format(table is None, omit) + " \n" for fa in routes)
            if cmd == "flush":
                if not args:
                    raise IpError('"ip route flush" requires arguments.')
                if args == ["cache"]:  # (rt_cache_flush, as a write to /proc/sys/net/ipv4/route/flush)
                    fib_flush_cache(host)
                    return ""
                table, routes, _ = _route_select(host, args, "Flush")
                fib_table_flush(host, routes)
                return ""
            if cmd in ("add", "change", "chg", "replace"):
                _route_modify(host, "change" if cmd == "chg" else cmd, args)
                return ""
            if cmd in ("del", "delete"):
                _route_delete(host, args)
                return ""
            if cmd == "get":
                if not args:
                    raise IpError("need at least a destination address")
                saddr, oif, iif, mark, tos, fl, uid = _route_get_args(host, args[1:])
                if iif is not None:
                    return ip_route_get_input(host, args[0], saddr, iif, mark, tos, json, fl)
                return ip_route_get(host, args[0], saddr, oif, mark, tos, json, fl, uid)
        elif _match(obj, "rule"):
            return ip_rule(host, cmd, args, json, pretty)
        elif _match(obj, "maddress"):
            if cmd in ("show", "list", "ls", "lst", "s"):
                return ip_maddr_show(host, _dev_arg(args), json)
        elif obj in ("tcp_metrics", "tcpmetrics"):
            if json:
                raise _usage_error('tuxnet: "ip -json tcp_metrics" is not supported (its text is).')
            return _tcp_metrics(host, cmd, args)
        elif _match(obj, "neighbour") or _match(obj, "neighbor"):
            if cmd in ("show", "list", "ls", "lst", "s"):
                if args[:1] == ["proxy"]:
                    return ip_neigh_show_proxy(host, json)
                return ip_neigh_show(host, args, brief, json, stats)
            if cmd in ("add", "replace", "del", "delete") and args[:1] == ["proxy"]:
                _neigh_proxy(host, cmd, args[1:])
                return ""
            if cmd in ("add", "replace", "change", "chg", "del", "delete"):
                _neigh_modify(host, "change" if cmd == "chg" else cmd, args)
                return ""
            if cmd == "flush":
                _neigh_flush(host, args)
                return ""
        else:
            raise IpError(f'Object "{obj}" is unknown, try "ip help".')
    except IpError:
        raise
    except (ValueError, OSError) as e:  # what the kernel refused
        raise IpError(str(e), 2) from None
    raise _usage_error(f'Command "{cmd}" is unknown, try "ip {obj} help".')


def ip_maddr_show(host: Host, devname: str | None, json: bool = False) -> str | list[dict[str, object]]:
    """``ip maddr show [dev DEV]`` (ipmaddr.c, from /proc/net/dev_mcast and /proc/net/igmp): each
    device's multicast link addresses, then its groups, newest first, with their users when more
    than one; ``json``: the same under iproute2's keys."""
    if devname is not None:
        _dev(host, devname)
    lines = []
    objs: list[dict[str, object]] = []
    for dev in sorted(host.devices.values(), key=lambda d: d.ifindex):
        if devname is not None and dev.name != devname:
            continue
        st = dev.ip_ptr.igmp if dev.ip_ptr is not None else None
        entries: list[tuple[dict[str, object], str, int]] = [
            ({"link": mac.hex(":")}, f"link  {mac.hex(':')}", users) for mac, users in dev.mc_list.items()]
        if st is not None:
            entries += [({"family": "inet", "address": in_ntoa(im.multiaddr)}, f"inet  {in_ntoa(im.multiaddr)}",
                         im.users) for im in reversed(st.mc_list.values())]
        if entries:
            lines.append(f"{dev.ifindex}:\t{dev.name}")
            lines += [f"\t{text}" + (f" users {users}" if users != 1 else "") for _, text, users in entries]
            objs.append({"ifindex": dev.ifindex, "ifname": dev.name,
                         "maddr": [{**obj, **({"users": users} if users != 1 else {})} for obj, _, users in entries]})
    if json:
        return objs
    return "".join(line + "\n" for line in lines)


def _tcp_metrics(host: Host, cmd: str, args: list[str]) -> str:
    """``ip tcp_metrics show [[address] ADDR]``, ``flush [all | [address] ADDR]``,
    ``delete [address] ADDR``."""
    if args[:1] == ["address"]:
        args = args[1:]
    if len(args) > 1:
        raise _usage_error(f'Error: either "to" is duplicate, or "{args[1]}" is a garbage.')
    daddr = _prefix(args[0])[0] if args and args[0] != "all" else None
    if cmd in ("show", "list", "ls", "lst", "s"):
        out = tcp_metrics_show(host, daddr)
        if daddr is not None and not out:
            raise IpError("RTNETLINK answers: No such process", 2)  # the kernel has no entry
        return out
    if cmd in ("flush", "delete", "del"):
        if daddr is None and cmd != "flush":
            raise _usage_error('Error: argument "address" is required')
        if not tcp_metrics_flush(host, daddr) and daddr is not None:
            raise IpError("RTNETLINK answers: No such process", 2)
        return ""
    raise _usage_error(f'Command "{cmd}" is unknown, try "ip tcp_metrics help".')


def _table_id(word: str, what: str = '"table"') -> int:
    """``rtnl_rttable_a2n``: a table's name (/etc/iproute2/rt_tables) or number (base 0); else
    iproute2's complaint, which names ``what``."""
    number = {"unspec": 0, "default": RT_TABLE_DEFAULT, "main": RT_TABLE_MAIN,
              "local": RT_TABLE_LOCAL}.get(word, get_unsigned(word))
    if number is None:
        raise _usage_error(f'Error: argument "{word}" is wrong: {what} value is invalid')
    return number


def _route_table(host: Host, args: list[str], what: str) -> int | None:
    """``ip route show|flush|del ... [table ID]``: the table (None for ``all``, or 0, which
    shows every table); one that does not exist is the kernel's error, its dump ``what``
    terminated."""
    if not args:
        return RT_TABLE_MAIN
    if args[0] != "table":
        raise _usage_error(f'Error: either "to" is duplicate, or "{args[0]}" is a garbage.')
    if len(args) < 2:
        raise _usage_error('Command line is not complete. Try option "help"')
    table = None if args[1] == "all" else _table_id(args[1], "table id" if what else '"table"')
    if table == 0 and what:
        table = None
    if table is not None and fib_get_table(host, table) is None and what:
        raise IpError(f"Error: ipv4: FIB table does not exist.\n{what} terminated", 2)
    return table


def _route_select(host: Host, args: list[str], what: str) -> tuple[int | None, list[FibAlias], frozenset[str]]:
    """``iproute_list_flush_or_save``'s selectors: ``table ID|all``, ``dev``, ``via``, ``src``,
    ``proto``, ``scope``, ``type``, ``metric``, and the destinations: ``root PREFIX`` (it and
    the prefixes inside it), ``match PREFIX`` (the prefixes it is inside), ``exact PREFIX`` (or a
    bare prefix, ``to PREFIX``, ``default``); none, every route.  Returns the table (None: all),
    the routes selected in the dump's order, and the words the selectors fixed, which iproute2
    does not print."""
    table: int | None = RT_TABLE_MAIN
    tests: list[Callable[[FibAlias], bool]] = []
    omit = set()
    args = list(args)
    while args:
        word = args.pop(0)
        if word in ("table", "dev", "oif", "via", "src", "proto", "protocol", "scope", "type", "metric", "preference",
                    "priority") and not args:
            raise _usage_error('Command line is not complete. Try option "help"')
        if word == "table":
            table = _route_table(host, [word, args.pop(0)], what)
        elif word in ("dev", "oif"):
            dev = _dev(host, args.pop(0))
            tests.append(lambda fa, dev=dev: fa.dev is dev)
            omit.add("dev")
        elif word == "via":
            gw = _inet_addr(args.pop(0))
            tests.append(lambda fa, gw=gw: fa.gw == gw)
            omit.add("via")
        elif word == "src":
            src = _inet_addr(args.pop(0))
            tests.append(lambda fa, src=src: fa.prefsrc == src)
            omit.add("src")
        elif word in ("proto", "protocol"):
            proto = _name_or_number(args.pop(0), PROTO_NAMES, '"protocol" value is invalid')
            tests.append(lambda fa, proto=proto: fa.protocol == proto)
            omit.add("proto")
        elif word == "scope":
            scope = _name_or_number(args.pop(0), SCOPE_NAMES, 'invalid "scope"')
            tests.append(lambda fa, scope=scope: fa.scope == scope)
            omit.add("scope")
        elif word == "type":
            name = args.pop(0)
            rtype = next((t for t, n in RTN_NAMES.items() if n == name), None)
            if rtype is None:
                raise _usage_error(f'Error: argument "{name}" is wrong: node type value is invalid')
            tests.append(lambda fa, rtype=rtype: fa.type == rtype)
        elif word in ("metric", "preference", "priority"):
            value = args.pop(0)
            metric = get_unsigned(value)
            if metric is None:
                raise _usage_error(f'Error: argument "{value}" is wrong: "metric" value is invalid')
            tests.append(lambda fa, metric=metric: fa.metric == metric)
            omit.add("metric")
        else:
            mode = "exact"
            if word in ("to", "root", "match", "exact") and args:
                mode = "exact" if word == "to" else word
                word = args.pop(0)
                if word in ("root", "match", "exact") and args:
                    mode, word = word, args.pop(0)
            dst, plen = _prefix(word)
            if word in ("all", "any"):
                mode = "root"
            tests.append(_prefix_test(mode, dst, plen))
    routes = [fa for fa in fib_route_dump(host, table) if all(test(fa) for test in tests)]
    return table, routes, frozenset(omit)


def _prefix_test(mode: str, dst: int, plen: int) -> Callable[[FibAlias], bool]:
    """``filter_nlmsg``'s destination tests: ``root`` the routes inside dst/plen, ``match`` those
    it is inside, ``exact`` that one."""
    def inside(small: tuple[int, int], big: tuple[int, int]) -> bool:
        mask = inet_make_mask(big[1])
        return small[1] >= big[1] and small[0] & mask == big[0] & mask

    if mode == "root":
        return lambda fa: inside((fa.dst, fa.plen), (dst, plen))
    if mode == "match":
        return lambda fa: inside((dst, plen), (fa.dst, fa.plen))
    return lambda fa: (fa.dst, fa.plen) == (dst & inet_make_mask(plen), plen)


def get_unsigned(text: str, base: int = 0, limit: int = U32_MAX) -> int | None:
    """``get_unsigned``/``get_u32`` (lib/utils.c) in base 0: ``strtoul``'s whole number (0x
    hexadecimal, 0 octal), no more than an unsigned int holds; None where iproute2 fails.  With
    another ``base`` and ``limit``, ``get_u16`` and ``get_u8``."""
    number, end, err = libc.strtoul(text, base=base)
    if not text or end == 0 or end != len(text) or err or number > limit:
        return None
    return number


def scan_range(text: str, bits: int) -> list[int]:
    """``sscanf(text, "%u-%u")`` (``%hu-%hu`` for 16 ``bits``): the numbers it converts, none,
    one or two, each as C stores it (strtoul's, cut to ``bits``); what follows them is ignored."""
    values: list[int] = []
    i = 0
    while len(values) < 2:
        number, end, _ = libc.strtoul(text, i, 10)
        if end == i:
            break
        values.append(number & ((1 << bits) - 1))
        if text[end:end + 1] != "-":
            break
        i = end + 1
    return values


def inet_proto_a2n(host: Host, word: str) -> int:
    """iproute2's ``inet_proto_a2n``: an IP protocol's number, from its name or alias in the
    host's ``/etc/protocols`` or in decimal (``get_u8``); -1 for neither."""
    for name, number, aliases in protocols_entries(host.files.get("/etc/protocols") or ""):
        if word == name or word in aliases:
            return number
    number = get_unsigned(word, 10, 0xFF)
    return -1 if number is None else number


def inet_proto_n2a(host: Host, proto: int) -> str:
    """iproute2's ``inet_proto_n2a``: the protocol's name in the host's ``/etc/protocols``, or
    ``ipproto-N``."""
    for name, number, _ in protocols_entries(host.files.get("/etc/protocols") or ""):
        if number == proto:
            return name
    return f"ipproto-{proto}"


def get_integer(text: str) -> int | None:
    """``get_integer`` (lib/utils.c) in base 0: ``strtol``'s whole number within an int."""
    number, end, err = libc.strtol(text, base=0)
    if not text or end == 0 or end != len(text) or err or not -(1 << 31) <= number <= INT_MAX:
        return None
    return number


def _link_set_number(dev: NetDevice, word: str, value: int) -> None:
    """``do_setlink`` for IFLA_MTU, IFLA_GSO_MAX_SIZE and IFLA_GSO_MAX_SEGS, with the checks of
    ``validate_linkmsg`` and the attribute policy (a GSO packet must hold MAX_TCP_HEADER + 1)."""
    if word == "mtu":
        extack: list[str] = []
        err = dev_set_mtu(dev, value, extack)
        if err:
            raise IpError(f"Error: {extack[0]}." if extack else f"RTNETLINK answers: {strerror(-err)}", 2)
    elif word == "gso_max_size":
        if value < KERNEL_MAX_TCP_HEADER + 1:
            raise IpError("Error: integer out of range.", 2)
        if value > dev.tso_max_size:
            raise IpError("Error: too big gso_max_size.", 2)
        dev.netif_set_gso_max_size(value)
    else:
        if value > dev.tso_max_segs:
            raise IpError("Error: too big gso_max_segs.", 2)
        dev.gso_max_segs = value


def _link_add(host: Host, args: list[str]) -> None:
    """``ip link add [link DEV] [name] NAME type vlan id ID [protocol 802.1Q]``: tuxnet's one
    kind of virtual device, checked as iproute2 (``get_u16``) and ``vlan_newlink`` check it."""
    args = list(args)
    link = name = kind = vid = None
    while args:
        word = args.pop(0)
        if word in ("link", "name", "dev", "type") and not args:
            raise _usage_error('Command line is not complete. Try option "help"')
        if word == "link":
            link = args.pop(0)
        elif word in ("name", "dev"):
            name = args.pop(0)
        elif word == "type":
            kind = args.pop(0)
            break
        elif name is None:
            name = word
        else:
            raise _usage_error(f'Error: either "dev" is duplicate, or "{word}" is a garbage.')
    if name is None:
        raise _usage_error('Not enough information: "dev" argument is required.')
    if kind is None:
        raise _usage_error('Not enough information: "type" argument is required')
    real = _dev(host, link) if link is not None else None
    if kind != "vlan":
        raise IpError("Error: Unknown device type.", 2)
    proto = ETH_P_8021Q
    while args:
        word = args.pop(0)
        if word not in ("id", "protocol") or not args:
            raise _usage_error(f'Error: argument "{word}" is wrong: tuxnet\'s vlan takes "id ID" and '
                               '"protocol 802.1Q|802.1ad"')
        value = args.pop(0)
        if word == "id":
            vid = get_unsigned(value)
            if vid is None or vid > 0xFFFF:
                raise _usage_error(f'Error: argument "{value}" is wrong: id is invalid')
        elif value.lower() in VLAN_PROTOCOLS:
            proto = VLAN_PROTOCOLS[value.lower()]
        else:
            raise _usage_error(f'Error: argument "{value}" is wrong: protocol is invalid')
    if real is None:
        raise IpError("Error: 8021q: link not specified.", 2)
    if vid is None:
        raise IpError("Error: 8021q: VLAN id not specified.", 2)
    register_vlan_dev(host, real, name, vid, proto)


def _link_set(host: Host, args: list[str]) -> str:
    name = _dev_arg(args)
    rest = args[2:] if args[0] == "dev" else args[1:]
    dev = _dev(host, name)
    while rest:
        word = rest.pop(0)
        if word == "up":
            host.dev_open(dev)
        elif word == "down":
            host.dev_close(dev)
        elif word in ("mtu", "gso_max_size", "gso_max_segs"):
            if not rest:
                raise _usage_error('Command line is not complete. Try option "help"')
            value = rest.pop(0)
            number = get_integer(value) if word == "mtu" else get_unsigned(value)
            if number is None or word == "gso_max_segs" and number > GSO_MAX_SEGS:
                raise _usage_error(f'Error: argument "{value}" is wrong: Invalid "{word}" value')
            _link_set_number(dev, word, number)
        else:
            raise _usage_error(f'Error: either "dev" is duplicate, or "{word}" is a garbage.')
    return ""


def ip_main(argv: list[str]) -> int:
    """``ip`` as a program on a host: prints the output, or the error with iproute2's exit status
    (``IpError.status``)."""
    return tool_main(ip, argv)

