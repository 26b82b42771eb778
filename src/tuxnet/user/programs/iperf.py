"""``iperf``: iperf 2's throughput test (2.1.8, as Debian 12 ships it), TCP and UDP, its client and
its server, printing what it prints.

    iperf -s [-u] [-p PORT] [-i SECS] [-w SIZE] [-l LEN] [-f FMT]
    iperf -c HOST [-p PORT] [-t SECS | -n BYTES] [-i SECS] [-w SIZE] [-l LEN] [-f FMT]
    iperf -c HOST -u [-b RATE] [-t SECS | -n BYTES] [-i SECS] [-w SIZE] [-l LEN] [-f FMT]

TCP: the client connects, writes ``-l`` bytes at a time (128 KB) for ``-t`` seconds (10) or until
``-n`` bytes have gone, and closes; the server takes one connection after another and reads each
to its end.  Each side reports the bytes it moved over the time from the connection to its last
write or its end of file (``-i``: every so many seconds too), in iperf's adaptive units: transfer
in 1024-based bytes, bandwidth in 1000-based bits a second.  ``-w`` sets SO_SNDBUF (client) or
SO_RCVBUF (server) and reports what Linux granted, which is twice what was asked, within
``net.core.wmem_max``/``rmem_max``.  The line for a connection ends with its
``icwnd/mss/irtt``, read with TCP_INFO as iperf reads it: the congestion window, the MSS and the
smoothed RTT in microseconds.

UDP (``-u``): the client sends ``-l``-byte datagrams (1470) paced at ``-b`` bits a second (1 Mbit/s,
that is 1024 * 1024; ``k``/``m``/``g`` are 1000-based, ``K``/``M``/``G`` 1024-based, ``pps`` counts
datagrams), each starting with iperf 2's datagram header (``include/payloads.h``: the sequence
number's low 32 bits, ``tv_sec``, ``tv_usec``, its high 32 bits, then the test header the first
datagram carries).  Its last datagram has the negated sequence number; it sends it again every
10 ms until the server answers with its report (the "Server Report": bytes, duration, jitter,
lost and out-of-order datagrams), which it prints.  The server takes one client after another on
its port: it counts what came, the datagrams lost (gaps in the numbers) and out of order, and the
jitter (RFC 1889's J += (|D| - J) / 16 over the transit times), reports every ``-i`` seconds and at
the end, and answers each of the client's last datagrams with its report.

On a simulated network the times are the world's, so the figures are the simulated link's, not
the machine's.  iperf's parallel streams, dual and trade-off tests, reverse and daemon mode, a TCP
rate limit (``-b`` without ``-u``) and IPv6 are not here: asking for them says so.
"""

from __future__ import annotations

import math
import re
import struct
from collections.abc import Sequence
from dataclasses import dataclass

from tuxnet.kernel.errno import EAGAIN, ECONNREFUSED, EINTR, ENOBUFS
from tuxnet.net.core.sock import SO_RCVBUF, SO_REUSEADDR, SO_SNDBUF, SOL_SOCKET
from tuxnet.net.ipv4.tcp import IPPROTO_TCP, TCP_INFO
from tuxnet.net.ipv4.tcp_info import TcpInfo
from tuxnet.net.socket import AF_INET, POLLIN, SOCK_DGRAM, SOCK_STREAM
from tuxnet.user import libc

DEFAULT_PORT = 5001
DEFAULT_LEN = 128 * 1024  # iperf 2's TCP read and write size
DEFAULT_UDP_LEN = 1470  # kDefault_UDPBufLen: an IPv4 datagram that fits a 1500-byte MTU
DEFAULT_UDP_RATE = 1024 * 1024  # kDefault_UDPRate, bits a second
DEFAULT_TIME = 10.0
MAX_UDP_LEN = 65507  # what an IPv4 datagram can carry
SMALLEST_INTERVAL_US = 100  # 2.1.8 built with fast sampling: -i is 100 us or more
RULE = "-" * 60
USAGE = "Usage: iperf [-s|-c host] [options]\nTry `iperf --help' for more information.\n"
# Options of iperf's that this one does not have, and what they are.
UNSUPPORTED = {"-P": "parallel streams", "-d": "a dual test", "-r": "a trade-off test", "-D": "daemon mode",
               "-R": "reverse mode", "-V": "IPv6"}
_WITH_VALUE = ("-c", "-p", "-t", "-n", "-i", "-w", "-l", "-f", "-b")
_BYTE_LABELS = ("Byte", "KByte", "MByte", "GByte", "TByte")
_BIT_LABELS = ("bit", "Kbit", "Mbit", "Gbit", "Tbit")
_FORMATS = "abkmgtABKMGT"
BW_HEADER = "[ ID] Interval       Transfer     Bandwidth\n"
JITTER_HEADER = "[ ID] Interval       Transfer     Bandwidth        Jitter   Lost/Total Datagrams\n"

