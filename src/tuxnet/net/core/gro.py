"""Generic receive offload (net/core/gro.c; ``inet_gro_receive`` in net/ipv4/af_inet.c,
``tcp4_gro_receive``/``tcp_gro_receive`` in net/ipv4/tcp_offload.c).

A NAPI poll hands each frame to ``napi_gro_frags`` before any ``SkBuff`` is made for it (as
drivers that pass page fragments do).  A full-sized TCP segment over IPv4 to our address is held
on the poll's GRO list; the next segments of the same flow are appended to it while they continue
it exactly (next sequence number, same ACK, window, flags and option bytes, consecutive IP IDs),
so that the stack above sees one large packet with ``gso_size`` set, up to 64 KB; its payload is
copied once, from the frames into that packet.  A short segment, PSH, FIN or a changed header ends
the train; anything else goes up as it is.  Held packets go up when the poll completes
(``napi_complete_done`` → ``napi_gro_flush``).  GRO validates the TCP checksum of every segment it
looks at (unless the NIC's receive checksum offload did), so what it sends up is
CHECKSUM_UNNECESSARY; a segment with a bad checksum is not merged and goes up for ``tcp_v4_rcv``
to count.
"""

from __future__ import annotations

import struct
from typing import TYPE_CHECKING

from tuxnet.net.core.checksum import csum_fold, csum_partial, csum_tcpudp_nofold
from tuxnet.net.core.dev import netif_receive_skb
from tuxnet.net.core.netdev_features import NETIF_F_GRO
from tuxnet.net.core.skbuff import CHECKSUM_UNNECESSARY, SkBuff, skb_from_frame
from tuxnet.net.ethernet.eth import ETH_HLEN, eth_type_trans

if TYPE_CHECKING:
    from tuxnet.net.core.dev import NapiStruct

IPPROTO_TCP = 6
IP_DF = 0x4000
MAX_GRO_SKBS = 8  # packets held per NAPI instance (a GRO hash bucket's limit)
GRO_LEGACY_MAX_SIZE = 65536
TCP_FLAG_FIN = 0x01
TCP_FLAG_SYN = 0x02
TCP_FLAG_RST = 0x04
TCP_FLAG_PSH = 0x08
TCP_FLAG_URG = 0x20
TCP_FLAG_CWR = 0x80
# Flags that end a train: the segment carrying one goes up at once (tcp_gro_receive).
TCP_FLUSH_FLAGS = TCP_FLAG_URG | TCP_FLAG_PSH | TCP_FLAG_RST | TCP_FLAG_SYN | TCP_FLAG_FIN

_EMPTY = bytearray()
_u16 = struct.Struct("!H")
_u32 = struct.Struct("!I")
_u32x2 = struct.Struct("!II")
_iphdr = struct.Struct("!BBHHHBBHII")   # version/ihl, tos, tot_len, id, frag_off, ttl, protocol, check, addrs
_tcphdr = struct.Struct("!HHIIHH")      # ports, seq, ack_seq, data offset and flags, window
# The header word bits that may differ along a train (tcp_gro_receive): CWR (only on the first),
# FIN and PSH (only on the last).
TCP_WORD_MASK = ~(TCP_FLAG_CWR | TCP_FLAG_FIN | TCP_FLAG_PSH) & 0xFFFF


class NapiGroCb:
    """``NAPI_GRO_CB``: a packet GRO holds: the first frame, what the next segment must look like,
    and the payloads merged so far (views of the frames, as Linux chains their pages)."""

    __slots__ = ("frame", "key", "count", "next_seq", "ack_seq", "hdr", "payloads", "size", "gso_size",
                 "next_id", "flags", "tos_ttl", "word", "window", "opts", "expect", "expect_tail", "ip_sum")

    def __init__(self, frame: memoryview, key: tuple[int, int, int, int], hdr: bytes, payload: memoryview,
                 next_seq: int, ack_seq: int, next_id: int, flags: int, tos_ttl: tuple[int, int], word: int,
                 window: int) -> None:
        self.frame = frame
        self.key = key
        self.hdr = hdr                  # the IPv4 and TCP headers (options included) of the first
        self.opts = hdr[40:]
        self.payloads = [payload]
        self.count = 1
        self.size = self.gso_size = len(payload)
        self.next_seq = next_seq
        self.ack_seq = ack_seq
        self.next_id = next_id
        self.flags = flags
        self.tos_ttl = tos_ttl
        self.word = word
        self.window = window
        # Once the train has a second segment: the IPv4 header and the TCP header up to its
        # checksum that the next full-sized segment carries (ID, IP checksum and sequence number
        # moved on), and the rest of the TCP header (urgent pointer, options); see gro_expect.
        self.expect: bytearray | None = None
        self.expect_tail = b""
        self.ip_sum = 0


