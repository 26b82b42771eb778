"""``arping`` (iputils 20221126): ARP requests to a neighbour from a packet socket, and its replies.

::

    ARPING 10.0.0.2 from 10.0.0.1 eth0
    Unicast reply from 10.0.0.2 [02:00:00:00:00:02]  0.529ms
    Sent 1 probes (1 broadcast(s))
    Received 1 response(s)

It opens ``socket(AF_PACKET, SOCK_DGRAM, 0)``, bound to the device (``-I``, else the one the route
to the target leaves by) for ETH_P_ARP, and sends a request a second (``-i``) to the broadcast
address, then, once a reply names the target's address, to it alone (not with ``-b``).  The
source is the address a datagram to the target would come from (``-s`` to choose one).  It ends
after ``-c`` probes (a second after the last), at ``-w`` seconds, on the first reply with ``-f``,
or once as many replies as probes came back.  ``-D`` (duplicate address detection: from 0.0.0.0,
the first reply ends it, status 1 when one came), ``-U`` (unsolicited ARP: requests from the
target's own address, no replies awaited) and ``-A`` (the same as replies) are there, and ``-q``.
A time is printed as iputils' ``recv_pack`` computes it (below a millisecond, it shows the
microseconds plus 500).
"""

from __future__ import annotations

import struct
from dataclasses import dataclass

from tuxnet.kernel.minmax import INT_MAX
from tuxnet.kernel.sched import current
from tuxnet.kernel.signal import SIGINT, SIGTERM
from tuxnet.net.core.dev import IFF_LOOPBACK, IFF_NOARP, IFF_UP
from tuxnet.net.core.skbuff import PACKET_BROADCAST, PACKET_HOST, PACKET_MULTICAST
from tuxnet.net.core.sock import SO_BINDTODEVICE, SO_DONTROUTE, SOL_SOCKET
from tuxnet.net.core.utils import in_aton, in_ntoa
from tuxnet.net.ipv4.route import ip_route_output_key
from tuxnet.net.socket import AF_INET, AF_PACKET, POLLIN, SOCK_DGRAM
from tuxnet.user import libc
from tuxnet.user.programs.iputils_common import IputilsExit, iputils_version, strtol_or_err

ETH_P_ARP = 0x0806
ETH_P_IP = 0x0800
ARPOP_REQUEST, ARPOP_REPLY = 1, 2
FINAL_PACKS = 2
USAGE = ("\nUsage:\n  arping [options] <destination>\n\nOptions:\n  -f            quit on first reply\n"
         "  -q            be quiet\n  -b            keep on broadcasting, do not unicast\n"
         "  -D            duplicate address detection mode\n"
         "  -U            unsolicited ARP mode, update your neighbours\n"
         "  -A            ARP answer mode, update your neighbours\n  -V            print version and exit\n"
         "  -c <count>    how many packets to send\n  -w <timeout>  how long to wait for a reply\n"
         "  -i <interval> set interval between packets (default: 1 second)\n"
         "  -I <device>   which ethernet device to use\n  -s <source>   source IP address\n"
         "  <destination> DNS name or IP address\n\nFor more details see arping(8).\n")

_arphdr = struct.Struct("!HHBBH")


