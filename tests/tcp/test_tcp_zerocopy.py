"""MSG_ZEROCOPY (Linux's Documentation/networking/msg_zerocopy.rst): on a SO_ZEROCOPY socket a
send's buffers refer to the caller's memory instead of a copy of it, and once the peer has
acknowledged the data and nothing refers to the memory any more a notification reaches the error
queue: ``recvmsg(MSG_ERRQUEUE)`` gives a ``sock_extended_err`` (errno 0, SO_EE_ORIGIN_ZEROCOPY,
the range of send ids in ``ee_info``..``ee_data``), with SO_EE_CODE_ZEROCOPY_COPIED when the kernel
had to copy after all (delivery over loopback).  Until then the caller must not touch the memory:
what a retransmission carries is what it holds then."""

from __future__ import annotations

import socket
import struct
import time
from errno import EAGAIN, EINVAL, ENOBUFS, EOPNOTSUPP
from typing import Any

import pytest
from tcpnet import B_ADDR, IPPROTO_TCP, MS, TCP_CORK, TCP_NODELAY, connection, pair

from tuxnet import socket as tsock
from tuxnet.net.core.netfilter import NF_ACCEPT, NF_DROP, NF_INET_LOCAL_IN, nf_register_net_hook
from tuxnet.net.core.skbuff import (
    SKB_SMALL_HEAD_TRUESIZE,
    SO_EE_CODE_ZEROCOPY_COPIED,
    SO_EE_ORIGIN_ZEROCOPY,
    SockExtendedErr,
    skb_views,
    skb_zcopy_pure,
)
from tuxnet.net.core.sock import SO_ZEROCOPY, SOL_SOCKET
from tuxnet.net.ipv4.af_inet import IP_RECVERR, IPPROTO_IP, IPPROTO_RAW
from tuxnet.net.socket import (
    AF_INET,
    MSG_ERRQUEUE,
    MSG_ZEROCOPY,
    POLLERR,
    SOCK_DGRAM,
    SOCK_RAW,
    SOCK_STREAM,
    Msghdr,
)
from tuxnet.user import libc

PORT = 5001


def _notification(fd: int) -> SockExtendedErr | int:
    """``recvmsg(fd, MSG_ERRQUEUE)``: the notification's ``sock_extended_err``, or the errno."""
    msg = Msghdr(msg_control=[])
    try:
        data = libc.recvmsg(fd, msg, 0, MSG_ERRQUEUE)
    except OSError as e:
        return e.errno
    assert data == b""
    assert msg.msg_flags & MSG_ERRQUEUE
    [(level, type_, cmsg)] = msg.msg_control
    assert (level, type_, len(cmsg)) == (IPPROTO_IP, IP_RECVERR, 32)
    assert cmsg[16:] == bytes(16)  # no offender: not an ICMP error
    return SockExtendedErr.unpack(cmsg)


def _completed(ee: SockExtendedErr | int) -> tuple[int, int, int, int, int]:
    """(errno, origin, code, first id, last id) of a notification."""
    assert isinstance(ee, SockExtendedErr), ee
    return ee.ee_errno, ee.ee_origin, ee.ee_code, ee.ee_info, ee.ee_data


def _reader(addr: str, got: list[bytes]) -> None:
    lfd = libc.socket(AF_INET, SOCK_STREAM, 0)
    libc.bind(lfd, (addr, PORT))
    libc.listen(lfd, 1)
    fd, _ = libc.accept(lfd)
    while data := libc.recv(fd, 1 << 16):
        got.append(data)


def _run(world, a, b, writer, got, timeout: int = 10) -> None:
    """b reads everything into ``got`` (``_reader``) while a runs ``writer``; until both end."""
    procs = [b.spawn(_reader, B_ADDR, got)]
    world.run_for(MS)
    procs.append(a.spawn(writer))
    world.run_until(lambda: not any(p.alive for p in procs), timeout=timeout * 10**9)


