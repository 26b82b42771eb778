"""``tuxnet.socket`` and ``pyselect`` answer as CPython's ``socket`` and ``select`` do on Linux.

Each case below is a small program written against a socket module ``S`` and a select module.
It runs twice: with the standard modules in a network namespace of our own (this file run as a
script there), and with ``tuxnet.socket`` and ``tuxnet.user.pyselect`` on a tuxnet host that has
the namespace's buffer limits.  The outcomes must match: the value returned, or the exception's
type, errno and message.  CPython and the kernel are the judges; nothing here says what they do.

The last tests check what the standard library under ``stdlib()`` must never do: act on the test
runner's own descriptors.
"""

from __future__ import annotations

import array
import fcntl
import json
import os
import select as std_select
import socket as std_socket
import sys
import time
from collections.abc import Callable
from typing import Any

import pytest
from apps_support import outcome

SYSCTLS = ("net.core.rmem_max", "net.core.wmem_max")
PORT = 20000


def _tcp_pair(S: Any) -> tuple[Any, Any]:  # noqa: N803 - the socket module
    srv = S.socket(S.AF_INET, S.SOCK_STREAM)
    srv.setsockopt(S.SOL_SOCKET, S.SO_REUSEADDR, 1)
    srv.bind(("127.0.0.1", PORT))
    srv.listen(5)
    c = S.socket(S.AF_INET, S.SOCK_STREAM)
    c.connect(("127.0.0.1", PORT))
    a, _ = srv.accept()
    srv.close()
    return c, a


def _udp_pair(S: Any) -> tuple[Any, Any]:  # noqa: N803
    a = S.socket(S.AF_INET, S.SOCK_DGRAM)
    a.bind(("127.0.0.1", PORT))
    b = S.socket(S.AF_INET, S.SOCK_DGRAM)
    b.connect(("127.0.0.1", PORT))
    return a, b


def _get(S: Any, level: str, name: str, value: Any, buflen: int = 0) -> Any:  # noqa: N803
    sock = S.socket()
    sock.setsockopt(getattr(S, level), getattr(S, name), value)
    return sock.getsockopt(getattr(S, level), getattr(S, name), *([buflen] if buflen else []))


# -- the cases: (socket module, select module, sleep) -> anything JSON can carry ------------------

