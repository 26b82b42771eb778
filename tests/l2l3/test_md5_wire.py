"""TCP MD5 signatures (RFC 2385) on the wire between two tuxnet hosts, judged by tcpdump -M, which
checks each segment's digest with the shared secret: the segments a loss makes TCP send again, the
ACK a request socket sends to an out-of-window segment, the resets a full socket sends, the SYN-ACK
of a SYN cookie, the ACKs of TIME_WAIT; and a segment signed with another key, dropped as wrong
(TCPMD5Failure)."""

from __future__ import annotations

import shutil
import struct
import subprocess

import pytest
from netlab import cable_pair, capture, run

from rawpeer import LOCAL, LPORT, MS, PEER_ISN, REMOTE, Peer
from tuxnet.net.socket import AF_INET, SHUT_WR, SOCK_STREAM
from tuxnet.trace.pcap import DLT_RAW, PcapWriter
from tuxnet.user import libc
from tuxnet.user.tc import tc
from tuxnet.world import secs

TCP_MD5SIG = 14


def md5sig(addr: str, key: bytes) -> bytes:
    """A ``struct tcp_md5sig`` with ``key`` for peer ``addr``."""
    sin = struct.pack("=H", 2) + struct.pack("!H4s", 0, bytes(map(int, addr.split("."))))
    return sin.ljust(128, b"\0") + struct.pack("=BBHi", 0, 0, len(key), 0) + key.ljust(80, b"\0")


def checked(pcap, secret: str = "secret") -> list[str]:
    """The TCP lines of ``tcpdump -nn -M SECRET -r PCAP``."""
    if shutil.which("tcpdump") is None:
        pytest.skip("tcpdump is needed (apt-get install tcpdump)")
    out = subprocess.run(["tcpdump", "-nn", "-M", secret, "-r", str(pcap)], capture_output=True, text=True,
                         check=True).stdout
    return [line for line in out.splitlines() if "Flags [" in line]


def listener(addr: str, peer: str, key: bytes = b"secret", backlog: int = 4) -> int:
    fd = libc.socket(AF_INET, SOCK_STREAM, 0)
    libc.setsockopt(fd, 6, TCP_MD5SIG, md5sig(peer, key))
    libc.bind(fd, (addr, 80))
    libc.listen(fd, backlog)
    return fd


def connected(peer: str, key: bytes = b"secret") -> int:
    fd = libc.socket(AF_INET, SOCK_STREAM, 0)
    libc.setsockopt(fd, 6, TCP_MD5SIG, md5sig(peer, key))
    libc.connect(fd, (peer, 80))
    return fd


def test_retransmissions_resets_and_time_wait_are_signed(tmp_path):
    """A transfer through 5 % loss, then the client's close: every segment, those sent again and
    the ACKs of TIME_WAIT for the server's FIN sent again, carries a valid signature; a reset
    from a socket closed with data unread is signed too."""
    world, a, b = cable_pair()
    tc(a, "qdisc add dev eth0 root netem loss 5%")
    tc(b, "qdisc add dev eth0 root netem loss 5%")
    wire = capture(b, "eth0", tmp_path / "b.pcap", promisc=False)

    def server() -> int:
        lfd = listener("10.0.0.2", "10.0.0.1")
        fd, _ = libc.accept(lfd)
        got = 0
        while chunk := libc.recv(fd, 1 << 16):
            got += len(chunk)
        libc.send(fd, b"bye")
        libc.close(fd)
        fd, _ = libc.accept(lfd)
        libc.recv(fd, 1)  # one octet read, the rest left unread when it closes: a reset
        libc.close(fd)
        return got

    def client() -> list:
        fd = connected("10.0.0.2")
        libc.send(fd, bytes(300_000))
        libc.shutdown(fd, SHUT_WR)
        reply = libc.recv(fd, 10)
        libc.close(fd)
        fd = connected("10.0.0.2")
        libc.send(fd, b"abc")
        try:
            libc.recv(fd, 10)
        except OSError as e:
            return [reply, e.errno]
        return [reply, 0]

    srv = b.spawn(server)
    assert run(world, a, client) == [b"bye", 104]  # ECONNRESET: the signed reset was taken
    world.run_for(secs(70))
    wire.close()
    assert srv.result == 300_000
    lines = checked(tmp_path / "b.pcap")
    assert lines and all("md5 valid" in line for line in lines), [line for line in lines if "md5 valid" not in line]
    assert any("Flags [R" in line for line in lines)
    assert a.mib.Tcp["RetransSegs"] + b.mib.Tcp["RetransSegs"] > 5
    assert all(host.mib.TcpExt[name] == 0 for host in (a, b)
               for name in ("TCPMD5NotFound", "TCPMD5Unexpected", "TCPMD5Failure"))


