"""What some socket options do, beyond the values they read back, judged by this machine's kernel
over ``lo``: IP_MINTTL (RFC 5082) keeps a listener from hearing a SYN that has fewer hops left
than it asks for, until the client sends with a TTL high enough; SO_NO_CHECK sends a UDP
datagram with no checksum (0, which a raw socket reads in its header), where one without has the
pseudo-header's; SO_SELECT_ERR_QUEUE makes a pending error poll as POLLPRI too; TCP_SAVE_SYN keeps
the SYN's headers for the accepted socket's TCP_SAVED_SYN; IP_PKTOPTIONS gives an accepted
connection's handshake's control messages; SO_TXTIME lets a send give SCM_TXTIME;
PACKET_IGNORE_OUTGOING keeps a tap from hearing what the host sends; PACKET_QDISC_BYPASS sends past
the qdisc and the taps; UDP_ENCAP_ESPINUDP takes NAT keepalives and ESP packets from the socket;
PACKET_FANOUT shares a group's frames among its members; IP_RECVERR_RFC4884 says where an ICMP
error's extensions begin."""

from __future__ import annotations

import errno
import json
import select
import socket
import struct
import sys
from collections.abc import Callable

import pytest
from loplay import play_on_both

pytestmark = pytest.mark.root

IP_MINTTL, IP_RECVERR, SO_NO_CHECK, SO_SELECT_ERR_QUEUE = 21, 11, 11, 45
IP_RECVERR_RFC4884 = 26
TCP_SAVE_SYN, TCP_SAVED_SYN = 27, 28
IP_PKTINFO, IP_RECVTTL, IP_RECVTOS, IP_PKTOPTIONS = 8, 12, 13, 9
SO_TXTIME = 61
PACKET_IGNORE_OUTGOING, PACKET_QDISC_BYPASS = 23, 20
UDP_ENCAP = 100
SOL_PACKET, PACKET_FANOUT, ETH_P_IP = 263, 18, 0x0800
PACKET_FANOUT_HASH, PACKET_FANOUT_LB, PACKET_FANOUT_FLAG_ROLLOVER, PACKET_FANOUT_FLAG_UNIQUEID = 0, 1, 0x1000, 0x2000


def minttl(sleep) -> list:
    """A listener with IP_MINTTL 200: a client's SYN of TTL 64 goes unheard (its connect still
    waits 0.3 s later), one of TTL 255 connects."""
    out = []
    ls = socket.socket()
    ls.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    ls.setsockopt(socket.IPPROTO_IP, IP_MINTTL, 200)
    ls.bind(("127.0.0.1", 5301))
    ls.listen()
    for ttl in (64, 255):
        c = socket.socket()
        c.setsockopt(socket.IPPROTO_IP, socket.IP_TTL, ttl)
        c.setblocking(False)
        out.append([ttl, c.connect_ex(("127.0.0.1", 5301))])
        sleep()
        p = select.poll()
        p.register(c, select.POLLOUT)
        out.append([ttl, "connected" if p.poll(300) else "waiting", c.getsockopt(socket.SOL_SOCKET, socket.SO_ERROR)])
        c.close()
    return out


def no_check(sleep) -> list:
    """The UDP checksum field of a datagram to 127.0.0.1, as a raw socket reads it, with
    SO_NO_CHECK and without."""
    raw = socket.socket(socket.AF_INET, socket.SOCK_RAW, socket.IPPROTO_UDP)
    raw.settimeout(1)
    out = []
    for flag in (1, 0):
        u = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        u.bind(("127.0.0.1", 5302 + flag))
        u.setsockopt(socket.SOL_SOCKET, SO_NO_CHECK, flag)
        u.sendto(b"checksum?", ("127.0.0.1", 5310))
        packet = raw.recv(100)
        out.append([flag, struct.unpack_from("!HHHH", packet, (packet[0] & 15) * 4)])
        u.close()
    return out


