"""What __tcp_transmit_skb sends: a clone sharing the queued segment's bytes on the first
transmission (no copy of the payload, as in Linux), a copy for a retransmission, and bytes that
arrive whole however the buffers are split, shared, dropped and read."""

from __future__ import annotations

import hashlib
import random

import pytest
from tcpnet import lo_host

from tuxnet.net.core.netfilter import (
    NF_ACCEPT,
    NF_DROP,
    NF_INET_LOCAL_IN,
    NF_INET_LOCAL_OUT,
    NF_STOLEN,
    nf_register_net_hook,
)
from tuxnet.net.core.skbuff import alloc_skb_data, skb_add_data, skb_clone, skb_cloned
from tuxnet.net.ipv4.route import dst_output
from tuxnet.net.ipv4.tcp import IPPROTO_TCP, TCP_NODELAY
from tuxnet.net.socket import AF_INET, MSG_WAITALL, SOCK_STREAM
from tuxnet.user import libc


def _payload_len(skb) -> int:
    th = skb.network_header + 20
    return skb.tail - th - (skb.buf[th + 12] >> 4) * 4


def _server(port: int, size: int, flags: int = 0, chunk: int = 1 << 16) -> bytes:
    lfd = libc.socket(AF_INET, SOCK_STREAM, 0)
    libc.bind(lfd, ("127.0.0.1", port))
    libc.listen(lfd, 1)
    fd, _ = libc.accept(lfd)
    got = bytearray()
    while len(got) < size and (data := libc.recv(fd, chunk, flags)):
        got += data
    libc.close(fd)
    libc.close(lfd)
    return bytes(got)


def test_first_transmission_shares_the_queued_segments_bytes():
    world, host = lo_host()
    shared = []

    def look(h, skb, state):
        if _payload_len(skb):
            queued = skb.sk.sk_write_queue[0]  # the segment being sent is still at the head
            shared.append(skb.buf is queued.buf and skb_cloned(skb) and skb_cloned(queued))
        return NF_ACCEPT

    nf_register_net_hook(host, NF_INET_LOCAL_OUT, look)
    server = host.spawn(_server, 7000, 3000)

    def client():
        fd = libc.socket(AF_INET, SOCK_STREAM, 0)
        libc.setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, 1)
        libc.connect(fd, ("127.0.0.1", 7000))
        for i in range(3):
            libc.send(fd, bytes([i]) * 1000)
        libc.close(fd)

    host.spawn(client)
    world.run_until(lambda: not server.alive)
    assert server.result == b"\0" * 1000 + b"\1" * 1000 + b"\2" * 1000
    assert shared == [True, True, True]


def test_retransmission_is_a_copy_and_leaves_the_first_clone_alone():
    world, host = lo_host()
    seen = []  # (packet, its header bytes when it went out)

    def record(h, skb, state):
        if _payload_len(skb):
            nh = skb.network_header
            seen.append((skb, bytes(skb.buf[nh:nh + 52])))
        return NF_ACCEPT

    def drop_first(h, skb, state):
        # lost on the way in (a drop on the way out would fail the send): the RTO sends it again
        return NF_DROP if _payload_len(skb) and len(seen) == 1 else NF_ACCEPT

    nf_register_net_hook(host, NF_INET_LOCAL_OUT, record)
    nf_register_net_hook(host, NF_INET_LOCAL_IN, drop_first)
    server = host.spawn(_server, 7001, 1000)

    def client():
        fd = libc.socket(AF_INET, SOCK_STREAM, 0)
        libc.connect(fd, ("127.0.0.1", 7001))
        libc.send(fd, b"x" * 1000)
        libc.close(fd)

    host.spawn(client)
    world.run_until(lambda: not server.alive)
    assert server.result == b"x" * 1000
    assert host.mib.Tcp["RetransSegs"] >= 1
    (first, first_hdr), (again, _) = seen[0], seen[1]
    assert again.buf is not first.buf, "a retransmission is a copy (pskb_copy), not a second clone"
    nh = first.network_header
    assert bytes(first.buf[nh:nh + 52]) == first_hdr, "the first clone's headers were not rewritten"


