"""A raw TCP peer for tests: a tuxnet host with a TUN device ``tun0`` (192.168.0.1), and a peer
(192.168.0.2) that writes segments into it byte by byte and reads what tuxnet sends back; the
host's programs run as processes sharing one descriptor table (shared by the stateful fuzz and
the urgent-data tests)."""

from __future__ import annotations

import hashlib
import struct
from errno import EINPROGRESS
from typing import Any

from tuxnet.drivers.net.tun import TunPacket, tun_get_user, tun_net_init
from tuxnet.kernel.fs import FdTable
from tuxnet.kernel.sched import current
from tuxnet.net.core.checksum import csum_fold, csum_partial, csum_tcpudp_magic
from tuxnet.net.core.sock import SO_RCVBUF, SOL_SOCKET
from tuxnet.net.core.utils import in_aton
from tuxnet.net.socket import AF_INET, SOCK_NONBLOCK, SOCK_STREAM
from tuxnet.user import libc
from tuxnet.world import World

LOCAL, REMOTE = "192.168.0.1", "192.168.0.2"
LPORT, RPORT = 8080, 40000
PEER_ISN = 1_000_000
MS = 1_000_000


class Peer:
    """The raw side: a tuxnet host with tun0, a listener, and what it has sent us."""

    def __init__(self) -> None:
        self.world = World(seed=5)
        self.host = self.world.add_host("fuzz")
        self.dev = tun_net_init(self.host, "tun0", 1500)
        self.host.dev_open(self.dev)
        self.host.ip_addr_add("tun0", f"{LOCAL}/24")
        self.out: list[TunPacket] = []
        self.dev.priv.on_xmit = self.out.append
        self.files = FdTable()
        self.snd_nxt = (PEER_ISN + 1) & 0xFFFFFFFF  # the peer's next sequence number
        self.their_end = 0  # the highest sequence number tuxnet has sent, as the peer saw it

    def call(self, fn: Any, *args: Any) -> object:
        """Run ``fn(*args)`` as a process sharing one descriptor table; errors are its result."""
        box: list[object] = []

        def proc() -> None:
            me = current()
            me.files = self.files
            try:
                box.append(fn(*args))
            except OSError as e:
                box.append(e)
            finally:
                me.files = FdTable()  # (an exiting process closes its table: keep the shared one)

        self.host.spawn(proc, name="app")
        self.world.run_for(MS)
        return box[0] if box else None

    def segment(self, flags: int, seq: int, ack: int, win: int, opts: bytes, payload: bytes,
                good_csum: bool = True, urg_ptr: int = 0, dport: int = LPORT, md5_key: bytes | None = None) -> None:
        """Write a segment into tun0; with ``md5_key``, signed (RFC 2385 section 2.0: the digest of
        the pseudo-header, the header without options and checksum, the payload and the key) in an
        MD5 option put first."""
        if md5_key is not None:
            opts = b"\x01\x01\x13\x12" + bytes(16) + opts
        opts += b"\x01" * (-len(opts) % 4)
        doff = 5 + len(opts) // 4
        th = bytearray(struct.pack("!HHIIHHHH", RPORT, dport, seq & 0xFFFFFFFF, ack & 0xFFFFFFFF,
                                   (doff << 12) | flags, win, 0, urg_ptr)) + opts + payload
        if md5_key is not None:
            pseudo = in_aton(REMOTE).to_bytes(4, "big") + in_aton(LOCAL).to_bytes(4, "big") + struct.pack("!BBH", 0, 6,
                                                                                                      len(th))
            th[24:40] = hashlib.md5(pseudo + th[:20] + payload + md5_key).digest()
        c = csum_tcpudp_magic(in_aton(REMOTE), in_aton(LOCAL), len(th), 6, csum_partial(bytes(th)))
        th[16:18] = struct.pack("!H", c if good_csum else c ^ 0x0F0F)
        ih = bytearray(struct.pack("!BBHHHBBH4s4s", 0x45, 0, 20 + len(th), 7, 0x4000, 64, 6, 0,
                                   bytes(map(int, REMOTE.split("."))), bytes(map(int, LOCAL.split(".")))))
        ih[10:12] = struct.pack("!H", csum_fold(csum_partial(bytes(ih))))
        tun_get_user(self.dev, bytes(ih + th))
        self.world.run_for(0)

    def learn(self) -> None:
        """The highest sequence number tuxnet has sent so far (what an ACK may cover)."""
        for pkt in self.out:
            d = pkt.data
            ihl = (d[0] & 0xF) * 4
            seq, = struct.unpack_from("!I", d, ihl + 4)
            doff = (d[ihl + 12] >> 4) * 4
            flags = d[ihl + 13]
            end = seq + len(d) - ihl - doff + bool(flags & 0x03)  # SYN and FIN take one
            if ((end - self.their_end) & 0xFFFFFFFF) < 0x80000000 or not self.their_end:
                self.their_end = end & 0xFFFFFFFF


