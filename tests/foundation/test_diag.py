"""ss -tani: the host's TCP sockets with their TCP_INFO, and getsockopt(TCP_INFO)."""

from __future__ import annotations

import re

from procs import run_program
from tuxnet.net.ipv4.tcp import IPPROTO_TCP, TCP_INFO
from tuxnet.net.ipv4.tcp_info import TcpInfo
from tuxnet.net.socket import AF_INET, SOCK_STREAM
from tuxnet.user import libc
from tuxnet.user.ss import format_ss
from tuxnet.user.ssfilter import SS_CONN


def test_ss_lists_listener_connections_and_tcp_info(lo_host):
    world, host = lo_host

    def prog():
        lfd = libc.socket(AF_INET, SOCK_STREAM, 0)
        libc.bind(lfd, ("127.0.0.1", 80))
        libc.listen(lfd, 16)
        c = libc.socket(AF_INET, SOCK_STREAM, 0)
        libc.connect(c, ("127.0.0.1", 80))
        s, _ = libc.accept(lfd)
        libc.send(c, b"x" * 1000)
        libc.sleep(0.1)
        info = TcpInfo.unpack(libc.getsockopt(c, IPPROTO_TCP, TCP_INFO))
        return format_ss(host, info=True), info

    text, info = run_program(world, host, prog)
    lines = text.splitlines()
    assert lines[0].split() == ["State", "Recv-Q", "Send-Q", "Local", "Address:Port", "Peer", "Address:Port",
                                "Process"]
    assert lines[1].split()[:3] == ["LISTEN", "0", "16"]
    estab = [line for line in lines if line.startswith("ESTAB")]
    assert len(estab) == 2
    assert any(line.split()[1] == "1000" for line in estab), "the server has not read its 1000 bytes"
    assert "wscale:10,10" in text and "cwnd:10" in text and "bytes_acked:1001" in text
    assert info.tcpi_state == 1 and info.tcpi_snd_cwnd == 10 and info.tcpi_bytes_acked == 1001
    assert info.tcpi_options == 7 and info.tcpi_snd_wscale == 10 and info.tcpi_rcv_wscale == 10
    assert info.tcpi_rto >= 200_000 and info.tcpi_unacked == 0 and info.tcpi_total_retrans == 0


SS_ORDER = ["cubic", "wscale", "rto", "backoff", "rtt", "ato", "mss", "pmtu", "rcvmss", "advmss", "cwnd", "ssthresh",
            "bytes_sent", "bytes_retrans", "bytes_acked", "bytes_received", "segs_out", "segs_in", "data_segs_out",
            "data_segs_in", "send", "lastsnd", "lastrcv", "lastack", "pacing_rate", "delivery_rate", "delivered",
            "app_limited", "busy", "unacked", "retrans", "lost", "sacked", "reordering", "rcv_rtt", "rcv_space",
            "rcv_ssthresh", "notsent", "minrtt", "snd_wnd"]


def test_ss_i_prints_what_is_known_in_ss_order():
    """tcp_stats_print: a field only when it is not zero, in ss.c's order; -n prints rates as
    plain numbers, without it in M or K."""
    from tuxnet.benchmarks import tcp_sink, tcp_source
    from tuxnet.world import World

    world = World(seed=1)
    a, b = world.add_host("a"), world.add_host("b")
    world.connect(a, b, rate="100mbit", delay="5ms", a_addr="10.0.0.1/24", b_addr="10.0.0.2/24")
    got: list[int] = []
    b.spawn(tcp_sink, "10.0.0.2", 5001, got)
    a.spawn(tcp_source, "10.0.0.2", 5001, bytes(1 << 16), 1 << 22)
    world.run_for(200_000_000)
    tables = run_program(world, a, lambda: (format_ss(a, info=True, states=SS_CONN),
                                            format_ss(a, info=True, states=SS_CONN, numeric=False)))
    numeric, named = ([line for line in t.splitlines() if line.startswith("\t")] for t in tables)
    names = [field.split(":")[0] for field in numeric[0].split()]
    names = [n for n in names if not n.endswith("bps") and not n.replace(".", "").isdigit()]
    assert [n for n in SS_ORDER if n in names] == names
    assert " rtt:" in numeric[0] and " minrtt:10.1" in numeric[0] and " busy:180ms" in numeric[0]
    assert re.search(r" send \d+bps ", numeric[0]) and re.search(r" send \d+\.\dMbps ", named[0])
    assert re.search(r" pacing_rate \d+bps", numeric[0])
