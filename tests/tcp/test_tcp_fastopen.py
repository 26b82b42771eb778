"""TCP Fast Open (RFC 7413, net/ipv4/tcp_fastopen.c) between two tuxnet hosts, 10 ms apart: the
handshake's packets, the server's child before its handshake ends (SYN-ACK retransmission, a full
Fast Open queue, a reset), a lost SYN with data, and the settings' errors.  The kernel's own
behaviour is compared in tests/tap/test_fastopen_vs_linux.py."""

from __future__ import annotations

import struct

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from tcpnet import A_ADDR, B_ADDR, MS, SEC, TH_ACK, TH_SYN, inject, pair, sniff, tcp_segments

from tuxnet.kernel.sysctl import SysctlError
from tuxnet.net.core.checksum import csum_partial, csum_tcpudp_magic
from tuxnet.net.core.netfilter import NF_ACCEPT, NF_DROP, NF_INET_LOCAL_IN, nf_register_net_hook
from tuxnet.net.core.utils import in_aton
from tuxnet.net.ipv4.tcp_metrics import tcp_metrics_show
from tuxnet.net.socket import AF_INET, SOCK_STREAM
from tuxnet.user import libc

PORT = 80
IPPROTO_TCP = 6
TCP_FASTOPEN, TCP_FASTOPEN_CONNECT, TCP_FASTOPEN_KEY = 23, 30, 33
TCP_INFO = 11
MSG_FASTOPEN = 0x20000000
TCP_SYN_RECV, TCP_ESTABLISHED = 3, 1


def fastopen_pair(qlen: int = 8):
    """a (client) and b (server, ``tcp_fastopen`` 3), and a listener on b with TCP_FASTOPEN
    ``qlen``; each accepted connection is read and logged as (time, state, data), and kept open."""
    world, a, b, _ = pair()
    b.sysctl.set("net.ipv4.tcp_fastopen", "3")
    log: list[tuple[int, int, bytes]] = []

    def server() -> None:
        lfd = libc.socket(AF_INET, SOCK_STREAM, 0)
        libc.setsockopt(lfd, IPPROTO_TCP, TCP_FASTOPEN, qlen)
        libc.bind(lfd, (B_ADDR, PORT))
        libc.listen(lfd, 8)
        while True:
            fd, _ = libc.accept(lfd)
            state = libc.getsockopt(fd, IPPROTO_TCP, TCP_INFO)[0]
            try:
                data = libc.recv(fd, 1000)
            except OSError as e:
                data = e.strerror.encode()
            log.append((world.now, state, data))

    b.spawn(server)
    return world, a, b, log


def warm(world, a) -> None:
    """A first connection that fetches b's cookie."""
    def client() -> None:
        fd = libc.socket(AF_INET, SOCK_STREAM, 0)
        libc.sendto(fd, b"warm", MSG_FASTOPEN, (B_ADDR, PORT))
        libc.close(fd)

    a.spawn(client)
    world.run_for(SEC)


def send_fastopen(world, a, data: bytes, until: int = SEC) -> list:
    """A client connection that sends ``data`` with MSG_FASTOPEN and stays open; what sendto
    returned, and the descriptor."""
    out: list = []

    def client() -> None:
        fd = libc.socket(AF_INET, SOCK_STREAM, 0)
        out.append(libc.sendto(fd, data, MSG_FASTOPEN, (B_ADDR, PORT)))
        out.append(fd)
        libc.sleep(1000)  # (the connection stays open)

    a.spawn(client)
    world.run_for(until)
    return out


def drop_acks_from(host, src: str):
    """Drop pure ACKs from ``src`` arriving at ``host`` while the returned list holds True."""
    on = [True]

    def hook(_host, skb, _state) -> int:
        buf, nh, th = skb.buf, skb.network_header, skb.transport_header
        no_data = int.from_bytes(buf[nh + 2:nh + 4], "big") == (th - nh) + ((buf[th + 12] >> 4) << 2)
        pure_ack = buf[th + 13] & 0x3F == TH_ACK and no_data
        from_src = bytes(buf[nh + 12:nh + 16]) == bytes(map(int, src.split(".")))
        return NF_DROP if on[0] and pure_ack and from_src else NF_ACCEPT

    nf_register_net_hook(host, NF_INET_LOCAL_IN, hook)
    return on


def test_cookie_then_data_in_the_syn() -> None:
    world, a, b, log = fastopen_pair()
    cap = sniff(a, "eth0")
    warm(world, a)
    assert a.mib.TcpExt["TCPFastOpenActive"] == 0 and b.mib.TcpExt["TCPFastOpenCookieReqd"] == 1
    assert "fo_mss 1460 fo_cookie " in tcp_metrics_show(a)
    start = world.now
    assert send_fastopen(world, a, b"x" * 3000)[0] == 3000
    syn, synack = [s for s in tcp_segments(cap) if s.t >= start][:2]
    # 1460 less 40 octets kept for options: the rest follows the handshake
    assert syn.flags == TH_SYN and syn.length == 1420
    assert synack.flags == TH_SYN | TH_ACK and synack.ack == (syn.seq + 1 + 1420) & 0xFFFFFFFF
    # the child was accepted when the SYN arrived, 10 ms on, before the handshake's last ACK
    assert 10 * MS < log[-1][0] - start < 11 * MS and log[-1][1:] == (TCP_SYN_RECV, b"x" * 1000)
    assert a.mib.TcpExt["TCPFastOpenActive"] == 1 and b.mib.TcpExt["TCPFastOpenPassive"] == 1


