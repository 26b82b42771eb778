"""``ping`` (iputils): ICMP echo over a raw socket, printing what iputils' ping prints.

::

    PING 10.0.2.1 (10.0.2.1) 56(84) bytes of data.
    64 bytes from 10.0.2.1: icmp_seq=1 ttl=62 time=1.23 ms
    From 10.0.1.254 icmp_seq=2 Destination Host Unreachable

    --- 10.0.2.1 ping statistics ---
    2 packets transmitted, 1 received, +1 errors, 50% packet loss, time 1001ms
    rtt min/avg/max/mdev = 1.234/1.234/1.234/0.000 ms

Options: ``-c COUNT``, ``-i INTERVAL``, ``-s SIZE``, ``-t TTL``, ``-W TIMEOUT`` (wait for the last
reply, default 10 s), ``-w DEADLINE``, ``-M do|want|dont``, ``-q``, ``-n``, and the IP options
(set with IP_OPTIONS, shown from each reply's header as iputils' ``pr_options`` shows them):
``-R`` (record route: the route out and back, "(same route)" while it stays the same) and
``-T tsonly|tsandaddr|tsprespec`` (timestamps, with the addresses of the hops; for ``tsprespec``
the hosts to stamp are named before the destination).  Two or more hosts without ``-T`` are a
loose source route, as in iputils.  The echo request carries the send time (a ``struct
timeval``) then the bytes 0x10, 0x11, ..., as iputils fills it; the round trip time is taken from
that timestamp, in microseconds.
"""

from __future__ import annotations

import math
import struct
import sys
from dataclasses import dataclass, field

from tuxnet.kernel.errno import EDESTADDRREQ, EMSGSIZE, ENOBUFS, ENOENT, ENOMEM, ERANGE, strerror
from tuxnet.kernel.minmax import INT_MAX, c_int
from tuxnet.kernel.sched import current
from tuxnet.kernel.signal import SIGINT
from tuxnet.net.core.checksum import csum_fold, csum_partial
from tuxnet.net.core.skbuff import SO_EE_ORIGIN_ICMP, SO_EE_ORIGIN_LOCAL, SockExtendedErr
from tuxnet.net.core.sock import (
    SO_BINDTODEVICE,
    SO_BROADCAST,
    SO_DEBUG,
    SO_DONTROUTE,
    SO_MARK,
    SO_RCVBUF,
    SO_RCVTIMEO,
    SO_SNDBUF,
    SOL_SOCKET,
)
from tuxnet.net.core.utils import in_aton, in_ntoa, ipv4_is_multicast
from tuxnet.net.ipv4.af_inet import (
    IP_MTU_DISCOVER,
    IP_OPTIONS,
    IP_PMTUDISC_DO,
    IP_PMTUDISC_DONT,
    IP_PMTUDISC_WANT,
    IP_RECVERR,
    IP_TTL,
    IPPROTO_ICMP,
    IPPROTO_IP,
)
from tuxnet.net.ipv4.icmp import (  # <netinet/ip_icmp.h>
    ICMP_DEST_UNREACH,
    ICMP_ECHO,
    ICMP_ECHOREPLY,
    ICMP_PARAMETERPROB,
    ICMP_REDIRECT,
    ICMP_SOURCE_QUENCH,
    ICMP_TIME_EXCEEDED,
)
from tuxnet.net.ipv4.ip_options import (
    IPOPT_LSRR,
    IPOPT_MINOFF,
    IPOPT_NOOP,
    IPOPT_RR,
    IPOPT_SSRR,
    IPOPT_TIMESTAMP,
    IPOPT_TS_PRESPEC,
    IPOPT_TS_TSANDADDR,
    IPOPT_TS_TSONLY,
    MAX_IPOPTLEN,
)
from tuxnet.net.ipv4.ip_sockglue import IP_MULTICAST_LOOP, IP_MULTICAST_TTL, IP_TOS
from tuxnet.net.ipv4.raw import ICMP_FILTER, SOL_RAW
from tuxnet.net.socket import AF_INET, MSG_DONTWAIT, MSG_ERRQUEUE, SOCK_DGRAM, SOCK_RAW, Msghdr
from tuxnet.user import libc
from tuxnet.user.libc import LONG_MAX
from tuxnet.user.programs.iputils_common import IputilsExit, iputils_version, strtol_or_err, strtoul_or_err

MAXWAIT = 10  # seconds to wait for the last replies (iputils' default -W)
MININTERVAL_NS = 10_000_000  # ping.h's MININTERVAL (10 ms): the pace of probes no reply answers
MAX_DUP_CHK = 0x10000  # the most -l may preload
TIMEVAL_LEN = 16
IDENTIFIER_MAX = 0xFFFF  # -e
UINT_MAX = 0xFFFFFFFF  # -m
TOS_MAX = 255  # -Q
GETOPT = "h?4bRT:aABc:CdDe:fi:I:l:Lm:M:nOp:qQ:rs:S:t:UvVw:W:"  # (without IPv6's -6, -F and -N)

_UNREACH = ("Destination Net Unreachable", "Destination Host Unreachable", "Destination Protocol Unreachable",
            "Destination Port Unreachable", "Frag needed and DF set (mtu = %u)", "Source Route Failed",
            "Destination Net Unknown", "Destination Host Unknown", "Source Host Isolated",
            "Destination Net Prohibited", "Destination Host Prohibited",
            "Destination Net Unreachable for Type of Service", "Destination Host Unreachable for Type of Service",
            "Packet filtered", "Precedence Violation", "Precedence Cutoff")
_REDIRECT = ("Redirect Network", "Redirect Host", "Redirect Type of Service and Network",
             "Redirect Type of Service and Host")