def select_err_queue(sleep) -> list:
    """A datagram to a closed port with IP_RECVERR: the error it draws polls as POLLERR, and
    POLLPRI too with SO_SELECT_ERR_QUEUE."""
    out = []
    for flag in (0, 1):
        u = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        u.setsockopt(socket.IPPROTO_IP, IP_RECVERR, 1)
        u.setsockopt(socket.SOL_SOCKET, SO_SELECT_ERR_QUEUE, flag)
        u.sendto(b"x", ("127.0.0.1", 5320))
        sleep()
        p = select.poll()
        p.register(u, select.POLLIN | select.POLLPRI)
        out.append([flag, p.poll(100)[0][1] if p.poll(0) else 0])
        u.close()
    return out


def _syn_fields(saved: bytes, mac: int) -> list:
    """What a saved SYN's headers say that does not depend on the machine (its sequence number,
    IP ID and timestamps do): the link-layer header, the IP header's version and length, TTL,
    protocol and addresses, the TCP ports, data offset, flags and the options' kinds, MSS and
    window scale."""
    eth, ip = saved[:mac], saved[mac:]
    ihl = (ip[0] & 15) * 4
    th = ip[ihl:]
    opts, i, kinds, mss, wscale = th[20:(th[12] >> 4) * 4], 0, [], None, None
    while i < len(opts):
        kind = opts[i]
        kinds.append(kind)
        if kind in (0, 1):
            i += 1
            continue
        if kind == 2:
            mss = struct.unpack_from("!H", opts, i + 2)[0]
        elif kind == 3:
            wscale = opts[i + 2]
        i += opts[i + 1]
    return [eth.hex(), len(saved), ip[0], ip[8], ip[9], ip[12:20].hex(), th[:4].hex(), th[12] >> 4, th[13], kinds,
            mss, wscale]


def saved_syn(sleep) -> list:
    """TCP_SAVE_SYN 1 and 2 on a listener: the accepted socket's TCP_SAVED_SYN is the SYN's IP and
    TCP headers (after its link-layer header, in mode 2), EINVAL in a buffer too small, then
    nothing once read; the listener itself has none."""
    out = []
    for mode in (1, 2):
        ls = socket.socket()
        ls.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        ls.setsockopt(socket.IPPROTO_TCP, TCP_SAVE_SYN, mode)
        ls.bind(("127.0.0.1", 5330))
        ls.listen()
        c = socket.socket()
        c.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        c.bind(("127.0.0.1", 5331))
        c.connect(("127.0.0.1", 5330))
        a, _ = ls.accept()
        small = _outcome(a.getsockopt, socket.IPPROTO_TCP, TCP_SAVED_SYN)
        saved = a.getsockopt(socket.IPPROTO_TCP, TCP_SAVED_SYN, 512)
        out.append([mode, ls.getsockopt(socket.IPPROTO_TCP, TCP_SAVE_SYN), small, _syn_fields(saved, 14 * (mode - 1)),
                    a.getsockopt(socket.IPPROTO_TCP, TCP_SAVED_SYN, 512).hex(),
                    ls.getsockopt(socket.IPPROTO_TCP, TCP_SAVED_SYN, 512).hex()])
        for s in (a, c, ls):
            s.close()
        sleep()
    return out


