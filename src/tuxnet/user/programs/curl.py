"""``curl`` (curl 7.88.1, Debian 12's) for ``http://`` URLs: what it prints, where, and its exit
statuses.

    curl [-fgIiLsSv] [-A agent] [-d data] [-H header] [-m seconds] [--connect-timeout seconds]
         [-o file] [-w format] [-X method] URL

The body goes to standard output, or with ``-o`` to a file of the host; ``-i`` puts the response
head before it, ``-I`` asks with HEAD and prints the head alone.  The console a tuxnet program
writes to is not a terminal (its output is kept, as ``curl URL > log 2>&1`` keeps it), so curl
behaves as it does there: standard output is block-buffered (4096 octets, glibc's for a pipe) and
reaches the console when a block fills or curl exits, and the progress meter (``-s`` hides it)
goes to standard error, one line at each new second of the clock and one at the end, its times
and speeds the world's.  ``-v`` adds curl's ``*``, ``>`` and ``<`` lines and ``{ [N bytes data]``.
Errors are curl's words and numbers: 1 (protocol not supported: this curl speaks HTTP only),
3 (bad URL), 6 (could not resolve host), 7 (failed to connect), 22 (``-f`` and a status of 400 or
more), 28 (``-m``/``--connect-timeout`` ran out), 52 (empty reply), 56 (receive failure).

``-L`` follows a redirect (at most ``--max-redirs``: 50 unless told, -1 for no limit), on the same
connection when the server kept it open; the verbose line curl 7.88.1 prints first when it reuses
one, ``* Found bundle for host: 0x... [serially]``, shows a pointer into its own memory and is left
out. One URL a run, but a glob in it (src/tool_urlglob.c) makes it several, fetched one after
another, each with its own meter, ``-w`` line and error line, on the connection the one before left
open: ``{a,b}`` sets, ``[1-10]``, ``[01-10]`` (zero-padded), ``[a-z]`` ranges with an optional
``:step``, a backslash before a bracket or brace for the character itself; ``#N`` in ``-o`` is the
Nth glob's text (without ``#`` every URL writes the same file); a bad glob is curl's error 3 with
the position and a caret under it; ``-g`` (``--globoff``) takes the URL as it is. The exit status is
the last transfer's. A glob's URLs are made one at a time, counted in an unsigned long as curl
counts them (``[1-18446744073709551615]`` is that many transfers, not a list built first), with
curl's "range overflow" and "too many globs" (100 patterns); brackets that hold an IPv6 address are
no glob. Each URL is then what curl's URL parser makes of it (``url_effective``, the request's
target): the scheme in lower case, the port as a number, the path without its dot segments (RFC 3986
section 5.2.4) and "/" at least. """

from __future__ import annotations

import math
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from urllib.parse import urljoin, urlsplit

from tuxnet.kernel.errno import ERANGE, strerror
from tuxnet.kernel.minmax import INT_MAX
from tuxnet.net.socket import AF_INET, POLLIN, POLLOUT, SOCK_NONBLOCK, SOCK_STREAM
from tuxnet.user import libc
from tuxnet.user.ctype import isdigits
from tuxnet.user.libc import LONG_MAX, ULONG_MAX
from tuxnet.user.resolv import is_ipv6_address

VERSION = "7.88.1"
MAX_REDIRS = 50                   # curl's default --max-redirs
STDOUT_BUFFER = 4096              # glibc's buffer for a pipe (st_blksize)
CURR_TIME = 6                     # lib/progress.c: seconds of history for the current speed
_TRY = "curl: try 'curl --help' or 'curl --manual' for more information\n"
_VALUED = {"-A": "agent", "--user-agent": "agent", "-d": "data", "--data": "data", "-H": "header",
           "--header": "header", "-m": "max_time", "--max-time": "max_time", "--connect-timeout": "connect_timeout",
           "-o": "output", "--output": "output", "-w": "write_out", "--write-out": "write_out", "-X": "request",
           "--request": "request", "--max-redirs": "max_redirs"}
_FLAGS = {"-f": "fail", "--fail": "fail", "-g": "globoff", "--globoff": "globoff",
          "-I": "head", "--head": "head", "-i": "include", "--include": "include",
          "-L": "location", "--location": "location", "-s": "silent", "--silent": "silent", "-S": "show_error",
          "--show-error": "show_error", "-v": "verbose", "--verbose": "verbose"}


class CurlError(Exception):
    """A transfer that failed: curl's exit status and its message."""

    def __init__(self, code: int, message: str) -> None:
        super().__init__(message)
        self.code = code


@dataclass
class Options:
    url: str = ""
    agent: str = f"curl/{VERSION}"
    data: list[str] = field(default_factory=list)
    header: list[str] = field(default_factory=list)
    max_time: float | None = None
    connect_timeout: float | None = None
    output: str | None = None
    write_out: str | None = None
    request: str | None = None
    fail: bool = False
    globoff: bool = False
    head: bool = False
    include: bool = False
    location: bool = False
    max_redirs: int = MAX_REDIRS  # -1: no limit
    silent: bool = False
    show_error: bool = False
    verbose: bool = False


def _max5data(n: int) -> str:
    """``max5data`` (lib/progress.c): a size or speed in at most five columns."""
    kb, mb, gb, tb = 1024, 1024**2, 1024**3, 1024**4
    if n < 100000:
        return f"{n:5d}"
    if n < 10000 * kb:
        return f"{n // kb:4d}k"
    if n < 100 * mb:
        return f"{n // mb:2d}.{(n % mb) // (mb // 10)}M"
    if n < 10000 * mb:
        return f"{n // mb:4d}M"
    if n < 100 * gb:
        return f"{n // gb:2d}.{(n % gb) // (gb // 10)}G"
    if n < 10000 * gb:
        return f"{n // gb:4d}G"
    if n < 10000 * tb:
        return f"{n // tb:4d}T"
    return f"{n // (1024 * tb):4d}P"


