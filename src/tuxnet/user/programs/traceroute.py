"""``traceroute`` (Linux's traceroute 2.1): probes with increasing TTL, answers read from raw
sockets, printed as traceroute prints them.

::

    traceroute to 10.0.3.2 (10.0.3.2), 30 hops max, 60 byte packets
     1  10.0.1.254 (10.0.1.254)  0.412 ms  0.391 ms  0.383 ms
     2  10.0.2.2 (10.0.2.2)  0.802 ms  0.790 ms  0.781 ms
     3  10.0.3.2 (10.0.3.2)  1.204 ms  1.195 ms  1.187 ms

Three methods, each a 60-byte packet:

- UDP (the default): a datagram to port 33434 + its sequence number (``-p`` the first) with 32
  octets of data; the destination answers ICMP port unreachable.
- ICMP (``-I``): an echo request with 32 octets of data, identifier and sequence ours; the
  destination answers with an echo reply.
- TCP (``-T``): a SYN to port 80 (``-p``) from a port of ours, with the options a Linux SYN
  carries; the destination answers SYN-ACK (the kernel then resets it) or RST.

A router where the TTL runs out answers ICMP time exceeded; other unreachables are shown as
``!H``, ``!N``, ``!P``, ``!F-mtu``, ``!X``.  A probe without an answer within ``-w`` seconds (5)
is a ``*``.  Probes go one at a time (traceroute's ``-N 1``).  Options: ``-I``, ``-T``, ``-n``,
``-m MAX_TTL``, ``-f FIRST_TTL``, ``-q NQUERIES``, ``-w WAIT``, ``-p PORT``.
"""

from __future__ import annotations

import math
import struct
from collections.abc import Callable

from tuxnet.kernel.errno import EMSGSIZE
from tuxnet.kernel.sched import current
from tuxnet.net.core.checksum import csum_fold, csum_partial, csum_tcpudp_magic
from tuxnet.net.core.skbuff import SO_EE_ORIGIN_LOCAL, SockExtendedErr
from tuxnet.net.core.sock import SO_BINDTODEVICE, SOL_SOCKET
from tuxnet.net.core.utils import in_aton
from tuxnet.net.ipv4.af_inet import (
    IP_MTU_DISCOVER,
    IP_RECVERR,
    IP_TTL,
    IPPROTO_ICMP,
    IPPROTO_IP,
    IPPROTO_TCP,
    IPPROTO_UDP,
)
from tuxnet.net.ipv4.icmp import (
    ICMP_DEST_UNREACH,
    ICMP_ECHO,
    ICMP_ECHOREPLY,
    ICMP_FRAG_NEEDED,
    ICMP_PORT_UNREACH,
    ICMP_TIME_EXCEEDED,
)
from tuxnet.net.ipv4.ip_output import IP_PMTUDISC_DONT, IP_PMTUDISC_PROBE
from tuxnet.net.socket import (
    AF_INET,
    MSG_DONTWAIT,
    MSG_ERRQUEUE,
    POLLIN,
    SOCK_DGRAM,
    SOCK_RAW,
    SOCK_STREAM,
    Msghdr,
)
from tuxnet.user import libc

DEF_START_PORT = 33434
DEF_TCP_PORT = 80
DATA_LEN = 32  # 60-byte packets: 20 (IP) + 8 (UDP or ICMP) + 32
TCP_LEN = 60  # the TCP method's SYN: 20 (IP) + 20 (TCP) + 20 of options, whatever the length asked
MAX_PACKET_LEN = 65000  # the longest probe, and --mtu's first
DEF_SIM_QUERIES = 16  # -N: probes in flight at once (here always one; the lines come out the same)
MAX_HOPS = 255
MAX_PROBES = 10
DEF_WAIT, DEF_HERE, DEF_NEAR = 5.0, 3.0, 10.0  # -w's MAX,HERE,NEAR (only MAX, the longest wait, is used here)
TCP_SYN, TCP_RST, TCP_ACK = 0x02, 0x04, 0x10
# a SYN's options as Linux writes them: MSS 1460, SACK permitted, timestamps, window scale 7
TCP_SYN_OPTIONS = bytes((2, 4, 0x05, 0xB4, 4, 2, 8, 10)) + bytes(8) + bytes((1, 3, 3, 7))

_UNREACH_MARKS = {0: "!N", 1: "!H", 2: "!P", 5: "!S", 9: "!X", 10: "!X", 13: "!X", 14: "!V", 15: "!C"}