# iperf 2's UDP payloads (include/payloads.h), in network byte order.  Every datagram starts with
# struct UDP_datagram: the sequence number's low 32 bits (negative: the last datagrams), the send
# time (tv_sec, tv_usec) and the sequence number's high 32 bits.
UDP_DATAGRAM = struct.Struct("!IIII")
# struct client_hdr_v1 (flags, numThreads, mPort, mBufLen, mWinBand, mAmount) and struct
# client_hdrext (type, length, upperflags, lowerflags, version_u, version_l, reserved, tos, lRate,
# uRate, TCPWritePrefetch): the test the client asks for, in the first datagram and, as the buffer
# keeps them, every datagram after it.
CLIENT_HDR_V1 = struct.Struct("!IiiiiI")
CLIENT_HDREXT = struct.Struct("!iiHHIIHHIII")
CLIENT_HDR_LEN = UDP_DATAGRAM.size + CLIENT_HDR_V1.size + CLIENT_HDREXT.size  # 76
CLIENT_HDR_ZEROED = 160  # the bytes 2.1.8 clears for its struct client_udp_testhdr (the rest is the pattern)
# struct server_hdr after a zeroed UDP_datagram: v1 (flags, total_len1/2, stop_sec/usec, error_cnt,
# outorder_cnt, datagrams, jitter1/2), the extension (transit min, max, sum, mean, m2, vd as
# seconds and microseconds, cntTransit, cntIPG, IPGsum) and the high halves of the three counts.
SERVER_HDR = struct.Struct("!28I")
ACK_LEN = UDP_DATAGRAM.size + SERVER_HDR.size  # 128
HEADER_VERSION1 = 0x80000000
HEADER_EXTEND = 0x40000000
HEADER_SEQNO64B = 0x08000000
HEADER_LEN_BIT = 0x00010000
HEADER_KEYLEN_MASK = 0x0000FFFE
IPERF_VERSION_MAJORHEX = 0x00020001  # 2.1
IPERF_VERSION_MINORHEX = 0x00080003  # .8, a release
MAX_IPG_SECS = 60  # the longest gap between datagrams iperf accepts
FIN_RETRY_NS = 10_000_000  # RETRYTIMER: the client sends its last datagram again every 10 ms,
FIN_RETRIES = 200  # RETRYCOUNT: for two seconds
ACK_SILENCE_MS = 250  # the server waits this long for silence after each report it sends,
ACK_TRIES = 9  # this many times
PARTIAL = 0.25  # PARTIALPERCENT: a last part-interval is reported when longer than this much of -i
# Errors after which a UDP sender goes on (its next datagram takes the same number).
_TRANSIENT = (EAGAIN, EINTR, ENOBUFS, ECONNREFUSED)


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


# 2.1.8's byte_atoi: upper-case suffixes are 1024-based, lower-case ones 1000-based.
_RATE_SUFFIX = {"G": 1 << 30, "M": 1 << 20, "K": 1 << 10, "g": 10**9, "m": 10**6, "k": 10**3}


def byte_atoi(text: str) -> int:
    """iperf's ``byte_atoi`` as ``-n``, ``-l`` and ``-w`` use it: a number of bytes with an optional
    suffix, ``K``/``M``/``G`` 1024-based and ``k``/``m``/``g`` 1000-based (2.1.8's: ``-n 1m`` sends
    1,000,000 bytes, ``-n 1M`` 1,048,576)."""
    scale = _RATE_SUFFIX.get(text[-1:], 1)
    number = float(text[:-1] if text[-1:] in _RATE_SUFFIX else text)
    if not number >= 0:
        raise ValueError(text)
    return int(number * scale)


# What C's sscanf("%lf%c") takes as the number at the start of a string.
_C_DOUBLE = re.compile(r"\s*([+-]?(?:(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?|inf(?:inity)?|nan))", re.IGNORECASE)


def rate_atoi(text: str) -> int:
    """iperf 2.1.8's ``byte_atoi`` as ``-b`` uses it: ``sscanf("%lf%c")``, the suffix letter
    (anything else ignored, no number read as 0), the double cut to an integer as C casts it."""
    m = _C_DOUBLE.match(text)
    if m is None:
        return 0
    number = float(m[1]) * _RATE_SUFFIX.get(text[m.end():m.end() + 1], 1)
    if not math.isfinite(number):
        return -(1 << 63)  # x86's cvttsd2si: the "integer indefinite"
    return int(number)


def _connect(fd: int, addr: str, opts: Options, proto: str) -> bool:
    """The client's connect (Client::my_connect); False, with iperf's lines, when it fails."""
    try:
        libc.connect(fd, (addr, opts.port))
    except OSError as e:
        libc.printf("%s connect failed: %s\n[%3d] local 0.0.0.0 port 0 connected with %s port %d\n",
                    proto, e.strerror, 1, opts.host, opts.port)
        return False
    return True


