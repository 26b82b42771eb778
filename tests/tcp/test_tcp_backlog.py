"""The socket backlog (``tcp_add_backlog``, Linux 4.19+): a segment for a socket its owner holds
waits there, merged into the one before it when it continues it; ``skb_try_coalesce`` does the
merging.  (tests/tap/test_autotune_vs_linux.py plays the same ACKs against the kernel.)"""

from __future__ import annotations

from tcpnet import SEC, connection, lo_host

from tuxnet.net.core.skbuff import (
    SkBuff,
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
    # Linux would move these bytes as page fragments; here they would be copied: not merged
    assert skb_try_coalesce(to, _segment(b"c")) == -1
    assert skb_try_coalesce(skb_clone(_segment(b"a" * 100)), _segment(b"")) == -1  # shared bytes