_PMTUDISC = {"do": IP_PMTUDISC_DO, "want": IP_PMTUDISC_WANT, "dont": IP_PMTUDISC_DONT}
_TS_TYPES = {"tsonly": IPOPT_TS_TSONLY, "tsandaddr": IPOPT_TS_TSANDADDR, "tsprespec": IPOPT_TS_PRESPEC}
USAGE = ('\n'
         'Usage\n'
         '  ping [options] <destination>\n'
         '\n'
         'Options:\n'
         '  <destination>      dns name or ip address\n'
         '  -a                 use audible ping\n'
         '  -A                 use adaptive ping\n'
         '  -B                 sticky source address\n'
         '  -c <count>         stop after <count> replies\n'
         '  -C                 call connect() syscall on socket creation\n'
         '  -D                 print timestamps\n'
         '  -d                 use SO_DEBUG socket option\n'
         '  -e <identifier>    define identifier for ping session, default is random for\n'
         '                     SOCK_RAW and kernel defined for SOCK_DGRAM\n'
         '                     Imply using SOCK_RAW (for IPv4 only for identifier 0)\n'
         '  -f                 flood ping\n'
         '  -h                 print help and exit\n'
         '  -I <interface>     either interface name or address\n'
         '  -i <interval>      seconds between sending each packet\n'
         '  -L                 suppress loopback of multicast packets\n'
         '  -l <preload>       send <preload> number of packages while waiting replies\n'
         '  -m <mark>          tag the packets going out\n'
         '  -M <pmtud opt>     define mtu discovery, can be one of <do|dont|want>\n'
         '  -n                 no dns name resolution\n'
         '  -O                 report outstanding replies\n'
         '  -p <pattern>       contents of padding byte\n'
         '  -q                 quiet output\n'
         '  -Q <tclass>        use quality of service <tclass> bits\n'
         '  -s <size>          use <size> as number of data bytes to be sent\n'
         '  -S <size>          use <size> as SO_SNDBUF socket option value\n'
         '  -t <ttl>           define time to live\n'
         '  -U                 print user-to-user latency\n'
         '  -v                 verbose output\n'
         '  -V                 print version and exit\n'
         '  -w <deadline>      reply wait <deadline> in seconds\n'
         '  -W <timeout>       time to wait for response\n'
         '\n'
         'IPv4 options:\n'
         '  -4                 use IPv4\n'
         '  -b                 allow pinging broadcast\n'
         '  -R                 record route\n'
         '  -T <timestamp>     define timestamp, can be one of <tsonly|tsandaddr|tsprespec>\n'
         '\n'
         'IPv6 options:\n'
         '  -6                 use IPv6\n'
         '  -F <flowlabel>     define flow label, default is random\n'
         '  -N <nodeinfo opt>  use icmp6 node info query, try <help> as argument\n'
         '\n'
         'For more details see ping(8).\n')


def icmp_checksum(data: bytes) -> int:
    """The Internet checksum (RFC 1071), as ping's ``in_cksum``."""
    return csum_fold(csum_partial(data))


def pr_icmph(type: int, code: int, info: int) -> str:
    """``pr_icmph``: iputils' words for an ICMP error, ``info`` as the error queue reports it (the
    MTU, the pointer of a parameter problem) or, for a redirect, the new gateway."""
    if type == ICMP_DEST_UNREACH:
        if code < len(_UNREACH):
            text = _UNREACH[code]
            return text % info if "%u" in text else text
        return f"Dest Unreachable, Bad Code: {code}"
    if type == ICMP_TIME_EXCEEDED:
        return {0: "Time to live exceeded", 1: "Frag reassembly time exceeded"}.get(
            code, f"Time exceeded, Bad Code: {code}")
    if type == ICMP_SOURCE_QUENCH:
        return "Source Quench"
    if type == ICMP_REDIRECT:
        text = _REDIRECT[code] if code < len(_REDIRECT) else f"Redirect, Bad Code: {code}"
        return f"{text}(New nexthop: {in_ntoa(info)})"
    if type == ICMP_PARAMETERPROB:
        return f"Parameter problem: pointer = {info}"
    return f"Bad ICMP type: {type}"


def format_triptime(us: int) -> str:
    """The ``time=`` of a reply line: fewer decimals for longer times, as iputils prints it."""
    if us >= 100000 - 50:
        return f"{(us + 500) // 1000}"
    if us >= 10000 - 5:
        return f"{(us + 50) // 1000}.{((us + 50) % 1000) // 100:01d}"
    if us >= 1000:
        return f"{(us + 5) // 1000}.{((us + 5) % 1000) // 10:02d}"
    return f"{us // 1000}.{us % 1000:03d}"


def _ms(us: int) -> str:
    return f"{us // 1000}.{us % 1000:03d}"


@dataclass
class PingStats:
    """What ``ping`` counted (returned by the program)."""

    transmitted: int = 0
    received: int = 0
    errors: int = 0
    duplicates: int = 0
    rtts: list[int] = field(default_factory=list)  # each timed reply's, duplicates too (microseconds)
    pipesize: int = 1  # the most probes outstanding when one was answered
    acked: int = 0  # the latest sequence number answered
    ewma: int = 0  # gather_statistics' ``rtt``: a moving average of the round trips, times 8 (us)
    old_rr: bytes = b""  # pr_options' last record route, for "(same route)"

    def acknowledge(self, seq: int) -> None:
        """``acknowledge``: note how many probes were in flight when ``seq`` was answered, and
        the latest number answered."""
        diff = (self.transmitted - seq) & 0xFFFF
        if diff <= 0x7FFF:
            self.pipesize = max(self.pipesize, diff + 1)
            if 0 < (seq - self.acked) & 0xFFFF <= 0x7FFF or (self.transmitted - self.acked) & 0xFFFF > 0x7FFF:
                self.acked = seq

    def in_flight(self) -> int:
        """``in_flight``: probes sent and not yet answered."""
        diff = (self.transmitted - self.acked) & 0xFFFF
        return diff if diff <= 0x7FFF else self.transmitted - self.received - self.duplicates


def ping_strtod(text: str, err_msg: str, errno: int) -> tuple[float, int]:
    """``ping_strtod`` (iputils 20221126): ``strtod`` in the C locale; what follows the number, or
    a text with no number (read as 0), gets a warning and is let through; an empty text, an
    infinity, a NaN or a subnormal number is fatal.  ``errno`` is what the calls before left,
    which an empty text reports; returns the number and the errno ``strtod`` leaves."""
    if not text:
        raise IputilsExit(2, f"ping: {err_msg}: " + (f": {strerror(errno)}" if errno else ""))
    value, end, err = libc.strtod(text)
    if err or end == 0 or end < len(text):
        libc.printf("ping: option argument contains garbage: %s\n", text[end:])
        libc.printf("ping: this will become fatal error in the future\n")
    if math.isnan(value) or math.isinf(value) or 0 < abs(value) < sys.float_info.min:
        raise IputilsExit(2, f"ping: {err_msg}: {text}: {strerror(ERANGE)}")
    return value, err


def parsetos(text: str) -> int:
    """``parsetos``: a TOS in hexadecimal after ``0x`` or else in decimal, by ``strtol`` cut to
    an int; anything after the number is refused, and so is a value above 255 (a negative one
    is let through, as iputils lets it)."""
    hexa = text[:2] in ("0x", "0X")
    digits = text[2:] if hexa else text
    value, end, _ = libc.strtol(digits, base=16 if hexa else 10)
    if end != len(digits):
        raise IputilsExit(2, f"ping: bad TOS value: {text}")
    tos = c_int(value)
    if tos > TOS_MAX:
        raise IputilsExit(2, f"ping: the decimal value of TOS bits must be in range 0-255: {tos}")
    return tos


