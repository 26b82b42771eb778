"""Network devices and the device layer (net/core/dev.c).

Sending: ``dev_queue_xmit`` puts a packet on the device's qdisc (pfifo of ``txqueuelen``; the
loopback device has none, as ``noqueue``) and ``qdisc_run`` hands it to the driver's
``ndo_start_xmit`` through ``dev_hard_start_xmit``; taps (``ptype_all``: pcap, tcpdump) see it on
the way.  Receiving: a driver calls ``netif_rx``, which queues to the host's backlog and raises
NET_RX; ``net_rx_action`` drains the backlog (softirq context) and ``__netif_receive_skb``
delivers each packet to the taps, the device's ``rx_handler`` (the bridge) and the ``packet_type``
handler for its ethertype (``ip_rcv``, ``arp_rcv``).  A NIC driver instead has a NAPI instance: its
interrupt schedules it (``napi_schedule``), ``net_rx_action`` calls its poll, which takes frames off
the receive ring through GRO (``napi_gro_frags``) to ``netif_receive_skb``.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from tuxnet.kernel.compiler import notrace
from tuxnet.kernel.errno import EINVAL
from tuxnet.kernel.timekeeping import ktime_get_real
from tuxnet.net.core.checksum import csum_fold
from tuxnet.net.core.gso import skb_gso_segment
from tuxnet.net.core.if_vlan import VLAN_VID_MASK, __vlan_hwaccel_push_inside, skb_vlan_untag
from tuxnet.net.core.net_tstamp import SCM_TSTAMP_SCHED, SKBTX_SCHED_TSTAMP
from tuxnet.net.core.netdev_features import NETIF_F_HW_CSUM, NETIF_F_SG, NETIF_F_TSO
from tuxnet.net.core.skbuff import (
    CHECKSUM_PARTIAL,
    CHECKSUM_UNNECESSARY,
    PACKET_HOST,
    PACKET_OTHERHOST,
    PACKET_OUTGOING,
    SkBuff,
    __skb_tstamp_tx,
    skb_checksum,
    skb_linearize,
    skb_orphan,
    skb_orphan_frags_rx,
    skb_release_w,
    skb_set_owner_w,
)

if TYPE_CHECKING:
    from tuxnet.kernel.host import Host
    from tuxnet.net.core.gro import NapiGroCb

# include/uapi/linux/if.h
IFF_UP = 0x1
IFF_BROADCAST = 0x2
IFF_DEBUG = 0x4
IFF_LOOPBACK = 0x8
IFF_POINTOPOINT = 0x10
IFF_NOTRAILERS = 0x20
IFF_RUNNING = 0x40
IFF_NOARP = 0x80
IFF_PROMISC = 0x100
IFF_ALLMULTI = 0x200
IFF_MASTER = 0x400
IFF_SLAVE = 0x800
IFF_MULTICAST = 0x1000
IFF_PORTSEL = 0x2000
IFF_AUTOMEDIA = 0x4000
IFF_DYNAMIC = 0x8000
IFF_LOWER_UP = 0x10000
IFF_DORMANT = 0x20000
IFF_ECHO = 0x40000
# the flags only the kernel changes (include/linux/netdevice.h)
IFF_VOLATILE = (IFF_LOOPBACK | IFF_POINTOPOINT | IFF_BROADCAST | IFF_ECHO | IFF_MASTER | IFF_SLAVE | IFF_RUNNING
                | IFF_LOWER_UP | IFF_DORMANT)

# include/uapi/linux/if_arp.h
ARPHRD_ETHER = 1
ARPHRD_LOOPBACK = 772
ARPHRD_NONE = 0xFFFE

# include/uapi/linux/if_ether.h
ETH_P_ALL = 0x0003
ETH_P_IP = 0x0800
ETH_P_ARP = 0x0806
ETH_P_IPV6 = 0x86DD
ETH_P_8021Q = 0x8100
ETH_P_8021AD = 0x88A8

NETDEV_TX_OK = 0x00
NETDEV_TX_BUSY = 0x10
NET_XMIT_SUCCESS = 0x00
NET_XMIT_DROP = 0x01
NET_XMIT_CN = 0x02  # congestion notification: kept, but the flow should slow down
NET_RX_SUCCESS = 0
NET_RX_DROP = 1

RX_HANDLER_CONSUMED = 0
RX_HANDLER_PASS = 3

MAX_SOFTIRQ_RESTART = 10
NAPI_POLL_WEIGHT = 64
UDP_CSUM_OFFSET = 6


class DeviceStats:
    """``struct rtnl_link_stats64``: what ``ip -s link`` shows."""

    __slots__ = (
        "rx_packets", "tx_packets", "rx_bytes", "tx_bytes", "rx_errors", "tx_errors",
        "rx_dropped", "tx_dropped", "multicast", "collisions", "rx_length_errors",
        "rx_over_errors", "rx_crc_errors", "rx_frame_errors", "rx_fifo_errors",
        "rx_missed_errors", "tx_aborted_errors", "tx_carrier_errors", "tx_fifo_errors",
        "tx_heartbeat_errors", "tx_window_errors", "rx_nohandler",
    )

    def __init__(self) -> None:
        for name in self.__slots__:
            setattr(self, name, 0)

    def as_dict(self) -> dict[str, int]:
        return {name: getattr(self, name) for name in self.__slots__}


class PacketType:
    """``struct packet_type``: a protocol handler (``dev_add_pack``)."""

    __slots__ = ("type", "dev", "func", "name", "af_packet_priv")

    def __init__(self, type: int, func: Callable[..., Any], dev: NetDevice | None = None,
                 name: str = "") -> None:
        self.type = type
        self.func = func
        self.dev = dev
        self.name = name or getattr(func, "__name__", "handler")
        self.af_packet_priv: Any = None  # the packet socket a hook is (af_packet)


class NetDeviceOps:
    """``struct net_device_ops``: what a driver provides."""

    __slots__ = ("ndo_start_xmit", "ndo_open", "ndo_stop", "ndo_setup_tc", "ndo_change_mtu")

    def __init__(self, ndo_start_xmit: Callable[[SkBuff, NetDevice], int],
                 ndo_open: Callable[[NetDevice], None] | None = None,
                 ndo_stop: Callable[[NetDevice], None] | None = None,
                 ndo_setup_tc: Callable[[NetDevice, str], None] | None = None,
                 ndo_change_mtu: Callable[[NetDevice, int], int] | None = None) -> None:
        self.ndo_start_xmit = ndo_start_xmit
        self.ndo_open = ndo_open
        self.ndo_stop = ndo_stop
        self.ndo_setup_tc = ndo_setup_tc  # told the root qdisc's kind (tuxnet: TUN's fq)
        self.ndo_change_mtu = ndo_change_mtu  # a device with its own limits (a VLAN's: its lower's MTU)


class Qdisc:
    """A root qdisc: a first-in first-out queue of ``limit`` packets (net/sched/sch_fifo.c),
    its ``kind`` as ``tc`` names it, its major ``handle`` (0 for a default one) and its counters
    (``gnet_stats_basic``/``gnet_stats_queue``).

    ``gso_skb`` holds what was dequeued and not yet taken by the driver, to go first next time
    (``q->gso_skb``): a packet the driver handed back (``dev_requeue_skb``), and the rest of a GSO
    packet segmented at dequeue.  A NIC's transmit ring would take those segments back to back;
    a tuxnet driver takes one frame at a time, so they wait here, counted in the queue's length
    and backlog as Linux counts requeued packets, but not as requeues."""

    __slots__ = ("dev", "kind", "handle", "q", "gso_skb", "limit", "packets", "bytes", "drops", "requeues",
                 "overlimits")

    def __init__(self, dev: NetDevice, limit: int, kind: str = "pfifo_fast") -> None:
        self.dev = dev
        self.kind = kind
        self.handle = 0
        self.q: deque[SkBuff] = deque()
        self.gso_skb: deque[SkBuff] = deque()
        self.limit = limit
        self.packets = 0
        self.bytes = 0
        self.drops = 0
        self.requeues = 0
        self.overlimits = 0

    def __len__(self) -> int:
        return len(self.q) + len(self.gso_skb)

    def enqueue(self, skb: SkBuff) -> bool:
        """``pfifo_enqueue``: False (dropped) when ``limit`` packets wait already (a GSO packet
        counts as one, as Linux segments it only at dequeue)."""
        if len(self.q) >= self.limit:
            return qdisc_drop(skb, self)
        self.q.append(skb)
        return True

    def dequeue(self) -> SkBuff | None:
        return self.q.popleft() if self.q else None

    def reset(self) -> None:
        """``qdisc_reset``: drop every packet held (the device went down, or the qdisc goes)."""
        for q in (self.gso_skb, self.q):
            while q:
                skb_orphan(q.popleft())

    def destroy(self) -> None:
        """``qdisc_destroy``: a FIFO holds nothing beyond its packets, dropped with it."""
        self.reset()

    def queue_bytes(self) -> int:
        """The backlog in bytes, as ``tc -s`` shows it."""
        return sum(qdisc_pkt_len(skb)[0] for q in (self.gso_skb, self.q) for skb in q)


class NapiStruct:
    """``struct napi_struct``: a device's receive poll, scheduled by its interrupt, and the
    packets GRO holds until the poll completes."""

    __slots__ = ("dev", "poll", "weight", "scheduled", "gro_list")

    def __init__(self, dev: NetDevice, poll: Callable[[NapiStruct, int], int], weight: int) -> None:
        self.dev = dev
        self.poll = poll
        self.weight = weight
        self.scheduled = False
        self.gro_list: list[NapiGroCb] = []


# include/linux/netdevice.h
GSO_LEGACY_MAX_SIZE = 65536
GSO_MAX_SEGS = 65535
GSO_MAX_SIZE = 8 * GSO_MAX_SEGS


class NetDevice:
    """``struct net_device``."""

    def __init__(self, name: str, netdev_ops: NetDeviceOps, *, type: int = ARPHRD_ETHER,
                 mtu: int = 1500, dev_addr: bytes = b"\0" * 6, broadcast: bytes = b"\xff" * 6,
                 flags: int = IFF_BROADCAST | IFF_MULTICAST, tx_queue_len: int = 1000,
                 hard_header_len: int = 14, features: int = 0, header_ops: Any = None) -> None:
        self.name = name
        self.ifindex = 0
        self.type = type
        self.mtu = mtu
        self.min_mtu = 68
        self.max_mtu = 65535  # 0: no upper bound
        self.flags = flags
        self.dev_addr = bytes(dev_addr)
        self.broadcast = bytes(broadcast)
        self.addr_len = len(dev_addr)
        self.hard_header_len = hard_header_len
        self.tx_queue_len = tx_queue_len
        self.features = features
        self.hw_features = 0  # the features the user may switch (ethtool -K)
        # The largest GSO packet the stack may build for the device (bytes, and segments), and
        # the most the device takes (netif_set_tso_max_size); lo raises its own to GSO_MAX_SIZE.
        self.gso_max_size = GSO_LEGACY_MAX_SIZE
        self.gso_ipv4_max_size = GSO_LEGACY_MAX_SIZE
        self.gso_max_segs = GSO_MAX_SEGS
        self.tso_max_size = GSO_MAX_SIZE if type == ARPHRD_LOOPBACK else GSO_LEGACY_MAX_SIZE
        self.tso_max_segs = GSO_MAX_SEGS
        self.netdev_ops = netdev_ops
        self.header_ops = header_ops
        self.stats = DeviceStats()
        self.no_queue = not tx_queue_len  # IFF_NO_QUEUE: noqueue unless tc attaches a qdisc
        self.qdisc: Qdisc | None = Qdisc(self, tx_queue_len) if tx_queue_len else None
        self.queue_stopped = False
        self.tx_wake_at = -1  # when a queue stopped by netif_stop_queue_until may go again
        self.carrier = True
        self.nd_net: Host | None = None
        self.ip_ptr: Any = None
        self.ptype_all: list[PacketType] = []
        self.rx_handler: Callable[[SkBuff], int] | None = None
        self.rx_handler_data: Any = None
        self.mc_list: dict[bytes, int] = {}  # the multicast MAC addresses received, and their users
        self.uc_list: dict[bytes, int] = {}  # secondary unicast addresses received (dev_uc_add), and users
        self.promiscuity = 0
        self.allmulti = 0
        self.gflags = 0  # IFF_PROMISC and IFF_ALLMULTI as the user set them (dev_change_flags)
        self.priv: Any = None
        self.napi: NapiStruct | None = None
        self.vlan_info: dict[int, NetDevice] | None = None  # the VLAN devices over it, by id

    def __repr__(self) -> str:
        return f"<NetDevice {self.name} mtu {self.mtu}>"

    @property
    def up(self) -> bool:
        return bool(self.flags & IFF_UP)

    def operstate(self) -> str:
        if not self.flags & IFF_UP:
            return "DOWN"
        if self.type == ARPHRD_LOOPBACK:
            return "UNKNOWN"
        return "UP" if self.carrier else "DOWN"

    # -- transmit queue control (include/linux/netdevice.h) ----------------------------------------
    def netif_stop_queue(self) -> None:
        self.queue_stopped = True

    def netif_stop_queue_until(self, when: int) -> None:
        """Stop the queue until ``when`` (ns), the driver's transmit-complete interrupt taken
        lazily: only a packet that reaches the qdisc before then schedules it (``netif_tx_due``),
        so a link that is mostly idle costs no event per frame."""
        self.queue_stopped = True
        self.tx_wake_at = when

    def netif_wake_queue(self) -> None:
        """The driver has room again: let the qdisc run (``__netif_schedule``)."""
        self.queue_stopped = False
        if self.qdisc is not None and len(self.qdisc) and self.nd_net is not None:
            self.nd_net.netif_schedule(self)

    def netif_set_gso_max_size(self, size: int) -> None:
        """``netif_set_gso_max_size``: IPv4's own limit never stays above it."""
        self.gso_max_size = size
        if size < self.gso_ipv4_max_size:
            self.gso_ipv4_max_size = size

    def netif_carrier_on(self) -> None:
        self.carrier = True
        self.flags |= IFF_LOWER_UP

    def netif_carrier_off(self) -> None:
        self.carrier = False
        self.flags &= ~IFF_LOWER_UP


