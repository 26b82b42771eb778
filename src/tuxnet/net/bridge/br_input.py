"""Frames arriving on a bridge port (net/bridge/br_input.c): ``br_handle_frame`` →
``br_handle_frame_finish`` → learn (``br_fdb_update``), then forward to the learned port, flood,
or filter."""

from __future__ import annotations

from typing import TYPE_CHECKING

from tuxnet.net.bridge.br_fdb import br_fdb_find, br_fdb_update
from tuxnet.net.bridge.br_forward import BR_PKT_BROADCAST, BR_PKT_MULTICAST, BR_PKT_UNICAST, br_flood, br_forward
from tuxnet.net.bridge.br_if import BR_LEARNING, BR_STATE_FORWARDING, BR_STATE_LEARNING
from tuxnet.net.core.dev import RX_HANDLER_CONSUMED, RX_HANDLER_PASS
from tuxnet.net.core.skbuff import PACKET_LOOPBACK

if TYPE_CHECKING:
    from tuxnet.net.bridge.br_if import NetBridgePort
    from tuxnet.net.core.skbuff import SkBuff

_LINK_LOCAL = b"\x01\x80\xc2\x00\x00"  # 01:80:C2:00:00:0X, IEEE 802.1D reserved group addresses


def is_valid_ether_addr(addr: bytes | bytearray) -> bool:
    """Unicast and not all zeros."""
    return not addr[0] & 1 and any(addr)


def br_handle_frame(skb: SkBuff) -> int:
    """``br_handle_frame``: the port's ``rx_handler``.  Bad sources and reserved group addresses
    are dealt with here; the rest goes on to ``br_handle_frame_finish``."""
    if skb.pkt_type == PACKET_LOOPBACK:
        return RX_HANDLER_PASS
    p: NetBridgePort = skb.dev.rx_handler_data
    buf = skb.buf
    mac = skb.mac_header
    p.stats.rx_frames += 1
    if not is_valid_ether_addr(buf[mac + 6:mac + 12]):
        p.stats.dropped += 1
        return RX_HANDLER_CONSUMED
    if buf[mac:mac + 5] == _LINK_LOCAL and buf[mac + 5] & 0xF0 == 0:
        if buf[mac + 5] == 0x00:
            pass  # the bridge group address: forwarded, to keep loop detection, as STP is off
        elif buf[mac + 5] == 0x01:
            p.stats.dropped += 1  # MAC control (PAUSE) never crosses a bridge
            return RX_HANDLER_CONSUMED
        else:
            p.stats.local += 1  # LLDP, 802.1X ...: for the port's own stack
            return RX_HANDLER_PASS
    if p.state not in (BR_STATE_FORWARDING, BR_STATE_LEARNING):
        p.stats.dropped += 1
        return RX_HANDLER_CONSUMED
    br_handle_frame_finish(p, skb)
    return RX_HANDLER_CONSUMED


def br_handle_frame_finish(p: NetBridgePort, skb: SkBuff) -> int:
    """``br_handle_frame_finish``: learn the source, then forward, flood or filter."""
    br = p.br
    buf = skb.buf
    mac = skb.mac_header
    if p.flags & BR_LEARNING:
        br_fdb_update(br, p, bytes(buf[mac + 6:mac + 12]))
    if p.state == BR_STATE_LEARNING:
        p.stats.dropped += 1
        return 0
    dest = bytes(buf[mac:mac + 6])
    dst = None
    if dest[0] & 1:
        pkt_type = BR_PKT_BROADCAST if dest == b"\xff" * 6 else BR_PKT_MULTICAST
    else:
        pkt_type = BR_PKT_UNICAST
        dst = br_fdb_find(br, dest)
    if dst is not None:
        if dst.is_local:
            p.stats.local += 1  # for the bridge itself, which has no stack above it
            return 0
        dst.used = br.host.world.now
        br_forward(dst.dst, skb)
    else:
        br_flood(br, skb, pkt_type)
    return 0