def test_the_child_answers_before_the_last_ack_and_resends_its_syn_ack() -> None:
    """The client's ACKs are lost: the child, already accepted, has read the SYN's data; its
    retransmission timer sends the SYN-ACK again after 1 s, then 2 s; once an ACK passes the
    child is ESTABLISHED and leaves the listener's Fast Open queue."""
    world, a, b, log = fastopen_pair()
    warm(world, a)
    cap = sniff(b, "eth0")
    acks = drop_acks_from(b, A_ADDR)
    start = world.now
    send_fastopen(world, a, b"hello", until=4 * SEC)
    assert log[-1][1:] == (TCP_SYN_RECV, b"hello")
    synacks = [s.t - start for s in tcp_segments(cap, B_ADDR) if s.flags == TH_SYN | TH_ACK]
    assert synacks[0] == pytest.approx(10 * MS, abs=MS)
    assert [round((t - synacks[0]) / SEC) for t in synacks[1:]] == [1, 3]
    assert b.mib.TcpExt["TCPSynRetrans"] == 2
    listener = next(sk for socks in b.tcp_hashinfo.lhash.values() for sk in socks)
    assert listener.fastopenq_qlen == 1
    acks[0] = False
    world.run_for(5 * SEC)
    assert listener.fastopenq_qlen == 0


def test_a_full_fast_open_queue_falls_back_to_the_handshake() -> None:
    """With TCP_FASTOPEN 1 and one child waiting for its last ACK, the next Fast Open SYN is
    answered as a plain SYN: its data is not acknowledged, and the client sends it again."""
    world, a, b, log = fastopen_pair(qlen=1)
    warm(world, a)
    drop_acks_from(b, A_ADDR)
    send_fastopen(world, a, b"first")
    cap = sniff(a, "eth0")
    start = world.now
    send_fastopen(world, a, b"second")
    assert b.mib.TcpExt["TCPFastOpenListenOverflow"] == 1
    assert a.mib.TcpExt["TCPFastOpenActiveFail"] == 1
    syn = next(s for s in tcp_segments(cap, A_ADDR) if s.t >= start and s.flags == TH_SYN)
    sent = [s for s in tcp_segments(cap, A_ADDR) if (s.seq - syn.seq) & 0xFFFFFFFF < 100]
    assert syn.length == 6
    assert sent[1].length == 6 and not sent[1].flags & TH_SYN  # the data again, after the SYN-ACK
    assert log[-1][1:] == (TCP_ESTABLISHED, b"second")  # a child of the plain handshake