# -- transmit ------------------------------------------------------------------------------------

def qdisc_drop(skb: SkBuff, q: Qdisc) -> bool:
    """``qdisc_drop``: count the drop and free the packet (its destructor gives its socket the
    memory back); False, for ``enqueue`` to return."""
    q.drops += 1
    skb_orphan(skb)
    return False


def dev_queue_xmit_nit(skb: SkBuff, dev: NetDevice) -> None:
    """Give an outgoing packet to the taps (``ptype_all``), as ``tcpdump -i dev`` sees it.  tuxnet's
    taps read one run of bytes: a packet with page fragments is linearized for them first."""
    skb_linearize(skb)
    if skb.ip_summed == CHECKSUM_PARTIAL:
        # Linux captures loopback segments with the checksum still partial; we complete it so a
        # capture opens clean in Wireshark (a deliberate, harmless difference).
        skb_checksum_help(skb)
    skb.mac_header = skb.data
    for pt in (*dev.ptype_all, *dev.nd_net.ptype_all):
        pt.func(skb, dev, pt, PACKET_OUTGOING)


def skb_checksum_help(skb: SkBuff) -> None:
    """Complete a CHECKSUM_PARTIAL checksum in software (``skb_checksum_help``).

    The field holds the folded pseudo-header sum, as ``tcp_v4_send_check`` leaves it.  Linux sets
    CHECKSUM_NONE after; on output CHECKSUM_UNNECESSARY means the same (include/linux/skbuff.h),
    and it also tells the driver that the checksum in the bytes is right (``ether_rx``)."""
    start = skb.csum_start
    off = start + skb.csum_offset
    buf = skb.buf
    seed = int.from_bytes(buf[off:off + 2], "big")
    buf[off:off + 2] = b"\0\0"
    c = csum_fold(skb_checksum(skb, start, skb.tail, seed))
    if c == 0 and skb.csum_offset == UDP_CSUM_OFFSET:
        c = 0xFFFF  # RFC 768: a computed zero is sent as all ones
    buf[off:off + 2] = c.to_bytes(2, "big")
    skb.ip_summed = CHECKSUM_UNNECESSARY