def pktoptions(sleep) -> list:
    """IP_PKTOPTIONS on an accepted connection: its handshake's control messages for the cmsg
    options set (IP_PKTINFO, IP_RECVTTL, IP_RECVTOS), in buffers of several sizes (a message cut,
    one left out); none on the client, which set none; ENOPROTOOPT on UDP."""
    out = []
    ls = socket.socket()
    ls.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    ls.bind(("127.0.0.1", 5340))
    ls.listen()
    c = socket.socket()
    c.setsockopt(socket.IPPROTO_IP, socket.IP_TOS, 0x28)
    c.connect(("127.0.0.1", 5340))
    a, _ = ls.accept()
    for flags in ((), (IP_PKTINFO,), (IP_PKTINFO, IP_RECVTTL, IP_RECVTOS)):
        for opt in (IP_PKTINFO, IP_RECVTTL, IP_RECVTOS):
            a.setsockopt(socket.IPPROTO_IP, opt, int(opt in flags))
        out.append([list(flags)] + [_cmsgs(_outcome(a.getsockopt, socket.IPPROTO_IP, IP_PKTOPTIONS, n)) for n in
                                    (16, 20, 28, 32, 40, 60, 80, 256)])
    u = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    return out + [_cmsgs(c.getsockopt(socket.IPPROTO_IP, IP_PKTOPTIONS, 256)),
                  _outcome(u.getsockopt, socket.IPPROTO_IP, IP_PKTOPTIONS, 256)]


def txtime(sleep) -> list:
    """SO_TXTIME: SCM_TXTIME's departure time is refused without it, taken with it (the datagram
    arrives: lo's qdisc does not schedule by it), refused in other than eight octets; the clocks
    and flags it takes."""
    r = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    r.bind(("127.0.0.1", 5350))
    r.settimeout(1)
    u = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    when = struct.pack("=Q", 10**9)
    out = [_outcome(u.sendmsg, [b"early"], [(socket.SOL_SOCKET, SO_TXTIME, when)], 0, ("127.0.0.1", 5350))]
    for clock, flags in ((5, 0), (1, 4), (11, 3), (1, 0)):
        done = _outcome(u.setsockopt, socket.SOL_SOCKET, SO_TXTIME, struct.pack("=iI", clock, flags))
        out.append([clock, flags, done, u.getsockopt(socket.SOL_SOCKET, SO_TXTIME, 8).hex()])
    out.append(_outcome(u.sendmsg, [b"timed"], [(socket.SOL_SOCKET, SO_TXTIME, when)], 0, ("127.0.0.1", 5350)))
    out.append(_outcome(u.sendmsg, [b"short"], [(socket.SOL_SOCKET, SO_TXTIME, when[:4])], 0, ("127.0.0.1", 5350)))
    out.append(r.recv(100).decode())
    return out


def _lo_tap() -> socket.socket:
    tap = socket.socket(socket.AF_PACKET, socket.SOCK_RAW, socket.htons(3))
    tap.bind(("lo", 0))
    return tap


def _heard(tap: socket.socket, marked: Callable[[bytes], bool]) -> list:
    """The packet types of the frames the tap has heard that ``marked`` picks, in order."""
    tap.setblocking(False)
    kinds = []
    while True:
        try:
            data, addr = tap.recvfrom(2000)
        except BlockingIOError:
            return kinds
        if marked(data):
            kinds.append(addr[2])


def ignore_outgoing(sleep) -> list:
    """A tap on lo hears a datagram sent to 127.0.0.1 (and the port unreachable that quotes it)
    twice, going out and coming in; with PACKET_IGNORE_OUTGOING only coming in."""
    out = []
    for flag in (0, 1):
        tap = _lo_tap()
        tap.setsockopt(263, PACKET_IGNORE_OUTGOING, flag)
        u = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        u.sendto(b"tapped?", ("127.0.0.1", 5360))
        sleep()
        out.append([flag, _heard(tap, lambda data: data.endswith(b"tapped?"))])
        tap.close()
        u.close()
    return out


def qdisc_bypass(sleep) -> list:
    """Frames a packet socket sends on lo: a tap hears each going out and coming in, but with
    PACKET_QDISC_BYPASS only coming in (``__dev_direct_xmit`` passes the taps by)."""
    out = []
    for flag in (0, 1):
        tap = _lo_tap()
        s = socket.socket(socket.AF_PACKET, socket.SOCK_RAW)
        s.bind(("lo", 0))
        s.setsockopt(263, PACKET_QDISC_BYPASS, flag)
        sent = [s.send(bytes(6) + bytes(6) + b"\x88\xb5" + b"bypass?" + bytes(40)) for _ in range(2)]
        sleep()
        kinds = _heard(tap, lambda data: data[12:21] == b"\x88\xb5bypass?")
        out.append([flag, s.getsockopt(263, PACKET_QDISC_BYPASS), sent, kinds])
        tap.close()
        s.close()
    return out


