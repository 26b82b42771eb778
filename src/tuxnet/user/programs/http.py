"""HTTP/1.1 programs (RFC 9110 semantics, RFC 9112 messages; h11 does the framing): ``httpd``, a
server of a static directory in the host's file table and of Python handlers, and ``http``, a
client that follows redirects.

``httpd`` forks a child per connection, as a pre-fork Apache does, and follows Apache's defaults:
persistent connections (KeepAliveTimeout 5 s, MaxKeepAliveRequests 100), 20 s to receive a request
head and 20 s for a body (mod_reqtimeout), 16 KiB of request head at most (431 beyond), lingering
close.  HEAD gets GET's headers and no body; a handler's body given as an iterable of chunks is
sent chunked to HTTP/1.1 clients (close-delimited to HTTP/1.0 ones).  Errors: 400 for a malformed
request, 404, 405 with ``Allow`` for a method a static file does not support, 408 for a request
that does not arrive in time, 413 for a body over 1 MiB, 500 when a handler raises, 501 for an
unknown method.
"""

from __future__ import annotations

import html
import posixpath
import traceback
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from email.utils import formatdate
from http import HTTPStatus
from urllib.parse import unquote, urljoin, urlsplit

import h11

from tuxnet.net.socket import AF_INET, POLLIN, SHUT_WR, SOCK_STREAM
from tuxnet.user import libc
from tuxnet.user.ctype import isdigits

HTTP_PORT = 80
KEEPALIVE_TIMEOUT = 5.0            # Apache KeepAliveTimeout
MAX_KEEPALIVE_REQUESTS = 100       # Apache MaxKeepAliveRequests
HEADER_TIMEOUT = 20.0              # mod_reqtimeout header=20
BODY_TIMEOUT = 20.0                # mod_reqtimeout body=20
MAX_HEAD_BYTES = 16 * 1024         # h11's default max_incomplete_event_size
MAX_BODY_BYTES = 1024 * 1024
MAX_CLIENTS = 256                  # Apache MaxRequestWorkers
LINGER_TIMEOUT = 2.0               # Apache's lingering close reads for up to 2 s
CLIENT_TIMEOUT = 30.0
MAX_REDIRECTS = 10                 # as Python's urllib (HTTPRedirectHandler.max_redirections)
SOL_SOCKET = 1
SO_REUSEADDR = 2
LISTEN_BACKLOG = 511               # Apache ListenBacklog
SERVER_NAME = "tuxnet-httpd/0.1"
USER_AGENT = "tuxnet-http/0.1"
KNOWN_METHODS = {"GET", "HEAD", "POST", "PUT", "DELETE", "CONNECT", "OPTIONS", "TRACE", "PATCH"}
CONTENT_TYPES = {
    ".html": "text/html; charset=utf-8", ".htm": "text/html; charset=utf-8", ".txt": "text/plain; charset=utf-8",
    ".css": "text/css", ".js": "text/javascript", ".json": "application/json", ".png": "image/png",
    ".jpg": "image/jpeg", ".gif": "image/gif", ".svg": "image/svg+xml", ".ico": "image/x-icon",
}


class HttpError(OSError):
    """An HTTP exchange that failed (no connection, a protocol error, a timeout, redirect loops)."""


@dataclass
class Request:
    """A request as a handler sees it."""

    method: str
    target: str
    path: str
    query: str
    headers: list[tuple[str, str]]
    body: bytes
    client: tuple[str, int]
    http_version: str

    def header(self, name: str) -> str | None:
        """The first value of header ``name`` (case-insensitive), or None."""
        name = name.lower()
        return next((v for k, v in self.headers if k == name), None)


@dataclass
class Response:
    """What a handler returns: a body of bytes (sent with Content-Length) or an iterable of byte
    chunks (sent chunked)."""

    status: int = 200
    headers: list[tuple[str, str]] = field(default_factory=list)
    body: bytes | Iterable[bytes] = b""


