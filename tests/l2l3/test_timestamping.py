"""SO_TIMESTAMPING across cables, on the world's clock: a packet's SCHED time is when the queueing
layer took it and its SND time when the driver did, so a qdisc's delay shows between them; a TCP
send's ACK time is a round trip after; a GSO packet cut in software gives one SND time, the
segment's that holds the send's last byte; the error queue charges the socket's receive memory.
tests/tap/test_timestamping_vs_linux.py sets the socket calls beside this machine's kernel."""

from __future__ import annotations

import struct

from netlab import run

from tuxnet.kernel.timekeeping import EPOCH
from tuxnet.net.core.net_tstamp import (
    SCM_TSTAMP_ACK,
    SCM_TSTAMP_SCHED,
    SCM_TSTAMP_SND,
    SOF_TIMESTAMPING_OPT_ID,
    SOF_TIMESTAMPING_OPT_TSONLY,
    SOF_TIMESTAMPING_SOFTWARE,
    SOF_TIMESTAMPING_TX_ACK,
    SOF_TIMESTAMPING_TX_SCHED,
    SOF_TIMESTAMPING_TX_SOFTWARE,
)
from tuxnet.net.core.skbuff import SockExtendedErr
from tuxnet.net.core.sock import SO_TIMESTAMPING, SOL_SOCKET
from tuxnet.net.ipv4.ip_sockglue import IP_RECVERR, SOL_IP
from tuxnet.net.socket import AF_INET, MSG_DONTWAIT, MSG_ERRQUEUE, SOCK_DGRAM, SOCK_STREAM, Msghdr, sockfd_lookup_light
from tuxnet.user import libc
from tuxnet.user.ethtool import ethtool
from tuxnet.user.tc import tc
from tuxnet.world import NSEC_PER_SEC, World, msecs

EPOCH_NS = EPOCH * NSEC_PER_SEC
TSONLY = SOF_TIMESTAMPING_SOFTWARE | SOF_TIMESTAMPING_OPT_ID | SOF_TIMESTAMPING_OPT_TSONLY


def two_hosts(rate: str, delay: str) -> tuple[World, object, object]:
    world = World(seed=1)
    a, b = world.add_host("a"), world.add_host("b")
    world.connect(a, b, rate=rate, delay=delay, a_addr="10.0.0.1/24", b_addr="10.0.0.2/24")
    world.run_for(msecs(1))
    return world, a, b


def stamps(fd: int) -> list[tuple[int, int, int, int]]:
    """The error queue as (kind, key, time on the world's clock, bytes) per entry."""
    out = []
    while True:
        msg = Msghdr(msg_control=[])
        try:
            data = libc.recvmsg(fd, msg, 70000, MSG_ERRQUEUE | MSG_DONTWAIT)
        except BlockingIOError:
            return out
        control = {(level, kind): value for level, kind, value in msg.msg_control}
        sec, nsec = struct.unpack("6q", control[SOL_SOCKET, SO_TIMESTAMPING])[:2]
        ee = SockExtendedErr.unpack(control[SOL_IP, IP_RECVERR])
        out.append((ee.ee_info, ee.ee_data, sec * NSEC_PER_SEC + nsec - EPOCH_NS, len(data)))


def listen(host: object, port: int) -> None:
    def serve() -> None:
        lfd = libc.socket(AF_INET, SOCK_STREAM, 0)
        libc.bind(lfd, ("10.0.0.2", port))
        libc.listen(lfd, 1)
        fd, _ = libc.accept(lfd)
        while libc.recv(fd, 65536):
            pass

    host.spawn(serve)


def test_a_qdisc_delay_shows_between_sched_and_snd():
    """Behind a 1 Mb/s tbf, three 1,000-byte datagrams are all taken at once (SCHED); the first
    goes to the driver at once, the second when the bucket (1,600 bytes, less the first frame)
    has filled again, the third a 1,042-byte frame's time at 1 Mb/s (8.3 ms) later (SND).  Each
    SCHED and SND pair shares its key."""
    world, a, b = two_hosts("100mbit", "10us")
    tc(a, "qdisc add dev eth0 root tbf rate 1mbit burst 1600 limit 100000")

    def send() -> list:
        fd = libc.socket(AF_INET, SOCK_DGRAM, 0)
        libc.setsockopt(fd, SOL_SOCKET, SO_TIMESTAMPING,
                        TSONLY | SOF_TIMESTAMPING_TX_SCHED | SOF_TIMESTAMPING_TX_SOFTWARE)
        start = world.now
        for _ in range(3):
            libc.sendto(fd, b"d" * 1000, 0, ("10.0.0.2", 9))
        libc.sleep(0.1)
        return [(kind, key, at - start) for kind, key, at, _ in stamps(fd)]

    got = run(world, a, send)
    sched = [(key, at) for kind, key, at in got if kind == SCM_TSTAMP_SCHED]
    snd = [(key, at) for kind, key, at in got if kind == SCM_TSTAMP_SND]
    assert [key for key, _ in sched] == [key for key, _ in snd] == [0, 1, 2]
    assert all(at == sched[0][1] for _, at in sched)
    assert snd[0][1] - sched[0][1] < 20_000
    gaps = [snd[i + 1][1] - snd[i][1] for i in range(2)]
    assert 3_000_000 < gaps[0] < 5_000_000 and abs(gaps[1] - 8_336_000) < 10_000, gaps


