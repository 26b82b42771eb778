"""Python's socket API on tuxnet: ``tuxnet.socket`` matches the standard library's module, and
unmodified standard-library code (http.client, urllib.request, socketserver, select, selectors,
time) runs inside a tuxnet process with ``patch_stdlib``."""

from __future__ import annotations

import array
import errno
import http.client
import http.server
import select
import selectors
import socket
import socketserver
import time
import urllib.request
from typing import Any

import pytest
from apps_support import dns_world, lo_world, run

from tuxnet import socket as tsock
from tuxnet.socket import patch_stdlib, stdlib
from tuxnet.user.etc import install_base_files
from tuxnet.user.programs.http import httpd


def test_names_match_the_standard_library() -> None:
    for name in ("AF_INET", "SOCK_STREAM", "SOCK_DGRAM", "SOL_SOCKET", "SO_REUSEADDR", "IPPROTO_TCP",
                 "TCP_NODELAY", "MSG_PEEK", "SHUT_RDWR", "AI_CANONNAME", "EAI_NONAME", "SOMAXCONN"):
        assert getattr(tsock, name) == getattr(socket, name), name
    assert tsock.error is OSError and tsock.timeout is TimeoutError
    assert tsock.gaierror is socket.gaierror and tsock.herror is socket.herror
    for name in ("socket", "create_connection", "create_server", "getaddrinfo", "gethostbyname",
                 "gethostbyname_ex", "gethostbyaddr", "getnameinfo", "gethostname", "getfqdn", "getservbyname",
                 "getservbyport", "inet_aton", "inet_ntoa", "htons", "getdefaulttimeout", "setdefaulttimeout"):
        assert callable(getattr(tsock, name)), name
    for method in ("accept", "bind", "close", "connect", "connect_ex", "detach", "fileno", "getpeername",
                   "getsockname", "getsockopt", "setsockopt", "gettimeout", "settimeout", "setblocking",
                   "getblocking", "listen", "makefile", "recv", "recvfrom", "recv_into", "recvfrom_into", "recvmsg",
                   "recvmsg_into", "send",
                   "sendall", "sendto", "shutdown", "family", "type", "proto"):
        assert hasattr(tsock.socket, method), method
    # Every method of the standard library's socket but AF_ALG's (the kernel's crypto API).
    missing = {m for m in dir(socket.socket) if not m.startswith("_")} - set(dir(tsock.socket))
    assert missing == {"sendmsg_afalg"}


def test_tcp_with_the_socket_class() -> None:
    world, host = lo_world()

    def server() -> None:
        with tsock.create_server(("127.0.0.1", 7000)) as srv:
            conn, peer = srv.accept()
            with conn, conn.makefile("rwb") as f:
                line = f.readline()
                f.write(b"echo " + line)
                f.flush()

    def client() -> tuple[Any, ...]:
        with tsock.create_connection(("localhost", 7000), timeout=5) as s:
            assert s.family is socket.AF_INET and s.type is socket.SOCK_STREAM and s.proto == 6
            s.setsockopt(tsock.IPPROTO_TCP, tsock.TCP_NODELAY, 1)
            s.sendall(b"hello\n")
            buf = bytearray(64)
            n = s.recv_into(buf)
            return bytes(buf[:n]), s.getsockopt(tsock.IPPROTO_TCP, tsock.TCP_NODELAY), s.getpeername()

    install_base_files(host)
    host.spawn(server)
    data, nodelay, peer = run(world, host, client)
    assert data == b"echo hello\n" and nodelay == 1 and peer == ("127.0.0.1", 7000)


def test_typed_buffers_go_as_their_bytes() -> None:
    # As with the standard library: an array of ints is sent as its bytes, and recv_into fills a
    # typed buffer byte by byte (byte_view casts such views; a view of bytes goes as it is).
    world, host = lo_world()
    sent = array.array("i", range(1000))

    def server() -> None:
        with tsock.create_server(("127.0.0.1", 7001)) as srv:
            conn, _ = srv.accept()
            with conn:
                got = b""
                while len(got) < len(sent) * sent.itemsize:
                    got += conn.recv(65536)
                conn.sendall(memoryview(got)[:8])

    def client() -> tuple[int, list[int]]:
        with tsock.create_connection(("127.0.0.1", 7001)) as s:
            s.sendall(sent)
            back = array.array("i", [0, 0])
            n = s.recv_into(back)
            return n, list(back)

    host.spawn(server)
    assert run(world, host, client) == (8, [0, 1])