def _strtok_first(text: str, delim: str) -> str:
    """The first token ``strtok(text, delim)`` returns ("" for none)."""
    return text.lstrip(delim).split(delim, 1)[0]


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
    length_set: bool = False
    fmt: str = "a"
    udp: bool = False
    rate: int = DEFAULT_UDP_RATE  # -b: bits a second, or datagrams a second with pps (as mAppRate, unsigned)
    rate_set: bool = False
    pps: bool = False
    warnings: str = ""  # what iperf says of options it skips, before it runs

    def ticks(self) -> int | None:
        """``-t`` as 2.1.8 keeps it (mAmount, in 10 ms); None for a time that is not a positive
        number: no end."""
        return int(self.time * 100) if 0 < self.time < 1e15 else None

    def ipg_ns(self) -> float:
        """The client's target gap between datagrams (``Client::get_delay_target``), in ns."""
        if self.rate == 0:
            return math.inf
        if self.pps:
            return 1e9 / self.rate
        return self.length * (1e9 * 8) / self.rate


class _Refusal(ValueError):
    """A command line iperf refuses, in its own words."""


def _parse_interval(opts: Options, value: str) -> None:
    """``-i``: seconds, kept in whole microseconds (mInterval), 100 us at least."""
    seconds = float(value)
    if seconds > _U32 / 1e6:
        raise _Refusal(f"Too large value of '{value}' for -i interval, max is {_U32 / 1e6:f}\n")
    usecs = math.ceil(seconds * 1e6)
    if 0 < usecs < SMALLEST_INTERVAL_US:
        usecs = SMALLEST_INTERVAL_US
        opts.warnings += f"WARNING: interval too small, increasing to {usecs / 1e3:3.4f} milliseconds.\n"
    opts.interval = max(usecs, 0) / 1e6


def _parse_rate(opts: Options, value: str) -> None:
    """``-b``, as Settings_Interpret reads it: a ``p`` or ``P`` anywhere makes it datagrams a
    second (the number before it), a ``,`` asks for a varying rate."""
    for delim in "pP":
        token = _strtok_first(value, delim)
        if token and token != value:
            opts.pps = True
            opts.rate = rate_atoi(token)
            break
    else:
        token = _strtok_first(value, ",")
        if token and token != value:
            raise _Refusal("iperf: -b: tuxnet's iperf has no varying rate (RATE,STDDEV)\n")
        opts.rate = rate_atoi(value)
    opts.rate %= 1 << 64  # mAppRate is unsigned: a negative rate is a huge one
    opts.rate_set = True


def parse(argv: Sequence[str]) -> Options:
    """The command line, as iperf's getopt reads it (an unknown option is skipped, with a word);
    ValueError with iperf's message for one it cannot run with."""
    opts = Options()
    args = list(argv)
    while args:
        arg = args.pop(0)
        if arg in UNSUPPORTED:
            raise ValueError(f"iperf: {arg}: tuxnet's iperf has no {UNSUPPORTED[arg]} (TCP or UDP, one stream)\n")
        if arg == "-s":
            opts.server = True
            continue
        if arg == "-u":
            opts.udp = True
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
                # atoi of the first strtok(optarg, "-") token, cut to the socket address's 16 bits;
                # a second token is a port range, for parallel streams
                tokens = [t for t in value.split("-") if t]
                if len(tokens) > 1:
                    raise _Refusal("iperf: -p: tuxnet's iperf has no port range (it runs one stream)\n")
                opts.port = libc.atoi(tokens[0] if tokens else "") & 0xFFFF
            elif arg == "-t":
                # strtod, errno or anything after the number refused (Settings_Interpret)
                seconds, end, err = libc.strtod(value)
                if err or end != len(value):
                    raise ValueError(value)
                opts.time = seconds
            elif arg == "-n":
                opts.amount = byte_atoi(value)
            elif arg == "-i":
                _parse_interval(opts, value)
            elif arg == "-w":
                opts.window = byte_atoi(value)
            elif arg == "-l":
                opts.length = byte_atoi(value)
                opts.length_set = True
                if not opts.length:
                    raise ValueError(value)
            elif arg == "-b":
                _parse_rate(opts, value)
            else:
                opts.fmt = value if value in _FORMATS else "a"
        except _Refusal:
            raise
        except ValueError:
            if arg == "-t":
                raise ValueError(f"ERROR: -t value of '{value}' not recognized\n") from None
            if arg == "-n":
                raise ValueError(f"Invalid value for -n amount of '{value}'\n") from None
            if arg == "-i":
                raise ValueError(f"Invalid value of '{value}' for -i interval\n") from None
            raise ValueError(f"iperf: invalid value '{value}' for {arg}\n") from None
    if not opts.server and opts.host is None:
        raise ValueError(USAGE)
    if opts.rate_set and not opts.udp:
        # 2.1.8 takes -b without -u as a rate limit for TCP
        raise ValueError("iperf: -b: tuxnet's iperf has no TCP rate limit (-b goes with -u)\n")
    if not opts.server and opts.amount is None and opts.ticks() is None:
        opts.warnings += ("WARNING: client will send traffic forever or until an external signal (e.g. SIGINT "
                          "or SIGTERM) occurs to stop it\n")
    if opts.udp:
        if not opts.length_set:
            opts.length = DEFAULT_UDP_LEN
        if not UDP_DATAGRAM.size <= opts.length <= MAX_UDP_LEN:
            raise ValueError(f"iperf: -l: tuxnet's iperf sends UDP datagrams of {UDP_DATAGRAM.size} to "
                             f"{MAX_UDP_LEN} bytes\n")
        ipg = opts.ipg_ns() / 1e9
        if not opts.server and ipg > MAX_IPG_SECS:  # Settings_ModalOptions
            raise ValueError(f"ERROR: IPG delay target of {ipg:.1f} secs too large "
                             f"(max value is {MAX_IPG_SECS} secs)\n")
    return opts


