"""net-tools, as MenuOS's era had them: ``ifconfig``, ``route -n``, ``arp -n`` and
``netstat -atun``.  They read the host's kernel state the way the real tools read it through
``SIOCGIFCONF``/``SIOCGIFFLAGS``, ``/proc/net/route``, ``/proc/net/arp``, ``/proc/net/tcp`` and
``/proc/net/udp``, and print it in their formats."""

from __future__ import annotations

from typing import Any

from tuxnet.kernel.sched import current
from tuxnet.net.core.dev import (
    ARPHRD_ETHER,
    ARPHRD_LOOPBACK,
    IFF_BROADCAST,
    IFF_LOOPBACK,
    IFF_MULTICAST,
    IFF_NOARP,
    IFF_POINTOPOINT,
    IFF_PROMISC,
    IFF_RUNNING,
    IFF_UP,
)
from tuxnet.net.core.neighbour import NUD_INCOMPLETE, NUD_NOARP, NUD_PERMANENT, NUD_VALID
from tuxnet.net.core.utils import in_ntoa
from tuxnet.net.ipv4.fib import RTN_UNICAST
from tuxnet.net.ipv4.inet_diag import inet_diag_dump
from tuxnet.net.ipv4.tcp_sock import TCP_ESTABLISHED, TCP_LISTEN, TCP_STATE_NAMES
from tuxnet.net.ipv4.udp_diag import udp_diag_dump
from tuxnet.user import libc

_FLAG_NAMES = ((IFF_UP, "UP"), (IFF_BROADCAST, "BROADCAST"), (IFF_LOOPBACK, "LOOPBACK"),
               (IFF_POINTOPOINT, "POINTOPOINT"), (IFF_RUNNING, "RUNNING"), (IFF_NOARP, "NOARP"),
               (IFF_PROMISC, "PROMISC"), (IFF_MULTICAST, "MULTICAST"))


def mac_text(addr: bytes) -> str:
    return ":".join(f"{b:02x}" for b in addr)


def _bytes_text(n: int) -> str:
    """net-tools' byte counts: ``1234 (1.2 KB)``."""
    for unit, size in (("GB", 1 << 30), ("MB", 1 << 20), ("KB", 1 << 10)):
        if n >= size:
            return f"{n} ({n / size:.1f} {unit})"
    return f"{n} ({n:.1f} B)"


def _dev_flags(dev: Any) -> int:
    """``dev_get_flags``: RUNNING when the device is up and has carrier."""
    flags = dev.flags & ~IFF_RUNNING
    if dev.flags & IFF_UP and getattr(dev, "carrier", True):
        flags |= IFF_RUNNING
    return flags


def _shows_only(tool: str, argv: list[str] | None, options: str, change: str) -> bool:
    """Whether ``argv`` holds only the display options these tools take here; if not, say so (they
    show the kernel's state; ``ip`` changes it)."""
    extra = [a for a in argv or [] if not (a.startswith("-") and set(a[1:]) <= set(options))]
    if extra:
        libc.printf("%s: %s: this %s only shows; change it with `%s`\n", tool, " ".join(extra), tool, change)
        return False
    return True