def test_timeouts_nonblocking_and_errors() -> None:
    world, host = lo_world()

    def program() -> dict[str, Any]:
        out: dict[str, Any] = {}
        u = tsock.socket(tsock.AF_INET, tsock.SOCK_DGRAM)
        u.bind(("127.0.0.1", 5353))
        u.settimeout(1.5)
        t0 = time.monotonic()
        try:
            u.recv(100)
        except TimeoutError as e:
            out["timeout"] = (str(e), round(time.monotonic() - t0, 3))
        u.setblocking(False)
        try:
            u.recvfrom(100)
        except BlockingIOError as e:
            out["nonblocking"] = e.errno
        u.sendto(b"x" * 300, ("127.0.0.1", 5353))
        data, _, flags, addr = u.recvmsg(100)
        out["recvmsg"] = (len(data), flags & tsock.MSG_TRUNC, addr[0])
        u.close()
        s = tsock.socket()
        out["connect_ex"] = s.connect_ex(("127.0.0.1", 9))
        s.close()
        try:
            tsock.create_connection(("127.0.0.1", 9))
        except ConnectionRefusedError as e:
            out["refused"] = e.errno
        try:
            tsock.socket(tsock.AF_INET6, tsock.SOCK_STREAM)
        except OSError as e:
            out["inet6"] = e.errno
        try:
            tsock.getaddrinfo("no.such.name", 80)
        except tsock.gaierror as e:
            out["gai"] = e.errno
        return out

    out = run(world, host, stdlib(program))
    assert out["timeout"] == ("timed out", 1.5)
    assert out["nonblocking"] == errno.EAGAIN
    assert out["recvmsg"] == (100, tsock.MSG_TRUNC, "127.0.0.1")
    assert out["connect_ex"] == errno.ECONNREFUSED and out["refused"] == errno.ECONNREFUSED
    assert out["inet6"] == errno.EAFNOSUPPORT  # no IPv6 stack on the hosts
    assert out["gai"] in (socket.EAI_NONAME, socket.EAI_AGAIN)


def test_name_service_functions() -> None:
    world, host = dns_world()

    def program() -> tuple[Any, ...]:
        infos = tsock.getaddrinfo("www.example.com", "http", type=tsock.SOCK_STREAM)
        # a service given as bytes goes to the C library as they are, UTF-8 or not (as CPython)
        assert tsock.getaddrinfo("www.example.com", b"http", type=tsock.SOCK_STREAM)[0][4] == ("10.0.3.80", 80)
        with pytest.raises(tsock.gaierror) as info:
            tsock.getaddrinfo("www.example.com", b"\xff\xfe", type=tsock.SOCK_STREAM)
        assert info.value.errno == socket.EAI_SERVICE
        return (infos[0][0], infos[0][1], infos[0][4], tsock.gethostbyname("www.example.com"),
                tsock.gethostbyname_ex("www.example.com"), tsock.gethostbyaddr("10.0.3.80")[0],
                tsock.getservbyname("domain", "udp"), tsock.getservbyport(80), tsock.gethostname())

    af, st, sa, ip, ex, rname, dport, sname, hostname = run(world, host, program)
    assert af is socket.AF_INET and st is socket.SOCK_STREAM and sa == ("10.0.3.80", 80)
    assert ip == "10.0.3.80" and ex == ("web.example.com", ["www.example.com"], ["10.0.3.80"])
    assert (rname, dport, sname, hostname) == ("web.example.com", 53, "http", "box")


def test_host_names_reach_the_resolver_as_cpython_passes_them() -> None:
    """CPython's socket module hands the C library a non-ASCII name encoded by the idna codec,
    and bytes as they are; the C library itself (glibc) asks no server about a name that is not
    a host name (nss_dns's ``check_name``).  The questions a name server is asked show which
    name went."""
    from test_app_resolver import fake_dns

    from tuxnet.user import libc

    world, host = lo_world()
    log: list[tuple[str, str]] = []
    host.spawn(fake_dns, "127.0.0.53", log, "answer", {"xn--bcher-kva.example.": "10.1.2.3"})
    install_base_files(host, nameservers=["127.0.0.53"])

    def program() -> tuple[Any, ...]:
        by_text = tsock.getaddrinfo("bücher.example", 80, tsock.AF_INET, tsock.SOCK_STREAM)[0][4]
        by_bytes = tsock.gethostbyname(b"xn--bcher-kva.example")
        with pytest.raises(UnicodeError):
            tsock.getaddrinfo("a" * 64 + ".example", 80)  # as CPython: the idna codec refuses the label
        with pytest.raises(OSError):
            libc.gethostbyname("bücher.example")  # not a host name: HOST_NOT_FOUND, no query
        return by_text, by_bytes

    assert run(world, host, program) == (("10.1.2.3", 80), "10.1.2.3")
    assert [q for q, _ in log] == ["xn--bcher-kva.example.", "xn--bcher-kva.example."]
    with pytest.raises(UnicodeError):
        socket.getaddrinfo("a" * 64 + ".example", 80)


def test_patch_applies_to_tuxnet_processes_only() -> None:
    world, host = lo_world()
    originals = (socket.socket, socket.getaddrinfo, select.select, selectors.DefaultSelector, time.time)
    with patch_stdlib():
        real = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)  # the test runner is no tuxnet process
        assert type(real).__module__ == "socket" and isinstance(real, socket.socket)
        real.close()

        def program() -> tuple[Any, ...]:
            s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
            kind = (type(s).__module__, isinstance(s, socket.socket))
            s.close()
            t0 = time.time()
            time.sleep(2.5)
            return kind, t0, time.time() - t0, socket.gethostname()

        kind, t0, slept, name = run(world, host, program)
    assert kind == ("tuxnet.socket", True)
    assert t0 == 1_423_180_800 and slept == 2.5 and name == "box"  # the world starts at Linux 3.18.6
    assert (socket.socket, socket.getaddrinfo, select.select, selectors.DefaultSelector, time.time) == originals

    def kind_of_socket() -> str:
        s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        s.close()
        return type(s).__module__

    host.spawn(stdlib(lambda: time.sleep(10)))  # a program under stdlib() is running meanwhile
    assert run(world, host, stdlib(kind_of_socket)) == "tuxnet.socket"
    assert run(world, host, kind_of_socket) == "socket"  # a process not under stdlib() is not served
    world.run()
    assert socket.socket is originals[0]  # the last stdlib() program is gone: the originals are back


