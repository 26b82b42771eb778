"""A TUN device for tests (drivers/net/tun.c): IP packets go to a test harness instead of a wire.

A TUN device has no link layer (``ARPHRD_NONE``, ``IFF_NOARP``, no ``header_ops``): the stack
hands it bare IPv4 packets.  ``tun_net_xmit`` keeps each one, with the time it left, in the
device's ``tx`` list and tells the ``on_xmit`` callback; ``tun_get_user`` is the other direction,
a packet written by the harness, received through ``netif_rx`` as if it had come off a wire.

As packetdrill configures its tun0 (``TUNSETOFFLOAD`` with ``TUN_F_TSO4``), the device takes TSO
packets: a segment larger than the MTU leaves as one packet with its ``gso_size``, and the
harness sees the packet TCP built.  ``ethtool -K tun0 tso off gso off`` is ``tun_set_tso``.

``tc qdisc replace dev tun0 root fq`` puts the fq qdisc (net/sched/sch_fq.c) in front of the
device, which tuxnet models where its effect shows, in ``tun_net_xmit``: fq marks the sending
socket as paced by the qdisc (``SK_PACING_FQ``, so TCP stamps each segment with its Earliest
Departure Time) and holds each packet of the flow until that time.  A held packet stays charged to
its socket (``sk_wmem_alloc``) until it leaves, which is what TCP Small Queues throttles on.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from tuxnet.kernel.errno import EINVAL
from tuxnet.kernel.minmax import max
from tuxnet.net.core.dev import (
    ARPHRD_NONE,
    ETH_P_IP,
    IFF_MULTICAST,
    IFF_NOARP,
    IFF_POINTOPOINT,
    IFF_RUNNING,
    NETDEV_TX_OK,
    NetDevice,
    NetDeviceOps,
    dev_sw_netstats_rx_add,
    netif_rx,
)
from tuxnet.net.core.netdev_features import NETIF_F_SG, NETIF_F_TSO
from tuxnet.net.core.skbuff import (
    PACKET_HOST,
    PAGE_SIZE,
    SKB_SHINFO_SIZE,
    SKB_STRUCT_SIZE,
    SkBuff,
    alloc_skb_end,
    alloc_skb_truesize,
    skb_from_frame,
    skb_orphan,
    skb_orphan_frags_rx,
    skb_set_owner_w,
    skb_tx_timestamp,
)
from tuxnet.net.core.sock import SK_PACING_FQ
from tuxnet.net.ipv4.af_inet import IPPROTO_TCP

if TYPE_CHECKING:
    from tuxnet.kernel.host import Host

TUN_READQ_SIZE = 500  # the default txqueuelen of a tun device
NET_SKB_PAD = 64  # the headroom a received packet's buffer starts with (max(32, L1_CACHE_BYTES))
PAGE_ALLOC_COSTLY_ORDER = 3  # the largest page chunk a long packet is copied into: 8 pages
# good_linear, SKB_MAX_HEAD(NET_SKB_PAD): what of a long packet goes into its head, the most a
# one-page kmalloc holds behind the headroom and before the skb_shared_info
TUN_GOOD_LINEAR = PAGE_SIZE - NET_SKB_PAD - SKB_SHINFO_SIZE


@dataclass
class TunPacket:
    """One packet the stack sent through the device: its bytes (from the IP header) and time (ns)."""

    data: bytes
    time: int
    gso_size: int = 0
    # While fq holds it, a socket's packet's charge to it (skb_set_owner_w).
    sk: Any = None
    truesize: int = 0
    destructor: Callable[[Any], None] | None = None


class TunStruct:
    """``struct tun_struct``: what the device keeps for the harness reading it, and the packets
    an fq qdisc in front of it holds until their departure time."""

    def __init__(self) -> None:
        self.tx: list[TunPacket] = []
        self.on_xmit: Callable[[TunPacket], None] | None = None
        self.fq = False
        self.fq_held: deque[tuple[int, TunPacket]] = deque()
        self.fq_time_next_packet = 0
        self.fq_timer: Any = None


def tun_deliver(dev: NetDevice, pkt: TunPacket) -> None:
    """The packet is now readable by the harness."""
    tun: TunStruct = dev.priv
    pkt.time = dev.nd_net.world.now
    tun.tx.append(pkt)
    if tun.on_xmit is not None:
        tun.on_xmit(pkt)
    skb_orphan(pkt)


def fq_watchdog(dev: NetDevice) -> None:
    """``fq``'s watchdog timer: release the packets whose departure time has come."""
    tun: TunStruct = dev.priv
    now = dev.nd_net.world.now
    while tun.fq_held and tun.fq_held[0][0] <= now:
        tun_deliver(dev, tun.fq_held.popleft()[1])
    if tun.fq_held:
        tun.fq_timer.mod(tun.fq_held[0][0])


