"""SYN cookies (net/ipv4/syncookies.c): a flood of spoofed SYNs fills a listener's SYN queue;
the listener answers with cookies, keeps no state for them, and real clients still connect."""

from __future__ import annotations

import random
import struct
from types import SimpleNamespace

from tuxnet.net.core.checksum import csum_partial, csum_tcpudp_magic
from tuxnet.net.core.utils import in_aton
from tuxnet.net.ipv4.af_inet import IPPROTO_RAW
from tuxnet.net.ipv4.syncookies import MSSTAB, check_tcp_syn_cookie, secure_tcp_syn_cookie
from tuxnet.net.socket import AF_INET, SOCK_RAW, SOCK_STREAM
from tuxnet.user import libc
from tuxnet.world import World

PORT = 80
BACKLOG = 128
FLOOD = 10_000


def spoofed_syn(saddr: str, daddr: str, sport: int, dport: int, seq: int) -> bytes:
    """An IPv4 datagram holding a SYN with MSS 1460, as a flooding tool builds it."""
    s, d = in_aton(saddr), in_aton(daddr)
    opts = struct.pack("!BBH", 2, 4, 1460)
    tcp = bytearray(struct.pack("!HHIIHHHH", sport, dport, seq, 0, ((20 + len(opts)) << 10) | 0x02, 64240, 0, 0)
                    + opts)
    tcp[16:18] = csum_tcpudp_magic(s, d, len(tcp), 6, csum_partial(bytes(tcp))).to_bytes(2, "big")
    ip = struct.pack("!BBHHHBBHII", 0x45, 0, 20 + len(tcp), 0, 0, 64, 6, 0, s, d)
    return ip + bytes(tcp)


def build():
    """attacker a --- server b --- client c; b routes the spoofed 10.1.0.0/16 towards a."""
    world = World(seed=7)
    a, b, c = world.add_host("a"), world.add_host("b"), world.add_host("c")
    world.connect(a, b, rate="1gbit", delay="1ms", a_addr="10.0.0.1/24", b_addr="10.0.0.2/24")
    world.connect(c, b, rate="100mbit", delay="5ms", a_addr="10.0.1.1/24", b_addr="10.0.1.2/24")
    b.ip_route_add("10.1.0.0/16", via="10.0.0.1")
    c.ip_route_add("10.0.0.0/24", via="10.0.1.2")
    return world, a, b, c


def test_cookie_round_trip_and_forgery():
    world, _, b, _ = build()
    lsk = SimpleNamespace(host=b)             # the cookie functions only need the listener's host
    args = (in_aton("10.0.1.1"), in_aton("10.0.1.2"), 40000, PORT)
    cookie = secure_tcp_syn_cookie(lsk, *args, 1000, 2)
    assert check_tcp_syn_cookie(lsk, cookie, *args, 1000) == 2
    assert check_tcp_syn_cookie(lsk, cookie, *args, 1000 + 5000) not in range(len(MSSTAB))
    assert check_tcp_syn_cookie(lsk, cookie, in_aton("10.0.1.9"), *args[1:], 1000) not in range(len(MSSTAB))
    assert check_tcp_syn_cookie(lsk, cookie ^ 0x10000, *args, 1000) not in range(len(MSSTAB))
    world.run_for(61_000_000_000)            # the next minute: still good
    assert check_tcp_syn_cookie(lsk, cookie, *args, 1000) == 2
    world.run_for(60_000_000_000)            # two minutes on: stale
    assert check_tcp_syn_cookie(lsk, cookie, *args, 1000) not in range(len(MSSTAB))


