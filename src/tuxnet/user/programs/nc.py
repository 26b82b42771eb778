"""``nc`` (OpenBSD netcat, Debian's netcat-openbsd 1.219): connect to a port, or listen on one,
and copy standard input to the connection and the connection to standard output.

    nc [-46klNnuvz] [-p source_port] [-q seconds] [-s source] [-w timeout] [destination] [port]

``-z`` only tries each port of a list or range (``20-25``) and says, with ``-v``, which took the
connection; ``-l`` waits for one (``-k``: one after another); ``-u`` speaks UDP (a listener takes
the first datagram's sender as its peer); ``-N`` shuts the connection down for writing once
standard input ends, ``-q`` quits that many seconds after it; ``-w`` limits a connection attempt
and an idle connection; ``-n`` takes and shows addresses only, never names.  The messages (to
standard error) are netcat's, word for word; a tuxnet program's standard input is what its
``[[run]]`` gives in ``stdin`` (``echo ... | nc``), else it ends at once.

Addresses come from ``getaddrinfo`` as netcat asks for them (``-4`` IPv4 only, ``-6`` IPv6 only,
the last of the two given wins).  tuxnet's kernel has no IPv6, as a Linux built without it: an
IPv6 address is looked up, but its socket is refused (EAFNOSUPPORT), so ``nc -6 ::1 80`` fails
without a word, ``nc -6 -l 5000`` says ``nc: Address family not supported by protocol`` and
``nc -6 127.0.0.1 80`` getaddrinfo's ``Address family for hostname not supported``.
"""

from __future__ import annotations

import errno

from tuxnet.kernel.errno import strerror
from tuxnet.kernel.minmax import INT_MAX
from tuxnet.net.socket import (
    AF_INET,
    AF_INET6,
    AF_UNSPEC,
    POLLIN,
    POLLOUT,
    SHUT_WR,
    SOCK_DGRAM,
    SOCK_NONBLOCK,
    SOCK_STREAM,
)
from tuxnet.user import libc
from tuxnet.user.ctype import isdigits
from tuxnet.user.resolv import AI_NUMERICHOST, AI_PASSIVE, getservbyname, getservbyport

USAGE = ("usage: nc [-46CDdFhklNnrStUuvZz] [-I length] [-i interval] [-M ttl]\n"
         "\t  [-m minttl] [-O length] [-P proxy_username] [-p source_port]\n"
         "\t  [-q seconds] [-s sourceaddr] [-T keyword] [-V rtable] [-W recvlimit]\n"
         "\t  [-w timeout] [-X proxy_protocol] [-x proxy_address[:port]]\n"
         "\t  [destination] [port]\n")
_FLAGS = set("46klNnuvz")
_VALUED = set("pqsw")


class NcExit(Exception):
    """nc gives up (``errx``): its message and status."""

    def __init__(self, message: str, status: int = 1) -> None:
        super().__init__(message)
        self.status = status


def _strtoport(text: str) -> int:
    """``strtoport``: ``strtonum(text, 1, 65535)``."""
    port, error = libc.strtonum(text, 1, 65535)
    if error:
        raise NcExit(f"nc: port number {error}: {text}")
    return port


def _ports(spec: str, proto: str) -> list[int]:
    """``build_ports``: a range ``LO-HI`` (it starts with a digit), a service's name, or a port."""
    lo, dash, hi = spec.partition("-")
    if isdigits(spec[:1]) and dash:
        first, last = _strtoport(lo), _strtoport(hi)
        return list(range(min(first, last), max(first, last) + 1))
    try:
        return [getservbyname(spec, proto)]
    except OSError:
        return [_strtoport(spec)]


def _source_port(opts: dict, udp: bool) -> int:
    """remote_connect's ``getaddrinfo(sflag, pflag, ...)`` for the port to bind: a number as
    glibc reads one, else a service's name; getaddrinfo's error ends nc."""
    try:
        found = libc.getaddrinfo(opts.get("s"), opts["p"], opts.get("family", 0),
                                 SOCK_DGRAM if udp else SOCK_STREAM, 0, AI_PASSIVE)
    except OSError as e:
        raise NcExit(f"nc: getaddrinfo: {e.strerror}") from None
    return found[0][4][1]


