"""A stateful fuzz of TCP: a peer that writes raw segments into a TUN device opens a connection to
a tuxnet listener, then sends any mix of segments (in, around and far outside the window, any
flags, well-formed and damaged options, payloads of any size) while the application sends,
receives, shuts down and closes, and virtual time passes (RTO, delayed ACK, keepalive, TIME_WAIT).
The connection may also be a Fast Open one: a listener's child made at the SYN, or a client whose
SYN carried data.

Nothing may raise out of the stack, no process may die of an exception, and every segment tuxnet
sends stays well formed: its IP and TCP checksums right, its lengths consistent."""

from __future__ import annotations

import struct

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from rawpeer import MS, PEER_ISN, Peer, active_open, fastopen_active_open, fastopen_passive_open, passive_open
from tuxnet.drivers.net.tun import TunPacket
from tuxnet.net.core.checksum import csum_fold, csum_partial, csum_tcpudp_magic
from tuxnet.net.socket import MSG_DONTWAIT, MSG_OOB
from tuxnet.user import libc


def well_formed(pkt: TunPacket) -> None:
    d = pkt.data
    assert d[0] >> 4 == 4 and (d[0] & 0xF) >= 5
    ihl = (d[0] & 0xF) * 4
    tot, = struct.unpack_from("!H", d, 2)
    assert tot == len(d), (tot, len(d))
    assert csum_fold(csum_partial(d[:ihl])) == 0, "IP header checksum"
    assert d[9] == 6
    tcp = d[ihl:]
    doff = (tcp[12] >> 4) * 4
    assert 20 <= doff <= len(tcp)
    src, dst = struct.unpack_from("!II", d, 12)
    if not pkt.gso_size:  # (a TSO packet's checksum is the NIC's to finish)
        assert csum_tcpudp_magic(src, dst, len(tcp), 6, csum_partial(tcp)) == 0, "TCP checksum"


def option(kind: str, peer: Peer, a: int, b: int) -> bytes:
    if kind == "ts":
        return b"\x01\x01\x08\x0a" + struct.pack("!II", a, b)
    if kind == "sack":  # one block, mostly within what tuxnet has sent, sometimes anywhere
        left = peer.their_end - a % 100_000 if a % 4 else a
        return b"\x01\x01\x05\x0a" + struct.pack("!II", left & 0xFFFFFFFF, (left + b % 5000) & 0xFFFFFFFF)
    if kind == "sack2":  # three blocks with holes between them, or overlapping, or reversed
        base = peer.their_end - a % 60_000
        step = b % 6000 - 1000
        blocks = b"".join(struct.pack("!II", (base + i * step) & 0xFFFFFFFF, (base + i * step + 1448) & 0xFFFFFFFF)
                          for i in range(3))
        return b"\x01\x01\x05\x1a" + blocks
    if kind == "mss":
        return b"\x02\x04" + struct.pack("!H", a & 0xFFFF)
    if kind == "wscale":
        return b"\x01\x03\x03" + bytes([b & 0xFF])
    if kind == "md5":
        return b"\x13\x12" + bytes(16)
    if kind == "bad_len":
        return bytes([a % 40, b % 3])  # a kind with a length of 0, 1 or 2
    if kind == "truncated":
        return b"\x08\x0a\x00"
    return b""


FLAGS = st.sampled_from([0x10, 0x10, 0x10, 0x18, 0x11, 0x19, 0x04, 0x14, 0x02, 0x12, 0x30, 0x38, 0x38, 0x01, 0x00,
                         0x3F, 0x50, 0x90, 0xD0])
SEGMENT = st.tuples(st.just("seg"), FLAGS,
                    st.sampled_from([0, 0, 0, -1, 1, -1448, 1448, 70000, -70000, 2**31]),
                    st.sampled_from([0, 0, 0, -1, 1, -100, 100, 10**6, -(10**6), 2**31]),
                    st.sampled_from([65535, 65535, 0, 1, 1000]),
                    st.sampled_from(["", "", "ts", "sack", "sack2", "mss", "wscale", "md5", "bad_len",
                                     "truncated"]),
                    st.integers(0, 2**32 - 1), st.integers(0, 2**32 - 1),
                    st.sampled_from([0, 0, 1, 100, 1448, 3000]), st.booleans())