def test_spoofed_syn_flood_legitimate_clients_connect():
    world, a, b, c = build()
    results: dict[str, list] = {"accepted": [], "connected": [], "peak_syn_queue": [0], "peak_ehash": [0]}

    def server():
        lfd = libc.socket(AF_INET, SOCK_STREAM, 0)
        libc.bind(lfd, ("0.0.0.0", PORT))
        libc.listen(lfd, BACKLOG)
        while True:
            fd, peer = libc.accept(lfd)
            data = libc.recv(fd, 100)
            libc.send(fd, data.upper())
            results["accepted"].append(peer)
            libc.close(fd)

    def flood():
        rng = random.Random(3)
        fd = libc.socket(AF_INET, SOCK_RAW, IPPROTO_RAW)
        for i in range(FLOOD):
            src = f"10.1.{rng.randrange(256)}.{rng.randrange(1, 255)}"
            pkt = spoofed_syn(src, "10.0.0.2", rng.randrange(1024, 65536), PORT, rng.getrandbits(32))
            libc.sendto(fd, pkt, 0, ("10.0.0.2", 0))
            if i % 10 == 9:
                libc.sleep(0.001)        # 10,000 SYNs a second for one second

    def clients():
        libc.sleep(0.2)                  # the SYN queue is full by now
        for i in range(5):
            fd = libc.socket(AF_INET, SOCK_STREAM, 0)
            libc.connect(fd, ("10.0.0.2", PORT))
            libc.send(fd, b"hello %d" % i)
            results["connected"].append(libc.recv(fd, 100))
            libc.close(fd)
            libc.sleep(0.1)

    def watch():
        lsk = b.tcp_hashinfo.lhash[PORT][0]
        results["peak_syn_queue"][0] = max(results["peak_syn_queue"][0], lsk.syn_queue_len)
        results["peak_ehash"][0] = max(results["peak_ehash"][0], len(b.tcp_hashinfo.ehash))
        world.call_later(5_000_000, watch)

    b.spawn(server)
    world.run_for(1_000_000)
    aproc = a.spawn(flood)
    cproc = c.spawn(clients)
    watch()
    world.run_until(lambda: not cproc.alive and not aproc.alive, timeout=10_000_000_000)
    assert not cproc.alive and not aproc.alive
    assert results["connected"] == [b"HELLO %d" % i for i in range(5)]
    mib = b.mib.TcpExt
    # The queue filled: the rest of the flood got cookies, and the clients' ACKs carried them back.
    assert mib["TCPReqQFullDoCookies"] >= FLOOD - BACKLOG - 10
    assert mib["SyncookiesSent"] == mib["TCPReqQFullDoCookies"]
    assert mib["SyncookiesRecv"] >= 1 and mib["SyncookiesFailed"] == 0
    # Memory stays bounded: never more half-open requests than the backlog.
    assert results["peak_syn_queue"][0] <= BACKLOG
    assert results["peak_ehash"][0] <= BACKLOG + 10
    assert len(results["accepted"]) == 5


def test_forged_ack_at_listener_is_refused():
    """An ACK whose cookie does not check out makes no socket (SyncookiesFailed) and draws a RST."""
    world, a, b, c = build()
    b.sysctl.set("net.ipv4.tcp_syncookies", "2")     # cookies always, so the listener checks ACKs
    opts: list[tuple] = []
    rcv_wscale: list[int] = []

    def server():
        lfd = libc.socket(AF_INET, SOCK_STREAM, 0)
        libc.bind(lfd, ("0.0.0.0", PORT))
        libc.listen(lfd, BACKLOG)
        while True:
            fd, _ = libc.accept(lfd)
            sk = next(x for x in b.tcp_hashinfo.ehash.values() if getattr(x, "inet_dport", 0) and x.inet_num == PORT)
            opts.append((sk.rx_opt.tstamp_ok, sk.rx_opt.sack_ok, sk.rx_opt.wscale_ok, sk.rx_opt.snd_wscale,
                         sk.rx_opt.mss_clamp))
            libc.close(fd)

    def client():
        fd = libc.socket(AF_INET, SOCK_STREAM, 0)
        libc.connect(fd, ("10.0.0.2", PORT))       # a real cookie handshake first
        rcv_wscale.append(next(x for x in c.tcp_hashinfo.ehash.values()
                               if getattr(x, "inet_dport", 0) == PORT).rx_opt.rcv_wscale)
        libc.close(fd)
        raw = libc.socket(AF_INET, SOCK_RAW, IPPROTO_RAW)
        s, d = in_aton("10.0.1.1"), in_aton("10.0.0.2")
        tcp = bytearray(struct.pack("!HHIIHHHH", 40001, PORT, 5000, 123456, (20 << 10) | 0x10, 1000, 0, 0))
        tcp[16:18] = csum_tcpudp_magic(s, d, 20, 6, csum_partial(bytes(tcp))).to_bytes(2, "big")
        libc.sendto(raw, struct.pack("!BBHHHBBHII", 0x45, 0, 40, 0, 0, 64, 6, 0, s, d) + bytes(tcp), 0,
                    ("10.0.0.2", 0))
        libc.sleep(0.1)

    b.spawn(server)
    world.run_for(1_000_000)
    proc = c.spawn(client)
    world.run_until(lambda: not proc.alive, timeout=5_000_000_000)
    mib = b.mib.TcpExt
    assert mib["SyncookiesSent"] == 1 and mib["SyncookiesRecv"] == 1
    assert mib["SyncookiesFailed"] == 1
    assert b.mib.Tcp["OutRsts"] >= 1
    # The SYN's options came back in the TSecr the ACK echoed (cookie_timestamp_decode), and the
    # MSS from the cookie's table index: 1460 from c's SYN.
    assert opts == [(True, True, True, rcv_wscale[0], 1460)]
