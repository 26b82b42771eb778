"""net-tools 2.10: ``ifconfig``, ``route``, ``arp -n`` and ``netstat``.
They read the host's kernel state the way the real tools read it, through the ioctls
(``SIOCGIFCONF``, ``SIOCGIFFLAGS``, ``SIOCGIFADDR``, ...), ``/proc/net/dev``, ``/proc/net/route``,
``/proc/net/arp``, ``/proc/net/tcp``, ``/proc/net/udp`` and ``/proc/net/raw``, and print it in
their formats; ``ifconfig`` changes an interface too, by the kernel's device requests
(``SIOCSIFADDR``, ``SIOCSIFNETMASK``, ``SIOCSIFFLAGS``, ``SIOCSIFMTU``, ...)."""

from __future__ import annotations

import struct
from dataclasses import dataclass
from socket import herror
from typing import Any, NamedTuple

from tuxnet.kernel.fs import proc_socket_fds
from tuxnet.kernel.sched import current
from tuxnet.net.core.dev import (
    ARPHRD_ETHER,
    ARPHRD_LOOPBACK,
    IFF_ALLMULTI,
    IFF_BROADCAST,
    IFF_DEBUG,
    IFF_LOOPBACK,
    IFF_MULTICAST,
    IFF_NOARP,
    IFF_POINTOPOINT,
    IFF_PROMISC,
    IFF_RUNNING,
    IFF_UP,
    dev_get_flags,
)
from tuxnet.net.core.dev_ioctl import (
    SIOCGIFFLAGS,
    SIOCSIFADDR,
    SIOCSIFBRDADDR,
    SIOCSIFFLAGS,
    SIOCSIFHWADDR,
    SIOCSIFMTU,
    SIOCSIFNETMASK,
    ifreq,
    ifreq_flags,
    sockaddr_in,
)
from tuxnet.net.core.neighbour import NUD_INCOMPLETE, NUD_NOARP, NUD_PERMANENT, NUD_VALID
from tuxnet.net.core.utils import in_aton, in_ntoa, inet_make_mask
from tuxnet.net.ipv4.proc import RTF_GATEWAY, RTF_HOST, RTF_REJECT, RTF_UP
from tuxnet.net.ipv4.tcp_sock import TCP_CLOSE, TCP_ESTABLISHED, TCP_LISTEN, TCP_STATE_NAMES
from tuxnet.net.socket import AF_INET, SOCK_DGRAM
from tuxnet.user import libc
from tuxnet.user.programs.statistics import netstat_statistics
from tuxnet.user.resolv import getnetbyaddr, getservbyport, inet_aton_exact


def mac_text(addr: bytes) -> str:
    return ":".join(f"{b:02x}" for b in addr)


def _shows_only(tool: str, argv: list[str] | None, options: str, change: str) -> bool:
    """Whether ``argv`` holds only the display options these tools take here; if not, say so (they
    show the kernel's state; ``ip`` changes it)."""
    extra = [a for a in argv or [] if not (a.startswith("-") and set(a[1:]) <= set(options))]
    if extra:
        libc.printf("%s: %s: this %s only shows; change it with `%s`\n", tool, " ".join(extra), tool, change)
        return False
    return True


def route(argv: list[str] | None = None) -> int:
    """``route [-n] [-e[e]]`` (net-tools 2.10): the main routing table (``/proc/net/route``), in
    the layout each ``-e`` more asks for; names for addresses unless ``-n``."""
    if not _shows_only("route", argv, "nveF", "ip route"):
        return 1
    options = "".join(a[1:] for a in argv or [])
    return rprint_fib(min(1 + options.count("e"), 3), "n" in options)


# rprint_fib: each layout's heading after the addresses' columns
_FIB_HEADINGS = {1: "Flags Metric Ref    Use Iface", 2: "Flags   MSS Window  irtt Iface",
                 3: "Flags Metric Ref    Use Iface    MSS   Window irtt"}


def inet_rresolve(addr: int, numeric: bool, netmask: int, cache: dict[tuple[int, bool], str], *,
                  host: bool = False) -> str:
    """net-tools' ``INET_rresolve``: an address as a dotted quad when ``numeric``; 0.0.0.0/0 as
    ``default``, 0.0.0.0 under any other mask as itself (a gateway's mask is 255.255.255.0,
    ``INET_sprint``'s); else the host's name
    (``gethostbyaddr``) when ``host`` says so or host bits are set, the network's
    (``getnetbyaddr``) when not; the dotted quad when there is none.  ``cache`` keeps the names
    found (``INET_nn``)."""
    text = in_ntoa(addr)
    if numeric:
        return text
    if addr == 0:
        return "default" if netmask == 0 else "0.0.0.0"
    host = host or bool(addr & ~netmask & 0xFFFFFFFF)
    if (addr, host) not in cache:
        name = None
        if host:
            try:
                name = libc.gethostbyaddr(text).h_name
            except OSError:
                pass
        else:
            name = getnetbyaddr(addr)
        cache[(addr, host)] = name or text
    return cache[(addr, host)]


