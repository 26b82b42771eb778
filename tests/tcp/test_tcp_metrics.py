"""The TCP metrics cache (net/ipv4/tcp_metrics.c): what a connection leaves for the next one to
the same peer, and ``ip tcp_metrics`` showing it, as on Linux."""

from __future__ import annotations

import re

import pytest
from tcpnet import A_ADDR, B_ADDR, MS, SEC, connection, listen_socket, pair

from tuxnet.net.core.netfilter import NF_ACCEPT, NF_DROP, NF_INET_LOCAL_IN, nf_register_net_hook
from tuxnet.net.socket import AF_INET, SOCK_STREAM
from tuxnet.user import libc
from tuxnet.user.iproute import IpError, ip

LINE = re.compile(r"^10\.0\.0\.2 age \d+\.\d{3}sec cwnd \d+ rtt \d+us rttvar \d+us source 10\.0\.0\.1$")


def _transfer(world, a, b, size: int, port: int = 5001) -> None:
    """a sends ``size`` bytes to b and closes first (a ends in TIME_WAIT); b closes after."""
    def server() -> None:
        fd = listen_socket(B_ADDR, port)
        c, _ = libc.accept(fd)
        while libc.recv(c, 65536):
            pass
        libc.close(c)
        libc.close(fd)

    def client() -> None:
        fd = libc.socket(AF_INET, SOCK_STREAM, 0)
        libc.connect(fd, (B_ADDR, port))
        libc.send(fd, bytes(size))
        libc.close(fd)

    b.spawn(server)
    proc = a.spawn(client)
    world.run_until(lambda: not proc.alive)
    world.run_for(SEC)


def test_both_ends_save_rtt_and_cwnd_and_ip_shows_them():
    world, a, b, _ = pair(delay="5ms")
    _transfer(world, a, b, 200_000)
    line = ip(a, "tcp_metrics show").rstrip("\n")
    assert LINE.match(line), line
    tm = a.tcp_metrics[(0x0A000001, 0x0A000002)]
    assert 10_000 <= tm.rtt >> 3 <= 16_000  # 10 ms of propagation, and the queue the transfer built
    assert tm.cwnd > 10  # still in the initial slow start: the largest cwnd it reached
    # b, which closed from LAST_ACK, saved its side too
    assert ip(b, "tcp_metrics").startswith("10.0.0.1 age ") and " source 10.0.0.2\n" in ip(b, "tcp_metrics")
    assert ip(a, "tcp_metrics show 10.0.0.2") == ip(a, "tcp_metrics show")


def test_a_smaller_rtt_moves_the_saved_one_an_eighth_of_the_way():
    """Saved 80 ms, measured 10-16 ms: the saved RTT drops by an eighth of the difference (an
    overestimate is safer than an underestimate), the variance takes half the deviation."""
    world, a, b, _ = pair(delay="5ms")
    saved = 80_000 * 8
    a.tcp_metrics[(0x0A000001, 0x0A000002)] = _block(saved)
    _transfer(world, a, b, 20_000)
    tm = a.tcp_metrics[(0x0A000001, 0x0A000002)]
    assert saved - ((saved - 10_000 * 8) >> 3) <= tm.rtt <= saved - ((saved - 16_000 * 8) >> 3)
    assert (saved - 16_000 * 8) >> 1 <= tm.rttvar <= (saved - 10_000 * 8) >> 1
    world, a, b, _ = pair(delay="50ms")
    a.tcp_metrics[(0x0A000001, 0x0A000002)] = _block(saved)
    _transfer(world, a, b, 20_000)
    assert a.tcp_metrics[(0x0A000001, 0x0A000002)].rtt >> 3 >= 100_000  # a larger one replaces it


def test_the_next_connection_takes_its_first_rto_from_the_saved_rtt():
    """The handshake's sample (10 ms, and ARP's 10 ms before the SYN could leave) would give an
    RTO of about 220 ms; a saved RTT of 100 ms gives 100 + max(200, 200) = 300 ms
    (``tcp_init_metrics``)."""
    world, a, b, _ = pair(delay="5ms")
    a.tcp_metrics[(0x0A000001, 0x0A000002)] = saved = _block(100 * 1000 * 8)

    _open(a, b, 5003)
    world.run_for(100 * MS)
    sk = connection(a, 5003)
    assert sk.srtt_us >> 3 <= 21_000 and saved.rtt > sk.srtt_us
    assert sk.icsk_rto == 300 * MS


def _open(a, b, port: int) -> None:
    """a connects to b's ``port``; both hold the connection open for 10 s."""
    def server() -> None:
        fd = listen_socket(B_ADDR, port)
        libc.accept(fd)
        libc.sleep(10)

    def client() -> None:
        fd = libc.socket(AF_INET, SOCK_STREAM, 0)
        libc.connect(fd, (B_ADDR, port))
        libc.sleep(10)

    b.spawn(server)
    a.spawn(client)