Handler = Callable[[Request], Response]


class _Timeout(Exception):
    """The peer did not send what was needed in time."""


def _reason(status: int) -> bytes:
    try:
        return HTTPStatus(status).phrase.encode()
    except ValueError:
        return b""


def _error_page(status: int, detail: str = "") -> Response:
    """A small HTML page for an error (``detail`` is escaped)."""
    phrase = _reason(status).decode()
    body = (f"<html><head><title>{status} {phrase}</title></head><body><h1>{phrase}</h1>"
            f"{f'<p>{html.escape(detail)}</p>' if detail else ''}</body></html>\n").encode()
    return Response(status, [("Content-Type", "text/html; charset=utf-8")], body)


def _next_event(conn: h11.Connection, fd: int, deadline: float) -> object:
    """The next h11 event, reading from ``fd`` as needed until ``deadline`` (``_Timeout``)."""
    while True:
        event = conn.next_event()
        if event is not h11.NEED_DATA:
            return event
        left = int((deadline - libc.clock_monotonic()) * 1000)
        if left <= 0 or not libc.poll([(fd, POLLIN)], left)[0]:
            raise _Timeout
        try:
            data = libc.recv(fd, 65536)
        except (ConnectionResetError, BrokenPipeError):
            data = b""
        conn.receive_data(data)


def _sendall(fd: int, data: bytes | None) -> None:
    while data:
        data = data[libc.send(fd, data):]


# -- the server ---------------------------------------------------------------------------------

class Site:
    """What ``httpd`` serves: Python handlers by path prefix (the longest matching wins) and the
    files under ``root`` in the host's file table."""

    def __init__(self, root: str = "/var/www", handlers: Mapping[str, Handler] | None = None) -> None:
        self.root = root.rstrip("/") or "/"
        self.handlers = dict(handlers or {})

    def _handler(self, path: str) -> Handler | None:
        matching = [p for p in self.handlers if path == p or path.startswith(p.rstrip("/") + "/")]
        return self.handlers[max(matching, key=len)] if matching else None

    def _static(self, req: Request) -> Response:
        if req.method not in ("GET", "HEAD"):
            resp = _error_page(405)
            resp.headers.append(("Allow", "GET, HEAD"))
            return resp
        rel = posixpath.normpath("/" + unquote(req.path)).lstrip("/")
        path = posixpath.join(self.root, rel) if rel else self.root
        if libc.is_dir(path):
            if not req.path.endswith("/"):
                # mod_dir: a directory without its trailing slash is redirected to it
                location = req.path + "/" + (f"?{req.query}" if req.query else "")
                resp = _error_page(301, f"The document has moved to {location}.")
                resp.headers.append(("Location", location))
                return resp
            path = posixpath.join(path, "index.html")
        try:
            content = libc.read_file(path)
        except FileNotFoundError:
            return _error_page(404, f"The requested URL {req.path} was not found on this server.")
        data = content.encode() if isinstance(content, str) else bytes(content)
        ctype = CONTENT_TYPES.get(posixpath.splitext(path)[1].lower(), "application/octet-stream")
        return Response(200, [("Content-Type", ctype)], data)

    def dispatch(self, req: Request) -> Response:
        """The response to ``req``: its handler's (500 if that raises), else the static file's."""
        if req.method not in KNOWN_METHODS:
            return _error_page(501)
        handler = self._handler(req.path)
        if handler is None:
            return self._static(req)
        try:
            resp = handler(req)
        except Exception:  # noqa: BLE001 - a failing handler is a 500, not a dead server
            libc.printf("httpd: handler for %s raised:\n%s", req.path, traceback.format_exc())
            return _error_page(500)
        if not isinstance(resp, Response):
            libc.printf("httpd: handler for %s returned %r, not a Response\n", req.path, resp)
            return _error_page(500)
        return resp