@dataclass
class Arping:
    """``struct run_state``: the options, the two addresses (ours, ``me``; where requests go,
    ``he``), and the counts."""

    target: str = ""
    device: str | None = None
    source: str | None = None
    count: int = -1
    timeout: int = 0
    interval: int = 1
    advert: bool = False
    broadcast_only: bool = False
    dad: bool = False
    quiet: bool = False
    quit_on_reply: bool = False
    unsolicited: bool = False
    fd: int = -1
    gsrc: int = 0
    gdst: int = 0
    me: bytes = b""
    he: bytes = b""
    unicasting: bool = False
    sent: int = 0
    brd_sent: int = 0
    received: int = 0
    brd_recv: int = 0
    req_recv: int = 0
    last: int = -1  # when the last probe went (ns)

    def send_pack(self) -> None:
        """``send_pack``: a request (a reply with ``-A``) from our hardware and IP addresses for
        the target's, to ``he``."""
        op = ARPOP_REPLY if self.advert else ARPOP_REQUEST
        packet = _arphdr.pack(1, ETH_P_IP, 6, 4, op) + self.me + self.gsrc.to_bytes(4, "big")
        packet += (self.me if self.advert else self.he) + self.gdst.to_bytes(4, "big")
        now = current().host.world.now
        if libc.sendto(self.fd, packet, 0, (self.device, ETH_P_ARP, 0, 0, self.he)) == len(packet):
            self.last = now
            self.sent += 1
            if not self.unicasting:
                self.brd_sent += 1

    def recv_pack(self, packet: bytes, pkttype: int) -> int:
        """``recv_pack``: an ARP packet for us about the target (or, in DAD mode, anyone using
        its address) is printed and counted; FINAL_PACKS when that ends the run."""
        now = current().host.world.now
        if pkttype not in (PACKET_HOST, PACKET_BROADCAST, PACKET_MULTICAST) or len(packet) < 8:
            return 0
        hrd, pro, hln, pln, op = _arphdr.unpack_from(packet)
        if op not in (ARPOP_REQUEST, ARPOP_REPLY) or hrd != 1 or pro != ETH_P_IP or pln != 4 or hln != 6:
            return 0
        if len(packet) < 8 + 2 * (4 + hln):
            return 0
        sha, tha = packet[8:14], packet[18:24]
        src_ip, dst_ip = int.from_bytes(packet[14:18], "big"), int.from_bytes(packet[24:28], "big")
        if not self.dad:
            if src_ip != self.gdst or self.gsrc != dst_ip or tha != self.me:
                return 0
        elif src_ip != self.gdst or sha == self.me or self.gsrc and self.gsrc != dst_ip:
            return 0
        if not self.quiet:
            line = (f"{'Unicast' if pkttype == PACKET_HOST else 'Broadcast'} "
                    f"{'reply' if op == ARPOP_REPLY else 'request'} from {in_ntoa(src_ip)} [{_hex(sha)}] ")
            printed_for = False
            if dst_ip != self.gsrc:
                line += f"for {in_ntoa(dst_ip)} "
                printed_for = True
            if tha != self.me:
                line += ("" if printed_for else "for ") + f"[{_hex(tha)}]"
            if self.last >= 0:
                usecs = (now - self.last + 500) // 1000
                msecs = (usecs + 500) // 1000
                usecs -= msecs * 1000 - 500
                line += f" {msecs}.{usecs:03d}ms"
            else:
                line += " UNSOLICITED?"
            libc.printf("%s\n", line)
        self.received += 1
        if self.timeout and self.received == self.count:
            return FINAL_PACKS
        if pkttype != PACKET_HOST:
            self.brd_recv += 1
        if op == ARPOP_REQUEST:
            self.req_recv += 1
        if self.quit_on_reply or (self.count == 0 and self.received == self.sent):
            return FINAL_PACKS
        if not self.broadcast_only:
            self.he = sha
            self.unicasting = True
        return 1

    def event_loop(self) -> int:
        """``event_loop``: the first probe now, one every interval, replies as they come, until
        the count, the timeout, or a reply that ends it."""
        world = current().host.world
        start = world.now
        step = self.interval * 1_000_000_000
        next_tick = start + step
        deadline = start + self.timeout * 1_000_000_000 if self.timeout else None
        expires = 1
        exiting: list[int] = []  # SIGINT and SIGTERM end the loop, then finish()
        for sig in (SIGINT, SIGTERM):
            libc.sigaction(sig, exiting.append)
        self.send_pack()
        while not exiting:
            if self.sent == self.count and self.unsolicited:
                break
            wake = next_tick if step else world.now
            if deadline is not None:
                wake = min(wake, deadline)
            try:
                ready = libc.poll([(self.fd, POLLIN)], max(0, -(-(wake - world.now) // 1_000_000)))
            except InterruptedError:
                continue
            if ready[0] & POLLIN:
                packet, addr = libc.recvfrom(self.fd, 4096, 0)
                if self.recv_pack(packet, addr[2]) == FINAL_PACKS:
                    break
                continue
            if deadline is not None and world.now >= deadline:
                break
            if world.now >= next_tick:
                expires += 1
                next_tick += step
                if 0 < self.count < expires:
                    break
                self.send_pack()
        return self.finish()

    def finish(self) -> int:
        """``finish``: the counts, and the exit status."""
        if not self.quiet:
            libc.printf("Sent %d probes (%d broadcast(s))\n", self.sent, self.brd_sent)
            line = f"Received {self.received} response(s)"
            if self.brd_recv or self.req_recv:
                parts = [f"{self.req_recv} request(s)"] if self.req_recv else []
                if self.brd_recv:
                    parts.append(f"{self.brd_recv} broadcast(s)")
                line += f" ({', '.join(parts)})"
            libc.printf("%s\n", line)
        if self.dad:
            return int(bool(self.received))
        if self.unsolicited:
            return 0
        if self.timeout and self.count > 0 and not self.quit_on_reply:
            return int(not self.count <= self.received)
        return int(not self.received)


def _hex(mac: bytes) -> str:
    return ":".join(f"{b:02X}" for b in mac)


def _number(text: str, low: int) -> int:
    """``strtol_or_err``: a number within [low, INT_MAX], or arping's complaint."""
    return strtol_or_err("arping", text, "invalid argument", low, INT_MAX)


def _parse(argv: list[str]) -> Arping:
    """The command line, as ``getopt("h?bfDUAqc:w:i:s:I:V")`` reads it."""
    a = Arping()
    args: list[str] = []
    try:
        for flag, value in libc.getopt("arping", argv, "h?bfDUAqc:w:i:s:I:V", args):
            if flag == "c":
                a.count = _number(value, 1)
            elif flag == "w":
                a.timeout = _number(value, 0)
            elif flag == "i":
                a.interval = _number(value, 0)
            elif flag == "s":
                a.source = value
            elif flag == "I":
                a.device = value or None
            elif flag == "b":
                a.broadcast_only = True
            elif flag == "D":
                a.dad = a.quit_on_reply = True
            elif flag == "U":
                a.unsolicited = True
            elif flag == "A":
                a.advert = a.unsolicited = True
            elif flag == "q":
                a.quiet = True
            elif flag == "f":
                a.quit_on_reply = True
            elif flag == "V":
                raise IputilsExit(0, iputils_version("arping"))
            else:
                raise IputilsExit(2, USAGE)
    except libc.GetoptError as error:
        raise IputilsExit(2, f"{error}\n{USAGE}") from None
    if len(args) != 1:
        raise IputilsExit(2, USAGE)
    a.target = args[0]
    return a


def arping(a: Arping) -> int:
    """``main`` after the options: the target, the device, the source, then the loop."""
    host = current().host
    a.fd = libc.socket(AF_PACKET, SOCK_DGRAM, 0)
    try:
        a.gdst = in_aton(libc.gethostbyname(a.target).h_addr_list[0])
    except (OSError, IndexError, ValueError):
        raise IputilsExit(2, f"arping: {a.target}: Name or service not known") from None
    if a.device is None:  # guess_device: the route's device (RTM_GETROUTE)
        rt = ip_route_output_key(host, a.gdst)
        if isinstance(rt, int):
            raise IputilsExit(1, "arping: NETLINK_ROUTE unexpected iov element")
        a.device = rt.dev.name
    dev = host.devices.get(a.device)
    if dev is None:
        raise IputilsExit(2, f"arping: Device {a.device} not available.")
    if not dev.flags & IFF_UP:
        raise IputilsExit(2, "" if a.quiet else f'Interface "{a.device}" is down')
    if dev.flags & (IFF_NOARP | IFF_LOOPBACK):
        raise IputilsExit(0 if a.dad else 2, "" if a.quiet else f'Interface "{a.device}" is not ARPable')
    if a.source is not None:
        try:
            a.gsrc = in_aton(a.source)
        except ValueError:
            raise IputilsExit(2, f"arping: invalid source {a.source}") from None
    if not a.dad and a.unsolicited and a.source is None:
        a.gsrc = a.gdst
    if not a.dad or a.source is not None:
        # the source a datagram to the target would have, on the device, without a gateway
        probe = libc.socket(AF_INET, SOCK_DGRAM, 0)
        libc.setsockopt(probe, SOL_SOCKET, SO_BINDTODEVICE, a.device.encode() + b"\0")
        try:
            if a.source is not None or a.gsrc:
                libc.bind(probe, (in_ntoa(a.gsrc), 0))
            elif not a.dad and not a.unsolicited:
                libc.setsockopt(probe, SOL_SOCKET, SO_DONTROUTE, 1)
                libc.connect(probe, (in_ntoa(a.gdst), 1025))
                a.gsrc = in_aton(libc.getsockname(probe)[0])
        except OSError as e:
            call = "bind" if a.source is not None or a.gsrc else "connect"
            raise IputilsExit(2, f"arping: {call}: {e.strerror}") from None
        finally:
            libc.close(probe)
    libc.bind(a.fd, (a.device, ETH_P_ARP))
    a.me = libc.getsockname(a.fd)[4]
    a.he = bytes(dev.broadcast)
    if not a.quiet:
        libc.printf("ARPING %s from %s %s\n", in_ntoa(a.gdst), in_ntoa(a.gsrc), a.device)
    if not a.source and not a.gsrc and not a.dad:
        raise IputilsExit(2, "arping: no source address in not-DAD mode")
    try:
        return a.event_loop()
    finally:
        libc.close(a.fd)


def arping_main(argv: list[str]) -> int:
    """``arping`` as a program."""
    try:
        return arping(_parse(argv))
    except IputilsExit as e:
        if str(e):
            libc.printf("%s\n" if not str(e).endswith("\n") else "%s", str(e))
        return e.status
