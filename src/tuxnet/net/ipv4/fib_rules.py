"""Policy routing: the rules ``fib_lookup`` walks (net/core/fib_rules.c, net/ipv4/fib_rules.c).

A rule picks flows by source and destination prefix, input and output device, mark (SO_MARK,
under a mask), DSCP (``tos``), the sender's uid, and the transport's protocol and port ranges
(``not`` inverts the choice), and says what to do with them:
look the destination up in a table, or fail (blackhole, unreachable, prohibit).  Rules are walked
by priority, lowest first; a table that does not exist, or has no route to the destination,
passes the flow on to the next rule.  A namespace starts with Linux's three (0 local, 32766 main,
32767 default) and, until a rule is added or deleted, ``fib_lookup`` looks in local and main
without walking them (``fib_has_custom_rules``).  Once a rule picks by protocol or port, the
flows of forwarded packets carry them too (``fib4_rules_early_flow_dissect``).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

from tuxnet.net.core.utils import in_ntoa, inet_make_mask
from tuxnet.net.ipv4.fib import (
    RT_TABLE_DEFAULT,
    RT_TABLE_LOCAL,
    RT_TABLE_MAIN,
    RTN_BLACKHOLE,
    RTN_PROHIBIT,
    RTN_THROW,
    RTN_UNICAST,
    RTN_UNREACHABLE,
    FibAlias,
    fib_flush_cache,
    rt_table_name,
)

if TYPE_CHECKING:
    from tuxnet.kernel.host import Host

FR_ACT_TO_TBL = RTN_UNICAST  # the rule actions share the route types' numbers (uapi fib_rules.h)
FR_ACT_GOTO = 2  # on to the rule of the target priority
FR_ACT_NOP = 3  # nothing: the walk goes on
FR_ACT_BLACKHOLE = RTN_BLACKHOLE
FR_ACT_UNREACHABLE = RTN_UNREACHABLE
FR_ACT_PROHIBIT = RTN_PROHIBIT
IPTOS_TOS_MASK = 0x1E  # the TOS bits a rule may name, and all it compares of a flow's DSCP
ACTION_NAMES = {FR_ACT_BLACKHOLE: "blackhole", FR_ACT_UNREACHABLE: "unreachable", FR_ACT_PROHIBIT: "prohibit",
                FR_ACT_NOP: "nop"}

# What a failing rule makes of a lookup, as a route of that type would (fib4_rule_action): a
# blackhole EINVAL, prohibit EACCES; unreachable is "no route" (ENETUNREACH), as None is.
_ERROR_TYPES = (RTN_BLACKHOLE, RTN_UNREACHABLE, RTN_PROHIBIT)  # (fib_props' errors: never suppressed)
_BLACKHOLE = FibAlias(0, 0, RTN_BLACKHOLE, None)
_PROHIBIT = FibAlias(0, 0, RTN_PROHIBIT, None)


class FibRule:
    """``struct fib4_rule``: selectors (0, "" and None select everything; a range is (first,
    last)), the action and its table (0 for none), and the priority."""

    __slots__ = ("pref", "action", "table", "src", "src_len", "dst", "dst_len", "iifname", "oifname", "invert",
                 "mark", "mark_mask", "tos", "suppress_prefixlen", "target", "uid_range", "ip_proto",
                 "sport_range", "dport_range")

    def __init__(self, pref: int, action: int = FR_ACT_TO_TBL, table: int = 0, *, src: int = 0, src_len: int = 0,
                 dst: int = 0, dst_len: int = 0, iifname: str = "", oifname: str = "", invert: bool = False,
                 mark: int = 0, mark_mask: int = 0, tos: int = 0, suppress_prefixlen: int = -1,
                 target: int = 0, uid_range: tuple[int, int] | None = None, ip_proto: int = 0,
                 sport_range: tuple[int, int] | None = None, dport_range: tuple[int, int] | None = None) -> None:
        self.pref = pref
        self.action = action
        self.table = table
        self.src, self.src_len = src, src_len
        self.dst, self.dst_len = dst, dst_len
        self.iifname = iifname
        self.oifname = oifname
        self.invert = invert
        self.mark, self.mark_mask = mark, mark_mask
        self.tos = tos
        self.suppress_prefixlen = suppress_prefixlen  # (-1: none)
        self.target = target  # a goto's priority
        self.uid_range = uid_range
        self.ip_proto = ip_proto
        self.sport_range = sport_range
        self.dport_range = dport_range

    def match(self, host: Host, daddr: int, saddr: int, iif: int, oif: int, mark: int, tos: int,
              proto: int, sport: int, dport: int, uid: int) -> bool:
        """``fib_rule_match`` and ``fib4_rule_match``: every selector the rule has agrees with the
        flow (a device that is not there matches no flow), or, for ``not``, not all of them do."""
        uids, sports, dports = self.uid_range, self.sport_range, self.dport_range
        ok = ((not self.src_len or not (saddr ^ self.src) & inet_make_mask(self.src_len))
              and (not self.dst_len or not (daddr ^ self.dst) & inet_make_mask(self.dst_len))
              and (not self.tos or self.tos == tos & IPTOS_TOS_MASK)  # (fib_dscp_masked_match)
              and not (self.mark ^ mark) & self.mark_mask
              and (not self.iifname or _ifindex(host, self.iifname) == iif)
              and (not self.oifname or _ifindex(host, self.oifname) == oif)
              and (uids is None or uids[0] <= uid <= uids[1])
              and (not self.ip_proto or self.ip_proto == proto)
              and (sports is None or sports[0] <= sport <= sports[1])  # (fib_rule_port_inrange)
              and (dports is None or dports[0] <= dport <= dports[1]))
        return not ok if self.invert else bool(ok)

    def requires_fldissect(self) -> bool:
        """``fib_rule_requires_fldissect``: the rule picks by protocol or port, and not only
        the flows that come in by lo."""
        return self.iifname != "lo" and bool(self.ip_proto or self.sport_range or self.dport_range)

    def has(self, attrs: dict[str, object]) -> bool:
        """The rule has each of these attributes' values (``rule_find``, and ``ip rule show``'s
        filter)."""
        return all(getattr(self, k) == v for k, v in attrs.items())

    def format(self, host: Host, proto_name: Callable[[int], str]) -> str:
        """One line of ``ip rule show`` (iproute2's ``print_rule``), a protocol named by
        ``proto_name``."""
        words = [f"{self.pref}:\t" + ("not " if self.invert else "") + "from " + _prefix(self.src, self.src_len)]
        if self.dst_len:
            words += ["to", _prefix(self.dst, self.dst_len)]
        if self.tos:
            words += ["tos", f"0x{self.tos:02x}"]
        if self.mark or self.mark_mask:
            full = self.mark_mask == 0xFFFFFFFF
            words += ["fwmark", f"0x{self.mark:x}" if full else f"0x{self.mark:x}/0x{self.mark_mask:x}"]
        for key, name in (("iif", self.iifname), ("oif", self.oifname)):
            if name:
                words += [key, name] + ([] if name in host.devices else ["[detached]"])
        if self.uid_range is not None:
            words += ["uidrange", f"{self.uid_range[0]}-{self.uid_range[1]}"]
        if self.ip_proto:
            words += ["ipproto", proto_name(self.ip_proto)]
        for key, ports in (("sport", self.sport_range), ("dport", self.dport_range)):
            if ports is not None:
                words += [key, str(ports[0]) if ports[0] == ports[1] else f"{ports[0]}-{ports[1]}"]
        if self.table:
            words += ["lookup", rt_table_name(self.table)]
            if self.suppress_prefixlen != -1:
                words += ["suppress_prefixlength", str(self.suppress_prefixlen)]
        if self.action == FR_ACT_GOTO:
            words += ["goto", str(self.target)]
            if _goto_index(host, self.target) is None:
                words.append("[unresolved]")
        elif self.action != FR_ACT_TO_TBL:
            words.append(ACTION_NAMES[self.action])
        return " ".join(words)


    def json(self, host: Host, proto_name: Callable[[int], str]) -> dict[str, object]:
        """``ip -json rule show``'s object: ``format``'s words under iproute2's keys, a flag as a
        key without a value (None)."""
        obj: dict[str, object] = {"priority": self.pref}
        if self.invert:
            obj["not"] = None
        obj["src"] = in_ntoa(self.src) if self.src_len else "all"
        if self.src_len not in (0, 32):
            obj["srclen"] = self.src_len
        if self.dst_len:
            obj["dst"] = in_ntoa(self.dst)
            if self.dst_len != 32:
                obj["dstlen"] = self.dst_len
        if self.tos:
            obj["tos"] = f"0x{self.tos:02x}"
        if self.mark or self.mark_mask:
            obj["fwmark"] = f"0x{self.mark:x}"
            if self.mark_mask != 0xFFFFFFFF:
                obj["fwmask"] = f"0x{self.mark_mask:x}"
        for key, name in (("iif", self.iifname), ("oif", self.oifname)):
            if name:
                obj[key] = name
                if name not in host.devices:
                    obj[f"{key}_detached"] = None
        if self.uid_range is not None:
            obj["uid_start"], obj["uid_end"] = self.uid_range
        if self.ip_proto:
            obj["ipproto"] = proto_name(self.ip_proto)
        for key, ports in (("sport", self.sport_range), ("dport", self.dport_range)):
            if ports is not None:
                if ports[0] == ports[1]:
                    obj[key] = ports[0]
                else:
                    obj[f"{key}_start"], obj[f"{key}_end"] = ports
        if self.table:
            obj["table"] = rt_table_name(self.table)
            if self.suppress_prefixlen != -1:
                obj["suppress_prefixlen"] = self.suppress_prefixlen
        if self.action == FR_ACT_GOTO:
            obj["goto"] = self.target
            if _goto_index(host, self.target) is None:
                obj["unresolved"] = None
        elif self.action == FR_ACT_NOP:
            obj["nop"] = None
        elif self.action != FR_ACT_TO_TBL:
            obj["action"] = ACTION_NAMES[self.action]
        return obj


def _prefix(addr: int, plen: int) -> str:
    if not plen:
        return "all"
    return in_ntoa(addr) if plen == 32 else f"{in_ntoa(addr)}/{plen}"


def _ifindex(host: Host, name: str) -> int:
    dev = host.devices.get(name)
    return dev.ifindex if dev is not None else -1


def _goto_index(host: Host, target: int) -> int | None:
    """``ctarget``: where the first rule of priority ``target`` is, or None (unresolved)."""
    return next((i for i, r in enumerate(host.fib_rules) if r.pref == target), None)


def fib_default_rules_init(host: Host) -> None:
    """``fib_default_rules_init``: local (0), main (32766) and default (32767)."""
    host.fib_rules = [FibRule(0, table=RT_TABLE_LOCAL), FibRule(32766, table=RT_TABLE_MAIN),
                      FibRule(32767, table=RT_TABLE_DEFAULT)]
    host.fib_has_custom_rules = False
    host.fib_rules_require_fldissect = False


def _rules_changed(host: Host) -> None:
    """A rule came or went: the rules are walked from now on, the flows of forwarded packets
    carry protocol and ports while a rule picks by them (``fib_rules_require_fldissect``), and
    the routes made before are stale."""
    host.fib_has_custom_rules = True
    host.fib_rules_require_fldissect = any(r.requires_fldissect() for r in host.fib_rules)
    fib_flush_cache(host)


def fib_default_rule_pref(host: Host) -> int:
    """``fib_default_rule_pref``: a rule added without a priority goes just before the second
    rule (the first after local's 0), or at 0."""
    rules = host.fib_rules
    return rules[1].pref - 1 if len(rules) > 1 and rules[1].pref else 0


def fib_rule_add(host: Host, rule: FibRule) -> None:
    """``fib_nl_newrule``: after the rules of its priority and before those above it; a goto
    only forward, a uid range that is not all uids, port ranges within 1-65534 (ValueError, the
    kernel's message)."""
    if rule.action == FR_ACT_GOTO and rule.target <= rule.pref:
        raise ValueError("Error: Backward goto not supported.")
    uids = rule.uid_range
    if uids is not None and (uids == (0, 0xFFFFFFFF) or uids[0] > uids[1]):  # (uid_range_set)
        raise ValueError("Error: Invalid uid range.")
    for name, ports in (("sport", rule.sport_range), ("dport", rule.dport_range)):
        if ports is not None and not (ports[0] and ports[0] <= ports[1] < 0xFFFF):  # fib_rule_port_range_valid
            raise ValueError(f"Error: Invalid {name} range.")
    rules = host.fib_rules
    at = next((i for i, r in enumerate(rules) if r.pref > rule.pref), len(rules))
    rules.insert(at, rule)
    _rules_changed(host)


def fib_rule_del(host: Host, want: dict[str, object]) -> None:
    """``fib_nl_delrule``: the first rule that has every attribute the request names;
    FileNotFoundError when none has."""
    rule = next((r for r in host.fib_rules if r.has(want)), None)
    if rule is None:
        raise FileNotFoundError("RTNETLINK answers: No such file or directory")
    host.fib_rules.remove(rule)
    _rules_changed(host)


def fib_rules_flush(host: Host) -> None:
    """``ip rule flush``: iproute2 deletes each rule the kernel lists with a priority, so all
    but those at 0 go."""
    host.fib_rules[:] = [r for r in host.fib_rules if not r.pref]
    _rules_changed(host)


def fib_rules_lookup(host: Host, daddr: int, scope: int, saddr: int, iif: int, oif: int, mark: int,
                     tos: int, proto: int, sport: int, dport: int, uid: int) -> FibAlias | None:
    """``fib_rules_lookup`` with ``fib4_rule_action``: the first matching rule that ends the
    walk ends it: with its table's route, or with its failure."""
    tables = host.fib_tables
    rules = host.fib_rules
    i = 0
    while i < len(rules):
        rule = rules[i]
        i += 1
        if not rule.match(host, daddr, saddr, iif, oif, mark, tos, proto, sport, dport, uid):
            continue
        if rule.action == FR_ACT_GOTO:  # to the target rule, matched in its turn; unresolved: on
            i = _goto_index(host, rule.target) or i
            continue
        if rule.action == FR_ACT_NOP:
            continue
        if rule.action == FR_ACT_UNREACHABLE:
            return None
        if rule.action == FR_ACT_PROHIBIT:
            return _PROHIBIT
        if rule.action == FR_ACT_BLACKHOLE:
            return _BLACKHOLE
        table = tables.get(rule.table)
        fa = table.lookup(daddr, scope) if table is not None else None
        if fa is None or fa.type == RTN_THROW:
            continue
        if fa.plen <= rule.suppress_prefixlen and fa.type not in _ERROR_TYPES:
            continue  # fib4_rule_suppress: a route this short is not this rule's to give
        return fa
    return None