def _cmsgs(data):
    """The length given back, and each control message's length, level, type and data (the
    padding between them is the caller's buffer as it was: not the kernel's to write)."""
    if not isinstance(data, bytes):
        return data
    out, at = [len(data)], 0
    while at + 16 <= len(data):
        cmlen, level, kind = struct.unpack_from("=QiI", data, at)
        out.append([cmlen, level, kind, data[at + 16:at + cmlen].hex()])
        at += (cmlen + 7) & ~7
    return out


def _outcome(fn, *args):
    try:
        return fn(*args)
    except OSError as e:
        return errno.errorcode[e.errno]


def udp_encap(sleep) -> list:
    """UDP_ENCAP_ESPINUDP (RFC 3948): of the datagrams to such a socket, a NAT keepalive (0xFF) and
    ESP packets (a non-zero SPI and more than an ESP header) are taken by IPsec, which has no
    state for them; IKE messages (the non-ESP marker) and short ones reach the socket.  With
    encapsulation type 0 (or L2TP's, without its module) every one does."""
    out = []
    esp = b"\x00\x00\x01\x00"  # an SPI of 256
    datagrams = [b"\xff", bytes(4) + b"ike", esp + bytes(8), b"\x01\x02", esp + bytes(4), b"\xff\xff"]
    for encap in (2, 0, 3):
        r = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        r.bind(("127.0.0.1", 5330 + encap))
        r.setsockopt(socket.IPPROTO_UDP, UDP_ENCAP, encap)
        r.setblocking(False)
        s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        for data in datagrams:
            s.sendto(data, ("127.0.0.1", 5330 + encap))
        sleep()
        got = []
        while True:
            try:
                got.append(r.recv(100).hex())
            except BlockingIOError:
                break
        out.append([encap, got])
    return out


def _fanout_member(proto: int = ETH_P_IP) -> socket.socket:
    s = socket.socket(socket.AF_PACKET, socket.SOCK_DGRAM, socket.htons(proto))
    s.bind(("lo", 0))
    s.setblocking(False)
    return s