def validate_xmit_skb(skb: SkBuff, dev: NetDevice) -> SkBuff:
    """``validate_xmit_skb``: finish work the device cannot do (here: the checksum)."""
    if skb.ip_summed == CHECKSUM_PARTIAL and not dev.features & NETIF_F_HW_CSUM:
        skb_checksum_help(skb)
    return skb


def validate_xmit_frame(skb: SkBuff, dev: NetDevice) -> None:
    """What ``validate_xmit_skb`` does before the taps see a packet: a packet with page fragments
    goes as it is to a driver that gathers them (NETIF_F_SG) and is linearized for any other
    (``skb_needs_linearize``), and a VLAN tag goes into its bytes (``validate_xmit_vlan``:
    tuxnet's devices insert no tags)."""
    if skb.frags is not None and not dev.features & NETIF_F_SG:
        skb_linearize(skb)
    if skb.vlan_proto:
        __vlan_hwaccel_push_inside(skb)


def dev_hard_start_xmit(skb: SkBuff, dev: NetDevice) -> int:
    """``dev_hard_start_xmit`` → ``xmit_one``: taps, then the driver."""
    if skb.frags is not None or skb.vlan_proto:  # (most packets need neither: no call for them)
        validate_xmit_frame(skb, dev)
    if dev.ptype_all or (dev.nd_net is not None and dev.nd_net.ptype_all):
        dev_queue_xmit_nit(skb, dev)
    return dev.netdev_ops.ndo_start_xmit(validate_xmit_skb(skb, dev), dev)


