"""System calls fail with the errno Linux gives, and reach the program as OSError."""

from __future__ import annotations

import errno

import pytest

from procs import run_program
from tuxnet.kernel.fs import O_NONBLOCK
from tuxnet.net.socket import (
    AF_INET,
    F_GETFL,
    F_SETFL,
    MSG_DONTWAIT,
    SHUT_RD,
    SHUT_WR,
    SOCK_DGRAM,
    SOCK_RAW,
    SOCK_STREAM,
    sockfd_lookup_light,
    sys_socketcall,
)
from tuxnet.user import libc


def expect_errno(code, fn, *args):
    with pytest.raises(OSError) as info:
        fn(*args)
    assert info.value.errno == code, f"{fn.__name__}{args}: {info.value}"


def errno_of(fn, *args):
    """The errno ``fn(*args)`` fails with, None when it succeeds."""
    try:
        fn(*args)
    except OSError as error:
        return error.errno
    return None


def listener(port=5001, backlog=16, reuse=False):
    fd = libc.socket(AF_INET, SOCK_STREAM, 0)
    if reuse:
        libc.setsockopt(fd, 1, 2, 1)  # SOL_SOCKET, SO_REUSEADDR
    libc.bind(fd, ("127.0.0.1", port))
    libc.listen(fd, backlog)
    return fd


@pytest.mark.parametrize("port", [9, 0])
def test_connect_to_closed_port_is_refused_by_rst(lo_host, port):
    """Port 0 too: tcp_v4_connect sends its SYN there, as this machine's kernel does."""
    import socket

    with socket.socket() as real:
        assert errno_of(real.connect, ("127.0.0.1", port)) == errno.ECONNREFUSED
    world, host = lo_host

    def prog():
        fd = libc.socket(AF_INET, SOCK_STREAM, 0)
        expect_errno(errno.ECONNREFUSED, libc.connect, fd, ("127.0.0.1", port))
        return True

    assert run_program(world, host, prog)
    assert host.mib.Tcp["OutRsts"] == 1 and host.mib.Tcp["AttemptFails"] == 1


def test_second_bind_is_eaddrinuse_and_reuseaddr_rules(lo_host):
    world, host = lo_host

    def prog():
        a = libc.socket(AF_INET, SOCK_STREAM, 0)
        libc.bind(a, ("127.0.0.1", 7000))
        b = libc.socket(AF_INET, SOCK_STREAM, 0)
        expect_errno(errno.EADDRINUSE, libc.bind, b, ("127.0.0.1", 7000))
        expect_errno(errno.EADDRINUSE, libc.bind, b, ("0.0.0.0", 7000))
        expect_errno(errno.EINVAL, libc.bind, a, ("127.0.0.1", 7001))  # already bound
        c = libc.socket(AF_INET, SOCK_STREAM, 0)
        expect_errno(errno.EADDRNOTAVAIL, libc.bind, c, ("10.9.9.9", 7002))
        return True

    assert run_program(world, host, prog)


def test_reuseaddr_rebinds_over_time_wait(lo_host):
    world, host = lo_host

    def server():
        fd = listener(7100, reuse=True)  # children, and so their TIME_WAIT, inherit SO_REUSEADDR
        conn, _ = libc.accept(fd)
        libc.close(conn)  # active close: the server side enters TIME_WAIT
        libc.close(fd)

    def client():
        fd = libc.socket(AF_INET, SOCK_STREAM, 0)
        libc.connect(fd, ("127.0.0.1", 7100))
        assert libc.recv(fd, 10) == b""
        libc.close(fd)

    host.spawn(server)
    run_program(world, host, client)
    world.run_for(1_000_000_000)
    tw = [sk for sk in host.tcp_hashinfo.ehash.values() if sk.sk_state == 6]
    assert len(tw) == 1 and tw[0].inet_num == 7100

    def rebind(reuse):
        fd = libc.socket(AF_INET, SOCK_STREAM, 0)
        if reuse:
            libc.setsockopt(fd, 1, 2, 1)
        try:
            libc.bind(fd, ("127.0.0.1", 7100))
            libc.listen(fd, 1)
            return "ok"
        except OSError as e:
            return e.errno
        finally:
            libc.close(fd)

    assert run_program(world, host, rebind, False) == errno.EADDRINUSE
    assert run_program(world, host, rebind, True) == "ok"
    world.run_for(60_000_000_000)
    assert not host.tcp_hashinfo.ehash, "TIME_WAIT lasts 60 s, then the entry goes"
    assert run_program(world, host, rebind, False) == "ok"


