"""A hub: one shared Ethernet segment, half duplex, with CSMA/CD (IEEE 802.3 clause 4).

Every station's signal reaches every other station ``delay`` ns after it leaves (a repeater hub
with equal drop cables).  The MAC of each station follows the standard's processes:

- Deference (4.2.3.2.1, 4.2.8): a station with a frame waits while it senses carrier, then for
  the inter-frame gap (96 bit times), then transmits (1-persistent).  Carrier sensed in the gap's
  first 64 bit times restarts the wait; the last 32 are not interrupted.  A first attempt that
  finds the medium busy is counted as a deferral.
- Collision detection (4.2.3.2.4): a station that starts before another's signal has reached it
  collides; each transmitter notices when the other's signal arrives, stops, and sends a 32-bit
  jam.  A collision later than one slot (512 bit times) after the start is a late collision.
- Backoff (4.2.3.2.5): after the n-th collision of a frame the station waits r slot times, r drawn
  uniformly from 0 .. 2^min(n, 10) - 1 (truncated binary exponential backoff, backoffLimit 10),
  then defers again; after 16 attempts (attemptLimit) the frame is dropped as an excessive
  collision (``tx_aborted_errors``).

A frame that goes through whole is received by all other stations when its last bit reaches them;
their NICs filter on the destination address.  Counters: ``dev.stats.collisions`` and the
station's ``HubStationStats``.  Randomness comes from the hub's seeded generator (``hub.rng``).
"""

from __future__ import annotations

import random
from typing import TYPE_CHECKING

from tuxnet.drivers.net.ether import (
    IFG_BITS,
    alloc_etherdev,
    bits_time,
    ether_open,
    ether_rx,
    ether_stop,
    ether_tx_done,
    ether_wire_frame,
    wire_time,
)
from tuxnet.net.core.dev import NETDEV_TX_OK, NetDevice, NetDeviceOps

if TYPE_CHECKING:
    from tuxnet.net.core.skbuff import SkBuff, skb_tx_timestamp
    from tuxnet.world import World

SLOT_BITS = 512  # slotTime
IFG_PART1_BITS = 64  # interFrameSpacingPart1: two thirds of the gap
JAM_BITS = 32  # jamSize
BACKOFF_LIMIT = 10  # backoffLimit
ATTEMPT_LIMIT = 16  # attemptLimit

# a station's MAC transmit state
ST_IDLE = 0
ST_DEFER = 1  # waiting for carrier to drop
ST_IFG = 2  # carrier is off; waiting out the inter-frame gap
ST_TX = 3
ST_JAM = 4
ST_BACKOFF = 5


class HubStationStats:
    """Per-station MAC counters (IEEE 802.3 clause 30.3.1 names in the comments)."""

    __slots__ = ("frames_ok", "octets_ok", "collisions", "single_collision_frames",
                 "multiple_collision_frames", "deferred", "excessive_collisions", "late_collisions")

    def __init__(self) -> None:
        self.frames_ok = 0  # aFramesTransmittedOK
        self.octets_ok = 0  # aOctetsTransmittedOK
        self.collisions = 0  # collisions seen by this station, all frames
        self.single_collision_frames = 0  # aSingleCollisionFrames
        self.multiple_collision_frames = 0  # aMultipleCollisionFrames
        self.deferred = 0  # aFramesWithDeferredXmissions
        self.excessive_collisions = 0  # aFramesAbortedDueToXSColls
        self.late_collisions = 0  # aLateCollisions


class Transmission:
    """One station's signal on the segment, from ``start`` to ``end`` (at the source)."""

    __slots__ = ("station", "start", "end", "ok")

    def __init__(self, station: HubStation, start: int, end: int) -> None:
        self.station = station
        self.start = start
        self.end = end
        self.ok = False


class HubStation:
    """The MAC of one device on the segment."""

    __slots__ = ("hub", "dev", "state", "frame", "attempts", "tx", "idle_since", "carrier_end",
                 "check_at", "forced", "deferred", "stats")

    def __init__(self, hub: Hub, dev: NetDevice) -> None:
        self.hub = hub
        self.dev = dev
        self.state = ST_IDLE
        self.frame = b""
        self.attempts = 0
        self.tx: Transmission | None = None
        self.idle_since = -(1 << 62)  # when our own last transmission ended
        self.carrier_end = -(1 << 62)  # when another station's signal last left us
        self.check_at = -1
        self.forced = False
        self.deferred = False
        self.stats = HubStationStats()

    @property
    def name(self) -> str:
        host = self.dev.nd_net
        return f"{host.name}:{self.dev.name}" if host is not None else self.dev.name