def _send_response(conn: h11.Connection, fd: int, req_method: str, resp: Response, close: bool) -> bool:
    """Send ``resp``; False when its body could not be produced to the end (a handler's iterable
    raised after the head went out: the connection can only be closed)."""
    headers = [("Date", formatdate(libc.time(), usegmt=True)), ("Server", SERVER_NAME)] + list(resp.headers)
    names = {k.lower() for k, _ in headers}
    body = resp.body
    if isinstance(body, bytes | bytearray) and "content-length" not in names and resp.status not in (204, 304):
        headers.append(("Content-Length", str(len(body))))
    if close:
        headers.append(("Connection", "close"))
    # The head and a body in hand go out in one write, as Apache's core output filter gathers them
    # into one writev: two sends would leave the second to Nagle, a round trip behind the first.
    pending = bytearray(conn.send(h11.Response(status_code=resp.status, headers=headers,
                                               reason=_reason(resp.status))) or b"")
    has_body = req_method != "HEAD" and resp.status not in (204, 304)
    if has_body and isinstance(body, bytes | bytearray):
        if body:
            pending += conn.send(h11.Data(data=body)) or b""
    elif has_body:
        _sendall(fd, bytes(pending))  # a handler's chunks go as they come
        pending.clear()
        chunks = iter(body)
        while True:
            try:
                chunk = next(chunks, None)
                data = b"" if chunk is None else bytes(chunk)
            except Exception:  # noqa: BLE001 - a failing body generator aborts this response only
                libc.printf("httpd: response body raised:\n%s", traceback.format_exc())
                return False
            if chunk is None:
                break
            if data:
                _sendall(fd, conn.send(h11.Data(data=data)))
    pending += conn.send(h11.EndOfMessage()) or b""
    _sendall(fd, bytes(pending))
    return True


def _send_error(conn: h11.Connection, fd: int, status: int) -> None:
    """An error response when the request could not be read, if h11 still lets us send one."""
    if conn.our_state in (h11.IDLE, h11.SEND_RESPONSE):
        try:
            _send_response(conn, fd, "GET", _error_page(status), close=True)
        except (h11.LocalProtocolError, OSError):
            return


def _lingering_close(fd: int) -> None:
    """Apache's lingering close: stop sending, read what the client still sends for a while (so
    that unread data does not turn the close into a reset, RFC 9112 §9.6), then close."""
    try:
        libc.shutdown(fd, SHUT_WR)
        deadline = libc.clock_monotonic() + LINGER_TIMEOUT
        while True:
            left = int((deadline - libc.clock_monotonic()) * 1000)
            if left <= 0 or not libc.poll([(fd, POLLIN)], left)[0] or not libc.recv(fd, 65536):
                break
    except OSError:
        pass
    libc.close(fd)