CASES: dict[str, Callable[[Any, Any, Any], Any]] = {
    # negative option values read back as values, not as a -errno (and as the kernel stores them)
    "so_priority_neg": lambda S, sel, sleep: _get(S, "SOL_SOCKET", "SO_PRIORITY", -1),
    "so_priority_neg_bytes": lambda S, sel, sleep: _get(S, "SOL_SOCKET", "SO_PRIORITY", -1, 4).hex(),
    "so_mark_neg": lambda S, sel, sleep: _get(S, "SOL_SOCKET", "SO_MARK", -2),
    "tcp_linger2_neg": lambda S, sel, sleep: _get(S, "IPPROTO_TCP", "TCP_LINGER2", -1),
    "tcp_linger2_neg_bytes": lambda S, sel, sleep: _get(S, "IPPROTO_TCP", "TCP_LINGER2", -1, 4).hex(),
    "tcp_notsent_lowat_neg": lambda S, sel, sleep: _get(S, "IPPROTO_TCP", "TCP_NOTSENT_LOWAT", -1),
    "so_rcvbuf_neg": lambda S, sel, sleep: _get(S, "SOL_SOCKET", "SO_RCVBUF", -1),
    "so_sndbuf_neg": lambda S, sel, sleep: _get(S, "SOL_SOCKET", "SO_SNDBUF", -1),
    "so_bindtodevice": lambda S, sel, sleep: _get(S, "SOL_SOCKET", "SO_BINDTODEVICE", b"lo", 16).hex(),
    "getsockopt_buflen_huge": lambda S, sel, sleep: S.socket().getsockopt(S.SOL_SOCKET, S.SO_TYPE, 2000),
    "getsockopt_buflen_neg": lambda S, sel, sleep: S.socket().getsockopt(S.SOL_SOCKET, S.SO_TYPE, -1),
    # setsockopt's values: any C-contiguous bytes-like object, a C int, nothing else
    "setsockopt_memoryview": lambda S, sel, sleep: _get(S, "IPPROTO_TCP", "TCP_NODELAY",
                                                        memoryview((1).to_bytes(4, "little"))),
    "setsockopt_array": lambda S, sel, sleep: _get(S, "SOL_SOCKET", "SO_SNDBUF", array.array("i", [8192])),
    "setsockopt_congestion_mv": lambda S, sel, sleep: _get(S, "IPPROTO_TCP", "TCP_CONGESTION",
                                                           memoryview(bytearray(b"reno")), 16).hex(),
    "setsockopt_str": lambda S, sel, sleep: _get(S, "SOL_SOCKET", "SO_REUSEADDR", "1"),
    "setsockopt_float": lambda S, sel, sleep: _get(S, "SOL_SOCKET", "SO_REUSEADDR", 1.0),
    "setsockopt_bigint": lambda S, sel, sleep: _get(S, "SOL_SOCKET", "SO_MARK", 0xFFFFFFFF),
    "setsockopt_int_and_len": lambda S, sel, sleep: S.socket().setsockopt(S.SOL_SOCKET, S.SO_REUSEADDR, 1, 4),
    # the data of send* and the buffers of recv*_into, as PyObject_GetBuffer takes them
    "send_strided_tcp": lambda S, sel, sleep: _tcp_pair(S)[0].send(memoryview(b"abcdef")[::2]),
    "sendall_strided_tcp": lambda S, sel, sleep: _tcp_pair(S)[0].sendall(memoryview(b"abcdef")[::2]),
    "sendto_strided": lambda S, sel, sleep: S.socket(S.AF_INET, S.SOCK_DGRAM).sendto(
        memoryview(b"abcdef")[::2], ("127.0.0.1", PORT)),
    "sendmsg_strided": lambda S, sel, sleep: _udp_pair(S)[1].sendmsg([memoryview(b"abcdef")[::2]]),
    "send_str": lambda S, sel, sleep: _tcp_pair(S)[0].send("abc"),
    "send_array": lambda S, sel, sleep: _udp_pair(S)[1].send(array.array("h", [1, 2])),
    "recv_into_strided": lambda S, sel, sleep: _udp_pair(S)[0].recv_into(memoryview(bytearray(6))[::2]),
    "recvmsg_into_strided": lambda S, sel, sleep: _udp_pair(S)[0].recvmsg_into([memoryview(bytearray(6))[::2]]),
    "recv_into_bytes": lambda S, sel, sleep: _udp_pair(S)[0].recv_into(b"xxxx"),
    # the arguments CPython checks before the system call
    "recv_float": lambda S, sel, sleep: S.socket(S.AF_INET, S.SOCK_DGRAM).recv(1.5),
    "recv_neg": lambda S, sel, sleep: S.socket(S.AF_INET, S.SOCK_DGRAM).recv(-1),
    "recv_flags_str": lambda S, sel, sleep: S.socket(S.AF_INET, S.SOCK_DGRAM).recv(5, "0"),
    "recv_flags_big": lambda S, sel, sleep: S.socket(S.AF_INET, S.SOCK_DGRAM).recv(5, 2**31),
    "send_flags_str": lambda S, sel, sleep: _tcp_pair(S)[0].send(b"x", "0"),
    "sendto_flags_str": lambda S, sel, sleep: S.socket(S.AF_INET, S.SOCK_DGRAM).sendto(
        b"x", "0", ("127.0.0.1", PORT)),
    "sendto_one_arg": lambda S, sel, sleep: S.socket(S.AF_INET, S.SOCK_DGRAM).sendto(b"x"),
    "shutdown_str": lambda S, sel, sleep: _tcp_pair(S)[0].shutdown("1"),
    "listen_float": lambda S, sel, sleep: S.socket().listen(1.0),
    "bind_port_big": lambda S, sel, sleep: S.socket().bind(("127.0.0.1", 70000)),
    "bind_port_neg": lambda S, sel, sleep: S.socket().bind(("127.0.0.1", -1)),
    "bind_port_str": lambda S, sel, sleep: S.socket().bind(("127.0.0.1", "80")),
    "bind_port_bool": lambda S, sel, sleep: _bound(S, ("127.0.0.1", True)),
    "bind_not_tuple": lambda S, sel, sleep: S.socket().bind("127.0.0.1"),
    "sendto_port_big": lambda S, sel, sleep: S.socket(S.AF_INET, S.SOCK_DGRAM).sendto(b"x", ("127.0.0.1", 65536)),
    "connect_ex_port_big": lambda S, sel, sleep: S.socket().connect_ex(("127.0.0.1", 65536)),
    "connect_ex_refused": lambda S, sel, sleep: S.socket().connect_ex(("127.0.0.1", PORT)),
    "connect_ex_no_such_name": lambda S, sel, sleep: _gai_type(lambda: S.socket().connect_ex(("no.such.invalid", 80))),
    "socket_fileno_neg": lambda S, sel, sleep: S.socket(fileno=-5),
    "socket_fileno_kinds": lambda S, sel, sleep: _kinds(S),
    # recv(0) and an empty recv_into buffer: no system call at all, even on a closed socket
    "recv_zero_udp_timeout": lambda S, sel, sleep: _timed(S, lambda s: s.recv(0)),
    "recv_into_empty_udp_timeout": lambda S, sel, sleep: _timed(S, lambda s: s.recv_into(bytearray())),
    "recv_zero_closed": lambda S, sel, sleep: _closed(S).recv(0),
    "recvfrom_zero_udp_timeout": lambda S, sel, sleep: _timed(S, lambda s: s.recvfrom(0)),
    # timeouts: parsed as CPython parses them, and waited for in poll before the call
    "settimeout_nan": lambda S, sel, sleep: S.socket().settimeout(float("nan")),
    "settimeout_inf": lambda S, sel, sleep: S.socket().settimeout(float("inf")),
    "settimeout_neg": lambda S, sel, sleep: S.socket().settimeout(-1),
    "settimeout_str": lambda S, sel, sleep: S.socket().settimeout("1"),
    "settimeout_bigint": lambda S, sel, sleep: S.socket().settimeout(10**30),
    "settimeout_tiny": lambda S, sel, sleep: _timeout_of(S, 1e-12),
    "settimeout_neg_zero": lambda S, sel, sleep: _timeout_of(S, -0.0),
    "settimeout_tenth": lambda S, sel, sleep: _timeout_of(S, 0.1),
    "setblocking_none": lambda S, sel, sleep: S.socket().setblocking(None),
    "rcvlowat_polls_first": lambda S, sel, sleep: _rcvlowat(S, sleep),
    # the module's other functions
    "cmsg": lambda S, sel, sleep: [S.CMSG_LEN(0), S.CMSG_LEN(4), S.CMSG_SPACE(1), S.CMSG_SPACE(4), S.CMSG_SPACE(9)],
    "cmsg_len_neg": lambda S, sel, sleep: S.CMSG_LEN(-1),
    "cmsg_len_big": lambda S, sel, sleep: S.CMSG_LEN(2**31 - 16),
    "cmsg_space_big": lambda S, sel, sleep: S.CMSG_SPACE(2**31 - 20),
    "if_nameindex": lambda S, sel, sleep: S.if_nameindex(),
    "if_nametoindex": lambda S, sel, sleep: [S.if_nametoindex("lo"), S.if_nametoindex(b"lo")],
    "if_nametoindex_none": lambda S, sel, sleep: S.if_nametoindex("nosuch0"),
    "if_indextoname": lambda S, sel, sleep: S.if_indextoname(1),
    "if_indextoname_none": lambda S, sel, sleep: S.if_indextoname(99),
    "socketpair_inet": lambda S, sel, sleep: S.socketpair(S.AF_INET),
    "send_fds_inet": lambda S, sel, sleep: _send_fds(S),
    "dup_fromfd": lambda S, sel, sleep: _dup_fromfd(S),
    "close_bad_fd": lambda S, sel, sleep: S.close(999),
    # select and poll
    "select_constants": lambda S, sel, sleep: [sel.PIPE_BUF, sel.error is OSError],
    "select_not_sequence": lambda S, sel, sleep: sel.select(1, [], []),
    "select_bad_object": lambda S, sel, sleep: sel.select([object()], [], [], 0),
    "select_timeout_nan": lambda S, sel, sleep: sel.select([], [], [], float("nan")),
    "select_timeout_inf": lambda S, sel, sleep: sel.select([], [], [], float("inf")),
    "select_timeout_str": lambda S, sel, sleep: sel.select([], [], [], "1"),
    "select_fd_too_big": lambda S, sel, sleep: sel.select([5000], [], [], 0),
    "poll_register_str": lambda S, sel, sleep: sel.poll().register("x"),
    "poll_eventmask_neg": lambda S, sel, sleep: sel.poll().register(S.socket(), -1),
    "poll_eventmask_big": lambda S, sel, sleep: sel.poll().register(S.socket(), 1 << 16),
    "poll_timeout_big": lambda S, sel, sleep: sel.poll().poll(2**40),
    "poll_timeout_str": lambda S, sel, sleep: sel.poll().poll("1"),
}


