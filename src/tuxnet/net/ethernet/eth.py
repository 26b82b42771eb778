"""Ethernet II framing (net/ethernet/eth.c)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from tuxnet.net.core.skbuff import PACKET_BROADCAST, PACKET_HOST, PACKET_MULTICAST, PACKET_OTHERHOST, SkBuff

if TYPE_CHECKING:
    from tuxnet.net.core.dev import NetDevice

ETH_ALEN = 6
ETH_HLEN = 14
VLAN_HLEN = 4  # an 802.1Q tag (include/linux/if_vlan.h)
ETH_ZLEN = 60
ETH_DATA_LEN = 1500
ETH_FCS_LEN = 4
BROADCAST = b"\xff" * 6


def eth_header(skb: SkBuff, dev: NetDevice, type: int, daddr: bytes | None, saddr: bytes | None) -> int:
    """``eth_header``: push the 14-octet header; returns its length."""
    d = skb.push(ETH_HLEN)
    buf = skb.buf
    buf[d:d + 6] = daddr if daddr is not None else b"\0" * 6
    buf[d + 6:d + 12] = saddr if saddr is not None else dev.dev_addr
    buf[d + 12] = type >> 8
    buf[d + 13] = type & 0xFF
    return ETH_HLEN


def eth_type_trans(skb: SkBuff, dev: NetDevice) -> int:
    """``eth_type_trans``: classify the frame, pull the header, return the ethertype."""
    skb.dev = dev
    d = skb.data
    skb.mac_header = d
    buf = skb.buf
    skb.data = d + ETH_HLEN
    if buf[d] & 1:
        skb.pkt_type = PACKET_BROADCAST if buf[d:d + 6] == BROADCAST else PACKET_MULTICAST
    elif buf[d:d + 6] != dev.dev_addr and any(dev.dev_addr):
        skb.pkt_type = PACKET_OTHERHOST
    else:
        skb.pkt_type = PACKET_HOST
    return (buf[d + 12] << 8) | buf[d + 13]


def format_mac(addr: bytes) -> str:
    return ":".join(f"{b:02x}" for b in addr)


def parse_mac(text: str) -> bytes:
    parts = text.split(":")
    if len(parts) != 6:
        raise ValueError(f"bad MAC address {text!r}")
    return bytes(int(p, 16) for p in parts)


class EthHeaderOps:
    """``eth_header_ops``."""

    create = staticmethod(eth_header)


def eth_rx_frame(dev: NetDevice, frame: bytes | bytearray | memoryview) -> int:
    """What an Ethernet driver's receive path does with a frame off the wire: refuse a runt
    (``rx_length_errors``), else count it, copy it into an ``SkBuff``, ``eth_type_trans`` and
    ``netif_rx``."""
    from tuxnet.net.core.dev import NET_RX_DROP, dev_sw_netstats_rx_add, netif_rx
    from tuxnet.net.core.skbuff import skb_from_frame

    if len(frame) < ETH_HLEN:
        dev.stats.rx_length_errors += 1
        dev.stats.rx_errors += 1
        return NET_RX_DROP
    dev_sw_netstats_rx_add(dev, len(frame))
    skb = skb_from_frame(frame)
    skb.protocol = eth_type_trans(skb, dev)
    return netif_rx(skb)
