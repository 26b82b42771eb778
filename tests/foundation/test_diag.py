"""ss -tani: the host's TCP sockets with their TCP_INFO, and getsockopt(TCP_INFO)."""

from __future__ import annotations

from conftest import run_program
from tuxnet.net.ipv4.tcp import IPPROTO_TCP, TCP_INFO
from tuxnet.net.ipv4.tcp_info import TcpInfo
from tuxnet.net.socket import AF_INET, SOCK_STREAM
from tuxnet.user import libc
from tuxnet.user.ss import format_ss


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
    assert "wscale:7,7" in text and "cwnd:10" in text and "bytes_acked:1001" in text
    assert info.tcpi_state == 1 and info.tcpi_snd_cwnd == 10 and info.tcpi_bytes_acked == 1001
    assert info.tcpi_options == 7 and info.tcpi_snd_wscale == 7 and info.tcpi_rcv_wscale == 7
    assert info.tcpi_rto >= 200_000 and info.tcpi_unacked == 0 and info.tcpi_total_retrans == 0
