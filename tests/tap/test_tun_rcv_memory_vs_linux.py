"""What a TUN device's packets cost a receiver, judged by this machine's kernel: the same segments
written into a TUN device (as packetdrill writes them), to a kernel socket and to a tuxnet one,
must draw the same ACKs, windows and SACK blocks, and charge the same receive memory.

``tun_get_user`` copies a packet under a page into one kmalloc'd head behind NET_SKB_PAD bytes
of headroom (``tun_alloc_skb``): it costs what ``alloc_skb`` of that size costs (2,304 bytes for
a 1,000-byte segment, as for a full-sized one), and the allocation's slack is tailroom, into which
TCP copies a later segment that fits, for nothing (``skb_try_coalesce``), in order or out of it.
Ten-byte segments after the first, and a 100-byte one, cost nothing more.  The head a small
packet gets comes from the small-head cache: 640 bytes on Debian's kernels, which tuxnet models,
576 on a kernel built without tunnels and wireless, as this machine's is; tuxnet is given the
machine's size for the comparison, read off the kernel's first buffer.

In a receive buffer fixed small (SO_RCVBUF 4,096: 8,192 bytes), 100-byte segments behind a hole
each take a head of their own until the queue outgrows the buffer; then tcp_prune_queue copies
them into one compact buffer (``tcp_collapse_ofo_queue``), whose slack takes the next seven for
nothing, and so on: the kernel and tuxnet prune, collapse and merge alike, and offer the same
2,920-byte window throughout (the listener's fixed buffer limits the window, so no scaling, and
one segment of it is held in reserve, ``tcp_init_buffer_space``), so both drop the segment past
it and acknowledge the same bytes once the hole is filled.
"""

from __future__ import annotations

import fcntl
import os
import re
import select
import struct
import subprocess

import pytest
from linuxnet import KERNEL_ATTEMPTS

from ofo import sack_blocks
from rawpeer import MS, PEER_ISN, Peer, passive_open
from tuxnet.kernel.errno import EAGAIN
from tuxnet.net.core import skbuff
from tuxnet.net.socket import MSG_DONTWAIT
from tuxnet.tapnet import Netns
from tuxnet.user import libc

pytestmark = pytest.mark.root

TUNSETIFF, IFF_TUN, IFF_NO_PI = 0x400454CA, 0x0001, 0x1000
LINUX_IP, PEER_IP = "10.253.0.1", "10.253.0.2"
READ = ("read",)
# The handshake's round trip as the kernel's harness makes it: it answers the SYN-ACK after 300 ms
# without packets (its smoothed RTT then bounds the delayed ACK's timeout, tcp_send_delayed_ack).
HANDSHAKE_RTT = 300 * MS
# Each segment the peer sends, as (offset from the first byte of data, length[, flags: "A" when
# not given, "PA", "FA"]), and the listener's SO_RCVBUF (0: none).  "tailroom": three small ones
# and a 100-byte one in order, two of 1,000 bytes, then a hole of 1,000 with a 1,000-byte
# segment, two small ones and (after another hole) a 100-byte one behind it, and the hole
# filled.  "collapse": thirty 100-byte segments behind a hole of 100, then the hole.  "overlap":
# segments that fill a hole and cover, in whole or in part, what waits behind it, which is
# reported as a duplicate (D-SACK) up to each waiting segment's end, and a waiting segment that
# overlaps what was received.  READ: the reader reads what is there.  "fastpath": small and
# larger segments in order, read now and then: a segment takes the fast path only when the socket's
# forward allocation covers it.  "inorder": thirty-two 100-byte segments in order that the reader
# leaves unread, in the 8 KB buffer: the fast path queues them past the buffer (to 11,648 bytes
# on this machine) for as long as the forward allocation lasts, and only the slow path prunes;
# its delayed ACKs come later each time (``ato`` doubles as each one is missed) until they wait
# longer than the 100 ms a step lasts, and only every other segment is acknowledged at once.
# "large": segments longer than a page (the device's MTU does not stop them): each fills a
# one-page head and goes on in page chunks, 8,448 bytes for 5,000 of them.
PLAYS = {
    "tailroom": (0, [(0, 10), (10, 10), (20, 10), (30, 100), (130, 1000), (1130, 1000),
                     (3130, 1000), (4130, 10), (4140, 10), (5000, 100), (2130, 1000), (5100, 1000)]),
    "collapse": (4096, [(100 + 100 * k, 100) for k in range(30)] + [(0, 100)]),
    "overlap": (0, [(100, 100), (300, 100), (0, 450), (450, 10), (600, 100), (500, 150), (460, 300),
                    (900, 100), (760, 190), (1000, 10)]),
    "fastpath": (0, [(0, 100), (100, 100), (200, 1000), READ, (1200, 100), (1300, 1000), (2300, 1000), READ,
                     (3300, 1400), (4700, 1400), (6100, 1400), READ, (7500, 10), (7510, 3000), (10510, 3000),
                     READ, READ]),
    "inorder": (4096, [(100 * k, 100) for k in range(32)]),
    "large": (0, [(0, 100), (100, 5000), (5100, 5000), (10100, 4100), READ, (14200, 20000), (34200, 40000),
                  (74200, 100), READ]),
}

