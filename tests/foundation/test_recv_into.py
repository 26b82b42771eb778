"""Receiving into the caller's buffer (C's ``recv``, Python's ``recv_into``): the kernel copies
straight into it, returns the count, leaves the rest of the buffer and of the stream alone, and
faults on memory it cannot write, as Linux does (net/core/datagram.py)."""

from __future__ import annotations

import errno
import platform
import socket
from typing import Any

import pytest

from tuxnet import socket as tsock
from tuxnet.benchmarks import lo_world
from tuxnet.net.socket import (
    AF_INET,
    MSG_PEEK,
    MSG_TRUNC,
    MSG_WAITALL,
    SOCK_DGRAM,
    SOCK_STREAM,
    Msghdr,
    sys_recvmsg,
)
from tuxnet.user import libc

STREAM = bytes(range(256)) * 1024  # 256 KB: several loopback segments


def run(program: Any, *args: Any) -> Any:
    """Run ``program`` on a loopback host next to a server that sends ``STREAM`` and closes."""
    world, host = lo_world()

    def server() -> None:
        lfd = libc.socket(AF_INET, SOCK_STREAM, 0)
        libc.bind(lfd, ("127.0.0.1", 7100))
        libc.listen(lfd, 1)
        fd, _ = libc.accept(lfd)
        libc.send(fd, STREAM)
        libc.close(fd)
        libc.close(lfd)

    host.spawn(server)
    out: list[Any] = []

    def client() -> None:
        fd = libc.socket(AF_INET, SOCK_STREAM, 0)
        libc.connect(fd, ("127.0.0.1", 7100))
        out.append(program(fd, *args))
        libc.close(fd)

    proc = host.spawn(client)
    world.run_until(lambda: bool(out) or not proc.alive)
    assert out, "the client did not finish"
    return out[0]


def test_a_stream_read_into_one_reused_buffer_arrives_whole() -> None:
    def program(fd: int) -> tuple[bytes, int]:
        buf = bytearray(100_000)
        got = bytearray()
        reads = 0
        while n := libc.recv_into(fd, buf):
            got += buf[:n]
            reads += 1
        return bytes(got), reads

    data, reads = run(program)
    assert data == STREAM
    assert reads >= 3  # 256 KB through a 100 KB buffer


def test_only_nbytes_of_the_buffer_are_written_and_the_rest_stays_queued() -> None:
    def program(fd: int) -> tuple[int, bytes, bytes]:
        buf = bytearray(b"\xee" * 16)
        view = memoryview(buf)[4:12]
        n = libc.recv_into(fd, view, 5)
        rest = bytearray()
        while chunk := libc.recv(fd, 65536):
            rest += chunk
        return n, bytes(buf), bytes(rest)

    n, buf, rest = run(program)
    assert n == 5
    assert buf == b"\xee" * 4 + STREAM[:5] + b"\xee" * 7
    assert rest == STREAM[5:]


def test_recvmsg_scatters_over_its_iovecs_and_reads_no_more_than_they_hold() -> None:
    def program(fd: int) -> tuple[int, bytes, bytes, bytes]:
        a, b = bytearray(3), bytearray(70_000)
        msg = Msghdr(msg_iov=[a, memoryview(b)])
        n = sys_recvmsg(fd, msg, 1 << 20, MSG_WAITALL)
        return n, bytes(a), bytes(b), libc.recv(fd, 4, MSG_PEEK)

    n, a, b, peeked = run(program)
    assert n == 70_003
    assert a == STREAM[:3] and b == STREAM[3:70_003]
    assert peeked == STREAM[70_003:70_007]