def _service(port: int, proto: str, numeric: bool) -> str:
    if numeric:
        return "*"
    try:
        return getservbyport(port, proto)
    except OSError:
        return "*"


def _addrinfo(host: str | None, port: int, opts: dict, udp: bool, passive: bool = False) -> list[tuple]:
    """``getaddrinfo`` with netcat's hints (main's ``hints``: the family of -4/-6, the socket type
    of -u, AI_NUMERICHOST with -n; AI_PASSIVE for local_listen): (family, sockaddr) of each
    result, or netcat's message (remote_connect's, or local_listen's for a listener)."""
    flags = (AI_NUMERICHOST if opts.get("n") else 0) | (AI_PASSIVE if passive else 0)
    try:
        infos = libc.getaddrinfo(host, str(port), opts.get("family", AF_UNSPEC),
                                 SOCK_DGRAM if udp else SOCK_STREAM, 0, flags)
    except OSError as error:
        if passive:
            raise NcExit(f"nc: getaddrinfo: {error.strerror}") from None
        raise NcExit(f"nc: getaddrinfo for host \"{host}\" port {port}: {error.strerror}") from None
    return [(info[0], info[4]) for info in infos]


def _peer_name(addr: str, numeric: bool) -> str:
    """How ``-l -v`` names the peer: its host name (getnameinfo), or its address."""
    if numeric:
        return addr
    try:
        return libc.gethostbyaddr(addr).h_name
    except OSError:
        return addr


def _readwrite(fd: int, stdin: bytes, opts: dict, udp: bool) -> None:
    """``readwrite``: what standard input held goes out, then the connection's bytes come to
    standard output until the peer is done (or -q's seconds after the input ended, or -w's
    without a byte)."""
    if stdin:
        libc.send(fd, stdin)
    if opts.get("N") and not udp:
        libc.shutdown(fd, SHUT_WR)
    quit_after = opts.get("q")
    idle = opts.get("w")
    limit_ms = -1
    for seconds in (quit_after, idle):
        if seconds is not None and seconds >= 0:
            limit_ms = int(seconds * 1000) if limit_ms < 0 else min(limit_ms, int(seconds * 1000))
    while True:
        ready = libc.poll([(fd, POLLIN)], limit_ms)
        if not ready or not ready[0]:
            return  # -q or -w: time is up
        try:
            data = libc.recv(fd, 16384)
        except ConnectionRefusedError:
            return
        if not data and not udp:
            return
        libc.write(1, data)


def _connect(host: str, port: int, opts: dict, udp: bool) -> int | None:
    """``remote_connect``: a socket connected to one of the addresses of ``host``, or None after
    saying (with -v) why each failed; an address whose family the kernel lacks is passed over."""
    proto = "udp" if udp else "tcp"
    for family, sockaddr in _addrinfo(host, port, opts, udp):
        addr = sockaddr[0]
        try:
            fd = libc.socket(family, (SOCK_DGRAM if udp else SOCK_STREAM) | SOCK_NONBLOCK, 0)
        except OSError:
            continue
        if opts.get("s") is not None or opts.get("p") is not None:
            libc.bind(fd, (opts.get("s") or "0.0.0.0", opts.get("p") or 0))
        try:
            try:
                libc.connect(fd, (addr, port))
            except BlockingIOError:  # timeout_connect
                timeout = opts.get("w")
                ready = libc.poll([(fd, POLLOUT)], int(timeout * 1000) if timeout is not None else -1)
                if not ready or not ready[0]:
                    raise OSError(errno.ETIMEDOUT, strerror(errno.ETIMEDOUT)) from None
                err = libc.getsockopt(fd, 1, 4)  # SO_ERROR
                if err:
                    raise OSError(err, strerror(err)) from None
        except OSError as error:
            libc.close(fd)
            if opts.get("v"):
                libc.printf("nc: connect to %s port %d (%s) failed: %s\n", host, port, proto, error.strerror)
            continue
        flags = libc.fcntl(fd, 3, 0)  # F_GETFL
        libc.fcntl(fd, 4, flags & ~0o4000)  # F_SETFL: blocking again
        if opts.get("v"):
            shown = host if host == addr else f"{host} ({addr})"
            libc.printf("Connection to %s %d port [%s/%s] succeeded!\n", shown, port, proto,
                        _service(port, proto, opts.get("n", False)))
        return fd
    return None