def _time2str(seconds: int) -> str:
    """``time2str`` (lib/progress.c): eight columns, ``--:--:--`` for none."""
    if seconds <= 0:
        return "--:--:--"
    h = seconds // 3600
    if h <= 99:
        return f"{h:2d}:{(seconds - h * 3600) // 60:02d}:{seconds % 60:02d}"
    d = seconds // 86400
    return f"{d:3d}d {(seconds - d * 86400) // 3600:02d}h" if d <= 999 else f"{d:7d}d"


def _trspeed(size: int, us: int) -> int:
    """``trspeed``: octets a second over ``us`` microseconds."""
    return size * 1000000 if us < 1 else size * 1000000 // us


def _pct(total: int, cur: int) -> int:
    """``pgrs_est_percent``."""
    if total > 10000:
        return cur // (total // 100)
    return cur * 100 // total if total > 0 else 0


class Meter:
    """curl's progress meter (``progress_calc``, ``progress_meter``) on standard error, in the
    world's time: a line when the clock's second has changed since the last, and a last one."""

    def __init__(self, shown: bool) -> None:
        self.shown = shown
        self.start = libc.time_ns() // 1000
        self.lastshow: int | None = None
        self.speeder: list[tuple[int, int]] = []   # (octets, µs) at each shown second
        self.current_speed = 0
        self.headers_out = False
        self.dl = self.ul = 0
        self.dl_total: int | None = None
        self.ul_total: int | None = None

    def update(self, force: bool = False) -> None:
        now = libc.time_ns() // 1000
        spent = now - self.start
        dl_speed, ul_speed = _trspeed(self.dl, spent), _trspeed(self.ul, spent)
        if force:
            self.lastshow = None
        if self.lastshow == now // 1000000:
            return
        self.lastshow = now // 1000000
        self.speeder.append((self.dl + self.ul, now))
        del self.speeder[:-CURR_TIME]
        if len(self.speeder) > 1:
            amount = self.speeder[-1][0] - self.speeder[0][0]
            span_ms = (now - self.speeder[0][1]) // 1000 or 1
            self.current_speed = int(amount / (span_ms / 1000)) if amount > 4294967 else amount * 1000 // span_ms
        else:
            self.current_speed = dl_speed + ul_speed
        if not self.shown:
            return
        if not self.headers_out:
            libc.printf("%s", "  % Total    % Received % Xferd  Average Speed   Time    Time     Time  Current\n"
                              "                                 Dload  Upload   Total   Spent    Left  Speed\n")
            self.headers_out = True
        ul_secs = self.ul_total // ul_speed if self.ul_total is not None and ul_speed > 0 else 0
        dl_secs = self.dl_total // dl_speed if self.dl_total is not None and dl_speed > 0 else 0
        ul_pct = _pct(self.ul_total, self.ul) if ul_secs or (self.ul_total is not None and ul_speed > 0) else 0
        dl_pct = _pct(self.dl_total, self.dl) if self.dl_total is not None and dl_speed > 0 else 0
        secs = max(ul_secs, dl_secs)
        cur_secs = spent // 1000000
        expected = (self.ul if self.ul_total is None else self.ul_total) + \
            (self.dl if self.dl_total is None else self.dl_total)
        libc.printf("\r%3d %s  %3d %s  %3d %s  %s  %s %s %s %s %s", _pct(expected, self.dl + self.ul),
                    _max5data(expected), dl_pct, _max5data(self.dl), ul_pct, _max5data(self.ul),
                    _max5data(dl_speed), _max5data(ul_speed), _time2str(secs), _time2str(cur_secs),
                    _time2str(secs - cur_secs if secs > 0 else 0), _max5data(self.current_speed))

    def restart(self) -> None:
        """``Curl_pgrsStartNow`` for the next transfer of a redirect: counts and clock from zero."""
        self.start = libc.time_ns() // 1000
        self.speeder.clear()
        self.dl = self.ul = 0
        self.dl_total = self.ul_total = None

    def done(self) -> None:
        """``Curl_pgrsDone``: the last line, and the end of it."""
        self.update(force=True)
        if self.shown:
            libc.printf("\n")


class Stdout:
    """curl's standard output, block-buffered as stdio buffers a pipe."""

    def __init__(self) -> None:
        self.buf = bytearray()

    def write(self, data: bytes) -> None:
        self.buf += data
        if len(self.buf) >= STDOUT_BUFFER:
            n = len(self.buf) - len(self.buf) % STDOUT_BUFFER
            libc.write(1, bytes(self.buf[:n]))
            del self.buf[:n]

    def flush(self) -> None:
        if self.buf:
            libc.write(1, bytes(self.buf))
            self.buf.clear()


@dataclass
class Response:
    version: str = ""
    status: int = 0
    head: bytes = b""
    headers: list[tuple[str, str]] = field(default_factory=list)
    size_download: int = 0
    close: bool = False

    def header(self, name: str) -> str | None:
        for k, v in self.headers:
            if k.lower() == name.lower():
                return v
        return None


@dataclass
class Connection:
    fd: int
    number: int
    host: str
    port: int
    ip: str
    local: tuple[str, int]
    buf: bytearray = field(default_factory=bytearray)


