"""When segments and ACKs leave: Nagle (RFC 896) holds a small segment while another is unacked,
TCP_NODELAY does not; TCP_CORK and MSG_MORE hold partial segments until uncorked; delayed ACKs wait
40 ms (TCP_ATO_MIN) after the quick-ACK start of a connection, TCP_QUICKACK sends at once;
slow start after idle (RFC 5681 section 4.1, tcp_slow_start_after_idle) restarts from IW10."""

from __future__ import annotations

import pytest
from tcpnet import (
    A_ADDR,
    B_ADDR,
    IPPROTO_TCP,
    MS,
    MSG_MORE,
    SEC,
    TCP_CORK,
    TCP_NODELAY,
    TCP_QUICKACK,
    connection,
    listen_socket,
    pair,
    sniff,
    tcp_segments,
)

from tuxnet.net.socket import AF_INET, SOCK_STREAM
from tuxnet.user import libc

PORT = 7003


def exchange(client_body, server_body=None, until: float = 10):
    """a connects to b; ``client_body(fd, world)`` runs on a, ``server_body(fd, world)`` (default:
    read to EOF) on b.  Returns (world, a, b, a's data segments, b's segments)."""
    world, a, b, _ = pair()
    cap_a = sniff(a, "eth0")

    def server():
        lfd = listen_socket(B_ADDR, PORT)
        fd, _ = libc.accept(lfd)
        if server_body:
            server_body(fd, world)
        else:
            while libc.recv(fd, 1 << 16):
                pass

    def client():
        fd = libc.socket(AF_INET, SOCK_STREAM, 0)
        libc.connect(fd, (B_ADDR, PORT))
        client_body(fd, world)

    sproc = b.spawn(server)
    cproc = a.spawn(client)
    world.run_until(lambda: not cproc.alive and not sproc.alive, timeout=int(until * SEC))
    segs = tcp_segments(cap_a)
    return world, a, b, [s for s in segs if s.src == A_ADDR and s.length > 0], [s for s in segs if s.src == B_ADDR]


@pytest.mark.parametrize("nodelay", [False, True])
def test_nagle_holds_small_segment_until_ack(nodelay):
    def client(fd, world):
        if nodelay:
            libc.setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, 1)
        libc.send(fd, b"a" * 100)
        libc.send(fd, b"b" * 100)
        libc.send(fd, b"c" * 100)
        libc.sleep(0.2)
        libc.close(fd)

    world, a, b, data, _ = exchange(client)
    if nodelay:
        assert [s.length for s in data] == [100, 100, 100]
        assert data[2].t - data[0].t < MS          # back to back, one serialisation time apart
    else:
        # the first goes at once; the rest wait for its ACK (one RTT, 20 ms) and go together
        assert [s.length for s in data] == [100, 200]
        assert 20 * MS <= data[1].t - data[0].t < 25 * MS


def test_cork_holds_partial_segments_until_uncorked():
    def client(fd, world):
        libc.setsockopt(fd, IPPROTO_TCP, TCP_CORK, 1)
        for _ in range(3):
            libc.send(fd, b"x" * 100)
        libc.sleep(0.1)
        libc.setsockopt(fd, IPPROTO_TCP, TCP_CORK, 0)
        libc.sleep(0.1)
        libc.close(fd)

    world, a, b, data, _ = exchange(client)
    assert [s.length for s in data] == [300]


def test_cork_sends_full_segments_at_once():
    def client(fd, world):
        libc.setsockopt(fd, IPPROTO_TCP, TCP_CORK, 1)
        libc.send(fd, b"x" * 3000)
        libc.sleep(0.1)
        libc.setsockopt(fd, IPPROTO_TCP, TCP_CORK, 0)
        libc.sleep(0.1)
        libc.close(fd)

    world, a, b, data, _ = exchange(client)
    mss = data[0].length
    assert mss == 1448 and [s.length for s in data] == [1448, 1448, 104]
    assert data[1].t - data[0].t < MS and data[2].t - data[0].t >= 99 * MS


def test_msg_more_coalesces_until_a_send_without_it():
    def client(fd, world):
        libc.setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, 1)
        libc.send(fd, b"1" * 100, MSG_MORE)
        libc.sleep(0.05)
        libc.send(fd, b"2" * 100, MSG_MORE)
        libc.sleep(0.05)
        libc.send(fd, b"3" * 100)
        libc.sleep(0.1)
        libc.close(fd)

    world, a, b, data, _ = exchange(client)
    assert [s.length for s in data] == [300]