def fill(pattern: str, quiet: bool) -> bytes:
    """``fill``: the padding from ``-p``'s hex digits, two to a byte (``sscanf``'s ``%2x``), at
    most 16 bytes, repeated; printed as "PATTERN: 0x..." unless quiet.  Returns the pattern's
    bytes (none for an empty one: the padding stays zeros)."""
    for i, ch in enumerate(pattern):
        if ch not in "0123456789abcdefABCDEF":
            raise IputilsExit(2, f"ping: patterns must be specified as hex digits: {pattern[i:]}")
    pat = bytes(int(pattern[i:i + 2], 16) for i in range(0, min(len(pattern), 32), 2))
    if not quiet:
        libc.printf("PATTERN: 0x%s\n", pat.hex())
    return pat


def _parse(argv: list[str]) -> dict[str, object]:
    """The command line, as iputils' ``main`` reads it, option by option: counts and sizes by
    ``strtol_or_err``, times by ``ping_strtod``; the interval and the linger time kept in whole
    milliseconds, as ping keeps them.  The ``-p`` pattern is read once the options are (so that
    a later ``-q`` hides its "PATTERN:" line) and a destination is known."""
    opts: dict[str, object] = {"count": 0, "interval": None, "size": 56, "ttl": None, "linger": MAXWAIT,
                               "deadline": None, "pmtudisc": None, "quiet": False, "dest": None,
                               "rroute": False, "ts_type": None, "hops": [], "broadcast": False,
                               "interface": None, "flood": False, "preload": 1, "audible": False,
                               "adaptive": False, "strictsource": False, "connect": False, "timestamps": False,
                               "so_debug": False, "ident": None, "noloop": False, "mark": None,
                               "outstanding": False, "pattern": None, "tos": 0, "dontroute": False,
                               "sndbuf": 0, "latency": False, "verbose": False}
    flags = {"a": "audible", "A": "adaptive", "B": "strictsource", "C": "connect", "D": "timestamps",
             "d": "so_debug", "L": "noloop", "O": "outstanding", "r": "dontroute", "U": "latency",
             "v": "verbose", "q": "quiet", "b": "broadcast", "f": "flood"}
    hosts: list[str] = []
    pattern = None
    # errno as main leaves it: ENOENT from setlocale() where the locale's files are missing, then
    # 0 after each strtol_or_err, and what strtod left after each ping_strtod
    errno = ENOENT
    try:
        for flag, value in libc.getopt("ping", argv, GETOPT, hosts):
            if flag in "clstwSme":
                errno = 0
            if flag in "h?":
                raise IputilsExit(2, USAGE)
            if flag == "V":
                raise IputilsExit(0, iputils_version("ping"))
            if flag in flags:
                opts[flags[flag]] = True
            elif flag == "M":
                if value not in _PMTUDISC:
                    raise IputilsExit(2, f"ping: invalid -M argument: {value}")
                opts["pmtudisc"] = _PMTUDISC[value]
            elif flag == "T":
                if opts["rroute"]:
                    raise IputilsExit(2, "ping: only one of -T or -R may be used")
                if value not in _TS_TYPES:
                    raise IputilsExit(2, f"ping: invalid timestamp type: {value}")
                opts["ts_type"] = _TS_TYPES[value]
            elif flag == "R":
                if opts["ts_type"] is not None:
                    raise IputilsExit(2, "ping: only one of -T or -R may be used")
                opts["rroute"] = True
            elif flag == "I":
                opts["interface"] = value
            elif flag == "p":
                pattern = value
            elif flag == "Q":
                opts["tos"] = parsetos(value)
            elif flag == "e":
                opts["ident"] = strtoul_or_err("ping", value, "invalid argument", 0, IDENTIFIER_MAX)
            elif flag == "m":
                opts["mark"] = strtoul_or_err("ping", value, "invalid argument", 0, UINT_MAX)
            elif flag == "S":
                opts["sndbuf"] = strtol_or_err("ping", value, "invalid argument", 1, INT_MAX)
            elif flag == "l":
                opts["preload"] = strtol_or_err("ping", value, "invalid argument", 1, MAX_DUP_CHK)
            elif flag == "c":
                opts["count"] = strtol_or_err("ping", value, "invalid argument", 1, LONG_MAX)
            elif flag == "s":
                opts["size"] = strtol_or_err("ping", value, "invalid argument", 0, INT_MAX)
            elif flag == "t":
                opts["ttl"] = strtol_or_err("ping", value, "invalid argument", 0, 255)
            elif flag == "w":
                opts["deadline"] = strtol_or_err("ping", value, "invalid argument", 0, INT_MAX) or None
            elif flag == "i":
                seconds, errno = ping_strtod(value, "bad timing interval", errno)
                if seconds > INT_MAX // 1000:
                    raise IputilsExit(2, f"ping: bad timing interval: {value}")
                opts["interval"] = int(seconds * 1000) / 1000
            elif flag == "W":
                seconds, errno = ping_strtod(value, "bad linger time", errno)
                if seconds < 0 or seconds > INT_MAX // 1000:
                    raise IputilsExit(2, f"ping: bad linger time: {value}")
                opts["linger"] = int(seconds * 1000) / 1000
    except libc.GetoptError as error:
        raise IputilsExit(2, f"{error}\n{USAGE}") from None
    if not hosts:
        raise IputilsExit(1, f"ping: usage error: {strerror(EDESTADDRREQ)}")
    if pattern is not None:
        opts["pattern"] = fill(pattern, bool(opts["quiet"]))
    if len(hosts) > 1:
        # the hosts before the destination: a loose source route, or the hosts -T tsprespec stamps
        if opts["rroute"] or opts["ts_type"] is not None and (
                opts["ts_type"] != IPOPT_TS_PRESPEC or len(hosts) > 5) or len(hosts) > 10:
            raise IputilsExit(2, USAGE)
    opts["dest"] = hosts[-1]
    opts["hops"] = hosts[:-1]
    return opts


