"""``iperf``: iperf 2's TCP throughput test (2.1.8, as Debian 12 ships it), its client and its
server, printing what it prints.

    iperf -s [-p PORT] [-i SECS] [-w SIZE] [-l LEN] [-f FMT]
    iperf -c HOST [-p PORT] [-t SECS | -n BYTES] [-i SECS] [-w SIZE] [-l LEN] [-f FMT]

The client connects, writes ``-l`` bytes at a time (128 KB) for ``-t`` seconds (10) or until
``-n`` bytes have gone, and closes; the server takes one connection after another and reads each
to its end.  Each side reports the bytes it moved over the time from the connection to its last
write or its end of file (``-i``: every so many seconds too), in iperf's adaptive units: transfer
in 1024-based bytes, bandwidth in 1000-based bits a second.  ``-w`` sets SO_SNDBUF (client) or
SO_RCVBUF (server) and reports what Linux granted, which is twice what was asked, within
``net.core.wmem_max``/``rmem_max``.  The line for a connection ends with its
``icwnd/mss/irtt``, read with TCP_INFO as iperf reads it: the congestion window, the MSS and the
smoothed RTT in microseconds.  On a simulated network the times are the world's, so the figures
are the simulated link's, not the machine's.

iperf's UDP mode, parallel streams, dual and trade-off tests and daemon mode are not here: asking
for them says so.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from tuxnet.net.core.sock import SO_RCVBUF, SO_REUSEADDR, SO_SNDBUF, SOL_SOCKET
from tuxnet.net.ipv4.tcp import IPPROTO_TCP, TCP_INFO
from tuxnet.net.ipv4.tcp_info import TcpInfo
from tuxnet.net.socket import AF_INET, SOCK_STREAM
from tuxnet.user import libc

DEFAULT_PORT = 5001
DEFAULT_LEN = 128 * 1024  # iperf 2's TCP read and write size
DEFAULT_TIME = 10.0
RULE = "-" * 60
USAGE = "Usage: iperf [-s|-c host] [options]\nTry `iperf --help' for more information.\n"
# Options of iperf's that this one does not have, and what they are.
UNSUPPORTED = {"-u": "UDP", "-b": "a bandwidth target (UDP)", "-P": "parallel streams", "-d": "a dual test",
               "-r": "a trade-off test", "-D": "daemon mode", "-R": "reverse mode", "-V": "IPv6"}
_WITH_VALUE = ("-c", "-p", "-t", "-n", "-i", "-w", "-l", "-f")
_BYTE_LABELS = ("Byte", "KByte", "MByte", "GByte", "TByte")
_BIT_LABELS = ("bit", "Kbit", "Mbit", "Gbit", "Tbit")
_FORMATS = "abkmgtABKMGT"


def byte_snprintf(value: float, fmt: str) -> str:
    """iperf's ``byte_snprintf``: ``value`` bytes in unit ``fmt`` (upper case: bytes, 1024-based;
    lower case: bits, 1000-based; ``a``/``A`` the largest unit that keeps the number below 1000),
    in four places."""
    bits = fmt.islower()
    num = value * 8 if bits else value
    base = 1000.0 if bits else 1024.0
    if fmt.upper() == "A":
        conv = 0
        while num >= base and conv < len(_BYTE_LABELS) - 1:
            num /= base
            conv += 1
    else:
        conv = "BKMGT".index(fmt.upper())
        num /= base ** conv
    label = (_BIT_LABELS if bits else _BYTE_LABELS)[conv]
    if num < 0.9995:
        return f"{num:4.3f} {label}"
    if num < 9.995:
        return f"{num:4.2f} {label}"
    if num < 99.95:
        return f"{num:4.1f} {label}"
    return f"{num:4.0f} {label}"


def byte_atoi(text: str) -> int:
    """iperf's ``byte_atoi``: a number of bytes with an optional K, M or G (1024-based, either case)."""
    scale = {"k": 1 << 10, "m": 1 << 20, "g": 1 << 30}.get(text[-1:].lower(), 1)
    number = float(text[:-1] if scale > 1 else text)
    if not number >= 0:
        raise ValueError(text)
    return int(number * scale)