@dataclass
class Pool:
    """What one run's transfers share (the tool's share of connections and DNS, tool_operate.c):
    the connection left open, how many were opened, the hosts already resolved."""
    conn: Connection | None = None
    opened: int = 0
    resolved: set[tuple[str, int]] = field(default_factory=set)


class Transfer:
    """One transfer of a run: the options, its URL and output file, the clock, the meter, the
    connections of the run's pool."""

    def __init__(self, opts: Options, url: str, output: str | None, out: Stdout, pool: Pool) -> None:
        self.opts = opts
        self.meter = Meter(not opts.silent)
        self.out = out
        self.pool = pool
        self.start = libc.clock_monotonic()
        self.conn = pool.conn
        self.connects = 0
        self.traced_data = False
        self.stats: dict[str, float] = {}
        self.output = output
        self.body = bytearray() if output else None
        self.url = url
        self.resp: Response | None = None
        self.remote: tuple[str, int] | None = None
        self.closing = False
        self.finished = False  # multi_done has run (a redirect refused after it)

    # -- verbose (tool_cb_dbg.c's plain trace) --

    def info(self, text: str) -> None:
        if self.opts.verbose:
            libc.printf("* %s\n", text)
            self.traced_data = False

    def data_note(self, outgoing: bool, size: int) -> None:
        if self.opts.verbose and not self.traced_data:
            libc.printf("%s [%d bytes data]\n", "}" if outgoing else "{", size)
            self.traced_data = True

    # -- time --

    def elapsed_ms(self) -> int:
        return int((libc.clock_monotonic() - self.start) * 1000)

    def deadline_ms(self, connecting: bool) -> int | None:
        """Milliseconds left before -m (or, connecting, --connect-timeout) is up; None: no limit."""
        limits = [self.opts.max_time]
        if connecting:
            limits.append(self.opts.connect_timeout)
        left = [int(t * 1000) - self.elapsed_ms() for t in limits if t is not None]
        return max(0, min(left)) if left else None

    def wait(self, fd: int, events: int, connecting: bool, received: int) -> None:
        """Poll ``fd`` as curl's loop does, waking at least once a second to update the meter;
        curl's code 28 when the time allowed runs out."""
        while True:
            left = self.deadline_ms(connecting)
            if left == 0:
                msg = (f"Connection timed out after {self.elapsed_ms()} milliseconds" if connecting else
                       f"Operation timed out after {self.elapsed_ms()} milliseconds with {received} bytes received")
                self.info(msg)
                raise CurlError(28, msg)
            step = 1000 if left is None else min(left, 1000)
            ready = libc.poll([(fd, events)], step)
            self.meter.update()
            if ready and ready[0]:
                return

    # -- connecting --

    def connect(self, host: str, port: int) -> Connection:
        try:
            infos = libc.getaddrinfo(host, port, AF_INET, SOCK_STREAM)
        except OSError:
            self.info(f"Could not resolve host: {host}")
            raise CurlError(6, f"Could not resolve host: {host}") from None
        self.pool.resolved.add((host, port))
        self.stats["time_namelookup"] = libc.clock_monotonic() - self.start
        ip = infos[0][4][0]
        self.info(f"  Trying {ip}:{port}...")
        fd = libc.socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0)
        try:
            try:
                libc.connect(fd, (ip, port))
            except BlockingIOError:
                self.wait(fd, POLLOUT, True, 0)
                err = libc.getsockopt(fd, 1, 4)  # SO_ERROR
                if err:
                    raise OSError(err, strerror(err)) from None
        except CurlError:
            libc.close(fd)
            raise
        except OSError as e:
            libc.close(fd)
            self.info(f"connect to {ip} port {port} failed: {e.strerror}")
            msg = f"Failed to connect to {host} port {port} after {self.elapsed_ms()} ms: Couldn't connect to server"
            self.info(msg)
            raise CurlError(7, msg) from None
        self.stats["time_connect"] = libc.clock_monotonic() - self.start
        conn = Connection(fd, self.pool.opened, host, port, ip, libc.getsockname(fd))
        self.pool.opened += 1
        self.connects += 1
        self.remote = (ip, port)
        self.info(f"Connected to {host} ({ip}) port {port} (#{conn.number})")
        return conn

    # -- the exchange --

    def recv(self, conn: Connection, received: int) -> bytes:
        self.wait(conn.fd, POLLIN, False, received)
        try:
            return libc.recv(conn.fd, 65536)
        except OSError as e:
            raise CurlError(56, f"Recv failure: {e.strerror}") from None

    def send_request(self, conn: Connection, method: str, target: str, body: bytes | None) -> int:
        host = conn.host if conn.port == 80 else f"{conn.host}:{conn.port}"
        lines = [f"{method} {target} HTTP/1.1", f"Host: {host}"]
        given = {h.split(":", 1)[0].strip().lower(): h for h in self.opts.header if ":" in h}
        if self.opts.agent and "user-agent" not in given:
            lines.append(f"User-Agent: {self.opts.agent}")
        if "accept" not in given:
            lines.append("Accept: */*")
        if body is not None:
            if "content-length" not in given:
                lines.append(f"Content-Length: {len(body)}")
            if "content-type" not in given:
                lines.append("Content-Type: application/x-www-form-urlencoded")
        for h in self.opts.header:
            name, _, value = h.partition(":")
            if value.strip():
                lines.append(f"{name}:{value}")
        head = "".join(line + "\r\n" for line in lines) + "\r\n"
        if self.opts.verbose:
            libc.printf("%s", "".join(f"> {line}\r\n" for line in [*lines, ""]))
            self.traced_data = False
        wire = head.encode("latin-1", "replace") + (body or b"")
        try:
            while wire:
                self.wait(conn.fd, POLLOUT, False, 0)
                sent = libc.send(conn.fd, wire)
                wire = wire[sent:]
        except OSError as e:
            raise CurlError(55, f"Send failure: {e.strerror}") from None
        if body:
            self.meter.ul = len(body)
            self.data_note(True, len(body))
        return len(head)

    def read_head(self, conn: Connection, resp: Response) -> None:
        """The status line and headers, each shown with ``-v`` as it is parsed."""
        while True:
            end = conn.buf.find(b"\n")
            if end < 0:
                data = self.recv(conn, 0)
                if not data:
                    if not resp.status and not conn.buf:
                        raise CurlError(52, "Empty reply from server")
                    raise CurlError(56, "Recv failure: Connection reset by peer" if not resp.status else
                                    "Transferred a partial file")
                conn.buf += data
                continue
            raw = bytes(conn.buf[:end + 1])
            del conn.buf[:end + 1]
            line = raw.decode("latin-1").rstrip("\r\n")
            if not resp.status:
                parts = line.split(" ", 2)
                if not line.startswith("HTTP/") or len(parts) < 2 or not isdigits(parts[1]):
                    raise CurlError(1, "Received HTTP/0.9 when not allowed")
                resp.version, resp.status = parts[0][5:], int(parts[1])
                if resp.version == "1.0":
                    self.info("HTTP 1.0, assume close after body")
                    resp.close = True
                self.stats.setdefault("time_starttransfer", libc.clock_monotonic() - self.start)
            elif line:
                name, _, value = line.partition(":")
                resp.headers.append((name, value.strip()))
            failing = self.opts.fail and resp.status >= 400
            if line or not failing:
                if self.opts.verbose:
                    libc.printf("< %s", raw.decode("latin-1"))
                    self.traced_data = False
                resp.head += raw
            if not line:
                return

    def read_body(self, conn: Connection, resp: Response, method: str) -> None:
        length = resp.header("Content-Length")
        chunked = "chunked" in (resp.header("Transfer-Encoding") or "").lower()
        if method == "HEAD" or resp.status in (204, 304) or 100 <= resp.status < 200:
            return
        if length is not None and isdigits(length.strip()) and not chunked:
            want = int(length)
            while resp.size_download < want:
                if not conn.buf:
                    data = self.recv(conn, resp.size_download)
                    if not data:
                        raise CurlError(18, f"transfer closed with {want - resp.size_download} bytes "
                                            "remaining to read")
                    conn.buf += data
                take = bytes(conn.buf[:want - resp.size_download])
                del conn.buf[:len(take)]
                self.deliver(resp, take)
        elif chunked:
            self.read_chunked(conn, resp)
        else:
            resp.close = True
            while True:
                data = bytes(conn.buf) or self.recv(conn, resp.size_download)
                conn.buf.clear()
                if not data:
                    return
                self.deliver(resp, data)

    def read_chunked(self, conn: Connection, resp: Response) -> None:
        while True:
            while b"\r\n" not in conn.buf:
                data = self.recv(conn, resp.size_download)
                if not data:
                    raise CurlError(18, "transfer closed with outstanding read data remaining")
                conn.buf += data
            line, _, rest = bytes(conn.buf).partition(b"\r\n")
            try:
                size = int(line.split(b";")[0].strip() or b"x", 16)
            except ValueError:
                raise CurlError(56, "Illegal or missing hexadecimal sequence in chunked-encoding") from None
            conn.buf[:] = rest
            while len(conn.buf) < size + 2:
                data = self.recv(conn, resp.size_download)
                if not data:
                    raise CurlError(18, "transfer closed with outstanding read data remaining")
                conn.buf += data
            if size == 0:
                end = conn.buf.find(b"\r\n\r\n") if not conn.buf.startswith(b"\r\n") else -2
                del conn.buf[:end + 4 if end >= 0 else 2]
                return
            self.deliver(resp, bytes(conn.buf[:size]))
            del conn.buf[:size + 2]

    def deliver(self, resp: Response, data: bytes) -> None:
        resp.size_download += len(data)
        self.meter.dl = resp.size_download
        self.data_note(False, len(data))
        if self.body is not None:
            self.body += data
        else:
            self.out.write(data)
        self.meter.update()

    def fetch(self) -> Response:
        opts = self.opts
        url = self.url if "://" in self.url else "http://" + self.url
        method = opts.request or ("HEAD" if opts.head else "POST" if opts.data else "GET")
        body = "&".join(opts.data).encode() if opts.data else None
        redirects = 0
        self.stats["num_redirects"] = 0
        first = True
        while True:
            url, scheme, host, port, target = parse_url(url)
            self.url = url
            if scheme != "http":
                raise CurlError(1, f'Protocol "{scheme}" not supported or disabled in libcurl')
            # the connection cache and the DNS cache speak before the transfer's first meter line
            conn = self.conn
            reuse = conn is not None and (conn.host, conn.port) == (host, port)
            if reuse:
                self.info("Can not multiplex, even if we wanted to")
                self.info(f"Re-using existing connection #{conn.number} with host {host}")
            elif (host, port) in self.pool.resolved:
                self.info(f"Hostname {host} was found in DNS cache")
            if first:
                self.meter.update()
                first = False
            if not reuse:
                if conn is not None:
                    libc.close(conn.fd)
                conn = self.conn = self.connect(host, port)
            self.stats["time_pretransfer"] = libc.clock_monotonic() - self.start
            resp = Response()
            self.stats["size_request"] = self.send_request(conn, method, target, body) + len(body or b"")
            while True:
                self.read_head(conn, resp)
                if not 100 <= resp.status < 200 or resp.status == 101:
                    break
                resp = Response(close=resp.close)
            self.resp = resp
            length = resp.header("Content-Length")
            if length is not None and isdigits(length.strip()):
                self.meter.dl_total = int(length)
            if resp.version == "1.1" and (resp.header("Connection") or "").lower() == "close":
                resp.close = True
            if opts.fail and resp.status >= 400:
                self.info(f"The requested URL returned error: {resp.status}")
                raise CurlError(22, f"The requested URL returned error: {resp.status}")
            if opts.include or opts.head:
                self.write_head(resp)
            location = resp.header("Location")
            follow = opts.location and location is not None and resp.status in (301, 302, 303, 307, 308)
            self.read_body(conn, resp, method)
            self.closing = resp.close
            if not follow or location is None:
                return resp
            self.finish(0)
            if opts.max_redirs != -1 and redirects >= opts.max_redirs:  # Curl_follow, after multi_done
                self.info(f"Maximum ({opts.max_redirs}) redirects followed")
                raise CurlError(47, f"Maximum ({opts.max_redirs}) redirects followed")
            self.finished = False
            redirects += 1
            url = urljoin(url, location)
            self.info(f"Issue another request to this URL: '{url}'")
            self.meter.restart()
            self.stats["num_redirects"] = redirects
            if resp.status == 303 or (resp.status in (301, 302) and method == "POST" and not opts.request):
                method = "HEAD" if opts.head else "GET"
                body = None

    def finish(self, code: int) -> None:
        """The end of one transfer (``multi_done``): the meter's last line, then the connection
        closed (an error, or the server's wish) or kept for the next."""
        self.finished = True
        if code not in (1, 2, 3, 6):
            self.meter.done()
        conn = self.conn
        if conn is None:
            if code in (6, 7, 28):
                self.info(f"Closing connection {self.pool.opened}")
        elif code or self.closing:
            self.info(f"Closing connection {conn.number}")
            libc.close(conn.fd)
            self.conn = None
        else:
            self.info(f"Connection #{conn.number} to host {conn.host} left intact")
        self.pool.conn = self.conn

    def write_head(self, resp: Response) -> None:
        if self.body is not None:
            self.body += resp.head
        else:
            self.out.write(resp.head)


