"""The neighbour subsystem (net/core/neighbour.c): next-hop IP address to link-layer address.

Each ``Neighbour`` has a NUD state (Neighbour Unreachability Detection, RFC 4861 section 7.3 as
Linux applies it to ARP too) driven by ``neigh_update`` (what the protocol learnt),
``neigh_event_send`` (a packet wants to go) and ``neigh_timer_handler``:

- NONE/FAILED --packet--> INCOMPLETE: the packet waits on ``arp_queue`` and a broadcast
  solicitation goes out every ``retrans_time`` (1 s); after ``mcast_solicit`` (3) of them the entry
  is FAILED and every queued packet is reported unreachable (``error_report``).
- INCOMPLETE --reply--> REACHABLE: the queue is sent.  REACHABLE lasts ``reachable_time`` (a random
  value in [base/2, 3*base/2), base 30 s) after the last confirmation, then becomes STALE (or DELAY
  if the entry was used within ``delay_first_probe_time``).
- STALE --packet--> DELAY; DELAY --5 s without confirmation--> PROBE: ``ucast_solicit`` (3)
  unicast solicitations 1 s apart, then FAILED.

Devices without link-layer resolution (loopback, IFF_NOARP) get NUD_NOARP entries.  Entries are
garbage collected as ``neigh_periodic_work`` and ``neigh_forced_gc`` do: never while the table has
fewer than ``gc_thresh1`` entries, otherwise FAILED entries and entries unused for
``gc_stale_time`` go.  The periodic work is queued only while the table is at or above
``gc_thresh1`` (below it Linux's would find nothing to do), so an idle world's event queue drains.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from tuxnet.kernel.errno import EEXIST, ENOBUFS, ENOENT, strerror
from tuxnet.net.core.dev import ETH_P_IP, IFF_UP, dev_queue_xmit
from tuxnet.net.core.skbuff import (
    SKB_TRUESIZE_OVERHEAD,
    skb_charged_truesize,
    skb_orphan,
    skb_release_w,
    skb_set_owner_w,
)

if TYPE_CHECKING:
    from tuxnet.kernel.host import Host
    from tuxnet.net.core.dev import NetDevice
    from tuxnet.net.core.skbuff import SkBuff

NSEC_PER_MSEC = 1_000_000
NSEC_PER_SEC = 1_000_000_000
HZ_100 = 10 * NSEC_PER_MSEC  # HZ/100: the shortest neighbour timer

# include/uapi/linux/neighbour.h
NUD_INCOMPLETE = 0x01
NUD_REACHABLE = 0x02
NUD_STALE = 0x04
NUD_DELAY = 0x08
NUD_PROBE = 0x10
NUD_FAILED = 0x20
NUD_NOARP = 0x40
NUD_PERMANENT = 0x80
NUD_NONE = 0x00
NUD_VALID = NUD_PERMANENT | NUD_NOARP | NUD_REACHABLE | NUD_PROBE | NUD_STALE | NUD_DELAY
NUD_CONNECTED = NUD_PERMANENT | NUD_NOARP | NUD_REACHABLE
NUD_IN_TIMER = NUD_INCOMPLETE | NUD_REACHABLE | NUD_DELAY | NUD_PROBE

NUD_NAMES = {NUD_INCOMPLETE: "INCOMPLETE", NUD_REACHABLE: "REACHABLE", NUD_STALE: "STALE",
             NUD_DELAY: "DELAY", NUD_PROBE: "PROBE", NUD_FAILED: "FAILED", NUD_NOARP: "NOARP",
             NUD_PERMANENT: "PERMANENT", NUD_NONE: "NONE"}

# neigh_update flags (include/net/neighbour.h)
NEIGH_UPDATE_F_OVERRIDE = 0x00000001
NEIGH_UPDATE_F_WEAK_OVERRIDE = 0x00000002
NEIGH_UPDATE_F_ADMIN = 0x80000000

ETH_FRAME_LEN = 1514


class NeighOps:
    """``struct neigh_ops``: the protocol's solicit and error report, and the two output paths."""

    __slots__ = ("solicit", "error_report", "output", "connected_output")

    def __init__(self, solicit: Callable[[Neighbour, SkBuff | None], None] | None,
                 error_report: Callable[[Neighbour, SkBuff], None] | None,
                 output: Callable[[Neighbour, SkBuff], int],
                 connected_output: Callable[[Neighbour, SkBuff], int]) -> None:
        self.solicit = solicit
        self.error_report = error_report
        self.output = output
        self.connected_output = connected_output