# An answer: (who, ICMP type and code, or -1 for the destination's own reply; the ICMP info;
# when it came)
Answer = tuple[str, int, int, int, int]


class Setup:
    """What each probe socket is given (``tune_socket``): the source address (``-s``), the
    device (``-i``), no fragmenting (``-F``, ``--mtu``: IP_PMTUDISC_PROBE, which sizes by the
    device and not by what the kernel learnt of the path) and IP_RECVERR, whose queue tells the
    MTU of a probe the device refused."""

    def __init__(self, source: str | None = None, device: str | None = None, dontfrag: bool = False) -> None:
        self.source = source
        self.device = device
        self.dontfrag = dontfrag

    def tune(self, fd: int) -> None:
        if self.device is not None:
            try:
                libc.setsockopt(fd, SOL_SOCKET, SO_BINDTODEVICE, self.device.encode() + b"\0")
            except OSError as e:
                raise TracerouteError(f"setsockopt SO_BINDTODEVICE: {e.strerror}") from None
        if self.source is not None:
            try:
                libc.bind(fd, (self.source, 0))
            except OSError as e:
                raise TracerouteError(f"bind: {e.strerror}") from None
        # (without -F: IP_PMTUDISC_DONT, no DF, so that a long probe is fragmented on its way)
        libc.setsockopt(fd, IPPROTO_IP, IP_MTU_DISCOVER, IP_PMTUDISC_PROBE if self.dontfrag else IP_PMTUDISC_DONT)


class TracerouteError(Exception):
    """A failed call after the header: its words (``error()``), and exit status 1."""


def _send_sized(fd: int, packet: bytes, addr: tuple[str, int] | None) -> None:
    """Send a probe (``addr`` None: on the connected socket); one the device refuses as too long
    (EMSGSIZE) raises ProbeTooLong with the MTU it names, which the local error in the error
    queue carries (``ee_info``).  IP_RECVERR is on only for the send: the answers are read
    from the raw ICMP socket, and a queued ICMP error would fail the next receive."""
    libc.setsockopt(fd, IPPROTO_IP, IP_RECVERR, 1)
    try:
        if addr is None:
            libc.send(fd, packet, 0)
        else:
            libc.sendto(fd, packet, 0, addr)
    except OSError as e:
        if e.errno != EMSGSIZE:
            raise
        raise ProbeTooLong(_refused_mtu(fd)) from None
    finally:
        libc.setsockopt(fd, IPPROTO_IP, IP_RECVERR, 0)


def _refused_mtu(fd: int) -> int:
    """The MTU a send refused with EMSGSIZE names, from the socket's error queue (the local
    error's ``ee_info``)."""
    msg = Msghdr(msg_control=[])
    while True:
        try:
            libc.recvmsg(fd, msg, 0, MSG_ERRQUEUE | MSG_DONTWAIT)
        except BlockingIOError:
            raise TracerouteError("send: Message too long") from None
        for level, kind, cdata in msg.msg_control:
            if level == IPPROTO_IP and kind == IP_RECVERR:
                e = SockExtendedErr.unpack(cdata)
                if e.ee_origin == SO_EE_ORIGIN_LOCAL and e.ee_errno == EMSGSIZE:
                    return e.ee_info
        msg = Msghdr(msg_control=[])


def _data(length: int) -> bytes:
    """The probe's data: ``length`` octets 0x40, 0x41, ... 0x7f, 0x40, ..., as traceroute fills it."""
    return bytes(0x40 + (i & 0x3F) for i in range(length))


class UdpProbes:
    """The default method: a connected UDP socket a probe, to port ``port`` + its number."""

    def __init__(self, addr: str, port: int, setup: Setup) -> None:
        self.addr = addr
        self.port = port
        self.setup = setup
        self.fds: list[int] = []  # (the answers are ICMP errors only)

    def close(self) -> None:
        """Nothing to let go of: each probe's socket is closed once it is sent."""

    def send(self, ttl: int, seq: int, length: int) -> Callable[[bytes, str], Answer | None]:
        dport = (self.port + seq) & 0xFFFF  # (a port is 16 bits: -p's int wraps)
        udp = libc.socket(AF_INET, SOCK_DGRAM, IPPROTO_UDP)
        try:
            self.setup.tune(udp)
            libc.setsockopt(udp, IPPROTO_IP, IP_TTL, ttl)
            libc.connect(udp, (self.addr, dport))
            sport = libc.getsockname(udp)[1]
            _send_sized(udp, _data(length - 28), None)
        finally:
            libc.close(udp)

        def match(packet: bytes, src: str) -> Answer | None:
            inner = _quoted(packet, IPPROTO_UDP)
            if inner is None or struct.unpack_from("!HH", inner) != (sport, dport):
                return None
            return _error_answer(packet, src)
        return match