def _read_request(conn: h11.Connection, fd: int, first: bool, client: tuple[str, int]) -> Request | None:
    """The next request on the connection; None when the client closed, or sent nothing for
    KeepAliveTimeout between requests (HEADER_TIMEOUT for the first).  Once the first octets of a
    request are in, its head must be complete within HEADER_TIMEOUT (``_Timeout`` otherwise)."""
    idle_deadline = libc.clock_monotonic() + (HEADER_TIMEOUT if first else KEEPALIVE_TIMEOUT)
    head_deadline = None
    buffered = len(conn.trailing_data[0])
    while True:
        event = conn.next_event()
        if event is not h11.NEED_DATA:
            break
        if head_deadline is None and conn.trailing_data[0]:
            head_deadline = libc.clock_monotonic() + HEADER_TIMEOUT
        left = int(((head_deadline or idle_deadline) - libc.clock_monotonic()) * 1000)
        if left <= 0 or not libc.poll([(fd, POLLIN)], left)[0]:
            if head_deadline is None:
                return None
            raise _Timeout
        try:
            data = libc.recv(fd, 65536)
        except (ConnectionResetError, BrokenPipeError):
            data = b""
        buffered += len(data)
        conn.receive_data(data)
    if isinstance(event, h11.ConnectionClosed):
        return None
    if not isinstance(event, h11.Request):
        raise h11.RemoteProtocolError("expected a request", error_status_hint=400)
    if buffered - len(conn.trailing_data[0]) > MAX_HEAD_BYTES:
        # h11 limits only a head still incomplete; one that arrived whole is measured here
        raise h11.RemoteProtocolError("request head too large", error_status_hint=431)
    body = b""
    deadline = libc.clock_monotonic() + BODY_TIMEOUT
    while True:
        ev = _next_event(conn, fd, deadline)
        if isinstance(ev, h11.EndOfMessage):
            break
        if isinstance(ev, h11.Data):
            body += ev.data
            if len(body) > MAX_BODY_BYTES:
                raise h11.RemoteProtocolError("request body too large", error_status_hint=413)
        elif isinstance(ev, h11.ConnectionClosed):
            return None
    target = event.target.decode("latin-1")
    path, _, query = target.partition("?")
    return Request(event.method.decode("ascii", "replace"), target, path, query,
                   [(k.decode("latin-1"), v.decode("latin-1")) for k, v in event.headers], body, client,
                   event.http_version.decode("ascii", "replace"))


def _serve_connection(site: Site, listen_fd: int, fd: int, client: tuple[str, int], active: list[int]) -> None:
    """One connection: requests answered in turn while the connection persists."""
    libc.close(listen_fd)
    conn = h11.Connection(h11.SERVER, max_incomplete_event_size=MAX_HEAD_BYTES)
    served = 0
    try:
        while True:
            try:
                req = _read_request(conn, fd, served == 0, client)
            except _Timeout:
                _send_error(conn, fd, 408)
                return
            except h11.RemoteProtocolError as e:
                _send_error(conn, fd, e.error_status_hint)
                return
            if req is None:
                return
            served += 1
            resp = site.dispatch(req)
            try:
                complete = _send_response(conn, fd, req.method, resp, close=served >= MAX_KEEPALIVE_REQUESTS)
            except h11.LocalProtocolError as e:
                # the handler's response cannot be framed (a bad header, say): a 500 if not too late
                libc.printf("httpd: bad response from handler for %s: %s\n", req.path, e)
                _send_error(conn, fd, 500)
                return
            if not complete or conn.our_state is not h11.DONE or conn.their_state is not h11.DONE:
                return
            conn.start_next_cycle()
    except OSError:
        return
    finally:
        active[0] -= 1
        _lingering_close(fd)


def httpd(root: str = "/var/www", *, addr: str = "0.0.0.0", port: int = HTTP_PORT,
          handlers: Mapping[str, Handler] | None = None, announce: bool = True) -> None:
    """The web server: serves ``root`` (a directory of the host's file table) and ``handlers``
    (path prefix → handler) on ``addr:port``, forking a child per connection; it says what it
    serves when ``announce``.  Runs until killed."""
    site = Site(root, handlers)
    sock = libc.socket(AF_INET, SOCK_STREAM, 0)
    libc.setsockopt(sock, SOL_SOCKET, SO_REUSEADDR, 1)
    libc.bind(sock, (addr, port))
    libc.listen(sock, LISTEN_BACKLOG)
    if announce:
        libc.printf("httpd: serving %s on %s:%d\n", site.root, addr, port)
    active = [0]
    while True:
        while active[0] >= MAX_CLIENTS:
            libc.sleep(0.1)
        try:
            fd, client = libc.accept(sock)
        except ConnectionAbortedError:
            continue
        active[0] += 1
        libc.fork(_serve_connection, site, sock, fd, client, active, name="httpd")
        libc.close(fd)


HTTPD_USAGE = "Usage: httpd [-f] [-p [IP:]PORT] [-h HOME]\n"