def napi_gro_frags(napi: NapiStruct, frame: memoryview, csum_ok: bool = False) -> None:
    """``napi_gro_frags``: GRO over a frame (without its FCS) still in the driver's receive
    buffer: a TCP segment over IPv4 to our address is merged or held, and an ``SkBuff`` is made
    only for what goes up (``eth_type_trans``, ``netif_receive_skb``).  ``csum_ok``: the NIC found
    its checksum right (CHECKSUM_UNNECESSARY)."""
    dev = napi.dev
    if not (dev.features & NETIF_F_GRO and frame[12:14] == b"\x08\x00" and frame[:6] == dev.dev_addr
            and inet_gro_receive(napi, frame, csum_ok)):
        skb = skb_from_frame(frame)
        skb.protocol = eth_type_trans(skb, dev)
        if csum_ok:
            skb.ip_summed = CHECKSUM_UNNECESSARY
        netif_receive_skb(skb)


def inet_gro_receive(napi: NapiStruct, frame: memoryview, csum_ok: bool = False) -> bool:
    """``inet_gro_receive`` + ``tcp4_gro_receive``: True when GRO took the frame (merged or held);
    False sends it up as it is, after any held packet of its flow."""
    nh = ETH_HLEN
    gro_list = napi.gro_list
    if gro_list:
        # The next full-sized segment of a held train, its headers as expected word for word
        # (tcp_gro_receive compares the headers whole too): merged without taking them apart.
        head = frame[nh:nh + 36]
        for p in gro_list:
            expect = p.expect
            if expect is not None and head == expect and frame[nh + 38:nh + len(p.hdr)] == p.expect_tail:
                plen = p.gso_size
                end = nh + len(p.hdr) + plen
                if len(frame) < end or p.size + plen + len(p.hdr) >= GRO_LEGACY_MAX_SIZE:
                    break
                if not csum_ok and csum_partial(frame[nh + 20:end], csum_tcpudp_nofold(
                        *_u32x2.unpack_from(expect, 12), len(p.hdr) - 20 + plen, IPPROTO_TCP)) != 0xFFFF:
                    break  # (the checks below send it up alone)
                p.payloads.append(frame[end - plen:end])
                p.count += 1
                p.size += plen
                p.next_seq = (p.next_seq + plen) & 0xFFFFFFFF
                p.next_id = (p.next_id + 1) & 0xFFFF
                gro_expect(p)
                return True
    if len(frame) < nh + 40:
        return False
    vihl, tos, tot_len, ip_id, frag, ttl, proto, _, saddr, daddr = _iphdr.unpack_from(frame, nh)
    if (vihl != 0x45 or proto != IPPROTO_TCP or tot_len > len(frame) - nh or frag & ~IP_DF
            or int.from_bytes(frame[nh:nh + 20], "big") % 0xFFFF):
        return False  # options, a fragment, a short or damaged header: ip_rcv decides
    th = nh + 20
    sport, dport, seq, ack_seq, offflags, window = _tcphdr.unpack_from(frame, th)
    doff = (offflags >> 12) << 2
    plen = tot_len - 20 - doff
    if doff < 20 or plen < 0:
        return False
    key = (saddr, daddr, sport, dport)
    p = None
    for held in gro_list:
        if held.key == key:
            p = held
            break
    # skb_gro_checksum_validate: what goes up is CHECKSUM_UNNECESSARY; a bad one goes up alone.
    if not csum_ok and csum_partial(frame[th:nh + tot_len],
                                    csum_tcpudp_nofold(saddr, daddr, tot_len - 20, IPPROTO_TCP)) != 0xFFFF:
        if p is not None:
            napi_gro_complete(napi, p)
        return False
    flags = offflags & 0xFF
    if p is not None:
        # tcp_gro_receive's flush tests: the train goes on only with the same TOS, TTL, header
        # word (data offset, flags bar CWR/FIN/PSH), window, ACK and options, the next sequence
        # number and IP ID, no CWR, and a segment no longer than the first.
        if (plen and seq == p.next_seq and ack_seq == p.ack_seq and offflags & TCP_WORD_MASK == p.word
                and not flags & TCP_FLAG_CWR and window == p.window and plen <= p.gso_size
                and p.size + plen + 20 + doff < GRO_LEGACY_MAX_SIZE and (tos, ttl) == p.tos_ttl
                and (frag & IP_DF or ip_id == p.next_id) and (doff == 20 or frame[th + 20:th + doff] == p.opts)):
            p.payloads.append(frame[th + doff:nh + tot_len])
            p.count += 1
            p.size += plen
            p.next_seq = (seq + plen) & 0xFFFFFFFF
            p.next_id = (ip_id + 1) & 0xFFFF
            p.flags |= flags & (TCP_FLAG_FIN | TCP_FLAG_PSH)
            if plen < p.gso_size or flags & TCP_FLUSH_FLAGS:
                napi_gro_complete(napi, p)
            elif p.expect is None:
                p.expect = bytearray(frame[nh:nh + 36])
                p.expect_tail = bytes(frame[nh + 38:th + doff])
                p.expect[4:6] = p.expect[10:12] = bytes(2)
                p.ip_sum = int.from_bytes(p.expect[:20], "big")
                gro_expect(p)
            return True
        napi_gro_complete(napi, p)
    if not plen or flags & TCP_FLUSH_FLAGS:
        return False
    if len(gro_list) >= MAX_GRO_SKBS:
        napi_gro_complete(napi, gro_list[0])
    gro_list.append(NapiGroCb(frame, key, bytes(frame[nh:th + doff]), frame[th + doff:nh + tot_len],
                              (seq + plen) & 0xFFFFFFFF, ack_seq, (ip_id + 1) & 0xFFFF, flags, (tos, ttl),
                              offflags & TCP_WORD_MASK, window))
    return True