def _bound(S: Any, addr: Any) -> Any:  # noqa: N803
    sock = S.socket(S.AF_INET, S.SOCK_DGRAM)
    sock.bind(addr)
    return sock.getsockname()


def _gai_type(fn: Callable[[], Any]) -> Any:
    """Whether the call raised ``gaierror`` (its errno depends on the resolver's configuration)."""
    try:
        return ["returned", fn()]
    except std_socket.gaierror:
        return "gaierror"


def _kinds(S: Any) -> Any:  # noqa: N803
    sock = S.socket(S.AF_INET, S.SOCK_DGRAM)
    other = S.socket(fileno=S.dup(sock.fileno()))
    return [type(other.proto).__name__, int(other.family), int(other.type), other.proto]


def _timed(S: Any, fn: Callable[[Any], Any]) -> Any:  # noqa: N803
    sock = _udp_pair(S)[0]
    sock.settimeout(0.05)
    return fn(sock)


def _closed(S: Any) -> Any:  # noqa: N803
    sock = S.socket(S.AF_INET, S.SOCK_DGRAM)
    sock.close()
    return sock


def _timeout_of(S: Any, value: float) -> Any:  # noqa: N803
    sock = S.socket()
    sock.settimeout(value)
    return repr(sock.gettimeout())


def _rcvlowat(S: Any, sleep: Callable[[float], None]) -> Any:  # noqa: N803
    """3 bytes queued under SO_RCVLOWAT 10: poll never says readable, so a recv with a timeout
    times out (``sock_call_ex`` polls before it calls)."""
    c, a = _tcp_pair(S)
    a.setsockopt(S.SOL_SOCKET, S.SO_RCVLOWAT, 10)
    c.sendall(b"abc")
    sleep(0.05)
    a.settimeout(0.2)
    return a.recv(100)