# The tunables each device has its own copy of, net.ipv4.neigh.DEV.* (the gc_* ones are the
# table's, under ``default`` only).
NEIGH_DEV_VARS = ("base_reachable_time_ms", "retrans_time_ms", "delay_first_probe_time", "gc_stale_time",
                  "mcast_solicit", "ucast_solicit", "app_solicit", "unres_qlen", "unres_qlen_bytes",
                  "proxy_delay", "proxy_qlen")


class NeighParms:
    """``struct neigh_parms``: the tunables, read from ``net.ipv4.neigh.default.*`` (the table's)
    or ``net.ipv4.neigh.DEV.*`` (a device's) at each use as ``NEIGH_VAR`` reads them, in the world's
    unit (ns) where they are times; ``data_state`` names a device's values written since it came
    (the others follow ``default``)."""

    LOCKTIME = NSEC_PER_SEC  # arp_tbl: NEIGH_VAR_LOCKTIME = 1 * HZ
    MCAST_REPROBES = 0

    def __init__(self, host: Host, prefix: str) -> None:
        self.host = host
        self.prefix = prefix
        self._reachable_time = 0
        self.last_rand = 0
        self.data_state: set[str] = set()

    def var(self, name: str) -> int:
        return self.host.sysctl[self.prefix + name]

    @property
    def base_reachable_time(self) -> int:
        return self.var("base_reachable_time_ms") * NSEC_PER_MSEC

    @property
    def reachable_time(self) -> int:
        """``parms->reachable_time``: re-drawn by ``neigh_rand_reach_time`` every 300 s, as
        ``neigh_periodic_work`` does."""
        now = self.host.world.now
        if not self._reachable_time or now > self.last_rand + 300 * NSEC_PER_SEC:
            self.last_rand = now
            self._reachable_time = neigh_rand_reach_time(self.host, self.base_reachable_time)
        return self._reachable_time

    @property
    def retrans_time(self) -> int:
        return self.var("retrans_time_ms") * NSEC_PER_MSEC

    @property
    def delay_probe_time(self) -> int:
        return self.var("delay_first_probe_time") * NSEC_PER_SEC

    @property
    def proxy_delay(self) -> int:
        """``PROXY_DELAY``: the longest a proxied answer to a broadcast request waits (the sysctl
        counts hundredths of a second, USER_HZ)."""
        return self.var("proxy_delay") * 10 * NSEC_PER_MSEC

    @property
    def gc_staletime(self) -> int:
        return self.var("gc_stale_time") * NSEC_PER_SEC

    @property
    def queue_len_bytes(self) -> int:
        """``unres_qlen_bytes``; ``unres_qlen`` (packets) counts as that many full-size frames."""
        return min(self.var("unres_qlen_bytes"), self.var("unres_qlen") * (ETH_FRAME_LEN + SKB_TRUESIZE_OVERHEAD))

    def max_probes(self, state: int) -> int:
        """``neigh_max_probes``."""
        return self.var("ucast_solicit") + self.var("app_solicit") + (
            self.MCAST_REPROBES if state & NUD_PROBE else self.var("mcast_solicit"))


def neigh_sysctl_register(host: Host, dev: NetDevice) -> NeighParms:
    """``neigh_parms_alloc`` → ``neigh_sysctl_register``: the device's own parameters,
    net.ipv4.neigh.DEV.*, copied from ``default``."""
    host.sysctl.register_copy(f"net.ipv4.neigh.{dev.name}.", "net.ipv4.neigh.default.", NEIGH_DEV_VARS)
    return NeighParms(host, f"net.ipv4.neigh.{dev.name}.")


