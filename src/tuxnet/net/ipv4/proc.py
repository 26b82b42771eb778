"""IPv4's files in ``/proc/net``: ``snmp`` and ``netstat`` (net/ipv4/proc.c), a host's SNMP
counters, each group a line of names and a line of values; ``tcp`` (net/ipv4/tcp_ipv4.c), ``udp``
(net/ipv4/udp.c) and ``raw`` (net/ipv4/raw.c), a line for each socket, the tables net-tools'
netstat reads; ``route`` (net/ipv4/fib_trie.c), the main table as route reads it; ``arp``
(net/ipv4/arp.c), the neighbour cache; ``igmp`` and ``mcfilter`` (net/ipv4/igmp.c), each
device's groups and their sources.
``PROC_NET`` names them, and the device files of tuxnet.net.core.net_procfs, for
``libc.read_file``."""

from __future__ import annotations

import zlib
from collections.abc import Callable
from typing import Any

from tuxnet.kernel.fs import proc_socket_fds
from tuxnet.kernel.mm import PAGE_SIZE
from tuxnet.net.core.neighbour import NUD_NOARP, NUD_PERMANENT, NUD_VALID
from tuxnet.net.core.net_procfs import dev_mc_seq_show, dev_seq_show
from tuxnet.net.core.utils import in_ntoa
from tuxnet.net.ipv4.fib import (
    RT_TABLE_MAIN,
    RTN_BROADCAST,
    RTN_MULTICAST,
    RTN_PROHIBIT,
    RTN_UNREACHABLE,
    fib_route_dump,
)
from tuxnet.net.ipv4.igmp import igmp_v1_seen, igmp_v2_seen
from tuxnet.net.ipv4.inet_diag import inet_csk_timer, sock_i_ino, tcp_sockets
from tuxnet.net.ipv4.tcp_sock import (
    SEQ_MASK,
    TCP_INFINITE_SSTHRESH,
    TCP_LISTEN,
    TCP_NEW_SYN_RECV,
    TCP_TIME_WAIT,
    TcpSock,
)

__all__ = ["PROC_NET", "arp_seq_show", "fib_route_seq_show", "igmp_mc_seq_show", "igmp_mcf_seq_show",
           "netstat_seq_show", "raw_seq_show", "snmp_seq_show", "sockstat_seq_show", "tcp4_seq_show", "udp4_seq_show"]

USER_HZ = 100  # clock_t: what /proc counts time in (jiffies_to_clock_t)
UDP_HTABLE_MASK = 4095  # udp_table.mask: 4096 slots, as on a machine of a few GB
RAW_HTABLE_LOG = 8

_PERLINE = 16  # icmpmsg_put: types to a line

# include/uapi/linux/route.h: the flags /proc/net/route gives a route
RTF_UP = 0x0001
RTF_GATEWAY = 0x0002
RTF_HOST = 0x0004
RTF_REJECT = 0x0200
# include/uapi/linux/if_arp.h: the flags /proc/net/arp gives an entry
ATF_COM = 0x02
ATF_PERM = 0x04
ATF_PUBL = 0x08
PNEIGH_HASHMASK = 0xF


def _group(name: str, fields: list[tuple[str, int]]) -> str:
    return f"{name}: {' '.join(n for n, _ in fields)}\n{name}: {' '.join(str(v) for _, v in fields)}\n"


def _icmpmsg(mib: Any) -> str:
    """``icmpmsg_put``: the message types seen, every InType before the OutTypes, each in number
    order, sixteen to a pair of lines; none when none was seen."""
    seen = sorted(((name.startswith("Out"), int(name.split("Type")[1]), name, value)
                   for name, value in mib.IcmpMsg.items() if value))
    return "".join(_group("IcmpMsg", [(name, value) for _, _, name, value in seen[i:i + _PERLINE]])
                   for i in range(0, len(seen), _PERLINE))