def test_a_tcp_send_is_acknowledged_a_round_trip_after_it_left():
    """Over a 5 ms cable the ACK timestamp of a send comes 10 ms after its SND time (the peer
    acknowledges at once: quick ACKs at a connection's start); SND comes a few microseconds after
    SCHED, the handshake's last ACK being still on the line."""
    world, a, b = two_hosts("100mbit", "5ms")
    listen(b, 80)

    def send() -> list:
        fd = libc.socket(AF_INET, SOCK_STREAM, 0)
        libc.connect(fd, ("10.0.0.2", 80))
        libc.setsockopt(fd, SOL_SOCKET, SO_TIMESTAMPING,
                        TSONLY | SOF_TIMESTAMPING_TX_SCHED | SOF_TIMESTAMPING_TX_SOFTWARE | SOF_TIMESTAMPING_TX_ACK)
        libc.send(fd, b"x" * 1000)
        libc.sleep(0.1)
        return stamps(fd)

    (k1, key1, sched, _), (k2, key2, snd, _), (k3, key3, acked, _) = run(world, a, send)
    assert (k1, k2, k3) == (SCM_TSTAMP_SCHED, SCM_TSTAMP_SND, SCM_TSTAMP_ACK)
    assert key1 == key2 == key3 == 999
    assert sched < snd < sched + 20_000
    assert 10_000_000 < acked - snd < 10_300_000


def test_a_gso_packet_cut_in_software_is_stamped_once_on_its_last_bytes_segment():
    """10,000 bytes go in GSO packets, the last of two segments (1,448 and 1,312 bytes), which holds
    byte 9,999 and the SND request.  With ``tso off`` the stack cuts it, and only the segment
    holding that byte keeps the request (``tcp_gso_tstamp``): one SND entry, that segment's frame.
    With ``tx on tso on`` the driver takes the GSO packet whole, and the entry is all of it."""
    lengths = {}
    for tso in ("off", "on"):
        world, a, b = two_hosts("10gbit", "10us")
        ethtool(a, f"-K eth0 tx on tso {tso}")
        listen(b, 80)

        def send() -> list:
            fd = libc.socket(AF_INET, SOCK_STREAM, 0)
            libc.connect(fd, ("10.0.0.2", 80))
            libc.setsockopt(fd, SOL_SOCKET, SO_TIMESTAMPING, SOF_TIMESTAMPING_SOFTWARE | SOF_TIMESTAMPING_OPT_ID
                            | SOF_TIMESTAMPING_TX_SOFTWARE)
            libc.send(fd, b"y" * 10000)
            libc.sleep(0.01)
            return stamps(fd)

        [(kind, key, _, length)] = run(world, a, send)
        assert (kind, key) == (SCM_TSTAMP_SND, 9999)
        lengths[tso] = length
    assert lengths == {"off": 14 + 20 + 32 + 1312, "on": 14 + 20 + 32 + 1448 + 1312}


def test_the_error_queue_is_charged_to_the_receive_buffer():
    """A send timestamp with the packet's bytes charges the socket its truesize until it is read."""
    world, a, b = two_hosts("100mbit", "10us")

    def send() -> tuple[int, int, int]:
        fd = libc.socket(AF_INET, SOCK_DGRAM, 0)
        sk = sockfd_lookup_light(fd)[0].sk
        libc.setsockopt(fd, SOL_SOCKET, SO_TIMESTAMPING, SOF_TIMESTAMPING_SOFTWARE | SOF_TIMESTAMPING_TX_SOFTWARE)
        before = sk.sk_rmem_alloc
        libc.sendto(fd, b"z" * 100, 0, ("10.0.0.2", 9))
        libc.sleep(0.01)
        held = sk.sk_rmem_alloc
        [(_, _, _, length)] = stamps(fd)
        return before, held, sk.sk_rmem_alloc, length

    before, held, after, length = run(world, a, send)
    assert before == after == 0
    assert held > length == 14 + 20 + 8 + 100