APP = st.one_of(
    st.tuples(st.just("send"), st.sampled_from([1, 1000, 20000, 100000])),
    st.tuples(st.just("recv"), st.sampled_from([1, 4096, 1 << 20])),
    st.tuples(st.just("shutdown"), st.sampled_from([0, 1, 2])),
    st.tuples(st.just("close")),
    st.tuples(st.just("sleep"), st.sampled_from([1, 40, 200, 1000, 5000, 70_000])),
)


def memory_in_whole_pages(host: object) -> None:
    """What each TCP socket holds, its queued buffers and its forward allocation, is whole pages
    (the forward allocation is what the pages it scheduled have left: sk_mem_charge and
    sk_mem_uncharge move bytes between the two, and only whole pages come and go)."""
    for sk in {*host.tcp_hashinfo.ehash.values(), *host.tcp_orphans}:
        if hasattr(sk, "snd_una"):
            held = sk.sk_rmem_alloc + sk.sk_wmem_queued + sk.sk_forward_alloc
            assert held % 4096 == 0 and sk.sk_rmem_alloc >= 0 and sk.sk_wmem_queued >= 0, (
                sk.sk_rmem_alloc, sk.sk_wmem_queued, sk.sk_forward_alloc)


SYNACK_OPTS = b"\x02\x04\x05\xb4\x04\x02\x08\x0a" + struct.pack("!II", 1, 1) + b"\x01\x03\x03\x07"


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(open_=st.sampled_from(["passive", "active", "active+synack", "fastopen passive", "fastopen active"]),
       actions=st.lists(st.one_of(SEGMENT, SEGMENT, APP), min_size=1, max_size=30))
def test_any_segments_and_calls_on_a_connection_never_break_the_stack(open_, actions):
    peer = Peer()
    if open_ == "passive":
        fd = passive_open(peer)
    elif open_ == "fastopen passive":
        fd = fastopen_passive_open(peer)  # a child before its handshake's last ACK
    elif open_ == "fastopen active":
        fd = fastopen_active_open(peer)  # the SYN carried data
    else:
        fd = active_open(peer)
        if open_ == "active+synack":
            peer.segment(0x12, PEER_ISN, peer.their_end, 65535, SYNACK_OPTS, b"")
            peer.snd_nxt = PEER_ISN + 1
    assert isinstance(fd, int)
    for action in actions:
        kind = action[0]
        if kind == "seg":
            _, flags, dseq, dack, win, opt, a, b, length, good = action
            payload = bytes(range(256)) * (length // 256 + 1)
            peer.segment(flags, peer.snd_nxt + dseq, peer.their_end + dack, win, option(opt, peer, a, b),
                         payload[:length], good, urg_ptr=a & 0xFFFF if flags & 0x20 else 0)
            if dseq == 0 and good and not flags & 0x04:
                peer.snd_nxt = (peer.snd_nxt + length + bool(flags & 0x01) + bool(flags & 0x02)) & 0xFFFFFFFF
        elif kind == "send":
            peer.call(libc.send, fd, b"d" * action[1], MSG_DONTWAIT)
        elif kind == "recv":
            peer.call(libc.recv, fd, action[1], MSG_DONTWAIT | (MSG_OOB if action[1] == 1 else 0))
        elif kind == "shutdown":
            peer.call(libc.shutdown, fd, action[1])
        elif kind == "close":
            peer.call(libc.close, fd)
        else:
            peer.world.run_for(action[1] * MS)
        peer.learn()
        memory_in_whole_pages(peer.host)
    peer.world.run_for(130_000 * MS)  # past every timer, TIME_WAIT included
    assert "Traceback" not in peer.host.output(), peer.host.output()
    assert peer.out  # (the SYN or SYN-ACK at least)
    for pkt in peer.out:
        well_formed(pkt)
