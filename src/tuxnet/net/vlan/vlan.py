"""802.1Q VLAN devices (net/8021q/vlan.c, vlan_dev.c), and 802.1ad service tags.

``ip link add link eth0 name eth0.10 type vlan id 10`` makes a device stacked on eth0: what it
sends leaves by eth0 with a tag after the two addresses (TPID 0x8100, then priority 0 and the
VLAN id), put in by software as a NIC without VLAN offload needs (``vlan_dev_hard_start_xmit``,
then ``__vlan_hwaccel_push_inside``); a tagged frame eth0 receives loses its tag in the core
(``skb_vlan_untag``) and goes up again as the VLAN device's (``vlan_do_receive``, in dev.py), or,
when no device has its id, as a frame for another host, which IP drops (one with id 0, tagged for
its priority alone, goes up as eth0's).  The device has eth0's address
and MTU, no queue of its own, and room for the tag in its headers (``hard_header_len`` + 4); it
comes up only over an eth0 that is up, and goes down with it.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from tuxnet.kernel.errno import ENETDOWN, ERANGE
from tuxnet.net.core.dev import (
    ETH_P_8021AD,
    ETH_P_8021Q,
    IFF_BROADCAST,
    IFF_MULTICAST,
    NetDevice,
    NetDeviceOps,
    dev_queue_xmit,
)
from tuxnet.net.core.skbuff import SkBuff
from tuxnet.net.ethernet.eth import VLAN_HLEN

if TYPE_CHECKING:
    from tuxnet.kernel.host import Host

VLAN_PROTOCOLS = {"802.1q": ETH_P_8021Q, "802.1ad": ETH_P_8021AD}  # (iproute2's llproto names)
VLAN_PROTO_NAMES = {ETH_P_8021Q: "802.1Q", ETH_P_8021AD: "802.1ad"}
VLAN_N_VID = 4096


class VlanDev:
    """``struct vlan_dev_priv``: the device under it, the tag's protocol (802.1Q's TPID, or
    802.1ad's for a service tag) and the id (``real_dev``, ``vlan_proto``, ``vlan_id``)."""

    __slots__ = ("real_dev", "vlan_proto", "vlan_id")

    def __init__(self, real_dev: NetDevice, vlan_proto: int, vlan_id: int) -> None:
        self.real_dev = real_dev
        self.vlan_proto = vlan_proto
        self.vlan_id = vlan_id


def vlan_dev_hard_start_xmit(skb: SkBuff, dev: NetDevice) -> int:
    """``vlan_dev_hard_start_xmit``: the frame carries the device's tag (``__vlan_hwaccel_put_tag``)
    and leaves by the device below, which puts it in after the two addresses, the frame's own
    type following it (``validate_xmit_vlan``)."""
    vlan: VlanDev = dev.priv
    skb.vlan_proto, skb.vlan_tci = vlan.vlan_proto, vlan.vlan_id
    stats = dev.stats
    stats.tx_packets += 1
    stats.tx_bytes += skb.len + skb.data_len
    skb.dev = vlan.real_dev
    return dev_queue_xmit(skb)


def vlan_dev_open(dev: NetDevice) -> None:
    """``vlan_dev_open``: not over a device that is down (ENETDOWN)."""
    if not dev.priv.real_dev.up:
        raise OSError(ENETDOWN, "RTNETLINK answers: Network is down")


def vlan_dev_change_mtu(dev: NetDevice, new_mtu: int) -> int:
    """``vlan_dev_change_mtu``: no larger than the device below's (ERANGE)."""
    if dev.priv.real_dev.mtu < new_mtu:
        return -ERANGE
    dev.mtu = new_mtu
    return 0


VLAN_NETDEV_OPS = NetDeviceOps(vlan_dev_hard_start_xmit, ndo_open=vlan_dev_open, ndo_change_mtu=vlan_dev_change_mtu)


def register_vlan_dev(host: Host, real_dev: NetDevice, name: str, vlan_id: int,
                      vlan_proto: int = ETH_P_8021Q) -> NetDevice:
    """``register_vlan_dev`` (``ip link add link REAL name NAME type vlan [protocol 802.1ad] id
    ID``): ValueError with the kernel's message for an id out of range or taken on that device
    with that protocol.  A VLAN device may be over another (QinQ: 802.1ad outside, 802.1Q in)."""
    if not 0 <= vlan_id < VLAN_N_VID - 1:
        raise ValueError("Error: 8021q: Invalid VLAN id.")
    if real_dev.vlan_info and (vlan_proto, vlan_id) in real_dev.vlan_info:
        raise FileExistsError("Error: 8021q: VLAN device already exists.")
    if name in host.devices:
        raise FileExistsError("RTNETLINK answers: File exists")
    dev = NetDevice(name, VLAN_NETDEV_OPS, type=real_dev.type, mtu=real_dev.mtu, dev_addr=real_dev.dev_addr,
                    broadcast=real_dev.broadcast, flags=IFF_BROADCAST | IFF_MULTICAST,
                    hard_header_len=real_dev.hard_header_len + VLAN_HLEN, header_ops=real_dev.header_ops)
    dev.no_queue = True  # IFF_NO_QUEUE: a VLAN device sends straight down, queued below
    dev.qdisc = None
    dev.min_mtu, dev.max_mtu = 0, 65535  # vlan_setup's; vlan_dev_change_mtu keeps it to the MTU below
    dev.priv = VlanDev(real_dev, vlan_proto, vlan_id)
    if not real_dev.carrier:
        dev.netif_carrier_off()
    if real_dev.vlan_info is None:
        real_dev.vlan_info = {}
    real_dev.vlan_info[vlan_proto, vlan_id] = dev
    return host.register_netdevice(dev)


def unregister_vlan_dev(host: Host, dev: NetDevice) -> None:
    """``unregister_vlan_dev`` (``ip link del NAME``); the VLAN devices over it go first
    (``vlan_device_event``'s NETDEV_UNREGISTER)."""
    for upper in list((dev.vlan_info or {}).values()):
        unregister_vlan_dev(host, upper)
    real_dev = dev.priv.real_dev
    del real_dev.vlan_info[dev.priv.vlan_proto, dev.priv.vlan_id]
    host.unregister_netdevice(dev)


def is_vlan_dev(dev: NetDevice) -> bool:
    """``is_vlan_dev``."""
    return dev.netdev_ops is VLAN_NETDEV_OPS
