"""``traceroute`` (the classic UDP method): probes with increasing TTL, answers read from a raw
ICMP socket, printed as Linux's traceroute prints them.

::

    traceroute to 10.0.3.2 (10.0.3.2), 30 hops max, 60 byte packets
     1  10.0.1.254 (10.0.1.254)  0.412 ms  0.391 ms  0.383 ms
     2  10.0.2.2 (10.0.2.2)  0.802 ms  0.790 ms  0.781 ms
     3  10.0.3.2 (10.0.3.2)  1.204 ms  1.195 ms  1.187 ms

Each probe is a UDP datagram to port 33434 + its sequence number with 32 octets of data (60 in
all).  A router where the TTL runs out answers ICMP time exceeded; the destination answers ICMP
port unreachable, which ends the trace; other unreachables are shown as ``!H``, ``!N``, ``!P``,
``!F-mtu``, ``!X``.  A probe without an answer within ``-w`` seconds (5) is a ``*``.  Probes go
one at a time (traceroute's ``-N 1``).  Options: ``-n``, ``-m MAX_TTL``, ``-f FIRST_TTL``,
``-q NQUERIES``, ``-w WAIT``, ``-p PORT``.
"""

from __future__ import annotations

import struct

from tuxnet.kernel.sched import current
from tuxnet.net.core.sock import SO_RCVTIMEO, SOL_SOCKET
from tuxnet.net.ipv4.af_inet import IP_TTL, IPPROTO_ICMP, IPPROTO_IP, IPPROTO_UDP
from tuxnet.net.ipv4.icmp import ICMP_DEST_UNREACH, ICMP_PORT_UNREACH, ICMP_TIME_EXCEEDED
from tuxnet.net.socket import AF_INET, SOCK_DGRAM, SOCK_RAW
from tuxnet.user import libc

DEF_START_PORT = 33434
DATA_LEN = 32  # 60-byte packets: 20 (IP) + 8 (UDP) + 32

_UNREACH_MARKS = {0: "!N", 1: "!H", 2: "!P", 5: "!S", 9: "!X", 10: "!X", 13: "!X", 14: "!V", 15: "!C"}


def _parse(argv: list[str]) -> dict[str, object]:
    opts: dict[str, object] = {"numeric": False, "max_ttl": 30, "first_ttl": 1, "nqueries": 3, "wait": 5.0,
                               "port": DEF_START_PORT, "dest": None}
    keys = {"-m": "max_ttl", "-f": "first_ttl", "-q": "nqueries", "-w": "wait", "-p": "port"}
    it = iter(argv)
    for arg in it:
        if arg in keys:
            value = next(it, "")
            try:
                opts[keys[arg]] = float(value) if arg == "-w" else int(value)
            except ValueError:
                raise ValueError(f"Cannot handle `{arg}' option with arg `{value}' (argc 1)") from None
        elif arg == "-n":
            opts["numeric"] = True
        elif arg.startswith("-"):
            raise ValueError(f"Bad option `{arg}' (argc 1)")
        else:
            opts["dest"] = arg
    if opts["dest"] is None:
        raise ValueError("Specify \"host\" missing argument.")
    return opts


def traceroute(dest: str, numeric: bool = False, max_ttl: int = 30, first_ttl: int = 1, nqueries: int = 3,
               wait: float = 5.0, port: int = DEF_START_PORT) -> list[list[tuple[str, float] | None]]:
    """Trace the route to ``dest``; prints as traceroute does and returns, per hop, each probe's
    (address, round trip time in ms) or None for no answer."""
    addr = libc.gethostbyname(dest).h_addr_list[0]
    world = current().host.world
    icmp = libc.socket(AF_INET, SOCK_RAW, IPPROTO_ICMP)
    libc.printf("traceroute to %s (%s), %d hops max, %d byte packets\n", dest, addr, max_ttl, 28 + DATA_LEN)
    data = bytes(0x40 + (i & 0x3F) for i in range(DATA_LEN))
    hops: list[list[tuple[str, float] | None]] = []
    seq = 0
    done = False
    for ttl in range(first_ttl, max_ttl + 1):
        line = f"{ttl:2d} "
        results: list[tuple[str, float] | None] = []
        last_addr = None
        for _ in range(nqueries):
            dport = port + seq
            seq += 1
            udp = libc.socket(AF_INET, SOCK_DGRAM, IPPROTO_UDP)
            libc.setsockopt(udp, IPPROTO_IP, IP_TTL, ttl)
            libc.connect(udp, (addr, dport))
            sport = libc.getsockname(udp)[1]
            sent = world.now
            libc.send(udp, data, 0)
            answer = _wait_answer(icmp, sport, dport, sent + int(wait * 1e9))
            libc.close(udp)
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
            if type == ICMP_DEST_UNREACH:
                if code == ICMP_PORT_UNREACH:
                    done = done or src == addr
                else:
                    line += " " + (f"!F-{info & 0xFFFF}" if code == 4 else _UNREACH_MARKS.get(code, f"!<{code}>"))
                    done = True
        libc.printf("%s\n", line)
        hops.append(results)
        if done:
            break
    libc.close(icmp)
    return hops


def _wait_answer(icmp: int, sport: int, dport: int, deadline: int) -> tuple[str, int, int, int, int] | None:
    """The ICMP error about our probe (matched by its UDP ports), or None by ``deadline``."""
    world = current().host.world
    while world.now < deadline:
        wait_us = max(1, -(-(deadline - world.now) // 1000))
        libc.setsockopt(icmp, SOL_SOCKET, SO_RCVTIMEO, divmod(wait_us, 1_000_000))
        try:
            packet, (src, _) = libc.recvfrom(icmp, 65536, 0)
        except BlockingIOError:
            continue
        ihl = (packet[0] & 0x0F) * 4
        msg = packet[ihl:]
        if len(msg) < 8 + 28 or msg[0] not in (ICMP_TIME_EXCEEDED, ICMP_DEST_UNREACH):
            continue
        inner = msg[8:]
        iihl = (inner[0] & 0x0F) * 4
        if inner[9] != IPPROTO_UDP or len(inner) < iihl + 4:
            continue
        isport, idport = struct.unpack_from("!HH", inner, iihl)
        if (isport, idport) != (sport, dport):
            continue
        return src, msg[0], msg[1], struct.unpack_from("!I", msg, 4)[0], world.now
    return None


def traceroute_main(argv: list[str]) -> int:
    """``traceroute`` as a program."""
    try:
        opts = _parse(argv)
    except ValueError as e:
        libc.printf("%s\n", str(e))
        return 2
    try:
        traceroute(str(opts["dest"]), numeric=bool(opts["numeric"]), max_ttl=int(opts["max_ttl"]),
                   first_ttl=int(opts["first_ttl"]), nqueries=int(opts["nqueries"]), wait=float(opts["wait"]),
                   port=int(opts["port"]))
    except OSError:
        libc.printf("%s: Name or service not known\nCannot handle \"host\" cmdline arg `%s' on position 1 "
                    "(argc 1)\n", opts["dest"], opts["dest"])
        return 2
    return 0