@dataclass
class Options:
    server: bool = False
    host: str | None = None
    port: int = DEFAULT_PORT
    time: float = DEFAULT_TIME
    amount: int | None = None
    interval: float = 0.0
    window: int | None = None
    length: int = DEFAULT_LEN
    fmt: str = "a"
    warnings: str = ""  # what iperf says of options it skips, before it runs


def parse(argv: Sequence[str]) -> Options:
    """The command line, as iperf's getopt reads it (an unknown option is skipped, with a word);
    ValueError with iperf's message for one it cannot run with."""
    opts = Options()
    args = list(argv)
    while args:
        arg = args.pop(0)
        if arg in UNSUPPORTED:
            raise ValueError(f"iperf: {arg}: tuxnet's iperf has no {UNSUPPORTED[arg]} (TCP, one stream)\n")
        if arg == "-s":
            opts.server = True
            continue
        if arg not in _WITH_VALUE:
            if arg.startswith("-") and len(arg) > 1:
                opts.warnings += f"iperf: invalid option -- {arg[1]}\n"
            continue
        if not args:
            raise ValueError(f"iperf: option requires an argument -- {arg[1]}\n{USAGE}")
        value = args.pop(0)
        try:
            if arg == "-c":
                opts.host = value
            elif arg == "-p":
                opts.port = int(value)
                if not 0 < opts.port < 65536:
                    raise ValueError(value)
            elif arg == "-t":
                opts.time = float(value)
            elif arg == "-n":
                opts.amount = byte_atoi(value)
            elif arg == "-i":
                opts.interval = float(value)
            elif arg == "-w":
                opts.window = byte_atoi(value)
            elif arg == "-l":
                opts.length = byte_atoi(value)
                if not opts.length:
                    raise ValueError(value)
            else:
                opts.fmt = value if value in _FORMATS else "a"
        except ValueError:
            if arg == "-t":
                raise ValueError(f"ERROR: -t value of '{value}' not recognized\n") from None
            if arg == "-n":
                raise ValueError(f"Invalid value for -n amount of '{value}'\n") from None
            raise ValueError(f"iperf: invalid value '{value}' for {arg}\n") from None
    if not opts.server and opts.host is None:
        raise ValueError(USAGE)
    return opts


def _window_line(fd: int, optname: int, asked: int | None) -> str:
    """``TCP window size: ...``: the buffer the socket has, and what was asked when it differs."""
    if asked is not None:
        libc.setsockopt(fd, SOL_SOCKET, optname, asked)
    size = libc.getsockopt(fd, SOL_SOCKET, optname)
    line = f"TCP window size: {byte_snprintf(size, 'A')}"
    if asked is None:
        return line + " (default)\n"
    if size != asked:
        return line + f" (WARNING: requested {byte_snprintf(asked, 'A')})\n"
    return line + "\n"


def _connected_line(ident: int, fd: int) -> str:
    local, peer = libc.getsockname(fd), libc.getpeername(fd)
    info = TcpInfo.unpack(libc.getsockopt(fd, IPPROTO_TCP, TCP_INFO))
    return (f"[{ident:3d}] local {local[0]} port {local[1]} connected with {peer[0]} port {peer[1]} "
            f"(icwnd/mss/irtt={info.tcpi_snd_cwnd}/{info.tcpi_snd_mss}/{info.tcpi_rtt})\n")


