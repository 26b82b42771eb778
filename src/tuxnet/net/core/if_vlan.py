"""The VLAN tag a buffer carries beside its bytes (include/linux/if_vlan.h, and ``skb_vlan_untag``
of net/core/skbuff.c).

A received frame's outer 802.1Q or 802.1ad tag comes out of its bytes into ``vlan_proto`` and
``vlan_tci`` before anything sees the frame, as a NIC with VLAN offload or the core itself does it
(``__netif_receive_skb_core``): packet sockets read the frame untagged, the tag in
PACKET_AUXDATA.  A buffer that still carries one on its way out of a device has it put back into
its bytes first, for a device that does not insert tags itself (``validate_xmit_vlan``).
"""

from __future__ import annotations

import struct

from tuxnet.net.core.skbuff import SkBuff, skb_expand_head
from tuxnet.net.ethernet.eth import ETH_ALEN, VLAN_HLEN

VLAN_VID_MASK = 0x0FFF
VLAN_PRIO_SHIFT = 13
ETH_ALEN2 = 2 * ETH_ALEN  # the two addresses the tag goes after

_tag = struct.Struct("!HH")


def skb_vlan_untag(skb: SkBuff) -> bool:
    """``skb_vlan_untag``: the outer tag out of the bytes (the two addresses move up over it)
    into the buffer's fields, the frame's type the one after it; False for a frame too short to
    hold a tag.  A buffer that carries a tag already keeps it (the next round takes this one)."""
    if skb.vlan_proto:
        return True
    if skb.tail - skb.data < VLAN_HLEN:
        return False
    buf = skb.buf
    tci, proto = _tag.unpack_from(buf, skb.data)
    skb.vlan_proto, skb.vlan_tci = skb.protocol, tci
    mac = skb.mac_header
    buf[mac + VLAN_HLEN:mac + VLAN_HLEN + ETH_ALEN2] = buf[mac:mac + ETH_ALEN2]
    skb.mac_header = mac + VLAN_HLEN
    skb.data += VLAN_HLEN
    skb.network_header = skb.data
    skb.protocol = proto
    return True


def vlan_frame(frame: bytes, vlan_proto: int, vlan_tci: int) -> bytes:
    """An untagged Ethernet frame with the tag put back after its two addresses, as libpcap
    rebuilds what a capture saw from PACKET_AUXDATA's ``tp_vlan_tpid`` and ``tp_vlan_tci``."""
    return frame[:ETH_ALEN2] + _tag.pack(vlan_proto, vlan_tci) + frame[ETH_ALEN2:]


def __vlan_hwaccel_push_inside(skb: SkBuff) -> None:
    """``__vlan_hwaccel_push_inside`` (``vlan_insert_tag``): the buffer's tag into its bytes,
    after the two addresses (``skb.data`` is at the Ethernet header), in a head of its own."""
    if skb.cloned:
        skb.buf = bytearray(skb.buf)  # (skb_cow_head: the bytes are shared)
        skb.cloned = False
    if skb.data < VLAN_HLEN:
        skb_expand_head(skb, VLAN_HLEN)
    buf = skb.buf
    mac = skb.data
    start = skb.push(VLAN_HLEN)
    buf[start:start + ETH_ALEN2] = buf[mac:mac + ETH_ALEN2]
    _tag.pack_into(buf, start + ETH_ALEN2, skb.vlan_proto, skb.vlan_tci)
    skb.mac_header = start
    skb.vlan_proto = skb.vlan_tci = 0
