"""A cable: a full-duplex point-to-point Ethernet link between two devices, like a veth pair
(drivers/net/veth.c) with a wire's physics.

Each direction is independent.  The sending driver serialises one frame at a time: the queue is
stopped for the frame's time on the wire plus the inter-frame gap, then woken (``netif_wake_queue``,
taken only when a packet is waiting: ``netif_stop_queue_until``), so the qdisc holds what the line
cannot take yet.  The far end receives the
frame when its last bit arrives, ``delay`` after it left.  Impairments follow ``tc netem`` and are
drawn from the cable's own seeded generator, so a run is repeatable: ``loss`` drops the frame,
``duplicate`` delivers it twice, ``corrupt`` flips one bit (the receiver's FCS check then drops it
as a CRC error), ``reorder`` holds the frame back by ``reorder_delay`` so later ones overtake it.
"""

from __future__ import annotations

import random
from typing import TYPE_CHECKING

from tuxnet.drivers.net.ether import (
    IFG_BITS,
    PREAMBLE_LEN,
    alloc_etherdev,
    bits_time,
    ether_open,
    ether_rx,
    ether_stop,
    ether_tso_frames,
    ether_tx_done,
    ether_wire_frame,
)
from tuxnet.net.core.dev import NETDEV_TX_OK, NetDevice, NetDeviceOps, skb_checksum_help
from tuxnet.net.core.netdev_features import NETIF_F_HW_CSUM, NETIF_F_TSO
from tuxnet.net.core.skbuff import CHECKSUM_PARTIAL, CHECKSUM_UNNECESSARY, skb_tx_timestamp
from tuxnet.world import NSEC_PER_MSEC, NSEC_PER_SEC

if TYPE_CHECKING:
    from tuxnet.net.core.skbuff import SkBuff
    from tuxnet.world import World


class CableStats:
    """What happened on the wire, for both directions."""

    __slots__ = ("frames", "lost", "duplicated", "corrupted", "reordered")

    def __init__(self) -> None:
        self.frames = 0
        self.lost = 0
        self.duplicated = 0
        self.corrupted = 0
        self.reordered = 0