class ProbeTooLong(Exception):
    """A probe the device refused (EMSGSIZE), and the MTU it named."""

    def __init__(self, mtu: int) -> None:
        super().__init__(mtu)
        self.mtu = mtu


class IcmpProbes:
    """``-I``: echo requests on a raw ICMP socket, our identifier, each its own sequence."""

    def __init__(self, addr: str, setup: Setup) -> None:
        self.addr = addr
        self.ident = libc.getpid() & 0xFFFF
        self.fd = libc.socket(AF_INET, SOCK_RAW, IPPROTO_ICMP)
        self.fds = [self.fd]
        setup.tune(self.fd)

    def close(self) -> None:
        libc.close(self.fd)

    def send(self, ttl: int, seq: int, length: int) -> Callable[[bytes, str], Answer | None]:
        seq = (seq + 1) & 0xFFFF
        echo = bytearray(struct.pack("!BBHHH", ICMP_ECHO, 0, 0, self.ident, seq))
        echo += _data(length - 28)
        struct.pack_into("!H", echo, 2, csum_fold(csum_partial(echo)))
        libc.setsockopt(self.fd, IPPROTO_IP, IP_TTL, ttl)
        _send_sized(self.fd, bytes(echo), (self.addr, 0))
        key = (ICMP_ECHO, 0, self.ident, seq)

        def match(packet: bytes, src: str) -> Answer | None:
            ihl = (packet[0] & 0x0F) * 4
            msg = packet[ihl:]
            if len(msg) >= 8 and msg[0] == ICMP_ECHOREPLY and struct.unpack_from("!HH", msg, 4) == key[2:]:
                return src, -1, 0, 0, current().host.world.now
            inner = _quoted(packet, IPPROTO_ICMP)
            if inner is None or struct.unpack_from("!BBHHH", inner)[:2] + struct.unpack_from("!HH", inner, 4) != key:
                return None
            return _error_answer(packet, src)
        return match


class TcpProbes:
    """``-T``: SYNs on a raw TCP socket from a port a TCP socket of ours holds; the destination's
    SYN-ACK or RST ends the trace."""

    def __init__(self, addr: str, port: int, setup: Setup) -> None:
        self.addr = addr
        self.port = port & 0xFFFF  # (a port is 16 bits: -p's int wraps)
        self.fd = libc.socket(AF_INET, SOCK_RAW, IPPROTO_TCP)
        self.fds = [self.fd]
        setup.tune(self.fd)  # (a source that is not ours fails here, as tcp_init's tune_socket)
        self.holder = libc.socket(AF_INET, SOCK_STREAM, 0)
        libc.bind(self.holder, (setup.source or "0.0.0.0", 0))
        self.sport = libc.getsockname(self.holder)[1]
        route = libc.socket(AF_INET, SOCK_DGRAM, 0)  # the source address the route gives
        if setup.source is not None:
            libc.bind(route, (setup.source, 0))
        libc.connect(route, (addr, self.port or DEF_TCP_PORT))
        self.saddr = in_aton(libc.getsockname(route)[0])
        libc.close(route)

    def close(self) -> None:
        libc.close(self.fd)
        libc.close(self.holder)

    def send(self, ttl: int, seq: int, length: int) -> Callable[[bytes, str], Answer | None]:
        """(``length`` is the SYN's own, TCP_LEN: the method sizes its probes itself.)"""
        isn = (self.sport << 16 | seq) & 0xFFFFFFFF
        syn = bytearray(struct.pack("!HHIIBBHHH", self.sport, self.port, isn, 0, 10 << 4, TCP_SYN, 5840, 0, 0))
        syn += TCP_SYN_OPTIONS
        struct.pack_into("!H", syn, 16, csum_tcpudp_magic(self.saddr, in_aton(self.addr), len(syn), IPPROTO_TCP,
                                                          csum_partial(syn)))
        libc.setsockopt(self.fd, IPPROTO_IP, IP_TTL, ttl)
        libc.sendto(self.fd, bytes(syn), 0, (self.addr, 0))

        def match(packet: bytes, src: str) -> Answer | None:
            ihl = (packet[0] & 0x0F) * 4
            if packet[9] == IPPROTO_TCP:
                sport, dport, _, ack = struct.unpack_from("!HHII", packet, ihl)
                flags = packet[ihl + 13]
                if (sport, dport) == (self.port, self.sport) and flags & (TCP_RST | TCP_ACK) and (
                        ack == (isn + 1) & 0xFFFFFFFF or flags & TCP_RST):
                    return src, -1, 0, 0, current().host.world.now
                return None
            inner = _quoted(packet, IPPROTO_TCP)
            if inner is None or struct.unpack_from("!HHI", inner) != (self.sport, self.port, isn):
                return None
            return _error_answer(packet, src)
        return match