def neigh_proc_update(host: Host, key: str) -> None:
    """The ``proc_handler`` of net.ipv4.neigh.*: a write to ``default`` reaches each device that
    never had that value written (``neigh_copy_dflt_parms``)."""
    if not key.startswith("net.ipv4.neigh."):
        return
    scope, name = key[len("net.ipv4.neigh."):].rsplit(".", 1)
    if name not in NEIGH_DEV_VARS:
        return
    sysctl = host.sysctl
    for dev in host.devices.values():
        parms = getattr(dev.ip_ptr, "arp_parms", None)
        if parms is None:
            continue
        if scope == dev.name:
            parms.data_state.add(name)
        elif scope == "default" and name not in parms.data_state:
            sysctl.add(f"net.ipv4.neigh.{dev.name}.{name}", sysctl[key])


def neigh_rand_reach_time(host: Host, base: int) -> int:
    """``neigh_rand_reach_time``: uniform in [base/2, 3*base/2)."""
    return host.rng.randrange(base) + (base >> 1) if base else 0


class NeighStats:
    """``struct neigh_statistics`` (``/proc/net/stat/arp_cache``)."""

    __slots__ = ("allocs", "destroys", "lookups", "hits", "res_failed", "periodic_gc_runs", "forced_gc_runs",
                 "unres_discards", "table_fulls")

    def __init__(self) -> None:
        for name in self.__slots__:
            setattr(self, name, 0)


class Neighbour:
    """``struct neighbour``."""

    __slots__ = ("tbl", "parms", "primary_key", "dev", "ha", "nud_state", "type", "hh", "output", "ops",
                 "arp_queue", "arp_queue_len_bytes", "probes", "confirmed", "updated", "used", "timer",
                 "dead")

    def __init__(self, tbl: NeighTable, key: int, dev: NetDevice) -> None:
        self.tbl = tbl
        # the device's parameters (arp_constructor: in_dev->arp_parms), else the table's
        self.parms: NeighParms = getattr(dev.ip_ptr, "arp_parms", None) or tbl.parms
        self.primary_key = key
        self.dev = dev
        self.ha = b"\0" * dev.addr_len
        self.nud_state = NUD_NONE
        self.type = 0
        self.hh: bytes | None = None
        self.ops: NeighOps | None = None
        self.output: Callable[[Neighbour, SkBuff], int] = neigh_blackhole
        self.arp_queue: deque[SkBuff] = deque()
        self.arp_queue_len_bytes = 0
        self.probes = 0
        now = tbl.host.world.now
        # neigh_alloc: "confirmed" starts in the past so that a new entry is not taken as fresh.
        self.confirmed = now - (self.parms.base_reachable_time << 1)
        self.updated = now
        self.used = now
        self.timer = tbl.host.timer(neigh_timer_handler, self)
        self.dead = False

    def __repr__(self) -> str:
        return f"<Neighbour {self.primary_key:#x} dev {self.dev.name} {NUD_NAMES.get(self.nud_state)}>"


class NeighTable:
    """``struct neigh_table``: entries keyed by (device, address), the protocol's constructor, the
    parameters, statistics and the garbage collector's state."""

    def __init__(self, host: Host, id: str, constructor: Callable[[Neighbour], None],
                 sysctl_prefix: str = "net.ipv4.neigh.default.") -> None:
        self.host = host
        self.id = id
        self.entries: dict[tuple[int, int], Neighbour] = {}
        self.constructor = constructor
        self.parms = NeighParms(host, sysctl_prefix)
        self.stats = NeighStats()
        self.last_flush = host.world.now
        self.gc_work = host.timer(neigh_periodic_work, self)
        # Addresses answered for (``ip neigh add proxy``): (ifindex, or 0 for any device, address)
        self.phash: set[tuple[int, int]] = set()
        # Requests waiting for a proxied answer (pneigh_enqueue): (when, skb), and what answers them
        self.proxy_queue: list[tuple[int, SkBuff]] = []
        self.proxy_timer = host.timer(neigh_proxy_process, self)
        self.proxy_redo: Callable[[SkBuff], Any] | None = None

    def gc_thresh(self, n: int) -> int:
        return self.parms.var(f"gc_thresh{n}")


