"""``tracepath`` (iputils): the path to a host and its MTU, as iputils' tracepath finds them.

It sends UDP probes to ports 44444 and up with IP_PMTUDISC_DO, the first as large as the MTU it
assumes (65,535 octets), each hop's with one more TTL, and reads what comes back from the
socket's error queue (IP_RECVERR): a local EMSGSIZE says the route's MTU, ICMP time exceeded a
hop, fragmentation needed a smaller MTU further on, port unreachable the destination.  The TTL of
each answer (IP_RECVTTL) tells how many hops it came back by::

     1?: [LOCALHOST]                      pmtu 1500
     1:  10.0.1.254                                            0.412ms
     1:  10.0.1.254                                            0.391ms
     2:  10.0.1.254                                            0.120ms pmtu 1000
     2:  10.0.3.2                                              1.204ms reached
         Resume: pmtu 1000 hops 2 back 2

A probe carries its TTL and send time (``struct probehdr``), which the ICMP error quotes back.
Options: ``-n``, ``-b`` (name and address), ``-l LENGTH`` (the first probe's size),
``-m MAX_HOPS``, ``-p PORT``, ``-4``, ``-V``; ``DEST/PORT`` as older tracepaths took it.
"""

from __future__ import annotations

import os
import struct

from tuxnet.kernel.errno import (
    EACCES,
    ECONNREFUSED,
    EHOSTUNREACH,
    EMSGSIZE,
    ENETUNREACH,
    EPROTO,
    ETIMEDOUT,
)
from tuxnet.kernel.minmax import INT_MAX
from tuxnet.net.core.skbuff import SO_EE_ORIGIN_ICMP, SO_EE_ORIGIN_LOCAL, SockExtendedErr
from tuxnet.net.ipv4.af_inet import IP_MTU_DISCOVER, IP_PMTUDISC_DO, IP_RECVERR, IP_TTL, IPPROTO_IP
from tuxnet.net.ipv4.icmp import ICMP_EXC_TTL, ICMP_TIME_EXCEEDED
from tuxnet.net.ipv4.ip_sockglue import IP_RECVTTL, SOL_IP
from tuxnet.net.socket import AF_INET, MSG_DONTWAIT, MSG_ERRQUEUE, POLLIN, SOCK_DGRAM, Msghdr
from tuxnet.user import libc
from tuxnet.user.programs.iputils_common import IputilsExit, iputils_version, strtol_or_err
from tuxnet.user.resolv import gai_error, getnameinfo

MAX_PROBES = 10
MAX_HOPS_DEFAULT = 30
MAX_HOPS_LIMIT = 255
HOST_COLUMN_SIZE = 52
HIS_ARRAY_SIZE = 64
OVERHEAD = 28  # the IPv4 and UDP headers
DEFAULT_MTU = 65535
DEFAULT_BASEPORT = 44444
USAGE = ("\nUsage\n  tracepath [options] <destination>\n\nOptions:\n  -4             use IPv4\n"
         "  -6             use IPv6\n  -b             print both name and ip\n"
         "  -l <length>    use packet <length>\n  -m <hops>      use maximum <hops>\n"
         "  -n             no dns name resolution\n  -p <port>      use destination <port>\n"
         "  -V             print version and exit\n  <destination>  dns name or ip address\n"
         "\nFor more details see tracepath(8).\n")

# struct probehdr: the probe's TTL and its send time, a struct timeval after 4 octets of padding
_probehdr = struct.Struct("=I4xqq")


