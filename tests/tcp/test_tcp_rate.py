"""Delivery rate estimation (net/ipv4/tcp_rate.c): what TCP_INFO's ``tcpi_delivery_rate`` and
``ss -i``'s ``delivery_rate``/``app_limited`` report, checked against what the wire allows."""

from __future__ import annotations

from tcpnet import B_ADDR, IPPROTO_TCP, MS, connection, listen_socket, lo_host, pair

from tuxnet.benchmarks import tcp_sink
from tuxnet.net.ipv4.tcp import TCP_INFO
from tuxnet.net.ipv4.tcp_info import TcpInfo, tcp_get_info
from tuxnet.net.socket import AF_INET, SOCK_STREAM
from tuxnet.user import libc
from tuxnet.user.ss import format_ss
from tuxnet.user.ssfilter import SS_CONN

MSS = 1448
WIRE = MSS + 52 + 14 + 4 + 20  # payload + TCP/IP headers with timestamps, Ethernet, FCS, preamble/IFG


def _info(fd: int) -> TcpInfo:
    return TcpInfo.unpack(libc.getsockopt(fd, IPPROTO_TCP, TCP_INFO))


def test_bulk_transfer_measures_the_bottleneck_and_is_not_app_limited():
    """A sender with more to send than the path takes: once past slow start, the samples reach
    the link's payload rate (100 Mb/s times the share of each frame that is payload) and never
    pass it, and none is application-limited.  Samples also come out lower: TCP Small Queues lets
    the sender put only so much in its own qdisc, so the sending of a sample's packets can take
    longer than their ACKs did (the kernel's samples vary so too: 6.9-9.6 Mb/s behind a 9.56 Mb/s
    shaper, tests/tcp/test_tcp_tsq.py, down to 0.72 of the rate; here down to 0.70, one sample of
    30, once the receiver's window stopped growing past what the path needs, as with Linux 6.16's
    autotuning, and the sender's cwnd went on growing)."""
    world, a, b, _ = pair(delay="5ms")

    def source() -> None:
        fd = libc.socket(AF_INET, SOCK_STREAM, 0)
        libc.connect(fd, (B_ADDR, 5001))
        for _ in range(100):
            libc.send(fd, bytes(1 << 16))
        libc.close(fd)

    b.spawn(tcp_sink, B_ADDR, 5001, [])
    a.spawn(source)
    payload_rate = 100e6 * MSS / WIRE / 8  # bytes/s
    world.run_for(100 * MS)
    rates = []
    for _ in range(30):
        world.run_for(10 * MS)
        info = tcp_get_info(connection(a, 5001))
        rates.append(info.tcpi_delivery_rate)
        assert info.tcpi_delivery_rate_app_limited == 0
    assert abs(max(rates) - payload_rate) / payload_rate < 0.005, rates
    assert min(rates) > 0.65 * payload_rate, rates


def test_request_response_is_app_limited_at_one_segment_a_round_trip():
    """One small request a round trip: the sample is one segment over the round trip (20 ms of
    propagation and the frames' serialisation), and it is application-limited; ``ss -i`` says
    both, as Linux prints them."""
    world, a, b, _ = pair(delay="10ms", rate="1gbit")
    out: list[tuple[TcpInfo, TcpInfo, str]] = []

    def server() -> None:
        fd = listen_socket(B_ADDR, 5001)
        c, _ = libc.accept(fd)
        while libc.recv(c, 100):
            libc.send(c, b"hi")

    def client() -> None:
        fd = libc.socket(AF_INET, SOCK_STREAM, 0)
        libc.connect(fd, (B_ADDR, 5001))
        first = None
        for _ in range(5):
            libc.send(fd, b"hello")
            libc.recv(fd, 10)
            first = first or _info(fd)
        out.append((first, _info(fd), format_ss(a, info=True, states=SS_CONN)))
        libc.close(fd)

    b.spawn(server)
    a.spawn(client)
    world.run_for(1000 * MS)
    first, last, table = out[0]
    for info in (first, last):
        assert info.tcpi_delivery_rate_app_limited == 1
        interval_us = MSS * 1_000_000 // info.tcpi_delivery_rate
        assert 20_000 <= interval_us <= 20_100, interval_us
    assert " delivery_rate " in table and " app_limited " in table
    assert table.index(" delivery_rate ") < table.index(" delivered:") < table.index(" app_limited ")


def test_the_handshake_gives_no_sample():
    """The SYN leaves with nothing delivered yet, so the SYN-ACK that delivers it gives no sample
    (Linux's ``delivered_mstamp`` of 0); ``delivered`` counts it all the same.  The connection
    reads as app-limited, as a new socket does (``tcp_init_sock``), on this machine's kernel too."""
    world, a, b, _ = pair()
    infos: list[TcpInfo] = []

    def server() -> None:
        fd = listen_socket(B_ADDR, 5001)
        libc.accept(fd)
        libc.sleep(1)

    def client() -> None:
        fd = libc.socket(AF_INET, SOCK_STREAM, 0)
        libc.connect(fd, (B_ADDR, 5001))
        infos.append(_info(fd))

    b.spawn(server)
    a.spawn(client)
    world.run_for(100 * MS)
    assert infos[0].tcpi_delivered == 1
    assert infos[0].tcpi_delivery_rate == 0 and infos[0].tcpi_delivery_rate_app_limited == 1


def test_lo_takes_no_sample_in_virtual_time():
    """On ``lo`` a round trip takes no virtual time, less than ``tcp_min_rtt``'s one-jiffy floor
    for a zero sample, and ``tcp_rate_gen`` drops intervals shorter than that: no rate."""
    world, h = lo_host()
    infos: list[TcpInfo] = []

    def server() -> None:
        fd = listen_socket("127.0.0.1", 5001)
        c, _ = libc.accept(fd)
        libc.recv(c, 100)
        libc.send(c, b"hi")
        libc.sleep(1)

    def client() -> None:
        fd = libc.socket(AF_INET, SOCK_STREAM, 0)
        libc.connect(fd, ("127.0.0.1", 5001))
        libc.send(fd, b"hello")
        libc.recv(fd, 10)
        infos.append(_info(fd))

    h.spawn(server)
    h.spawn(client)
    world.run_for(100 * MS)
    assert infos[0].tcpi_delivered == 2 and infos[0].tcpi_delivery_rate == 0


def test_a_lower_app_limited_sample_does_not_replace_a_full_one():
    """After a bulk transfer the application sends a little now and then: those samples are
    application-limited and lower, so the path's rate measured in bulk stays (``tcp_rate_gen``)."""
    world, a, b, _ = pair(delay="5ms")

    def source() -> None:
        fd = libc.socket(AF_INET, SOCK_STREAM, 0)
        libc.connect(fd, (B_ADDR, 5001))
        for _ in range(20):
            libc.send(fd, bytes(1 << 16))
        libc.sleep(0.5)
        for _ in range(10):
            libc.send(fd, bytes(100))
            libc.sleep(0.05)
        libc.sleep(10)

    b.spawn(tcp_sink, B_ADDR, 5001, [])
    a.spawn(source)
    world.run_for(500 * MS)
    sk = connection(a, 5001)
    bulk = tcp_get_info(sk).tcpi_delivery_rate
    assert bulk > 0.8 * 100e6 * MSS / WIRE / 8
    world.run_for(600 * MS)
    info = tcp_get_info(sk)
    assert info.tcpi_delivery_rate == bulk and info.tcpi_delivery_rate_app_limited == 0
    assert info.tcpi_delivered == 1 + -(-20 * (1 << 16) // MSS) + 10  # the SYN, the bulk, the small ones
