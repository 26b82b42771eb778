"""Segment sizes and sequence numbers: 64 KB segments on loopback (MTU 65536), MSS from the
route's MTU on a cable, and ISNs per RFC 6528 (a keyed hash of the 4-tuple plus a 4 us clock)."""

from __future__ import annotations

from tcpnet import B_ADDR, SEC, listen_socket, lo_host, pair, sniff, tcp_segments

from tuxnet.net.socket import AF_INET, SOCK_STREAM
from tuxnet.user import libc

PORT = 7005


def bulk_segments(world, a, b, dev: str, addr: str, size: int = 1_000_000, rcvbuf: int = 0):
    cap = sniff(a, dev)
    done: dict = {}

    def server():
        lfd = listen_socket(addr, PORT, rcvbuf=rcvbuf)
        fd, _ = libc.accept(lfd)
        while libc.recv(fd, 1 << 20):
            pass
        done["end"] = True

    def client():
        fd = libc.socket(AF_INET, SOCK_STREAM, 0)
        libc.connect(fd, (addr, PORT))
        libc.send(fd, bytes(size))
        libc.close(fd)

    b.spawn(server)
    world.run_for(1_000_000)
    a.spawn(client)
    world.run_until(lambda: "end" in done, timeout=60 * SEC)
    return [s.length for s in tcp_segments(cap) if s.length]


def test_loopback_carries_64k_segments():
    world, host = lo_host(seed=2)
    # MSS on lo: 65536 - 20 (IP) - 20 (TCP) - 12 (timestamps) = 65483 (tcp_sync_mss); a segment is
    # at most half the largest window the peer offered (tcp_bound_to_half_wnd)
    lengths = bulk_segments(world, host, host, "lo", "127.0.0.1", 4_000_000, rcvbuf=1 << 20)
    assert lengths[0] == 32767                  # half the 64 KB window of the SYN ...
    # ... until the window opened: full 64 KB segments, none longer (a buffer tcp_grow_skb made
    # past 64 KB is cut by software GSO, gso_features_check)
    assert max(lengths) == 65483
    assert lengths.count(65483) > len(lengths) / 2
    assert sum(lengths) == 4_000_000


def test_cable_segments_fit_the_mtu():
    world, a, b, _ = pair()
    lengths = bulk_segments(world, a, b, "eth0", B_ADDR)
    assert max(lengths) == 1448              # 1500 - 20 - 20 - 12
    assert sum(lengths) == 1_000_000


def test_isn_follows_rfc_6528():
    """ISN = M + F(4-tuple): for the same 4-tuple, successive ISNs advance with the 4 us clock;
    another tuple's ISN is unrelated."""
    world, a, b, _ = pair()
    cap = sniff(a, "eth0")
    b.spawn(lambda: [libc.close(libc.accept(listen_socket(B_ADDR, PORT))[0])])

    def client():
        isn_at = []
        for sport in (40000, 40000, 40001):
            fd = libc.socket(AF_INET, SOCK_STREAM, 0)
            libc.setsockopt(fd, 1, 2, 1)                # SO_REUSEADDR
            libc.bind(fd, ("0.0.0.0", sport))
            isn_at.append(world.now)
            try:
                libc.connect(fd, (B_ADDR, PORT + 1))    # nobody listens: SYN, RST
            except OSError:
                pass
            libc.close(fd)
            libc.sleep(1.0)
        return isn_at

    proc = a.spawn(client)
    world.run_until(lambda: not proc.alive, timeout=10 * SEC)
    syns = [s for s in tcp_segments(cap, "10.0.0.1") if s.flags & 0x02]
    times = proc.result
    assert len(syns) == 3
    advance = (syns[1].seq - syns[0].seq) & 0xFFFFFFFF
    assert abs(advance - (times[1] - times[0]) // 4000) <= 1
    other = (syns[2].seq - syns[0].seq) & 0xFFFFFFFF
    assert abs(other - (times[2] - times[0]) // 4000) > 1000