def rprint_fib(ext: int, numeric: bool) -> int:
    """net-tools' ``rprint_fib``: the routes /proc/net/route lists that are up, in layout ``ext``
    (1: metric, references and use; 2: MSS, window and initial RTT; 3: both), each address cut
    to 15 characters; the destination named as a network (a host for a host route), the gateway
    as a host."""
    text = libc.read_file("/proc/net/route")
    assert isinstance(text, str)
    libc.printf("Kernel IP routing table\n")
    libc.printf("Destination     Gateway         Genmask         %s\n", _FIB_HEADINGS[ext])
    cache: dict[tuple[int, bool], str] = {}
    for line in text.splitlines()[1:]:
        iface, dest, gate, flag_text, refcnt, use, metric, mask_text, mss, window, irtt = line.split()
        iflags, mask = int(flag_text, 16), _proc_addr(mask_text)
        if not iflags & RTF_UP:
            continue
        net_addr = inet_rresolve(_proc_addr(dest), numeric, mask, cache,
                                 host=bool(iflags & RTF_HOST))[:15]
        gate_addr = inet_rresolve(_proc_addr(gate), numeric, 0xFFFFFF00, cache, host=True)[:15]
        mask_addr = in_ntoa(mask)
        flags = "U"
        if iflags & RTF_GATEWAY:
            flags += "G"
        if iflags & RTF_REJECT:
            flags = "!"
        if iflags & RTF_HOST:
            flags += "H"
        reject = bool(iflags & RTF_REJECT)
        if ext == 1 and reject:
            libc.printf("%-15s -               %-15s %-5s %-6d -  %7d -\n", net_addr, mask_addr, flags, int(metric),
                        int(use))
        elif ext == 1:
            libc.printf("%-15s %-15s %-15s %-5s %-6d %-2d %7d %s\n", net_addr, gate_addr, mask_addr, flags,
                        int(metric), int(refcnt), int(use), iface)
        elif ext == 2 and reject:
            libc.printf("%-15s -               %-15s %-5s     - -          - -\n", net_addr, mask_addr, flags)
        elif ext == 2:
            libc.printf("%-15s %-15s %-15s %-5s %5d %-5d %6d %s\n", net_addr, gate_addr, mask_addr, flags, int(mss),
                        int(window), int(irtt), iface)
        elif reject:
            libc.printf("%-15s -               %-15s %-5s %-6d -  %7d -        -     -      -\n", net_addr, mask_addr,
                        flags, int(metric), int(use))
        else:
            libc.printf("%-15s %-15s %-15s %-5s %-6d %-3d %6d %-6.6s   %-5d %-6d %d\n", net_addr, gate_addr, mask_addr,
                        flags, int(metric), int(refcnt), int(use), iface, int(mss), int(window), int(irtt))
    return 0


def arp(argv: list[str] | None = None) -> int:
    """``arp -n``: the IPv4 neighbour cache (``/proc/net/arp``), without NOARP entries; ``-a`` in
    the BSD style (``? (10.0.2.2) at 02:00:00:00:00:03 [ether] on eth0``), no names looked up."""
    if not _shows_only("arp", argv, "nav", "ip neigh"):
        return 1
    host = current().host
    bsd = any("a" in a for a in argv or [])
    rows = []
    for n in sorted(host.arp_tbl.entries.values(), key=lambda n: (n.dev.name, n.primary_key)):
        if n.nud_state & NUD_NOARP or not n.nud_state & (NUD_VALID | NUD_INCOMPLETE):
            continue
        addr = in_ntoa(n.primary_key)
        if bsd:
            at = (f"{mac_text(n.ha)} [ether]{' PERM' if n.nud_state & NUD_PERMANENT else ''}"
                  if n.nud_state & NUD_VALID else "<incomplete>")
            rows.append(f"? ({addr}) at {at} on {n.dev.name}")
            continue
        if n.nud_state & NUD_VALID:
            hwtype, hwaddr = "ether", mac_text(n.ha)
            flags = "CM" if n.nud_state & NUD_PERMANENT else "C"
        else:
            hwtype, hwaddr, flags = "", "(incomplete)", ""
        rows.append(f"{addr:<24} {hwtype:<7} {hwaddr:<19} {flags:<5} {'':<15} {n.dev.name}")
    if not bsd:
        libc.printf("%-24s %-7s %-19s %-5s %-15s %s\n", "Address", "HWtype", "HWaddress", "Flags", "Mask", "Iface")
    for row in rows:
        libc.printf("%s\n", row.rstrip())
    return 0


NETSTAT_USAGE = (
    "usage: netstat [-vWeenNcCF] [<Af>] -r         netstat {-V|--version|-h|--help}\n"
    "       netstat [-vWnNcaeol] [<Socket> ...]\n"
    "       netstat { [-vWeenNac] -i | [-cnNe] -M | -s [-6tuw] }\n")
# the options tuxnet's netstat takes, and those of net-tools' it does not
_NETSTAT_OPTIONS = set("atulnrigxwspoe")
_NETSTAT_ELSEWHERE = {"c": "watch netstat",
                      "M": "iptables -t nat -L", "N": "", "v": "", "W": "", "C": "", "F": "", "Z": "", "6": ""}


