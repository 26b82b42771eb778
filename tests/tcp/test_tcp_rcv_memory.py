"""Receive memory as Linux 6.6+ counts it: every queued buffer charges its truesize (payload plus
the kernel's per-buffer overhead) to sk_rmem_alloc, the window offered is the share of free memory
that the peer's full-sized segments carry as payload (``scaling_ratio``, tcp_measure_rcv_mss), and
a queue that outgrows the buffer is pruned: first a bigger buffer (tcp_clamp_window), then its
bloated buffers copied into compact ones (tcp_collapse), then out-of-order data dropped."""

from __future__ import annotations

from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from tcpnet import (
    B_ADDR,
    IPPROTO_TCP,
    TCP_NODELAY,
    connection,
    listen_socket,
    lo_host,
    pair,
    sniff,
    tcp_segments,
)

from bulk import bulk_transfer
from tuxnet.net.core.netfilter import NF_ACCEPT, NF_DROP, NF_INET_LOCAL_IN, nf_register_net_hook
from tuxnet.net.core.skbuff import (
    SKB_STRUCT_SIZE,
    SKB_TRUESIZE_OVERHEAD,
    SkBuff,
    alloc_skb_data,
    skb_charged_truesize,
    skb_truesize,
)
from tuxnet.net.ipv4.tcp import tcp_prot
from tuxnet.net.ipv4.tcp_input import TCPHDR_ACK, TCPHDR_FIN, tcp_collapse_ofo_queue
from tuxnet.net.ipv4.tcp_sock import TCP_DEFAULT_SCALING_RATIO, TcpSock
from tuxnet.net.socket import AF_INET, MSG_PEEK, SOCK_STREAM
from tuxnet.user import libc

PORT = 7010


def test_lo_offers_nearly_all_of_the_buffer_and_sends_bigger_segments():
    """lo's 64 KB segments are almost all payload: the receiver offers ~99 % of its buffer
    where kernels before 6.6 offered half, and the sender's segments (at most half the largest
    window, tcp_bound_to_half_wnd) grow past 32 KB."""
    world, h = lo_host()
    cap = sniff(h, "lo")
    got: list[int] = []

    def sink() -> None:
        lfd = libc.socket(AF_INET, SOCK_STREAM, 0)
        libc.bind(lfd, ("127.0.0.1", PORT))
        libc.listen(lfd, 1)
        fd, _ = libc.accept(lfd)
        sk = next(s for s in h.tcp_hashinfo.ehash.values() if getattr(s, "inet_num", 0) == PORT)
        n = 0
        while data := libc.recv(fd, 1 << 20):
            n += len(data)
        got.extend([n, sk.scaling_ratio, sk.window_clamp, sk.sk_rcvbuf])
        libc.close(fd)

    def source() -> None:
        fd = libc.socket(AF_INET, SOCK_STREAM, 0)
        libc.connect(fd, ("127.0.0.1", PORT))
        libc.send(fd, bytes(4 << 20))
        libc.close(fd)

    h.spawn(sink)
    h.spawn(source)
    world.run_until(lambda: bool(got))
    n, ratio, clamp, rcvbuf = got
    assert n == 4 << 20
    assert 250 <= ratio <= 255, ratio
    assert clamp == rcvbuf * ratio >> 8
    data = [s.length for s in tcp_segments(cap) if s.length]
    assert max(data) > 45_000, sorted(set(data))