def test_msg_trunc_reads_and_drops_and_says_how_much() -> None:
    # tcp_recvmsg with MSG_TRUNC: the bytes are consumed, not copied, and the count returned
    # (Python's recv gives bytes of that length, as it does on Linux).
    def program(fd: int) -> tuple[int, int, bytes, bytes]:
        dropped = libc.recv(fd, 4, MSG_TRUNC)
        buf = bytearray(b"ZZZZZZ")
        n = libc.recv_into(fd, buf, 3, MSG_TRUNC)
        return len(dropped), n, bytes(buf), libc.recv(fd, 5)

    assert run(program) == (4, 3, b"ZZZZZZ", STREAM[7:12])


def test_a_read_only_or_missing_buffer_faults_and_loses_nothing() -> None:
    def program(fd: int) -> tuple[list[int], bytes]:
        errs = []
        for buf in (b"\0" * 8, memoryview(b"\0" * 8), None):
            with pytest.raises(OSError) as info:
                libc.recv_into(fd, buf, 8)
            errs.append(info.value.errno)
        return errs, libc.recv(fd, 8)

    errs, first = run(program)
    assert errs == [errno.EFAULT] * 3
    assert first == STREAM[:8]


def test_end_of_stream_reads_zero() -> None:
    def program(fd: int) -> list[int]:
        buf = bytearray(1 << 20)
        counts = []
        while n := libc.recv_into(fd, buf):
            counts.append(n)
        counts.append(libc.recv_into(fd, buf))
        return counts

    counts = run(program)
    assert sum(counts) == len(STREAM) and counts[-1] == 0


def test_udp_recvfrom_into_gives_the_count_and_the_sender() -> None:
    world, host = lo_world()
    out: list[Any] = []

    def program() -> None:
        rx = libc.socket(AF_INET, SOCK_DGRAM, 0)
        libc.bind(rx, ("127.0.0.1", 5300))
        tx = libc.socket(AF_INET, SOCK_DGRAM, 0)
        libc.bind(tx, ("127.0.0.1", 5301))
        libc.sendto(tx, b"datagram one", 0, ("127.0.0.1", 5300))
        libc.sendto(tx, b"two", 0, ("127.0.0.1", 5300))
        buf = bytearray(b"." * 8)
        first = libc.recvfrom_into(rx, buf)  # cut to the buffer, the rest of it dropped
        msg = Msghdr(msg_iov=[bytearray(2), bytearray(4)])
        second = sys_recvmsg(rx, msg, 64)
        with pytest.raises(OSError) as info:
            libc.sendto(tx, b"three", 0, ("127.0.0.1", 5300))
            libc.recv_into(rx, b"read-only")
        out.append((first, bytes(buf), second, [bytes(b) for b in msg.msg_iov], info.value.errno))

    host.spawn(program)
    world.run_until(lambda: bool(out))
    first, buf, second, iov, err = out[0]
    assert first == (8, ("127.0.0.1", 5301)) and buf == b"datagram"
    assert second == 3 and iov == [b"tw", b"o\0\0\0"]
    assert err == errno.EFAULT


def test_a_datagram_read_with_msg_trunc_gives_its_real_length_as_linux_does() -> None:
    def program(mod: Any) -> tuple[Any, ...]:
        rx = mod.socket(mod.AF_INET, mod.SOCK_DGRAM)
        rx.bind(("127.0.0.1", 0))
        tx = mod.socket(mod.AF_INET, mod.SOCK_DGRAM)
        for _ in range(3):
            tx.sendto(b"0123456789", rx.getsockname())
        buf = bytearray(b"....")
        n = rx.recv_into(buf, 4, mod.MSG_TRUNC)
        nbytes, addr = rx.recvfrom_into(buf, 3, mod.MSG_TRUNC)
        data = rx.recv(4, mod.MSG_TRUNC)
        rx.close()
        tx.close()
        return n, nbytes, bytes(buf), addr[0], len(data), data[:4]

    linux = program(socket)
    world, host = lo_world()
    out: list[Any] = []
    host.spawn(lambda: out.append(program(tsock)))
    world.run_until(lambda: bool(out))
    assert out[0][:4] == linux[:4] == (10, 10, b"0123", "127.0.0.1")
    # A plain recv: CPython's gives its result the datagram's length (PyPy's keeps what was copied).
    assert out[0][4:] == (10, b"0123")
    if platform.python_implementation() == "CPython":
        assert linux[4:] == out[0][4:]