def _quoted(packet: bytes, proto: int) -> bytes | None:
    """The transport header an ICMP error (time exceeded, unreachable) in ``packet`` quotes, if
    it quotes a datagram of ``proto``."""
    ihl = (packet[0] & 0x0F) * 4
    msg = packet[ihl:]
    if packet[9] != IPPROTO_ICMP or len(msg) < 8 + 28 or msg[0] not in (ICMP_TIME_EXCEEDED, ICMP_DEST_UNREACH):
        return None
    inner = msg[8:]
    iihl = (inner[0] & 0x0F) * 4
    if inner[9] != proto or len(inner) < iihl + 8:
        return None
    return inner[iihl:]


def _error_answer(packet: bytes, src: str) -> Answer:
    ihl = (packet[0] & 0x0F) * 4
    return src, packet[ihl], packet[ihl + 1], struct.unpack_from("!I", packet, ihl + 4)[0], current().host.world.now


def _int_value(value: str) -> int | None:
    """A whole C ``int`` by ``strtol`` in base 0 (0x hexadecimal, 0 octal), or None."""
    number, end, _ = libc.strtol(value, base=0)
    return libc.c_int(number) if end and end == len(value) else None


def _option_value(flag: str, value: str, argc: int) -> object:
    """An option's argument as traceroute's CLIF handlers read it: a whole C ``int`` by ``strtol``
    in base 0 (0x hexadecimal, 0 octal), or for ``-w`` up to three numbers by ``strtod``,
    ``MAX,HERE,NEAR`` (those not given 0), for ``-s`` an address (a name resolved), for ``-i``
    a device's name; ``argc`` is the word's place on the command line."""
    if flag == "-w":
        parts = value.split(",")
        numbers = []
        for part in parts if len(parts) <= 3 else []:
            number, end, _ = libc.strtod(part)
            if end == 0 or end != len(part):
                break
            numbers.append(number)
        if numbers and len(numbers) == len(parts):
            return (numbers + [0.0, 0.0])[:3]
    elif flag == "-i":
        return value
    elif flag == "-s":
        try:
            return libc.gethostbyname(value).h_addr_list[0]
        except (OSError, IndexError):
            libc.printf("%s: Name or service not known\n", value)  # (getaddr's gai_strerror)
    else:
        number = _int_value(value)
        if number is not None:
            return number
    raise ValueError(f"Cannot handle `{flag}' option with arg `{value}' (argc {argc})")