def ip_options_of(rroute: bool, ts_type: int | None, hops: list[int], dontroute: bool = False) -> bytes:
    """The options iputils' ping asks for (``ping4_run``): a record route filling the 40 octets
    after a NOP; a timestamp of 40 octets (36 with addresses; for ``tsprespec`` one pair a named
    host); a loose source route through ``hops`` (strict with ``-r``); none."""
    if rroute:
        return bytes((IPOPT_NOOP, IPOPT_RR, MAX_IPOPTLEN - 1, IPOPT_MINOFF)) + bytes(MAX_IPOPTLEN - 4)
    if ts_type is not None:
        if ts_type == IPOPT_TS_PRESPEC:
            pairs = b"".join(h.to_bytes(4, "big") + bytes(4) for h in hops)
            return bytes((IPOPT_TIMESTAMP, 4 + len(pairs), 5, ts_type)) + pairs
        length = MAX_IPOPTLEN if ts_type == IPOPT_TS_TSONLY else MAX_IPOPTLEN - 4
        return bytes((IPOPT_TIMESTAMP, length, 5, ts_type)) + bytes(length - 4)
    if hops:
        route = b"".join(h.to_bytes(4, "big") for h in hops)
        return bytes((IPOPT_NOOP, IPOPT_SSRR if dontroute else IPOPT_LSRR, 3 + len(route), IPOPT_MINOFF)) + route
    return b""


def pr_options(opts: bytes, stats: PingStats) -> str:
    """``pr_options``: iputils' text for the options of a reply's header (empty for none)."""
    out = []
    p, left = 0, len(opts)
    while left > 0:
        kind = opts[p]
        if kind == 0:
            break
        if kind == IPOPT_NOOP:
            out.append("\nNOP")
            p += 1
            left -= 1
            continue
        olen = opts[p + 1] if left > 1 else 0
        if olen < 2 or olen > left:
            break
        if kind in (IPOPT_SSRR, IPOPT_LSRR):
            out.append(f"\n{'S' if kind == IPOPT_SSRR else 'L'}SRR: ")
            j = opts[p + 2]
            q = p + 3
            while j > IPOPT_MINOFF:
                out.append(f"\t{in_ntoa(int.from_bytes(opts[q:q + 4], 'big'))}\n")
                q += 4
                j -= 4
        elif kind == IPOPT_RR:
            i = min(opts[p + 2], olen) - IPOPT_MINOFF
            if i > 0:
                route = bytes(opts[p + 3:p + 3 + i])
                if route == stats.old_rr:
                    out.append("\t(same route)")
                else:
                    stats.old_rr = route
                    out.append("\nRR: ")
                    for q in range(0, i, 4):
                        out.append(f"\t{in_ntoa(int.from_bytes(route[q:q + 4], 'big'))}\n")
        elif kind == IPOPT_TIMESTAMP:
            i = min(opts[p + 2], olen) - 5
            if i > 0:
                flags = opts[p + 3]
                out.append("\nTS: ")
                q = p + 4
                stdtime = nonstdtime = 0
                while True:
                    if flags & 0x0F != IPOPT_TS_TSONLY:
                        out.append(f"\t{in_ntoa(int.from_bytes(opts[q:q + 4], 'big'))}")
                        q += 4
                        i -= 4
                        if i <= 0:
                            break
                    stamp = int.from_bytes(opts[q:q + 4], "big")
                    q += 4
                    if stamp & 0x80000000:  # not milliseconds since midnight UT (RFC 791)
                        value = stamp & 0x7FFFFFFF
                        out.append(f"\t{value} absolute not-standard" if not nonstdtime else
                                   f"\t{value - nonstdtime} not-standard")
                        nonstdtime = value
                    else:
                        out.append(f"\t{stamp} absolute" if not stdtime else f"\t{stamp - stdtime}")
                        stdtime = stamp
                    i -= 4
                    out.append("\n")
                    if i <= 0:
                        break
                if flags >> 4:
                    out.append(f"Unrecorded hops: {flags >> 4}\n")
        else:
            out.append(f"\nunknown option {kind:x}")
        left -= olen
        p += olen
    return "".join(out)


def pr_iph(ip: bytes, stats: PingStats) -> str:
    """``pr_iph``: the header an ICMP error quotes, as ``-v`` shows it.  iputils prints the
    length, identifier, fragment field and checksum as they lie in memory, unswapped: on a
    little-endian machine their bytes come out reversed, as here."""
    ihl = (ip[0] & 0x0F) * 4
    tot_len, ident, frag, check = (struct.unpack_from("<H", ip, off)[0] for off in (2, 4, 6, 10))
    return ("Vr HL TOS  Len   ID Flg  off TTL Pro  cks      Src      Dst Data\n"
            f" {ip[0] >> 4:1x}  {ip[0] & 0x0F:1x}  {ip[1]:02x} {tot_len:04x} {ident:04x}"
            f"   {(frag & 0xE000) >> 13:1x} {frag & 0x1FFF:04x}"
            f"  {ip[8]:02x}  {ip[9]:02x} {check:04x}"
            f" {in_ntoa(int.from_bytes(ip[12:16], 'big'))}  {in_ntoa(int.from_bytes(ip[16:20], 'big'))} \n"
            + pr_options(ip[20:ihl], stats))


def inet_pton4(text: str) -> int | None:
    """glibc's ``inet_pton(AF_INET)``: four decimal numbers of at most 255, dot-separated, no
    leading zeros; None for anything else (``-I`` then names a device)."""
    parts = text.split(".")
    if len(parts) != 4 or any(not p.isascii() or not p.isdigit() or len(p) > 3 or len(p) > 1 and p[0] == "0"
                              or int(p) > 255 for p in parts):
        return None
    return int.from_bytes(bytes(int(p) for p in parts), "big")


def _fail(fmt: str, *args: object) -> None:
    """``error(2, ...)``: the message after "ping: ", and exit status 2."""
    libc.printf("ping: " + fmt + "\n", *args)
    raise SystemExit(2)


def _bind_to_device(fd: int, device: str, multicast: bool) -> None:
    """``ping4_run``'s SO_BINDTODEVICE: a device that does not exist ends ping, in the words of
    the failed call, or, for a multicast destination, of the SIOCGIFINDEX tried next."""
    try:
        libc.setsockopt(fd, SOL_SOCKET, SO_BINDTODEVICE, device.encode() + b"\0")
    except OSError as e:
        if multicast:
            _fail("unknown iface: %s", device)
        _fail("SO_BINDTODEVICE %s: %s", device, e.strerror)


def _device_has(device: str, addr: int) -> bool:
    """What ``ping4_run`` looks for in ``getifaddrs``: ``addr`` among the IPv4 addresses listed
    under the name ``device`` (an address's label, as glibc names the entry)."""
    for dev in current().host.devices.values():
        if dev.ip_ptr is not None and any(ifa.label == device and ifa.local == addr for ifa in dev.ip_ptr.ifa_list):
            return True
    return False