def netstat(argv: list[str] | None = None) -> int:
    """``netstat`` (net-tools): the sockets of the protocols asked for (``-t`` TCP, ``-u`` UDP,
    ``-w`` raw, ``-x`` UNIX; all of them by default), connected ones only unless ``-l`` (servers
    only) or ``-a`` (both), names unless ``-n``; ``-r`` the routing table, ``-i`` the devices'
    counters (``-a``: the ones down too), ``-g`` the multicast groups, ``-s`` the SNMP counters
    (``tuxnet.user.programs.statistics``); ``-p`` adds each socket's process, ``PID/name``.  The sockets come from
    ``/proc/net/tcp``, ``/proc/net/udp`` and ``/proc/net/raw`` as the kernel lists them."""
    host = current().host
    flags: set[str] = set()
    for arg in argv or []:
        if not arg.startswith("-") or arg in ("-", "--"):
            libc.printf("netstat: %s: only options are taken here\n%s", arg, NETSTAT_USAGE)
            return 1
        for flag in arg.lstrip("-") if not arg.startswith("--") else "?":
            if flag in _NETSTAT_ELSEWHERE:
                other = _NETSTAT_ELSEWHERE[flag]
                libc.printf("netstat: -%s is not implemented here%s\n", flag, f"; try `{other}`" if other else "")
                return 1
            if flag not in _NETSTAT_OPTIONS:
                libc.printf("netstat: invalid option -- '%s'\n%s", flag, NETSTAT_USAGE)
                return 3
            flags.add(flag)
    numeric = "n" in flags
    if "s" in flags:
        return netstat_statistics(flags & set("tuw"))
    if "g" in flags:
        return netstat_groups(host)
    # netstat's flag_exp counts from 1, each -e one more
    flag_exp = 1 + sum(arg.count("e") for arg in argv or [] if not arg.startswith("--"))
    if "r" in flags:
        # its routing table swaps 1 and 2 (the MSS layout by default, -e the metric one)
        return rprint_fib(min({1: 2, 2: 1}.get(flag_exp, flag_exp), 3), numeric)
    if "i" in flags:
        return netstat_interfaces(host, "a" in flags, flag_exp)
    protos = flags & set("tuwx") or set("tuwx")
    if "a" in flags:
        title, servers, others = "servers and established", True, True
    elif "l" in flags:
        title, servers, others = "only servers", True, False
    else:
        title, servers, others = "w/o servers", False, True
    programs = _prg_cache(host) if "p" in flags else None
    if protos & set("tuw"):
        libc.printf("Active Internet connections (%s)\n", title)
        libc.printf("Proto Recv-Q Send-Q Local Address           Foreign Address         State      %s%s%s\n",
                    " User       Inode     " if "e" in flags else "",
                    " PID/Program name    " if programs is not None else "", " Timer" if "o" in flags else "")
        for proto in ("tcp", "udp", "raw"):
            if {"tcp": "t", "udp": "u", "raw": "w"}[proto] not in protos:
                continue
            for row in _proc_net_sockets(proto):
                if proto == "tcp":  # tcp_do_one: a server is a socket with no remote port
                    server = row.rem_port == 0
                else:  # udp_do_one, raw_do_one: one with no remote address
                    server = row.rem_addr == "0.0.0.0"
                if not (server and servers or not server and others):
                    continue
                if proto == "tcp":
                    state = TCP_STATE_NAMES.get(row.state, "UNKNOWN")
                    if row.state == TCP_LISTEN:
                        row.rxq = row.txq = row.time_len = row.retr = 0
                elif proto == "udp":
                    state = {TCP_ESTABLISHED: "ESTABLISHED", TCP_CLOSE: ""}.get(row.state, "UNKNOWN")
                else:
                    state = str(row.state)
                libc.printf("%-4s  %6d %6d %-23s %-23s %-11s%s\n", proto, row.rxq, row.txq,
                            _netstat_addr((row.local_addr, row.local_port), proto, numeric),
                            _netstat_addr((row.rem_addr, row.rem_port), proto, numeric), state,
                            _finish_this_one(row, flags, programs))
    if "x" in protos:
        # tuxnet has no AF_UNIX sockets: the table is empty
        libc.printf("Active UNIX domain sockets (%s)\n", title)
        libc.printf("Proto RefCnt Flags       Type       State         I-Node   %sPath\n",
                    "PID/Program name     " if programs is not None else "")
    return 0


def _netstat_addr(addr: tuple[str, int], proto: str, numeric: bool) -> str:
    """``address:port`` as netstat shows it: port 0 is ``*``; without ``-n`` the host's name and
    the service's, where they are known; cut to the column's 23 characters."""
    host, port = addr
    if not numeric and host != "0.0.0.0":
        try:
            host = libc.gethostbyaddr(host).h_name
        except OSError:
            pass
    serv = "*" if port == 0 else str(port)
    if not numeric and port:
        try:
            serv = getservbyport(port, "udp" if proto == "udp" else "tcp")
        except OSError:
            pass
    if len(host) + len(serv) > 22:
        host = host[:22 - len(serv)]
    return f"{host}:{serv}"


def _prg_cache(host: Any) -> dict[int, str]:
    """``prg_cache_load``: each socket's inode to ``PID/name`` of the first process, by pid, that
    holds a descriptor of it (what /proc/PID/fd links to ``socket:[INODE]`` say; a socket several
    processes share shows the first)."""
    cache: dict[int, str] = {}
    for pid, comm, _, ino in proc_socket_fds(host):
        if ino not in cache:
            # finbuf is PROGNAME_WIDTH bytes: what does not fit is cut
            cache[ino] = f"{pid}/{comm}"[:_PROGNAME_WIDTH - 1]
    return cache