def _zerocopy_socket(addr: str) -> int:
    fd = libc.socket(AF_INET, SOCK_STREAM, 0)
    libc.setsockopt(fd, SOL_SOCKET, SO_ZEROCOPY, 1)
    libc.connect(fd, (addr, PORT))
    return fd


def _drop_data_while(host: object, dropping: list[bool]) -> None:
    """Drop the TCP segments that carry data arriving at ``host`` while ``dropping[0]``."""
    def hook(_host: object, skb: object, _state: object) -> int:
        buf, nh = skb.buf, skb.network_header
        if not dropping[0] or buf[nh + 9] != 6:
            return NF_ACCEPT
        ihl = (buf[nh] & 0xF) * 4
        total = struct.unpack_from("!H", buf, nh + 2)[0]
        return NF_DROP if total > ihl + (buf[nh + ihl + 12] >> 4) * 4 else NF_ACCEPT

    nf_register_net_hook(host, NF_INET_LOCAL_IN, hook)


def test_a_send_is_notified_once_the_peer_acknowledged_it_and_unread_ids_join():
    """Three sends over a cable (20 ms round trip): nothing is notified before the first ACK; the
    wake-up (POLLERR) comes when the first send's bytes are acknowledged; the notifications of all
    three, unread, make one range 0..2, not copied."""
    world, a, b, _ = pair()
    bufs = [bytes([65 + i]) * 10_000 for i in range(3)]
    got: list[bytes] = []
    seen: dict[str, object] = {}

    def writer() -> None:
        fd = _zerocopy_socket(B_ADDR)
        sk = connection(a, PORT)
        first_end = (sk.write_seq + len(bufs[0])) & 0xFFFFFFFF
        t0 = world.now
        for buf in bufs:
            assert libc.send(fd, buf, MSG_ZEROCOPY) == len(buf)
        seen["early"] = (libc.poll([(fd, 0)], 0), _notification(fd))
        assert libc.poll([(fd, 0)], -1) == [POLLERR]  # POLLERR is always reported
        seen["woken_after"] = world.now - t0
        seen["first_acked"] = ((sk.snd_una - first_end) & 0xFFFFFFFF) < 0x80000000
        libc.sleep(0.5)
        seen["all_acked"] = sk.snd_una == sk.write_seq
        seen["notes"] = [_notification(fd), _notification(fd)]
        seen["omem"] = sk.sk_omem_alloc
        libc.close(fd)

    _run(world, a, b, writer, got)
    assert seen["early"] == ([0], EAGAIN)
    assert seen["woken_after"] >= 20 * MS
    assert seen["first_acked"] and seen["all_acked"]
    note, then = seen["notes"]
    assert _completed(note) == (0, SO_EE_ORIGIN_ZEROCOPY, 0, 0, 2)
    assert then == EAGAIN
    assert seen["omem"] == 0  # the notifications' memory is given back
    assert b"".join(got) == b"".join(bufs)