# The SYN's options by default: MSS 1460, SACK permitted, timestamps, window scale 7.
SYN_OPTS = b"\x02\x04\x05\xb4\x04\x02\x08\x0a" + struct.pack("!II", 1, 0) + b"\x01\x03\x03\x07"


def passive_open(peer: Peer, syn_opts: bytes = SYN_OPTS, rcvbuf: int = 0, rtt: int = 0) -> int:
    """The peer connects to a tuxnet listener (with SO_RCVBUF ``rcvbuf`` when given), answering
    its SYN-ACK after ``rtt`` nanoseconds; the accepted descriptor."""
    lfd = peer.call(libc.socket, AF_INET, SOCK_STREAM, 0)
    assert isinstance(lfd, int)
    if rcvbuf:
        assert peer.call(libc.setsockopt, lfd, SOL_SOCKET, SO_RCVBUF, rcvbuf) is None
    assert peer.call(libc.bind, lfd, (LOCAL, LPORT)) is None
    assert peer.call(libc.listen, lfd, 8) is None
    peer.segment(0x02, PEER_ISN, 0, 65535, syn_opts, b"")
    peer.learn()
    peer.world.run_for(rtt)
    peer.segment(0x10, peer.snd_nxt, peer.their_end, 65535, b"", b"")
    fd, _ = peer.call(libc.accept, lfd)
    return fd


def active_open(peer: Peer) -> int:
    """tuxnet connects (non-blocking) to the peer, whose answer is left to the fuzzed segments:
    the first may be the SYN-ACK, or anything else (SYN_SENT and simultaneous open)."""
    fd = peer.call(libc.socket, AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0)
    assert isinstance(fd, int)
    assert peer.call(libc.bind, fd, (LOCAL, LPORT)) is None
    err = peer.call(libc.connect, fd, (REMOTE, RPORT))
    assert isinstance(err, OSError) and err.errno == EINPROGRESS
    peer.learn()
    peer.snd_nxt = PEER_ISN  # the peer's SYN, if a fuzzed segment carries one, takes this number
    return fd


def fastopen_passive_open(peer: Peer) -> int:
    """The peer's SYN carries data to a Fast Open listener that needs no cookie
    (``tcp_fastopen`` 0x203): the child, accepted before the handshake's last ACK."""
    peer.host.sysctl.set("net.ipv4.tcp_fastopen", str(0x203))
    lfd = peer.call(libc.socket, AF_INET, SOCK_STREAM, 0)
    assert isinstance(lfd, int)
    assert peer.call(libc.bind, lfd, (LOCAL, LPORT)) is None
    assert peer.call(libc.setsockopt, lfd, 6, 23, 8) is None  # TCP_FASTOPEN
    assert peer.call(libc.listen, lfd, 8) is None
    peer.segment(0x02, PEER_ISN, 0, 65535, SYN_OPTS, b"early")
    peer.learn()
    peer.snd_nxt = (PEER_ISN + 1 + 5) & 0xFFFFFFFF
    fd, _ = peer.call(libc.accept, lfd)
    return fd


def fastopen_active_open(peer: Peer) -> int:
    """tuxnet's SYN carries data (``tcp_fastopen`` 5: a client that needs no cookie), sent
    non-blocking with MSG_FASTOPEN; the answer is left to the fuzzed segments."""
    peer.host.sysctl.set("net.ipv4.tcp_fastopen", "5")
    fd = peer.call(libc.socket, AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0)
    assert isinstance(fd, int)
    assert peer.call(libc.bind, fd, (LOCAL, LPORT)) is None
    assert peer.call(libc.sendto, fd, b"syn data", 0x20000000, (REMOTE, RPORT)) == 8  # MSG_FASTOPEN
    peer.learn()
    peer.snd_nxt = PEER_ISN
    return fd