_PROGNAME_WIDTH = 20


class ProcNetRow:
    """A line of /proc/net/tcp, udp or raw as ``tcp_do_one`` scans it."""

    def __init__(self, line: str) -> None:
        fields = line.split()
        local, remote = fields[1].split(":"), fields[2].split(":")
        self.local_addr, self.local_port = _inet_addr(local[0]), int(local[1], 16)
        self.rem_addr, self.rem_port = _inet_addr(remote[0]), int(remote[1], 16)
        self.state = int(fields[3], 16)
        self.txq, self.rxq = (int(x, 16) for x in fields[4].split(":"))
        timer_run, time_len = fields[5].split(":")
        self.timer_run, self.time_len = int(timer_run, 16), int(time_len, 16)
        self.retr = int(fields[6], 16)
        self.uid, self.timeout, self.inode = int(fields[7]), int(fields[8]), int(fields[9])


def _proc_addr(hexaddr: str) -> int:
    """The files' address (the ``__be32`` printed as a little-endian number) as a number."""
    return int.from_bytes(int(hexaddr, 16).to_bytes(4, "little"), "big")


def _inet_addr(hexaddr: str) -> str:
    """The files' address as a dotted quad."""
    return in_ntoa(_proc_addr(hexaddr))


def _proc_net_sockets(proto: str) -> list[ProcNetRow]:
    """The sockets /proc/net/``proto`` lists, past its heading."""
    text = libc.read_file(f"/proc/net/{proto}")
    assert isinstance(text, str)
    return [ProcNetRow(line) for line in text.splitlines()[1:]]


# tcp_do_one's timer names (udp_do_one and raw_do_one see only 0)
_TIMERS = {0: "off", 1: "on", 2: "keepalive", 3: "timewait", 4: "probe"}


def _finish_this_one(row: ProcNetRow, flags: set[str], programs: dict[int, str] | None) -> str:
    """``finish_this_one``: the user and inode (``-e``), the program (``-p``; ``-`` for a
    socket no process holds) and the timer (``-o``: its kind, seconds left, retransmissions and
    probes) after a socket's state."""
    out = ""
    if "e" in flags:
        out += f" {'root' if row.uid == 0 and 'n' not in flags else row.uid:<10} {row.inode:<10}"
    if programs is not None:
        out += f" {programs.get(row.inode, '-'):<{_PROGNAME_WIDTH}}"
    if "o" in flags:
        name = _TIMERS.get(row.timer_run, f"unkn-{row.timer_run}")
        seconds = 0.0 if row.timer_run == 0 else row.time_len / 100  # clock ticks (USER_HZ)
        out += f" {name} ({seconds:.2f}/{row.retr}/{row.timeout})"
    return out


# -- ifconfig and netstat -i: net-tools 2.10's lib/interface.c and ifconfig.c --------------------

IFNAMSIZ = 16


class DevStats(NamedTuple):
    """A device's counters as ``get_dev_fields`` scans a line of /proc/net/dev (its third layout,
    ``procnetdev_version`` 3: sixteen of them)."""

    rx_bytes: int
    rx_packets: int
    rx_errors: int
    rx_dropped: int
    rx_fifo_errors: int
    rx_frame_errors: int
    rx_compressed: int
    rx_multicast: int
    tx_bytes: int
    tx_packets: int
    tx_errors: int
    tx_dropped: int
    tx_fifo_errors: int
    collisions: int
    tx_carrier_errors: int
    tx_compressed: int


@dataclass
class Interface:
    """net-tools' ``struct interface``: what ``if_fetch`` learnt of one name (an alias such as
    ``eth0:1`` too) and the counters /proc/net/dev has for it (None for a name it does not list,
    as an alias: ``statistics_valid`` 0)."""

    name: str
    stats: DevStats | None
    flags: int
    type: int
    hwaddr: bytes
    mtu: int
    tx_queue_len: int
    ifa: Any  # the address SIOCGIFADDR gives (with its netmask, broadcast and peer), or None


def _proc_net_dev() -> dict[str, DevStats]:
    """``if_readlist_proc``: the devices /proc/net/dev lists, past its two heading lines, with
    their counters (``get_name``: the name is what comes before the ``:``)."""
    text = libc.read_file("/proc/net/dev")
    assert isinstance(text, str)
    devices = {}
    for line in text.splitlines()[2:]:
        name, _, counters = line.partition(":")
        devices[name.strip()] = DevStats(*map(int, counters.split()))
    return devices


def _nstrcmp_key(name: str) -> tuple[str, int, int]:
    """``nstrcmp`` as a sort key: an alias's ``:N`` cut off (``cutalias``), the name's text before
    its last digits, the number they make, then the alias's number (-1 for none): eth2 before
    eth10, eth0 before eth0:1 before eth0:10 before eth1."""
    base, alias = name, -1
    head, colon, tail = name.rpartition(":")
    if colon and tail.isascii() and tail.isdigit():
        base, alias = head, int(tail)
    stem = base.rstrip("0123456789")
    digits = base[len(stem):]
    return stem, int(digits) if digits else 0, alias