def _send_fds(S: Any) -> Any:  # noqa: N803
    """SCM_RIGHTS on an AF_INET socket: passed over, the data sent alone."""
    a, b = _udp_pair(S)
    sent = S.send_fds(b, [b"xy"], [b.fileno()])
    return [sent, S.recv_fds(a, 10, 2)[:2]]


def _dup_fromfd(S: Any) -> Any:  # noqa: N803
    sock = S.socket(S.AF_INET, S.SOCK_DGRAM)
    sock.bind(("127.0.0.1", PORT))
    fd = S.dup(sock.fileno())
    other = S.fromfd(fd, S.AF_INET, S.SOCK_DGRAM)
    S.close(fd)
    return [fd != sock.fileno(), other.getsockname(), other.get_inheritable()]


# -- the kernel's side: this file as a script in the namespace ---------------------------------------

def kernel_main() -> None:
    sysctls = {name: open(f"/proc/sys/{name.replace('.', '/')}").read().split()[0] for name in SYSCTLS}
    results = {name: outcome(lambda case=case: case(std_socket, std_select, time.sleep))
               for name, case in CASES.items()}
    json.dump({"sysctls": sysctls, "results": results}, sys.stdout)


# -- tuxnet's side -----------------------------------------------------------------------------------

def tuxnet_outcome(name: str, sysctls: dict[str, str]) -> list[Any]:
    from tuxnet import benchmarks
    from tuxnet import socket as tsock
    from tuxnet.user import pyselect
    from tuxnet.user.etc import install_base_files

    world, host = benchmarks.lo_world(1, "box")
    install_base_files(host)
    for key, value in sysctls.items():
        host.sysctl.set(key, value)
    box: dict[str, Any] = {}

    def program() -> None:
        box["r"] = outcome(lambda: CASES[name](tsock, pyselect, pyselect.sleep))

    proc = host.spawn(program)
    world.run_until(lambda: not proc.alive, timeout=100 * 10**9)
    return box.get("r", ["hung"])


