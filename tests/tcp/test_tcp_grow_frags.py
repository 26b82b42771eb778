"""Page fragments of a sender's buffer (``skb_shinfo(skb)->frags``): what ``tcp_grow_skb`` makes
of the head of the write queue when it takes the next buffer's bytes whole, and what every
operation on such a buffer keeps.  Each helper is checked against the plain bytes the buffer
stands for; then a loopback transfer shows the bytes travel without a copy and arrive whole
through losses that split, trim and resend grown buffers."""

from __future__ import annotations

import hashlib
import random
import struct
import zlib

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from tcpnet import lo_host

from tuxnet.benchmarks import LOOPBACK_SINK_RCVBUF
from tuxnet.drivers.net.ether import CRC32_RESIDUE, ether_tso_frames
from tuxnet.net.core.checksum import csum_fold, csum_partial, csum_tcpudp_nofold
from tuxnet.net.core.gso import skb_gso_segment, tcp_gso_pieces
from tuxnet.net.core.netdev_features import NETIF_F_HW_CSUM, NETIF_F_SG
from tuxnet.net.core.skbuff import (
    SkBuff,
    __pskb_trim_head,
    alloc_skb_data,
    pskb_trim,
    skb_add_data,
    skb_add_frag,
    skb_clone,
    skb_copy_bits,
    skb_linearize,
    skb_ranges,
    skb_views,
)
from tuxnet.net.core.sock import SO_RCVBUF, SOL_SOCKET
from tuxnet.net.ipv4.af_inet import NetProtocol
from tuxnet.net.ipv4.ip_output import IPPROTO_TCP
from tuxnet.net.ipv4.tcp_ipv4 import tcp_v4_err, tcp_v4_rcv
from tuxnet.net.ipv4.tcp_output import _split_skb
from tuxnet.net.socket import AF_INET, SOCK_STREAM
from tuxnet.user import libc

HEADROOM = 64


def grown(head: bytes, frags: list[bytes]) -> SkBuff:
    """A buffer of ``head`` with each of ``frags`` after it as a fragment, each in storage of its
    own with headroom before it, as tcp_grow_skb leaves the head of the write queue."""
    skb = alloc_skb_data(head, 0, HEADROOM)
    for frag in frags:
        storage = bytearray(HEADROOM) + frag + b"after"  # bytes past the fragment are not its
        skb_add_frag(skb, storage, HEADROOM, HEADROOM + len(frag), HEADROOM)
    return skb


def contents(skb: SkBuff) -> bytes:
    return b"".join(skb_views(skb, skb.data, skb.tail))


chunks = st.binary(min_size=1, max_size=40)
# (a grown buffer, the bytes it stands for, its head's)
a_buffer = st.tuples(st.binary(max_size=40), st.lists(chunks, min_size=1, max_size=4)).map(
    lambda parts: (grown(*parts), parts[0] + b"".join(parts[1]), parts[0]))
examples = settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@examples
@given(a_buffer, st.data())
def test_views_copies_and_linearizing_read_the_bytes_the_buffer_stands_for(buffer, data):
    skb, want, head = buffer
    assert skb.tail - skb.data == len(want) and skb.data_len == len(want) - len(head)
    assert contents(skb) == want and skb.tobytes() == want
    start = data.draw(st.integers(0, len(want)))
    end = data.draw(st.integers(start, len(want)))
    assert b"".join(skb_views(skb, skb.data + start, skb.data + end)) == want[start:end]
    assert skb_copy_bits(skb, start, end - start) == want[start:end]
    assert skb.copy().tobytes() == want and skb.copy().frags is None
    data_at = skb.data
    skb_linearize(skb)
    assert skb.frags is None and skb.data_len == 0 and skb.data == data_at
    assert bytes(skb.buf[skb.data:skb.tail]) == want and skb.tail == skb.end == len(skb.buf)