def snmp_seq_show(mib: Any) -> str:
    """``snmp_seq_show``: Ip, Icmp, IcmpMsg, Tcp, Udp and UdpLite (tuxnet has no UDP-Lite: its
    counters are 0, as on a Linux host that never used it)."""
    udp = list(mib.Udp.items())
    return (_group("Ip", list(mib.Ip.items())) + _group("Icmp", list(mib.Icmp.items())) + _icmpmsg(mib)
            + _group("Tcp", list(mib.Tcp.items())) + _group("Udp", udp)
            + _group("UdpLite", [(name, 0) for name, _ in udp]))


def netstat_seq_show(mib: Any) -> str:
    """``netstat_seq_show``: TcpExt and IpExt."""
    return _group("TcpExt", list(mib.TcpExt.items())) + _group("IpExt", list(mib.IpExt.items()))


def _clock_t(ns: int) -> int:
    """``jiffies_delta_to_clock_t``: a time to come in clock ticks, 0 when past."""
    return max(0, ns) * USER_HZ // 1_000_000_000


def _be32(addr: int) -> str:
    """An address as the files print it: the ``__be32``'s bytes read as a little-endian number
    (127.0.0.1 is ``0100007F``)."""
    return f"{int.from_bytes(addr.to_bytes(4, 'big'), 'little'):08X}"


def _hexaddr(addr: int, port: int) -> str:
    """An address and a port, in hex."""
    return f"{_be32(addr)}:{port:04X}"


def _pointer(*identity: object) -> str:
    """``%pK`` for a socket: the kernel prints a hash of its address, not the address; here a
    hash of what identifies the socket, so that a run prints the same each time."""
    return f"{zlib.crc32(repr(identity).encode()):016x}"


def _refcount(sk: Any) -> int:
    """``sk_refcnt``: the owner's reference, and one for each timer armed on the socket
    (``sk_reset_timer`` holds one)."""
    timers = (sk.icsk_retransmit_timer, sk.icsk_delack_timer, sk.sk_timer)
    return 1 + sum(1 for t in timers if t is not None and t.pending())


def _tcp4_line(sk: Any, i: int, now: int) -> str:
    """``get_tcp4_sock``, ``get_timewait4_sock`` or ``get_openreq4``: one socket's line."""
    state = sk.sk_state
    if state == TCP_TIME_WAIT:
        return (f"{i:4d}: {_hexaddr(sk.inet_rcv_saddr, sk.inet_num)} {_hexaddr(sk.inet_daddr, sk.inet_dport)}"
                f" {TCP_TIME_WAIT:02X} {0:08X}:{0:08X} {3:02X}:{_clock_t(sk.timer.expires - now):08X}"
                f" {0:08X} {0:5d} {0:8d} 0 3 {_pointer(sk.inet_num, sk.inet_dport, sk.inet_daddr)}")
    if state == TCP_NEW_SYN_RECV:
        return (f"{i:4d}: {_hexaddr(sk.loc_addr, sk.loc_port)} {_hexaddr(sk.rmt_addr, sk.rmt_port)}"
                f" {3:02X} {0:08X}:{0:08X} {1:02X}:{_clock_t(sk.timer.expires - now):08X}"
                f" {sk.num_timeout:08X} {0:5d} {0:8d} 0 0 {_pointer(sk.loc_port, sk.rmt_port, sk.rmt_addr)}")
    timer, expires = inet_csk_timer(sk)
    if state == TCP_LISTEN:
        rx_queue, ssthresh = sk.sk_ack_backlog, sk.fastopenq_max_qlen
    else:
        rx_queue = (sk.rcv_nxt - sk.copied_seq) & SEQ_MASK
        if rx_queue >= 0x80000000:
            rx_queue = 0
        ssthresh = -1 if sk.snd_ssthresh >= TCP_INFINITE_SSTHRESH else sk.snd_ssthresh
    ack = sk.icsk_ack
    ino = sock_i_ino(sk)
    return (f"{i:4d}: {_hexaddr(sk.inet_rcv_saddr, sk.inet_num)} {_hexaddr(sk.inet_daddr, sk.inet_dport)}"
            f" {state:02X} {(sk.write_seq - sk.snd_una) & SEQ_MASK:08X}:{rx_queue:08X}"
            f" {timer:02X}:{_clock_t(expires - now) if timer else 0:08X} {sk.icsk_retransmits:08X}"
            f" {0:5d} {sk.icsk_probes_out:8d} {ino} {_refcount(sk)} {_pointer(sk.inet_num, sk.inet_dport, ino)}"
            f" {_clock_t(sk.icsk_rto)} {_clock_t(ack.ato)} {(ack.quick << 1) | (ack.pingpong >= 1)}"
            f" {sk.snd_cwnd} {ssthresh}")