@pytest.mark.parametrize("plain_middle", [False, True], ids=["all-zerocopy", "a-plain-send-between"])
def test_sends_into_one_buffer_share_one_notification(plain_middle):
    """While corked, three small sends go into the same buffer, each zerocopy send's memory as a
    fragment of it: the zerocopy sends after the first extend its notification
    (``msg_zerocopy_realloc``), so one notification buffer is charged to the socket, and one range
    of ids is reported once the segment is acknowledged.  A plain send between them is copied into
    a page fragment of the kernel's (``tcp_downgrade_zcopy_pure``: the buffer is no longer pure
    zerocopy); the bytes arrive in order."""
    world, a, b, _ = pair()
    got: list[bytes] = []
    seen: dict[str, object] = {}
    sends = [bytearray([97 + i]) * 100 for i in range(3)]
    zerocopy = [not (plain_middle and i == 1) for i in range(3)]

    def writer() -> None:
        fd = _zerocopy_socket(B_ADDR)
        sk = connection(a, PORT)
        libc.setsockopt(fd, IPPROTO_TCP, TCP_CORK, 1)
        for data, zc in zip(sends, zerocopy, strict=True):
            libc.send(fd, data, MSG_ZEROCOPY if zc else 0)
        tail = sk.sk_write_queue[-1]
        seen["queued"] = (len(sk.sk_write_queue), tail.destructor_arg.len, sk.sk_omem_alloc)
        seen["callers"] = [any(v.obj is data for data in sends) for v in skb_views(tail, tail.data, tail.tail)]
        seen["pure"] = skb_zcopy_pure(tail)
        libc.setsockopt(fd, IPPROTO_TCP, TCP_CORK, 0)
        libc.sleep(0.5)
        seen["notes"] = [_notification(fd), _notification(fd)]
        libc.close(fd)

    _run(world, a, b, writer, got)
    assert seen["queued"] == (1, sum(zerocopy), SKB_SMALL_HEAD_TRUESIZE)
    assert seen["callers"] == zerocopy and seen["pure"] is not plain_middle
    note, then = seen["notes"]
    assert _completed(note) == (0, SO_EE_ORIGIN_ZEROCOPY, 0, 0, sum(zerocopy) - 1)
    assert then == EAGAIN
    assert b"".join(got) == b"a" * 100 + b"b" * 100 + b"c" * 100


@pytest.mark.parametrize("zerocopy", [True, False], ids=["SO_ZEROCOPY", "no-SO_ZEROCOPY"])
def test_a_retransmission_carries_what_the_callers_buffer_holds(zerocopy):
    """The first transmission is lost; the caller changes its buffer before the retransmission.
    With SO_ZEROCOPY the queued segment is the caller's bytearray itself, so the peer receives the
    new bytes (the documented MSG_ZEROCOPY caveat) and a notification follows; without it
    MSG_ZEROCOPY is ignored: the segment holds a copy, the peer receives the bytes as they were
    sent, and no notification comes."""
    world, a, b, _ = pair()
    dropping = [True]
    _drop_data_while(b, dropping)
    got: list[bytes] = []
    seen: dict[str, object] = {}

    def writer() -> None:
        fd = libc.socket(AF_INET, SOCK_STREAM, 0)
        if zerocopy:
            libc.setsockopt(fd, SOL_SOCKET, SO_ZEROCOPY, 1)
        libc.connect(fd, (B_ADDR, PORT))
        sk = connection(a, PORT)
        buf = bytearray(b"x" * 1000)
        libc.send(fd, buf, MSG_ZEROCOPY)
        libc.sleep(0.1)  # sent, and lost
        skb = sk.tcp_rtx_queue[0]
        seen["segment_is_callers"] = (skb_zcopy_pure(skb)
                                      and all(v.obj is buf for v in skb_views(skb, skb.data, skb.tail)))
        buf[:] = b"y" * 1000
        dropping[0] = False
        libc.sleep(3)  # the retransmission timer fires (1 s, no RTT sample yet)
        seen["retransmitted"] = sk.total_retrans
        seen["note"] = _notification(fd)
        seen["zckey"] = sk.sk_zckey
        libc.close(fd)

    _run(world, a, b, writer, got)
    assert seen["retransmitted"] >= 1
    assert seen["segment_is_callers"] is zerocopy
    if zerocopy:
        assert b"".join(got) == b"y" * 1000
        assert _completed(seen["note"]) == (0, SO_EE_ORIGIN_ZEROCOPY, 0, 0, 0)
        assert seen["zckey"] == 1
    else:
        assert b"".join(got) == b"x" * 1000
        assert seen["note"] == EAGAIN
        assert seen["zckey"] == 0