def _remove_dot_segments(path: str) -> str:
    """RFC 3986 section 5.2.4, as curl's ``dedotdotify`` applies it to a URL's path: the "." and
    ".." segments go, each ".." with the segment before it."""
    out: list[str] = []
    rest = path
    while rest:
        if rest.startswith(("../", "./")):
            rest = rest[rest.index("/") + 1:]
        elif rest.startswith("/./") or rest == "/.":
            rest = "/" + rest[3:]
        elif rest.startswith("/../") or rest == "/..":
            rest = "/" + rest[4:]
            if out:
                out.pop()
        elif rest in (".", ".."):
            rest = ""
        else:
            end = rest.find("/", 1)
            segment = rest if end < 0 else rest[:end]
            out.append(segment)
            rest = rest[len(segment):]
    return "".join(out)


def parse_url(url: str) -> tuple[str, str, str, int, str]:
    """``url`` as curl's URL parser gives it back (``curl_url_get``: the scheme in lower case, the
    port as a number, the path without dot segments and "/" at least), and its scheme, host,
    port and request target; curl's code 3 for a URL it cannot use."""
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError:
        raise CurlError(3, "URL using bad/illegal format or missing URL") from None
    if not parts.hostname:
        raise CurlError(3, "URL using bad/illegal format or missing URL")
    userinfo, at, hostport = parts.netloc.rpartition("@")
    host = hostport[:hostport.index("]") + 1] if hostport.startswith("[") else hostport.partition(":")[0]
    path = _remove_dot_segments(parts.path) or "/"
    target = path + (f"?{parts.query}" if parts.query else "")
    scheme = parts.scheme.lower()
    given = (f"{scheme}://{userinfo}{at}{host}{'' if port is None else f':{port}'}{target}"
             f"{f'#{parts.fragment}' if parts.fragment else ''}")
    return given, scheme, parts.hostname, port or 80, target