def _parse(argv: list[str]) -> dict[str, object]:
    """The command line as traceroute 2.1's CLIF reads it: options of one letter, several to a
    word (``-nm 5``), an argument in the rest of the word or the next one, and ``--mtu``; the
    host, then the packet length (a C int as the options' numbers); then its checks of the
    hops, probes and waits, in its order, and of the length."""
    opts: dict[str, object] = {"numeric": False, "max_ttl": 30, "first_ttl": 1, "nqueries": 3,
                               "wait": [DEF_WAIT, DEF_HERE, DEF_NEAR], "port": None, "method": "udp", "dest": None,
                               "dest_argc": 1, "packet_len": None, "sim_queries": DEF_SIM_QUERIES, "source": None,
                               "device": None, "dontfrag": False, "mtudisc": False}
    keys = {"m": "max_ttl", "f": "first_ttl", "q": "nqueries", "w": "wait", "p": "port", "N": "sim_queries",
            "s": "source", "i": "device"}
    i = 0
    position = 0  # the arguments that are not options: the host, the packet length
    while i < len(argv):
        arg = argv[i]
        i += 1
        if not arg.startswith("-") or arg == "-":
            position += 1
            if position == 1:
                opts["dest"], opts["dest_argc"] = arg, i
            elif position == 2:
                length = _int_value(arg)
                if length is None:
                    raise ValueError(f"Cannot handle \"packetlen\" cmdline arg `{arg}' on position 2 (argc {i})")
                opts["packet_len"] = length
            else:
                raise ValueError(f"Extra arg `{arg}' (position {position}, argc {i})")
            continue
        if arg == "--mtu":
            opts["mtudisc"] = True
            continue
        if arg.startswith("--"):
            _, eq, value = arg.partition("=")
            raise ValueError(f"Bad option `{arg}'" + (f" (with arg `{value}')" if eq else "") + f" (argc {i})")
        j = 1
        while j < len(arg):
            letter = arg[j]
            j += 1
            if letter in keys:
                if j < len(arg):
                    value, argc = arg[j:], i
                elif i < len(argv):
                    value, argc = argv[i], i + 1
                    i += 1
                else:
                    raise ValueError(f"Option `-{letter}' (argc {i}) requires an argument")
                opts[keys[letter]] = _option_value(f"-{letter}", value, argc)
                break
            if letter == "n":
                opts["numeric"] = True
            elif letter == "F":
                opts["dontfrag"] = True
            elif letter in "IT":
                opts["method"] = "icmp" if letter == "I" else "tcp"
            else:
                raise ValueError(f"Bad option `-{letter}' (argc {i})")
    if opts["dest"] is None:
        raise ValueError("Specify \"host\" missing argument.")
    first, hops, probes = int(opts["first_ttl"]), int(opts["max_ttl"]), int(opts["nqueries"])
    if first <= 0 or first > hops:
        raise ValueError("first hop out of range")
    if hops > MAX_HOPS:
        raise ValueError(f"max hops cannot be more than {MAX_HOPS}")
    if probes <= 0 or probes > MAX_PROBES:
        raise ValueError(f"no more than {MAX_PROBES} probes per hop")
    wait = opts["wait"]
    assert isinstance(wait, list)
    if any(w < 0 for w in wait):
        raise ValueError(f"bad wait specifications `{_g(wait[0])},{_g(wait[1])},{_g(wait[2])}' used")
    if opts["packet_len"] is not None and int(opts["packet_len"]) > MAX_PACKET_LEN:
        raise ValueError(f"too big packetlen {opts['packet_len']} specified")
    return opts


def _g(number: float) -> str:
    """C's ``%g``."""
    return f"{number:g}"