def pneigh_enqueue(tbl: NeighTable, parms: NeighParms, skb: SkBuff) -> None:
    """``pneigh_enqueue``: hold a request a proxy will answer for a random while, up to the
    receiving device's ``proxy_delay``, so that the real owner, if there is one, answers first; at
    most ``proxy_qlen`` wait."""
    if len(tbl.proxy_queue) > parms.var("proxy_qlen"):
        return
    ms = parms.proxy_delay // NSEC_PER_MSEC
    when = tbl.host.world.now + (tbl.host.rng.randrange(ms) * NSEC_PER_MSEC if ms else 0)
    tbl.proxy_queue.append((when, skb))
    timer = tbl.proxy_timer
    if timer.expires < 0 or when < timer.expires:
        timer.mod(when)


def neigh_proxy_process(tbl: NeighTable) -> None:
    """``neigh_proxy_process``: answer the held requests whose time has come (``proxy_redo``)
    while their device is up; wait for the next."""
    now = tbl.host.world.now
    due = [skb for when, skb in tbl.proxy_queue if when <= now]
    tbl.proxy_queue = [(when, skb) for when, skb in tbl.proxy_queue if when > now]
    for skb in due:
        if tbl.proxy_redo is not None and skb.dev.flags & IFF_UP:
            tbl.proxy_redo(skb)
    if tbl.proxy_queue:
        tbl.proxy_timer.mod(min(when for when, _ in tbl.proxy_queue))


# -- lookup and creation -------------------------------------------------------------------------

def neigh_lookup(tbl: NeighTable, key: int, dev: NetDevice) -> Neighbour | None:
    """``neigh_lookup``."""
    tbl.stats.lookups += 1
    n = tbl.entries.get((dev.ifindex, key))
    if n is not None:
        tbl.stats.hits += 1
    return n


def __ipv4_neigh_lookup_noref(host: Host, dev: NetDevice, key: int) -> Neighbour | None:
    """``__ipv4_neigh_lookup_noref``: the ARP table's entry for ``key`` on ``dev``, if any."""
    return host.arp_tbl.entries.get((dev.ifindex, key))


def __neigh_create(tbl: NeighTable, key: int, dev: NetDevice) -> Neighbour | int:
    """``__neigh_create`` → ``neigh_alloc``: a new entry set up by the protocol's constructor
    (``arp_constructor``), or ``-ENOBUFS`` when the table is full even after a forced GC."""
    entries = len(tbl.entries)
    now = tbl.host.world.now
    if entries >= tbl.gc_thresh(3) or (entries >= tbl.gc_thresh(2) and now > tbl.last_flush + 5 * NSEC_PER_SEC):
        if not neigh_forced_gc(tbl) and entries >= tbl.gc_thresh(3):
            tbl.stats.table_fulls += 1
            return -ENOBUFS
    n = Neighbour(tbl, key, dev)
    tbl.constructor(n)
    tbl.entries[(dev.ifindex, key)] = n
    tbl.stats.allocs += 1
    if len(tbl.entries) >= tbl.gc_thresh(1) and not tbl.gc_work.pending():
        tbl.gc_work.mod(now + (tbl.parms.base_reachable_time >> 1))
    return n


def __neigh_lookup(tbl: NeighTable, key: int, dev: NetDevice, creat: bool) -> Neighbour | None:
    """``__neigh_lookup``: look up, and create when asked."""
    n = neigh_lookup(tbl, key, dev)
    if n is not None or not creat:
        return n
    n = __neigh_create(tbl, key, dev)
    return None if isinstance(n, int) else n


def neigh_event_ns(tbl: NeighTable, lladdr: bytes, saddr: int, dev: NetDevice) -> Neighbour | None:
    """``neigh_event_ns``: a solicitation from ``saddr`` tells us its address: enter it STALE."""
    n = __neigh_lookup(tbl, saddr, dev, bool(lladdr) or not dev.addr_len)
    if n is not None:
        neigh_update(n, lladdr, NUD_STALE, NEIGH_UPDATE_F_OVERRIDE)
    return n


