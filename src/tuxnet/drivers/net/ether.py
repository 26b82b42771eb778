"""What every simulated Ethernet NIC has in common: ``alloc_etherdev``, the frame check sequence,
padding, the receive address filter, and the time a frame takes on the wire.

A simulated wire carries the octets of the frame as IEEE 802.3 clause 3 puts them on a real one:
the frame padded to 60 octets (``eth_skb_pad``), followed by the 4-octet FCS (CRC-32).  Taps
(pcap, tcpdump) see frames without the FCS, as on Linux.  The receiving driver checks the FCS
(a bad one is counted in ``rx_crc_errors`` and the frame dropped) and filters on the destination
address as NIC hardware does, then puts the frame on its receive ring and interrupts, at once or,
with interrupt moderation (``ethtool -C DEV rx-usecs N rx-frames M``), ``rx-usecs`` after the
first frame that waits or as soon as ``rx-frames`` wait.  The interrupt schedules the device's NAPI
poll, which strips each frame's FCS and hands it to GRO (``napi_gro_frags``): frames that one
interrupt brings in together are merged, and what goes up goes through ``eth_type_trans``.

Receive checksum offload (NETIF_F_RXCSUM, ``ethtool -K DEV rx on|off``, on by default as on real
NICs): the NIC's checksum engine reports a TCP or UDP checksum it found right, and the stack then
does not compute it again (CHECKSUM_UNNECESSARY).  The engine's answer depends on the bytes alone,
so the model does not recompute what is known: a frame whose checksum the sending stack completed
(``skb_checksum_help``, GSO) or found right, and whose FCS still checks, has it right; the
sending driver says so with the frame (``csum_ok``).  Any other frame (from a hub, a raw socket, a
tool that wrote its own checksum) goes up CHECKSUM_NONE and the stack checks it in software, which
is what the stack does when a NIC reports a bad checksum.
Serialisation time counts the preamble and start-of-frame delimiter (8 octets); the inter-frame gap
is 96 bit times (IEEE 802.3 clause 4.4.2).
"""

from __future__ import annotations

import struct
import zlib
from collections import deque
from typing import TYPE_CHECKING

from tuxnet.net.core.checksum import csum_fold, csum_partial
from tuxnet.net.core.dev import (
    ETH_P_8021AD,
    ETH_P_8021Q,
    IFF_BROADCAST,
    IFF_MULTICAST,
    IFF_PROMISC,
    IFF_UP,
    NapiStruct,
    NetDevice,
    NetDeviceOps,
    napi_complete_done,
    napi_schedule,
    netif_napi_add,
    netif_receive_skb,
)
from tuxnet.net.core.gro import napi_gro_frags
from tuxnet.net.core.gso import tcp_gso_pieces
from tuxnet.net.core.netdev_features import NETIF_F_GRO, NETIF_F_RXCSUM, NETIF_F_SG
from tuxnet.net.core.skbuff import (
    CHECKSUM_UNNECESSARY,
    SkBuff,
    skb_add_frags,
    skb_checksum,
    skb_from_frame,
    skb_views,
)
from tuxnet.net.ethernet.eth import ETH_FCS_LEN, ETH_HLEN, ETH_ZLEN, VLAN_HLEN, EthHeaderOps, eth_type_trans
from tuxnet.world import NSEC_PER_SEC

_VLAN_TPIDS = (ETH_P_8021Q.to_bytes(2, "big"), ETH_P_8021AD.to_bytes(2, "big"))

if TYPE_CHECKING:
    from tuxnet.world import Timer, World

IFF_ALLMULTI = 0x200
PREAMBLE_LEN = 8  # 7 octets of preamble and the start frame delimiter (IEEE 802.3 clause 3.2.1-2)
IFG_BITS = 96  # interFrameSpacing (IEEE 802.3 clause 4.4.2)
ETH_MIN_MTU = 68
ETH_MAX_MTU = 65535
CRC32_RESIDUE = 0x2144DF1C  # CRC-32 of a frame followed by its own FCS (IEEE 802.3 clause 3.2.9)
RX_RING_SIZE = 256  # receive descriptors (ethtool -g)
_u16 = struct.Struct("!H")


class RxRing:
    """The NIC's receive ring and its interrupt moderation (``ethtool -c``)."""

    __slots__ = ("frames", "size", "rx_usecs", "rx_max_frames", "irq_enabled", "irq_timer")

    def __init__(self) -> None:
        self.frames: deque[tuple[bytes, bool]] = deque()  # (frame with FCS, csum_ok)
        self.size = RX_RING_SIZE
        self.rx_usecs = 0
        self.rx_max_frames = 0
        self.irq_enabled = True
        self.irq_timer: Timer | None = None  # armed by the first frame to wait (made on first use)


def eth_hw_addr_alloc(world: World) -> bytes:
    """A locally administered unicast address (first octet 02), numbered in order of creation so
    the same topology always gets the same addresses (``eth_hw_addr_random`` made deterministic)."""
    n = world.next_mac
    world.next_mac = n + 1
    return b"\x02\x00" + n.to_bytes(4, "big")