class Hub:
    """A shared segment.  ``rate`` in bit/s, ``delay`` (one-way propagation) in ns, > 0."""

    def __init__(self, world: World, name: str, *, rate: int = 10_000_000, delay: int = 1_000,
                 mtu: int = 1500) -> None:
        if rate <= 0:
            raise ValueError(f"hub {name}: rate must be positive, not {rate}")
        if delay <= 0:
            raise ValueError(f"hub {name}: the propagation delay must be positive, not {delay}")
        self.world = world
        self.name = name
        self.rate = rate
        self.delay = delay
        self.mtu = mtu
        self.slot = bits_time(SLOT_BITS, rate)
        self.ifg = bits_time(IFG_BITS, rate)
        self.ifg_part1 = bits_time(IFG_PART1_BITS, rate)
        self.jam = bits_time(JAM_BITS, rate)
        self.rng = random.Random(f"{world.seed}/hub/{name}")
        self.stations: list[HubStation] = []
        self.on_air: list[Transmission] = []
        self.deferring: list[HubStation] = []
        self._checks: dict[int, list[HubStation]] = {}
        self.backoff_log: list[tuple[int, int]] | None = None

    def __repr__(self) -> str:
        return f"<Hub {self.name} {len(self.stations)} stations {self.rate} bit/s>"

    def attach(self, dev: NetDevice) -> HubStation:
        """Connect ``dev`` to the segment; it takes the hub's MTU."""
        st = HubStation(self, dev)
        self.stations.append(st)
        dev.priv = st
        dev.mtu = self.mtu
        if dev.up:
            dev.netif_carrier_on()
        return st

    # -- carrier sense ---------------------------------------------------------------------------
    def carrier(self, st: HubStation) -> bool:
        """Does ``st`` sense another station's signal now?"""
        now = self.world.now
        d = self.delay
        for t in self.on_air:
            if t.station is not st and t.start + d <= now < t.end + d:
                return True
        return False

    # -- the transmit process --------------------------------------------------------------------
    def xmit(self, st: HubStation, wire: bytes) -> None:
        """Start sending a new frame (TransmitLinkMgmt)."""
        st.frame = wire
        st.attempts = 0
        st.deferred = False
        self.attempt(st)

    def attempt(self, st: HubStation) -> None:
        """Deference (4.2.8, half duplex): after our own transmission the whole inter-frame gap,
        then send; after another station's, the gap's first two thirds restart while carrier is
        sensed, the last third is not interrupted (so stations that waited together start
        together).  Carrier present now: wait for it to drop."""
        now = self.world.now
        own_gap = st.idle_since + self.ifg
        if st.idle_since >= st.carrier_end and now < own_gap:
            self._schedule_check(st, own_gap, True)
            return
        busy = self.carrier(st)
        if st.attempts == 0 and not st.deferred and (busy or st.carrier_end + self.ifg > now):
            st.deferred = True
            st.stats.deferred += 1
        if busy:
            st.state = ST_DEFER
            self.deferring.append(st)
            return
        ready = max(st.carrier_end + self.ifg, own_gap)
        if now >= ready:
            self._transmit(st)
        elif now >= st.carrier_end + self.ifg_part1:
            self._schedule_check(st, ready, True)
        else:
            self._schedule_check(st, st.carrier_end + self.ifg_part1, False)

    def _schedule_check(self, st: HubStation, when: int, forced: bool) -> None:
        st.state = ST_IFG
        st.check_at = when
        st.forced = forced
        waiting = self._checks.get(when)
        if waiting is None:
            self._checks[when] = [st]
            self.world.call_at(when, self._run_checks, when)
        else:
            waiting.append(st)

    def _run_checks(self, when: int) -> None:
        for st in self._checks.pop(when):
            if st.state == ST_IFG and st.check_at == when:
                if st.forced:
                    self._transmit(st)
                else:
                    self.attempt(st)

    def _transmit(self, st: HubStation) -> None:
        world = self.world
        now = world.now
        d = self.delay
        t = Transmission(st, now, now + wire_time(len(st.frame), self.rate))
        st.tx = t
        st.state = ST_TX
        first_hit = -1
        for other in self.on_air:
            if other.station is st or other.end + d <= now:
                continue
            # Our signals overlap: we hear theirs when it reaches us (at once if it already has),
            # they hear ours one propagation delay from now.
            hit = max(now, other.start + d)
            if hit < t.end and (first_hit < 0 or hit < first_hit):
                first_hit = hit
            world.call_at(now + d, self._collision_detect, other.station, other)
        self.on_air.append(t)
        if first_hit >= 0:
            world.call_at(first_hit, self._collision_detect, st, t)
        world.call_at(t.end, self._tx_complete, st, t)

    def _collision_detect(self, st: HubStation, t: Transmission) -> None:
        """Another signal reached a transmitting station: stop and jam."""
        if st.tx is not t or st.state != ST_TX:
            return
        now = self.world.now
        st.state = ST_JAM
        t.end = now + self.jam
        st.stats.collisions += 1
        st.dev.stats.collisions += 1
        if now - t.start > self.slot:
            st.stats.late_collisions += 1
            st.dev.stats.tx_window_errors += 1
        self.world.call_at(t.end, self._jam_done, st, t)

    def _tx_complete(self, st: HubStation, t: Transmission) -> None:
        if st.tx is not t or st.state != ST_TX:
            return
        now = self.world.now
        t.ok = True
        stats = st.stats
        stats.frames_ok += 1
        stats.octets_ok += len(st.frame)
        if st.attempts == 1:
            stats.single_collision_frames += 1
        elif st.attempts > 1:
            stats.multiple_collision_frames += 1
        frame = st.frame
        ether_tx_done(st.dev, frame)
        self.world.call_at(now + self.delay, self._signal_gone, t, frame)
        self._frame_done(st, now)

    def _jam_done(self, st: HubStation, t: Transmission) -> None:
        now = self.world.now
        self.world.call_at(now + self.delay, self._signal_gone, t, b"")
        st.attempts += 1
        if st.attempts >= ATTEMPT_LIMIT:
            st.stats.excessive_collisions += 1
            st.dev.stats.tx_aborted_errors += 1
            st.dev.stats.tx_errors += 1
            self._frame_done(st, now)
            return
        st.idle_since = now
        k = min(st.attempts, BACKOFF_LIMIT)
        r = self.rng.randrange(1 << k)
        if self.backoff_log is not None:
            self.backoff_log.append((st.attempts, r))
        st.state = ST_BACKOFF
        self.world.call_at(now + r * self.slot, self._backoff_done, st)

    def _backoff_done(self, st: HubStation) -> None:
        if st.state == ST_BACKOFF:
            self.attempt(st)

    def _frame_done(self, st: HubStation, now: int) -> None:
        st.idle_since = now
        st.tx = None
        st.state = ST_IDLE
        st.frame = b""
        st.dev.netif_wake_queue()

    def _signal_gone(self, t: Transmission, frame: bytes) -> None:
        """The end of ``t``'s signal has reached every other station: carrier may drop, and a
        frame that went through whole is received."""
        now = self.world.now
        self.on_air.remove(t)
        src = t.station
        for st in self.stations:
            if st is not src and st.carrier_end < now:
                st.carrier_end = now
        if t.ok:
            for st in self.stations:
                if st is not src:
                    ether_rx(st.dev, frame)
        if self.deferring:
            waiting = self.deferring
            self.deferring = []
            for st in waiting:
                if st.state == ST_DEFER:
                    self.attempt(st)

    # -- display ---------------------------------------------------------------------------------
    def format_stats(self) -> str:
        """A table of the stations' MAC counters."""
        cols = ("frames_ok", "collisions", "deferred", "single_collision_frames",
                "multiple_collision_frames", "excessive_collisions", "late_collisions")
        heads = ("frames", "collisions", "deferred", "single", "multiple", "excessive", "late")
        width = max([len("station")] + [len(st.name) for st in self.stations])
        lines = [f"{'station':<{width}}" + "".join(f" {h:>10}" for h in heads)]
        for st in self.stations:
            lines.append(f"{st.name:<{width}}" + "".join(f" {getattr(st.stats, c):>10}" for c in cols))
        return "\n".join(lines) + "\n"


def hub_xmit(skb: SkBuff, dev: NetDevice) -> int:
    """``ndo_start_xmit``: hand the frame to the MAC; the queue stays stopped until it is sent or
    given up."""
    st: HubStation | None = dev.priv
    if st is None:
        dev.stats.tx_carrier_errors += 1
        dev.stats.tx_errors += 1
        return NETDEV_TX_OK
    if skb.tx_flags:
        skb_tx_timestamp(skb)
    dev.netif_stop_queue()
    st.hub.xmit(st, ether_wire_frame(skb))
    return NETDEV_TX_OK


hub_ops = NetDeviceOps(hub_xmit, ndo_open=ether_open, ndo_stop=ether_stop)


def alloc_hub_dev(world: World, name: str) -> NetDevice:
    """A half-duplex NIC for a hub."""
    return alloc_etherdev(world, name, hub_ops)