def neigh_destroy(n: Neighbour) -> None:
    """``neigh_destroy``: the entry is out of the table; stop its timer, drop its queue."""
    n.dead = True
    n.timer.delete()
    neigh_purge_queue(n)
    n.output = neigh_blackhole
    n.tbl.stats.destroys += 1


# -- output --------------------------------------------------------------------------------------

def neigh_dequeue(n: Neighbour) -> SkBuff:
    """The oldest packet waiting for the address, off ``arp_queue``."""
    skb = n.arp_queue.popleft()
    n.arp_queue_len_bytes -= skb_charged_truesize(skb)
    return skb


def neigh_purge_queue(n: Neighbour) -> None:
    """Drop what still waits for the address (``__skb_queue_purge``): each packet's charge goes
    back to its socket."""
    while n.arp_queue:
        skb_orphan(neigh_dequeue(n))


def neigh_blackhole(neigh: Neighbour, skb: SkBuff) -> int:
    """Output for a dead entry: the packet is dropped."""
    neigh.dev.stats.tx_dropped += 1
    return -1


def neigh_hh_init(n: Neighbour) -> None:
    """``neigh_hh_init``: cache the link-layer header for this neighbour."""
    n.hh = bytes(n.ha) + n.dev.dev_addr + ETH_P_IP.to_bytes(2, "big")


def neigh_hh_output(n: Neighbour, skb: SkBuff) -> int:
    """``neigh_hh_output``: copy the cached header in front of the packet and send it."""
    hh = n.hh
    d = skb.push(len(hh))
    skb.buf[d:d + len(hh)] = hh
    return dev_queue_xmit(skb)


def neigh_direct_output(n: Neighbour, skb: SkBuff) -> int:
    """``neigh_direct_output``: a device without link-layer headers takes the packet as it is."""
    return dev_queue_xmit(skb)


def _dev_hard_header(n: Neighbour, skb: SkBuff) -> int:
    """``dev_hard_header`` with the neighbour's address, from the network header on."""
    if skb.network_header >= 0:
        skb.data = skb.network_header
    dev = n.dev
    return dev.header_ops.create(skb, dev, skb.protocol or ETH_P_IP, bytes(n.ha), None)


def neigh_resolve_output(n: Neighbour, skb: SkBuff) -> int:
    """``neigh_resolve_output``: send if the address is usable, else queue the packet while the
    protocol resolves it (``neigh_event_send``)."""
    if neigh_event_send(n, skb):
        return 0
    if n.hh is None and n.dev.header_ops is not None:
        neigh_hh_init(n)
    _dev_hard_header(n, skb)
    return dev_queue_xmit(skb)


def neigh_output(n: Neighbour, skb: SkBuff) -> int:
    """``neigh_output``: the cached header when the entry is connected, else the entry's ``output``."""
    if n.nud_state & NUD_CONNECTED and n.hh:
        return neigh_hh_output(n, skb)
    return n.output(n, skb)


# -- the state machine ---------------------------------------------------------------------------

def neigh_add_timer(n: Neighbour, when: int) -> None:
    n.timer.mod(when)


def neigh_del_timer(n: Neighbour) -> None:
    n.timer.delete()


def neigh_connect(n: Neighbour) -> None:
    """``neigh_connect``: the fast path may be used."""
    n.output = n.ops.connected_output


def neigh_suspect(n: Neighbour) -> None:
    """``neigh_suspect``: every packet goes through ``neigh_resolve_output`` again."""
    n.output = n.ops.output


def neigh_event_send(n: Neighbour, skb: SkBuff | None) -> int:
    """``neigh_event_send``: note the use; 0 when the packet may go now, 1 when it was queued (or
    dropped)."""
    n.used = n.tbl.host.world.now
    if n.nud_state & (NUD_CONNECTED | NUD_DELAY | NUD_PROBE):
        return 0
    return __neigh_event_send(n, skb)