def __dev_direct_xmit(skb: SkBuff) -> int:
    """``__dev_direct_xmit`` (a packet socket with PACKET_QDISC_BYPASS): straight to the driver,
    past the qdisc and the taps; a device down, without carrier or stopped drops it."""
    dev = skb.dev
    if not dev.flags & IFF_UP or not dev.carrier:
        dev.stats.tx_dropped += 1  # (dev_core_stats_tx_dropped_inc)
        return NET_XMIT_DROP
    if dev.queue_stopped:
        return NETDEV_TX_BUSY
    host = dev.nd_net
    host.bh_disable_count += 1
    try:
        validate_xmit_frame(skb, dev)
        return dev.netdev_ops.ndo_start_xmit(validate_xmit_skb(skb, dev), dev)
    finally:
        host.local_bh_enable()


def qdisc_pkt_len(skb: SkBuff) -> tuple[int, int]:
    """``qdisc_pkt_len_init``: the bytes and packets a packet counts as in a qdisc; a GSO packet
    as the segments it will be on the wire, each with its headers."""
    length = skb.tail - skb.data
    if not skb.gso_size:
        return length, 1
    hdr = skb.transport_header - skb.data + ((skb.buf[skb.transport_header + 12] >> 4) << 2)
    segs = -(-(length - hdr) // skb.gso_size)
    return length + (segs - 1) * hdr, segs


def netif_needs_gso(skb: SkBuff, dev: NetDevice) -> bool:
    """``netif_needs_gso`` after ``gso_features_check``: a GSO packet is cut in software when
    the device cannot segment TCP (no TSO), or when it is as long as the device's GSO limit (a
    buffer TCP grew past 64 KB, ``tcp_grow_skb``).  A UDP GSO packet reaches only a device that
    takes it whole (NETIF_F_GSO_UDP_L4: ``udp_send_skb`` cut it for any other)."""
    if not skb.gso_size or skb.buf[skb.network_header + 9] == 17:  # (IPPROTO_UDP)
        return False
    return not dev.features & NETIF_F_TSO or skb.tail - skb.data >= dev.gso_max_size


def qdisc_run(q: Qdisc) -> None:
    """``__qdisc_run``: feed the driver until the queue is empty or the driver is busy (and then
    make sure the driver's wake-up is due, for a queue stopped with ``netif_stop_queue_until``).
    A GSO packet the device cannot segment is cut into MTU-sized ones as it leaves the queue
    (``validate_xmit_skb`` → ``skb_gso_segment``), so the qdisc counted it as one."""
    dev = q.dev
    if dev.tx_wake_at >= 0 and dev.queue_stopped and len(q):
        netif_tx_due(dev)
    held = q.gso_skb
    while not dev.queue_stopped:
        if held:
            skb = held.popleft()
        else:
            skb = q.dequeue()
            if skb is None:
                break
            if skb.gso_size and netif_needs_gso(skb, dev):
                segs = skb_gso_segment(skb, dev.features)
                skb = segs.pop(0)
                held.extend(segs)
        # qdisc_pkt_len, before the driver takes the packet
        length, segs = qdisc_pkt_len(skb) if skb.gso_size else (skb.tail - skb.data, 1)
        skb_release_w(skb)  # the driver takes it (TCP Small Queues: tcp_wfree may send more)
        rc = dev_hard_start_xmit(skb, dev)
        if rc == NETDEV_TX_BUSY:
            skb_set_owner_w(skb)  # held again
            held.appendleft(skb)  # dev_requeue_skb
            q.requeues += 1
            break
        q.packets += segs
        q.bytes += length
    if dev.tx_wake_at >= 0 and len(q):
        netif_tx_due(dev)


def netif_tx_due(dev: NetDevice) -> None:
    """A packet waits behind a queue stopped until ``tx_wake_at``: the driver is free again if
    that time has come, else its transmit-complete interrupt (``netif_wake_queue``) is scheduled
    for then."""
    when = dev.tx_wake_at
    dev.tx_wake_at = -1
    world = dev.nd_net.world
    if world.now >= when:
        dev.queue_stopped = False
    else:
        world.call_at(when, dev.netif_wake_queue)


def dev_queue_xmit(skb: SkBuff) -> int:
    """``dev_queue_xmit`` → ``__dev_queue_xmit``: queue a packet (with its link-layer header) for
    ``skb.dev`` and run the queue; without one (noqueue), straight to the driver, a GSO packet the
    device cannot segment cut first.  A packet that asked for it is timestamped first
    (SO_TIMESTAMPING's TX_SCHED)."""
    dev = skb.dev
    host = dev.nd_net
    if skb.tx_flags & SKBTX_SCHED_TSTAMP:
        __skb_tstamp_tx(skb, skb.sk, SCM_TSTAMP_SCHED)
    host.bh_disable_count += 1
    try:
        if not dev.flags & IFF_UP:
            dev.stats.tx_dropped += 1
            return NET_XMIT_DROP
        q = dev.qdisc
        if q is None:
            # noqueue (loopback, virtual devices): straight to the driver.
            if dev.queue_stopped:
                dev.stats.tx_dropped += 1
                return NET_XMIT_DROP
            if skb.gso_size and netif_needs_gso(skb, dev):
                rc = NETDEV_TX_OK
                for seg in skb_gso_segment(skb, dev.features, held=False):
                    rc |= dev_hard_start_xmit(seg, dev)
            else:
                rc = dev_hard_start_xmit(skb, dev)
            return NET_XMIT_SUCCESS if rc == NETDEV_TX_OK else NET_XMIT_DROP
        skb_set_owner_w(skb)  # a socket's packet charges it while the qdisc holds it
        if not q.enqueue(skb):
            return NET_XMIT_DROP  # counted by the qdisc (tc -s), not in the device's tx_dropped
        qdisc_run(q)
        return NET_XMIT_SUCCESS
    finally:
        host.local_bh_enable()


# -- multicast addresses (net/core/dev_addr_lists.c) -------------------------------------------

def dev_set_promiscuity(dev: NetDevice, inc: int) -> None:
    """``dev_set_promiscuity``: the NIC passes every frame while the count is up (a bridge port,
    a packet socket's PACKET_MR_PROMISC, the user's IFF_PROMISC each hold one)."""
    dev.promiscuity += inc
    if dev.promiscuity > 0:
        dev.flags |= IFF_PROMISC
    else:
        dev.flags &= ~IFF_PROMISC


def dev_set_allmulti(dev: NetDevice, inc: int) -> None:
    """``dev_set_allmulti``: the NIC takes every multicast frame while the count is up."""
    dev.allmulti += inc
    if dev.allmulti > 0:
        dev.flags |= IFF_ALLMULTI
    else:
        dev.flags &= ~IFF_ALLMULTI


def dev_get_flags(dev: NetDevice) -> int:
    """``dev_get_flags`` (SIOCGIFFLAGS, and what ``ip link`` shows): PROMISC and ALLMULTI as the
    user set them (a capture's or a bridge's count does not show), RUNNING and LOWER_UP while the
    device is up with carrier."""
    flags = (dev.flags & ~(IFF_PROMISC | IFF_ALLMULTI | IFF_RUNNING | IFF_LOWER_UP | IFF_DORMANT)) \
        | (dev.gflags & (IFF_PROMISC | IFF_ALLMULTI))
    if dev.flags & IFF_UP and dev.carrier:
        flags |= IFF_RUNNING | IFF_LOWER_UP
    return flags


def dev_change_flags(dev: NetDevice, flags: int) -> int:
    """``dev_change_flags`` (SIOCSIFFLAGS): the flags a user may set are taken as given (NOARP,
    DEBUG, MULTICAST ...), the volatile ones and UP kept as they are; then the device is opened
    or closed if UP changed, and the user's PROMISC and ALLMULTI each hold or let go of one count
    (``__dev_change_flags``, ``gflags``)."""
    old = dev.flags
    dev.flags = (flags & (IFF_DEBUG | IFF_NOTRAILERS | IFF_NOARP | IFF_DYNAMIC | IFF_MULTICAST | IFF_PORTSEL
                          | IFF_AUTOMEDIA)) | (old & (IFF_UP | IFF_VOLATILE | IFF_PROMISC | IFF_ALLMULTI))
    if (old ^ flags) & IFF_UP:
        if old & IFF_UP:
            dev.nd_net.dev_close(dev)
        else:
            try:
                dev.nd_net.dev_open(dev)
            except OSError as e:  # (a driver's ndo_open refused: a VLAN over a device that is down)
                return -e.errno
    for flag, setter in ((IFF_PROMISC, dev_set_promiscuity), (IFF_ALLMULTI, dev_set_allmulti)):
        if (flags ^ dev.gflags) & flag:
            dev.gflags ^= flag
            setter(dev, 1 if flags & flag else -1)
    return 0


def dev_set_mtu(dev: NetDevice, new_mtu: int, extack: list[str] | None = None) -> int:
    """``dev_set_mtu_ext``: an MTU within the device's bounds (``dev_validate_mtu``, whose reason
    goes in ``extack`` for netlink to give), then the driver's own check (``ndo_change_mtu``)."""
    if new_mtu == dev.mtu:
        return 0
    if new_mtu < 0 or new_mtu < dev.min_mtu:
        if extack is not None:
            extack.append("mtu less than device minimum")
        return -EINVAL
    if dev.max_mtu and new_mtu > dev.max_mtu:
        if extack is not None:
            extack.append("mtu greater than device maximum")
        return -EINVAL
    change = dev.netdev_ops.ndo_change_mtu
    if change is not None:
        return change(dev, new_mtu)
    dev.mtu = new_mtu
    return 0


def dev_mc_add(dev: NetDevice, addr: bytes) -> None:
    """``dev_mc_add``: the device receives frames to ``addr`` (one more user of it)."""
    dev.mc_list[addr] = dev.mc_list.get(addr, 0) + 1


def dev_mc_del(dev: NetDevice, addr: bytes) -> None:
    """``dev_mc_del``: one user of ``addr`` fewer; the last takes it out of the filter."""
    users = dev.mc_list.get(addr, 0) - 1
    if users > 0:
        dev.mc_list[addr] = users
    else:
        dev.mc_list.pop(addr, None)


# -- receive -------------------------------------------------------------------------------------

@notrace
def net_timestamp_check(host: Host, skb: SkBuff) -> None:
    """``net_timestamp_check``, called while a socket wants them (``netstamp_needed_key``): a
    packet coming in is stamped with the wall clock, unless it has a time already."""
    if not skb.tstamp:
        skb.tstamp = ktime_get_real(host.world)


def vlan_do_receive(skb: SkBuff) -> bool:
    """``vlan_do_receive`` (net/8021q/vlan_core.c): a tagged frame becomes its VLAN device's,
    untagged (a frame to that device's address its host's), counted there by the bytes past its
    Ethernet header; False when no VLAN device over this one, up, has the tag's id."""
    vlan_info = skb.dev.vlan_info
    vlan_dev = vlan_info.get((skb.vlan_proto, skb.vlan_tci & VLAN_VID_MASK)) if vlan_info else None
    if vlan_dev is None or not vlan_dev.up:
        return False
    if skb.pkt_type == PACKET_OTHERHOST and skb.buf[skb.mac_header:skb.mac_header + 6] == vlan_dev.dev_addr:
        skb.pkt_type = PACKET_HOST
    skb.dev = vlan_dev
    skb.vlan_proto = skb.vlan_tci = 0
    dev_sw_netstats_rx_add(vlan_dev, skb.tail - skb.data)
    return True


def dev_sw_netstats_rx_add(dev: NetDevice, length: int) -> None:
    """``dev_sw_netstats_rx_add``: a driver counts a packet it received, ``length`` bytes as it
    took them in (the core does not count receives: each driver does, once)."""
    stats = dev.stats
    stats.rx_packets += 1
    stats.rx_bytes += length


def netif_rx(skb: SkBuff) -> int:
    """``netif_rx`` → ``enqueue_to_backlog``: queue a received packet and raise NET_RX."""
    dev = skb.dev
    host = dev.nd_net
    backlog = host.input_pkt_queue
    if len(backlog) >= host.netdev_max_backlog:
        host.softnet_dropped += 1
        dev.stats.rx_dropped += 1
        return NET_RX_DROP
    backlog.append(skb)
    host.raise_net_rx()
    return NET_RX_SUCCESS


def netif_napi_add(dev: NetDevice, poll: Callable[[NapiStruct, int], int],
                   weight: int = NAPI_POLL_WEIGHT) -> NapiStruct:
    """``netif_napi_add``: give the device a NAPI poll of ``weight`` packets at a time."""
    dev.napi = NapiStruct(dev, poll, weight)
    return dev.napi


def napi_schedule(napi: NapiStruct) -> None:
    """``napi_schedule`` (from the interrupt handler): put the poll on the host's list and raise
    NET_RX."""
    if napi.scheduled:
        return
    napi.scheduled = True
    host = napi.dev.nd_net
    host.poll_list.append(napi)
    host.raise_net_rx()


def napi_complete_done(napi: NapiStruct, work_done: int) -> bool:
    """``napi_complete_done``: the ring is empty; what GRO holds goes up and the driver may enable
    its interrupt again."""
    if napi.gro_list:
        from tuxnet.net.core.gro import napi_gro_flush  # (gro.py imports this module)

        napi_gro_flush(napi)
    napi.scheduled = False
    return True


def net_rx_action(host: Host) -> None:
    """The NET_RX softirq: each scheduled NAPI poll in turn, a poll that used its whole weight going
    to the back of the list, then the backlog, within ``netdev_budget`` packets."""
    budget = host.netdev_budget
    poll_list = host.poll_list
    rounds = len(poll_list)
    while rounds and budget > 0:
        rounds -= 1
        napi = poll_list.popleft()
        budget -= napi.poll(napi, napi.weight)
        if napi.scheduled:
            # napi_poll: still busy; GRO's held packets go up now rather than wait a whole round.
            if napi.gro_list:
                from tuxnet.net.core.gro import napi_gro_flush

                napi_gro_flush(napi)
            poll_list.append(napi)
    if host.input_pkt_queue and budget > 0:
        process_backlog(host, budget)
    if host.input_pkt_queue or poll_list:
        host.net_rx_pending = True


def process_backlog(host: Host, quota: int) -> int:
    """The backlog's NAPI poll: hand queued packets to ``__netif_receive_skb``."""
    backlog = host.input_pkt_queue
    work = 0
    while backlog and work < quota:
        __netif_receive_skb(backlog.popleft())
        work += 1
    return work


def deliver_skb(skb: SkBuff, pt: PacketType, orig_dev: NetDevice) -> int:
    """``deliver_skb``: a packet still holding a zerocopy sender's pages (looped back) is given
    copies of them before the protocol keeps it (``skb_orphan_frags_rx``)."""
    if skb.destructor_arg is not None:
        skb_orphan_frags_rx(skb)
    return pt.func(skb, skb.dev, pt, orig_dev)


def __netif_receive_skb(skb: SkBuff) -> int:
    """``__netif_receive_skb_core``: the packet's arrival time if a socket wants it (as with
    ``netdev_tstamp_prequeue`` off), its VLAN tag out of its bytes (``skb_vlan_untag``), taps, a
    tagged frame round again as its VLAN device's (``vlan_do_receive``), ``rx_handler``, then
    the ethertype's handler: a tag no device took makes the frame another host's, unless its id
    is 0 (a frame tagged for its priority alone)."""
    dev = skb.dev
    host = dev.nd_net
    if host.netstamp_needed:
        net_timestamp_check(host, skb)
    skb.network_header = skb.data  # (skb_reset_network_header)
    while True:  # (another_round)
        if (skb.protocol == ETH_P_8021Q or skb.protocol == ETH_P_8021AD) and not skb_vlan_untag(skb):
            dev.stats.rx_length_errors += 1
            dev.stats.rx_errors += 1
            return NET_RX_DROP
        if dev.ptype_all or host.ptype_all:
            skb_linearize(skb)  # (for taps that read one run of bytes, as dev_queue_xmit_nit)
            for pt in (*dev.ptype_all, *host.ptype_all):
                pt.func(skb, dev, pt, skb.pkt_type)
        if not skb.vlan_proto or not vlan_do_receive(skb):
            break
        dev = skb.dev
    handler = dev.rx_handler
    if handler is not None and handler(skb) == RX_HANDLER_CONSUMED:
        return NET_RX_SUCCESS
    if skb.vlan_proto:
        if skb.vlan_tci & VLAN_VID_MASK:
            skb.pkt_type = PACKET_OTHERHOST
        skb.vlan_proto = skb.vlan_tci = 0  # (__vlan_hwaccel_clear_tag)
    handlers = host.ptype_base.get(skb.protocol)
    if not handlers:
        # (dev_core_stats_rx_dropped_inc; rx_nohandler counts only a bond's RX_HANDLER_EXACT)
        dev.stats.rx_dropped += 1
        return NET_RX_DROP
    rc = NET_RX_DROP
    for pt in handlers:
        if pt.dev is None or pt.dev is dev:
            rc = deliver_skb(skb, pt, dev)
    return rc


def netif_receive_skb(skb: SkBuff) -> int:
    """Receive a packet now, without the backlog (NAPI drivers' path)."""
    return __netif_receive_skb(skb)
