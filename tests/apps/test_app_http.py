"""The web server and client: static files and handlers, HEAD, keep-alive, chunked bodies,
redirects, and bad or slow requests answered with an error or a closed connection while the server
goes on serving others."""

from __future__ import annotations

from typing import Any

import pytest
from apps_support import lo_world, run

from tuxnet import socket as tsock
from tuxnet.user import pyselect
from tuxnet.user.etc import install_base_files
from tuxnet.user.programs.http import HttpError, Request, Response, http_request, httpd

ADDR = ("127.0.0.1", 80)


def echo(req: Request) -> Response:
    return Response(200, [("Content-Type", "text/plain")], f"{req.method} {req.target} {req.body!r}".encode())


def redirect(status: int, location: str) -> Any:
    return lambda req: Response(status, [("Location", location)], b"")


def chunks(req: Request) -> Response:
    return Response(200, [("Content-Type", "text/plain")], (f"part {i}\n".encode() for i in range(3)))


def broken_stream(req: Request) -> Response:
    def gen() -> Any:
        yield b"first part\n"
        raise RuntimeError("the handler's generator fails")
    return Response(200, [], gen())


def crash(req: Request) -> Response:
    raise ValueError("handler bug")


def not_a_response(req: Request) -> Response:
    return "hello"  # type: ignore[return-value]


def bad_header(req: Request) -> Response:
    return Response(200, [("Bad Header", "x")], b"")


HANDLERS = {"/wrong": not_a_response, "/badheader": bad_header,
            "/echo": echo, "/r301": redirect(301, "/"), "/r302": redirect(302, "http://www.example.com/echo/x"),
            "/r303": redirect(303, "/echo/after303"), "/r307": redirect(307, "/echo/after307"),
            "/loop": redirect(302, "/loop"), "/chunks": chunks, "/broken": broken_stream, "/crash": crash}


@pytest.fixture
def web() -> tuple[Any, Any]:
    world, host = lo_world()
    install_base_files(host, hosts={"127.0.0.1": ["www.example.com", "www"]})
    host.files["/var/www/index.html"] = "<h1>home</h1>\n"
    host.files["/var/www/docs/index.html"] = "docs\n"
    host.files["/var/www/logo.png"] = b"\x89PNG\r\n"
    host.spawn(httpd, handlers=HANDLERS, name="httpd")
    world.run(until=1_000_000)
    return world, host


def raw(data: bytes | list[bytes], gap: float = 0.0, timeout: float = 60.0) -> tuple[bytes, float]:
    """Send ``data`` (pieces ``gap`` seconds apart) and read until the server closes: what came back
    and when (seconds after connecting) the close came."""
    s = tsock.create_connection(ADDR)
    t0 = tsock.libc.clock_monotonic()
    pieces = data if isinstance(data, list) else [data]
    for i, piece in enumerate(pieces):
        if i and gap:
            tsock.libc.sleep(gap)
        s.sendall(piece)
    s.settimeout(timeout)
    out = b""
    while True:
        chunk = s.recv(65536)
        if not chunk:
            break
        out += chunk
    s.close()
    return out, tsock.libc.clock_monotonic() - t0


def test_static_files_head_and_errors(web: tuple[Any, Any]) -> None:
    world, host = web
    r = run(world, host, http_request, "http://www.example.com/")
    assert (r.status, r.reason, r.body) == (200, "OK", b"<h1>home</h1>\n")
    assert r.header("content-type") == "text/html; charset=utf-8" and r.header("content-length") == "14"
    assert r.header("date") == "Fri, 06 Feb 2015 00:00:00 GMT" and r.header("server").startswith("tuxnet-httpd")
    head = run(world, host, http_request, "http://www.example.com/", "HEAD")
    assert head.status == 200 and head.body == b"" and head.header("content-length") == "14"
    assert run(world, host, http_request, "http://www/logo.png").header("content-type") == "image/png"
    nf = run(world, host, http_request, "http://www/missing.html")
    assert nf.status == 404 and b"Not Found" in nf.body
    na = run(world, host, http_request, "http://www/index.html", "DELETE")
    assert na.status == 405 and na.header("allow") == "GET, HEAD"
    assert run(world, host, http_request, "http://www/../../etc/hosts").status == 404  # no way out of the root
    d = run(world, host, http_request, "http://www/docs")  # 301 to /docs/, followed
    assert (d.status, d.body, d.url) == (200, b"docs\n", "http://www/docs/")