def test_cable_ratio_is_payload_over_frame_truesize():
    """A 1448-byte segment arrives in a 1514-byte frame that costs 1514 + SKB_TRUESIZE overhead:
    the receiver offers that share of its buffer, and never more than the buffer can hold."""
    world, a, b, _ = pair()
    out: dict = {}

    def reader() -> None:
        lfd = libc.socket(AF_INET, SOCK_STREAM, 0)
        libc.bind(lfd, (B_ADDR, PORT))
        libc.listen(lfd, 1)
        fd, _ = libc.accept(lfd)
        sk = connection(b, PORT)
        assert sk.scaling_ratio == TCP_DEFAULT_SCALING_RATIO      # half, until data arrives
        libc.sleep(0.5)                                           # the writer fills the window
        out["rmem"], out["queued"] = sk.sk_rmem_alloc, sum(s.rcv_charge for s in sk.sk_receive_queue)
        out["frames"] = sum(skb_truesize(s) for s in sk.sk_receive_queue)
        out["payload"] = sum(s.end_seq - s.seq for s in sk.sk_receive_queue)
        out["ratio"], out["rcvbuf"] = sk.scaling_ratio, sk.sk_rcvbuf
        while libc.recv(fd, 1 << 20):
            pass
        libc.close(fd)

    def writer() -> None:
        fd = libc.socket(AF_INET, SOCK_STREAM, 0)
        libc.connect(fd, (B_ADDR, PORT))
        libc.send(fd, bytes(1 << 20))
        libc.close(fd)

    r = b.spawn(reader)
    world.run_for(1_000_000)
    w = a.spawn(writer)
    world.run_until(lambda: not r.alive and not w.alive, timeout=60 * 10**9)
    assert out["ratio"] == (1448 << 8) // (1514 + SKB_TRUESIZE_OVERHEAD)
    # Memory is charged by truesize, not payload, and the window kept it within the buffer (give or
    # take the last segment: tcp_try_rmem_schedule looks at the memory before adding a buffer).  A
    # frame merged into the buffer before it (tcp_try_coalesce) is charged its truesize less its
    # struct sk_buff, the head becoming a page fragment of that buffer.
    assert out["frames"] > out["rmem"] == out["queued"] > out["payload"] > 0
    assert out["rmem"] <= out["rcvbuf"] + 1514 + SKB_TRUESIZE_OVERHEAD


def paced_transfer(world, a, b, reader, addr: str, chunks: list[bytes]) -> None:
    """Run ``reader`` on b and, a millisecond later, a writer on a that sends each of ``chunks``
    to (addr, PORT) as it comes (TCP_NODELAY), 0.5 ms apart; until both are done."""
    def writer() -> None:
        fd = libc.socket(AF_INET, SOCK_STREAM, 0)
        libc.setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, 1)
        libc.connect(fd, (addr, PORT))
        for chunk in chunks:
            libc.send(fd, chunk)
            libc.sleep(0.0005)
        libc.close(fd)

    r = b.spawn(reader)
    world.run_for(1_000_000)
    w = a.spawn(writer)
    world.run_until(lambda: not r.alive and not w.alive, timeout=600 * 10**9)


def test_small_segments_are_collapsed_when_the_buffer_is_fixed():
    """With SO_RCVBUF fixed, a stream of 30-byte segments costs ~14 times its payload, even merged
    into the buffer before (tcp_try_coalesce: each frame's head, less its struct sk_buff): the
    window (sized for the payload share of full-sized segments) lets more in than the buffer
    holds, and tcp_prune_queue copies the queue into compact buffers instead of dropping; every
    byte arrives in order."""
    world, a, b, _ = pair()
    chunks = [bytes([i % 251]) * 30 for i in range(600)]
    out: dict = {}

    def reader() -> None:
        fd, _ = libc.accept(listen_socket(B_ADDR, PORT, 1, 16384))
        sk = connection(b, PORT)
        libc.sleep(2.0)                                           # let the queue fill
        out["rmem"], out["rcvbuf"], out["queue"] = sk.sk_rmem_alloc, sk.sk_rcvbuf, len(sk.sk_receive_queue)
        data = bytearray()
        while chunk := libc.recv(fd, 1 << 16):
            data += chunk
        out["data"] = bytes(data)
        libc.close(fd)

    paced_transfer(world, a, b, reader, B_ADDR, chunks)
    mib = b.mib.TcpExt
    assert out["data"] == b"".join(chunks)
    assert mib["PruneCalled"] > 0 and mib["TCPRcvCollapsed"] > 0 and mib["TCPRcvCoalesce"] > 0
    assert mib["RcvPruned"] == 0 and mib["TCPRcvQDrop"] == 0
    assert out["rcvbuf"] == 32768                                 # SO_RCVBUF doubled, then left alone
    assert out["queue"] < 200                                     # fewer, fuller buffers than segments


