"""Sending frames out of bridge ports (net/bridge/br_forward.c): ``br_forward`` to one port,
``br_flood`` to all but the ingress port; ``should_deliver`` filters a frame whose destination is
on the port it came in on."""

from __future__ import annotations

from typing import TYPE_CHECKING

from tuxnet.net.bridge.br_if import BR_BCAST_FLOOD, BR_FLOOD, BR_HAIRPIN_MODE, BR_STATE_FORWARDING
from tuxnet.net.core.dev import dev_queue_xmit
from tuxnet.net.core.skbuff import SkBuff
from tuxnet.net.ethernet.eth import ETH_HLEN

if TYPE_CHECKING:
    from tuxnet.net.bridge.br_if import NetBridge, NetBridgePort

BR_PKT_UNICAST = 0
BR_PKT_MULTICAST = 1
BR_PKT_BROADCAST = 2
VLAN_HLEN = 4


def should_deliver(p: NetBridgePort, skb: SkBuff) -> bool:
    """``should_deliver``: not back out of the ingress port (unless hairpin), and only through a
    forwarding port that is up."""
    return (bool(p.flags & BR_HAIRPIN_MODE) or skb.dev is not p.dev) and \
        p.state == BR_STATE_FORWARDING and p.dev.up


def skb_clone(skb: SkBuff) -> SkBuff:
    """``skb_clone``: a new buffer head sharing the same bytes (both marked cloned), and the tag
    the frame came with."""
    n = SkBuff(skb.buf, skb.data, skb.tail)
    n.dev = skb.dev
    n.protocol = skb.protocol
    n.pkt_type = skb.pkt_type
    n.mac_header = skb.mac_header
    n.priority = skb.priority
    n.vlan_proto, n.vlan_tci = skb.vlan_proto, skb.vlan_tci
    n.cloned = skb.cloned = True
    return n


def br_dev_queue_push_xmit(skb: SkBuff) -> int:
    """``br_dev_queue_push_xmit``: put the Ethernet header back and queue on the egress device,
    unless the frame is too big for it (``is_skb_forwardable``)."""
    skb.data = skb.mac_header
    dev = skb.dev
    if skb.tail - skb.data > dev.mtu + ETH_HLEN + VLAN_HLEN:
        dev.stats.tx_dropped += 1
        return 0
    dev_queue_xmit(skb)
    return 0


def br_forward_finish(skb: SkBuff) -> int:
    """``br_forward_finish`` (the bridge's POST_ROUTING; no bridge netfilter here)."""
    return br_dev_queue_push_xmit(skb)


def __br_forward(to: NetBridgePort, skb: SkBuff) -> int:
    """``__br_forward``: switch the frame to the egress device."""
    skb.dev = to.dev
    to.stats.tx_frames += 1
    return br_forward_finish(skb)


def br_forward(to: NetBridgePort, skb: SkBuff) -> None:
    """``br_forward``: to the port the destination was learned on, or filtered when that is the
    port the frame came in on."""
    ingress: NetBridgePort = skb.dev.rx_handler_data
    if should_deliver(to, skb):
        ingress.stats.forwarded += 1
        __br_forward(to, skb)
    else:
        ingress.stats.filtered += 1


def br_flood(br: NetBridge, skb: SkBuff, pkt_type: int) -> None:
    """``br_flood``: a copy to every other port that takes floods of this kind."""
    ingress: NetBridgePort = skb.dev.rx_handler_data
    ingress.stats.flooded += 1
    flag = BR_FLOOD if pkt_type == BR_PKT_UNICAST else BR_BCAST_FLOOD
    for p in br.ports:
        if p.flags & flag and should_deliver(p, skb):
            __br_forward(p, skb_clone(skb))