@dataclass
class PingFlags:
    """The options of iputils' ping beyond the basic ones, as ``main`` reads them."""

    audible: bool = False  # -a: a bell with each reply
    adaptive: bool = False  # -A: the interval follows the round trip
    strictsource: bool = False  # -B: bind to the source address found
    connect: bool = False  # -C: connect the socket
    timestamps: bool = False  # -D: "[sec.usec] " before the lines
    so_debug: bool = False  # -d
    ident: int | None = None  # -e (None: ours, the pid)
    noloop: bool = False  # -L
    mark: int | None = None  # -m
    outstanding: bool = False  # -O
    pattern: bytes | None = None  # -p (the bytes of fill())
    tos: int = 0  # -Q
    dontroute: bool = False  # -r
    sndbuf: int = 0  # -S (0: the estimate of sock_setbufs)
    latency: bool = False  # -U
    verbose: bool = False  # -v


@dataclass
class _Session:
    """What ``ping4_run`` set up and the loop needs."""

    fd: int
    whereto: int
    ident: int
    quiet: bool
    flood: bool
    multicast: bool
    shown: str
    data: bytes  # the echo's data after the time stamp's place (setup, or fill)
    interval_ns: int  # (-A changes it as replies come: update_interval)
    flags: PingFlags
    stats: PingStats = field(default_factory=PingStats)
    seen: set[int] = field(default_factory=set)


def print_timestamp(flags: PingFlags) -> None:
    """``print_timestamp``: with ``-D``, the time of day before a line."""
    if flags.timestamps:
        sec, usec = libc.gettimeofday()
        libc.printf("[%lu.%06lu] ", sec, usec)


def _sock_setmark(fd: int, mark: int) -> None:
    """``sock_setmark``: SO_MARK, a warning (not an exit) when refused."""
    try:
        libc.setsockopt(fd, SOL_SOCKET, SO_MARK, mark)
    except OSError as e:
        libc.printf("ping: WARNING: failed to set mark: %u: %s\n", mark, e.strerror)


def _sock_setbufs(fd: int, sndbuf: int, alloc: int, preload: int) -> None:
    """``sock_setbufs``: SO_SNDBUF (-S, or ``alloc``, the estimate of one packet's memory), and
    a receive buffer for the preload, at least 64 KiB, with a warning when it is not had."""
    libc.setsockopt(fd, SOL_SOCKET, SO_SNDBUF, sndbuf or alloc)
    rcvbuf = alloc * preload
    libc.setsockopt(fd, SOL_SOCKET, SO_RCVBUF, max(rcvbuf, 65536))
    if libc.getsockopt(fd, SOL_SOCKET, SO_RCVBUF) < rcvbuf:
        libc.printf("ping: WARNING: probably, rcvbuf is not enough to hold preload\n")