TCP_FLAG_BITS = {"F": 0x01, "P": 0x08, "A": 0x10}
COUNTERS = ("PruneCalled", "TCPRcvCollapsed", "OfoPruned", "RcvPruned", "TCPOFOQueue", "TCPOFODrop",
            "TCPRcvCoalesce", "TCPHPHits")
# SYN options: MSS 1460, SACK permitted, NOP, window scale 7 (no timestamps)
SYN_OPTS = struct.pack("!BBH", 2, 4, 1460) + b"\x04\x02\x01\x03\x03\x07"
SERVER = """
import socket, sys
s = socket.socket(); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
if int(sys.argv[2]):
    s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, int(sys.argv[2]))
s.bind((sys.argv[1], 8080)); s.listen(1); print("ready", flush=True)
c, _ = s.accept()
for line in sys.stdin:
    try:
        print(len(c.recv(1 << 20, socket.MSG_DONTWAIT)), flush=True)
    except BlockingIOError:
        print(0, flush=True)
"""

Step = tuple[list[tuple[int, int, list[tuple[int, int]]]], int, int]


def kernel_steps(netns: Netns, rcvbuf: int, steps: list[tuple]) -> tuple[list[Step], dict]:
    """Play ``steps`` into a TUN device whose other end is a kernel socket that accepts and reads
    only at a READ step (what is there, without waiting); per step, the ACKs it sends within 100 ms
    (acknowledgment number and SACK blocks, relative to the first byte, and window), what its
    queues are charged and its forward allocation (``ss -m``); and its receive-memory counters at
    the end."""
    from scapy.layers.inet import IP, TCP

    fd = os.open("/dev/net/tun", os.O_RDWR)
    server = None
    try:
        ifr = fcntl.ioctl(fd, TUNSETIFF, struct.pack("16sH22x", b"tuxtun%d", IFF_TUN | IFF_NO_PI))
        name = ifr[:16].rstrip(b"\0").decode()
        subprocess.run(["ip", "link", "set", name, "netns", netns.name], check=True)
        netns.run("ip", "addr", "add", f"{LINUX_IP}/24", "dev", name)
        netns.run("ip", "link", "set", name, "up")
        server = netns.popen("python3", "-c", SERVER, LINUX_IP, str(rcvbuf), stdin=subprocess.PIPE)
        assert server.stdout.readline().strip() == "ready"
        ip = IP(src=PEER_IP, dst=LINUX_IP)

        def answers(quiet: float) -> list:
            out = []
            while select.select([fd], [], [], quiet)[0]:
                packet = IP(os.read(fd, 65536))
                if packet.haslayer(TCP):
                    out.append(packet[TCP])
            return out

        os.write(fd, bytes(ip / TCP(sport=40300, dport=8080, flags="S", seq=0, window=65535,
                                    options=[("MSS", 1460), ("SAckOK", b""), ("NOP", None), ("WScale", 7)])))
        synack = next(t for t in answers(0.3) if t.flags == "SA")
        ack = synack.seq + 1
        os.write(fd, bytes(ip / TCP(sport=40300, dport=8080, flags="A", seq=1, ack=ack, window=65535)))
        answers(0.05)
        out: list[Step] = []
        for step in steps:
            if step == READ:
                server.stdin.write("r\n")
                server.stdin.flush()
                server.stdout.readline()
            else:
                start, length, *flags = step
                os.write(fd, bytes(ip / TCP(sport=40300, dport=8080, flags="".join(flags) or "A", seq=1 + start,
                                            ack=ack, window=65535) / bytes(length)))
            acks = [((s.ack - 1) & 0xFFFFFFFF, s.window, list(sack_blocks(bytes(s)[20:s.dataofs * 4], 1)))
                    for s in answers(0.1)]
            ss = netns.run("ss", "-tmn", "sport", "= :8080").stdout
            skmem = dict(re.findall(r"([a-z]+)(\d+)", next(w for w in ss.split() if w.startswith("skmem:"))))
            out.append((acks, int(skmem["r"]), int(skmem["f"])))
        nstat = netns.run("nstat", "-az").stdout.split()
        return out, {name: int(nstat[nstat.index(f"TcpExt{name}") + 1]) for name in COUNTERS}
    finally:
        if server is not None:
            server.kill()
            server.communicate()
        os.close(fd)