def tcp4_seq_show(host: Any) -> str:
    """``/proc/net/tcp``: the heading, then every TCP socket in the order the hash tables hold
    them, each line padded to 149 characters (``seq_setwidth``, ``seq_pad``)."""
    now = host.world.now
    lines = ["  sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode"]
    lines += [_tcp4_line(sk, i, now) for i, sk in enumerate(tcp_sockets(host))]
    return "".join(f"{line:<149}\n" for line in lines)


def _datagram_line(sk: Any, bucket: int, width: int) -> str:
    """``udp4_format_sock`` and raw.c's ``raw_sock_seq_show``: a datagram socket's line, its
    queues the memory of what it sent that is still held and of what it has not read."""
    ino = sock_i_ino(sk)
    return (f"{bucket:{width}d}: {_hexaddr(sk.inet_rcv_saddr, sk.inet_num)} {_hexaddr(sk.inet_daddr, sk.inet_dport)}"
            f" {sk.sk_state:02X} {sk.sk_wmem_alloc:08X}:{sk.sk_rmem_alloc:08X} {0:02X}:{0:08X} {0:08X}"
            f" {0:5d} {0:8d} {ino} 2 {_pointer(sk.inet_num, sk.inet_dport, ino)} {sk.sk_drops}")


def udp4_seq_show(host: Any) -> str:
    """``/proc/net/udp``: the heading, then the sockets slot by slot of the port hash (the
    slot, ``udp_hashfn``, is the port's low bits: tuxnet's ``net_hash_mix`` is 0), each line
    padded to 127 characters."""
    lines = ["   sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode"
             " ref pointer drops"]
    socks = [(port & UDP_HTABLE_MASK, sk) for port in host.udp_table for sk in host.udp_table[port]]
    socks.sort(key=lambda item: item[0])
    lines += [_datagram_line(sk, bucket, 5) for bucket, sk in socks]
    return "".join(f"{line:<127}\n" for line in lines)


def raw_seq_show(host: Any) -> str:
    """``/proc/net/raw``: the heading, then the sockets slot by slot of the protocol hash
    (``raw_hashfunc``: ``hash_32`` of the protocol)."""
    lines = ["  sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode"
             " ref pointer drops"]
    table = getattr(host, "raw_v4_hashinfo", None) or {}
    socks = [(((protocol * 0x61C88647) & 0xFFFFFFFF) >> (32 - RAW_HTABLE_LOG), sk)
             for protocol in table for sk in table[protocol]]
    socks.sort(key=lambda item: item[0])
    lines += [_datagram_line(sk, bucket, 4) for bucket, sk in socks]
    return "".join(line + "\n" for line in lines)


def _pages(sk: Any) -> int:
    """The pages a socket holds of its protocol's memory (``sk_memory_allocated``): what is
    charged to it and its forward allocation, whole pages together."""
    return (sk.sk_rmem_alloc + sk.sk_wmem_queued + sk.sk_forward_alloc) // PAGE_SIZE


