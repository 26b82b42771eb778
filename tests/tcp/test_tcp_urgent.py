"""TCP urgent data (RFC 9293 section 3.8.5, Linux's tcp_urg/tcp_recv_urg): ``send(MSG_OOB)`` sets
the urgent pointer one past the last byte written (BSD's reading, ``tcp_stdurg`` 0); the receiver
takes that byte out of the stream, ``recv(MSG_OOB)`` reads it once, a read stops at the mark
(``sockatmark``, SIOCATMARK), and poll says POLLPRI; with SO_OOBINLINE the byte stays in the
stream."""

from __future__ import annotations

import struct
from errno import EAGAIN, EINVAL

from rawpeer import MS, Peer, passive_open
from tuxnet.net.core.sock import SO_OOBINLINE, SOL_SOCKET
from tuxnet.net.socket import AF_INET, MSG_DONTWAIT, MSG_OOB, POLLIN, POLLPRI, SIOCATMARK, SOCK_STREAM
from tuxnet.user import libc

TCPHDR_URG = 0x20


def _exchange(lo_host, oobinline: bool) -> list[object]:
    """A client writes "abc", "!" out of band, "def"; the server reports what it reads."""
    world, host = lo_host
    seen: list[object] = []

    def server() -> None:
        lfd = libc.socket(AF_INET, SOCK_STREAM, 0)
        if oobinline:
            libc.setsockopt(lfd, SOL_SOCKET, SO_OOBINLINE, 1)
        libc.bind(lfd, ("127.0.0.1", 7000))
        libc.listen(lfd, 1)
        fd, _ = libc.accept(lfd)
        libc.sleep(0.5)  # everything has arrived
        seen.append(libc.poll([(fd, POLLIN | POLLPRI)], 0)[0])
        seen.append(libc.ioctl(fd, SIOCATMARK))
        seen.append(libc.recv(fd, 100))
        seen.append(libc.ioctl(fd, SIOCATMARK))
        for _ in range(2):
            try:
                seen.append(libc.recv(fd, 10, MSG_OOB))
            except OSError as e:
                seen.append(e.errno)
        seen.append(libc.recv(fd, 100))
        seen.append(libc.ioctl(fd, SIOCATMARK))

    def client() -> None:
        fd = libc.socket(AF_INET, SOCK_STREAM, 0)
        libc.connect(fd, ("127.0.0.1", 7000))
        libc.send(fd, b"abc")
        libc.send(fd, b"!", MSG_OOB)
        libc.send(fd, b"def")
        libc.sleep(1)
        libc.close(fd)

    procs = [host.spawn(server), host.spawn(client)]
    world.run_until(lambda: not any(p.alive for p in procs))
    return seen


def test_the_urgent_byte_is_read_out_of_band_once_and_a_read_stops_at_its_mark(lo_host):
    poll, mark0, first, mark1, oob, again, rest, mark2 = _exchange(lo_host, oobinline=False)
    assert poll == POLLIN | POLLPRI
    assert (mark0, first, mark1) == (0, b"abc", 1)  # the read stops at the mark
    assert (oob, again) == (b"!", EINVAL)  # read once; then there is none
    assert (rest, mark2) == (b"def", 0)  # the byte is not in the stream


def test_with_so_oobinline_the_urgent_byte_stays_in_the_stream(lo_host):
    poll, mark0, first, mark1, oob, again, rest, mark2 = _exchange(lo_host, oobinline=True)
    assert poll == POLLIN | POLLPRI
    assert (mark0, first, mark1) == (0, b"abc", 1)
    assert (oob, again) == (EINVAL, EINVAL)
    assert (rest, mark2) == (b"!def", 0)


def _segments_with_payload(peer: Peer) -> list[tuple[int, int, bytes]]:
    """(flags, urgent pointer, payload) of each data segment tuxnet sent."""
    out = []
    for pkt in peer.out:
        d = pkt.data
        ihl = (d[0] & 0xF) * 4
        doff = (d[ihl + 12] >> 4) * 4
        if len(d) > ihl + doff:
            out.append((d[ihl + 13], struct.unpack_from("!H", d, ihl + 18)[0], d[ihl + doff:]))
    return out


def test_the_segment_carries_urg_and_a_pointer_one_past_the_urgent_byte():
    peer = Peer()
    fd = passive_open(peer)
    peer.call(libc.send, fd, b"abc")
    peer.learn()
    peer.segment(0x10, peer.snd_nxt, peer.their_end, 65535, b"", b"")  # ACK it: nothing waits
    peer.call(libc.send, fd, b"xyz", MSG_OOB)
    segs = _segments_with_payload(peer)
    assert segs[0] == (0x18, 0, b"abc")  # [P.], no URG
    flags, urg_ptr, payload = segs[1]
    assert flags & TCPHDR_URG and payload == b"xyz" and urg_ptr == 3  # "z" is the urgent byte


def test_a_pointer_ahead_of_the_data_waits_for_its_byte():
    # The peer announces urgent data 10 bytes on, then sends the bytes that hold it.
    peer = Peer()
    fd = passive_open(peer)
    seq = peer.snd_nxt
    peer.segment(0x18 | TCPHDR_URG, seq, peer.their_end, 65535, b"", b"hello", urg_ptr=11)
    err = peer.call(libc.recv, fd, 1, MSG_OOB | MSG_DONTWAIT)
    assert isinstance(err, OSError) and err.errno == EAGAIN  # the pointer came, the byte not yet
    assert peer.call(libc.poll, [(fd, POLLPRI)], 0) == [0]
    peer.segment(0x18, seq + 5, peer.their_end, 65535, b"", b" worlD and more")
    assert peer.call(libc.poll, [(fd, POLLPRI)], 0) == [POLLPRI]
    assert peer.call(libc.recv, fd, 100) == b"hello worl"  # up to the mark
    assert peer.call(libc.recv, fd, 1, MSG_OOB) == b"D"
    assert peer.call(libc.recv, fd, 100) == b" and more"
    peer.world.run_for(MS)


def test_tcp_stdurg_reads_the_pointer_as_rfc_1122_does():
    # RFC 1122 section 4.2.2.4: the pointer points at the last urgent byte; Linux reads it so when
    # net.ipv4.tcp_stdurg is 1, and as BSD does (one past it) by default.
    got = {}
    for stdurg in (0, 1):
        peer = Peer()
        peer.host.sysctl.set("net.ipv4.tcp_stdurg", stdurg)
        fd = passive_open(peer)
        peer.segment(0x18 | TCPHDR_URG, peer.snd_nxt, peer.their_end, 65535, b"", b"abcde", urg_ptr=3)
        got[stdurg] = (peer.call(libc.recv, fd, 1, MSG_OOB), peer.call(libc.recv, fd, 100),
                       peer.call(libc.recv, fd, 100, MSG_DONTWAIT))
    assert got[0][:2] == (b"c", b"ab") and got[0][2] == b"de"
    assert got[1][:2] == (b"d", b"abc") and got[1][2] == b"e"