def _if_readlist(host: Any) -> tuple[list[str], dict[str, DevStats]]:
    """``if_readlist``: the names /proc/net/dev lists and those SIOCGIFCONF gives (``dev_ifconf``
    → ``inet_gifconf``: the label of every IPv4 address, device by device), each once, sorted as
    ``if_cache_add`` keeps its list (``nstrcmp``); and the counters."""
    stats = _proc_net_dev()
    labels = [ifa.label for dev in sorted(host.devices.values(), key=lambda d: d.ifindex)
              if dev.ip_ptr is not None for ifa in dev.ip_ptr.ifa_list]
    names: dict[tuple[str, int, int], str] = {}
    for name in [*stats, *labels]:
        names.setdefault(_nstrcmp_key(name), name)
    return [names[key] for key in sorted(names)], stats


def _if_fetch(host: Any, name: str, stats: DevStats | None) -> Interface | None:
    """``if_fetch``: SIOCGIFFLAGS (a short: ``dev_get_flags``), SIOCGIFHWADDR, SIOCGIFMTU and
    SIOCGIFTXQLEN, which ``dev_ioctl`` answers for the device named before any ``:``; then
    SIOCGIFADDR, SIOCGIFDSTADDR, SIOCGIFBRDADDR and SIOCGIFNETMASK, which ``devinet_ioctl``
    answers from the device's first address labelled with the whole name (none: EADDRNOTAVAIL,
    and no ``inet`` line).  None when there is no such device (ENODEV)."""
    dev = host.devices.get(name.partition(":")[0])
    if dev is None:
        return None
    ifa = next((ifa for ifa in dev.ip_ptr.ifa_list if ifa.label == name), None) if dev.ip_ptr else None
    # SIOCGIFHWADDR: a device without a link address gives zeros
    hwaddr = dev.dev_addr if dev.addr_len else b""
    return Interface(name, stats, dev_get_flags(dev) & 0xFFFF, dev.type, hwaddr, dev.mtu, dev.tx_queue_len, ifa)


# ife_print_long's flag names, in its order (NOTRAILERS, SLAVE, MASTER and DYNAMIC, which it names
# too, no tuxnet device has)
_LONG_FLAGS = ((IFF_UP, "UP"), (IFF_BROADCAST, "BROADCAST"), (IFF_DEBUG, "DEBUG"), (IFF_LOOPBACK, "LOOPBACK"),
               (IFF_POINTOPOINT, "POINTOPOINT"), (IFF_RUNNING, "RUNNING"), (IFF_NOARP, "NOARP"),
               (IFF_PROMISC, "PROMISC"), (IFF_ALLMULTI, "ALLMULTI"), (IFF_MULTICAST, "MULTICAST"))
# ife_print_short's letters, in its order (as above, less N, s, m and d)
_SHORT_FLAGS = ((IFF_ALLMULTI, "A"), (IFF_BROADCAST, "B"), (IFF_DEBUG, "D"), (IFF_LOOPBACK, "L"),
                (IFF_MULTICAST, "M"), (IFF_PROMISC, "P"), (IFF_NOARP, "O"), (IFF_POINTOPOINT, "P"),
                (IFF_RUNNING, "R"), (IFF_UP, "U"))
# lib/hw.c's hardware types (name, title; loopback prints no address); any other type is unspec's
_HW_TYPES = {ARPHRD_ETHER: ("ether", "Ethernet"), ARPHRD_LOOPBACK: ("loop", "Local Loopback")}
# ife_print_long's units: a count over one is shown in it, in tenths cut short
_BYTE_UNITS = (("EiB", 1 << 60), ("PiB", 1 << 50), ("TiB", 1 << 40), ("GiB", 1 << 30), ("MiB", 1 << 20),
               ("KiB", 1 << 10))


def _bytes_text(n: int) -> str:
    """``1234 (1.2 KiB)``: a byte count and its size in the largest unit it is over."""
    unit, size = next(((unit, size) for unit, size in _BYTE_UNITS if n > size), ("B", 1))
    tenths = n * 10 // size
    return f"{n} ({tenths // 10}.{tenths % 10} {unit})"