def __neigh_event_send(n: Neighbour, skb: SkBuff | None) -> int:
    """``__neigh_event_send``: start resolution (NONE/FAILED → INCOMPLETE, first solicitation at
    once) or leave STALE for DELAY; queue the packet while INCOMPLETE, dropping the oldest when
    the queue is over ``unres_qlen_bytes``."""
    if n.dead:
        return 1
    parms = n.parms
    now = n.tbl.host.world.now
    immediate_probe = False
    if not n.nud_state & (NUD_STALE | NUD_INCOMPLETE):
        if parms.var("mcast_solicit") + parms.var("app_solicit"):
            n.probes = parms.var("ucast_solicit")
            neigh_del_timer(n)
            n.nud_state = NUD_INCOMPLETE
            n.updated = now
            immediate_probe = True
            neigh_add_timer(n, now + max(parms.retrans_time, HZ_100))
        else:
            n.nud_state = NUD_FAILED
            n.updated = now
            return 1
    elif n.nud_state & NUD_STALE:
        neigh_del_timer(n)
        n.nud_state = NUD_DELAY
        n.updated = now
        neigh_add_timer(n, now + parms.delay_probe_time)
    rc = 0
    if n.nud_state == NUD_INCOMPLETE:
        if skb is not None:
            size = skb_charged_truesize(skb)
            limit = parms.queue_len_bytes
            while n.arp_queue and n.arp_queue_len_bytes + size > limit:
                skb_orphan(neigh_dequeue(n))
                n.tbl.stats.unres_discards += 1
            if n.arp_queue_len_bytes + size <= limit:
                skb_set_owner_w(skb)  # a socket's packet charges it while it waits
                n.arp_queue.append(skb)
                n.arp_queue_len_bytes += size
            else:
                n.tbl.stats.unres_discards += 1
        rc = 1
    if immediate_probe:
        neigh_probe(n)
    return rc


def neigh_probe(n: Neighbour) -> None:
    """``neigh_probe``: one solicitation (about the newest queued packet, for its source)."""
    skb = n.arp_queue[-1] if n.arp_queue else None
    if n.ops.solicit is not None:
        n.ops.solicit(n, skb)
    n.probes += 1


def neigh_invalidate(n: Neighbour) -> None:
    """``neigh_invalidate``: resolution failed; report every queued packet unreachable."""
    n.tbl.stats.res_failed += 1
    n.updated = n.tbl.host.world.now
    while n.nud_state == NUD_FAILED and n.arp_queue:
        skb = neigh_dequeue(n)
        skb_orphan(skb)
        if n.ops.error_report is not None:
            n.ops.error_report(n, skb)
    neigh_purge_queue(n)


def neigh_timer_handler(n: Neighbour) -> None:
    """``neigh_timer_handler``: REACHABLE ages to DELAY or STALE, DELAY becomes REACHABLE again
    (confirmed meanwhile) or PROBE; INCOMPLETE and PROBE solicit again every ``retrans_time`` until
    ``neigh_max_probes`` are spent, then FAILED."""
    state = n.nud_state
    if not state & NUD_IN_TIMER or n.dead:
        return
    parms = n.parms
    now = n.tbl.host.world.now
    next_ = now + NSEC_PER_SEC
    if state & NUD_REACHABLE:
        if now <= n.confirmed + parms.reachable_time:
            next_ = n.confirmed + parms.reachable_time
        elif now <= n.used + parms.delay_probe_time:
            n.nud_state = NUD_DELAY
            n.updated = now
            neigh_suspect(n)
            next_ = now + parms.delay_probe_time
        else:
            n.nud_state = NUD_STALE
            n.updated = now
            neigh_suspect(n)
    elif state & NUD_DELAY:
        if now <= n.confirmed + parms.delay_probe_time:
            n.nud_state = NUD_REACHABLE
            n.updated = now
            neigh_connect(n)
            next_ = n.confirmed + parms.reachable_time
        else:
            n.nud_state = NUD_PROBE
            n.updated = now
            n.probes = 0
            next_ = now + max(parms.retrans_time, HZ_100)
    else:
        next_ = now + max(parms.retrans_time, HZ_100)  # NUD_PROBE | NUD_INCOMPLETE
    if n.nud_state & (NUD_INCOMPLETE | NUD_PROBE) and n.probes >= parms.max_probes(n.nud_state):
        n.nud_state = NUD_FAILED
        n.updated = now
        neigh_invalidate(n)
        return
    if n.nud_state & NUD_IN_TIMER:
        neigh_add_timer(n, max(next_, now + HZ_100))
    if n.nud_state & (NUD_INCOMPLETE | NUD_PROBE):
        neigh_probe(n)