class GlobError(Exception):
    """A URL glob curl cannot read (``globerror``): what is wrong, and where (1 is the first
    character; 0 for nowhere in particular).  ``at`` is where the parser had got to, which the
    pattern count's check reports (``glob_parse``)."""

    def __init__(self, message: str, pos: int, at: int | None = None) -> None:
        super().__init__(message)
        self.pos = pos
        self.at = pos if at is None else at

    def text(self, url: str) -> str:
        """``glob_url``'s message, cut to its 512-byte buffer as curl's is."""
        if not self.pos:
            return str(self)
        return f"{self} in URL position {self.pos}:\n{url}\n{' ' * max(self.pos - 1, 1)}^"[:GLOB_ERROR_TEXT - 1]


MAX_IP6LEN = 128         # peek_ipv6's buffer for a bracketed IPv6 literal
GLOB_PATTERN_NUM = 100   # src/tool_urlglob.h: patterns (globs and the text between) in one URL
GLOB_ERROR_TEXT = 512    # glob_url's buffer for the message


def _multiply(amount: int, with_: int) -> int:
    """``multiply``: the number of URLs times a pattern's, in an unsigned long; -1 when it does
    not fit.  A pattern of 2**64 numbers counts 0 (its count wrapped), which makes the whole 0."""
    if not with_:
        return 0
    product = (amount * with_) & ULONG_MAX
    return product if product // with_ == amount else -1