def _window_line(fd: int, optname: int, asked: int | None, label: str = "TCP window size") -> str:
    """``TCP window size: ...`` (``UDP buffer size: ...``): the buffer the socket has, and what was
    asked when it differs."""
    if asked is not None:
        libc.setsockopt(fd, SOL_SOCKET, optname, asked)
    size = libc.getsockopt(fd, SOL_SOCKET, optname)
    line = f"{label}: {byte_snprintf(size, 'A')}"
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


def _host_addr(opts: Options) -> str | None:
    """The address of the client's ``-c`` host; None, iperf's "Unknown host" said, if it has none."""
    assert opts.host is not None
    try:
        return libc.gethostbyname(opts.host).h_addr_list[0]
    except (OSError, IndexError):
        libc.printf("%s: Unknown host\n", opts.host)
        return None


def client(opts: Options) -> int:
    """iperf's client: connect, write for ``-t`` seconds or ``-n`` bytes, close."""
    fd = libc.socket(AF_INET, SOCK_STREAM, 0)
    try:
        addr = _host_addr(opts)
        if addr is None:
            return 1
        libc.printf("%s\nClient connecting to %s, TCP port %d\n%s%s\n", RULE, opts.host, opts.port,
                    _window_line(fd, SO_SNDBUF, opts.window), RULE)
        if not _connect(fd, addr, opts, "tcp"):
            return 0  # (2.1.8 reports the failure and exits 0: its client thread ends, main returns)
        libc.printf("%s", _connected_line(1, fd))
        report = Reporter(1, opts)
        buf = bytes(opts.length)
        ticks = opts.ticks()
        end = None if ticks is None else report.start + ticks / 100
        left = opts.amount  # bytes still to send with -n; None: until -t seconds have passed, or forever
        while left if left is not None else end is None or libc.clock_monotonic() < end:
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
            libc.printf("listener bind failed: %s\n", e.strerror)
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


# -- UDP ---------------------------------------------------------------------------------------------

_U32 = 0xFFFFFFFF


def _stamp(now_ns: int) -> tuple[int, int]:
    """``gettimeofday`` at ``now_ns``: (seconds, microseconds)."""
    return now_ns // 1_000_000_000, now_ns // 1000 % 1_000_000


def _percent(lost: int, total: int) -> str:
    """``%.2g`` of ``100.0 * lost / total`` as glibc prints it: 0/0 is -nan on x86."""
    if total == 0:
        return "-nan" if lost == 0 else "inf"
    return "%.2g" % (100.0 * lost / total)


def _bw_line(ident: int, begin: float, end: float, amount: int, fmt: str) -> str:
    """report_bw_format: the interval, the bytes and the rate, with no newline."""
    rate = amount / (end - begin) if end > begin else 0.0
    return (f"[{ident:3d}] {begin:4.4f}-{end:4.4f} sec  {byte_snprintf(amount, fmt.upper())}s  "
            f"{byte_snprintf(rate, fmt.lower())}s/sec")


def _jitter_lines(ident: int, begin: float, end: float, amount: int, fmt: str, jitter: float, lost: int,
                  total: int, outoforder: int) -> str:
    """udp_output_read: report_bw_jitter_loss_format, and report_outoforder when some came late."""
    text = (f"{_bw_line(ident, begin, end, amount, fmt)}  {jitter * 1e3:6.3f} ms {lost}/{total} "
            f"({_percent(lost, total)}%)\n")
    if outoforder > 0:
        text += f"[{ident:3d}] {begin:4.4f}-{end:4.4f} sec  {outoforder} datagrams received out-of-order\n"
    return text


class _Intervals:
    """iperf's time intervals (reporter_condprint_time_interval_report): a packet after an interval's
    end reports it (the packet counts in the next one); when it comes more than a whole interval
    later, the intervals between are reported empty (reporter_transfer_protocol_missed_reports)."""

    def __init__(self, start_ns: int, interval: float) -> None:
        self.start = start_ns
        self.step = round(interval * 1e6) * 1000  # -i, which parse keeps in whole microseconds (mInterval)
        self.next = start_ns + self.step
        self.last_end = 0.0  # where the last reported interval ended, seconds from the start

    def crossed(self, now_ns: int) -> list[tuple[float, float, bool]]:
        """The intervals to report before a packet at ``now_ns``: (begin, end, empty)."""
        out: list[tuple[float, float, bool]] = []
        if self.step and self.next < now_ns:
            empty = False
            while True:
                end = (self.next - self.start) / 1e9
                out.append((self.last_end, end, empty))
                self.last_end = end
                self.next += self.step
                empty = True
                if now_ns - self.next <= self.step:
                    break
        return out