def test_redirects_are_followed(web: tuple[Any, Any]) -> None:
    world, host = web
    assert run(world, host, http_request, "http://www/r301").body == b"<h1>home</h1>\n"
    r = run(world, host, http_request, "http://www/r302")
    assert r.body == b"GET /echo/x b''" and r.url == "http://www.example.com/echo/x"
    assert run(world, host, http_request, "http://www/r303", "POST", body=b"data").body == \
        b"GET /echo/after303 b''"
    assert run(world, host, http_request, "http://www/r307", "POST", body=b"data").body == \
        b"POST /echo/after307 b'data'"
    err = run(world, host, http_request, "http://www/loop")
    assert isinstance(err, HttpError) and "too many redirects" in str(err)


def test_keep_alive_pipelining_and_close(web: tuple[Any, Any]) -> None:
    world, host = web
    req = b"GET /echo/%d HTTP/1.1\r\nHost: www\r\n\r\n"
    out, closed = run(world, host, raw, [req % 1, req % 2 + req % 3])
    assert out.count(b"HTTP/1.1 200 OK") == 3 and out.index(b"/echo/1") < out.index(b"/echo/2") < out.index(b"/echo/3")
    assert closed == pytest.approx(5.0, abs=0.01)  # KeepAliveTimeout after the last response
    out, _ = run(world, host, raw, b"GET /echo/a HTTP/1.1\r\nHost: www\r\nConnection: close\r\n\r\n"
                 + b"GET /echo/b HTTP/1.1\r\nHost: www\r\n\r\n")
    assert out.count(b"HTTP/1.1 200") == 1 and b"connection: close" in out.lower()
    out, _ = run(world, host, raw, b"GET /echo/old HTTP/1.0\r\n\r\n")
    assert out.startswith(b"HTTP/1.1 200 OK") and b"Connection: close" in out
    out, _ = run(world, host, raw, [req % i for i in range(100)])
    assert out.count(b"HTTP/1.1 200 OK") == 100 and out.count(b"Connection: close") == 1  # MaxKeepAliveRequests


def test_chunked_responses(web: tuple[Any, Any]) -> None:
    world, host = web
    out, _ = run(world, host, raw, b"GET /chunks HTTP/1.1\r\nHost: www\r\nConnection: close\r\n\r\n")
    head, _, body = out.partition(b"\r\n\r\n")
    assert b"Transfer-Encoding: chunked" in head
    assert body == b"7\r\npart 0\n\r\n7\r\npart 1\n\r\n7\r\npart 2\n\r\n0\r\n\r\n"
    out, _ = run(world, host, raw, b"GET /chunks HTTP/1.0\r\n\r\n")  # HTTP/1.0: delimited by the close
    assert out.endswith(b"\r\n\r\npart 0\npart 1\npart 2\n") and b"chunked" not in out
    assert run(world, host, http_request, "http://www/chunks").body == b"part 0\npart 1\npart 2\n"