def fanout(sleep) -> list:
    """PACKET_FANOUT: three packet sockets hearing IP on lo in one round-robin group share its
    datagrams in turn (the first to the second member), and once the first leaves, the last takes
    its place; a socket may join one group once, of the group's mode and flags, while it hears a
    protocol and is not bound again; a group made with room for two refuses a third (ENOSPC); a
    unique id is the group's own (PACKET_FANOUT_FLAG_UNIQUEID, with id 0)."""
    out: list = []
    members = [_fanout_member() for _ in range(3)]
    lb = 77 | PACKET_FANOUT_LB << 16
    out.append(["join", [_outcome(m.setsockopt, SOL_PACKET, PACKET_FANOUT, lb) for m in members]])
    out.append(["read back", members[0].getsockopt(SOL_PACKET, PACKET_FANOUT)])
    other = _fanout_member()
    for name, sock, value in (
        ("again", members[0], lb), ("another mode", other, 77 | PACKET_FANOUT_HASH << 16),
        ("another flag", other, 77 | (PACKET_FANOUT_LB | PACKET_FANOUT_FLAG_ROLLOVER) << 16),
        ("mode 8", other, 79 | 8 << 16), ("rollover with its flag", other, 79 | 0x1003 << 16),
        ("hearing nothing", socket.socket(socket.AF_PACKET, socket.SOCK_DGRAM, 0), 78 | PACKET_FANOUT_LB << 16),
        ("a unique id that is not 0", other, 5 | (PACKET_FANOUT_LB | PACKET_FANOUT_FLAG_UNIQUEID) << 16),
        ("another protocol", _fanout_member(0x0806), lb),
    ):
        out.append([name, _outcome(sock.setsockopt, SOL_PACKET, PACKET_FANOUT, value)])
    out.append(["bind a member", _outcome(members[1].bind, ("lo", 0))])
    out.append(["rollover stats without rollover", _outcome(members[0].getsockopt, SOL_PACKET, 21, 24)])
    unique = _fanout_member()
    out.append(["unique id", _outcome(unique.setsockopt, SOL_PACKET, PACKET_FANOUT,
                                      (PACKET_FANOUT_LB | PACKET_FANOUT_FLAG_UNIQUEID) << 16),
                unique.getsockopt(SOL_PACKET, PACKET_FANOUT) >> 16])
    small = [_fanout_member() for _ in range(3)]
    args = struct.pack("=HHI", 90, PACKET_FANOUT_LB, 2)
    out.append(["room for two", [_outcome(m.setsockopt, SOL_PACKET, PACKET_FANOUT, args) for m in small],
                _outcome(other.setsockopt, SOL_PACKET, PACKET_FANOUT, struct.pack("=HHI", 90, PACKET_FANOUT_LB, 3))])
    sink = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    sink.bind(("127.0.0.1", 5340))
    tx = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)

    def share(n: int, socks: list[socket.socket]) -> list[int]:
        for _ in range(n):
            tx.sendto(b"x", ("127.0.0.1", 5340))
        sleep()
        counts = []
        for m in socks:
            got = 0
            while True:
                try:
                    m.recv(100)
                except BlockingIOError:
                    break
                got += 1
            counts.append(got)
        return counts

    out.append(["5 datagrams", share(5, members)])
    members[0].close()
    out.append(["5 more, the first gone", share(5, members[1:])])
    return out


def _icmp_checksum(data: bytes) -> bytes:
    total = sum(struct.unpack(f"!{len(data) // 2}H", data))
    while total >> 16:
        total = (total & 0xFFFF) + (total >> 16)
    return struct.pack("!H", ~total & 0xFFFF)


def _extension(objects: list[bytes], version: int = 2, good: bool = True) -> bytes:
    """An RFC 4884 extension structure: its header (version, checksum) and ``objects``."""
    body = b"".join(objects)
    ext = bytes([version << 4, 0]) + bytes(2) + body
    csum = _icmp_checksum(ext)
    return ext[:2] + (csum if good else bytes([csum[0] ^ 1, csum[1]])) + body


def rfc4884(sleep) -> list:
    """IP_RECVERR_RFC4884: port unreachables played to a UDP socket with IP_RECVERR (from a raw
    socket, quoting a datagram the socket might have sent), whose length field (RFC 4884) says
    where extensions begin: ``ee_data`` gives their offset in what the error quotes, and
    SO_EE_RFC4884_FLAG_INVALID when the extension structure is not well formed; nothing without
    the option, or for a quoted datagram shorter than 128 octets."""
    out: list = []
    u = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    u.bind(("127.0.0.1", 5350))
    u.setsockopt(socket.IPPROTO_IP, IP_RECVERR, 1)
    u.setblocking(False)
    raw = socket.socket(socket.AF_INET, socket.SOCK_RAW, socket.IPPROTO_ICMP)
    obj = struct.pack("!HBB", 8, 1, 1) + b"mpls"
    quoted_ip = bytes([0x45, 0, 0, 200, 0, 1, 0x40, 0, 64, 17, 0, 0, 127, 0, 0, 1, 127, 0, 0, 1])
    udp = struct.pack("!HHHH", 5350, 5351, 180, 0)
    cases = [
        ("no option", 0, 32, [obj], 2, True),
        ("valid", 1, 32, [obj], 2, True),
        ("bad checksum", 1, 32, [obj], 2, False),
        ("version 1", 1, 32, [obj], 1, True),
        ("object of 2 octets", 1, 32, [struct.pack("!HBB", 2, 1, 1)], 2, True),
        ("object past the end", 1, 32, [struct.pack("!HBB", 40, 1, 1)], 2, True),
        ("no length", 1, 0, [obj], 2, True),
        ("80 octets quoted", 1, 20, [obj], 2, True),
    ]
    for name, option, words, objects, version, good in cases:
        u.setsockopt(socket.IPPROTO_IP, IP_RECVERR_RFC4884, option)
        original = (quoted_ip + udp).ljust(words * 4 or 128, b"q")
        icmp = bytes([3, 3, 0, 0, 0, words, 0, 0]) + original + _extension(objects, version, good)
        icmp = icmp[:2] + _icmp_checksum(icmp) + icmp[4:]
        raw.sendto(icmp, ("127.0.0.1", 0))
        sleep()
        try:
            data, anc, flags, _ = u.recvmsg(1000, 512, socket.MSG_ERRQUEUE)
        except BlockingIOError:
            out.append([name, "none"])
            continue
        ee = [struct.unpack_from("=IBBBBII", raw_ee) for level, kind, raw_ee in anc if kind == IP_RECVERR]
        out.append([name, len(data), ee])
    out.append(["option read back", u.getsockopt(socket.IPPROTO_IP, IP_RECVERR_RFC4884)])
    return out