def sockstat_seq_show(host: Any) -> str:
    """``/proc/net/sockstat``: the sockets the processes hold (``sock_inuse_get``); TCP's hashed
    sockets, orphans, TIME-WAIT sockets, every TCP socket not yet freed (held, hashed or
    orphaned) and the pages they hold; UDP's hashed sockets and pages; raw's; the reassembly
    queues and their memory."""
    held = _held_sockets(host)
    tcp = [sk for sk in tcp_sockets(host) if sk.sk_state not in (TCP_TIME_WAIT, TCP_NEW_SYN_RECV)]
    tw = sum(1 for sk in tcp_sockets(host) if sk.sk_state == TCP_TIME_WAIT)
    alive = {id(sk): sk for sk in [*tcp, *host.tcp_orphans,
                                   *(sk for sk in held.values() if isinstance(sk, TcpSock))]}
    udp = [sk for socks in host.udp_table.values() for sk in socks]
    raw = sum(len(socks) for socks in (getattr(host, "raw_v4_hashinfo", None) or {}).values())
    fqdir = getattr(host, "ipv4_fqdir", None)
    return (f"sockets: used {len(held)}\n"
            f"TCP: inuse {len(tcp)} orphan {len(host.tcp_orphans)} tw {tw} alloc {len(alive)}"
            f" mem {sum(_pages(sk) for sk in alive.values())}\n"
            f"UDP: inuse {len(udp)} mem {sum(_pages(sk) for sk in udp)}\n"
            "UDPLITE: inuse 0\n"
            f"RAW: inuse {raw}\n"
            f"FRAG: inuse {len(fqdir.queues) if fqdir else 0} memory {fqdir.mem if fqdir else 0}\n")


def _held_sockets(host: Any) -> dict[int, Any]:
    """The sockets the host's processes hold, by inode: each one's ``sock`` (None for one
    without)."""
    held: dict[int, Any] = {}
    for pid, _, fd, ino in proc_socket_fds(host):
        held[ino] = host.processes[pid].files.fds[fd].private_data.sk
    return held


def fib_flag_trans(e: Any) -> int:
    """``fib_flag_trans``: a route's flags: up, through a gateway, to a host, rejecting."""
    flags = RTF_REJECT if e.type in (RTN_UNREACHABLE, RTN_PROHIBIT) else 0
    if e.gw:
        flags |= RTF_GATEWAY
    if e.plen == 32:
        flags |= RTF_HOST
    return flags | RTF_UP


def fib_route_seq_show(host: Any) -> str:
    """``/proc/net/route``: the main table in the order of its trie, but its broadcast and
    multicast routes; addresses as ``__be32`` printed in hex (``_be32``), the MTU column the
    route's advmss and 40, each line padded to 127 characters (``seq_setwidth``, ``seq_pad``)."""
    lines = ["Iface\tDestination\tGateway \tFlags\tRefCnt\tUse\tMetric\tMask\t\tMTU\tWindow\tIRTT"]
    for e in fib_route_dump(host, RT_TABLE_MAIN):
        if e.type in (RTN_BROADCAST, RTN_MULTICAST):
            continue
        lines.append(f"{e.dev.name if e.dev is not None else '*'}\t{_be32(e.dst)}\t{_be32(e.gw)}"
                     f"\t{fib_flag_trans(e):04X}\t0\t0\t{e.metric}\t{_be32(e.mask)}"
                     f"\t{e.advmss + 40 if e.advmss else 0}\t0\t0")
    return "".join(f"{line:<127}\n" for line in lines)


def arp_state_to_flags(n: Any) -> int:
    """``arp_state_to_flags``: complete, and permanent."""
    if n.nud_state & NUD_PERMANENT:
        return ATF_PERM | ATF_COM
    return ATF_COM if n.nud_state & NUD_VALID else 0


def pneigh_hash(key: int) -> int:
    """``pneigh_hash``: the proxy table's bucket of an address: its last four bytes read as a
    little-endian word (x86's), folded down to four bits."""
    hash_val = int.from_bytes(key.to_bytes(4, "big"), "little")
    hash_val ^= hash_val >> 16
    hash_val ^= hash_val >> 8
    hash_val ^= hash_val >> 4
    return hash_val & PNEIGH_HASHMASK


