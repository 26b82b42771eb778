"""TCP Fast Open's packets on the wire, judged by tshark: the cookie request, the cookie in the
SYN-ACK, and a later SYN carrying the cookie and data, each with correct checksums."""

from __future__ import annotations

from netlab import cable_pair, capture, run, tshark_lines, tshark_problems

from tuxnet.net.ipv4.tcp_metrics import tcp_metrics_show
from tuxnet.net.socket import AF_INET, SOCK_STREAM
from tuxnet.user import libc

MSG_FASTOPEN = 0x20000000
TCP_FASTOPEN = 23


def test_fast_open_packets_as_tshark_reads_them(tmp_path, tshark):
    world, a, b = cable_pair()
    b.sysctl.set("net.ipv4.tcp_fastopen", "3")
    wire = capture(b, "eth0", tmp_path / "b.pcap", promisc=False)

    def server() -> None:
        lfd = libc.socket(AF_INET, SOCK_STREAM, 0)
        libc.setsockopt(lfd, 6, TCP_FASTOPEN, 4)
        libc.bind(lfd, ("10.0.0.2", 80))
        libc.listen(lfd, 4)
        for _ in range(2):
            fd, _ = libc.accept(lfd)
            libc.send(fd, libc.recv(fd, 100))
            libc.close(fd)

    def client(data: bytes) -> bytes:
        fd = libc.socket(AF_INET, SOCK_STREAM, 0)
        libc.sendto(fd, data, MSG_FASTOPEN, ("10.0.0.2", 80))
        reply = libc.recv(fd, 100)
        libc.close(fd)
        return reply

    b.spawn(server)
    assert run(world, a, client, b"first") == b"first"
    assert run(world, a, client, b"second") == b"second"
    world.run_for(10**9)
    wire.close()
    cookie = tcp_metrics_show(a).split("fo_cookie ")[1].split()[0]
    syns = tshark_lines(tshark, tmp_path / "b.pcap", "tcp.flags.ack", "tcp.options.tfo.request",
                        "tcp.options.tfo.cookie", "tcp.len", display_filter="tcp.flags.syn == 1")
    assert syns == ["0\t1\t\t0",  # a cookie request, no data
                    f"1\t\t{cookie}\t0",  # the cookie
                    f"0\t\t{cookie}\t6",  # the cookie and the data
                    "1\t\t\t0"]  # the data acknowledged: no cookie again
    assert tshark_problems(tshark, tmp_path / "b.pcap") == []