class _GlobSet:
    """``UPTSet``: text, a literal (glob number -1) or the elements of ``{a,b,...}``."""

    __slots__ = ("globindex", "elements", "ptr")

    def __init__(self, globindex: int, elements: list[str]) -> None:
        self.globindex = globindex
        self.elements = elements
        self.ptr = 0

    def text(self) -> str:
        return self.elements[self.ptr]

    def advance(self) -> bool:
        """One step of ``glob_next_url``'s counter; True when it wrapped round (a carry)."""
        self.ptr += 1
        if self.ptr == len(self.elements):
            self.ptr = 0
            return True
        return False


class _CharRange:
    """``UPTCharRange``: ``[a-z:step]``.  The current letter is a C ``char``: a step past 127
    wraps it negative, below the end, as curl's counter does."""

    __slots__ = ("globindex", "min_c", "max_c", "step", "ptr")

    def __init__(self, globindex: int, min_c: int, max_c: int, step: int) -> None:
        self.globindex = globindex
        self.min_c, self.max_c, self.step, self.ptr = min_c, max_c, step, min_c

    def text(self) -> str:
        return chr(self.ptr & 0xFF)

    def advance(self) -> bool:
        nxt = (self.ptr + self.step) & 0xFF
        nxt -= (nxt & 0x80) << 1
        if nxt > self.max_c:
            self.ptr = self.min_c
            return True
        self.ptr = nxt
        return False


class _NumRange:
    """``UPTNumRange``: ``[1-100:step]``, zero-padded to the width of a first number written
    with a leading 0.  The counter is an unsigned long: a step past ULONG_MAX wraps round."""

    __slots__ = ("globindex", "min_n", "max_n", "step", "pad", "ptr")

    def __init__(self, globindex: int, min_n: int, max_n: int, step: int, pad: int) -> None:
        self.globindex = globindex
        self.min_n, self.max_n, self.step, self.pad, self.ptr = min_n, max_n, step, pad, min_n

    def text(self) -> str:
        return f"{self.ptr:0{self.pad}d}"

    def advance(self) -> bool:
        nxt = (self.ptr + self.step) & ULONG_MAX
        if nxt > self.max_n:
            self.ptr = self.min_n
            return True
        self.ptr = nxt
        return False


_Pattern = _GlobSet | _CharRange | _NumRange


@dataclass
class UrlGlob:
    """``struct URLGlob``: a URL's patterns, and how many URLs they make (``urlnum``)."""

    patterns: list[_Pattern]
    amount: int

    def urls(self) -> Iterator[str]:
        """The URLs one by one, as ``glob_next_url`` makes them: the rightmost pattern counts
        fastest.  curl makes ``amount`` of them, and one when ``amount`` is 0."""
        for n in range(max(self.amount, 1)):
            if n:
                for pat in reversed(self.patterns):
                    if not pat.advance():
                        break
            yield "".join(pat.text() for pat in self.patterns)


def _peek_ipv6(url: str, i: int) -> int:
    """``peek_ipv6``: the length of the IPv6 literal in brackets at ``url[i]``, which is then no
    glob, as curl's URL parser reads one (``ipv6_parse``): hex digits, colons and dots that
    ``inet_pton`` takes, then perhaps ``%`` and a zone of 1 to 15 characters; 0 if there is none."""
    end = url.find("]", i)
    if end < 0 or not 4 <= end - i + 1 < MAX_IP6LEN:
        return 0
    address, percent, zone = url[i + 1:end].partition("%")
    if percent:
        if zone.startswith("25") and len(zone) > 2:  # "%25", a percent sign URL-encoded
            zone = zone[2:]
        if not 0 < len(zone) < 16:
            return 0
    if address.strip("0123456789abcdefABCDEF:.") or not is_ipv6_address(address):
        return 0
    return end - i + 1


def _digits(url: str, i: int) -> tuple[int | None, int]:
    """``strtoul(url + i, &end, 10)`` on plain digits: the number (None for none) and the end."""
    j = i
    while j < len(url) and url[j] in "0123456789":
        j += 1
    return (int(url[i:j]) if j > i else None), j


def _glob_set(url: str, i: int, pos: int, globindex: int, amount: int) -> tuple[_GlobSet, int, int, int]:
    """``glob_set``: the elements of ``{a,b,...}`` from just after the brace; the pattern, the
    index and position after the closing brace (the position, as curl counts it, stops one
    short), and the number of URLs so far times the elements."""
    start, opos = i, pos - 1
    elements: list[str] = []
    element: list[str] = []
    while True:
        c = url[i] if i < len(url) else ""
        if not c:
            raise GlobError("unmatched brace", opos, pos)
        if c in "{[":
            raise GlobError("nested brace", pos)
        if c in "},":
            if c == "}":
                if i == start:
                    raise GlobError("empty string within braces", pos)
                amount = _multiply(amount, len(elements) + 1)
                if amount < 0:
                    raise GlobError("range overflow", 0, pos)
            elements.append("".join(element))
            element = []
            i += 1
            if c == "}":
                return _GlobSet(globindex, elements), i, pos, amount
            pos += 1
            continue
        if c == "]":
            raise GlobError("unexpected close bracket", pos)
        if c == "\\" and i + 1 < len(url):  # an escaped character: the backslash goes
            i += 1
            pos += 1
        element.append(url[i])
        i += 1
        pos += 1