def test_nonblocking_recv_accept_connect(lo_host):
    world, host = lo_host

    def prog():
        lfd = listener(7200)
        libc.fcntl(lfd, F_SETFL, O_NONBLOCK)
        assert libc.fcntl(lfd, F_GETFL) & O_NONBLOCK
        expect_errno(errno.EAGAIN, libc.accept, lfd)
        c = libc.socket(AF_INET, SOCK_STREAM | O_NONBLOCK, 0)
        expect_errno(errno.EINPROGRESS, libc.connect, c, ("127.0.0.1", 7200))
        libc.sleep(0.001)
        libc.connect(c, ("127.0.0.1", 7200))  # completes the non-blocking connect: 0, as Linux
        expect_errno(errno.EISCONN, libc.connect, c, ("127.0.0.1", 7200))
        s, peer = libc.accept(lfd)
        assert peer == libc.getsockname(c)
        expect_errno(errno.EAGAIN, libc.recv, s, 100, MSG_DONTWAIT)  # accept() does not pass O_NONBLOCK on
        expect_errno(errno.EAGAIN, libc.recv, c, 100)
        libc.send(c, b"x")
        assert libc.recv(s, 100, MSG_DONTWAIT) == b"x"
        return True

    assert run_program(world, host, prog)


def test_send_after_peer_is_gone_ends_in_epipe(lo_host):
    world, host = lo_host

    def prog():
        lfd = listener(7300)
        c = libc.socket(AF_INET, SOCK_STREAM, 0)
        libc.connect(c, ("127.0.0.1", 7300))
        s, _ = libc.accept(lfd)
        libc.close(s)
        libc.close(lfd)
        libc.sleep(0.01)
        libc.send(c, b"first")  # the peer answers with RST
        libc.sleep(0.01)
        expect_errno(errno.EPIPE, libc.send, c, b"second")
        return True

    assert run_program(world, host, prog)


def test_bad_arguments(lo_host):
    world, host = lo_host

    def prog():
        expect_errno(errno.EBADF, libc.send, 99, b"x")
        expect_errno(errno.EBADF, libc.close, 42)
        expect_errno(errno.ENOTSOCK, libc.send, 1, b"x")
        expect_errno(errno.EAFNOSUPPORT, libc.socket, 10, SOCK_STREAM, 0)
        expect_errno(errno.EPROTONOSUPPORT, libc.socket, AF_INET, SOCK_STREAM, 17)
        # inet_create's matching in inetsw, as this machine's kernel answers: a raw socket needs a
        # protocol, and another type's protocol is refused; the type's own is taken, named or not.
        expect_errno(errno.EPROTONOSUPPORT, libc.socket, AF_INET, SOCK_RAW, 0)
        expect_errno(errno.EPROTONOSUPPORT, libc.socket, AF_INET, SOCK_DGRAM, 6)
        for type, proto in ((SOCK_STREAM, 6), (SOCK_STREAM, 0), (SOCK_DGRAM, 0), (SOCK_RAW, 1), (SOCK_RAW, 6)):
            fd = libc.socket(AF_INET, type, proto)
            sock, _ = sockfd_lookup_light(fd)
            assert sock.sk.sk_protocol == (proto or {SOCK_STREAM: 6, SOCK_DGRAM: 17}[type])
            libc.close(fd)
        expect_errno(errno.EINVAL, libc.socket, AF_INET, 77, 0)
        fd = libc.socket(AF_INET, SOCK_STREAM, 0)
        expect_errno(errno.EINVAL, libc.bind, fd, ("not-an-address", 1))
        expect_errno(errno.EINVAL, libc.bind, fd, ("127.0.0.1", 70000))
        expect_errno(errno.ENOTCONN, libc.getpeername, fd)
        expect_errno(errno.ENOTCONN, libc.recv, fd, 10)
        expect_errno(errno.EPIPE, libc.send, fd, b"x")
        expect_errno(errno.ENOTCONN, libc.shutdown, fd, SHUT_WR)
        expect_errno(errno.EINVAL, libc.shutdown, fd, 7)
        expect_errno(errno.ENOPROTOOPT, libc.setsockopt, fd, 1, 999, 1)
        expect_errno(errno.EFAULT, libc.send, fd, "text, not bytes")
        expect_errno(errno.EOPNOTSUPP, libc.listen, libc.socket(AF_INET, SOCK_DGRAM, 0), 1)
        assert sys_socketcall(99, ()) == -errno.EINVAL
        assert sys_socketcall(9, (1,)) == -errno.EINVAL  # SYS_SEND with too few arguments
        return True

    assert run_program(world, host, prog)