def ife_print_long(ife: Interface) -> None:
    """``ife_print_long``: the flags (by number and by name) and MTU; the IPv4 address, its
    netmask, and the broadcast (BROADCAST) or peer (POINTOPOINT) address; the hardware type
    with its address and the queue's length; the counters when /proc/net/dev has them; a blank
    line.  tuxnet has no IPv6: no ``inet6`` lines."""
    flags = f"flags={ife.flags}<" + (">" if ife.flags == 0 else "")
    flags += "".join(name + "," for bit, name in _LONG_FLAGS if ife.flags & bit)
    # the last comma becomes the closing '>'; with no name to close, the last character goes
    flags = flags[:-1] + ">" if flags.endswith(",") else flags[:-1]
    libc.printf("%s: %s  mtu %d\n", ife.name, flags, ife.mtu)
    if ife.ifa is not None:
        line = f"        inet {in_ntoa(ife.ifa.local)}  netmask {in_ntoa(ife.ifa.mask)}"
        if ife.flags & IFF_BROADCAST:
            line += f"  broadcast {in_ntoa(ife.ifa.broadcast)}"
        if ife.flags & IFF_POINTOPOINT:  # SIOCGIFDSTADDR: ifa_address, the local one without a peer
            line += f"  destination {in_ntoa(ife.ifa.local)}"
        libc.printf("%s\n", line)
    if ife.type == ARPHRD_ETHER:
        hw = f"ether {mac_text(ife.hwaddr)}"
    elif ife.type == ARPHRD_LOOPBACK:
        hw = "loop"
    else:  # pr_unspec: the 16 bytes of the sockaddr's data, in hex
        hw = "unspec " + "-".join(f"{b:02X}" for b in ife.hwaddr.ljust(16, b"\0")[:16])
    title = _HW_TYPES.get(ife.type, ("", "UNSPEC"))[1]
    libc.printf("        %s  txqueuelen %d  (%s)\n", hw, ife.tx_queue_len, title)
    s = ife.stats
    if s is not None:
        libc.printf("        RX packets %d  bytes %s\n", s.rx_packets, _bytes_text(s.rx_bytes))
        libc.printf("        RX errors %d  dropped %d  overruns %d  frame %d\n", s.rx_errors, s.rx_dropped,
                    s.rx_fifo_errors, s.rx_frame_errors)
        libc.printf("        TX packets %d  bytes %s\n", s.tx_packets, _bytes_text(s.tx_bytes))
        libc.printf("        TX errors %d  dropped %d overruns %d  carrier %d  collisions %d\n", s.tx_errors,
                    s.tx_dropped, s.tx_fifo_errors, s.tx_carrier_errors, s.collisions)
    libc.printf("\n")


def ife_print_short(ife: Interface) -> None:
    """``ife_print_short``: a line of the name, MTU, the packet counters (a notice for a name
    /proc/net/dev does not list) and the flags as letters."""
    line = f"{ife.name[:15]:<15} {ife.mtu:5d} "
    s = ife.stats
    if s is not None:
        line += (f"{s.rx_packets:8d} {s.rx_errors:6d} {s.rx_dropped:6d} {s.rx_fifo_errors:<6d} "
                 f"{s.tx_packets:8d} {s.tx_errors:6d} {s.tx_dropped:6d} {s.tx_fifo_errors:6d} ")
    else:
        line += f"{'     - no statistics available -':<56}"
    letters = "".join(letter for bit, letter in _SHORT_FLAGS if ife.flags & bit)
    libc.printf("%s%s\n", line, letters if ife.flags else "[NO FLAGS]")


def if_print(host: Any, names: list[str], stats: dict[str, DevStats], show_all: bool, short: bool) -> int:
    """``do_if_print`` for each name in turn: fetch it and print it, if it is up or ``show_all``
    says so; a name with no device ends the list, in net-tools' words (``do_if_fetch``)."""
    for name in names:
        ife = _if_fetch(host, name, stats.get(name))
        if ife is None:
            libc.printf("%s: error fetching interface information: Device not found\n", name)
            return 1
        if ife.flags & IFF_UP or show_all:
            (ife_print_short if short else ife_print_long)(ife)
    return 0


def _inet_resolve(name: str) -> int | str:
    """net-tools' ``INET_resolve``: ``default`` is 0.0.0.0, then a dotted quad (``inet_aton``), a
    network of /etc/networks, a host name; what ``herror`` would say when none is found."""
    if name == "default":
        return 0
    quad = inet_aton_exact(name)
    if quad is not None:
        return in_aton(quad)
    try:
        return libc.getnetbyname(name)
    except OSError:
        pass
    try:
        return in_aton(libc.gethostbyname(name).h_addr_list[0])
    except herror as e:
        return e.args[1]


def _get_flags(name: str) -> int:
    """SIOCGIFFLAGS: the interface's flags (OSError when it has none to give)."""
    return ifreq_flags(libc.ioctl(_ifconfig_fd(), SIOCGIFFLAGS, ifreq(name)))


def _flag_change(name: str, set_bits: int, clear_bits: int) -> int:
    """net-tools' ``set_flag``/``clr_flag``: SIOCGIFFLAGS, then SIOCSIFFLAGS with the bits set or
    cleared; -1 (and the words) on an error."""
    try:
        flags = _get_flags(name)
    except OSError as e:
        libc.printf("%s: ERROR while getting interface flags: %s\n", name, e.strerror)
        return -1
    try:
        libc.ioctl(_ifconfig_fd(), SIOCSIFFLAGS, ifreq(name, struct.pack("=H", (flags | set_bits) & ~clear_bits)))
    except OSError as e:
        libc.printf("SIOCSIFFLAGS: %s\n", e.strerror)
        return -1
    return 0


def _test_flag(name: str, bit: int) -> bool:
    """net-tools' ``test_flag``."""
    try:
        return bool(_get_flags(name) & bit)
    except OSError:
        return False


def _ifconfig_fd() -> int:
    """The AF_INET datagram socket ifconfig's requests go by (``get_socket_for_af``)."""
    proc = current()
    fd = getattr(proc, "ifconfig_fd", None)
    if fd is None:
        fd = proc.ifconfig_fd = libc.socket(AF_INET, SOCK_DGRAM, 0)
    return fd