def _block(rtt: int):
    from tuxnet.net.ipv4.tcp_metrics import TcpMetricsBlock

    tm = TcpMetricsBlock(0x0A000001, 0x0A000002, 0)
    tm.rtt = rtt
    return tm


def test_no_rtt_sample_from_the_handshake_gives_a_3_second_rto():
    """RFC 6298 5.7: the SYN was lost and retransmitted, so the handshake measured nothing (Karn's
    rule; without timestamps, whose echo would have measured it): the first data RTO is 3 s, not
    the 2 s the backoff left."""
    world, a, b, _ = pair(delay="5ms")
    a.sysctl.set("net.ipv4.tcp_timestamps", 0)
    dropped = []

    def drop_first_syn(_host, skb, _state) -> int:
        th = skb.transport_header
        if skb.buf[skb.network_header + 9] == 6 and skb.buf[th + 13] == 0x02 and not dropped:
            dropped.append(skb)
            return NF_DROP
        return NF_ACCEPT

    nf_register_net_hook(b, NF_INET_LOCAL_IN, drop_first_syn)

    _open(a, b, 5004)
    world.run_for(2 * SEC)
    sk = connection(a, 5004)
    assert dropped and sk.srtt_us == 0 and sk.icsk_rto == 3 * SEC


def test_no_metrics_save_and_flush_and_delete():
    world, a, b, _ = pair(delay="1ms")
    a.sysctl.set("net.ipv4.tcp_no_metrics_save", 1)
    _transfer(world, a, b, 10_000, 5005)
    assert ip(a, "tcp_metrics show") == ""
    assert ip(b, "tcp_metrics show") != ""  # b still saves
    ip(b, "tcp_metrics delete 10.0.0.1")
    assert ip(b, "tcp_metrics show") == ""
    with pytest.raises(IpError, match="RTNETLINK answers: No such process") as e:
        ip(b, "tcp_metrics delete 10.0.0.1")
    assert e.value.status == 2
    _transfer(world, a, b, 10_000, 5006)
    assert ip(b, "tcp_metrics show").startswith(f"{A_ADDR} age ")
    ip(b, "tcp_metrics flush all")
    assert ip(b, "tcp_metrics") == ""


_SINK = """
import socket
s = socket.socket(); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind(("10.0.0.2", 5001)); s.listen(); print("ready", flush=True)
c, _ = s.accept()
while c.recv(65536):
    pass
c.close()
"""
_SOURCE = """
import socket
s = socket.create_connection(("10.0.0.2", 5001)); s.sendall(bytes(200000)); s.close()
"""


@pytest.mark.root
def test_ip_tcp_metrics_prints_as_on_linux():
    """The same transfer between two namespaces of this machine: both ends' ``ip tcp_metrics``
    lines have the shape tuxnet's have (the numbers are real time's), and a second ``show`` of
    one address, a delete and a flush behave alike."""
    import os
    import subprocess

    from tuxnet.tapnet import netns_pair, netns_unavailable

    reason = netns_unavailable()
    if reason:
        pytest.skip(reason)
    try:
        a, b = netns_pair(f"tuxnet-tcpm-{os.getpid()}", "10.0.0.1/24", "10.0.0.2/24")
    except (OSError, subprocess.CalledProcessError) as e:
        pytest.skip(f"cannot build two namespaces here: {e}")
    try:
        sink = b.popen("python3", "-c", _SINK)
        assert sink.stdout is not None and sink.stdout.readline().strip() == "ready"
        a.run("python3", "-c", _SOURCE)
        sink.communicate(timeout=10)
        linux = [a.run("ip", "tcp_metrics", "show").stdout, b.run("ip", "tcp_metrics").stdout,
                 a.run("ip", "tcp_metrics", "show", "10.0.0.2").stdout]
        a.run("ip", "tcp_metrics", "delete", "10.0.0.2")
        b.run("ip", "tcp_metrics", "flush", "all")
        linux += [a.run("ip", "tcp_metrics").stdout, b.run("ip", "tcp_metrics").stdout]
    finally:
        a.close()
        b.close()
    world, ta, tb, _ = pair(delay="1ms")
    _transfer(world, ta, tb, 200_000)
    ours = [ip(ta, "tcp_metrics show"), ip(tb, "tcp_metrics"), ip(ta, "tcp_metrics show 10.0.0.2")]
    ip(ta, "tcp_metrics delete 10.0.0.2")
    ip(tb, "tcp_metrics flush all")
    ours += [ip(ta, "tcp_metrics"), ip(tb, "tcp_metrics")]

    def shape(text: str) -> str:
        return re.sub(r"\d+", "N", re.sub(r"10\.0\.0\.\d", "ADDR", text))

    assert [shape(t) for t in ours] == [shape(t) for t in linux]
    assert LINE.match(linux[0].rstrip("\n")) and LINE.match(ours[0].rstrip("\n"))