def httpd_main(argv: Sequence[str]) -> int:
    """``httpd [-f] [-p [IP:]PORT] [-h HOME]``, BusyBox's command line: serve HOME (``/var/www``)
    on PORT (80) of IP (every address) until killed, printing nothing; 1 when the port cannot be
    had, with the failing call's message (``httpd: bind: Address already in use``)."""
    args = list(argv)
    root, addr, port = "/var/www", "0.0.0.0", HTTP_PORT
    while args:
        arg = args.pop(0)
        if arg == "-f":
            continue
        if arg in ("-p", "-h") and args:
            value = args.pop(0)
            if arg == "-h":
                root = value
                continue
            host, _, number = value.rpartition(":")
            if not isdigits(number) or not 0 < int(number) < 65536:
                libc.printf("httpd: invalid number '%s'\n", number)
                return 1
            addr, port = host or addr, int(number)
            continue
        libc.printf("httpd: invalid option -- '%s'\n%s", arg.lstrip("-")[:1] or arg, HTTPD_USAGE)
        return 1
    if not libc.is_dir(root):
        libc.printf("httpd: can't change directory to '%s': No such file or directory\n", root)
        return 1
    try:
        httpd(root, addr=addr, port=port, announce=False)
    except OSError as e:
        libc.printf("httpd: bind: %s\n", e.strerror or e)
        return 1
    return 0


# -- the client ---------------------------------------------------------------------------------

@dataclass
class HttpResponse:
    """A response as the client received it."""

    status: int
    reason: str
    headers: list[tuple[str, str]]
    body: bytes
    url: str
    http_version: str = "1.1"

    def header(self, name: str) -> str | None:
        name = name.lower()
        return next((v for k, v in self.headers if k == name), None)


class _Connection:
    """A client connection kept open between requests to the same host and port."""

    def __init__(self, host: str, port: int, timeout: float) -> None:
        self.key = (host, port)
        self.fd = _connect(host, port)
        self.conn = h11.Connection(h11.CLIENT)
        self.timeout = timeout

    def exchange(self, method: str, target: str, headers: list[tuple[str, str]], body: bytes) -> HttpResponse:
        try:
            return self._exchange(method, target, headers, body)
        except OSError as e:
            raise HttpError(f"{self.key[0]}:{self.key[1]}: {e.strerror or e}") from None

    def _exchange(self, method: str, target: str, headers: list[tuple[str, str]], body: bytes) -> HttpResponse:
        fd, conn = self.fd, self.conn
        if body:
            headers = headers + [("Content-Length", str(len(body)))]
        _sendall(fd, conn.send(h11.Request(method=method, target=target, headers=headers)))
        if body:
            _sendall(fd, conn.send(h11.Data(data=body)))
        _sendall(fd, conn.send(h11.EndOfMessage()))
        deadline = libc.clock_monotonic() + self.timeout
        try:
            event = _next_event(conn, fd, deadline)
            while isinstance(event, h11.InformationalResponse):
                event = _next_event(conn, fd, deadline)
            if not isinstance(event, h11.Response):
                raise HttpError("connection closed before a response")
            data = b""
            while True:
                ev = _next_event(conn, fd, deadline)
                if isinstance(ev, h11.Data):
                    data += ev.data
                elif isinstance(ev, h11.EndOfMessage | h11.ConnectionClosed):
                    break
        except _Timeout:
            raise HttpError("timed out waiting for the response") from None
        except h11.RemoteProtocolError as e:
            raise HttpError(f"bad response: {e}") from None
        return HttpResponse(event.status_code, event.reason.decode("latin-1"),
                            [(k.decode("latin-1"), v.decode("latin-1")) for k, v in event.headers], data, "",
                            event.http_version.decode("ascii", "replace"))

    def reusable(self) -> bool:
        if self.conn.our_state is h11.DONE and self.conn.their_state is h11.DONE:
            self.conn.start_next_cycle()
            return True
        return False

    def close(self) -> None:
        libc.close(self.fd)