@examples
@given(a_buffer, st.data())
def test_trimming_the_front_and_the_back_keeps_the_right_bytes(buffer, data):
    skb, want, _ = buffer
    front = data.draw(st.integers(0, len(want)))
    __pskb_trim_head(skb, front)
    assert contents(skb) == want[front:]
    keep = data.draw(st.integers(0, len(want) - front))
    pskb_trim(skb, keep)
    assert contents(skb) == want[front:front + keep]
    assert skb.tail - skb.data == keep
    assert skb.end == skb.tail if skb.frags else skb.tail <= skb.end <= len(skb.buf)
    assert skb.data_len == sum(end - start for _, start, end, _ in skb.frags or ())
    assert skb.frags is None or skb.frags, "no fragments is None, never an empty list"


@examples
@given(a_buffer, st.data(), st.binary(max_size=20))
def test_a_split_gives_each_part_its_bytes_and_either_may_take_more(buffer, data, more):
    skb, want, _ = buffer
    at = data.draw(st.integers(0, len(want)))
    buff = _split_skb(skb, at)
    assert contents(skb) == want[:at] and contents(buff) == want[at:]
    assert all(part.frags is None or part.frags for part in (skb, buff))
    # tcp_sendmsg appends to the tail of the queue; a clone sent before keeps what it had
    clone = skb_clone(buff)
    skb_add_data(buff, more)
    assert contents(buff) == want[at:] + more and contents(clone) == want[at:]


def test_a_buffer_with_fragments_takes_more_bytes_as_a_fragment_of_its_own():
    skb = grown(b"head", [b"frag"])
    skb_add_data(skb, memoryview(b"-more"))
    assert contents(skb) == b"headfrag-more" and len(skb.frags) == 2 and skb.data_len == 9


def test_more_bytes_grow_the_last_fragment_in_place_where_it_ends_its_storage():
    """The part after a split holds the rest of the head's storage as a fragment; a send into it
    grows that storage (``skb_can_coalesce``: the next bytes of the same page), not a new one."""
    skb = alloc_skb_data(b"abcdef", 0, HEADROOM)
    buff = _split_skb(skb, 2)
    skb_add_data(buff, b"gh")
    assert contents(skb) == b"ab" and contents(buff) == b"cdefgh"
    assert len(buff.frags) == 1 and buff.frags[0][0] is skb.buf and buff.data == buff.tail - buff.data_len


SADDR, DADDR = bytes([10, 0, 0, 1]), bytes([10, 0, 0, 2])


def gso_packet(head: bytes, frags: list[bytes], mss: int) -> tuple[SkBuff, bytes]:
    """An Ethernet/IPv4/TCP GSO packet whose payload is ``head`` in its head and then ``frags``,
    each in storage of its own; and that payload."""
    payload = head + b"".join(frags)
    ip = bytearray(struct.pack("!BBHHHBBH4s4s", 0x45, 0, 40 + len(payload), 7, 0x4000, 64, 6, 0, SADDR, DADDR))
    struct.pack_into("!H", ip, 10, csum_fold(csum_partial(ip)))
    tcp = struct.pack("!HHIIBBHHH", 40000, 80, 1000, 1, 5 << 4, 0x18, 1024, 0, 0)
    skb = alloc_skb_data(bytes(12) + b"\x08\x00" + ip + tcp + head, 0, HEADROOM)
    for frag in frags:
        skb_add_frag(skb, bytearray(b"x" * 7) + frag, 7, 7 + len(frag), 0)
    skb.network_header = skb.data + 14
    skb.transport_header = skb.data + 34
    skb.gso_size = mss
    return skb, payload


def tcp_checksum_ok(segment: bytes) -> bool:
    """The TCP checksum of an Ethernet/IPv4/TCP frame (without FCS) adds up."""
    length = len(segment) - 34
    pseudo = csum_tcpudp_nofold(int.from_bytes(SADDR, "big"), int.from_bytes(DADDR, "big"), length, 6)
    return csum_partial(segment[34:], pseudo) == 0xFFFF


a_gso_packet = st.tuples(st.binary(max_size=60), st.lists(st.binary(min_size=1, max_size=60), max_size=5),
                         st.integers(1, 40)).filter(lambda p: len(p[0]) + sum(map(len, p[1])) > 0)