def neigh_update(n: Neighbour, lladdr: bytes | None, new: int, flags: int) -> int:
    """``__neigh_update``: the protocol learnt something about the neighbour.  A valid address
    sends what was queued waiting for it; 0 or ``-EINVAL``."""
    old = n.nud_state
    if not flags & NEIGH_UPDATE_F_ADMIN and old & (NUD_NOARP | NUD_PERMANENT):
        return 0
    if n.dead:
        return 0
    now = n.tbl.host.world.now
    if not new & NUD_VALID:
        neigh_del_timer(n)
        if old & NUD_CONNECTED:
            neigh_suspect(n)
        n.nud_state = new
        if old & (NUD_INCOMPLETE | NUD_PROBE) and new & NUD_FAILED:
            neigh_invalidate(n)
        return 0
    if not n.dev.addr_len:
        lladdr = n.ha
    elif lladdr is not None:
        if old & NUD_VALID and lladdr == n.ha:
            lladdr = n.ha
    else:
        if not old & NUD_VALID:
            return -22  # -EINVAL: no link-layer address given
        lladdr = n.ha
    if new & NUD_CONNECTED:
        n.confirmed = now
    changed = lladdr != n.ha
    if old & NUD_VALID:
        if changed and not flags & NEIGH_UPDATE_F_OVERRIDE:
            if flags & NEIGH_UPDATE_F_WEAK_OVERRIDE and old & NUD_CONNECTED:
                lladdr = n.ha
                changed = False
                new = NUD_STALE
            else:
                return 0
        elif not changed and new == NUD_STALE and not flags & NEIGH_UPDATE_F_ADMIN:
            new = old
    if new != old or changed:
        n.updated = now
    if new != old:
        neigh_del_timer(n)
        if new & NUD_PROBE:
            n.probes = 0
        if new & NUD_IN_TIMER:
            neigh_add_timer(n, now + (n.parms.reachable_time if new & NUD_REACHABLE else 0))
        n.nud_state = new
    if changed:
        n.ha = bytes(lladdr)
        if n.hh is not None:
            neigh_hh_init(n)  # neigh_update_hhs
        if not new & NUD_CONNECTED:
            n.confirmed = now - (n.parms.base_reachable_time << 1)
    if new == old:
        return 0
    if new & NUD_CONNECTED:
        neigh_connect(n)
    else:
        neigh_suspect(n)
    if not old & NUD_VALID:
        while n.nud_state & NUD_VALID and n.arp_queue:
            skb = neigh_dequeue(n)
            skb_release_w(skb)
            n.output(n, skb)
        neigh_purge_queue(n)
    return 0


# -- garbage collection --------------------------------------------------------------------------

def neigh_periodic_work(tbl: NeighTable) -> None:
    """``neigh_periodic_work``: at or above ``gc_thresh1``, drop FAILED entries and entries unused
    for ``gc_stale_time``; runs every ``base_reachable_time``/2 while the table is that big."""
    tbl.stats.periodic_gc_runs += 1
    now = tbl.host.world.now
    parms = tbl.parms
    if len(tbl.entries) < tbl.gc_thresh(1):
        return
    for key, n in list(tbl.entries.items()):
        state = n.nud_state
        if state & (NUD_PERMANENT | NUD_IN_TIMER) or n.arp_queue:
            continue
        if n.used < n.confirmed <= now:
            n.used = n.confirmed
        if state == NUD_FAILED or not n.used <= now < n.used + n.parms.gc_staletime:
            del tbl.entries[key]
            neigh_destroy(n)
    if len(tbl.entries) >= tbl.gc_thresh(1):
        tbl.gc_work.mod(now + (parms.base_reachable_time >> 1))