def test_select_and_selectors_wait_on_tuxnet_sockets() -> None:
    world, host = lo_world()

    @stdlib
    def program() -> tuple[Any, ...]:
        a = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        a.bind(("127.0.0.1", 6000))
        b = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        t0 = time.monotonic()
        r0 = select.select([a], [], [], 0.25)
        waited = time.monotonic() - t0
        b.sendto(b"ping", ("127.0.0.1", 6000))
        r1, w1, _ = select.select([a], [b], [], 1)
        with selectors.DefaultSelector() as sel:
            sel.register(a, selectors.EVENT_READ, "a")
            events = [(key.data, ev) for key, ev in sel.select(1)]
        return r0, round(waited, 3), r1 == [a], w1 == [b], events

    r0, waited, readable, writable, events = run(world, host, program)
    assert r0 == ([], [], []) and waited == 0.25
    assert readable and writable and events == [("a", selectors.EVENT_READ)]


def test_http_client_and_urllib_unmodified() -> None:
    world, host = lo_world()
    install_base_files(host, hosts={"127.0.0.1": ["www.example.com"]})
    host.files["/var/www/index.html"] = "<h1>home</h1>\n"
    host.spawn(httpd)

    @stdlib
    def program() -> tuple[Any, ...]:
        conn = http.client.HTTPConnection("www.example.com", 80, timeout=10)
        conn.request("GET", "/")
        r1 = conn.getresponse()
        first = (r1.status, r1.reason, r1.read(), r1.getheader("Content-Type"))
        conn.request("HEAD", "/")  # the same connection, kept alive
        r2 = conn.getresponse()
        second = (r2.status, r2.read(), r2.getheader("Content-Length"))
        conn.close()
        opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))
        with opener.open("http://www.example.com/index.html", timeout=10) as resp:
            third = (resp.status, resp.read())
        return first, second, third

    first, second, third = run(world, host, program)
    assert first == (200, "OK", b"<h1>home</h1>\n", "text/html; charset=utf-8")
    assert second == (200, b"", "14")
    assert third == (200, b"<h1>home</h1>\n")
    assert host.mib.Tcp["ActiveOpens"] == 2  # GET and HEAD shared one connection


class Hello(http.server.BaseHTTPRequestHandler):
    def do_GET(self) -> None:  # noqa: N802 - the standard library's name
        body = f"hello from {self.server.server_name} for {self.path}".encode()
        self.send_response(200)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: Any) -> None:
        self.server.log.append(format % args)


class UdpEcho(socketserver.BaseRequestHandler):
    def handle(self) -> None:
        data, sock = self.request
        sock.sendto(data.upper(), self.client_address)


def test_socketserver_servers_unmodified() -> None:
    world, host = lo_world(name="srv")
    install_base_files(host, hosts={"127.0.1.1": ["srv.example.com", "srv"]})  # the Debian convention

    @stdlib
    def web() -> None:
        server = http.server.HTTPServer(("", 8000), Hello)
        server.log = []
        host.web = server
        server.serve_forever()

    @stdlib
    def udp() -> None:
        with socketserver.UDPServer(("127.0.0.1", 9999), UdpEcho) as server:
            server.handle_request()

    @stdlib
    def client() -> tuple[Any, ...]:
        opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))
        page = opener.open("http://127.0.0.1:8000/x").read()
        s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        s.settimeout(5)
        s.sendto(b"shout", ("127.0.0.1", 9999))
        return page, s.recvfrom(100)

    host.spawn(web)
    host.spawn(udp)
    page, (answer, addr) = run(world, host, client)
    assert page == b"hello from srv.example.com for /x"
    assert answer == b"SHOUT" and addr == ("127.0.0.1", 9999)
    assert host.web.log == ['"GET /x HTTP/1.1" 200 -']


@pytest.mark.parametrize("timeout", [None, 0.0, 2.0])
def test_accepted_sockets_inherit_no_timeout(timeout: float | None) -> None:
    world, host = lo_world()

    def program() -> tuple[Any, ...]:
        srv = tsock.create_server(("127.0.0.1", 7100))
        srv.settimeout(timeout)
        c = tsock.create_connection(("127.0.0.1", 7100))
        if timeout == 0.0:
            tsock.libc.sleep(0.01)
        conn, _ = srv.accept()
        return conn.gettimeout(), conn.getblocking(), c.gettimeout()

    assert run(world, host, program) == (None, True, None)
