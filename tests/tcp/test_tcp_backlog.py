"""The socket backlog (``tcp_add_backlog``, Linux 4.19+): a segment for a socket its owner holds
waits there, merged into the one before it when it continues it; ``skb_try_coalesce`` does the
merging.  (tests/tap/test_autotune_vs_linux.py plays the same ACKs against the kernel.)"""

from __future__ import annotations

from tcpnet import SEC, connection, lo_host

from tuxnet.net.core.skbuff import (
    MAX_SKB_FRAGS,
    SKB_STRUCT_SIZE,
    SkBuff,
    skb_charged_truesize,
    skb_clone,
    skb_try_coalesce,
)
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


def _segment(payload: bytes, headroom: int = 66) -> SkBuff:
    """A received segment: headers, then ``payload`` from ``data`` to ``tail``."""
    skb = SkBuff(bytearray(headroom) + payload, headroom)
    skb.transport_header = headroom - 32
    return skb


def test_skb_try_coalesce_appends_and_charges():
    to, frm = _segment(b"a" * 1000), _segment(b"b" * 500)
    charged = skb_charged_truesize(to)
    delta = skb_try_coalesce(to, frm)
    assert delta == skb_charged_truesize(frm) - SKB_STRUCT_SIZE  # all of frm's but its sk_buff
    assert bytes(to.buf[to.data:to.tail]) == b"a" * 1000 + b"b" * 500
    assert to.buf[:66] == bytearray(66)  # the headers stay where they were
    assert skb_charged_truesize(to) == charged + delta


def test_skb_try_coalesce_refuses_shared_bytes_and_too_many_fragments():
    assert skb_try_coalesce(skb_clone(_segment(b"a" * 100)), _segment(b"b")) == -1  # shared bytes
    to = _segment(b"a" * 100)
    assert skb_try_coalesce(to, _segment(b"")) == 0  # nothing to add: a pure ACK merges for free
    assert to.tail - to.data == 100
    gro = _segment(b"c" * 1448 * MAX_SKB_FRAGS)
    gro.gso_size = 1448  # 17 segments: 16 fragments behind the head, room for one more
    assert skb_try_coalesce(gro, _segment(b"d" * 1448)) > 0
    assert skb_try_coalesce(gro, _segment(b"d" * 1448)) == -1  # 17 fragments: full
    assert skb_try_coalesce(_segment(b"e" * 1448), _segment(b"f" * 1448)) > 0