def gro_expect(p: NapiGroCb) -> None:
    """The headers of the train's next segment, up to the TCP checksum: the next IP ID and the
    IP checksum that goes with it (``ip_sum`` is the header's sum without them), and the next
    sequence number."""
    expect = p.expect
    next_id = p.next_id
    _u16.pack_into(expect, 4, next_id)
    _u16.pack_into(expect, 10, ~((p.ip_sum + next_id) % 0xFFFF or 0xFFFF) & 0xFFFF)
    _u32.pack_into(expect, 24, p.next_seq)


def napi_gro_complete(napi: NapiStruct, p: NapiGroCb) -> None:
    """``napi_gro_complete`` → ``inet_gro_complete``/``tcp4_gro_complete``: one packet of all the
    segments held, headers fixed up (IP length and checksum, PSH/FIN of the last), sent up."""
    napi.gro_list.remove(p)
    dev = napi.dev
    if p.count == 1:
        skb = skb_from_frame(p.frame)
        skb.protocol = eth_type_trans(skb, dev)
        skb.ip_summed = CHECKSUM_UNNECESSARY
        netif_receive_skb(skb)
        return
    nh = ETH_HLEN
    th = nh + 20
    tot_len = len(p.hdr) + p.size
    # One copy of each payload, into a buffer of the packet's size (bytearray.join sizes it
    # first): the copy the NIC's DMA into its receive pages makes, which GRO then chains.
    b = _EMPTY.join((p.frame[:nh], p.hdr, *p.payloads))
    _u16.pack_into(b, nh + 2, tot_len)
    b[nh + 10] = b[nh + 11] = 0
    _u16.pack_into(b, nh + 10, ~(int.from_bytes(b[nh:th], "big") % 0xFFFF or 0xFFFF) & 0xFFFF)
    b[th + 13] |= p.flags & (TCP_FLAG_FIN | TCP_FLAG_PSH)
    saddr, daddr = _u32x2.unpack_from(b, nh + 12)
    pseudo = csum_tcpudp_nofold(saddr, daddr, tot_len - 20, IPPROTO_TCP)
    b[th + 16] = b[th + 17] = 0
    if dev.ptype_all or dev.nd_net.ptype_all:
        # A capture sees the merged packet; Linux leaves its checksum unfinished there, we finish
        # it so that the capture opens clean (as dev_queue_xmit_nit does for partial checksums).
        _u16.pack_into(b, th + 16, csum_fold(csum_partial(memoryview(b)[th:], pseudo)))
    else:
        _u16.pack_into(b, th + 16, pseudo)
    skb = SkBuff(b)
    skb.head_frag = True  # (the first segment's, the others' as its fragments)
    skb.nr_frags = p.count - 1
    skb.protocol = eth_type_trans(skb, dev)
    skb.network_header = nh
    skb.transport_header = th
    skb.ip_summed = CHECKSUM_UNNECESSARY
    skb.gso_size = p.gso_size
    netif_receive_skb(skb)


def napi_gro_flush(napi: NapiStruct) -> None:
    """``napi_gro_flush``: send up everything GRO holds, oldest first."""
    while napi.gro_list:
        napi_gro_complete(napi, napi.gro_list[0])
