"""Generic segmentation offload in software (net/core/gso.c, ``tcp_gso_segment`` in
net/ipv4/tcp_offload.c, ``inet_gso_segment`` in net/ipv4/af_inet.c).

TCP may hand the device layer one large segment with ``gso_size`` set (the MSS).  A device that
can segment it itself (NETIF_F_TSO: a TAP with the virtio header) gets it whole; for any other
device ``skb_gso_segment`` cuts it into MSS-sized segments, each with its own IPv4 header (ID
counting up, length and checksum fixed) and TCP header (sequence number moved on; FIN and PSH
only on the last piece, CWR only on the first), with the TCP checksum completed for a device
without checksum offload (CHECKSUM_UNNECESSARY: the driver may vouch for it) and left partial for
one with it.
"""

from __future__ import annotations

import struct

from tuxnet.net.core.checksum import csum_fold, csum_partial, csum_tcpudp_nofold
from tuxnet.net.core.net_tstamp import SKBTX_ANY_TSTAMP
from tuxnet.net.core.netdev_features import NETIF_F_HW_CSUM, NETIF_F_SG
from tuxnet.net.core.skbuff import (
    CHECKSUM_PARTIAL,
    CHECKSUM_UNNECESSARY,
    SKB_SMALL_HEAD_TRUESIZE,
    SkBuff,
    skb_add_frags,
    skb_views,
)
from tuxnet.net.ipv4.tcp_sock import SEQ_MASK, before

_u16 = struct.Struct("!H")
_u32 = struct.Struct("!I")
_u32x2 = struct.Struct("!II")
TCP_FLAG_FIN = 0x01
TCP_FLAG_PSH = 0x08
TCP_FLAG_CWR = 0x80


