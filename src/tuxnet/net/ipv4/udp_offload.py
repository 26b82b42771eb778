"""UDP segmentation offload (net/ipv4/udp_offload.c): a datagram sent with UDP_SEGMENT larger than
its segment size is one GSO packet, cut into datagrams of ``gso_size`` octets (the last one
shorter), each with its own IPv4 header (the ID counting up from the packet's, as
``inet_gso_segment`` numbers them) and UDP header (length, and the checksum of its own
pseudo-header), by ``__udp_gso_segment``: on the way out to a device that cannot take it whole
(every device but loopback), and on the way in to a socket that did not ask for it whole
(UDP_GRO off: ``udp_rcv_segment``)."""

from __future__ import annotations

import struct

from tuxnet.net.core.checksum import csum_tcpudp_nofold
from tuxnet.net.core.skbuff import CHECKSUM_PARTIAL, SkBuff, alloc_skb_data, skb_copy_bits
from tuxnet.net.ipv4.ip_output import ip_send_check

UDP_HLEN = 8
UDP_MAX_SEGMENTS = 128  # (1 << 7): the segments one send may make
_u16 = struct.Struct("!H")


def __udp_gso_segment(skb: SkBuff) -> list[SkBuff]:
    """The datagrams of GSO packet ``skb`` (its network and transport headers set, ``gso_size`` its
    segment size), each a buffer of its own from its IP header on, its UDP checksum left partial
    over its own pseudo-header (CHECKSUM_PARTIAL), the IP header's length and checksum for
    ``__ip_local_out`` or the receiver to take as they are: both are filled in."""
    buf = skb.buf
    nh = skb.network_header
    th = skb.transport_header
    ihl = th - nh
    mss = skb.gso_size
    payload = skb_copy_bits(skb, th + UDP_HLEN - skb.data, skb.tail - th - UDP_HLEN)
    headers = bytes(buf[nh:th + UDP_HLEN])
    ip_id = _u16.unpack_from(buf, nh + 4)[0]
    saddr, daddr = struct.unpack_from("!II", buf, nh + 12)
    segs = []
    for i, off in enumerate(range(0, len(payload), mss)):
        piece = payload[off:off + mss]
        seg = alloc_skb_data(piece, ihl + UDP_HLEN, nh)  # (the same room for a link-layer header)
        d = seg.data
        sbuf = seg.buf
        sbuf[d:d + ihl + UDP_HLEN] = headers
        length = UDP_HLEN + len(piece)
        _u16.pack_into(sbuf, d + 2, ihl + length)
        _u16.pack_into(sbuf, d + 4, (ip_id + i) & 0xFFFF)
        ip_send_check(sbuf, d)
        _u16.pack_into(sbuf, d + ihl + 4, length)
        _u16.pack_into(sbuf, d + ihl + 6, csum_tcpudp_nofold(saddr, daddr, length, 17))
        seg.network_header = d
        seg.transport_header = d + ihl
        seg.ip_summed = CHECKSUM_PARTIAL
        seg.csum_start = d + ihl
        seg.csum_offset = 6
        seg.dev, seg.dst, seg.sk, seg.pkt_type = skb.dev, skb.dst, skb.sk, skb.pkt_type
        seg.priority, seg.mark, seg.tstamp, seg.cb = skb.priority, skb.mark, skb.tstamp, skb.cb
        segs.append(seg)
    return segs
