"""The neighbour subsystem (net/core/neighbour.c): next-hop IP address to link-layer address.

A ``Neighbour`` carries a NUD state.  Devices that need no resolution (loopback, IFF_NOARP) get
NUD_NOARP entries whose hardware header is cached at once (``neigh_hh_output``); the others go
through the table's protocol (ARP), which resolves them.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from tuxnet.net.core.dev import ETH_P_IP, dev_queue_xmit

if TYPE_CHECKING:
    from tuxnet.kernel.host import Host
    from tuxnet.net.core.dev import NetDevice
    from tuxnet.net.core.skbuff import SkBuff

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


class Neighbour:
    """``struct neighbour``."""

    __slots__ = ("tbl", "primary_key", "dev", "ha", "nud_state", "hh", "output", "arp_queue",
                 "probes", "confirmed", "updated", "used", "timer", "arp_queue_len_bytes")

    def __init__(self, tbl: NeighTable, key: int, dev: NetDevice) -> None:
        self.tbl = tbl
        self.primary_key = key
        self.dev = dev
        self.ha = b"\0" * dev.addr_len
        self.nud_state = NUD_NONE
        self.hh: bytes | None = None
        self.output: Callable[[Neighbour, SkBuff], int] = neigh_blackhole
        self.arp_queue: deque[SkBuff] = deque()
        self.arp_queue_len_bytes = 0
        self.probes = 0
        now = tbl.host.world.now
        self.confirmed = now
        self.updated = now
        self.used = now
        self.timer: Any = None

    def __repr__(self) -> str:
        return f"<Neighbour {self.primary_key:#x} dev {self.dev.name} {NUD_NAMES.get(self.nud_state)}>"


def neigh_blackhole(neigh: Neighbour, skb: SkBuff) -> int:
    """Output for a dead entry: the packet is dropped."""
    neigh.dev.stats.tx_dropped += 1
    return -1


class NeighTable:
    """``struct neigh_table``: entries keyed by (device, address), plus the protocol's hooks."""

    def __init__(self, host: Host, constructor: Callable[[Neighbour], None]) -> None:
        self.host = host
        self.entries: dict[tuple[int, int], Neighbour] = {}
        self.constructor = constructor


def __ipv4_neigh_lookup_noref(host: Host, dev: NetDevice, key: int) -> Neighbour | None:
    """``__ipv4_neigh_lookup_noref``: the entry for ``key`` on ``dev``, if any."""
    return host.arp_tbl.entries.get((dev.ifindex, key))


def __neigh_create(tbl: NeighTable, key: int, dev: NetDevice) -> Neighbour:
    """``__neigh_create``: a new entry, set up by the protocol's constructor (``arp_constructor``)."""
    n = Neighbour(tbl, key, dev)
    tbl.constructor(n)
    tbl.entries[(dev.ifindex, key)] = n
    return n


def neigh_hh_init(n: Neighbour) -> None:
    """Cache the link-layer header for this neighbour (``neigh_hh_init``)."""
    dev = n.dev
    if dev.header_ops is None:
        n.hh = b""
        return
    n.hh = bytes(n.ha) + dev.dev_addr + ETH_P_IP.to_bytes(2, "big")


def neigh_hh_output(n: Neighbour, skb: SkBuff) -> int:
    """``neigh_hh_output``: copy the cached header in front of the packet and send it."""
    hh = n.hh
    if hh:
        d = skb.push(len(hh))
        skb.buf[d:d + len(hh)] = hh
    return dev_queue_xmit(skb)


def neigh_connected_output(n: Neighbour, skb: SkBuff) -> int:
    """``neigh_connected_output``: build the header from the known address and send."""
    if n.hh is None:
        neigh_hh_init(n)
    return neigh_hh_output(n, skb)


def neigh_output(n: Neighbour, skb: SkBuff) -> int:
    """``neigh_output``: the fast path when the address is known, else the entry's ``output``."""
    if n.nud_state & NUD_CONNECTED and n.hh is not None:
        return neigh_hh_output(n, skb)
    return n.output(n, skb)