def _loopback_steps(mod: Any, sleep: Any) -> list[Any]:
    """MSG_ZEROCOPY over loopback through a socket module (the standard library's on this machine's
    kernel, or tuxnet's): what each step answers."""
    zerocopy, msg_zerocopy = tsock.SO_ZEROCOPY, tsock.MSG_ZEROCOPY  # (Linux's values)
    out: list[Any] = []
    lsock = mod.socket(mod.AF_INET, mod.SOCK_STREAM)
    lsock.bind(("127.0.0.1", 0))
    lsock.listen()
    c = mod.socket(mod.AF_INET, mod.SOCK_STREAM)
    c.setsockopt(mod.SOL_SOCKET, zerocopy, 1)
    c.connect(lsock.getsockname())
    s, _ = lsock.accept()
    out.append(c.getsockopt(mod.SOL_SOCKET, zerocopy))
    try:
        c.recvmsg(0, 1024, mod.MSG_ERRQUEUE)
    except OSError as e:
        out.append(e.errno)
    c.send(b"z" * 50_000, msg_zerocopy)
    c.send(b"w" * 50_000, msg_zerocopy)
    sleep(0.1)
    out.append(c.recvmsg(0, 1024, mod.MSG_ERRQUEUE))  # 0..1, copied
    c.send(b"v" * 10, msg_zerocopy)
    sleep(0.1)
    out.append(c.recvmsg(0, 0, mod.MSG_ERRQUEUE))  # no room for it: MSG_CTRUNC
    c.send(b"", msg_zerocopy)  # takes no id
    c.send(b"u" * 10, msg_zerocopy)
    sleep(0.1)
    out.append(c.recvmsg(0, 1024, mod.MSG_ERRQUEUE))  # 3..3
    try:
        c.setsockopt(mod.SOL_SOCKET, zerocopy, 2)
    except OSError as e:
        out.append(e.errno)
    got = b""
    while len(got) < 100_020:
        got += s.recv(1 << 16)
    out.append(got == b"z" * 50_000 + b"w" * 50_000 + b"v" * 10 + b"u" * 10)
    rx = mod.socket(mod.AF_INET, mod.SOCK_DGRAM)
    rx.bind(("127.0.0.1", 0))
    u = mod.socket(mod.AF_INET, mod.SOCK_DGRAM)
    u.setsockopt(mod.SOL_SOCKET, zerocopy, 1)
    for payload in (b"one", b"two"):
        u.sendto(payload, msg_zerocopy, rx.getsockname())
    sleep(0.1)
    out.append(u.recvmsg(0, 1024, mod.MSG_ERRQUEUE))  # 0..1, built as a copy
    out.append([rx.recv(100), rx.recv(100)])
    for sock in (lsock, c, s, rx, u):
        sock.close()
    return out


def test_loopback_answers_as_this_machines_kernel(lo_host):
    """Over loopback the receiving socket keeps the packet, so the kernel copies the sender's pages
    (``skb_orphan_frags_rx``) and says SO_EE_CODE_ZEROCOPY_COPIED; an empty send takes no id; a
    UDP datagram is built as a copy.  The same steps through the standard library on this
    machine's kernel and through ``tuxnet.socket`` answer alike: the IP_RECVERR control message
    byte for byte, MSG_CTRUNC without room for it, the errnos."""
    try:
        linux = _loopback_steps(socket, time.sleep)
    except OSError as e:
        pytest.skip(f"this kernel has no MSG_ZEROCOPY: {e}")
    world, host = lo_host
    out: list[Any] = []
    host.spawn(lambda: out.append(_loopback_steps(tsock, libc.sleep)))
    world.run_until(lambda: bool(out), timeout=10 * 10**9)
    assert out[0] == linux
    getopt, empty, first, cut, later, einval, whole, udp, datagrams = out[0]
    assert (getopt, empty, einval, whole) == (1, EAGAIN, EINVAL, True)
    data, [(level, type_, cmsg)], flags, addr = first
    assert (data, level, type_, flags, addr) == (b"", tsock.SOL_IP, tsock.IP_RECVERR, tsock.MSG_ERRQUEUE, None)
    assert _completed(SockExtendedErr.unpack(cmsg)) == (0, SO_EE_ORIGIN_ZEROCOPY, SO_EE_CODE_ZEROCOPY_COPIED, 0, 1)
    assert cut == (b"", [], tsock.MSG_ERRQUEUE | tsock.MSG_CTRUNC, None)
    assert _completed(SockExtendedErr.unpack(later[1][0][2]))[3:] == (3, 3)
    assert _completed(SockExtendedErr.unpack(udp[1][0][2])) == (0, SO_EE_ORIGIN_ZEROCOPY,
                                                               SO_EE_CODE_ZEROCOPY_COPIED, 0, 1)
    assert datagrams == [b"one", b"two"]