def test_bad_requests_get_errors_and_the_server_goes_on(web: tuple[Any, Any]) -> None:
    world, host = web
    cases = [
        (b"GARBAGE\r\n\r\n", b"HTTP/1.1 400 Bad Request"),
        (b"GET / HTTP/1.1\r\nHost: www\r\nX-Big: " + b"a" * 20000 + b"\r\n\r\n",
         b"HTTP/1.1 431 Request Header Fields Too Large"),
        (b"POST /echo HTTP/1.1\r\nHost: www\r\nContent-Length: 2000000\r\n\r\n" + b"x" * 1_100_000,
         b"HTTP/1.1 413 "),
        (b"BREW /pot HTTP/1.1\r\nHost: www\r\n\r\n", b"HTTP/1.1 501 Not Implemented"),
        (b"GET /crash HTTP/1.1\r\nHost: www\r\nConnection: close\r\n\r\n", b"HTTP/1.1 500 Internal Server Error"),
        (b"GET / HTTP/1.1\r\nHost: www\r\nContent-Length: nope\r\n\r\n", b"HTTP/1.1 400 Bad Request"),
        (b"\x00\xff\x13\x37" * 100, b"HTTP/1.1 400 Bad Request"),
        (b"GET /wrong HTTP/1.1\r\nHost: www\r\n\r\n", b"HTTP/1.1 500 Internal Server Error"),
        (b"GET /badheader HTTP/1.1\r\nHost: www\r\n\r\n", b"HTTP/1.1 500 Internal Server Error"),
    ]
    for request, status in cases:
        out, _ = run(world, host, raw, request)
        assert out.startswith(status), (request[:40], out[:60])
    out, _ = run(world, host, raw, b"GET /broken HTTP/1.1\r\nHost: www\r\n\r\n")
    assert out.endswith(b"first part\n\r\n")  # the head and one chunk went out; then only a close
    assert run(world, host, http_request, "http://www/").status == 200
    assert "handler bug" in host.output() and "the handler's generator fails" in host.output()


def test_slow_headers_time_out_while_others_are_served(web: tuple[Any, Any]) -> None:
    world, host = web
    results: dict[str, Any] = {}

    def slowloris() -> None:
        """A header line every 4 s, watching for the server's answer meanwhile."""
        s = tsock.create_connection(ADDR)
        t0 = tsock.libc.clock_monotonic()
        lines = [b"GET / HTTP/1.1\r\n", b"Host: www\r\n"] + [b"X-%d: 1\r\n" % i for i in range(20)]
        for line in lines:
            s.sendall(line)
            if pyselect.select([s], [], [], 4.0)[0]:
                break
        results["answered_at"] = tsock.libc.clock_monotonic() - t0
        results["slow"] = s.recv(65536)
        s.close()

    host.spawn(slowloris)
    world.run(until=world.now + 2_000_000_000)
    assert run(world, host, http_request, "http://www/").status == 200  # served while the other dribbles
    world.run(until=world.now + 60_000_000_000)
    assert results["slow"].startswith(b"HTTP/1.1 408 Request Timeout")
    assert results["answered_at"] == pytest.approx(20.0, abs=0.01)  # mod_reqtimeout header=20, from the first octet


def test_the_client_survives_a_broken_server() -> None:
    world, host = lo_world()

    def liar(reply: bytes) -> None:
        with tsock.create_server(("127.0.0.1", 8080)) as srv:
            for _ in range(2):
                conn, _ = srv.accept()
                conn.recv(65536)
                conn.sendall(reply)
                conn.close()

    host.spawn(liar, b"SMTP ready\r\n\r\n")
    err = run(world, host, http_request, "http://127.0.0.1:8080/")
    assert isinstance(err, HttpError) and "bad response" in str(err)
    err = run(world, host, http_request, "http://127.0.0.1:8080/")  # closed without a word
    assert isinstance(err, HttpError)
    err = run(world, host, http_request, "ftp://127.0.0.1/")
    assert isinstance(err, HttpError) and "unsupported URL" in str(err)
    for url in ("http://[", "http://[::1/", "http://]/"):  # unbalanced brackets: no IPv6 literal
        err = run(world, host, http_request, url)
        assert isinstance(err, HttpError) and "bad URL" in str(err), url