def _connect(host: str, port: int) -> int:
    """A connected socket to the first address of ``host`` that accepts, as ``create_connection``."""
    try:
        infos = libc.getaddrinfo(host, port, AF_INET, SOCK_STREAM)
    except OSError as e:
        raise HttpError(f"{host}: {e.strerror}") from None
    err: OSError | None = None
    for family, socktype, proto, _, sockaddr in infos:
        fd = libc.socket(family, socktype, proto)
        try:
            libc.connect(fd, sockaddr)
            return fd
        except OSError as e:
            err = e
            libc.close(fd)
    raise HttpError(f"{host}:{port}: {err.strerror if err else 'no address'}")


def http_request(url: str, method: str = "GET", headers: Sequence[tuple[str, str]] = (), body: bytes = b"",
                 max_redirects: int = MAX_REDIRECTS, timeout: float = CLIENT_TIMEOUT) -> HttpResponse:
    """Fetch ``url`` (http only), following redirects: 301, 302 and 303 continue with GET (HEAD
    stays HEAD), 307 and 308 repeat the method and body (RFC 9110 §15.4).  The connection is
    reused while the server keeps it open."""
    conn: _Connection | None = None
    try:
        for _ in range(max_redirects + 1):
            try:
                parts = urlsplit(url)
            except ValueError:  # an unbalanced "[" or "]" around the host (urlsplit's IPv6 check)
                raise HttpError(f"bad URL {url!r}") from None
            if parts.scheme != "http" or not parts.hostname:
                raise HttpError(f"unsupported URL {url!r}")
            try:
                port = parts.port or HTTP_PORT
            except ValueError:
                raise HttpError(f"bad port in URL {url!r}") from None
            if conn is not None and (conn.key != (parts.hostname, port) or not conn.reusable()):
                conn.close()
                conn = None
            if conn is None:
                conn = _Connection(parts.hostname, port, timeout)
            host_header = parts.hostname if port == HTTP_PORT else f"{parts.hostname}:{port}"
            target = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
            hdrs = [("Host", host_header), ("User-Agent", USER_AGENT), ("Accept", "*/*")] + list(headers)
            resp = conn.exchange(method, target, hdrs, body)
            resp.url = url
            location = resp.header("location")
            if resp.status not in (301, 302, 303, 307, 308) or location is None:
                return resp
            url = urljoin(url, location)
            if resp.status in (301, 302, 303) and method != "HEAD":
                method, body = "GET", b""
        raise HttpError(f"too many redirects (more than {max_redirects})")
    finally:
        if conn is not None:
            conn.close()


def http_main(argv: Sequence[str]) -> int:
    """``http [-I] [-v] [METHOD] URL``: print the status line, (headers with -v or -I) and body.
    ``argv`` is the arguments, without the program's name."""
    args = list(argv)
    verbose = False
    method = "GET"
    urls = []
    for arg in args:
        if arg == "-v":
            verbose = True
        elif arg == "-I":
            method = "HEAD"
        elif arg.upper() in KNOWN_METHODS and not urls:
            method = arg.upper()
        else:
            urls.append(arg)
    if len(urls) != 1:
        libc.printf("usage: http [-I] [-v] [METHOD] URL\n")
        return 2
    url = urls[0] if "://" in urls[0] else "http://" + urls[0]
    try:
        resp = http_request(url, method)
    except HttpError as e:
        libc.printf("http: %s\n", e.strerror or e)
        return 1
    libc.printf("HTTP/%s %d %s\n", resp.http_version, resp.status, resp.reason)
    if verbose or method == "HEAD":
        for k, v in resp.headers:
            libc.printf("%s: %s\n", k, v)
        libc.printf("\n")
    if resp.body:
        text = resp.body.decode("utf-8", errors="replace")
        libc.printf("%s%s", text, "" if text.endswith("\n") else "\n")
    return 0 if resp.status < 400 else 1