def _listen(host: str | None, port: int, stdin: bytes, opts: dict, udp: bool) -> int:
    """``-l``: wait for a peer on ``port`` (TCP: a connection; UDP: a first datagram), then copy.
    The socket is local_listen's: the first of getaddrinfo's passive addresses whose family the
    kernel has; none (``-6`` here) ends it as main's ``err(1, NULL)`` does, with that errno."""
    fd, source, error = None, "", ""
    for family, sockaddr in _addrinfo(host, port, opts, udp, passive=True):
        try:
            fd = libc.socket(family, SOCK_DGRAM if udp else SOCK_STREAM, 0)
        except OSError as e:
            error = e.strerror
            continue
        source = sockaddr[0]
        break
    if fd is None:
        raise NcExit(f"nc: {error}")
    libc.setsockopt(fd, 1, 2, 1)  # SO_REUSEADDR
    try:
        libc.bind(fd, (source, port))
    except OSError as e:
        raise NcExit(f"nc: bind failed: {e.strerror}") from None
    if not udp:
        libc.listen(fd, 1)
    if opts.get("v"):
        libc.printf("Listening on %s %d\n", source, port)
    numeric = opts.get("n", False)
    while True:
        if udp:
            data, (peer, peer_port) = libc.recvfrom(fd, 16384, 0)
            libc.connect(fd, (peer, peer_port))
            conn = fd
        else:
            conn, (peer, peer_port) = libc.accept(fd)
            data = b""
        if opts.get("v"):
            libc.printf("Connection received on %s %d\n", _peer_name(peer, numeric), peer_port)
        libc.write(1, data)
        _readwrite(conn, stdin, opts, udp)
        if not opts.get("k") or udp:
            return 0
        libc.close(conn)


def nc_main(argv: list[str]) -> int:
    """``nc`` as a program on a host; its standard input is read to its end first."""
    opts: dict = {}
    args = list(argv)
    words = []
    while args:
        arg = args.pop(0)
        if arg.startswith("-") and len(arg) > 1:
            for i, c in enumerate(arg[1:]):
                if c in _FLAGS:
                    opts[c] = True
                    if c in "46":  # main's family: the last of -4 and -6 given
                        opts["family"] = AF_INET if c == "4" else AF_INET6
                elif c in _VALUED:
                    value = arg[i + 2:] or (args.pop(0) if args else None)
                    if value is None:
                        libc.printf("nc: option requires an argument -- '%s'\n%s", c, USAGE)
                        return 1
                    opts[c] = value
                    break
                else:
                    libc.printf("nc: invalid option -- '%s'\n%s", c, USAGE)
                    return 1
        else:
            words.append(arg)
    udp = opts.get("u", False)
    proto = "udp" if udp else "tcp"
    try:
        # main: -w by strtonum(optarg, 0, INT_MAX / 1000), -q by strtonum(optarg, INT_MIN, INT_MAX)
        for key, what, low, high in (("q", "quit timer", -(1 << 31), INT_MAX), ("w", "timeout", 0, INT_MAX // 1000)):
            if key in opts:
                seconds, error = libc.strtonum(opts[key], low, high)
                if error:
                    raise NcExit(f"nc: {what} {error}: {opts[key]}")
                opts[key] = seconds
        if "p" in opts:
            opts["p"] = _ports(opts["p"], proto)[0] if opts.get("l") else _source_port(opts, udp)
        data = b""
        while chunk := libc.read(0, 16384):
            data += chunk
        if opts.get("l"):
            if len(words) > 2 or (not words and "p" not in opts):
                raise NcExit("nc: missing port number" if not words else USAGE.rstrip("\n"))
            port = _ports(words[-1], proto)[0] if words else opts["p"]
            return _listen(words[0] if len(words) == 2 else opts.get("s"), port, data, opts, udp)
        if len(words) != 2:
            raise NcExit("nc: missing hostname and port" if not words else "nc: missing port number")
        host, spec = words
        status = 1
        for port in _ports(spec, proto):
            fd = _connect(host, port, opts, udp)
            if fd is None:
                continue
            status = 0
            if not opts.get("z"):
                _readwrite(fd, data, opts, udp)
            libc.close(fd)
        return status
    except NcExit as error:
        libc.printf("%s\n", str(error))
        return error.status