def test_so_bindtodevice_takes_a_name_as_bytes(lo_host):
    # sock_setbindtodevice: IFNAMSIZ - 1 bytes at most, up to the first NUL, compared as bytes;
    # a name no device has, UTF-8 or not, is ENODEV (it used to kill the program with a
    # UnicodeDecodeError).
    world, host = lo_host

    def prog():
        fd = libc.socket(AF_INET, SOCK_DGRAM, 0)
        for name in (b"\xff\xfe", b"eth9", b"l\xc3\xb6"):
            expect_errno(errno.ENODEV, libc.setsockopt, fd, 1, 25, name)  # SOL_SOCKET, SO_BINDTODEVICE
        libc.setsockopt(fd, 1, 25, b"lo\0junk")
        assert libc.getsockopt(fd, 1, 25) == b"lo\0"  # (sock_getbindtodevice: with its NUL)
        libc.setsockopt(fd, 1, 25, b"")
        assert libc.getsockopt(fd, 1, 25) == b""
        return True

    assert run_program(world, host, prog)


def test_half_close_with_shutdown(lo_host):
    world, host = lo_host

    def prog():
        lfd = listener(7400)
        c = libc.socket(AF_INET, SOCK_STREAM, 0)
        libc.connect(c, ("127.0.0.1", 7400))
        s, _ = libc.accept(lfd)
        libc.send(c, b"request")
        libc.shutdown(c, SHUT_WR)
        got = b""
        while True:
            chunk = libc.recv(s, 100)
            if not chunk:
                break
            got += chunk
        libc.send(s, b"answer after the peer's FIN")
        libc.close(s)
        reply = libc.recv(c, 100)
        assert libc.recv(c, 100) == b""
        expect_errno(errno.EPIPE, libc.send, c, b"no more")
        libc.close(c)
        return got, reply

    got, reply = run_program(world, host, prog)
    assert got == b"request" and reply == b"answer after the peer's FIN"


def test_accept_queue_bounded_by_backlog(lo_host):
    """sk_acceptq_is_full is ``>``: a listener takes one connection more than its backlog, and
    drops the SYNs after that (ListenOverflows).  This machine's kernel, listen(0) and three
    non-blocking connects: one ESTAB, two SYN-SENT, TcpExtListenOverflows 2."""
    world, host = lo_host

    def prog():
        listener(7500, backlog=2)
        clients = []
        for _ in range(4):
            c = libc.socket(AF_INET, SOCK_STREAM | O_NONBLOCK, 0)
            expect_errno(errno.EINPROGRESS, libc.connect, c, ("127.0.0.1", 7500))
            clients.append(c)
        libc.sleep(0.01)
        return host.tcp_hashinfo.lhash[7500][0].sk_ack_backlog

    assert run_program(world, host, prog) == 3
    assert host.mib.TcpExt["ListenOverflows"] == 1


def test_a_former_listener_cannot_connect(lo_host):
    """A listener closed by shutdown(SHUT_RD) or connect(AF_UNSPEC) may bind and listen again,
    but every connect of it fails with EINVAL, as on this machine's kernel (6.18: a fresh
    socket's connect to the same closed port is ECONNREFUSED)."""
    world, host = lo_host

    def prog():
        results = []
        for close in (lambda fd: libc.shutdown(fd, SHUT_RD), lambda fd: libc.connect(fd, None)):
            fd = libc.socket(AF_INET, SOCK_STREAM, 0)
            libc.listen(fd, 16)
            close(fd)
            for _ in range(2):
                results.append(errno_of(libc.connect, fd, ("127.0.0.1", 40000)))
            libc.listen(fd, 3)
        fresh = libc.socket(AF_INET, SOCK_STREAM, 0)
        results.append(errno_of(libc.connect, fresh, ("127.0.0.1", 40000)))
        return results

    assert run_program(world, host, prog) == [errno.EINVAL] * 4 + [errno.ECONNREFUSED]