class Cable:
    """A point-to-point link.  ``rate`` in bit/s, ``delay`` (propagation) in ns; probabilities in
    [0, 1]."""

    def __init__(self, world: World, name: str, *, rate: int = 100_000_000, delay: int = 0, mtu: int = 1500,
                 loss: float = 0.0, duplicate: float = 0.0, corrupt: float = 0.0, reorder: float = 0.0,
                 reorder_delay: int = NSEC_PER_MSEC) -> None:
        if rate <= 0:
            raise ValueError(f"cable {name}: rate must be positive, not {rate}")
        if delay < 0 or reorder_delay < 0:
            raise ValueError(f"cable {name}: delays cannot be negative")
        for what, p in (("loss", loss), ("duplicate", duplicate), ("corrupt", corrupt), ("reorder", reorder)):
            if not 0.0 <= p <= 1.0:
                raise ValueError(f"cable {name}: {what} must be a probability in [0, 1], not {p}")
        self.world = world
        self.name = name
        self.rate = rate
        self.delay = delay
        self.mtu = mtu
        self.loss = loss
        self.duplicate = duplicate
        self.corrupt = corrupt
        self.reorder = reorder
        self.reorder_delay = reorder_delay
        self.ifg = bits_time(IFG_BITS, rate)
        self.rng = random.Random(f"{world.seed}/cable/{name}")
        self.ends: list[NetDevice | None] = [None, None]
        self.stats = CableStats()

    def __repr__(self) -> str:
        names = [f"{d.nd_net.name}:{d.name}" if d is not None and d.nd_net is not None else "-" for d in self.ends]
        return f"<Cable {self.name} {names[0]} <-> {names[1]} {self.rate} bit/s>"

    def attach(self, side: int, dev: NetDevice) -> None:
        """Plug ``dev`` into end ``side`` (0 or 1); the device takes the cable's MTU."""
        self.ends[side] = dev
        dev.priv = self
        dev.mtu = self.mtu
        if dev.up:
            dev.netif_carrier_on()

    def transmit(self, dev: NetDevice, wire: bytes, csum_ok: bool = False, start: int = -1) -> int:
        """Put ``wire`` on the line from ``dev``, now or at ``start`` (a later frame of a burst
        the NIC sends back to back); returns the serialisation time.  The far end gets it (or
        not, or twice, or damaged) ``delay`` after its last bit left; ``csum_ok`` travels with it
        (``ether_rx``)."""
        world = self.world
        if start < 0:
            start = world.now
        t = -(-(PREAMBLE_LEN + len(wire)) * 8 * NSEC_PER_SEC // self.rate)  # wire_time, inline
        a, peer = self.ends  # the far end from dev
        if dev is not a:
            peer = a
        stats = self.stats
        stats.frames += 1
        if peer is None:
            return t
        if not (self.loss or self.duplicate or self.corrupt or self.reorder):
            world.call_at(start + t + self.delay, ether_rx, peer, wire, csum_ok)
            return t
        rng = self.rng
        if self.loss and rng.random() < self.loss:
            stats.lost += 1
            return t
        copies = 1
        if self.duplicate and rng.random() < self.duplicate:
            stats.duplicated += 1
            copies = 2
        arrival = start + t + self.delay
        for _ in range(copies):
            data = wire
            if self.corrupt and rng.random() < self.corrupt:
                stats.corrupted += 1
                bit = rng.randrange(len(wire) * 8)
                damaged = bytearray(wire)
                damaged[bit >> 3] ^= 1 << (bit & 7)
                data = bytes(damaged)
            at = arrival
            if self.reorder and rng.random() < self.reorder:
                stats.reordered += 1
                at += self.reorder_delay
            world.call_at(at, ether_rx, peer, data, csum_ok and data is wire)
        return t


def cable_xmit(skb: SkBuff, dev: NetDevice) -> int:
    """``ndo_start_xmit``: serialise the frame; the queue stays stopped until the line is free.
    With ``ethtool -K DEV tx on`` the NIC completes a partial checksum itself; with ``tso on`` it
    gets a GSO packet whole and sends its frames back to back (``ether_tso_frames``)."""
    cable: Cable | None = dev.priv
    if cable is None:
        dev.stats.tx_carrier_errors += 1
        dev.stats.tx_errors += 1
        return NETDEV_TX_OK
    if skb.tx_flags:
        skb_tx_timestamp(skb)
    if skb.gso_size:
        now = cable.world.now
        busy = 0
        for wire in ether_tso_frames(skb):
            busy += cable.transmit(dev, wire, True, now + busy) + cable.ifg
            ether_tx_done(dev, wire)
        dev.netif_stop_queue_until(now + busy)
        return NETDEV_TX_OK
    if skb.ip_summed == CHECKSUM_PARTIAL:
        skb_checksum_help(skb)  # (tx-checksumming on: the NIC's checksum engine)
    wire = ether_wire_frame(skb)
    # The stack completed or checked this frame's TCP/UDP checksum: the NIC vouches for it.
    t = cable.transmit(dev, wire, skb.ip_summed == CHECKSUM_UNNECESSARY)
    ether_tx_done(dev, wire)
    # The line is busy for the frame and the inter-frame gap; the transmit-complete interrupt
    # that wakes the queue comes only if a packet waits for it.
    dev.netif_stop_queue_until(cable.world.now + t + cable.ifg)
    return NETDEV_TX_OK


cable_ops = NetDeviceOps(cable_xmit, ndo_open=ether_open, ndo_stop=ether_stop)


def alloc_cable_dev(world: World, name: str) -> NetDevice:
    """A NIC for one end of a cable.  Besides receive checksum offload and GRO, it can checksum
    and segment what it sends (``ethtool -K DEV tx on tso on``); both are off until switched on,
    so the stack does that work in software by default."""
    dev = alloc_etherdev(world, name, cable_ops)
    dev.hw_features |= NETIF_F_HW_CSUM | NETIF_F_TSO
    return dev