def test_a_reset_child_is_counted_for_a_minute() -> None:
    """An RST ends a Fast Open child before its handshake is over; its request stays in the
    listener's Fast Open queue for 60 s (reqsk_fastopen_remove)."""
    world, a, b, log = fastopen_pair()
    warm(world, a)
    drop_acks_from(b, A_ADDR)

    def client() -> None:
        fd = libc.socket(AF_INET, SOCK_STREAM, 0)
        libc.sendto(fd, b"bye", MSG_FASTOPEN, (B_ADDR, PORT))
        libc.sleep(0.5)
        libc.setsockopt(fd, 1, 13, (1, 0))  # SO_LINGER 0: close() resets
        libc.close(fd)

    a.spawn(client)
    world.run_for(SEC // 2)
    listener = next(sk for socks in b.tcp_hashinfo.lhash.values() for sk in socks)
    child = next(sk for sk in b.tcp_hashinfo.ehash.values() if getattr(sk, "fastopen_rsk", None) is not None)
    assert child.sk_state == TCP_SYN_RECV
    world.run_for(SEC)
    assert child.sk_state == 7 and listener.fastopenq_qlen == 1  # TCP_CLOSE
    world.run_for(60 * SEC)
    assert listener.fastopenq_qlen == 0


def test_a_lost_syn_with_data_goes_again_without_it() -> None:
    """The first Fast Open SYN is lost: the retransmitted SYN carries neither data nor option,
    the data follows the handshake, the loss is remembered (fo_syn_drops) and tcp_info says why
    (TFO_SYN_RETRANSMITTED)."""
    world, a, b, log = fastopen_pair()
    warm(world, a)
    dropped = []

    def drop_first_syn(_host, skb, _state) -> int:
        syn = skb.buf[skb.transport_header + 13] & TH_SYN
        if syn and not dropped:
            dropped.append(skb.tail - skb.data)
            return NF_DROP
        return NF_ACCEPT

    nf_register_net_hook(b, NF_INET_LOCAL_IN, drop_first_syn)
    cap = sniff(a, "eth0")
    start = world.now
    info = []

    def client() -> None:
        fd = libc.socket(AF_INET, SOCK_STREAM, 0)
        libc.sendto(fd, b"again", MSG_FASTOPEN, (B_ADDR, PORT))
        libc.sleep(0.1)
        info.append(libc.getsockopt(fd, IPPROTO_TCP, TCP_INFO))

    a.spawn(client)
    world.run_for(3 * SEC)
    syns = [s for s in tcp_segments(cap, A_ADDR) if s.t >= start and s.flags & TH_SYN]
    assert [s.length for s in syns] == [5, 0]
    assert log[-1][2] == b"again"
    assert "fo_syn_drops 1/" in tcp_metrics_show(a)
    assert (info[0][7] >> 1) & 3 == 3  # tcpi_fastopen_client_fail: TFO_SYN_RETRANSMITTED


def test_settings_refused_as_linux_refuses_them() -> None:
    world, a, b, _ = pair()
    with pytest.raises(SysctlError):
        b.sysctl.set("net.ipv4.tcp_fastopen_key", "not-a-key")
    b.sysctl.set("net.ipv4.tcp_fastopen_key", "1-2-3-4")
    b.sysctl.set("net.ipv4.tcp_fastopen", "0")
    out = []

    def program() -> None:
        fd = libc.socket(AF_INET, SOCK_STREAM, 0)
        for call in (lambda: libc.setsockopt(fd, IPPROTO_TCP, TCP_FASTOPEN_CONNECT, 1),
                     lambda: libc.setsockopt(fd, IPPROTO_TCP, TCP_FASTOPEN, -1),
                     lambda: libc.setsockopt(fd, IPPROTO_TCP, TCP_FASTOPEN_KEY, b"short"),
                     lambda: libc.sendto(fd, b"x", MSG_FASTOPEN, (A_ADDR, PORT))):
            try:
                out.append(call())
            except OSError as e:
                out.append(e.errno)
        out.append(libc.getsockopt(fd, IPPROTO_TCP, TCP_FASTOPEN_KEY))
        libc.setsockopt(fd, IPPROTO_TCP, TCP_FASTOPEN_KEY, bytes(range(16)))
        out.append(libc.getsockopt(fd, IPPROTO_TCP, TCP_FASTOPEN_KEY))

    b.spawn(program)
    world.run_for(SEC)
    # EOPNOTSUPP with the client off, EINVAL for a negative queue and a short key; the socket reads
    # no key, not even the one the sysctl set for the namespace (tcp_fastopen_get_cipher given a
    # socket reads only its own, as this machine's kernel answers), until it has one of its own
    assert out == [95, 22, 22, 95, b"", bytes(range(16))]


def syn_with_options(sport: int, seq: int, options: bytes, payload: bytes) -> bytes:
    """An IPv4 SYN from a to b's listener carrying ``options`` (padded with EOL to a multiple of
    four octets, at most 40) and ``payload``."""
    opts = options[:40] + bytes(-len(options[:40]) % 4)
    s, d = in_aton(A_ADDR), in_aton(B_ADDR)
    tcp = bytearray(struct.pack("!HHIIHHHH", sport, PORT, seq, 0, ((20 + len(opts)) << 10) | TH_SYN, 64240, 0, 0)
                    + opts + payload)
    tcp[16:18] = csum_tcpudp_magic(s, d, len(tcp), 6, csum_partial(bytes(tcp))).to_bytes(2, "big")
    return struct.pack("!BBHHHBBHII", 0x45, 0, 20 + len(tcp), 0, 0, 64, 6, 0, s, d) + bytes(tcp)


fast_open_option = st.one_of(
    # kind 34 with any length and contents, or the experimental kind 254 with or without the magic
    st.builds(lambda n, body: bytes([34, n]) + body, st.integers(0, 40), st.binary(max_size=38)),
    st.builds(lambda n, magic, body: bytes([254, n]) + magic + body, st.integers(0, 40),
              st.sampled_from([b"\xf9\x89", b"\x00\x00"]), st.binary(max_size=36)))


@settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(st.tuples(st.lists(st.one_of(fast_open_option, st.binary(max_size=6)), max_size=4),
                          st.binary(max_size=100)), min_size=1, max_size=6))
def test_odd_fast_open_options_never_raise_and_fast_open_still_works(syns) -> None:
    """SYNs with Fast Open options of every length and contents (the RFC's kind, the experimental
    one, cookies of odd and out-of-range lengths, options cut short) at a Fast Open listener:
    nothing raises out of the stack, and a client then still gets a cookie and sends its data in
    the SYN."""
    world, a, b, log = fastopen_pair(qlen=100)
    world.run_for(MS)
    for i, (options, payload) in enumerate(syns):
        a.spawn(inject, syn_with_options(20000 + i, 1000 * i, b"".join(options), payload), B_ADDR)
        world.run_for(MS)
    world.run_for(SEC)
    warm(world, a)
    send_fastopen(world, a, b"still")
    assert log[-1][2] == b"still" and a.mib.TcpExt["TCPFastOpenActive"] == 1