class Reporter:
    """The report lines of one connection: every ``interval`` seconds, and its whole."""

    def __init__(self, ident: int, opts: Options) -> None:
        self.ident = ident
        self.fmt = opts.fmt
        self.interval = opts.interval
        self.start = libc.clock_monotonic()
        self.total = 0
        self.since = 0  # bytes since the last interval's end
        self.next = self.interval  # the end of the interval under way (seconds from the start)
        libc.printf("[ ID] Interval       Transfer     Bandwidth\n")

    def line(self, begin: float, end: float, amount: int) -> None:
        rate = amount / (end - begin) if end > begin else 0.0
        libc.printf("[%3d] %.4f-%.4f sec  %ss  %ss/sec\n", self.ident, begin, end,
                    byte_snprintf(amount, self.fmt.upper()), byte_snprintf(rate, self.fmt.lower()))

    def moved(self, amount: int) -> None:
        """``amount`` more bytes moved now; the intervals that ended before now are reported, this
        one's bytes counting in the interval under way."""
        if self.interval > 0:
            elapsed = libc.clock_monotonic() - self.start
            while elapsed >= self.next:
                self.line(self.next - self.interval, self.next, self.since)
                self.since = 0
                self.next += self.interval
        self.total += amount
        self.since += amount

    def finish(self) -> None:
        self.line(0.0, libc.clock_monotonic() - self.start, self.total)


def client(opts: Options) -> int:
    """iperf's client: connect, write for ``-t`` seconds or ``-n`` bytes, close."""
    assert opts.host is not None
    fd = libc.socket(AF_INET, SOCK_STREAM, 0)
    try:
        try:
            addr = libc.gethostbyname(opts.host).h_addr_list[0]
        except (OSError, IndexError):
            libc.printf("%s: Unknown host\n", opts.host)
            return 1
        libc.printf("%s\nClient connecting to %s, TCP port %d\n%s%s\n", RULE, opts.host, opts.port,
                    _window_line(fd, SO_SNDBUF, opts.window), RULE)
        try:
            libc.connect(fd, (addr, opts.port))
        except OSError as e:
            libc.printf("tcp connect failed: %s\n[%3d] local 0.0.0.0 port 0 connected with %s port %d\n",
                        e.strerror, 1, opts.host, opts.port)
            return 1
        libc.printf("%s", _connected_line(1, fd))
        report = Reporter(1, opts)
        buf = bytes(opts.length)
        end = report.start + opts.time
        left = opts.amount  # bytes still to send with -n; None: until -t seconds have passed
        while left if left is not None else libc.clock_monotonic() < end:
            chunk = buf if left is None or left >= len(buf) else buf[:left]
            try:
                sent = libc.send(fd, chunk)
            except OSError as e:
                libc.printf("write failed: %s\n", e.strerror)
                break
            report.moved(sent)
            if left is not None:
                left -= sent
        report.finish()
    finally:
        libc.close(fd)
    return 0


def server(opts: Options) -> int:
    """iperf's server: take connections one after another, read each to its end, report it."""
    fd = libc.socket(AF_INET, SOCK_STREAM, 0)
    try:
        libc.setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, 1)  # as iperf sets it
        window = _window_line(fd, SO_RCVBUF, opts.window)
        try:
            libc.bind(fd, ("0.0.0.0", opts.port))
        except OSError as e:
            libc.printf("bind failed: %s\n", e.strerror)
            return 1
        libc.listen(fd, 128)
        libc.printf("%s\nServer listening on TCP port %d\n%s%s\n", RULE, opts.port, window, RULE)
        ident = 0
        while True:
            conn, _ = libc.accept(fd)
            ident += 1
            try:
                libc.printf("%s", _connected_line(ident, conn))
                report = Reporter(ident, opts)
                buf = bytearray(opts.length)
                while True:
                    n = libc.recv_into(conn, buf)
                    if not n:
                        break
                    report.moved(n)
                report.finish()
            except OSError as e:
                libc.printf("read failed: %s\n", e.strerror)
            finally:
                libc.close(conn)
    finally:
        libc.close(fd)


def iperf_main(argv: Sequence[str]) -> int:
    """``iperf``: the exit status (1 for a bad command line or a failed connection)."""
    try:
        opts = parse(argv)
    except ValueError as e:
        libc.printf("%s", str(e))
        return 1
    libc.printf("%s", opts.warnings)
    return server(opts) if opts.server else client(opts)