def traceroute(dest: str, numeric: bool = False, max_ttl: int = 30, first_ttl: int = 1, nqueries: int = 3,
               wait: float = 5.0, port: int | None = None, method: str = "udp", packet_len: int | None = None,
               mtudisc: bool = False, setup: Setup | None = None) -> list[list[tuple[str, float] | None]]:
    """Trace the route to ``dest`` with ``method`` ("udp", "icmp", "tcp"); prints as traceroute
    does and returns, per hop, each probe's (address, round trip time in ms) or None for no
    answer.  ``packet_len`` is the probes' length, IP header included (at least the headers;
    the TCP method's SYNs are always 60 octets); ``mtudisc`` (``--mtu``) discovers the path's
    MTU: probes of 65000 octets unless a length is given, not fragmented, each one the device
    or a router refuses sent again at the MTU it names, and that MTU shown ("F=1500") with it;
    ``setup`` the probe sockets' source, device and ``-F``."""
    setup = setup or Setup()
    if mtudisc:
        setup.dontfrag = True
        if packet_len is None:
            packet_len = MAX_PACKET_LEN
    if method == "tcp":
        length = TCP_LEN
    else:
        length = max(28 + DATA_LEN if packet_len is None else packet_len, 28)
    addr = libc.gethostbyname(dest).h_addr_list[0]  # (OSError: no such host)
    world = current().host.world
    icmp = libc.socket(AF_INET, SOCK_RAW, IPPROTO_ICMP)
    # the ICMP and TCP methods make their socket before the header, the UDP one a socket a probe
    if method == "icmp":
        probes: UdpProbes | IcmpProbes | TcpProbes = IcmpProbes(addr, setup)
    elif method == "tcp":
        probes = TcpProbes(addr, DEF_TCP_PORT if port is None else port, setup)
    else:
        probes = UdpProbes(addr, DEF_START_PORT if port is None else port, setup)
    # print_header: the line is ended by the first hop's, each of which begins with its newline
    # (and error() with one of its own)
    libc.printf("traceroute to %s (%s), %d hops max, %d byte packets", dest, addr, max_ttl, length)
    hops: list[list[tuple[str, float] | None]] = []
    seq = 0
    done = False
    for ttl in range(first_ttl, max_ttl + 1):
        line = f"{ttl:2d} "
        results: list[tuple[str, float] | None] = []
        last_addr = None
        for _ in range(nqueries):
            new_mtu = None
            while True:
                sent = world.now
                try:
                    match = probes.send(ttl, seq, length)
                except ProbeTooLong as e:
                    if not mtudisc or e.mtu >= length:
                        raise TracerouteError("send: Message too long") from None
                    length = new_mtu = e.mtu  # (again, at the device's MTU)
                    continue
                finally:
                    seq += 1
                answer = _wait_answer([icmp, *probes.fds], match,
                                      sent + int(wait * 1e9) if math.isfinite(wait) else None)
                if (mtudisc and answer is not None and answer[1:3] == (ICMP_DEST_UNREACH, ICMP_FRAG_NEEDED)
                        and 0 < answer[3] & 0xFFFF < length):
                    length = new_mtu = answer[3] & 0xFFFF  # a router's smaller MTU: again, at it
                    continue
                break
            if answer is None:
                results.append(None)
                line += " *"
                continue
            src, type, code, info, when = answer
            rtt = (when - sent) / 1e6
            results.append((src, rtt))
            if src != last_addr:
                line += f" {src}" if numeric else f" {src} ({src})"
                last_addr = src
            line += f"  {rtt:.3f} ms"
            if new_mtu is not None:
                line += f" F={new_mtu}"
            if type == -1:
                done = True  # the destination itself answered
            elif type == ICMP_DEST_UNREACH:
                if code == ICMP_PORT_UNREACH:
                    done = done or src == addr
                else:
                    line += " " + (f"!F-{info & 0xFFFF}" if code == ICMP_FRAG_NEEDED
                                   else _UNREACH_MARKS.get(code, f"!<{code}>"))
                    done = True
        libc.printf("\n%s", line)
        hops.append(results)
        if done:
            break
    libc.printf("\n")
    probes.close()
    libc.close(icmp)
    return hops


def _wait_answer(fds: list[int], match: Callable[[bytes, str], Answer | None],
                 deadline: int | None) -> Answer | None:
    """The answer to our probe that ``match`` recognises, read from the raw sockets ``fds``, or
    None by ``deadline`` (None: a wait of infinity or NaN seconds, which has no end)."""
    world = current().host.world
    while deadline is None or world.now < deadline:
        wait_ms = -1 if deadline is None else max(1, -(-(deadline - world.now) // 1_000_000))
        ready = libc.poll([(fd, POLLIN) for fd in fds], wait_ms)
        for fd, revents in zip(fds, ready, strict=True):
            if not revents & POLLIN:
                continue
            while True:
                try:
                    packet, (src, _) = libc.recvfrom(fd, 65536, MSG_DONTWAIT)
                except BlockingIOError:
                    break
                answer = match(packet, src)
                if answer is not None:
                    return answer
    return None


def traceroute_main(argv: list[str]) -> int:
    """``traceroute`` as a program: 2 for a bad command line, 1 for a call that failed."""
    try:
        opts = _parse(argv)
    except ValueError as e:
        libc.printf("%s\n", str(e))
        return 2
    wait = opts["wait"]
    assert isinstance(wait, list)
    setup = Setup(source=opts["source"], device=opts["device"], dontfrag=bool(opts["dontfrag"]))
    try:
        traceroute(str(opts["dest"]), numeric=bool(opts["numeric"]), max_ttl=int(opts["max_ttl"]),
                   first_ttl=int(opts["first_ttl"]), nqueries=int(opts["nqueries"]), wait=wait[0],
                   port=opts["port"], method=str(opts["method"]), packet_len=opts["packet_len"],
                   mtudisc=bool(opts["mtudisc"]), setup=setup)
    except TracerouteError as e:
        libc.printf("\n%s\n", str(e))  # (error(): a newline first, then perror's line)
        return 1
    except OSError:
        libc.printf("%s: Name or service not known\nCannot handle \"host\" cmdline arg `%s' on position 1 "
                    "(argc %d)\n", opts["dest"], opts["dest"], opts["dest_argc"])
        return 2
    return 0