class _SendReport:
    """The UDP client's report (reporter_transfer_protocol_client_udp): bytes written, every ``-i``
    seconds and the whole, and the datagrams sent."""

    def __init__(self, ident: int, opts: Options, start_ns: int) -> None:
        self.ident = ident
        self.fmt = opts.fmt
        self.clock = _Intervals(start_ns, opts.interval)
        self.total = 0
        self.since = 0
        self.datagrams = 0
        self.headed = False

    def _print(self, begin: float, end: float, amount: int) -> None:
        if not self.headed:  # HEADING_PRINT_COND: the column heads before the first line
            libc.printf("%s", BW_HEADER)
            self.headed = True
        libc.printf("%s\n", _bw_line(self.ident, begin, end, amount, self.fmt))

    def packet(self, now_ns: int, length: int) -> None:
        """A datagram of ``length`` bytes written at ``now_ns`` (0: the write failed)."""
        for begin, end, empty in self.clock.crossed(now_ns):
            self._print(begin, end, 0 if empty else self.since)
            if not empty:
                self.since = 0
        if length > 0:
            self.total += length
            self.since += length
            self.datagrams += 1

    def finish(self, now_ns: int) -> None:
        self._print(0.0, (now_ns - self.clock.start) / 1e9, self.total)
        # The datagrams the reporter counted: those written, and the end-of-job record it counts
        # as one more (EndJob's packet is not marked empty), as 2.1.8 prints it.
        libc.printf("[%3d] Sent %d datagrams\n", self.ident, self.datagrams + 1)


class _MeanMinMax:
    """reporter_update_mmm: Welford's running mean and M2, with the minimum and maximum."""

    def __init__(self) -> None:
        self.cnt = 0
        self.min = self.max = self.sum = self.mean = self.m2 = self.vd = 0.0

    def update(self, value: float) -> None:
        self.cnt += 1
        if self.cnt == 1:
            self.min = self.max = self.sum = self.mean = self.vd = value
            self.m2 = 0.0
            return
        self.sum += value
        self.vd = value - self.mean
        self.mean += self.vd / self.cnt
        self.m2 += self.vd * (value - self.mean)
        self.min = min(self.min, value)
        self.max = max(self.max, value)


class _ReceiveReport:
    """The UDP server's report of one client (reporter_handle_packet_server_udp,
    reporter_transfer_protocol_server_udp): bytes, jitter, lost and out-of-order datagrams."""

    def __init__(self, ident: int, opts: Options, start_ns: int) -> None:
        self.ident = ident
        self.fmt = opts.fmt
        self.interval = opts.interval
        self.clock = _Intervals(start_ns, opts.interval)
        self.bytes = self.bytes_prev = 0
        self.packet_id = self.packet_id_prev = 0  # the highest sequence number yet
        self.received = 0
        self.lost = self.lost_prev = 0
        self.outoforder = self.outoforder_prev = 0
        self.jitter = 0.0
        self.last_transit = 0.0
        self.transit = _MeanMinMax()
        self.headed = False
        self.end = 0.0  # the final report's end, seconds from the start

    def _print(self, begin: float, end: float, amount: int, lost: int, total: int, outoforder: int) -> None:
        if not self.headed:
            libc.printf("%s", JITTER_HEADER)
            self.headed = True
        libc.printf("%s", _jitter_lines(self.ident, begin, end, amount, self.fmt, self.jitter, lost, total, outoforder))

    def _since(self) -> tuple[int, int, int, int]:
        """Bytes, lost, total and out-of-order datagrams since the last report.  The out-of-order
        ones are taken for duplicates and subtracted from the lost ones (2.1.8's assumption)."""
        outoforder = self.outoforder - self.outoforder_prev
        lost = max(self.lost - self.lost_prev - outoforder, 0)
        return self.bytes - self.bytes_prev, lost, self.packet_id - self.packet_id_prev, outoforder

    def _reset(self) -> None:
        self.bytes_prev, self.packet_id_prev = self.bytes, self.packet_id
        self.lost_prev, self.outoforder_prev = self.lost, self.outoforder

    def tick(self, now_ns: int) -> None:
        """Time passing at ``now_ns`` (a packet, or a read that timed out): the intervals that ended."""
        for begin, end, empty in self.clock.crossed(now_ns):
            if self.received == 1:
                self.jitter = 0.0
            if empty:
                self._print(begin, end, 0, 0, 0, 0)
            else:
                self._print(begin, end, *self._since())
                self._reset()

    def packet(self, now_ns: int, length: int, packet_id: int, sent: tuple[int, int]) -> None:
        """A datagram of ``length`` bytes with sequence number ``packet_id``, sent at ``sent``
        (seconds, microseconds), read at ``now_ns``."""
        self.tick(now_ns)
        if packet_id <= 0:
            return
        self.bytes += length
        if packet_id != self.packet_id + 1:  # a gap: lost datagrams, or a late one
            if packet_id < self.packet_id + 1:
                self.outoforder += 1
            else:
                self.lost += packet_id - self.packet_id - 1
        self.packet_id = max(self.packet_id, packet_id)
        self.received += 1
        now_s, now_us = _stamp(now_ns)
        transit = (now_s - sent[0]) + (now_us - sent[1]) / 1e6
        # RFC 1889 (RTP) 6.3.1: J += (|D(i-1, i)| - J) / 16, D the change in transit time
        self.jitter += (abs(transit - self.last_transit) - self.jitter) / 16.0
        self.transit.update(transit)
        self.last_transit = transit

    def finish(self, now_ns: int) -> None:
        """The last part-interval (when -i and longer than a quarter of it) and the whole."""
        if self.received == 1:
            self.jitter = 0.0
        self.end = (now_ns - self.clock.start) / 1e9
        amount, lost, total, outoforder = self._since()
        if self.clock.step and amount > 0 and self.end - self.clock.last_end > PARTIAL * self.interval:
            self._print(self.clock.last_end, self.end, amount, lost, total, outoforder)
        lost = max(self.lost - self.outoforder, 0)
        self._print(0.0, self.end, self.bytes, lost, self.packet_id, self.outoforder)

    def ack(self) -> bytes:
        """write_UDP_AckFIN's datagram: a zeroed UDP_datagram, then struct server_hdr."""
        amount, end, outoforder, total = self.bytes, self.end, self.outoforder, self.packet_id
        lost = max(self.lost - outoforder, 0)

        def split(value: float) -> tuple[int, int]:  # (long) x and its microseconds, as htonl takes them
            whole = int(value)
            return whole & _U32, int((value - whole) * 1e6) & _U32

        t = self.transit
        fields = (HEADER_VERSION1 | HEADER_SEQNO64B, (amount >> 32) & _U32, amount & _U32, *split(end),
                  lost & _U32, outoforder & _U32, total & _U32, *split(self.jitter),
                  *split(t.min), *split(t.max), *split(t.sum), *split(t.mean), *split(t.m2 * 1e12),
                  *split(t.vd), t.cnt & _U32, int(total / end) & _U32 if end > 0 else 0, 1,
                  (lost >> 32) & _U32, (outoforder >> 32) & _U32, (total >> 32) & _U32)
        return bytes(UDP_DATAGRAM.size) + SERVER_HDR.pack(*fields)