def _glob_range(url: str, i: int, pos: int, globindex: int, amount: int) -> tuple[_Pattern, int, int, int]:
    """``glob_range`` (curl 7.88.1's): ``[a-z]`` or ``[0-9]``, with ``:step``, from just after
    the bracket; the pattern, the index and position after it, and the number of URLs so far
    times the pattern's."""
    c = url[i:i + 1]
    if c.isascii() and c.isalpha():
        # sscanf(pattern, "%c-%c%c", &min_c, &max_c, &end_c)
        ok = len(url) >= i + 4 and url[i + 1] == "-"
        step, end = 1, i
        low, high = ord(c), ord(url[i + 2]) if ok else 0
        if ok:
            if url[i + 3] == ":":
                number, stop, err = libc.strtoul(url, i + 4)
                if err or stop == i + 4 or url[stop:stop + 1] != "]":
                    step = 0
                else:
                    step, end = number, stop + 1
            elif url[i + 3] != "]":
                ok = False
            else:
                end = i + 4
        pos += end - i
        span = high - low
        if (not ok or not step or step > INT_MAX or (span == 0 and step != 1)
                or (span != 0 and (span < 0 or step > span or span > ord("z") - ord("a")))):
            raise GlobError("bad range", pos)
        pattern: _Pattern = _CharRange(globindex, low, high, step)
        count = span // step + 1
    elif c in tuple("0123456789"):
        pad = _digits(url, i)[1] - i if c == "0" else 0
        low, stop, err = libc.strtoul(url, i)
        high, step, end, ok = 0, 0, i, False
        if not err and url[stop:stop + 1] == "-":
            end = stop + 1
            while url[end:end + 1] in (" ", "\t") and end < len(url):
                end += 1
            if url[end:end + 1] in tuple("0123456789"):
                high, stop, err = libc.strtoul(url, end)
                if not err:
                    step = 1
                    if url[stop:stop + 1] == ":":
                        end = stop + 1
                        step, stop, err = libc.strtoul(url, end)
                    if not err and url[stop:stop + 1] == "]":
                        end, ok = stop + 1, True
        pos += end - i
        if not ok or not step or (low == high and step != 1) or (low != high and (low > high or step > high - low)):
            raise GlobError("bad range", pos)
        pattern = _NumRange(globindex, low, high, step, pad)
        count = ((high - low) // step + 1) & ULONG_MAX
    else:
        raise GlobError("bad range specification", pos)
    amount = _multiply(amount, count)
    if amount < 0:
        raise GlobError("range overflow", pos)
    return pattern, end, pos, amount


def glob_url(url: str) -> UrlGlob:
    """``glob_url``: the URL as its patterns, and how many URLs they make; GlobError for one
    curl refuses."""
    patterns: list[_Pattern] = []
    i, pos, globs, amount = 0, 1, 0, 1
    while i < len(url):
        literal: list[str] = []
        while i < len(url) and url[i] != "{":
            if url[i] == "[":
                skip = _peek_ipv6(url, i) or (2 if url[i + 1:i + 2] == "]" else 0)
                if not skip:
                    break
                literal.append(url[i:i + skip])  # (curl does not count these in the position)
                i += skip
                continue
            if url[i] in "}]":
                raise GlobError("unmatched close brace/bracket", pos)
            if url[i] == "\\" and url[i + 1:i + 2] in ("{", "[", "}", "]"):
                i += 1
                pos += 1
            literal.append(url[i])
            i += 1
            pos += 1
        error = None
        if literal:
            patterns.append(_GlobSet(-1, ["".join(literal)]))
        elif i < len(url):
            try:
                pattern, i, pos, amount = (_glob_set if url[i] == "{" else _glob_range)(url, i + 1, pos + 1, globs,
                                                                                        amount)
                patterns.append(pattern)
            except GlobError as e:
                error, pos = e, e.at
            globs += 1
        # The pattern count is checked after each, a failed one too (glob_parse).
        if len(patterns) + (error is not None) >= GLOB_PATTERN_NUM:
            raise GlobError("too many globs", pos)
        if error is not None:
            raise error
    return UrlGlob(patterns, amount)


def glob_match_url(filename: str, glob: UrlGlob) -> str:
    """``glob_match_url``: ``-o``'s name with each ``#N`` the text the Nth glob now stands for;
    a ``#N`` that names no glob stays as it is."""
    out = []
    i = 0
    while i < len(filename):
        number, end = _digits(filename, i + 1) if filename[i] == "#" else (None, i)
        if number is None:
            out.append(filename[i])
            i += 1
            continue
        matches = [pat.text() for pat in glob.patterns if pat.globindex == number - 1]
        if number and number < len(glob.patterns) and matches:
            out.append(matches[0])
            i = end
        else:
            out.append("#")
            i += 1
    return "".join(out)


def _write_out(fmt: str, t: Transfer, code: int, error: str) -> str:
    """``-w``: the format with ``%{variable}`` and ``\\n``-style escapes expanded."""
    resp = t.resp
    ip, port = t.remote or ("", 0)
    times = {k: f"{t.stats.get(k, 0.0):.6f}" for k in
             ("time_namelookup", "time_connect", "time_pretransfer", "time_starttransfer")}
    values = {
        "http_code": f"{resp.status if resp else 0:03d}", "response_code": f"{resp.status if resp else 0:03d}",
        "size_download": str(resp.size_download if resp else 0), "size_header": str(len(resp.head) if resp else 0),
        "size_request": str(int(t.stats.get("size_request", 0))),
        "content_type": (resp.header("Content-Type") or "") if resp else "",
        "url_effective": t.url, "num_redirects": str(int(t.stats.get("num_redirects", 0))),
        "num_connects": str(t.connects), "remote_ip": ip, "remote_port": str(port), "exitcode": str(code),
        "errormsg": error,
        "http_version": (resp.version if resp and resp.version else "0"),
        "time_total": f"{libc.clock_monotonic() - t.start:.6f}", **times,
    }
    out = []
    i = 0
    while i < len(fmt):
        if fmt.startswith("%{", i) and "}" in fmt[i:]:
            end = fmt.index("}", i)
            name = fmt[i + 2:end]
            if name in values:
                out.append(values[name])
            else:
                libc.printf("curl: unknown --write-out variable: '%s'\n", name)
            i = end + 1
        elif fmt.startswith("%%", i):
            out.append("%")
            i += 2
        elif fmt[i] == "\\" and i + 1 < len(fmt) and fmt[i + 1] in "nrt\\":
            out.append({"n": "\n", "r": "\r", "t": "\t", "\\": "\\"}[fmt[i + 1]])
            i += 2
        else:
            out.append(fmt[i])
            i += 1
    return "".join(out)


def parse_args(argv: Sequence[str]) -> Options:
    """curl's command line; ``CurlError(2, ...)`` for one it cannot take."""
    opts = Options()
    urls = []
    args = list(argv)
    while args:
        arg = args.pop(0)
        if arg.startswith("--") and arg != "--":
            name = arg
            if name in _FLAGS:
                setattr(opts, _FLAGS[name], True)
            elif name in _VALUED:
                if not args:
                    raise CurlError(2, f"option {name}: requires parameter")
                _set(opts, name, _VALUED[name], args.pop(0))
            else:
                raise CurlError(2, f"option {name}: is unknown")
        elif arg.startswith("-") and len(arg) > 1:
            i = 1
            while i < len(arg):
                flag = "-" + arg[i]
                if flag in _FLAGS:
                    setattr(opts, _FLAGS[flag], True)
                    i += 1
                elif flag in _VALUED:
                    value = arg[i + 1:] or (args.pop(0) if args else None)
                    if value is None:
                        raise CurlError(2, f"option {flag}: requires parameter")
                    _set(opts, flag, _VALUED[flag], value)
                    break
                else:
                    raise CurlError(2, f"option {arg}: is unknown")
        else:
            urls.append(arg)
    if not urls:
        raise CurlError(2, "")
    if len(urls) > 1:
        raise CurlError(2, "tuxnet's curl fetches one URL a run")
    opts.url = urls[0]
    return opts


def _set(opts: Options, flag: str, attr: str, value: str) -> None:
    if attr in ("data", "header"):
        getattr(opts, attr).append(value)
    elif attr in ("max_time", "connect_timeout"):
        # str2udouble(&seconds, nextarg, (double)LONG_MAX / 1000), its checks in its order; then
        # libcurl's whole milliseconds, (long)(seconds * 1000), where 0 means no limit; a NaN
        # passes the checks, and libcurl refuses the LONG_MIN it makes: no limit either
        seconds, end, err = libc.strtod(value)
        if err == ERANGE or seconds > LONG_MAX / 1000:
            raise CurlError(2, f"option {flag}: too large number")
        if end == 0 or end != len(value):
            raise CurlError(2, f"option {flag}: expected a proper numerical parameter")
        if seconds < 0:
            raise CurlError(2, f"option {flag}: expected a positive numerical parameter")
        ms = 0 if math.isnan(seconds) else int(seconds * 1000)
        setattr(opts, attr, ms / 1000 if ms else None)
    elif attr == "max_redirs":
        # str2num: strtol in base 10, the whole text; -1 (no limit) the least allowed
        number, end, err = libc.strtol(value)
        if err == ERANGE:
            raise CurlError(2, f"option {flag}: too large number")
        if end == 0 or end != len(value) or number < -1:
            raise CurlError(2, f"option {flag}: expected a proper numerical parameter")
        opts.max_redirs = number
    else:
        setattr(opts, attr, value)


def _transfer(opts: Options, url: str, output: str | None, out: Stdout, pool: Pool) -> int:
    """One transfer and what follows it (``post_per_transfer``): its error line, standard output
    flushed (the body, and the ``-w`` line of the transfer before), its output file, its ``-w``
    line (left in stdout's buffer); its exit status."""
    t = Transfer(opts, url, output, out, pool)
    code, error = 0, ""
    try:
        t.fetch()
    except CurlError as e:
        code, error = e.code, str(e)
    if not t.finished:
        t.finish(code)
    if code and (not opts.silent or opts.show_error):
        libc.printf("curl: (%d) %s\n", code, error)
    out.flush()
    if output is not None and t.body is not None and t.resp is not None and code in (0, 22):
        libc.write_file(output, bytes(t.body))
    if opts.write_out:
        out.write(_write_out(opts.write_out, t, code, error).encode())
    return code


def curl_main(argv: Sequence[str]) -> int:
    """``curl [options] URL``; the exit status is curl's (0, or the last transfer's error code)."""
    try:
        opts = parse_args(argv)
    except CurlError as e:
        libc.printf("%s%s", f"curl: {e}\n" if str(e) else "", _TRY)
        return 2
    try:
        glob = UrlGlob([_GlobSet(-1, [opts.url])], 1) if opts.globoff else glob_url(opts.url)
    except GlobError as e:
        if not opts.silent or opts.show_error:
            libc.printf("curl: (3) %s\n", e.text(opts.url))
        return 3
    out = Stdout()
    pool = Pool()
    code = 0
    for url in glob.urls():
        output = None if opts.output is None else glob_match_url(opts.output, glob)
        code = _transfer(opts, url, output, out, pool)
    out.flush()
    if pool.conn is not None:
        libc.close(pool.conn.fd)
    return code