@examples
@given(a_gso_packet)
def test_gso_cuts_a_packet_of_fragments_into_its_segments(packet):
    """Whatever the fragments' lengths and the MSS: software GSO, with and without scatter-gather
    and checksum offload, and the TSO engine give segments of MSS bytes (the last shorter) that
    hold the payload in order, each with a right TCP checksum where it is completed, and wire
    frames whose FCS checks; a segment within one run of storage is a view of it."""
    head, frags, mss = packet
    skb, payload = gso_packet(head, frags, mss)
    _, pieces, _ = tcp_gso_pieces(skb)
    first = skb.tail - len(payload)
    spans = [(first + i * mss, min(first + (i + 1) * mss, skb.tail)) for i in range(len(pieces))]
    got = [bytes(chunk) if chunk is not None else b"".join(skb_views(skb, start, end))
           for (_, chunk), (start, end) in zip(pieces, spans, strict=True)]
    assert b"".join(got) == payload and all(len(g) == mss for g in got[:-1])
    assert [chunk is not None for _, chunk in pieces] == [len(skb_ranges(skb, *span)) == 1 for span in spans]
    for wire in ether_tso_frames(gso_packet(head, frags, mss)[0]):
        frame = wire[:-4] if len(wire) > 64 else wire[:14 + int.from_bytes(wire[16:18], "big")]
        assert zlib.crc32(wire) == CRC32_RESIDUE and tcp_checksum_ok(frame)
    for features in (NETIF_F_SG | NETIF_F_HW_CSUM, NETIF_F_SG, 0):
        segs = skb_gso_segment(gso_packet(head, frags, mss)[0], features)
        assert b"".join(contents(seg)[54:] for seg in segs) == payload
        if not features & NETIF_F_HW_CSUM:
            assert all(tcp_checksum_ok(contents(seg)) for seg in segs)


# -- over loopback ---------------------------------------------------------------------------------


def _transfer(port: int, data: bytes, watch=None, rcvbuf: int = 0):
    """``data`` over lo from a client to a server on one host, ``watch(host, skb)`` seeing each
    segment as IP hands it to TCP and deciding which are lost (True), the server asking for
    ``rcvbuf`` (SO_RCVBUF) if given; returns the host and what the server read."""
    world, host = lo_host(seed=5)
    if watch is not None:
        # Between ip_local_deliver_finish and tcp_v4_rcv, where the segment is as lo delivered
        # it (a netfilter hook would see it linearized).
        def rcv(h, skb: SkBuff) -> int:
            return 0 if watch(h, skb) else tcp_v4_rcv(h, skb)

        host.inet_protos[IPPROTO_TCP] = NetProtocol(rcv, tcp_v4_err)

    def server() -> bytes:
        lfd = libc.socket(AF_INET, SOCK_STREAM, 0)
        if rcvbuf:
            libc.setsockopt(lfd, SOL_SOCKET, SO_RCVBUF, rcvbuf)
        libc.bind(lfd, ("127.0.0.1", port))
        libc.listen(lfd, 1)
        fd, _ = libc.accept(lfd)
        got = bytearray()
        while data_in := libc.recv(fd, 1 << 18):
            got += data_in
        libc.close(fd)
        return bytes(got)

    def client() -> None:
        fd = libc.socket(AF_INET, SOCK_STREAM, 0)
        libc.connect(fd, ("127.0.0.1", port))
        view = memoryview(data)
        sent = 0
        while sent < len(data):
            sent += libc.send(fd, view[sent:sent + (1 << 20)])
        libc.close(fd)

    srv = host.spawn(server)
    host.spawn(client)
    world.run_until(lambda: not srv.alive)
    return host, srv.result


def _payload(skb: SkBuff) -> int:
    th = skb.network_header + 20
    return skb.tail - th - (skb.buf[th + 12] >> 4) * 4


def _sender(host, port: int):
    """The client's socket: the connection whose remote port is ``port``."""
    return next(sk for sk in host.tcp_hashinfo.ehash.values()
                if hasattr(sk, "snd_una") and sk.inet_dport == port)


def _payload_storage(host, port: int, skb: SkBuff) -> tuple[bool, int]:
    """Whether every byte of an arriving segment's payload is in storage the sender's queues hold
    (nothing copied it on the way), and in how many runs of storage it is."""
    sk = _sender(host, port)
    queued = [*sk.tcp_rtx_queue, *sk.sk_write_queue]
    held = {id(q.buf) for q in queued} | {id(f[0]) for q in queued for f in q.frags or ()}
    th = skb.network_header + 20
    runs = skb_ranges(skb, th + (skb.buf[th + 12] >> 4) * 4, skb.tail)
    return all(id(storage) in held for storage, _, _ in runs), len(runs)


