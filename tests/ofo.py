"""An out-of-order scenario for a receiver, shared by ``tcp/test_tcp_ofo.py`` (tuxnet against the
answers the kernel gave) and ``tap/test_ofo_sack_vs_linux.py`` (tuxnet against the kernel itself).

After a handshake without timestamps (so that an ACK has room for four SACK blocks) with MSS
1000, the peer sends the segments of ``STEPS`` one at a time, each a (start, length) in bytes from
the first byte of data, and records the ACK the receiver sends for it: its acknowledgment number
and its SACK blocks (a D-SACK first), relative to the first byte.  The steps leave five holes (one
block more than an ACK holds), fill between two blocks, repeat a held segment, overlap one in part,
cover one from its start, and fill the holes."""

from __future__ import annotations

import struct

from rawpeer import MS, PEER_ISN, Peer, passive_open

STEPS: list[tuple[int, int]] = [
    (1000, 1000), (3000, 1000), (5000, 1000), (7000, 1000), (9000, 1000),  # five holes
    (2000, 1000),   # between the first two blocks
    (1000, 1000),   # held already: a D-SACK
    (3500, 1000),   # over the end of a held segment and into the hole after it
    (5000, 2000),   # the same start as a held segment, and more
    (0, 1000),      # the first hole
    (8000, 1000),
    (4000, 1000),   # partly below RCV.NXT
    (6000, 1000),
]
MSS = 1000
# SYN options: MSS 1000, SACK permitted, NOP, window scale 7 (no timestamps)
SYN_OPTS = struct.pack("!BBH", 2, 4, MSS) + b"\x04\x02\x01\x03\x03\x07"

Ack = tuple[int, tuple[tuple[int, int], ...]]


def sack_blocks(options: bytes, base: int) -> tuple[tuple[int, int], ...]:
    """The SACK blocks of a TCP header's options, relative to ``base``."""
    i, blocks = 0, []
    while i < len(options):
        kind = options[i]
        if kind == 0:
            break
        if kind == 1:
            i += 1
            continue
        size = options[i + 1]
        if kind == 5:
            edges = struct.unpack(f"!{(size - 2) // 4}I", options[i + 2:i + size])
            pairs = zip(edges[::2], edges[1::2], strict=True)
            blocks += [((a - base) & 0xFFFFFFFF, (b - base) & 0xFFFFFFFF) for a, b in pairs]
        i += size
    return tuple(blocks)


def tuxnet_acks() -> list[list[Ack]]:
    """Play STEPS to a tuxnet listener (which accepts and does not read); for each step, the
    ACKs it sent within 100 ms."""
    peer = Peer()
    passive_open(peer, SYN_OPTS)
    first = (PEER_ISN + 1) & 0xFFFFFFFF
    peer.learn()
    answers = []
    for start, length in STEPS:
        peer.out.clear()
        peer.segment(0x10, first + start, peer.their_end, 65535, b"", bytes(length))
        peer.world.run_for(100 * MS)
        acks = []
        for pkt in peer.out:
            d = pkt.data
            ihl = (d[0] & 0xF) * 4
            ack, = struct.unpack_from("!I", d, ihl + 8)
            doff = (d[ihl + 12] >> 4) * 4
            acks.append(((ack - first) & 0xFFFFFFFF, sack_blocks(d[ihl + 20:ihl + doff], first)))
        answers.append(acks)
    return answers
