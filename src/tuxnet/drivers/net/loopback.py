"""The loopback device ``lo`` (drivers/net/loopback.c).

``loopback_xmit`` turns an outgoing packet straight into an incoming one with ``netif_rx``; the
``SkBuff`` is handed across without re-parsing, as the kernel does.  Checksums are left partial
(NETIF_F_HW_CSUM): nothing on this wire can corrupt them.  A GSO packet goes whole (TSO, part
of ``NETIF_F_GSO_SOFTWARE``): the receiver gets it as one buffer.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from tuxnet.net.core.dev import (
    ARPHRD_LOOPBACK,
    IFF_LOOPBACK,
    IFF_RUNNING,
    NET_RX_SUCCESS,
    NETDEV_TX_OK,
    NetDevice,
    NetDeviceOps,
    netif_rx,
)
from tuxnet.net.core.netdev_features import (
    NETIF_F_GSO_UDP_L4,
    NETIF_F_HW_CSUM,
    NETIF_F_LLTX,
    NETIF_F_SG,
    NETIF_F_TSO,
)
from tuxnet.net.core.skbuff import SkBuff, skb_tx_timestamp
from tuxnet.net.ethernet.eth import EthHeaderOps, eth_type_trans

if TYPE_CHECKING:
    from tuxnet.kernel.host import Host

LOOPBACK_MTU = 65536


def loopback_xmit(skb: SkBuff, dev: NetDevice) -> int:
    """``loopback_xmit``: receive the packet with ``netif_rx`` and, when it was taken, count it
    (``dev_lstats_add``: once, as sent and as received, its length past the Ethernet header).
    Its sender lets go of it first (``skb_orphan``: nothing holds a charge on it by now), and it
    keeps its truesize, which the receiving socket is charged.  Its send time goes
    (``skb_clear_tstamp``), so that the receive side stamps it with its arrival.  A packet that
    asked for it is given its software send timestamp first (``skb_tx_timestamp``)."""
    if skb.tx_flags:
        skb_tx_timestamp(skb)
    skb.sk = None
    skb.destructor = None
    skb.tstamp = 0
    skb.protocol = eth_type_trans(skb, dev)
    length = skb.tail - skb.data
    if netif_rx(skb) == NET_RX_SUCCESS:
        stats = dev.stats
        stats.tx_packets += 1
        stats.tx_bytes += length
        stats.rx_packets += 1
        stats.rx_bytes += length
    return NETDEV_TX_OK


loopback_ops = NetDeviceOps(loopback_xmit)


def loopback_net_init(host: Host) -> NetDevice:
    """``loopback_net_init``: every namespace has ``lo``, ifindex 1, down until brought up."""
    dev = NetDevice(
        "lo", loopback_ops, type=ARPHRD_LOOPBACK, mtu=LOOPBACK_MTU, flags=IFF_LOOPBACK | IFF_RUNNING,
        features=NETIF_F_HW_CSUM | NETIF_F_SG | NETIF_F_TSO | NETIF_F_GSO_UDP_L4 | NETIF_F_LLTX,
        header_ops=EthHeaderOps,
    )
    dev.qdisc = None
    dev.no_queue = True  # IFF_NO_QUEUE: noqueue, though tx_queue_len keeps alloc_netdev's 1000
    dev.min_mtu = dev.max_mtu = 0  # no bounds (dev_validate_mtu skips a zero max_mtu)
    host.register_netdevice(dev)
    host.loopback_dev = dev
    return dev