def neigh_forced_gc(tbl: NeighTable) -> int:
    """``neigh_forced_gc``: make room down to ``gc_thresh2``, taking entries that are FAILED,
    NOARP or not updated for 5 s, never PERMANENT ones or ones with work pending."""
    tbl.stats.forced_gc_runs += 1
    now = tbl.host.world.now
    max_clean = len(tbl.entries) - tbl.gc_thresh(2)
    tref = now - 5 * NSEC_PER_SEC
    shrunk = 0
    for key, n in list(tbl.entries.items()):
        if shrunk >= max_clean:
            break
        if n.nud_state & (NUD_PERMANENT | NUD_IN_TIMER) or n.arp_queue:
            continue
        if n.nud_state & (NUD_FAILED | NUD_NOARP) or n.updated < tref:
            del tbl.entries[key]
            neigh_destroy(n)
            shrunk += 1
    tbl.last_flush = now
    return shrunk


def neigh_flush_dev(tbl: NeighTable, dev: NetDevice, skip_perm: bool) -> None:
    """``neigh_flush_dev``: forget the device's entries (a device going down takes the permanent
    ones too; ``ip neigh flush`` leaves them)."""
    for key, n in list(tbl.entries.items()):
        if n.dev is dev and not (skip_perm and n.nud_state & NUD_PERMANENT):
            del tbl.entries[key]
            neigh_destroy(n)


def pneigh_lookup(tbl: NeighTable, key: int, dev: NetDevice) -> bool:
    """``pneigh_lookup``: is ``key`` answered for on ``dev`` (an entry for it, or for any device)?"""
    return (dev.ifindex, key) in tbl.phash or (0, key) in tbl.phash


def pneigh_create(tbl: NeighTable, key: int, dev: NetDevice | None) -> None:
    """``ip neigh add|replace proxy ADDR [dev DEV]`` (``pneigh_create``; an existing entry stays)."""
    tbl.phash.add((dev.ifindex if dev is not None else 0, key))


def pneigh_delete(tbl: NeighTable, key: int, dev: NetDevice | None) -> bool:
    """``ip neigh del proxy ADDR [dev DEV]``: False when there was no such entry."""
    entry = (dev.ifindex if dev is not None else 0, key)
    if entry not in tbl.phash:
        return False
    tbl.phash.remove(entry)
    return True


def neigh_add(tbl: NeighTable, key: int, dev: NetDevice, lladdr: bytes | None, state: int = NUD_PERMANENT,
              create: bool = True, excl: bool = True, replace: bool = False) -> Neighbour:
    """``neigh_add`` (RTM_NEWNEIGH: ``ip neigh add`` NLM_F_CREATE|NLM_F_EXCL, ``replace``
    NLM_F_CREATE|NLM_F_REPLACE, ``change`` NLM_F_REPLACE): an entry there already is EEXIST when
    exclusive, one missing ENOENT unless created; without NLM_F_REPLACE a known link address is
    not overridden."""
    n = neigh_lookup(tbl, key, dev)
    flags = NEIGH_UPDATE_F_OVERRIDE | NEIGH_UPDATE_F_ADMIN
    if n is None:
        if not create:
            raise OSError(ENOENT, strerror(ENOENT))
        n = __neigh_lookup(tbl, key, dev, True)
        if n is None:
            raise OSError(ENOBUFS, "neighbour table overflow")
    elif excl:
        raise OSError(EEXIST, strerror(EEXIST))
    elif not replace:
        flags &= ~NEIGH_UPDATE_F_OVERRIDE
    if neigh_update(n, lladdr, state, flags):
        raise ValueError("Error: No link layer address given.")  # (the entry stays, NUD_NONE)
    return n


def neigh_delete(tbl: NeighTable, key: int, dev: NetDevice) -> None:
    """``neigh_delete`` (RTM_DELNEIGH, ``ip neigh del``): the entry fails (its queue goes) and
    leaves the table (``neigh_remove_one``); ENOENT when there is none."""
    n = neigh_lookup(tbl, key, dev)
    if n is None:
        raise OSError(ENOENT, strerror(ENOENT))
    neigh_update(n, None, NUD_FAILED, NEIGH_UPDATE_F_OVERRIDE | NEIGH_UPDATE_F_ADMIN)
    if tbl.entries.get((dev.ifindex, key)) is n:
        del tbl.entries[(dev.ifindex, key)]
        neigh_destroy(n)