def tun_net_xmit(skb: SkBuff, dev: NetDevice) -> int:
    """``tun_net_xmit``: queue the packet for the reader (the test harness).  Behind fq
    (``fq_enqueue``/``fq_dequeue``), a packet leaves no earlier than its ``skb->tstamp``, and the
    flow's packets keep their order."""
    tun: TunStruct = dev.priv
    if skb.tx_flags:
        skb_tx_timestamp(skb)
    if skb.destructor_arg is not None:
        skb_orphan_frags_rx(skb)  # the reader keeps the packet: no zerocopy sender's pages in it
    data = skb.tobytes()
    stats = dev.stats
    stats.tx_packets += 1
    stats.tx_bytes += len(data)
    now = dev.nd_net.world.now
    pkt = TunPacket(data, now, skb.gso_size)
    if not tun.fq:
        tun_deliver(dev, pkt)
        return NETDEV_TX_OK
    sk = skb.sk
    if sk is not None and hasattr(sk, "sk_pacing_status"):
        sk.sk_pacing_status = SK_PACING_FQ
    release = max(skb.tstamp, tun.fq_time_next_packet)
    tun.fq_time_next_packet = release
    if release <= now and not tun.fq_held:
        tun_deliver(dev, pkt)
        return NETDEV_TX_OK
    if skb.destructor is not None:
        # Held in the qdisc, a socket's packet stays charged to it (TCP Small Queues).
        pkt.sk, pkt.truesize, pkt.destructor = sk, skb.truesize, skb.destructor
        skb_set_owner_w(pkt)
    tun.fq_held.append((release, pkt))
    if len(tun.fq_held) == 1:
        tun.fq_timer.mod(release)
    return NETDEV_TX_OK


def tun_net_init(host: Host, name: str = "tun0", mtu: int = 1500) -> NetDevice:
    """``tun_set_iff`` + ``tun_net_init``: create and register a TUN device (down until opened)."""
    dev = NetDevice(
        name, tun_netdev_ops, type=ARPHRD_NONE, mtu=mtu, dev_addr=b"", broadcast=b"",
        flags=IFF_POINTOPOINT | IFF_NOARP | IFF_MULTICAST | IFF_RUNNING, tx_queue_len=TUN_READQ_SIZE,
        hard_header_len=0, features=NETIF_F_SG | NETIF_F_TSO, header_ops=None,
    )
    tun = TunStruct()
    tun.fq_timer = host.timer(fq_watchdog, dev)
    dev.priv = tun
    host.register_netdevice(dev)
    return dev


def tun_alloc_skb(data: bytes) -> SkBuff:
    """``tun_alloc_skb``: the buffer a written packet is copied into, behind ``NET_SKB_PAD`` bytes
    of headroom.  Under a page, one kmalloc'd head: it costs what ``alloc_skb`` of that size
    does, and the allocation's slack is its tailroom, where TCP may later copy a small segment
    for free (``skb_try_coalesce``).  A longer packet fills a one-page head (``good_linear``
    bytes, ``tun_get_user``) and goes on in page chunks of up to 32 KB (``alloc_skb_with_frags``,
    PAGE_ALLOC_COSTLY_ORDER), each charged whole.  The head is not a page fragment: no other
    buffer can take it over."""
    length = len(data)
    if NET_SKB_PAD + length < PAGE_SIZE:
        end = alloc_skb_end(NET_SKB_PAD + length)
        buf = bytearray(data)
        buf += bytes(end - NET_SKB_PAD - length)
        skb = SkBuff(buf, 0, length)
        skb.truesize = end + SKB_SHINFO_SIZE + SKB_STRUCT_SIZE
        return skb
    skb = skb_from_frame(data)
    skb.head_frag = False
    truesize = alloc_skb_truesize(NET_SKB_PAD + TUN_GOOD_LINEAR)
    length -= TUN_GOOD_LINEAR
    order = PAGE_ALLOC_COSTLY_ORDER
    while length > 0:
        while order and -(-length // PAGE_SIZE) * PAGE_SIZE < PAGE_SIZE << order:
            order -= 1
        truesize += PAGE_SIZE << order
        length -= PAGE_SIZE << order
    skb.truesize = truesize
    return skb


def tun_get_user(dev: NetDevice, data: bytes, gso_size: int = 0) -> int:
    """``tun_get_user``: a packet written by the harness enters the stack (``netif_rx``).

    ``gso_size`` is the ``virtio_net_hdr`` GSO size the writer gives (packetdrill's ``--mss``):
    TCP over IPv4's (VIRTIO_NET_HDR_GSO_TCPV4); a packet of another protocol with one is refused,
    as ``virtio_net_hdr_to_skb`` refuses it (EINVAL, a frame error on the device)."""
    if gso_size and (len(data) < 20 or data[0] >> 4 != 4 or data[9] != IPPROTO_TCP):
        dev.stats.rx_frame_errors += 1
        return -EINVAL
    dev_sw_netstats_rx_add(dev, len(data))
    skb = tun_alloc_skb(data)
    skb.dev = dev
    skb.protocol = ETH_P_IP
    skb.pkt_type = PACKET_HOST
    skb.reset_mac_header()
    skb.reset_network_header()
    skb.gso_size = gso_size
    return netif_rx(skb)


def tun_set_tso(dev: NetDevice, on: bool) -> None:
    """``ethtool -K DEV tso|gso on|off`` (``tun_set_features``).  tuxnet's TCP builds segments
    larger than one MSS only for a TSO device, so turning either off gives MSS-sized segments."""
    if on:
        dev.features |= NETIF_F_TSO
    else:
        dev.features &= ~NETIF_F_TSO


def tun_setup_tc(dev: NetDevice, kind: str) -> None:
    """``ndo_setup_tc``: ``tc qdisc ... root fq`` has the driver pace the flows by their
    departure times (sch_fq, which tuxnet emulates here); any other root turns that off."""
    tun: TunStruct = dev.priv
    tun.fq = kind == "fq"


tun_netdev_ops = NetDeviceOps(tun_net_xmit, ndo_setup_tc=tun_setup_tc)