def test_a_grown_buffer_leaves_lo_as_two_segments_each_in_its_own_storage():
    """On lo with loopback_bulk's 4 MB receive buffer (MSS 65,483, buffers of one MSS, two
    segments allowed at once) the head of the write queue takes the next buffer whole as a
    fragment; GSO cuts the 130,966-byte packet at the fragment, the second segment's headers going
    into the headroom the next buffer never used.  The receiver gets the storage the sender
    queued: neither tcp_grow_skb nor GSO copied the payload, of these segments or any other."""
    data = random.Random(1).randbytes(12 << 20)
    arrived = []  # per data segment: (its head in a fragment's storage, in a head's, payload uncopied)

    def look(host, skb: SkBuff) -> bool:
        if _payload(skb):
            sent = _sender(host, 8400).tcp_rtx_queue
            arrived.append((any(skb.buf is f[0] for q in sent for f in q.frags or ()),
                            any(skb.buf is q.buf for q in sent), _payload_storage(host, 8400, skb)[0]))
        return False

    _, got = _transfer(8400, data, look, LOOPBACK_SINK_RCVBUF)
    assert hashlib.sha256(got).digest() == hashlib.sha256(data).digest()
    in_frag = sum(f for f, _, _ in arrived)
    in_head = sum(h for _, h, _ in arrived)
    # A grown packet's first segment is in the head's storage, its second in the fragment's.
    assert in_frag >= 60 and in_head >= in_frag
    assert all(uncopied for _, _, uncopied in arrived)


def test_segments_that_straddle_the_senders_buffers_reach_lo_as_page_fragments():
    """With the default receive buffer the MSS (47,616) does not line up with the write queue's
    buffers (32,741): the head of the queue takes part of the next buffer (``tcp_grow_skb``,
    ``skb_shift``), which is left with its front gone, and a segment GSO cuts may span two
    buffers' storage.  lo gathers fragments (NETIF_F_SG), so each such segment is a head of its
    own headers and page fragments of the sender's storage, as ``skb_segment`` builds it; a
    buffer whose headroom is no longer its own is sent with a new head (``pskb_copy``).  Every
    data segment reaches the receiver in storage the sender queued, and every byte arrives."""
    data = random.Random(4).randbytes(8 << 20)
    runs = []

    def look(host, skb: SkBuff) -> bool:
        if _payload(skb):
            runs.append(_payload_storage(host, 8402, skb))
        return False

    _, got = _transfer(8402, data, look)
    assert hashlib.sha256(got).digest() == hashlib.sha256(data).digest()
    assert len(runs) > 100 and all(uncopied for uncopied, _ in runs)
    assert sum(n > 1 for _, n in runs) >= 20


def test_bytes_arrive_whole_when_grown_buffers_are_lost_split_and_sent_again():
    """Seeded losses of segments on the way in, with the default receive buffer: the sender's
    grown buffers are acknowledged in part (their front trimmed into the fragments), split for
    retransmission, SACKed and sent again; a retransmission has a new head for its headers and
    its payload where it was (``pskb_copy``), so every segment arriving, the first time or again,
    is in storage the sender queued; every byte arrives once and in order."""
    data = random.Random(2).randbytes(6 << 20)
    loss = random.Random(3)
    seen = {"frags": 0, "trimmed_into_frags": 0, "copied": 0}

    def lossy(host, skb: SkBuff) -> bool:
        if not _payload(skb):
            return False
        for q in _sender(host, 8401).tcp_rtx_queue:
            if q.frags is not None:
                seen["frags"] += 1
                if q.data == q.tail - q.data_len:
                    seen["trimmed_into_frags"] += 1
        seen["copied"] += not _payload_storage(host, 8401, skb)[0]
        return loss.random() < 0.08

    host, got = _transfer(8401, data, lossy)
    assert hashlib.sha256(got).digest() == hashlib.sha256(data).digest()
    assert host.mib.Tcp["RetransSegs"] > 5
    assert seen["frags"] > 0 and seen["trimmed_into_frags"] > 0 and seen["copied"] == 0