def _ack_delays(read: bool, quickack: int | None = None) -> list[float]:
    """a sends 30 small messages 100 ms apart; how long b took to ACK each (ms).  b reads them
    as they come when ``read``, else leaves them queued; ``quickack`` sets TCP_QUICKACK first."""
    def client(fd, world):
        libc.setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, 1)
        for _ in range(30):
            libc.send(fd, b"m" * 100)
            libc.sleep(0.1)
        libc.close(fd)

    def server(fd, world):
        if quickack is not None:
            libc.setsockopt(fd, IPPROTO_TCP, TCP_QUICKACK, quickack)
        if not read:
            libc.sleep(5)
        while libc.recv(fd, 1000):
            pass

    world, a, b, data, from_b = exchange(client, server)
    delays = []
    for s in data:
        end = (s.seq + s.length) & 0xFFFFFFFF
        ack = next(r for r in from_b if r.t >= s.t and r.ack == end)
        delays.append((ack.t - s.t - 20 * MS) / MS)   # minus the round trip (seen from a's wire)
    return delays


def test_delayed_ack_40ms_after_quickack_start():
    """Data left unread: the connection starts in quick-ACK mode (tcp_incr_quickack), then
    every ACK waits TCP_ATO_MIN, 40 ms, for something to ride on."""
    delays = _ack_delays(read=False)
    assert delays[0] == pytest.approx(0, abs=0.05)
    assert all(d == pytest.approx(40, abs=0.5) for d in delays[-10:]), delays


def test_reader_draining_pushed_data_acks_at_once():
    """A reader that empties the queue of a pushed small segment ACKs it then (tcp_cleanup_rbuf)."""
    delays = _ack_delays(read=True)
    assert all(d == pytest.approx(0, abs=0.05) for d in delays), delays


def test_tcp_quickack_0_delays_until_a_delayed_ack_is_missed():
    """TCP_QUICKACK = 0 (pingpong mode): even a draining reader's ACK waits 40 ms; when the
    delayed-ACK timer fires with no reply to ride on, pingpong mode ends (tcp_delack_timer_handler)
    and the reader's ACKs are immediate again."""
    delays = _ack_delays(read=True, quickack=0)
    assert delays[0] == pytest.approx(40, abs=0.5)
    assert all(d == pytest.approx(0, abs=0.05) for d in delays[1:]), delays


@pytest.mark.parametrize("ssai", [1, 0])
def test_slow_start_after_idle(ssai):
    """cwnd halves per RTO of idleness, down to IW10 (tcp_cwnd_restart): after 3 s (more than
    ten RTOs) the next burst is ten segments, unless tcp_slow_start_after_idle is 0."""
    seen: dict = {}

    def client(fd, world):
        libc.send(fd, bytes(2_000_000))
        while connection(seen["a"], PORT).snd_una != connection(seen["a"], PORT).write_seq:
            libc.sleep(0.01)
        sk = connection(seen["a"], PORT)
        seen["before"] = sk.snd_cwnd
        libc.sleep(3.0)
        libc.send(fd, bytes(200_000))
        seen["after"] = sk.snd_cwnd
        seen["burst"] = sk.packets_out
        libc.close(fd)

    world, a, b, _ = pair()
    a.sysctl.set("net.ipv4.tcp_slow_start_after_idle", str(ssai))
    seen["a"] = a

    def server():
        lfd = listen_socket(B_ADDR, PORT)
        fd, _ = libc.accept(lfd)
        while libc.recv(fd, 1 << 16):
            pass

    def client_proc():
        fd = libc.socket(AF_INET, SOCK_STREAM, 0)
        libc.connect(fd, (B_ADDR, PORT))
        client(fd, world)

    b.spawn(server)
    proc = a.spawn(client_proc)
    world.run_until(lambda: not proc.alive, timeout=30 * SEC)
    assert seen["before"] > 40
    if ssai:
        assert seen["after"] == 10 and seen["burst"] == 10
    else:
        assert seen["after"] == seen["before"] and seen["burst"] > 10

