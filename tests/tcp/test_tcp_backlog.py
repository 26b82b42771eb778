"""The socket backlog (``tcp_add_backlog``, Linux 4.19+): a segment for a socket its owner holds
waits there, merged into the one before it when it continues it; ``skb_try_coalesce`` does the
merging.  (tests/tap/test_autotune_vs_linux.py plays the same ACKs against the kernel.)"""

from __future__ import annotations

import hashlib
import random

from tcpnet import SEC, connection, lo_host

from tuxnet.benchmarks import LOOPBACK_SINK_RCVBUF
from tuxnet.net.core.skbuff import (
    MAX_SKB_FRAGS,
    SkBuff,
    skb_clone,
    skb_ranges,
    skb_try_coalesce,
)
from tuxnet.net.core.sock import SO_RCVBUF, SOL_SOCKET, Sock
from tuxnet.net.socket import AF_INET, SOCK_STREAM
from tuxnet.user import libc

PORT = 7011
TCP_MAXSEG = 2


def test_acks_queued_while_the_owner_sends_are_merged():
    """Two 32 KB segments sent in one ``send`` over lo are acknowledged while the sender still
    holds its socket; the two ACKs wait in its backlog as one, with the later (smaller) window,
    so the largest window the sender saw stays 64 KB and its MSS half of that."""
    world, host = lo_host()
    out = {}

    def server():
        lfd = libc.socket(AF_INET, SOCK_STREAM, 0)
        libc.bind(lfd, ("127.0.0.1", PORT))
        libc.listen(lfd, 1)
        libc.accept(lfd)
        libc.sleep(10)

    def client():
        fd = libc.socket(AF_INET, SOCK_STREAM, 0)
        libc.connect(fd, ("127.0.0.1", PORT))
        libc.sleep(0.05)
        libc.send(fd, b"x")
        mss = [libc.getsockopt(fd, 6, TCP_MAXSEG)]
        before = host.mib.TcpExt["TCPBacklogCoalesce"]
        libc.send(fd, bytes(70000))
        out["merged"] = host.mib.TcpExt["TCPBacklogCoalesce"] - before
        mss.append(libc.getsockopt(fd, 6, TCP_MAXSEG))
        out["mss"] = mss
        sk = connection(host, PORT)
        out["max_window"] = sk.max_window
        libc.sleep(10)

    host.spawn(server)
    world.run_for(1_000_000)
    host.spawn(client)
    world.run_until(lambda: "mss" in out, timeout=SEC)
    assert out["merged"] == 1
    assert out["mss"] == [32768, 32768]
    assert out["max_window"] == 65536


def test_data_queued_while_the_reader_holds_its_socket_moves_into_one_buffer(monkeypatch):
    """Over lo with loopback_bulk's receive buffer, the reader's window update, sent while it
    holds its socket in ``recv``, lets the sender's next segments go from that same softirq; they
    wait in the reader's backlog, and each moves its payload into the buffer before it as page
    fragments (``skb_try_coalesce``), as Linux merges them, within MAX_SKB_FRAGS.  So the reader
    processes a few large buffers instead of many segments; their payload is still the sender's
    storage (nothing copied it), and every byte arrives in order."""
    world, host = lo_host(seed=3)
    data = random.Random(7).randbytes(16 << 20)
    merged = []  # per buffer from the reader's backlog: (payload, fragments, uncopied)
    backlog_rcv = Sock.backlog_rcv

    def watch(sk, skb: SkBuff) -> int:
        if sk.inet_num == PORT + 1 and skb.tail > skb.data:
            sender = next(other for other in host.tcp_hashinfo.ehash.values()
                          if getattr(other, "inet_dport", 0) == PORT + 1)
            queued = [*sender.tcp_rtx_queue, *sender.sk_write_queue]
            held = {id(q.buf) for q in queued} | {id(f[0]) for q in queued for f in q.frags or ()}
            runs = skb_ranges(skb, skb.data, skb.tail)
            merged.append((skb.tail - skb.data, skb.nr_frags, all(id(storage) in held for storage, _, _ in runs)))
        return backlog_rcv(sk, skb)

    monkeypatch.setattr(Sock, "backlog_rcv", watch)

    def server() -> bytes:
        lfd = libc.socket(AF_INET, SOCK_STREAM, 0)
        libc.setsockopt(lfd, SOL_SOCKET, SO_RCVBUF, LOOPBACK_SINK_RCVBUF)
        libc.bind(lfd, ("127.0.0.1", PORT + 1))
        libc.listen(lfd, 1)
        fd, _ = libc.accept(lfd)
        got = bytearray()
        while chunk := libc.recv(fd, 1 << 20):
            got += chunk
        return bytes(got)

    def client() -> None:
        fd = libc.socket(AF_INET, SOCK_STREAM, 0)
        libc.connect(fd, ("127.0.0.1", PORT + 1))
        libc.send(fd, data)
        libc.close(fd)

    srv = host.spawn(server)
    host.spawn(client)
    world.run_until(lambda: not srv.alive, timeout=SEC)
    assert hashlib.sha256(srv.result).digest() == hashlib.sha256(data).digest()
    assert host.mib.TcpExt["TCPBacklogCoalesce"] > 2 * len(merged) > 100
    # four segments of the MSS (65,483 bytes, each in two or three of the sender's 32 KB pages)
    assert max(n for n, _, _ in merged) >= 4 * 65483
    assert all(frags <= MAX_SKB_FRAGS for _, frags, _ in merged)
    assert all(uncopied for _, _, uncopied in merged)


def _segment(payload: bytes, headroom: int = 66, tailroom: int = 0) -> SkBuff:
    """A received segment: headers, then ``payload`` from ``data`` to ``tail``, then room."""
    skb = SkBuff(bytearray(headroom) + payload + bytearray(tailroom), headroom, headroom + len(payload))
    skb.transport_header = headroom - 32
    return skb


def test_skb_try_coalesce_takes_what_fits_without_a_copy_linux_would_not_make():
    to = _segment(b"a" * 100, tailroom=50)
    assert skb_try_coalesce(to, _segment(b"")) == 0  # a pure ACK merges for free
    assert skb_try_coalesce(to, _segment(b"b" * 50)) == 0  # into the tailroom, as Linux copies it
    assert bytes(to.buf[to.data:to.tail]) == b"a" * 100 + b"b" * 50
    assert to.buf[:66] == bytearray(66)  # the headers stay where they were
    # bytes beyond the room wait for skb_coalesce_frags, which moves them as page fragments
    assert skb_try_coalesce(to, _segment(b"c")) == -1
    assert skb_try_coalesce(skb_clone(_segment(b"a" * 100)), _segment(b"")) == -1  # shared bytes
