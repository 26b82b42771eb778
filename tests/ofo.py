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


# A burst behind a hole, with timestamps.  The first data segment echoes the SYN-ACK's TSval 50 ms
# later, which gives the receiver an RTT sample of about 50 ms; WARM segments in order then use up
# its quick ACKs (an ACK per segment at a connection's start, which nothing compresses); then, after
# a hole of one segment, the ten of BURST come at once.  Linux sends the first three duplicate ACKs
# at once and compresses the rest into one, sent 1 ms later (min(tcp_comp_sack_delay_ns, 5 % of the
# RTT)).
WARM = 24
BURST = [((WARM + 1 + k) * MSS, MSS) for k in range(10)]
TS_SYN_OPTS = SYN_OPTS[:4] + b"\x04\x02\x08\x0a" + struct.pack("!II", 1, 0) + b"\x01\x03\x03\x07"


def ts_option(tsval: int, tsecr: int) -> bytes:
    return b"\x01\x01\x08\x0a" + struct.pack("!II", tsval, tsecr)


def tsval_of(options: bytes) -> int:
    """The TSval of a TCP header's options."""
    i = 0
    while i < len(options):
        if options[i] == 1:
            i += 1
            continue
        if options[i] == 8:
            return struct.unpack_from("!I", options, i + 2)[0]
        i += options[i + 1]
    raise AssertionError("no timestamp option")


def tuxnet_burst_acks() -> tuple[list[Ack], int]:
    """Play the burst to a tuxnet listener; the ACKs it sent for it, in order, and its count of
    ACKs compressed (TcpExtTCPAckCompressed)."""
    peer = Peer()
    peer.call(lambda: None)
    from rawpeer import LOCAL, LPORT  # noqa: PLC0415 - (the listener's address)
    from tuxnet.net.socket import AF_INET, SOCK_STREAM
    from tuxnet.user import libc

    lfd = peer.call(libc.socket, AF_INET, SOCK_STREAM, 0)
    peer.call(libc.bind, lfd, (LOCAL, LPORT))
    peer.call(libc.listen, lfd, 8)
    peer.segment(0x02, PEER_ISN, 0, 65535, TS_SYN_OPTS, b"")
    synack = peer.out[-1].data
    tsecr = tsval_of(synack[40:20 + (synack[32] >> 4) * 4])
    peer.learn()
    first = (PEER_ISN + 1) & 0xFFFFFFFF
    peer.world.run_for(50 * MS)
    peer.segment(0x10, first, peer.their_end, 65535, ts_option(2, tsecr), b"")
    for k in range(WARM):
        peer.segment(0x10, first + k * MSS, peer.their_end, 65535, ts_option(3, tsecr), bytes(MSS))
        peer.world.run_for(MS)
    peer.world.run_for(100 * MS)
    peer.out.clear()
    for start, length in BURST:
        peer.segment(0x10, first + start, peer.their_end, 65535, ts_option(4, tsecr), bytes(length))
    peer.world.run_for(100 * MS)
    acks = []
    for pkt in peer.out:
        d = pkt.data
        ack, = struct.unpack_from("!I", d, 28)
        acks.append(((ack - first) & 0xFFFFFFFF, sack_blocks(d[40:20 + (d[32] >> 4) * 4], first)))
    return acks, peer.host.mib.TcpExt["TCPAckCompressed"]