def test_unread_notifications_are_bounded_by_optmem_max():
    """Each send with data still unacknowledged holds a notification buffer charged to the
    socket's option memory: past ``net.core.optmem_max`` a MSG_ZEROCOPY send fails with ENOBUFS
    (taking no id); once the data is acknowledged and the notification read, sends go on."""
    world, a, b, _ = pair()
    a.sysctl["net.core.optmem_max"] = 2000  # room for two
    dropping = [True]
    _drop_data_while(b, dropping)
    got: list[bytes] = []
    seen: dict[str, object] = {}

    def writer() -> None:
        fd = _zerocopy_socket(B_ADDR)
        libc.setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, 1)
        sk = connection(a, PORT)
        libc.send(fd, b"1", MSG_ZEROCOPY)
        libc.send(fd, b"2", MSG_ZEROCOPY)
        try:
            libc.send(fd, b"3", MSG_ZEROCOPY)
        except OSError as e:
            seen["third"] = e.errno
        seen["held"] = sk.sk_omem_alloc
        dropping[0] = False
        libc.sleep(3)
        seen["note"] = _notification(fd)
        seen["freed"] = sk.sk_omem_alloc
        libc.send(fd, b"3", MSG_ZEROCOPY)
        libc.sleep(0.5)
        seen["next"] = _notification(fd)
        libc.close(fd)

    _run(world, a, b, writer, got)
    assert seen["third"] == ENOBUFS
    assert seen["held"] == 2 * SKB_SMALL_HEAD_TRUESIZE
    assert _completed(seen["note"]) == (0, SO_EE_ORIGIN_ZEROCOPY, 0, 0, 1)
    assert seen["freed"] == 0
    assert _completed(seen["next"]) == (0, SO_EE_ORIGIN_ZEROCOPY, 0, 2, 2)
    assert b"".join(got) == b"123"


def test_an_aborted_connection_releases_the_callers_memory():
    """Unacknowledged MSG_ZEROCOPY data dropped with the connection (``connect(AF_UNSPEC)``:
    ``tcp_disconnect`` purges the queues) is notified at once: the caller may reuse its buffer."""
    world, a, b, _ = pair()
    _drop_data_while(b, [True])
    seen: dict[str, object] = {}

    def writer() -> None:
        fd = _zerocopy_socket(B_ADDR)
        libc.send(fd, b"q" * 5000, MSG_ZEROCOPY)
        libc.sleep(0.1)
        seen["before"] = _notification(fd)
        libc.connect(fd, None)
        seen["after"] = _notification(fd)
        libc.close(fd)

    procs = [b.spawn(_reader, B_ADDR, [])]
    world.run_for(MS)
    procs.append(a.spawn(writer))
    world.run_until(lambda: not procs[1].alive, timeout=10 * 10**9)
    assert seen["before"] == EAGAIN
    assert _completed(seen["after"]) == (0, SO_EE_ORIGIN_ZEROCOPY, 0, 0, 0)