# ifconfig.c's usage(), as 2.10 prints it (lib/hw.c's and lib/af.c's lists end their lines with a space)
_IFCONFIG_USAGE = "".join(line + "\n" for line in (
    "Usage:",
    "  ifconfig [-a] [-v] [-s] <interface> [[<AF>] <address>]",
    "  [add <address>[/<prefixlen>]]",
    "  [del <address>[/<prefixlen>]]",
    "  [[-]broadcast [<address>]]  [[-]pointopoint [<address>]]",
    "  [netmask <address>]  [dstaddr <address>]  [tunnel <address>]",
    "  [outfill <NN>] [keepalive <NN>]",
    "  [hw <HW> <address>]  [mtu <NN>]",
    "  [[-]trailers]  [[-]arp]  [[-]allmulti]",
    "  [multicast]  [[-]promisc]",
    "  [mem_start <NN>]  [io_addr <NN>]  [irq <NN>]  [media <type>]",
    "  [txqueuelen <NN>]",
    "  [name <newname>]",
    "  [[-]dynamic]",
    "  [up|down] ...",
    "",
    "  <HW>=Hardware Type.",
    "  List of possible hardware types:",
    "    loop (Local Loopback) slip (Serial Line IP) cslip (VJ Serial Line IP) ",
    "    slip6 (6-bit Serial Line IP) cslip6 (VJ 6-bit Serial Line IP) adaptive (Adaptive Serial Line IP) ",
    "    ash (Ash) ether (Ethernet) ax25 (AMPR AX.25) ",
    "    netrom (AMPR NET/ROM) rose (AMPR ROSE) tunnel (IPIP Tunnel) ",
    "    ppp (Point-to-Point Protocol) hdlc ((Cisco)-HDLC) lapb (LAPB) ",
    "    arcnet (ARCnet) dlci (Frame Relay DLCI) frad (Frame Relay Access Device) ",
    "    sit (IPv6-in-IPv4) fddi (Fiber Distributed Data Interface) hippi (HIPPI) ",
    "    irda (IrLAP) ec (Econet) x25 (generic X.25) ",
    "    eui64 (Generic EUI-64) ",
    "  <AF>=Address family. Default: inet",
    "  List of possible address families:",
    "    unix (UNIX Domain) inet (DARPA Internet) inet6 (IPv6) ",
    "    ax25 (AMPR AX.25) netrom (AMPR NET/ROM) rose (AMPR ROSE) ",
    "    ipx (Novell IPX) ddp (Appletalk DDP) ec (Econet) ",
    "    ash (Ash) x25 (CCITT X.25) ",
))

# ifconfig's words that set (or, with a leading -, clear) one flag, as its main loop reads them
_FLAG_WORDS = {"arp": (0, IFF_NOARP), "-arp": (IFF_NOARP, 0), "promisc": (IFF_PROMISC, 0),
               "-promisc": (0, IFF_PROMISC), "multicast": (IFF_MULTICAST, 0), "allmulti": (IFF_ALLMULTI, 0),
               "-allmulti": (0, IFF_ALLMULTI), "up": (IFF_UP | IFF_RUNNING, 0), "down": (0, IFF_UP),
               "-broadcast": (0, IFF_BROADCAST)}