PLAYS = {"minttl": minttl, "no_check": no_check, "select_err_queue": select_err_queue, "saved_syn": saved_syn,
         "pktoptions": pktoptions, "txtime": txtime, "ignore_outgoing": ignore_outgoing,
         "qdisc_bypass": qdisc_bypass, "udp_encap": udp_encap, "fanout": fanout, "rfc4884": rfc4884}


@pytest.mark.parametrize("name", sorted(PLAYS))
def test_option_effects_as_on_the_kernel(name: str) -> None:
    linux, ours = play_on_both(__file__.rsplit("/", 1)[1], name, PLAYS[name])
    assert ours == linux
    if name == "minttl":
        assert [64, "waiting", 0] in ours and [255, "connected", 0] in ours
    elif name == "no_check":
        assert ours[0][1][3] == 0 and ours[1][1][3] != 0
    elif name == "qdisc_bypass":
        assert [row[3] for row in ours] == [[4, 0, 4, 0], [0, 0]]
    elif name == "ignore_outgoing":
        # the datagram, then the port unreachable that quotes it: each PACKET_OUTGOING, then
        # PACKET_HOST; with the option, only the second of each
        assert ours == [[0, [4, 0, 4, 0]], [1, [0, 0]]]
    elif name == "txtime":
        assert ours[0] == "EINVAL" and ours[-3:] == [5, "EINVAL", "timed"]
    elif name == "pktoptions":
        assert ours[2][-1][1] == [28, 0, 8, "010000007f0000017f000001"]  # (IP_PKTINFO: lo's index, 127.0.0.1)
        assert ours[2][-1][3] == [20, 0, 1, "28000000"]  # (IP_TOS: the client's 0x28)
    elif name == "rfc4884":
        assert [row[2][0][-1] for row in ours[:-1]] == [0, 100, 0x10064, 100, 0x10064, 0x10064, 0, 0]
    elif name == "fanout":
        assert ours[-2:] == [["5 datagrams", [1, 2, 2]], ["5 more, the first gone", [2, 3]]]
    elif name == "udp_encap":
        assert ours[0] == [2, ["00000000696b65", "0102", "0000010000000000", "ffff"]] and len(ours[1][1]) == 6
    elif name == "saved_syn":
        assert [row[2:3] + row[3][1:2] + row[4:] for row in ours] == [["EINVAL", 60, "", ""], ["EINVAL", 74, "", ""]]
    else:
        assert ours == [[0, select.POLLERR], [1, select.POLLERR | select.POLLPRI]]


if __name__ == "__main__":
    import time

    print(json.dumps(PLAYS[sys.argv[1]](lambda: time.sleep(0.05))))