def tcp_gso_pieces(skb: SkBuff, views: bool = True) -> tuple[int, list[tuple[bytearray, memoryview | None]],
                                                             dict[int, tuple[bytearray, int]]]:
    """The segments of an IPv4/TCP GSO packet (``data`` at the link-layer header), as the offset
    of the TCP header and, per segment, its headers and a view of its payload (segment ``i``'s is
    the packet's bytes from ``i * gso_size`` past its headers).  Each segment's headers have their
    own IP length, ID and checksum and TCP sequence number and flags; the TCP checksum field holds
    the pseudo-header sum (CHECKSUM_PARTIAL), for the segment's maker to complete or leave.

    A packet with page fragments: the view is of the head or the one fragment the payload lies
    in; a payload across two of them has no view (None), and the segment's maker gathers it
    (``skb_ranges``, ``skb_views``); with ``views`` false no payload of such a packet has one (a
    maker that takes fragments by reference needs none).  The third value maps each segment that
    starts a fragment, lies in it and has room for its headers before it to the fragment's storage
    and start."""
    buf = skb.buf
    nh = skb.network_header
    th = skb.transport_header
    ihl = (buf[nh] & 0x0F) * 4
    doff = (buf[th + 12] >> 4) << 2
    mss = skb.gso_size
    hdr_end = th + doff
    frags = skb.frags
    in_head = skb.tail - skb.data_len - hdr_end
    payload = memoryview(buf)[hdr_end:hdr_end + in_head]
    total = skb.tail - hdr_end
    at_frag: dict[int, tuple[bytearray, int]] = {}
    n_nh = nh - skb.data
    n_th = n_nh + ihl
    seq = _u32.unpack_from(buf, th + 4)[0]
    ip_id = _u16.unpack_from(buf, nh + 4)[0]
    flags = buf[th + 13]
    saddr, daddr = _u32x2.unpack_from(buf, nh + 12)
    pack16 = _u16.pack_into
    pack32 = _u32.pack_into
    # The headers of a full-sized segment between the first and the last (IP length and TCP
    # pseudo-header sum of an MSS; no FIN, PSH or CWR), ID and IP checksum zeroed: each segment's
    # IP header sum is this one's plus its ID (2**16 == 1 mod 0xFFFF, so a sum of words is a sum of
    # numbers: ip_send_check, incrementally).
    full_len = ihl + doff + mss
    template = buf[skb.data:hdr_end]
    template[n_nh + 4:n_nh + 6] = template[n_nh + 10:n_nh + 12] = bytes(2)
    pack16(template, n_nh + 2, full_len)
    template[n_th + 13] = flags & ~(TCP_FLAG_FIN | TCP_FLAG_PSH | TCP_FLAG_CWR)
    pack16(template, n_th + 16, csum_tcpudp_nofold(saddr, daddr, doff + mss, 6))
    ip_sum = int.from_bytes(template[n_nh:n_th], "big")
    pieces = []
    seg_id = ip_id
    chunks: list[memoryview | None] | None = None
    if frags is not None:
        # The payload's runs, the head's and then each fragment's: a segment within one is a
        # view of it, one across two has none.
        pos = in_head
        runs = [(in_head, payload)]
        for storage, start, end, room in frags:
            if room >= hdr_end - skb.data and not pos % mss and end - start >= min(mss, total - pos):
                at_frag[pos] = (storage, start)
            pos += end - start
            if views:
                runs.append((pos, memoryview(storage)[start:end]))
        if not views:
            chunks = [None] * -(-total // mss)
        else:
            chunks = []
            run_start = 0
            for run_end, run in runs:
                first = -(-run_start // mss) * mss  # the first segment that starts in this run
                # those that end in it too (the last segment ends with the payload)
                fits = run_end - mss if run_end < total else total - 1
                chunks += [run[off - run_start:off - run_start + mss] for off in range(first, fits + 1, mss)]
                if first < run_end and len(chunks) * mss < run_end:
                    chunks.append(None)  # it starts here and goes on into the next run
                run_start = run_end
    for off in range(0, total, mss):
        h = template[:]
        pack16(h, n_nh + 4, seg_id)
        pack16(h, n_nh + 10, ~((ip_sum + seg_id) % 0xFFFF or 0xFFFF) & 0xFFFF)
        pack32(h, n_th + 4, (seq + off) & 0xFFFFFFFF)
        pieces.append((h, payload[off:off + mss] if chunks is None else chunks[off // mss]))
        seg_id = (seg_id + 1) & 0xFFFF
    # CWR only on the first segment, FIN and PSH only on the last, which has a length of its own
    last = pieces[-1][0]
    pieces[0][0][n_th + 13] = flags & ~(TCP_FLAG_FIN | TCP_FLAG_PSH)
    last[n_th + 13] = flags if len(pieces) == 1 else flags & ~TCP_FLAG_CWR
    tail = total - (len(pieces) - 1) * mss
    if tail != mss:
        tot_len = ihl + doff + tail
        last_id = (seg_id - 1) & 0xFFFF
        pack16(last, n_nh + 2, tot_len)
        pack16(last, n_nh + 10, ~((ip_sum - full_len + tot_len + last_id) % 0xFFFF or 0xFFFF) & 0xFFFF)
        pack16(last, n_th + 16, csum_tcpudp_nofold(saddr, daddr, doff + tail, 6))
    return n_th, pieces, at_frag


def skb_gso_segment(skb: SkBuff, features: int, held: bool = True) -> list[SkBuff]:
    """Split an IPv4/TCP GSO packet (``data`` at the link-layer header) into wire-sized ones for a
    device with ``features`` (``dev->features``).

    For a device without checksum offload (no NETIF_F_HW_CSUM) the TCP checksum of each segment
    is completed here, as ``tcp_gso_segment`` does with ``gso_make_checksum``; otherwise it is
    left partial.  ``held``: a qdisc holds the packet, so its socket is charged for it
    (``skb_set_owner_w``), and from now on for the segments instead.

    The first segment stays where the packet's bytes are, its headers rewritten in place (the
    packet's own, which nothing else reads).  So does a segment that starts a page fragment with
    free headroom before it, what ``tcp_grow_skb`` took whole from the buffer after it: its
    headers go there, as ``skb_segment`` pushes them in front of a ``frag_list`` member it reuses.
    Each other segment is a head of its own headers; for a device that gathers fragments
    (NETIF_F_SG, with the checksum offload it needs) its payload is fragments of the packet's
    storage, as ``skb_segment`` takes page references, and for any other it is copied into that
    head (``skb_segment`` without ``sg``).  So on ``lo`` no segment's payload is copied."""
    n_nh = skb.network_header - skb.data
    hw_csum = features & NETIF_F_HW_CSUM
    sg = hw_csum and features & NETIF_F_SG
    n_th, pieces, at_frag = tcp_gso_pieces(skb, not sg)
    mss = skb.gso_size
    in_head = skb.tail - skb.data_len - skb.data  # (headers included)
    start = skb.data + len(pieces[0][0])  # where each segment's payload is in the packet
    pack16 = _u16.pack_into
    dev, sk, dst, protocol, priority = skb.dev, skb.sk, skb.dst, skb.protocol, skb.priority
    uarg = skb.destructor_arg
    # The segments take over what the packet charges its socket (tcp_gso_segment's
    # copy_destructor).  Each costs what skb_segment makes it, a small head of its own and its
    # payload's fragments, and the socket is charged the difference (what a receiver over lo is
    # charged for a segment is then what Linux charges).
    destructor = skb.destructor
    skb.destructor = None
    truesize = skb.truesize
    charged = 0
    segs = []
    for i, (h, chunk) in enumerate(pieces):
        end = start + mss if start + mss < skb.tail else skb.tail
        if at_frag and i * mss in at_frag:
            b, first = at_frag[i * mss]
            base = first - len(h)
            b[base:first] = h
            n = SkBuff(b, base, first + end - start)
            n.end = n.tail
        elif i or len(h) + end - start > in_head:
            b = h
            base = 0
            if sg:
                n = SkBuff(b)
                skb_add_frags(n, skb, start, end)
            else:
                # its own headers, extended by its payload (PyPy copies a view faster so)
                for view in (chunk,) if chunk is not None else skb_views(skb, start, end):
                    b.extend(view)
                n = SkBuff(b)
        else:
            b = skb.buf
            base = skb.data
            b[base:base + len(h)] = h
            n = SkBuff(b, base, base + len(h) + end - start)
            n.end = n.tail
            # Its payload is still the sender's queued segment's, but, as each segment
            # skb_segment makes, it has a head of its own: not a clone (skb_cloned) of anything.
            n.cloned = False
        th = base + n_th
        if not hw_csum:
            pack16(b, th + 16, csum_fold(csum_partial(memoryview(b)[th:n.tail])))
            n.ip_summed = CHECKSUM_UNNECESSARY  # (on output: as CHECKSUM_NONE; skb_checksum_help)
        else:
            n.ip_summed = CHECKSUM_PARTIAL
            n.csum_start = th
            n.csum_offset = 16
        n.network_header = base + n_nh
        n.transport_header = th
        n.mac_header = base
        n.dev = dev
        n.sk = sk
        n.dst = dst
        n.protocol = protocol
        n.priority = priority
        n.destructor_arg = uarg  # the segments share a zerocopy send's pages (skb_zerocopy_clone)
        if truesize:
            n.truesize = SKB_SMALL_HEAD_TRUESIZE + end - start
            charged += n.truesize
        n.destructor = destructor
        segs.append(n)
        start = end
    if destructor is not None and held:
        sk.sk_wmem_alloc += charged - truesize
    if skb.tx_flags & SKBTX_ANY_TSTAMP:
        tcp_gso_tstamp(segs, skb, _u32.unpack_from(skb.buf, skb.transport_header + 4)[0])
    return segs


def tcp_gso_tstamp(segs: list[SkBuff], gso_skb: SkBuff, seq: int) -> None:
    """``tcp_gso_tstamp``: the send timestamps a GSO packet asked for go with the segment that
    holds their key byte (the first segment's sequence number ``seq``, each ``gso_size`` long)."""
    mss = gso_skb.gso_size
    key = gso_skb.tskey
    for seg in segs:
        if before(key, (seq + mss) & SEQ_MASK):
            seg.tx_flags |= gso_skb.tx_flags & SKBTX_ANY_TSTAMP
            seg.tskey = key
            return
        seq = (seq + mss) & SEQ_MASK