class Tracepath:
    """``struct run_state``: the probes in flight (``his``: each one's TTL and send time, by its
    port), the MTU assumed so far, and how many hops there and back were seen."""

    def __init__(self, addr: str, base_port: int, mtu: int, max_hops: int, no_resolve: bool,
                 show_both: bool) -> None:
        self.addr = addr
        self.base_port = base_port
        self.mtu = mtu
        self.max_hops = max_hops
        self.no_resolve = no_resolve
        self.show_both = show_both
        self.his: list[list[object]] = [[0, (0, 0)] for _ in range(HIS_ARRAY_SIZE)]
        self.hisptr = 0
        self.ttl = 0
        self.hops_to = -1
        self.hops_from = -1
        self.fd = libc.socket(AF_INET, SOCK_DGRAM, 0)
        libc.setsockopt(self.fd, IPPROTO_IP, IP_MTU_DISCOVER, IP_PMTUDISC_DO)
        libc.setsockopt(self.fd, IPPROTO_IP, IP_RECVERR, 1)
        libc.setsockopt(self.fd, IPPROTO_IP, IP_RECVTTL, 1)

    def print_host(self, a: str, b: str) -> None:
        """``print_host``: the hop, padded to the column of the times."""
        text = f"{a} ({b})" if self.show_both else a
        libc.printf("%s%*s", text, HOST_COLUMN_SIZE - min(len(text), HOST_COLUMN_SIZE - 1), "")

    def recverr(self) -> int:
        """``recverr``: print what the error queue holds.  0 when the trace is over (reached, or
        an error that ends it), the MTU when something came, -1 when nothing did."""
        progress = -1
        while True:
            msg = Msghdr(msg_control=[])
            now = libc.gettimeofday()
            try:
                data = libc.recvmsg(self.fd, msg, _probehdr.size, MSG_ERRQUEUE)
            except BlockingIOError:
                return progress
            progress = self.mtu
            sndhops = rethops = -1
            rettv = None
            broken_router = False
            slot = msg.msg_name[1] - self.base_port if msg.msg_name else -self.base_port
            if 0 <= slot < HIS_ARRAY_SIZE - 1 and self.his[slot][0]:
                sndhops, rettv = self.his[slot]
                self.his[slot][0] = 0
            if len(data) == _probehdr.size:
                ttl, sec, usec = _probehdr.unpack(data)
                if ttl == 0 or sec == 0:
                    broken_router = True
                else:
                    sndhops, rettv = ttl, (sec, usec)
            e = None
            offender = ""
            for level, kind, cdata in msg.msg_control:
                if level != SOL_IP:
                    continue
                if kind == IP_RECVERR:
                    e = SockExtendedErr.unpack(cdata)
                    offender = ".".join(str(b) for b in cdata[20:24])
                elif kind == IP_TTL:
                    rethops = cdata & 0xFF if isinstance(cdata, int) else cdata[0]
                else:
                    libc.printf("cmsg4:%d\n ", kind)
            if e is None:
                libc.printf("no info\n")
                return 0
            if e.ee_origin == SO_EE_ORIGIN_LOCAL:
                libc.printf("%2d?: %-32s ", self.ttl, "[LOCALHOST]")
            elif e.ee_origin == SO_EE_ORIGIN_ICMP:
                libc.printf("%2d:  " if sndhops > 0 else "%2d?: ", sndhops if sndhops > 0 else self.ttl)
                numeric = offender if self.no_resolve or self.show_both else ""
                name = self.name_of(offender) if not self.no_resolve or self.show_both else ""
                if self.no_resolve:
                    self.print_host(numeric, name)
                else:
                    self.print_host(name, numeric)
            if rettv is not None:
                diff_us = (now[0] - rettv[0]) * 1_000_000 + now[1] - rettv[1]
                libc.printf("%3d.%03dms ", diff_us // 1000, diff_us % 1000)
                if broken_router:
                    libc.printf("(This broken router returned corrupted payload) ")
            # the hops an answer came back by, from the TTL it started with (64, 128 or 255)
            rethops = 65 - rethops if rethops <= 64 else 129 - rethops if rethops <= 128 else 256 - rethops
            err = e.ee_errno
            if err == ETIMEDOUT:
                libc.printf("\n")
            elif err == EMSGSIZE:
                libc.printf("pmtu %d\n", e.ee_info)
                self.mtu = progress = e.ee_info
            elif err == ECONNREFUSED:
                libc.printf("reached\n")
                self.hops_to = self.ttl if sndhops < 0 else sndhops
                self.hops_from = rethops
                return 0
            elif err == EPROTO:
                libc.printf("!P\n")
                return 0
            elif err == EHOSTUNREACH:
                if e.ee_origin == SO_EE_ORIGIN_ICMP and e.ee_type == ICMP_TIME_EXCEEDED and e.ee_code == ICMP_EXC_TTL:
                    if rethops >= 0 and rethops != (sndhops if sndhops >= 0 else self.ttl):
                        libc.printf("asymm %2d ", rethops)
                    libc.printf("\n")
                    continue
                libc.printf("!H\n")
                return 0
            elif err == ENETUNREACH:
                libc.printf("!N\n")
                return 0
            elif err == EACCES:
                libc.printf("!A\n")
                return 0
            else:
                libc.printf("\ntracepath: NET ERROR: %s\n", os.strerror(err))
                return 0

    @staticmethod
    def name_of(addr: str) -> str:
        """``getnameinfo``'s name for a hop (its address when it has none); "???" when the
        lookup fails."""
        try:
            return getnameinfo((addr, 0), 0)[0]
        except (gai_error, OSError):
            return "???"

    def probe_ttl(self) -> int:
        """``probe_ttl``: send one probe (up to ten tries, what each failed send left in the error
        queue read; a smaller MTU learnt so starts the tries again), wait a second for its
        answer, and read it: ``recverr``'s result."""
        tries = 0
        while tries < MAX_PROBES:
            tv = libc.gettimeofday()
            self.his[self.hisptr] = [self.ttl, tv]
            size = self.mtu - OVERHEAD
            probe = _probehdr.pack(self.ttl, *tv).ljust(size, b"\0")[:size]
            try:
                if libc.sendto(self.fd, probe, 0, (self.addr, self.base_port + self.hisptr)) > 0:
                    break
            except OSError:
                pass
            res = self.recverr()
            self.his[self.hisptr][0] = 0
            if res == 0:
                return 0
            tries = 0 if res > 0 else tries + 1
        else:
            libc.printf("%2d:  send failed\n", self.ttl)
            return 0
        self.hisptr = (self.hisptr + 1) & (HIS_ARRAY_SIZE - 1)
        libc.poll([(self.fd, POLLIN)], 1000)  # data_wait: a second, or until something comes
        try:
            if libc.recv(self.fd, self.mtu, MSG_DONTWAIT):
                libc.printf("%2d?: reply received 8)\n", self.ttl)
                return 0
        except OSError:
            pass
        return self.recverr()

    def run(self) -> None:
        """The trace, one TTL after another, then the resume."""
        self.ttl = 1
        while self.ttl <= self.max_hops:
            libc.setsockopt(self.fd, IPPROTO_IP, IP_TTL, self.ttl)
            res = -1
            tries = 0
            while tries < 3:
                old_mtu = self.mtu
                res = self.probe_ttl()
                if self.mtu != old_mtu:
                    tries = 0  # the MTU changed: this hop again, with probes that fit
                    continue
                if res == 0:
                    break
                if res > 0:
                    break
                tries += 1
            if res == 0:
                break
            if res < 0:
                libc.printf("%2d:  no reply\n", self.ttl)
            self.ttl += 1
        else:
            libc.printf("     Too many hops: pmtu %d\n", self.mtu)
        line = f"     Resume: pmtu {self.mtu} "
        if self.hops_to >= 0:
            line += f"hops {self.hops_to} "
        if self.hops_from >= 0:
            line += f"back {self.hops_from} "
        libc.printf("%s\n", line)
        libc.close(self.fd)


def _number(text: str, low: int, high: int) -> int:
    """``strtol_or_err``: a decimal number within [low, high], or tracepath's complaint."""
    return strtol_or_err("tracepath", text, "invalid argument", low, high)


def _parse(argv: list[str]) -> dict[str, object]:
    """The command line, as ``getopt("46nbh?l:m:p:V")`` reads it."""
    opts: dict[str, object] = {"no_resolve": False, "show_both": False, "mtu": 0, "max_hops": MAX_HOPS_DEFAULT,
                               "port": 0, "version": False}
    args: list[str] = []
    try:
        for flag, value in libc.getopt("tracepath", argv, "46nbh?l:m:p:V", args):
            if flag == "l":
                opts["mtu"] = _number(value, 0, INT_MAX)
            elif flag == "m":
                opts["max_hops"] = _number(value, 0, MAX_HOPS_LIMIT)
            elif flag == "p":
                opts["port"] = _number(value, 0, 0xFFFF)
            elif flag == "n":
                opts["no_resolve"] = True
            elif flag == "b":
                opts["show_both"] = True
            elif flag == "V":
                opts["version"] = True
            elif flag == "6":
                raise IputilsExit(1, "tracepath: IPv6: tuxnet has no IPv6")
            elif flag in "h?":
                raise IputilsExit(255, USAGE)
    except libc.GetoptError as error:
        raise IputilsExit(255, f"{error}\n{USAGE}") from None
    if opts["version"]:
        return opts
    if len(args) != 1:
        raise IputilsExit(255, USAGE)
    dest = args[0]
    if not opts["port"]:
        dest, slash, port = dest.partition("/")
        opts["port"] = _number(port, 0, 0xFFFF) if slash else DEFAULT_BASEPORT
    opts["dest"] = dest
    mtu = int(opts["mtu"]) or DEFAULT_MTU
    if mtu <= OVERHEAD:
        raise IputilsExit(1, f"tracepath: pktlen must be within: {OVERHEAD} < value <= {INT_MAX}")
    opts["mtu"] = mtu
    return opts


def tracepath_main(argv: list[str]) -> int:
    """``tracepath`` as a program: 0 when it ran (reached or not), 1 or 255 for what it refused."""
    try:
        opts = _parse(argv)
    except IputilsExit as e:
        libc.printf("%s\n" if not str(e).endswith("\n") else "%s", str(e))
        return e.status
    if opts["version"]:
        libc.printf("%s", iputils_version("tracepath"))
        return 0
    dest = str(opts["dest"])
    try:
        addr = libc.gethostbyname(dest).h_addr_list[0]
    except (OSError, IndexError):
        libc.printf("tracepath: %s: Name or service not known\n", dest)
        return 1
    Tracepath(addr, int(opts["port"]), int(opts["mtu"]), int(opts["max_hops"]), bool(opts["no_resolve"]),
              bool(opts["show_both"])).run()
    return 0