def alloc_etherdev(world: World, name: str, ops: NetDeviceOps, mtu: int = 1500,
                   dev_addr: bytes | None = None) -> NetDevice:
    """``alloc_etherdev`` + ``ether_setup``: an Ethernet device with a fresh address."""
    dev = NetDevice(name, ops, mtu=mtu, dev_addr=dev_addr or eth_hw_addr_alloc(world),
                    flags=IFF_BROADCAST | IFF_MULTICAST, header_ops=EthHeaderOps,
                    features=NETIF_F_GRO | NETIF_F_RXCSUM | NETIF_F_SG)
    dev.hw_features = NETIF_F_GRO | NETIF_F_RXCSUM | NETIF_F_SG
    dev.min_mtu = ETH_MIN_MTU
    dev.max_mtu = ETH_MAX_MTU
    dev.rx_ring = RxRing()
    netif_napi_add(dev, ether_poll)
    dev.netif_carrier_off()
    return dev


def bits_time(bits: int, rate: int) -> int:
    """Nanoseconds to send ``bits`` at ``rate`` bit/s, rounded up."""
    return -(-bits * NSEC_PER_SEC // rate)


def wire_time(frame_len: int, rate: int) -> int:
    """Serialisation time of a wire frame (padded frame + FCS) with its preamble."""
    return bits_time((PREAMBLE_LEN + frame_len) * 8, rate)


def ether_fcs(frame: bytes | bytearray | memoryview) -> bytes:
    """The frame check sequence: CRC-32 of the frame, in transmission order (IEEE 802.3 3.2.9)."""
    return (zlib.crc32(frame) & 0xFFFFFFFF).to_bytes(4, "little")


def eth_skb_pad(frame: bytes) -> bytes:
    """``eth_skb_pad``: pad a short frame with zeros to ETH_ZLEN (60) octets."""
    if len(frame) < ETH_ZLEN:
        return frame + bytes(ETH_ZLEN - len(frame))
    return frame


def ether_wire_frame(skb: SkBuff) -> bytes:
    """What the driver puts on the wire for ``skb``: the frame padded, then its FCS (one copy of
    the frame, gathered from the head and any page fragments, NETIF_F_SG: the CRC is taken over
    the buffer in place)."""
    if skb.frags is not None and skb.tail - skb.data >= ETH_ZLEN:
        views = skb_views(skb, skb.data, skb.tail)
        crc = 0
        for view in views:
            crc = zlib.crc32(view, crc)
        return b"".join((*views, (crc & 0xFFFFFFFF).to_bytes(4, "little")))
    frame: bytes | memoryview = memoryview(skb.buf)[skb.data:skb.tail] if skb.frags is None else skb.tobytes()
    if len(frame) < ETH_ZLEN:
        frame = eth_skb_pad(bytes(frame))
    return b"".join((frame, ether_fcs(frame)))


def ether_tso_frames(skb: SkBuff) -> list[bytes]:
    """The TCP segmentation offload engine (NETIF_F_TSO): the wire frames of a GSO packet, each
    with its own headers (``tcp_gso_pieces``), its TCP checksum completed by the NIC and its FCS,
    gathered from the headers and the packet's payload in one copy (the DMA onto the wire)."""
    n_th, pieces, _ = tcp_gso_pieces(skb)
    frames = []
    mss = skb.gso_size
    for i, (h, chunk) in enumerate(pieces):
        if chunk is None:
            frames.append(_ether_tso_gather(skb, h, n_th, skb.data + len(h) + i * mss))
            continue
        # (the TCP header is an even number of octets long, so the two sums add)
        _u16.pack_into(h, n_th + 16, csum_fold(csum_partial(chunk, csum_partial(memoryview(h)[n_th:]))))
        if len(h) + len(chunk) < ETH_ZLEN:
            frames.append(ether_wire_frame(SkBuff(h + chunk)))
            continue
        fcs = (zlib.crc32(chunk, zlib.crc32(h)) & 0xFFFFFFFF).to_bytes(4, "little")
        frames.append(b"".join((h, chunk, fcs)))
    return frames


def _ether_tso_gather(skb: SkBuff, h: bytearray, n_th: int, start: int) -> bytes:
    """The frame of a TSO segment whose payload (from ``start``) spans two of the packet's page
    fragments: the segment's headers and those fragments, its checksum summed over them in place
    and the frame gathered from them (NETIF_F_SG)."""
    seg = SkBuff(h)
    skb_add_frags(seg, skb, start, min(start + skb.gso_size, skb.tail))
    _u16.pack_into(h, n_th + 16, csum_fold(skb_checksum(seg, n_th, seg.tail, 0)))
    return ether_wire_frame(seg)


def ether_tx_done(dev: NetDevice, wire: bytes) -> None:
    """Count a frame sent (``tx_bytes`` counts the frame without its FCS, as Linux does)."""
    stats = dev.stats
    stats.tx_packets += 1
    stats.tx_bytes += len(wire) - ETH_FCS_LEN


def eth_rx_filter(dev: NetDevice, dest: bytes | bytearray) -> bool:
    """The NIC's receive address filter: our address or another added to it (``dev_uc_add``),
    broadcast, a joined (or all) multicast group, or anything in promiscuous mode."""
    if dev.promiscuity or dev.flags & IFF_PROMISC:
        return True
    if dest[0] & 1:
        return dest == dev.broadcast or bool(dev.flags & IFF_ALLMULTI) or bytes(dest) in dev.mc_list
    return dest == dev.dev_addr or bool(dev.uc_list) and bytes(dest) in dev.uc_list


def ether_rx(dev: NetDevice, wire: bytes, csum_ok: bool = False) -> None:
    """A frame arrives from the wire: the NIC checks its FCS and length and filters on its
    address, puts it on the receive ring (counted in ``rx_missed_errors`` when the ring is full)
    and interrupts as its moderation says.  ``csum_ok``: the sender vouches for its TCP/UDP
    checksum (see the module's docstring)."""
    if not dev.flags & IFF_UP:
        return
    stats = dev.stats
    size = len(wire)
    if size < ETH_ZLEN + ETH_FCS_LEN:
        stats.rx_length_errors += 1
        stats.rx_errors += 1
        return
    # The CRC over the frame and its FCS leaves the CRC-32 residue when the FCS is right.
    if zlib.crc32(wire) != CRC32_RESIDUE:
        stats.rx_crc_errors += 1
        stats.rx_errors += 1
        return
    over = size - ETH_FCS_LEN - dev.mtu - ETH_HLEN
    if over > 0 and (over > VLAN_HLEN or wire[12:14] not in _VLAN_TPIDS):
        # (a NIC takes an 802.1Q tag's 4 octets beyond the MTU: VLAN_ETH_FRAME_LEN)
        stats.rx_length_errors += 1
        stats.rx_errors += 1
        return
    if not wire.startswith(dev.dev_addr):  # (our own address passes every filter)
        dest = wire[:6]
        if not eth_rx_filter(dev, dest):
            return
        if dest[0] & 1 and dest != dev.broadcast:
            stats.multicast += 1
    ring = dev.rx_ring
    frames = ring.frames
    if len(frames) >= ring.size:
        stats.rx_missed_errors += 1
        return
    frames.append((wire, csum_ok))
    if ring.irq_enabled:
        if not ring.rx_usecs or (ring.rx_max_frames and len(frames) >= ring.rx_max_frames):
            ether_interrupt(dev)
        else:
            timer = ring.irq_timer
            if timer is None:
                world = dev.nd_net.world
                timer = ring.irq_timer = world.timer(ether_interrupt, dev)
            if not timer.pending():
                timer.mod(timer.world.now + ring.rx_usecs * 1000)


def ether_interrupt(dev: NetDevice) -> None:
    """The receive interrupt: masked until the poll has emptied the ring."""
    ring = dev.rx_ring
    ring.irq_enabled = False
    if ring.irq_timer is not None:
        ring.irq_timer.delete()
    napi_schedule(dev.napi)


def ether_poll(napi: NapiStruct, budget: int) -> int:
    """The driver's NAPI poll: up to ``budget`` frames off the ring, each without its FCS to
    ``napi_gro_frags``, with CHECKSUM_UNNECESSARY where the checksum engine found it right; once
    the ring is empty, complete and unmask.  The frames taken are counted at the end, FCS left
    out, as e1000's ``e1000_clean_rx_irq`` counts them (``total_rx_bytes``)."""
    dev = napi.dev
    ring = dev.rx_ring
    frames = ring.frames
    rxcsum = dev.features & NETIF_F_RXCSUM
    work = 0
    nbytes = 0
    while frames and work < budget:
        wire, csum_ok = frames.popleft()
        frame = memoryview(wire)[:-ETH_FCS_LEN]
        nbytes += len(frame)
        csum_ok = csum_ok and rxcsum
        if frames or napi.gro_list:
            napi_gro_frags(napi, frame, csum_ok)
        else:
            # The poll's last frame with nothing held: GRO would only send it up unchanged.
            skb = skb_from_frame(frame)
            skb.protocol = eth_type_trans(skb, dev)
            if csum_ok:
                skb.ip_summed = CHECKSUM_UNNECESSARY
            netif_receive_skb(skb)
        work += 1
    stats = dev.stats
    stats.rx_packets += work
    stats.rx_bytes += nbytes
    if work < budget and napi_complete_done(napi, work):
        ring.irq_enabled = True
    return work


def ether_open(dev: NetDevice) -> None:
    """``ndo_open``: a NIC plugged into a wire has carrier once it is up."""
    if dev.priv is not None:
        dev.netif_carrier_on()


def ether_stop(dev: NetDevice) -> None:
    """``ndo_stop``: no carrier while down."""
    dev.netif_carrier_off()