def test_syn_cookie_synack_is_signed(tmp_path):
    """With syncookies=2 every SYN-ACK carries a cookie: signed, and the cookie's ACK, checked
    against the listener's key, makes the connection (the child gets its own copy of the key)."""
    world, a, b = cable_pair()
    b.sysctl.set("net.ipv4.tcp_syncookies", "2")
    wire = capture(b, "eth0", tmp_path / "b.pcap", promisc=False)

    def server() -> bytes:
        lfd = listener("10.0.0.2", "10.0.0.1")
        fd, _ = libc.accept(lfd)
        data = libc.recv(fd, 10)
        libc.send(fd, data.upper())
        libc.close(fd)
        return data

    def client() -> bytes:
        fd = connected("10.0.0.2")
        libc.send(fd, b"cookie")
        reply = libc.recv(fd, 10)
        libc.close(fd)
        return reply

    srv = b.spawn(server)
    assert run(world, a, client) == b"COOKIE"
    world.run_for(secs(1))
    wire.close()
    assert srv.result == b"cookie" and b.mib.TcpExt["SyncookiesSent"] == 1 and b.mib.TcpExt["SyncookiesRecv"] == 1
    lines = checked(tmp_path / "b.pcap")
    assert len(lines) >= 8 and all("md5 valid" in line for line in lines), lines


def test_request_socket_and_time_wait_replies_are_signed(tmp_path):
    """A peer writing signed segments into a TUN device: a segment out of a request socket's
    window draws its ACK, a FIN sent again to TIME_WAIT draws that socket's ACK, both signed with
    the listener's key (the request's) and the connection's (TIME_WAIT's copy); and a segment
    signed with another key is dropped as wrong (TCPMD5Failure)."""
    peer = Peer()
    key = b"secret"
    lfd = peer.call(libc.socket, AF_INET, SOCK_STREAM, 0)
    assert peer.call(libc.setsockopt, lfd, 6, TCP_MD5SIG, md5sig(REMOTE, key)) is None
    assert peer.call(libc.bind, lfd, (LOCAL, LPORT)) is None
    assert peer.call(libc.listen, lfd, 4) is None
    mss = b"\x02\x04\x05\xb4"
    peer.segment(0x02, PEER_ISN, 0, 65535, mss, b"", md5_key=key)
    peer.learn()
    synack_end = peer.their_end
    peer.segment(0x10, PEER_ISN + 1 + 10_000_000, synack_end, 65535, b"", b"x", md5_key=key)  # out of window
    peer.segment(0x10, PEER_ISN + 1, synack_end, 65535, b"", b"", md5_key=b"wrong")  # dropped: the digest
    assert peer.host.mib.TcpExt["TCPMD5Failure"] == 1
    peer.segment(0x10, PEER_ISN + 1, synack_end, 65535, b"", b"", md5_key=key)
    fd, _ = peer.call(libc.accept, lfd)
    assert peer.call(libc.close, fd) is None  # tuxnet's FIN
    peer.learn()
    peer.segment(0x11, PEER_ISN + 1, peer.their_end, 65535, b"", b"", md5_key=key)  # its ACK, and the peer's FIN
    peer.world.run_for(100 * MS)
    peer.segment(0x11, PEER_ISN + 1, peer.their_end, 65535, b"", b"", md5_key=key)  # the FIN again: TIME_WAIT's ACK
    peer.world.run_for(100 * MS)
    pcap = tmp_path / "tun.pcap"
    with PcapWriter(str(pcap), linktype=DLT_RAW) as out:
        for pkt in peer.out:
            out.write(pkt.time, pkt.data)
    lines = checked(pcap)
    flags = [line.split("Flags [")[1].split("]")[0] for line in lines]
    assert flags == ["S.", ".", "F.", ".", "."], lines  # SYN-ACK, the request's ACK, FIN, ACK, TIME_WAIT's ACK
    assert all("md5 valid" in line for line in lines), lines