def tuxnet_steps(rcvbuf: int, steps: list[tuple]) -> tuple[list[Step], dict]:
    """The same, played into tuxnet's TUN device (``tests/rawpeer.py``)."""
    peer = Peer()
    fd = passive_open(peer, SYN_OPTS, rcvbuf, HANDSHAKE_RTT)
    first = (PEER_ISN + 1) & 0xFFFFFFFF
    peer.learn()
    sk = next(s for s in peer.host.tcp_hashinfo.ehash.values() if hasattr(s, "snd_una"))
    out: list[Step] = []
    for step in steps:
        peer.out.clear()
        if step == READ:
            got = peer.call(libc.recv, fd, 1 << 20, MSG_DONTWAIT)
            assert isinstance(got, bytes) or getattr(got, "errno", 0) == EAGAIN, got
        else:
            start, length, *flags = step
            bits = sum(TCP_FLAG_BITS[f] for f in "".join(flags) or "A")
            peer.segment(bits, first + start, peer.their_end, 65535, b"", bytes(length))
        peer.world.run_for(100 * MS)
        acks = []
        for packet in peer.out:
            d = packet.data
            ihl = (d[0] & 0xF) * 4
            ack, window = struct.unpack_from("!I2xH", d, ihl + 8)
            doff = (d[ihl + 12] >> 4) * 4
            acks.append(((ack - first) & 0xFFFFFFFF, window, list(sack_blocks(d[ihl + 20:ihl + doff], first))))
        out.append((acks, sk.sk_rmem_alloc, sk.sk_forward_alloc))
    return out, {name: peer.host.mib.TcpExt[name] for name in COUNTERS}


@pytest.mark.parametrize("play", sorted(PLAYS))
def test_tun_packets_cost_a_receiver_what_they_cost_the_kernel(netns, monkeypatch, play):
    """tuxnet's steps, in virtual time, are the kernel's.  The kernel plays in real time, a step
    lasting until 100 ms pass without an ACK: on a loaded machine a delayed ACK near that edge can
    fall into the next step, so the kernel plays up to KERNEL_ATTEMPTS times, each in a namespace
    of its own, and the test fails when no play of it is tuxnet's."""
    pytest.importorskip("scapy")
    rcvbuf, steps = PLAYS[play]
    for attempt in range(KERNEL_ATTEMPTS):
        space = netns if attempt == 0 else Netns(f"{netns.name}-{attempt}")
        try:
            kernel, kernel_counters = kernel_steps(space, rcvbuf, steps)
        finally:
            if space is not netns:
                space.close()
        # The kernel's first buffer is a small segment's small head: its size, less the struct sk_buff.
        monkeypatch.setattr(skbuff, "SKB_SMALL_HEAD_CACHE_SIZE", kernel[0][1] - skbuff.SKB_STRUCT_SIZE)
        ours, counters = tuxnet_steps(rcvbuf, steps)
        if ours == kernel and counters == kernel_counters:
            break
    assert ours == kernel, "\n".join(f"{s}: kernel {k}, tuxnet {t}"
                                     for s, k, t in zip(steps, kernel, ours, strict=True))
    assert counters == kernel_counters
    if play == "tailroom":
        # ten-byte segments after the first, and a 100-byte one, went into its tailroom
        assert [r for _, r, _ in kernel[:4]] == [kernel[0][1]] * 4
        assert kernel[5][1] - kernel[4][1] == 2304  # a 1,000-byte segment: a 2 KB kmalloc head
    elif play == "collapse":
        assert kernel_counters["TCPRcvCollapsed"] > 10 and kernel_counters["OfoPruned"] == 0
    elif play == "fastpath":
        # four segments found their truesize in the forward allocation; a read gives it all back
        assert kernel_counters["TCPHPHits"] == 4
        assert [f for (step, (_, _, f)) in zip(steps, kernel, strict=True) if step == READ] == [0] * 5
    elif play == "large":
        assert kernel[2][1] - kernel[1][1] == 8448 and kernel[5][1] == 20736  # 4 KB + 4 KB, 4 KB + 16 KB
    elif play == "inorder":
        assert max(r for _, r, _ in kernel) > 8192 + 2 * 832 and kernel_counters["PruneCalled"] == 2
    else:
        assert [acks[0][2][:1] for acks, _, _ in kernel[2:3] + kernel[6:7]] == [[(100, 200)], [(500, 700)]]