def _print_server_report(ident: int, data: bytes, fmt: str) -> None:
    """reporter_print_server_relay_report: the server's report, from the datagram that ended the test."""
    f = SERVER_HDR.unpack_from(data.ljust(ACK_LEN, b"\0"), UDP_DATAGRAM.size)
    flags, amount, end = f[0], (f[1] << 32) + f[2], f[3] + f[4] / 1e6
    lost, outoforder, total, jitter = f[5], f[6], f[7], f[8] + f[9] / 1e6
    if flags & HEADER_SEQNO64B:
        lost, outoforder, total = lost + (f[25] << 32), outoforder + (f[26] << 32), total + (f[27] << 32)
    libc.printf("[%3d] Server Report:\n%s", ident, JITTER_HEADER)
    libc.printf("%s", _jitter_lines(ident, 0.0, end, amount, fmt, jitter, lost, total, outoforder))


def _client_buffer(opts: Options) -> bytearray:
    """The client's datagram buffer: iperf's pattern (``'0' + i % 10``), its first bytes cleared and
    the test header written in (Settings_GenerateClientHdr)."""
    size = max(opts.length, CLIENT_HDR_ZEROED)
    buf = bytearray(b"0123456789" * (size // 10 + 1))[:size]
    buf[:min(opts.length, CLIENT_HDR_ZEROED)] = bytes(min(opts.length, CLIENT_HDR_ZEROED))
    # mAmount: -(the time in 10 ms) in time mode, the byte count (31 bits) in amount mode
    ticks = opts.ticks()
    if opts.amount is not None:
        amount = opts.amount & 0x7FFFFFFF
    else:
        amount = -ticks & _U32 if ticks is not None else 0
    flags = HEADER_SEQNO64B | HEADER_EXTEND | HEADER_LEN_BIT | ((CLIENT_HDR_LEN << 1) & HEADER_KEYLEN_MASK)
    CLIENT_HDR_V1.pack_into(buf, UDP_DATAGRAM.size, flags, 1, opts.port, opts.length if opts.length_set else 0, 0,
                            amount)
    rate = opts.rate if opts.rate_set and opts.rate > 0 else DEFAULT_UDP_RATE
    CLIENT_HDREXT.pack_into(buf, UDP_DATAGRAM.size + CLIENT_HDR_V1.size, 0, 0, 0, 0, IPERF_VERSION_MAJORHEX,
                            IPERF_VERSION_MINORHEX, 0, 0, rate & _U32, ((rate >> 32) << 8) & _U32, 0)
    return buf


class _UdpSender:
    """Client::RunUDP and what follows it: paced datagrams, the last ones, the server's report."""

    def __init__(self, fd: int, opts: Options) -> None:
        self.fd = fd
        self.opts = opts
        self.buf = _client_buffer(opts)

    def _number(self, packet_id: int) -> None:
        """WritePacketID: the signed 64-bit number as its low and high 32 bits."""
        struct.pack_into("!I", self.buf, 0, packet_id & _U32)
        struct.pack_into("!I", self.buf, 12, (packet_id >> 32) & _U32)

    def _write(self, packet_id: int, now_ns: int, length: int) -> int:
        """One datagram: its length, 0 when the stack would not take it (the number is used
        again), -1 after an error that ends the test."""
        self._number(packet_id)
        struct.pack_into("!II", self.buf, 4, *(v & _U32 for v in _stamp(now_ns)))
        try:
            return libc.send(self.fd, memoryview(self.buf)[:length])
        except OSError as e:
            if e.errno in _TRANSIENT:
                return 0
            libc.printf("write failed: %s\n", e.strerror)
            return -1

    def run(self) -> int:
        """The test: the first datagram, the paced ones, the last one, the report; the exit status."""
        opts, length = self.opts, self.opts.length
        start = libc.time_ns()
        report = _SendReport(1, opts, start)
        left = opts.amount  # bytes still to send with -n; None: until -t seconds have passed
        # SendFirstPayload: datagram 1 carries the whole test header, however short -l is
        sent = self._write(1, start, max(CLIENT_HDR_LEN, length))
        packet_id = 1
        if sent > 0:
            report.packet(start, sent)
            packet_id = 2
            if left is not None:
                left -= sent
        target = opts.ipg_ns()
        ticks = opts.ticks()
        end = start + ticks * 10_000_000 if ticks is not None else None
        # The send time-out, half of -i or of the test (which bounds how far behind it may fall)
        sndtimeo_us = round(opts.interval * 1e6 / 2) if opts.interval > 0 else \
            (left if left is not None else ticks or 0) * 5000
        lower = -sndtimeo_us * 1000.0
        if target > 100_000:  # apply_first_udppkt_delay
            libc.sleep(target / 1e9)
        # A running delay keeps the rate, not each gap: a late datagram shortens the next waits.
        delay = 0.0
        last = prev = start
        written = 1
        while left > 0 if left is not None else end is None or not end < prev:
            now = libc.time_ns()
            delay += target + (last - now) if written > 0 else last - now
            last = now
            if delay < lower:
                delay = target
            written = self._write(packet_id, now, length if left is None else min(left, length))
            if written < 0:
                break
            report.packet(now, written)
            if written > 0:
                packet_id += 1
                if left is not None:
                    left -= written
            prev = now
            if delay >= 100_000:  # only waits of 100 us or more; delay_loop takes microseconds
                libc.sleep(int(delay // 1000) / 1e6)
            elif libc.time_ns() == now:
                # The stack took the datagram (or refused it) without blocking and no wait is due:
                # let the write cost a system call's time, a microsecond, as on a real machine;
                # otherwise a sender never held back would run at one instant of the world forever.
                libc.sleep(1e-6)
        # FinishTrafficActions: the last datagram, its number negated, counts in the report
        now = libc.time_ns()
        self._number(-packet_id)
        struct.pack_into("!II", self.buf, 4, *(v & _U32 for v in _stamp(now)))
        try:
            final = libc.send(self.fd, memoryview(self.buf)[:length])
        except OSError:
            final = 0
        if final > 0:
            report.packet(now, final)
        report.finish(now)
        self._await_report(packet_id)
        return 0

    def _await_report(self, packet_id: int) -> None:
        """AwaitServerFinPacket: wait 10 ms for the server's report, else send the last datagram
        again with the next negative number, for two seconds."""
        for _ in range(FIN_RETRIES):
            if not libc.poll([(self.fd, POLLIN)], FIN_RETRY_NS // 1_000_000)[0]:
                packet_id += 1
                self._number(-packet_id)
                try:
                    libc.send(self.fd, memoryview(self.buf)[:self.opts.length])
                except OSError as e:
                    libc.printf("write-fin failed: %s\n", e.strerror)
                continue
            try:
                data = libc.recv(self.fd, DEFAULT_UDP_LEN)  # MAXUDPBUF
            except OSError as e:
                libc.printf("read failed: %s\n", e.strerror)
                continue
            if data:
                _print_server_report(1, data, self.opts.fmt)
                return
        # the socket's descriptor and 10 (-t) or 1 (-n), as 2.1.8 prints them
        timed = self.opts.amount is None and self.opts.ticks() is not None
        libc.printf("[%3d] WARNING: did not receive ack of last datagram after %d tries.\n", self.fd,
                    10 if timed else 1)


def udp_client(opts: Options) -> int:
    """iperf's UDP client: connect the socket, send for ``-t`` seconds or ``-n`` bytes at ``-b``,
    print the server's report."""
    fd = libc.socket(AF_INET, SOCK_DGRAM, 0)
    try:
        addr = _host_addr(opts)
        if addr is None:
            return 1
        window = _window_line(fd, SO_SNDBUF, opts.window, "UDP buffer size")
        if not _connect(fd, addr, opts, "udp"):
            return 1
        # the settings report comes once the socket is connected (Client::my_connect)
        libc.printf("%s\nClient connecting to %s, UDP port %d\nSending %d byte datagrams, IPG target: %.2f us "
                    "(kalman adjust)\n%s%s\n", RULE, opts.host, opts.port, opts.length, opts.ipg_ns() / 1e3,
                    window, RULE)
        local, peer = libc.getsockname(fd), libc.getpeername(fd)
        libc.printf("[%3d] local %s port %d connected with %s port %d\n", 1, local[0], local[1], peer[0], peer[1])
        return _UdpSender(fd, opts).run()
    finally:
        libc.close(fd)


def _read_id(data: bytes, seqno64: bool) -> tuple[int, tuple[int, int], bool]:
    """Server::ReadPacketID: the sequence number (64 bits when the client said so, else the signed
    32-bit id), the send time, and whether it is a last datagram (a negative number)."""
    low, sec, usec, high = UDP_DATAGRAM.unpack(data[:UDP_DATAGRAM.size].ljust(UDP_DATAGRAM.size, b"\0"))
    if seqno64:
        packet_id = low | high << 32
        packet_id -= (packet_id >> 63) << 64
    else:
        packet_id = low - ((low >> 31) << 32)
    return abs(packet_id), (sec, usec), packet_id < 0


def _udp_accept(fd: int, length: int) -> tuple[bytes, tuple[str, int]]:
    """Listener::udp_accept: the first datagram of a new client, passing over last datagrams
    (negative numbers) left from a test already over."""
    while True:
        data, peer = libc.recvfrom(fd, length)
        if not _read_id(data, False)[2]:
            return data, peer


def _udp_receive(fd: int, ident: int, opts: Options, first: bytes, start: int) -> None:
    """Server::RunUDP for one client, then write_UDP_AckFIN."""
    flags = struct.unpack_from("!I", first, UDP_DATAGRAM.size)[0] if len(first) >= UDP_DATAGRAM.size + 4 else 0
    seqno64 = bool(flags & HEADER_SEQNO64B)
    local, peer = libc.getsockname(fd), libc.getpeername(fd)
    libc.printf("[%3d] local %s port %d connected with %s port %d\n", ident, local[0], local[1], peer[0], peer[1])
    report = _ReceiveReport(ident, opts, start)
    packet_id, sent, done = _read_id(first, seqno64)
    report.packet(start, len(first), packet_id, sent)
    # With -i the socket's receive time-out is half the interval, so that quiet intervals are reported
    timeout = max(1, round(opts.interval * 500)) if opts.interval > 0 else -1
    now = start
    while not done:
        if not libc.poll([(fd, POLLIN)], timeout)[0]:
            now = libc.time_ns()
            report.tick(now)
            continue
        try:
            data = libc.recv(fd, opts.length)
        except OSError as e:
            now = libc.time_ns()
            if e.errno in (EAGAIN, EINTR):
                continue
            libc.printf("recvmsg failed: %s\n", e.strerror)
            break
        now = libc.time_ns()
        if not data:
            break
        packet_id, sent, done = _read_id(data, seqno64)
        report.packet(now, len(data), packet_id, sent)
    report.finish(now)
    ack = report.ack()
    for _ in range(ACK_TRIES):
        try:
            libc.send(fd, ack)
        except OSError as e:
            libc.printf("write-ackfin failed: %s\n", e.strerror)
        # silence for 250 ms: the client has the report; its last datagrams again: send it again
        if not libc.poll([(fd, POLLIN)], ACK_SILENCE_MS)[0]:
            return
        try:
            libc.recv(fd, 2 * max(ACK_LEN, opts.length))
        except OSError as e:
            if e.errno not in (EAGAIN, EINTR):
                break
    libc.printf("[%3d] WARNING: ack of last datagram failed.\n", fd)


def udp_server(opts: Options) -> int:
    """iperf's UDP server: a socket on the port takes a client's first datagram, is connected to
    that client and receives its test; a new socket then waits for the next client."""
    ident = 0
    while True:
        fd = libc.socket(AF_INET, SOCK_DGRAM, 0)
        try:
            libc.setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, 1)  # as iperf sets it
            window = _window_line(fd, SO_RCVBUF, opts.window, "UDP buffer size")
            try:
                libc.bind(fd, ("0.0.0.0", opts.port))
            except OSError as e:
                libc.printf("listener bind failed: %s\n", e.strerror)
                return 1
            if not ident:  # the listener's settings, once
                libc.printf("%s\nServer listening on UDP port %d\n%s%s\n", RULE, opts.port, window, RULE)
            first, peer = _udp_accept(fd, opts.length)
            start = libc.time_ns()
            ident += 1
            libc.connect(fd, peer)
            _udp_receive(fd, ident, opts, first, start)
        finally:
            libc.close(fd)


def iperf_main(argv: Sequence[str]) -> int:
    """``iperf``: the exit status (1 for a bad command line; 0 after a TCP connection that failed, as 2.1.8's)."""
    try:
        opts = parse(argv)
    except ValueError as e:
        libc.printf("%s", str(e))
        return 1
    libc.printf("%s", opts.warnings)
    if opts.udp:
        return udp_server(opts) if opts.server else udp_client(opts)
    return server(opts) if opts.server else client(opts)