def test_bytes_arrive_whole_through_splits_losses_and_waitall_reads():
    """Writes of every size (some appended to the tail of a buffer whose head went out as a clone),
    a receiver that sleeps in MSG_WAITALL with part of a read in hand, and seeded losses."""
    world, host = lo_host(seed=3)
    rng = random.Random(7)
    sizes = [rng.choice((1, 17, 500, 1448, 9000, 70000, 200000)) for _ in range(120)]
    data = random.Random(8).randbytes(sum(sizes))
    loss = random.Random(9)
    held = []

    def lossy(h, skb, state):
        if _payload_len(skb) and loss.random() < 0.03:
            return NF_DROP  # lost on the way in
        return NF_ACCEPT

    def reorder(h, skb, state):
        if _payload_len(skb) and loss.random() < 0.03:
            held.append(skb)  # reordered: goes out 1 ms later
            world.call_later(1_000_000, lambda: dst_output(h, None, held.pop(0)))
            return NF_STOLEN
        return NF_ACCEPT

    nf_register_net_hook(host, NF_INET_LOCAL_IN, lossy)
    nf_register_net_hook(host, NF_INET_LOCAL_OUT, reorder)
    server = host.spawn(_server, 7002, len(data), MSG_WAITALL, 150_000)

    def client():
        fd = libc.socket(AF_INET, SOCK_STREAM, 0)
        libc.connect(fd, ("127.0.0.1", 7002))
        pos = 0
        for size in sizes:
            libc.send(fd, data[pos:pos + size])
            pos += size
        libc.close(fd)

    host.spawn(client)
    world.run_until(lambda: not server.alive)
    assert hashlib.sha256(server.result).hexdigest() == hashlib.sha256(data).hexdigest()
    assert host.mib.Tcp["RetransSegs"] > 0


@pytest.mark.cpython_only
def test_a_reader_asleep_in_waitall_holds_no_view_of_the_buffers():
    """The sender may grow a buffer whose head went out as a clone (the tail part of a split
    segment takes the next write), so a reader that sleeps for the rest of a MSG_WAITALL read must
    not keep views of the bytes it has so far: Python cannot resize a bytearray with views."""
    world, host = lo_host()
    clones = []

    def keep(h, skb, state):
        if _payload_len(skb):
            clones.append(skb)
        return NF_ACCEPT

    nf_register_net_hook(host, NF_INET_LOCAL_OUT, keep)
    server = host.spawn(_server, 7003, 3000, MSG_WAITALL, 3000)

    def client():
        fd = libc.socket(AF_INET, SOCK_STREAM, 0)
        libc.connect(fd, ("127.0.0.1", 7003))
        libc.send(fd, b"a" * 1000)
        libc.sleep(1)
        libc.send(fd, b"b" * 2000)
        libc.close(fd)

    host.spawn(client)
    world.run_for(500_000_000)  # the reader has 1,000 of its 3,000 bytes and sleeps
    (first,) = clones
    assert first.cloned and server.alive
    first.buf += b"grown"  # what tcp_sendmsg does to a buffer it shares with a clone
    world.run_until(lambda: not server.alive)
    assert server.result == b"a" * 1000 + b"b" * 2000


def test_a_segment_grows_past_a_view_of_its_bytes_by_taking_new_ones():
    """skb_add_data grows the bytes in place; while a view of them is alive (a clone in flight,
    or any view PyPy has not collected yet) it reallocates the head instead: the segment holds
    old and new bytes, and the view still reads the old ones."""
    skb = alloc_skb_data(b"head", 0, 40)
    clone = skb_clone(skb)
    in_place = skb.buf
    skb_add_data(skb, b"-more")
    assert skb.buf is in_place and skb.tobytes() == b"head-more" and clone.tobytes() == b"head"
    view = clone.payload()
    skb_add_data(skb, b"-again")
    assert skb.buf is not in_place, "a bytearray with a live view cannot have been resized"
    assert skb.tobytes() == b"head-more-again" and skb.tail == skb.end == len(skb.buf)
    assert bytes(view) == b"head" and clone.tobytes() == b"head"