def test_recvmsg_into_scatters_a_datagram_and_flags_what_did_not_fit() -> None:
    world, host = lo_world()
    out: list[Any] = []

    def program() -> None:
        rx = tsock.socket(tsock.AF_INET, tsock.SOCK_DGRAM)
        rx.bind(("127.0.0.1", 5310))
        tx = tsock.socket(tsock.AF_INET, tsock.SOCK_DGRAM)
        tx.bind(("127.0.0.1", 5311))
        tx.sendto(b"0123456789", ("127.0.0.1", 5310))
        tx.sendto(b"abc", ("127.0.0.1", 5310))
        head, tail = bytearray(4), bytearray(3)
        first = rx.recvmsg_into([head, memoryview(tail)])
        parts = (bytes(head), bytes(tail))
        second = rx.recvmsg_into([head, tail])
        out.append((first, parts, second, bytes(head)))
        with pytest.raises(OSError) as info:
            libc.recvmsg(rx.fileno(), Msghdr(), -1)
        out.append(info.value.errno)
        rx.close()
        tx.close()

    host.spawn(program)
    world.run_until(lambda: len(out) == 2)
    (first, parts, second, head), err = out
    assert first == (7, [], tsock.MSG_TRUNC, ("127.0.0.1", 5311)) and parts == (b"0123", b"456")
    assert second == (3, [], 0, ("127.0.0.1", 5311)) and head == b"abc3"
    assert err == errno.EINVAL


def test_recvmsg_into_reads_a_stream_across_its_buffers() -> None:
    def program(fd: int) -> tuple[int, bytes]:
        s = tsock.socket(fileno=fd)
        bufs = [bytearray(5), bytearray(6)]
        n, _, _, _ = s.recvmsg_into(bufs, 0, tsock.MSG_WAITALL)
        empty = s.recvmsg_into([])
        s.detach()
        return n, b"".join(bufs), empty[0]

    assert run(program) == (11, STREAM[:11], 0)


CPYTHON_ONLY = pytest.mark.skipif(
    platform.python_implementation() != "CPython",
    reason="the reference is CPython's socket module (PyPy's words its errors its own way, and waits on a "
           "negative recvfrom_into size)")


@CPYTHON_ONLY
@pytest.mark.parametrize("call", [
    ("recv_into", b"ro"), ("recv_into", None), ("recv_into", bytearray(2), -1), ("recv_into", bytearray(2), 5),
    ("recvfrom_into", b"ro"), ("recvfrom_into", None), ("recvfrom_into", bytearray(2), -1),
    ("recvfrom_into", bytearray(2), 5),
    ("recvmsg_into", 5), ("recvmsg_into", [b"ro"]), ("recvmsg_into", [None]), ("recvmsg_into", [bytearray(2)], -1),
    ("recvmsg", -1), ("recvmsg", 10, -1),
])
def test_python_argument_errors_match_the_standard_library(call: tuple[Any, ...]) -> None:
    # tuxnet.socket raises what CPython's socket module raises, type and words.
    method, *args = call
    a, b = socket.socketpair()
    with a, b:
        a.setblocking(False)
        with pytest.raises((TypeError, ValueError)) as std:
            getattr(a, method)(*args)
    world, host = lo_world()
    out: list[BaseException] = []

    def program() -> None:
        s = tsock.socket(tsock.AF_INET, tsock.SOCK_DGRAM)
        try:
            getattr(s, method)(*args)
        except (TypeError, ValueError) as e:
            out.append(e)
        s.close()

    host.spawn(program)
    world.run_until(lambda: bool(out))
    assert type(out[0]) is std.type and str(out[0]) == str(std.value)