def arp_seq_show(host: Any) -> str:
    """``/proc/net/arp``: ``arp_format_neigh_entry`` for each entry of the cache (but those with
    no state or only NOARP: ``NEIGH_SEQ_SKIP_NOARP``), in the table's order, then
    ``arp_format_pneigh_entry`` for each proxied address, bucket by bucket of ``pneigh_hash``."""
    out = ["IP address       HW type     Flags       HW address            Mask     Device\n"]
    for n in host.arp_tbl.entries.values():
        if not n.nud_state & ~NUD_NOARP:
            continue
        hbuffer = n.ha[:n.dev.addr_len].hex(":")
        out.append(f"{in_ntoa(n.primary_key):<16} 0x{n.dev.type:<10x}0x{arp_state_to_flags(n):<10x}{hbuffer:<17s}"
                   f"     *        {n.dev.name}\n")
    for ifindex, key in sorted(host.arp_tbl.phash, key=lambda entry: (pneigh_hash(entry[1]), entry)):
        dev = host.dev_by_index[ifindex] if ifindex else None
        out.append(f"{in_ntoa(key):<16} 0x{dev.type if dev is not None else 0:<10x}0x{ATF_PUBL | ATF_PERM:<10x}"
                   f"00:00:00:00:00:00     *        {dev.name if dev is not None else '*'}\n")
    return "".join(out)


def igmp_mc_seq_show(host: Any) -> str:
    """``/proc/net/igmp``: for each device with groups, a line of its index, name, count of groups
    and the IGMP version its querier speaks, then a line for each group, newest first: the group
    (as ``__be32`` in hex), its users, whether its report timer runs and the clock ticks left on
    it, and whether this host sent the last report of it."""
    now = host.world.now
    out = ["Idx\tDevice    : Count Querier\tGroup    Users Timer\tReporter\n"]
    for dev in sorted(host.devices.values(), key=lambda d: d.ifindex):
        st = dev.ip_ptr.igmp if dev.ip_ptr is not None else None
        if st is None or not st.mc_list:
            continue
        querier = "V1" if igmp_v1_seen(st) else "V2" if igmp_v2_seen(st) else "V3"
        out.append(f"{dev.ifindex}\t{dev.name:<10}: {len(st.mc_list):5d} {querier:>7}\n")
        for im in reversed(st.mc_list.values()):
            running = im.timer is not None and im.timer.pending()
            out.append(f"\t\t\t\t{_be32(im.multiaddr)} {im.users:5d} {int(running)}:"
                       f"{_clock_t(im.timer.expires - now) if running else 0:08X}\t\t{int(im.reporter)}\n")
    return "".join(out)


def igmp_mcf_seq_show(host: Any) -> str:
    """``/proc/net/mcfilter``: a line for each source of a device's group (the groups newest
    first): the device's index and name (six characters at most), the group and the source (in
    hex, host order), and how many sockets include and exclude it.  As ``igmp_mcf_get_first``
    does, the listing starts at the first device whose newest group has sources."""
    out = ["Idx Device        MCA        SRC    INC    EXC\n"]
    started = False
    for dev in sorted(host.devices.values(), key=lambda d: d.ifindex):
        st = dev.ip_ptr.igmp if dev.ip_ptr is not None else None
        groups = list(reversed(st.mc_list.values())) if st is not None else []
        if not started:
            if not groups or not groups[0].sources:
                continue
            started = True
        out.extend(f"{dev.ifindex:3d} {dev.name[:6]:>6} 0x{im.multiaddr:08x} 0x{psf.sf_inaddr:08x} "
                   f"{psf.sf_count[1]:6d} {psf.sf_count[0]:6d}\n" for im in groups for psf in im.sources)
    return "".join(out)


# /proc/net's IPv4 files, by name
PROC_NET: dict[str, Callable[[Any], str]] = {
    "snmp": lambda host: snmp_seq_show(host.mib), "netstat": lambda host: netstat_seq_show(host.mib),
    "tcp": tcp4_seq_show, "udp": udp4_seq_show, "raw": raw_seq_show, "sockstat": sockstat_seq_show,
    "route": fib_route_seq_show, "arp": arp_seq_show, "igmp": igmp_mc_seq_show, "dev": dev_seq_show,
    "dev_mcast": dev_mc_seq_show, "mcfilter": igmp_mcf_seq_show,
}