def test_so_zerocopy_where_linux_allows_it(lo_host):
    """SO_ZEROCOPY is for TCP and UDP sockets (off by default); a raw socket refuses it with
    EOPNOTSUPP, as this machine's kernel does, and a value other than 0 or 1 is EINVAL."""
    world, host = lo_host
    seen: dict[str, object] = {}

    def program() -> None:
        tcp = libc.socket(AF_INET, SOCK_STREAM, 0)
        udp = libc.socket(AF_INET, SOCK_DGRAM, 0)
        seen["default"] = [libc.getsockopt(fd, SOL_SOCKET, SO_ZEROCOPY) for fd in (tcp, udp)]
        for fd in (tcp, udp):
            libc.setsockopt(fd, SOL_SOCKET, SO_ZEROCOPY, 1)
        seen["set"] = [libc.getsockopt(fd, SOL_SOCKET, SO_ZEROCOPY) for fd in (tcp, udp)]
        seen["refused"] = []
        for fd, value in ((libc.socket(AF_INET, SOCK_RAW, IPPROTO_RAW), 1), (tcp, 2)):
            try:
                libc.setsockopt(fd, SOL_SOCKET, SO_ZEROCOPY, value)
            except OSError as e:
                seen["refused"].append(e.errno)

    proc = host.spawn(program)
    world.run_until(lambda: not proc.alive, timeout=10 * 10**9)
    assert (seen["default"], seen["set"]) == ([0, 0], [1, 1])
    assert seen["refused"] == [EOPNOTSUPP, EINVAL]


def test_the_segment_is_built_from_the_callers_memory_as_it_leaves():
    """The caller's iovecs, empty ones skipped, go into one segment by reference (two fragments),
    and the frame on the wire is gathered from them."""
    world, a, b, _ = pair()
    got: list[bytes] = []
    seen: dict[str, object] = {}

    def writer() -> None:
        fd = _zerocopy_socket(B_ADDR)
        sk = connection(a, PORT)
        parts = [b"", bytearray(b"head-" * 10), b"", b"tail" * 5]
        msg = Msghdr(msg_iov=parts)
        libc.setsockopt(fd, IPPROTO_TCP, TCP_CORK, 1)
        seen["sent"] = libc.sendmsg(fd, msg, MSG_ZEROCOPY)
        skb = sk.sk_write_queue[0]
        seen["frags"] = [v.obj for v in skb_views(skb, skb.data, skb.tail)]
        seen["parts"] = parts
        libc.setsockopt(fd, IPPROTO_TCP, TCP_CORK, 0)
        libc.sleep(0.5)
        seen["note"] = _notification(fd)
        libc.close(fd)

    _run(world, a, b, writer, got)
    parts = seen["parts"]
    assert seen["sent"] == 70
    assert len(seen["frags"]) == 2 and seen["frags"][0] is parts[1] and seen["frags"][1] is parts[3]
    assert b"".join(got) == b"head-" * 10 + b"tail" * 5
    assert _completed(seen["note"]) == (0, SO_EE_ORIGIN_ZEROCOPY, 0, 0, 0)


def test_a_lossy_bulk_transfer_arrives_whole_and_every_send_is_notified():
    """2 MB in 64 KB MSG_ZEROCOPY sends over a cable that loses and reorders frames, with MTU
    probing on: segments are split, SACKed, retransmitted and probed from the caller's pages; the
    peer gets every byte, and the notifications cover every send id exactly once, with the option
    memory all given back."""
    world, a, b, _ = pair(seed=3, loss=0.02, reorder=0.02)
    a.sysctl["net.ipv4.tcp_mtu_probing"] = 2
    sends = [bytes([i % 251]) * 65_536 for i in range(32)]
    got: list[bytes] = []
    seen: dict[str, object] = {"ids": []}

    def writer() -> None:
        fd = _zerocopy_socket(B_ADDR)
        sk = connection(a, PORT)
        for buf in sends:
            assert libc.send(fd, buf, MSG_ZEROCOPY) == len(buf)
        while sk.snd_una != sk.write_seq:
            libc.sleep(0.1)
        while not isinstance(note := _notification(fd), int):
            seen["ids"].extend(range(note.ee_info, note.ee_data + 1))
        seen["end"] = (note, sk.sk_omem_alloc, sk.total_retrans, sk.sk_zckey)
        libc.close(fd)

    _run(world, a, b, writer, got, timeout=600)
    note, omem, retrans, zckey = seen["end"]
    assert b"".join(got) == b"".join(sends)
    assert retrans > 0
    assert zckey == len(sends) and sorted(seen["ids"]) == list(range(len(sends)))
    assert (note, omem) == (EAGAIN, 0)