def rmem_accounted(sk) -> int:
    """What the receive and out-of-order queues should be charged: each receive-queue buffer its
    share (``rcv_charge``, the last part of a merged buffer holding all of it), each out-of-order
    segment its truesize."""
    return sum(s.rcv_charge for s in sk.sk_receive_queue) + sum(skb_charged_truesize(s) for s in sk.out_of_order_queue)


@settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.sampled_from(["lo", "cable", "lossy"]), st.sampled_from([0, 4096, 16384]),
       st.lists(st.sampled_from([1, 30, 1000, 1448, 5000, 70000]), min_size=1, max_size=30),
       st.lists(st.tuples(st.sampled_from([1, 100, 3000, 1 << 20]), st.booleans(), st.sampled_from([0, 1, 30])),
                min_size=1, max_size=30))
def test_the_receive_queues_charge_is_what_their_buffers_hold(link, rcvbuf, writes, reads):
    """Whatever merges (tcp_try_coalesce), collapses, prunes, peeks and partial reads happen, the
    socket's sk_rmem_alloc is always what its queues' buffers are charged, and nothing once all
    is read; every byte arrives in order."""
    if link == "lo":
        world, b = lo_host()
        a, addr = b, "127.0.0.1"
    else:
        lossy = {"loss": 0.05, "reorder": 0.05} if link == "lossy" else {}
        world, a, b, _ = pair(rate="100mbit", delay="1ms", **lossy)
        addr = B_ADDR
    payload = b"".join(bytes([i % 251]) * n for i, n in enumerate(writes))
    out: dict = {"checks": 0}

    def check(sk) -> None:
        assert sk.sk_rmem_alloc == rmem_accounted(sk) >= 0
        out["checks"] += 1

    def reader() -> None:
        fd, _ = libc.accept(listen_socket(addr, PORT, 1, rcvbuf))
        sk = connection(b, PORT) if link != "lo" else next(
            s for s in b.tcp_hashinfo.ehash.values() if getattr(s, "inet_num", 0) == PORT and hasattr(s, "snd_una"))
        data = bytearray()
        for size, peek, pause in reads:
            libc.sleep(pause / 1000)
            check(sk)
            chunk = libc.recv(fd, size, MSG_PEEK if peek else 0)
            check(sk)
            if not peek:
                data += chunk
        while chunk := libc.recv(fd, 1 << 20):
            data += chunk
            check(sk)
        out["data"] = bytes(data)
        out["rmem"] = sk.sk_rmem_alloc
        libc.close(fd)

    chunks = [bytes([i % 251]) * n for i, n in enumerate(writes)]
    paced_transfer(world, a, b, reader, addr, chunks)
    assert out["data"] == payload
    assert out["rmem"] == 0 and out["checks"] > 0