@pytest.fixture(scope="module")
def kernel() -> dict[str, Any]:
    from tuxnet.tapnet import Netns

    if os.geteuid() != 0:
        pytest.skip("needs root (CAP_NET_ADMIN) for a network namespace")
    try:
        ns = Netns(f"tuxnet-fid-{os.getpid()}")
    except (OSError, FileNotFoundError) as e:
        pytest.skip(str(e))
    try:
        done = ns.run(sys.executable, os.path.abspath(__file__), check=False, timeout=120)
    finally:
        ns.close()
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout)


@pytest.mark.parametrize("name", sorted(CASES))
def test_case_ends_as_with_cpython_on_linux(kernel: dict[str, Any], name: str) -> None:
    assert tuxnet_outcome(name, kernel["sysctls"]) == kernel["results"][name]


# -- the runner's own descriptors ----------------------------------------------------------------

def test_stdlib_functions_on_descriptors_stay_on_the_host(tmp_path: Any) -> None:
    """Under ``stdlib()``, ``socket.close``/``dup``/``fromfd`` act on the process's descriptors on
    its host, ``socketpair`` fails as Linux without AF_UNIX does, and the runner's own descriptor
    of the same number is left alone."""
    from tuxnet import benchmarks
    from tuxnet.socket import stdlib

    world, host = benchmarks.lo_world(1, "box")
    opened = os.open(tmp_path / "sentinel", os.O_CREAT | os.O_RDWR)
    real_fd = fcntl.fcntl(opened, fcntl.F_DUPFD, 100)  # (a number no host descriptor has)
    os.close(opened)
    out: dict[str, Any] = {}

    @stdlib
    def program() -> None:
        sock = std_socket.socket(std_socket.AF_INET, std_socket.SOCK_DGRAM)
        sock.bind(("127.0.0.1", 5000))
        fd = std_socket.dup(sock.fileno())
        out["fromfd"] = std_socket.fromfd(fd, std_socket.AF_INET, std_socket.SOCK_DGRAM).getsockname()
        std_socket.close(fd)
        for what, call in (("close", lambda: std_socket.close(real_fd)),
                           ("socketpair", std_socket.socketpair),
                           ("dup", lambda: std_socket.dup(real_fd))):
            try:
                call()
            except OSError as e:
                out[what] = e.errno
        out["if_nameindex"] = std_socket.if_nameindex()

    try:
        proc = host.spawn(program)
        world.run_until(lambda: not proc.alive, timeout=10**10)
        os.fstat(real_fd)  # (still open: EBADF here otherwise)
    finally:
        os.close(real_fd)
    assert out == {"fromfd": ("127.0.0.1", 5000), "close": 9, "socketpair": 97, "dup": 9,
                   "if_nameindex": [(1, "lo")]}


def test_stdlib_send_fds_and_recv_fds_use_the_host() -> None:
    """``send_fds`` and ``recv_fds`` under ``stdlib()`` go through the host's sockets."""
    from tuxnet import benchmarks
    from tuxnet.socket import stdlib

    world, host = benchmarks.lo_world(1, "box")
    out: dict[str, Any] = {}

    @stdlib
    def program() -> None:
        a = std_socket.socket(std_socket.AF_INET, std_socket.SOCK_DGRAM)
        a.bind(("127.0.0.1", 5000))
        b = std_socket.socket(std_socket.AF_INET, std_socket.SOCK_DGRAM)
        b.connect(("127.0.0.1", 5000))
        out["sent"] = std_socket.send_fds(b, [b"hi"], [b.fileno()])
        out["got"] = std_socket.recv_fds(a, 10, 1)[:2]

    proc = host.spawn(program)
    world.run_until(lambda: not proc.alive, timeout=10**10)
    assert out == {"sent": 2, "got": (b"hi", [])}


if __name__ == "__main__":
    kernel_main()