def ifconfig(argv: list[str] | None = None) -> int:
    """``ifconfig [-a] [INTERFACE]``: every device that is up (``-a``: all), or the one named, in
    net-tools 1.60's layout."""
    args = [a for a in argv or [] if a != "-a"]
    show_all = bool(argv) and "-a" in argv
    devices = current().host.devices
    if args:
        name, *rest = args
        if rest or name.startswith("-"):
            _shows_only("ifconfig", args, "", "ip addr")
            return 1
        if name not in devices:
            libc.printf("%s: error fetching interface information: Device not found\n", name)
            return 1
        show_all = True
    for dev in sorted(devices.values(), key=lambda d: d.name):
        flags = _dev_flags(dev)
        if args and dev.name != args[0]:
            continue
        if not flags & IFF_UP and not show_all:
            continue
        if dev.type == ARPHRD_LOOPBACK:
            link = "Link encap:Local Loopback  "
        elif dev.type == ARPHRD_ETHER:
            link = f"Link encap:Ethernet  HWaddr {mac_text(dev.dev_addr)}  "
        else:
            link = "Link encap:UNSPEC  "
        lines = [f"{dev.name:<10}{link}"]
        for ifa in (dev.ip_ptr.ifa_list if dev.ip_ptr is not None else []):
            inet = f"inet addr:{in_ntoa(ifa.local)}  "
            if ifa.broadcast and dev.flags & IFF_BROADCAST:
                inet += f"Bcast:{in_ntoa(ifa.broadcast)}  "
            lines.append(f"{'':10}{inet}Mask:{in_ntoa(ifa.mask)}")
        names = " ".join(name for bit, name in _FLAG_NAMES if flags & bit)
        lines.append(f"{'':10}{names}  MTU:{dev.mtu}  Metric:1")
        s = dev.stats
        lines.append(f"{'':10}RX packets:{s.rx_packets} errors:{s.rx_errors} dropped:{s.rx_dropped} "
                     f"overruns:{s.rx_fifo_errors} frame:{s.rx_frame_errors}")
        lines.append(f"{'':10}TX packets:{s.tx_packets} errors:{s.tx_errors} dropped:{s.tx_dropped} "
                     f"overruns:{s.tx_fifo_errors} carrier:{s.tx_carrier_errors}")
        lines.append(f"{'':10}collisions:{s.collisions} txqueuelen:{dev.tx_queue_len} ")
        lines.append(f"{'':10}RX bytes:{_bytes_text(s.rx_bytes)}  TX bytes:{_bytes_text(s.tx_bytes)}")
        libc.printf("%s\n\n", "\n".join(lines))
    return 0


def route(argv: list[str] | None = None) -> int:
    """``route -n``: the main routing table (``/proc/net/route``)."""
    if not _shows_only("route", argv, "nve", "ip route"):
        return 1
    host = current().host
    libc.printf("Kernel IP routing table\n")
    libc.printf("%-15s %-15s %-15s %-5s %-6s %-3s %8s %s\n", "Destination", "Gateway", "Genmask", "Flags",
                "Metric", "Ref", "Use", "Iface")
    entries = sorted(host.fib_main.entries, key=lambda e: (e.plen != 0, e.dst, e.plen))
    for e in entries:
        flags = "U" if e.type == RTN_UNICAST else "!"
        if e.gw:
            flags += "G"
        if e.plen == 32:
            flags += "H"
        libc.printf("%-15s %-15s %-15s %-5s %-6d %-3d %8d %s\n", in_ntoa(e.dst), in_ntoa(e.gw), in_ntoa(e.mask),
                    flags, e.metric, 0, 0, e.dev.name if e.dev is not None else "*")
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


def netstat(argv: list[str] | None = None) -> int:
    """``netstat -atun``: TCP (from sock_diag, as ``/proc/net/tcp``) and UDP sockets; with ``-g``
    the devices' multicast groups."""
    host = current().host
    if any(arg.startswith("-") and not arg.startswith("--") and "g" in arg for arg in argv or []):
        return netstat_groups(host)
    libc.printf("Active Internet connections (servers and established)\n")
    libc.printf("%-5s %6s %6s %-23s %-23s %s\n", "Proto", "Recv-Q", "Send-Q", "Local Address", "Foreign Address",
                "State")
    for r in inet_diag_dump(host):
        peer = "0.0.0.0:*" if r.state == TCP_LISTEN else f"{r.peer[0]}:{r.peer[1]}"
        recv_q, send_q = (0, 0) if r.state == TCP_LISTEN else (r.recv_q, r.send_q)
        libc.printf("%-5s %6d %6d %-23s %-23s %s\n", "tcp", recv_q, send_q, f"{r.local[0]}:{r.local[1]}", peer,
                    TCP_STATE_NAMES.get(r.state, "UNKNOWN"))
    for r in udp_diag_dump(host):
        connected = r.state == TCP_ESTABLISHED
        peer = f"{r.peer[0]}:{r.peer[1]}" if connected else "0.0.0.0:*"
        libc.printf("%-5s %6d %6d %-23s %-23s %s\n", "udp", r.recv_q, r.send_q, f"{r.local[0]}:{r.local[1]}", peer,
                    "ESTABLISHED" if connected else "")
    return 0


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