def ping(dest: str, count: int = 0, interval: float | None = None, size: int = 56, ttl: int | None = None,
         linger: float = MAXWAIT, deadline: float | None = None, pmtudisc: int | None = None,
         quiet: bool = False, rroute: bool = False, ts_type: int | None = None,
         hops: tuple[str, ...] = (), broadcast: bool = False, interface: str | None = None,
         flood: bool = False, preload: int = 1, flags: PingFlags | None = None) -> PingStats:
    """Ping ``dest`` (``count`` 0: until ``deadline``); prints as iputils does, returns the counts.
    ``rroute``, ``ts_type`` and ``hops`` ask for IP options, as ``-R``, ``-T`` and the hosts
    before the destination do; ``broadcast`` (``-b``) allows a broadcast address; ``interface``
    (``-I``) is a source address or a device to send from; ``flood`` (``-f``) prints a dot for
    each request and takes it back for each reply, with no interval unless one is given;
    ``preload`` (``-l``) requests go before the first reply is waited for; ``flags`` the other
    options (``PingFlags``).  ``interval`` None is 1 s (0 for a flood)."""
    flags = flags or PingFlags()
    if interval is None:
        interval = 0.0 if flood else 1.0
    interval_ms = int(interval * 1000)
    if flags.ident == 0 and flags.verbose:  # main: "Current Linux kernel 6.0 doesn't support on SOCK_DGRAM ..."
        libc.printf("ping: WARNING: ident 0 => forcing raw socket\n")
    fd = libc.socket(AF_INET, SOCK_RAW, IPPROTO_ICMP)
    if flags.verbose:  # (a host without IPv6: no sock6, and the family limited to AF_INET)
        libc.printf("ping: sock4.fd: %d (socktype: SOCK_RAW), sock6.fd: -1 (socktype: 0), "
                    "hints.ai_family: AF_INET\n\n", fd)
    if flags.tos:  # main's set_socket_option
        try:
            libc.setsockopt(fd, IPPROTO_IP, IP_TOS, flags.tos)
        except OSError as e:
            _fail("setsockopt: %s", e.strerror)
    route = []
    for name in (*hops, dest):
        try:
            addr = libc.gethostbyname(name).h_addr_list[0]
        except (OSError, IndexError):
            libc.printf("ping: %s: Name or service not known\n", name)
            raise SystemExit(2) from None
        route.append(in_aton(addr))
    if flags.verbose:
        libc.printf("ai->ai_family: AF_INET, ai->ai_canonname: '%s'\n", dest)
    whereto = route[-1]
    device, source = None, 0
    strictsource = flags.strictsource
    if interface is not None:  # main's -I: an address to send from, else a device
        parsed = inet_pton4(interface)
        if parsed is None:
            device = interface
        else:
            source = parsed
            strictsource = True
    dst = (in_ntoa(route[0]), 1025)  # (the probe's destination, which -C connects to)
    if not source:
        # ping4_run: a UDP socket connected towards the destination (or the first hop) finds the
        # source address, and a broadcast address (EACCES without SO_BROADCAST), which takes -b
        probe = libc.socket(AF_INET, SOCK_DGRAM, 0)
        try:
            if device is not None:
                for each in (probe, fd):
                    _bind_to_device(each, device, ipv4_is_multicast(whereto))
            if flags.tos:
                try:
                    libc.setsockopt(probe, IPPROTO_IP, IP_TOS, flags.tos)
                except OSError as e:
                    libc.printf("ping: warning: QOS sockopts: %s\n", e.strerror)
            if flags.mark is not None:
                _sock_setmark(probe, flags.mark)
            try:
                libc.connect(probe, dst)
            except PermissionError:
                if not broadcast:
                    _fail("Do you want to ping broadcast? Then -b. If not, check your local firewall rules")
                libc.printf("WARNING: pinging broadcast address\n")
                libc.setsockopt(probe, SOL_SOCKET, SO_BROADCAST, 1)
                try:
                    libc.connect(probe, dst)
                except OSError as e:
                    _fail("connect: %s", e.strerror)
            except OSError as e:
                _fail("connect: %s", e.strerror)
            source = in_aton(libc.getsockname(probe)[0])
            if device is not None:
                if not _device_has(device, source):
                    libc.printf("ping: Warning: source address might be selected on device other than: %s\n",
                                device)
                elif source == route[0]:
                    libc.setsockopt(fd, SOL_SOCKET, SO_BINDTODEVICE, b"")  # our own address: over lo
        finally:
            libc.close(probe)
    if not whereto:
        whereto = source
    addr = in_ntoa(whereto)
    multicast = broadcast or ipv4_is_multicast(whereto)
    if multicast and pmtudisc is None:
        pmtudisc = IP_PMTUDISC_DO  # "broadcast ping does not fragment"
    if pmtudisc is not None:
        libc.setsockopt(fd, IPPROTO_IP, IP_MTU_DISCOVER, pmtudisc)
    if strictsource:
        try:
            libc.bind(fd, (in_ntoa(source), 0))  # F_STRICTSOURCE
        except OSError as e:
            _fail("bind: %s", e.strerror)
    wanted = (1 << ICMP_ECHOREPLY) | (1 << ICMP_DEST_UNREACH) | (1 << ICMP_SOURCE_QUENCH) | \
        (1 << ICMP_REDIRECT) | (1 << ICMP_TIME_EXCEEDED) | (1 << ICMP_PARAMETERPROB)
    libc.setsockopt(fd, SOL_RAW, ICMP_FILTER, ~wanted & 0xFFFFFFFF)
    libc.setsockopt(fd, IPPROTO_IP, IP_RECVERR, 1)
    options = ip_options_of(rroute, ts_type, route[:-1], flags.dontroute)
    if options:
        try:
            libc.setsockopt(fd, IPPROTO_IP, IP_OPTIONS, options)
        except OSError as e:
            _fail("%s: %s", "ts option" if ts_type is not None else "record route", e.strerror)
    optlen = MAX_IPOPTLEN if options else 0
    # "Estimate memory eaten by single packet. It is rough estimate."
    alloc = size + 8
    alloc += (alloc + 511) // 512 * (optlen + 20 + 16 + 64 + 160)
    _sock_setbufs(fd, flags.sndbuf, alloc, preload)
    if broadcast:
        libc.setsockopt(fd, SOL_SOCKET, SO_BROADCAST, 1)
    if flags.noloop:
        try:
            libc.setsockopt(fd, IPPROTO_IP, IP_MULTICAST_LOOP, 0)
        except OSError as e:
            _fail("cannot disable multicast loopback: %s", e.strerror)
    if ttl is not None:
        for optname, what in ((IP_MULTICAST_TTL, "multicast"), (IP_TTL, "unicast")):
            try:
                libc.setsockopt(fd, IPPROTO_IP, optname, ttl)
            except OSError as e:
                _fail("cannot set %s time-to-live: %s", what, e.strerror)
    libc.printf("PING %s (%s) ", dest, addr)
    if device is not None or strictsource:
        libc.printf("from %s %s: ", in_ntoa(source), device or "")
    libc.printf("%d(%d) bytes of data.\n", size, size + 8 + optlen + 20)
    # setup
    if interval_ms >= INT_MAX // preload:
        _fail("illegal preload and/or interval: %d", interval_ms)
    if flags.so_debug:
        libc.setsockopt(fd, SOL_SOCKET, SO_DEBUG, 1)
    if flags.dontroute:
        libc.setsockopt(fd, SOL_SOCKET, SO_DONTROUTE, 1)
    if flags.mark is not None:
        _sock_setmark(fd, flags.mark)
    if flags.pattern is None:
        data = bytes(i & 0xFF for i in range(size))  # "fill timestamp area too!"
    else:
        data = (flags.pattern * (size // max(len(flags.pattern), 1) + 1))[:size] if flags.pattern else bytes(size)
    shown = dest if addr == dest else f"{dest} ({addr})"
    ident = libc.getpid() & 0xFFFF if flags.ident is None else flags.ident
    s = _Session(fd, whereto, ident, quiet, flood, multicast, shown, data, interval_ms * 1_000_000, flags)
    if flags.connect:
        try:
            libc.connect(fd, dst)
        except OSError as e:
            _fail("connect failed: %s", e.strerror)
    elapsed = _main_loop(s, count, linger, deadline, preload)
    libc.close(fd)
    _summary(dest, s.stats, elapsed, s.interval_ns == 0 or flood or flags.adaptive)
    return s.stats


def _main_loop(s: _Session, count: int, linger: float, deadline: float | None, preload: int) -> int:
    """``main_loop`` with ``pinger``'s pacing, in virtual time: the first ``preload`` requests
    at once, then one an interval; without an interval, a request as soon as fewer than
    ``preload`` are unanswered, or MININTERVAL after the last.  A request the kernel refuses
    counts as sent, and the next waits at least MININTERVAL (``SCHINT``); one it has no buffer
    for is tried again after half the interval (at most 500 ms), for as long as the linger time
    lasts.  With ``-A`` the interval is what the replies made it (the next request moves with
    it); with ``-O`` a request whose predecessor is unanswered says so first.  Returns the time
    from the start to the last request sent (``cur_time``)."""
    stats = s.stats
    interval_ns = s.interval_ns
    world = current().host.world
    start = world.now
    next_send = start - interval_ns * (preload - 1)  # the tokens: (preload - 1) intervals' worth
    end_by = start + int(deadline * 1e9) if deadline is not None else None
    last_send = start
    resume_at = start  # not before: after a refused request
    nores = 0  # oom_count
    exit_at: int | None = None  # schedule_exit's alarm, once every probe has gone (None: none)
    armed = False
    exiting: list[int] = []  # sigexit: Ctrl-C (SIGINT) or SIGALRM ends the loop, then finish()
    libc.sigaction(SIGINT, exiting.append)
    while not exiting:
        now = world.now
        if s.interval_ns != interval_ns:  # (update_interval: pinger's tokens count in the new one)
            next_send += s.interval_ns - interval_ns
            interval_ns = s.interval_ns
        if end_by is not None and now >= end_by:
            break
        if count and stats.received + stats.errors >= count:
            break
        if deadline is not None and stats.errors:
            break
        if exit_at is not None and now >= exit_at:
            break
        if count and stats.transmitted >= count:
            if not armed and deadline is None:
                # schedule_exit: after the last probe, wait twice the longest round trip (or the
                # interval, if longer) when replies came, else the linger time; a wait of 0 sets
                # no alarm, and ping waits for the replies however long they take
                armed = True
                wait_us = (max(2 * max(stats.rtts, default=0), interval_ns // 1000) if stats.received
                           else int(linger * 1000) * 1000)
                exit_at = now + wait_us * 1000 if wait_us > 0 else None
                continue
            wake = exit_at
        else:
            wake = max(next_send, resume_at)
            if interval_ns == 0 and stats.transmitted and stats.in_flight() >= preload:
                # "if we see no reply, they are limited to 100pps"
                wake = max(wake, last_send + MININTERVAL_NS)
            if now >= wake:
                last_send = now
                next_send += interval_ns
                if s.flags.outstanding and stats.transmitted and stats.transmitted & 0xFFFF not in s.seen:
                    print_timestamp(s.flags)
                    libc.printf("no answer yet for icmp_seq=%lu\n", stats.transmitted % MAX_DUP_CHK)
                # rcvd_clear: the sequence number's mark goes as it is sent, so that when the
                # 16-bit numbers come round again a reply is no duplicate of the one 65,536 before
                seq = stats.transmitted + 1
                s.seen.discard(seq & 0xFFFF)
                err = _send_echo(s.fd, s.whereto, s.ident, seq, s.data)
                if not err:
                    nores = 0
                    stats.transmitted += 1
                    if s.flood and not s.quiet:
                        libc.printf(".")
                    continue
                if err in (ENOBUFS, ENOMEM):
                    # a full device queue: not sent, no tokens left, a wait (unless it has gone on
                    # for the linger time, when it is a hard error)
                    next_send = now + interval_ns
                    wait_ms = min(max(interval_ns // 2_000_000, MININTERVAL_NS // 1_000_000), 500)
                    nores += 1
                    if nores * wait_ms < int(linger * 1000):
                        resume_at = now + wait_ms * 1_000_000
                        continue
                    tell = True
                else:
                    reported = receive_error_msg(s)
                    if reported == 0:
                        continue  # (an error queued about someone else's packet: send again)
                    tell = reported > 0  # (an empty queue, or a local error it printed: nothing)
                # a hard local error: pretend the request went
                stats.transmitted += 1
                if tell and not s.quiet:
                    if s.flood:
                        libc.printf("E")
                    else:
                        libc.printf("ping: sendmsg: %s\n", strerror(err))
                next_send = now + interval_ns
                resume_at = now + max(interval_ns, MININTERVAL_NS)
                continue
        if end_by is not None:
            wake = end_by if wake is None else min(wake, end_by)
        # SO_RCVTIMEO of 0: no timeout, the receive waits for a packet or a signal
        wait_us = 0 if wake is None else max(1, -(-(wake - now) // 1000))
        libc.setsockopt(s.fd, SOL_SOCKET, SO_RCVTIMEO, divmod(wait_us, 1_000_000))
        try:
            packet, (src, _) = libc.recvfrom(s.fd, 65536, 0)
        except (BlockingIOError, InterruptedError):
            continue
        except OSError:
            receive_error_msg(s)  # IP_RECVERR: an ICMP error about a request is in the error queue
            continue
        _receive(s, packet, src)
    return last_send - start


def receive_error_msg(s: _Session) -> int:
    """``ping4_receive_error_msg``: read one entry of the error queue.  A local error (a request
    longer than the path's MTU, say) is printed and counted as an error, except with ``-q``; an
    ICMP error about one of our requests answers it, is printed ("From" the reporter) and
    counted, and from then on the ICMP filter lets no error message through (the error queue
    has them).  Returns how many ICMP errors it took (1), or minus how many local ones (or -1
    for an empty queue), 0 for an entry about someone else's packet."""
    msg = Msghdr(msg_control=[])
    try:
        data = libc.recvmsg(s.fd, msg, 8, MSG_ERRQUEUE | MSG_DONTWAIT)
    except (BlockingIOError, InterruptedError):
        return -1
    except OSError:
        return 0
    e = offender = None
    for level, kind, cdata in msg.msg_control:
        if level == IPPROTO_IP and kind == IP_RECVERR:
            e = SockExtendedErr.unpack(cdata)
            offender = in_ntoa(int.from_bytes(cdata[20:24], "big"))
    stats = s.stats
    if e is None:
        return 0
    if e.ee_origin == SO_EE_ORIGIN_LOCAL:
        if s.quiet:
            return -1
        if s.flood:
            libc.printf("E")
        elif e.ee_errno == EMSGSIZE:
            libc.printf("ping: local error: message too long, mtu=%u\n", e.ee_info)
        else:
            libc.printf("ping: local error: %s\n", strerror(e.ee_errno))
        stats.errors += 1
        return -1
    if e.ee_origin != SO_EE_ORIGIN_ICMP:
        return 0
    if len(data) < 8 or msg.msg_name is None or in_aton(msg.msg_name[0]) != s.whereto or data[0] != ICMP_ECHO \
            or struct.unpack_from("!H", data, 4)[0] != s.ident:
        return 0  # not our error
    seq = struct.unpack_from("!H", data, 6)[0]
    stats.acknowledge(seq)
    wanted = (1 << ICMP_SOURCE_QUENCH) | (1 << ICMP_REDIRECT) | (1 << ICMP_ECHOREPLY)
    libc.setsockopt(s.fd, SOL_RAW, ICMP_FILTER, ~wanted & 0xFFFFFFFF)
    stats.errors += 1
    if not s.quiet:
        if s.flood:
            libc.printf("\bE")
        else:
            print_timestamp(s.flags)
            libc.printf("From %s icmp_seq=%u %s\n", offender, seq, pr_icmph(e.ee_type, e.ee_code, e.ee_info))
    return 1


def _send_echo(fd: int, whereto: int, ident: int, seq: int, data: bytes) -> int:
    """``ping4_send_probe``: an echo request numbered ``seq``, the send time over the first bytes
    of ``data``; 0, or the errno of the refused send."""
    payload = bytearray(data)
    if len(payload) >= TIMEVAL_LEN:
        sec, usec = libc.gettimeofday()
        struct.pack_into("<qq", payload, 0, sec, usec)
    packet = bytearray(struct.pack("!BBHHH", ICMP_ECHO, 0, 0, ident, seq & 0xFFFF)) + payload
    struct.pack_into("!H", packet, 2, icmp_checksum(bytes(packet)))
    try:
        libc.sendto(fd, bytes(packet), 0, (in_ntoa(whereto), 0))
    except OSError as e:
        return e.errno
    return 0


def _receive(s: _Session, packet: bytes, src: str) -> None:
    """``ping4_parse_reply``: an echo reply of ours is counted (``gather_statistics``) and
    printed, or, in a flood, takes back its request's dot; an ICMP error about one of our
    requests answers it (the error queue has the rest); a redirect or a source quench is only
    printed."""
    stats = s.stats
    ihl = (packet[0] & 0x0F) * 4
    icmp = packet[ihl:]
    if len(icmp) < 8:
        return
    type, code = icmp[0], icmp[1]
    if type == ICMP_ECHOREPLY:
        _, _, _, rid, seq = struct.unpack_from("!BBHHH", icmp)
        if rid != s.ident:
            return
        stats.acknowledge(seq)
        dup = seq in s.seen
        if dup:
            stats.duplicates += 1
        else:
            s.seen.add(seq)
            stats.received += 1
        shown = s.shown if src == in_ntoa(s.whereto) else src
        line = f"{len(icmp)} bytes from {shown}: icmp_seq={seq}"
        if s.flags.verbose:  # (a raw socket's: the identifier is ours to show)
            line += f" ident={rid}"
        line += f" ttl={packet[8]}"
        if len(icmp) >= 8 + TIMEVAL_LEN:
            sec, usec = struct.unpack_from("<qq", icmp, 8)
            now_sec, now_usec = libc.gettimeofday()
            rtt = (now_sec - sec) * 1_000_000 + now_usec - usec
            # gather_statistics: a duplicate's round trip counts as much as the first reply's
            stats.rtts.append(rtt)
            stats.ewma = rtt * 8 if not stats.ewma else stats.ewma + rtt - stats.ewma // 8
            if s.flags.adaptive:
                # update_interval: the moving average of the round trips (as root, no floor)
                s.interval_ns = (stats.ewma // 8 + 500) // 1000 * 1_000_000
            line += f" time={format_triptime(rtt)} ms"
        if dup and (not s.multicast or s.flags.verbose):  # (a broadcast's several hosts: not marked)
            line += " (DUP!)"
        if s.quiet:
            return
        bell = "\a" if s.flags.audible else ""
        if s.flood:
            libc.printf("\b \b%s", bell)
        else:
            print_timestamp(s.flags)
            libc.printf("%s%s%s\n", line, bell, pr_options(packet[20:ihl], stats))
        return
    if type in (ICMP_DEST_UNREACH, ICMP_TIME_EXCEEDED, ICMP_SOURCE_QUENCH, ICMP_REDIRECT, ICMP_PARAMETERPROB):
        inner = icmp[8:]
        if len(inner) < 28 or inner[9] != IPPROTO_ICMP:
            return
        iihl = (inner[0] & 0x0F) * 4
        if len(inner) < iihl + 8:
            return
        itype, _, _, iid, iseq = struct.unpack_from("!BBHHH", inner, iihl)
        if itype != ICMP_ECHO or iid != s.ident or int.from_bytes(inner[16:20], "big") != s.whereto:
            return
        if type not in (ICMP_REDIRECT, ICMP_SOURCE_QUENCH):
            stats.acknowledge(iseq)
            return
        # advice, not an error: the request may still be answered
        if not s.quiet and not s.flood:
            info = struct.unpack_from("!I", icmp, 4)[0]
            print_timestamp(s.flags)
            libc.printf("From %s: icmp_seq=%d %s\n", src, iseq, pr_icmph(type, code, info))
            if s.flags.verbose:
                libc.printf("%s", pr_iph(inner, s.stats))


def _summary(dest: str, stats: PingStats, elapsed_ns: int, show_ipg: bool) -> None:
    """``finish``: the statistics; ``time`` runs from the first probe to the last one sent.  The
    line after them always ends (an empty one when it has nothing), and without an interval
    between probes, or in a flood, it gives the gap between probes and the moving average of
    the round trips."""
    libc.printf("\n--- %s ping statistics ---\n", dest)
    line = f"{stats.transmitted} packets transmitted, {stats.received} received"
    if stats.duplicates:
        line += f", +{stats.duplicates} duplicates"
    if stats.errors:
        line += f", +{stats.errors} errors"
    if stats.transmitted:
        loss = (stats.transmitted - stats.received) * 100.0 / stats.transmitted
        line += f", {loss:g}% packet loss"
    line += f", time {(elapsed_ns + 500_000) // 1_000_000}ms"
    libc.printf("%s\n", line)
    tail = []
    if stats.received and stats.rtts:
        total = stats.received + stats.duplicates
        tsum = sum(stats.rtts)
        tsum2 = sum(r * r for r in stats.rtts)
        avg = tsum // total
        # (iputils' "slightly clumsy computation order", which keeps small times' variance)
        var = (tsum2 - tsum * tsum // total) // total if tsum < INT_MAX else tsum2 // total - avg * avg
        mdev = int(math.sqrt(abs(var)))
        tail.append(f"rtt min/avg/max/mdev = {_ms(min(stats.rtts))}/{_ms(avg)}/{_ms(max(stats.rtts))}/{_ms(mdev)} ms")
    if stats.pipesize > 1:
        tail.append(f"pipe {stats.pipesize}")
    if stats.received and show_ipg and stats.transmitted > 1:
        ipg = elapsed_ns // 1000 // (stats.transmitted - 1)
        tail.append(f"ipg/ewma {ipg // 1000}.{ipg % 1000:03d}/{stats.ewma // 8000}.{stats.ewma // 8 % 1000:03d} ms")
    libc.printf("%s\n", ", ".join(tail))


def ping_main(argv: list[str]) -> int:
    """``ping`` as a program: exit status 0 when a reply came, 1 when none did, 2 on error."""
    try:
        opts = _parse(argv)
    except IputilsExit as e:
        libc.printf("%s\n" if not str(e).endswith("\n") else "%s", str(e))
        return e.status
    flags = PingFlags(**{name: opts[name] for name in PingFlags.__dataclass_fields__})
    stats = ping(str(opts["dest"]), count=int(opts["count"]), interval=opts["interval"],
                 size=int(opts["size"]), ttl=opts["ttl"], linger=float(opts["linger"]),
                 deadline=opts["deadline"], pmtudisc=opts["pmtudisc"], quiet=bool(opts["quiet"]),
                 rroute=bool(opts["rroute"]), ts_type=opts["ts_type"], hops=tuple(opts["hops"]),
                 broadcast=bool(opts["broadcast"]), interface=opts["interface"], flood=bool(opts["flood"]),
                 preload=int(opts["preload"]), flags=flags)
    return 0 if stats.received else 1