def _ifconfig_set(name: str, words: list[str]) -> int:
    """ifconfig.c's main loop over what follows an interface's name (net-tools 2.10), each word a
    request on an AF_INET socket, in order: a flag word (set_flag/clr_flag), ``mtu N``
    (SIOCSIFMTU), ``netmask M`` (SIOCSIFNETMASK), ``broadcast B`` (SIOCSIFBRDADDR, then the
    BROADCAST flag), ``hw ether MAC`` (SIOCSIFHWADDR), or an address, ``A[/P]`` (SIOCSIFADDR, the
    interface up unless it is an alias given 0.0.0.0, then the prefix's netmask).  The exit status
    is the errors' or: 1 for a refused request, 255 for a flag that could not be changed."""
    fd = _ifconfig_fd()
    goterr = 0
    didnetmask = False
    if words and words[0] == "inet":  # the address family's name, the default one
        words = words[1:]

    def usage() -> int:
        libc.printf("%s", _IFCONFIG_USAGE)
        return 3

    def request(cmd: int, what: str, value: bytes) -> int:
        try:
            libc.ioctl(fd, cmd, ifreq(name, value))
        except OSError as e:
            libc.printf("%s: %s\n", what, e.strerror)
            return 1
        return 0

    while words:
        word = words.pop(0)
        if word in _FLAG_WORDS:
            goterr |= _flag_change(name, *_FLAG_WORDS[word])
            if word == "-promisc" and _test_flag(name, IFF_PROMISC):
                libc.printf("Warning: Interface %s still in PROMISC mode... maybe other application is running?\n",
                            name)
        elif word == "mtu":
            if not words:
                return usage()
            goterr |= request(SIOCSIFMTU, "SIOCSIFMTU", struct.pack("=i", libc.atoi(words.pop(0))))
        elif word in ("netmask", "broadcast"):
            if not words or word == "netmask" and didnetmask:
                if word == "broadcast":
                    goterr |= _flag_change(name, IFF_BROADCAST, 0)
                    continue
                return usage()
            text = words.pop(0)
            addr = _inet_resolve(text)
            if isinstance(addr, str):
                libc.printf("%s: %s\n", text, addr)
                goterr = 1
                continue
            if word == "netmask":
                didnetmask = True
                goterr |= request(SIOCSIFNETMASK, "SIOCSIFNETMASK", sockaddr_in(AF_INET, addr))
            else:
                goterr |= request(SIOCSIFBRDADDR, "SIOCSIFBRDADDR", sockaddr_in(AF_INET, addr))
                goterr |= _flag_change(name, IFF_BROADCAST, 0)
        elif word == "hw":
            if len(words) < 2 or words[0] != "ether":
                return usage()
            words.pop(0)
            mac = words.pop(0)
            try:
                raw = bytes(int(part, 16) for part in mac.split(":"))
            except ValueError:
                raw = b""
            if len(raw) != 6:
                libc.printf("%s: invalid ether address.\n", mac)
                libc.printf("ifconfig: `--help' gives usage information.\n")
                return 1
            goterr |= request(SIOCSIFHWADDR, "SIOCSIFHWADDR", struct.pack("=H14s", ARPHRD_ETHER, raw))
        else:
            text, _, plen = word.partition("/")
            if plen and (not plen.isdigit() or int(plen) > 32 or didnetmask):
                return usage()
            addr = _inet_resolve(text)
            if isinstance(addr, str):
                libc.printf("%s: %s\n", text, addr)
                libc.printf("ifconfig: `--help' gives usage information.\n")
                return 1
            goterr |= request(SIOCSIFADDR, "SIOCSIFADDR", sockaddr_in(AF_INET, addr))
            if not (":" in name and (name.endswith("-") or not addr)):
                goterr |= _flag_change(name, IFF_UP | IFF_RUNNING, 0)
            if plen:
                didnetmask = True
                goterr |= request(SIOCSIFNETMASK, "SIOCSIFNETMASK", sockaddr_in(AF_INET, inet_make_mask(int(plen))))
    return goterr & 0xFF


def ifconfig(argv: list[str] | None = None) -> int:
    """``ifconfig [-a] [-s] [-v] [INTERFACE [SETTING...]]`` (net-tools 2.10): every interface
    that is up (``-a``: all of them; aliases such as ``eth0:1`` with them), or the one named (up
    or down), long or, ``-s``, a line each; with settings after the name, the changes of
    ``_ifconfig_set``, by the kernel's device requests (``dev_ioctl``, ``devinet_ioctl``)."""
    args = list(argv or [])
    show_all = short = False
    while args and args[0].startswith("-"):  # ifconfig.c main: options only before the rest
        opt = args.pop(0)
        if opt in ("-V", "-version", "--version"):
            libc.printf("net-tools 2.10\n")
            return 0
        if opt not in ("-a", "-s", "-v"):  # (-v: only ifconfig's changes talk more)
            libc.printf("ifconfig: option `%s' not recognised.\nifconfig: `--help' gives usage information.\n", opt)
            return 1
        show_all = show_all or opt == "-a"
        short = short or opt == "-s"
    if len(args) > 1:
        return _ifconfig_set(args[0][:IFNAMSIZ - 1], args[1:])
    host = current().host
    if short:
        libc.printf("Iface      MTU    RX-OK RX-ERR RX-DRP RX-OVR    TX-OK TX-ERR TX-DRP TX-OVR Flg\n")
    if args:  # lookup_interface: the name as the ifreq holds it, up or down
        name = args[0][:IFNAMSIZ - 1]
        return if_print(host, [name], _proc_net_dev(), True, short)
    names, stats = _if_readlist(host)
    return if_print(host, names, stats, show_all, short)


def netstat_interfaces(host: Any, show_all: bool, flag_exp: int) -> int:
    """``netstat -i`` (``iface_info``): each interface that is up (``-a``: every one), as ifconfig
    lists them, a line each (``ife_print_short``), or in full with ``-e`` (``flag_exp`` 2 and
    more)."""
    libc.printf("Kernel Interface table\n")
    if flag_exp < 2:
        libc.printf("Iface             MTU    RX-OK RX-ERR RX-DRP RX-OVR    TX-OK TX-ERR TX-DRP TX-OVR Flg\n")
    names, stats = _if_readlist(host)
    return if_print(host, names, stats, show_all, flag_exp < 2)


def netstat_groups(host: Any) -> int:
    """``netstat -g`` (net-tools, from ``/proc/net/igmp``): each device's IPv4 groups, newest first,
    with their users; numerically, as ``-n`` asks and as it prints a group no name is known for."""
    libc.printf("IPv6/IPv4 Group Memberships\n")
    libc.printf("%-15s %-6s %s\n", "Interface", "RefCnt", "Group")
    libc.printf("--------------- ------ ---------------------\n")
    for dev in sorted(host.devices.values(), key=lambda d: d.ifindex):
        st = dev.ip_ptr.igmp if dev.ip_ptr is not None else None
        for im in reversed(st.mc_list.values()) if st is not None else ():
            libc.printf("%-15s %-6d %s\n", dev.name, im.users, in_ntoa(im.multiaddr))
    return 0