def test_segments_behind_a_hole_merge_into_buffers_of_17_fragments():
    """A segment lost in a window of full-sized ones: those after it wait out of order, each
    merged into the one before (tcp_ooo_try_coalesce, its payload moved as a page fragment, not
    copied) while the buffer holds fewer than
    MAX_SKB_FRAGS fragments (each frame's head one), so 18 segments a buffer, charged one frame's
    truesize and then each frame's less its struct sk_buff (98 segments wait behind the hole
    here, in five buffers of 33,268 bytes and one of 14,928, 12 % less than 98 buffers); the
    receive queue takes them on when the hole is filled, and every byte arrives."""
    world, a, b, _ = pair(rate="100mbit", delay="5ms")
    seen: dict = {}
    dropped: list[int] = []

    def drop_one_segment(_host, skb, _state) -> int:
        nh = skb.network_header
        if skb.buf[nh + 9] != 6:
            return NF_ACCEPT
        th = nh + (skb.buf[nh] & 0xF) * 4
        seq = int.from_bytes(skb.buf[th + 4:th + 8], "big")
        length = skb.tail - th - (skb.buf[th + 12] >> 4) * 4
        if length and not dropped:
            seen.setdefault("first", seq)
            if (seq - seen["first"]) & 0xFFFFFFFF >= 150_000:
                dropped.append(seq)
                return NF_DROP
        if dropped and seq == dropped[0] and "ofo" not in seen:
            sk = connection(b, PORT)
            seen["ofo"] = [((o.end_seq - o.seq) // 1448, o.nr_frags) for o in sk.out_of_order_queue]
            # the payloads that merged are in the storage they arrived in, as fragments
            seen["storages"] = [len({id(f[0]) for f in o.frags or ()} - {id(o.buf)})
                                for o in sk.out_of_order_queue]
            seen["rmem"] = sk.sk_rmem_alloc - sum(s.rcv_charge for s in sk.sk_receive_queue)
            seen["charged"] = [o.truesize for o in sk.out_of_order_queue]
        return NF_ACCEPT

    nf_register_net_hook(b, NF_INET_LOCAL_IN, drop_one_segment)
    got = bulk_transfer(world, a, b, 400_000, port=PORT, reader_pause=0.2)
    assert got["bytes"] == 400_000 and dropped
    frame = skb_truesize(alloc_skb_data(bytes(1514), 0, 0))
    buffers = seen["ofo"]
    assert len(buffers) >= 2 and all(n == 18 and frags == 17 for n, frags in buffers[:-1]), buffers
    assert all(n == 17 for n in seen["storages"][:-1])
    assert seen["charged"][0] == frame + 17 * (frame - SKB_STRUCT_SIZE)
    assert seen["rmem"] == sum(seen["charged"])
    assert b.mib.TcpExt["TCPRcvCoalesce"] > 17


def test_small_segments_behind_a_hole_are_collapsed_not_dropped():
    """30-byte segments pile up behind a hole that stays open 300 ms (the segment and its first
    retransmissions dropped), in a fixed buffer they outgrow: tcp_prune_queue compacts the
    out-of-order queue (tcp_collapse_ofo_queue) into page-sized buffers instead of dropping its
    far end, so nothing is pruned or dropped, and every byte arrives in order."""
    world, a, b, _ = pair()
    chunks = [bytes([i % 251]) * 30 for i in range(600)]
    out: dict = {}
    hole: dict = {}

    def drop_the_hole(_host, skb, _state) -> int:
        nh = skb.network_header
        th = nh + (skb.buf[nh] & 0xF) * 4
        seq = int.from_bytes(skb.buf[th + 4:th + 8], "big")
        if skb.buf[nh + 9] != 6 or skb.tail == th + (skb.buf[th + 12] >> 4) * 4:
            return NF_ACCEPT
        hole.setdefault("first", seq)
        if "seq" not in hole and (seq - hole["first"]) & 0xFFFFFFFF >= 3000:
            hole["seq"], hole["at"] = seq, world.now
        if seq == hole.get("seq"):
            if world.now - hole["at"] < 300_000_000:
                return NF_DROP
            if "ofo" not in hole:  # the hole is about to be filled: what waits behind it
                sk = connection(b, PORT)
                hole["ofo"] = [(o.end_seq - o.seq, o.truesize) for o in sk.out_of_order_queue]
                hole["collapsed"] = b.mib.TcpExt["TCPRcvCollapsed"]
        return NF_ACCEPT

    def reader() -> None:
        fd, _ = libc.accept(listen_socket(B_ADDR, PORT, 1, 16384))
        libc.sleep(2.0)
        data = bytearray()
        while chunk := libc.recv(fd, 1 << 16):
            data += chunk
        out["data"] = bytes(data)
        libc.close(fd)

    nf_register_net_hook(b, NF_INET_LOCAL_IN, drop_the_hole)
    paced_transfer(world, a, b, reader, B_ADDR, chunks)
    mib = b.mib.TcpExt
    assert out["data"] == b"".join(chunks)
    assert mib["PruneCalled"] > 0 and hole["collapsed"] > 0
    assert mib["OfoPruned"] == mib["RcvPruned"] == mib["TCPOFODrop"] == 0
    # What waits behind the hole is mostly in compact buffers: a page's worth of bytes for a
    # page's truesize (SKB_MAX_ORDER(0, 0), 3,776), where a merged buffer of 18 segments holds 540.
    waiting = sum(n for n, _ in hole["ofo"])
    compact = [n for n, truesize in hole["ofo"] if n == 3776]
    assert waiting > 4000 and sum(compact) > waiting // 2, hole["ofo"]


def _ofo_socket(segments: list[tuple[int, bytes, int, int]]) -> Any:
    """A TCP socket whose out-of-order queue holds ``segments`` (start, payload, truesize, TCP
    flags), charged to it as tcp_data_queue_ofo charges them."""
    _, h = lo_host()
    sk = TcpSock(h, tcp_prot, AF_INET, SOCK_STREAM, 0)
    for start, payload, truesize, flags in segments:
        skb = SkBuff(bytearray(payload))
        skb.seq, skb.end_seq = start, start + len(payload) + bool(flags & TCPHDR_FIN)
        skb.truesize, skb.tcp_flags = truesize, flags | TCPHDR_ACK
        sk.out_of_order_queue.append(skb)
        sk.sk_rmem_alloc += truesize
    return sk


def test_collapsing_the_out_of_order_queue_copies_what_linux_copies():
    """tcp_collapse_ofo_queue, run by run: a run of bloated buffers (each would offer more window
    than it holds) becomes one compact buffer; a run of one small buffer is left; in a run, the
    buffers before the first bloated one stay; overlapping bytes are copied once; the copy stops
    at a FIN.  Each buffer copied counts in TCPRcvCollapsed, and the queue is charged what its
    buffers are."""
    p = bytes(range(100))
    sk = _ofo_socket([
        (1000, p, 1000, 0), (1100, p, 1000, 0), (1200, p, 1000, 0),  # a run of three bloated buffers
        (2000, p, 1000, 0),                                          # a run of one
        (3000, bytes(1000), 1500, 0), (4000, p, 1000, 0),            # not bloated, then bloated
        (5000, p * 2, 1000, 0), (5100, p[::-1] * 2, 1000, 0),        # overlapping by 100 bytes
        (6000, p, 1000, 0), (6100, p, 1000, TCPHDR_FIN),             # then a FIN
    ])
    tcp_collapse_ofo_queue(sk)
    queue = [(s.seq, s.end_seq, bytes(s.buf[s.data:s.tail])) for s in sk.out_of_order_queue]
    assert queue == [(1000, 1300, p * 3), (2000, 2100, p), (3000, 4000, bytes(1000)), (4000, 4100, p),
                     (5000, 5300, p * 2 + p[::-1]), (6000, 6100, p), (6100, 6201, p)]
    assert sk.host.mib.TcpExt["TCPRcvCollapsed"] == 3 + 1 + 2 + 1
    # a compact buffer costs what alloc_skb of its size does: here a small head, 640 bytes and
    # the struct sk_buff, for the 300 bytes a run holds as for the 201 (and a FIN) asked for the last
    assert [s.truesize for s in sk.out_of_order_queue] == [896, 1000, 1500, 896, 896, 896, 1000]
    assert sk.sk_rmem_alloc == sum(s.truesize for s in sk.out_of_order_queue)


def test_collapsing_stops_once_tiny_runs_add_up_to_an_eighth_of_the_buffer():
    """Runs of one small buffer are not worth copying; once they add up to more than an eighth of
    the receive buffer, tcp_collapse_ofo_queue leaves the rest of the queue as it is, a run
    it would have compacted included."""
    p = bytes(100)
    sk = _ofo_socket([(1000 * i, p, 4000, 0) for i in range(1, 8)] + [(9000, p, 1000, 0), (9100, p, 1000, 0)])
    sk.sk_rcvbuf = 8 * 4000 * 6  # the seventh tiny run passes an eighth of it
    tcp_collapse_ofo_queue(sk)
    assert len(sk.out_of_order_queue) == 9 and sk.host.mib.TcpExt["TCPRcvCollapsed"] == 0
    sk.sk_rcvbuf = 8 * 4000 * 7
    tcp_collapse_ofo_queue(sk)
    assert len(sk.out_of_order_queue) == 8 and sk.host.mib.TcpExt["TCPRcvCollapsed"] == 2
