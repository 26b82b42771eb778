"""``tcpdump`` (4.99) as a program on a host: frames read from a packet socket, printed by
``tuxnet.trace.tcpdump``'s printers.

::

    tcpdump -i eth0 -c 2 -n icmp
    tcpdump: verbose output suppressed, use -v[v]... for full protocol decode
    listening on eth0, link-type EN10MB (Ethernet), snapshot length 262144 bytes
    00:00:01.000123 IP 10.0.0.1 > 10.0.0.2: ICMP echo request, id 1, seq 1, length 64
    00:00:01.000348 IP 10.0.0.2 > 10.0.0.1: ICMP echo reply, id 1, seq 1, length 64
    2 packets captured
    2 packets received by filter
    0 packets dropped by kernel

It opens ``socket(AF_PACKET, SOCK_RAW, htons(ETH_P_ALL))`` on the device (``-i``; else the first
one up that is not loopback), with SO_TIMESTAMPNS for each frame's time, and, as libpcap does,
leaves out what loopback sends (it hears it again coming in).  ``-i any`` captures every device
as libpcap does on Linux: a cooked ``socket(AF_PACKET, SOCK_DGRAM, htons(ETH_P_ALL))`` bound to
none, each packet given a DLT_LINUX_SLL2 header made of its ``sockaddr_ll`` (protocol, interface,
hardware type, packet type, link-layer address) and printed after its interface's name and
direction (``eth0  Out``, ``lo    In``, ``eth1  B``), the filter compiled for that header and moved
onto the kernel's ancillary data (``fix_program``), or run here when it reads what the kernel
does not have; such files read back (``-r``) name their interfaces by this host's, with
tcpdump's warning.  Without ``-n`` it prints names as
tcpdump does (``tuxnet.trace.addrtoname``): a host's from ``gethostbyaddr`` (/etc/hosts, then a
PTR query to the host's nameserver, which it may capture too), a port's from /etc/services, an
Ethernet address's from /etc/ethers or its vendor's; ``-N`` keeps a host name's first label.  It
runs until ``-c`` frames, or until SIGINT or SIGTERM (Ctrl-C; a topology run sends it SIGINT at
its end), whose handler breaks its loop, and then prints its counts.  Options: ``-i``, ``-c``,
``-n``, ``-N``, ``-e``, ``-v`` (``-vv``, ``-vvv``), ``-q``,
``-S``, ``-x``/``-xx``/``-X``/``-XX``/``-A``/``-AA`` (the bytes in hex, hex and ASCII, or ASCII),
``-M SECRET`` (TCP MD5 signatures checked with it), ``-t`` to ``-ttttt`` (no time, the
epoch's seconds, the time since the frame before, the date, the
time since the first), ``-s`` (the snapshot length: what is kept of each frame), ``-l`` (each
line as it comes: always so here), ``-p`` (no promiscuous mode; without it the device is put in it
while tcpdump runs), ``-w FILE`` (the frames into a pcap file, microsecond times, as tcpdump
writes it, instead of printed), ``-U`` (each frame in the file as it comes, not as the file's
buffer fills), ``-r FILE`` (the frames of a pcap file, Ethernet, raw IP or Linux cooked v2, printed, or with
``-w`` copied, instead of captured).  Capture files are on the machine tuxnet runs on, as a
topology's ``[[capture]]`` files are.

The filter is pcap-filter(7)'s, compiled as libpcap compiles it (``tuxnet.user.libpcap``: names
resolved by the host's C library) into a classic BPF program, which a live capture hands to the
kernel (``SO_ATTACH_FILTER``): the packet socket runs it on each frame and queues only what it
passes, and the counts at the end are the kernel's (``PACKET_STATISTICS``: on loopback each frame
passes the filter twice, going out and coming in).  A capture file's frames are filtered in user
space (``bpf_filter``).  ``-d``, ``-dd`` and ``-ddd`` print the program (as assembly, as C, as
decimal numbers) and exit, for the device's link type, the file's (``-r``), or Ethernet, with a
warning; ``-O`` turns libpcap's optimiser off; ``-F FILE`` reads the expression from a file (``#``
starts a comment), and ``-Q in|out|inout`` keeps the frames of one direction of a live capture.
"""

from __future__ import annotations

import os
import re
import struct
from collections.abc import Callable

from tuxnet.kernel.sched import current
from tuxnet.kernel.signal import SIGHUP, SIGINT, SIGTERM
from tuxnet.net.core.dev import ETH_P_8021Q, IFF_LOOPBACK, IFF_UP
from tuxnet.net.core.filter import SKF_AD_VLAN_TAG_PRESENT
from tuxnet.net.core.if_vlan import vlan_frame
from tuxnet.net.core.skbuff import PACKET_OUTGOING
from tuxnet.net.core.sock import SO_BPF_EXTENSIONS, SO_TIMESTAMPNS, SOL_SOCKET
from tuxnet.net.packet.af_packet import (
    ETH_P_ALL,
    PACKET_ADD_MEMBERSHIP,
    PACKET_AUXDATA,
    PACKET_MR_PROMISC,
    PACKET_STATISTICS,
    SOL_PACKET,
    TP_STATUS_VLAN_TPID_VALID,
    TP_STATUS_VLAN_VALID,
)
from tuxnet.net.socket import AF_PACKET, SOCK_DGRAM, SOCK_RAW, Msghdr
from tuxnet.trace.addrtoname import AddrToName
from tuxnet.trace.pcap import DLT_EN10MB, DLT_RAW, MAXIMUM_SNAPLEN, PcapError, PcapReader, PcapWriter
from tuxnet.trace.tcpdump import TcpdumpPrinter
from tuxnet.user import libc
from tuxnet.user.libpcap import DLT_LINUX_SLL2, FilterError, bpf_dump, pcap_compile
from tuxnet.user.libpcap.bpf_filter import bpf_filter
from tuxnet.user.libpcap.pcap_common import linktype_to_dlt
from tuxnet.user.libpcap.pcap_linux import set_kernel_filter, sll2_header

SNAPLEN = MAXIMUM_SNAPLEN
# pcap_direction_t, and -Q's words for it (any case)
PCAP_D_INOUT, PCAP_D_IN, PCAP_D_OUT = 0, 1, 2
DIRECTIONS = {"inout": PCAP_D_INOUT, "in": PCAP_D_IN, "out": PCAP_D_OUT}

# pcap_datalink_val_to_name and _to_description, for the link types a capture file may hold
LINK_TYPES = {0: ("NULL", "BSD loopback"), DLT_EN10MB: ("EN10MB", "Ethernet"), DLT_RAW: ("RAW", "Raw IP"),
              113: ("LINUX_SLL", "Linux cooked v1"), DLT_LINUX_SLL2: ("LINUX_SLL2", "Linux cooked v2")}
# the link types whose frames tcpdump prints and tuxnet's libpcap compiles filters for
PRINTABLE = (DLT_EN10MB, DLT_RAW, DLT_LINUX_SLL2)
# the pseudo-device capturing on every interface (pcap-linux.c: cooked, DLT_LINUX_SLL2)
ANY_DEVICE = "any"


def _link_type(dlt: int) -> str:
    """How tcpdump names a link type: ``EN10MB (Ethernet)``, or its number when it knows none."""
    known = LINK_TYPES.get(dlt)
    return f"{known[0]} ({known[1]})" if known else str(dlt)


class _Options:
    """tcpdump's command line, as its ``main`` reads it."""

    def __init__(self) -> None:
        self.device: str | None = None
        self.count = 0
        self.snaplen = SNAPLEN
        self.read_file: str | None = None
        self.write_file: str | None = None
        self.packet_buffered = False
        self.promisc = True
        self.numeric = False
        self.strip_domain = False
        self.printer = TcpdumpPrinter()
        self.expression = ""
        self.optimize = True
        self.dump_code = 0  # -d, -dd, -ddd: the compiled program printed, nothing captured
        self.infile: str | None = None  # -F: the expression read from this file
        self.direction = PCAP_D_INOUT  # -Q
        self.program: list[tuple[int, int, int, int]] = []


def _parse(argv: list[str]) -> _Options | str:
    """The options and the compiled filter, or the line tcpdump prints as it exits with 1."""
    opts = _Options()
    link_level = absolute = quick = False
    verbose = tflag = 0
    hex_dump = ""
    sigsecret = None
    words: list[str] = []
    try:
        for flag, value in libc.getopt("tcpdump", argv, "i:c:s:r:w:F:Q:M:nNeSvpqxXAtlUdO", words):
            if flag == "i":
                opts.device = value
            elif flag == "r":
                opts.read_file = value
            elif flag == "w":
                opts.write_file = value
            elif flag == "F":
                opts.infile = value
            elif flag == "M":
                sigsecret = value.encode()
            elif flag == "Q":
                if value.lower() not in DIRECTIONS:
                    return f"tcpdump: unknown capture direction `{value}'\n"
                opts.direction = DIRECTIONS[value.lower()]
            elif flag == "s":
                # (int) strtol(optarg, &end, 0): a whole number, 0x hexadecimal or 0 octal
                number, end, _ = libc.strtol(value, base=0)
                snaplen = libc.c_int(number)
                if end == 0 or end != len(value) or not 0 <= snaplen <= SNAPLEN:
                    return f"tcpdump: invalid snaplen {value} (must be >= 0 and <= {SNAPLEN})\n"
                opts.snaplen = snaplen or SNAPLEN
            elif flag == "c":
                opts.count = libc.atoi(value)  # what follows the number is let be
                if opts.count <= 0:
                    return f"tcpdump: invalid packet count {value}\n"
            link_level |= flag == "e"
            verbose += flag == "v"
            absolute |= flag == "S"
            quick |= flag == "q"
            opts.promisc &= flag != "p"
            opts.packet_buffered |= flag == "U"
            opts.dump_code += flag == "d"
            opts.optimize &= flag != "O"
            opts.numeric |= flag == "n"
            opts.strip_domain |= flag == "N"
            if flag in "xXA" and len(hex_dump) < 2:
                hex_dump += flag
            tflag += flag == "t"
    except libc.GetoptError as error:
        return f"{error}\n"
    if opts.write_file == "-" or opts.read_file == "-":
        return "tcpdump: tuxnet's tcpdump reads and writes capture files, not its standard input or output\n"
    opts.expression = " ".join(words)
    # -X wins over -x, and -x over -A, as in print.c; two of one include the link-level header
    hex_dump = next((letter * len(hex_dump) for letter in "XxA" if letter in hex_dump), "")
    opts.printer = TcpdumpPrinter(link_level=link_level, verbose=verbose, absolute_seq=absolute,
                                  hex_dump=hex_dump, tflag=min(tflag, 5), quick=quick, sigsecret=sigsecret)
    return opts


def _compile(opts: _Options, linktype: int, snaplen: int, special_vlan_handling: bool = False) -> str | None:
    """``pcap_compile`` of the expression for the link type, with the snapshot length its
    accepting returns keep, optimised unless ``-O``; the line tcpdump prints for one it refuses.
    The netmask is 0: tcpdump 4.99 asks for the device's (``pcap_lookupnet``) only under ``-f``,
    so ``ip broadcast`` takes all-zeros and all-ones addresses.  ``special_vlan_handling``: a
    live capture's ``vlan`` also reads the tag the kernel took out of the frame."""
    if opts.infile is not None:
        try:
            opts.expression = _read_infile(opts.infile)
        except OSError as error:
            return f"tcpdump: {error}\n"
    if linktype not in PRINTABLE:
        if opts.expression.strip():
            return (f"tcpdump: tuxnet's libpcap compiles filters for Ethernet, raw IP and Linux cooked v2, "
                    f"not link-type {_link_type(linktype)}\n")
        linktype = DLT_EN10MB  # no expression: the one program that accepts every frame, for any link type
    try:
        opts.program = pcap_compile(opts.expression, optimize=opts.optimize, netmask=0, snaplen=snaplen,
                                    linktype=linktype_to_dlt(linktype), resolve_host=_gethostbyname,
                                    resolve_port=_getservbyname, resolve_proto=_getprotobyname,
                                    resolve_net=_getnetbyname, savefile=opts.read_file is not None,
                                    special_vlan_handling=special_vlan_handling)
    except FilterError as error:
        reason = str(error)
        prefix = "can't parse filter expression: " if reason == "syntax error" else ""
        return f"tcpdump: {prefix}{reason}\n"
    return None


def tcpdump_main(argv: list[str]) -> int:
    """``tcpdump`` as a program: 0 once it has captured ``-c`` frames, read its file to the end,
    or is stopped (SIGINT, SIGTERM); 1 for what it refuses."""
    opts = _parse(argv)
    if isinstance(opts, str):
        libc.printf("%s", opts)
        return 1
    if not opts.numeric:
        opts.printer.names = _addrtoname(opts)
    opts.printer.if_indextoname = _if_indextoname  # (a cooked capture's interfaces: -i any, LINUX_SLL2)
    if opts.read_file is not None:
        return _read_savefile(opts)
    if opts.dump_code and opts.device is None:
        # no device to take the link type from: pcap_open_dead(DLT_EN10MB, snaplen)
        libc.printf("Warning: assuming Ethernet\n")
        return _dump_code(opts, DLT_EN10MB, opts.snaplen)
    return _capture(opts)


def _read_infile(path: str) -> str:
    """``read_infile``: the expression ``-F`` names, each ``#`` to its line's end made blanks (the
    command line's words are then ignored, as tcpdump ignores them).  The file is on the machine
    tuxnet runs on, as ``-r``'s and ``-w``'s are.  OSError carries tcpdump's message."""
    try:
        fd = os.open(path, os.O_RDONLY)
    except OSError as error:
        raise OSError(f"can't open {path}: {error.strerror}") from None
    try:
        text = os.read(fd, os.fstat(fd).st_size).decode("latin-1")
    except OSError as error:
        raise OSError(f"read {path}: {error.strerror}") from None
    finally:
        os.close(fd)
    return re.sub(r"#[^\n]*", lambda comment: " " * len(comment.group()), text)


def _dump_code(opts: _Options, linktype: int, snaplen: int, special_vlan_handling: bool = False) -> int:
    """``tcpdump -d``: the compiled program printed as ``bpf_dump`` prints it, and exit."""
    refused = _compile(opts, linktype, snaplen, special_vlan_handling)
    if refused is not None:
        libc.printf("%s", refused)
        return 1
    libc.printf("%s", bpf_dump(opts.program, opts.dump_code))
    return 0


def _gethostbyname(name: str) -> list[int] | None:
    """pcap_nametoaddr: a host name's IPv4 addresses."""
    try:
        return [int.from_bytes(bytes(int(part) for part in addr.split(".")), "big")
                for addr in libc.gethostbyname(name).h_addr_list]
    except OSError:
        return None


def _or_none(lookup: Callable[..., int]) -> Callable[..., int | None]:
    """A C library lookup as libpcap's name functions use it: its number, or None where it
    finds nothing (``pcap_nametoport``'s service, ``pcap_nametoproto``'s protocol,
    ``pcap_nametonetaddr``'s network)."""
    def resolve(*args: str) -> int | None:
        try:
            return lookup(*args)
        except OSError:
            return None
    return resolve


_getservbyname = _or_none(libc.getservbyname)
_getprotobyname = _or_none(libc.getprotobyname)
_getnetbyname = _or_none(libc.getnetbyname)


def _gethostbyaddr(addr: str) -> str | None:
    try:
        return libc.gethostbyaddr(addr).h_name
    except OSError:
        return None


def _ethers() -> dict[bytes, str]:
    """``/etc/ethers`` (ether_ntohost's file): each ``MAC NAME`` line."""
    try:
        text = libc.read_file("/etc/ethers")
    except FileNotFoundError:
        return {}
    table = {}
    for line in (text.decode("latin-1") if isinstance(text, bytes) else text).splitlines():
        fields = line.split("#", 1)[0].split()
        parts = fields[0].split(":") if len(fields) == 2 else []
        if len(parts) == 6 and all(re.fullmatch(r"[0-9a-fA-F]{1,2}", part) for part in parts):
            table.setdefault(bytes(int(part, 16) for part in parts), fields[1])
    return table


def _addrtoname(opts: _Options) -> AddrToName:
    """``init_addrtoname``, without ``-n``: the services file read now, hosts asked as they come."""
    services = [(name, port, proto) for name, port, proto, _ in libc.getservent()]
    return AddrToName(_gethostbyaddr, services, _ethers(), strip_domain=opts.strip_domain)


def _open_dump(opts: _Options, linktype: int, snaplen: int) -> PcapWriter | None:
    """``pcap_dump_open``: the ``-w`` file, microsecond times as tcpdump writes them; None (the
    error printed) when it cannot be created.  The file is on the machine tuxnet runs on, as a
    ``[[capture]]``'s pcap is."""
    try:
        return PcapWriter(opts.write_file or "", linktype, snaplen, nanosecond=False)
    except OSError as error:
        libc.printf("tcpdump: %s: %s\n", opts.write_file, error.strerror)
        return None


def _dump(writer: PcapWriter, opts: _Options, ts_ns: int, frame: bytes, length: int) -> None:
    """``pcap_dump``: one record, flushed at once under ``-U`` (else as the file's buffer fills)."""
    sec, usec = divmod(ts_ns // 1000, 1_000_000)
    writer.write_record(sec, usec, frame, length)
    if opts.packet_buffered:
        writer.flush()


def _read_savefile(opts: _Options) -> int:
    """``tcpdump -r FILE``: the file's records that match, printed (or copied to ``-w``'s file),
    until its end or ``-c``; a record libpcap stops at ends the run with its message."""
    path = opts.read_file or ""
    try:
        f = open(path, "rb")  # noqa: SIM115 - closed in the finally below
    except OSError as error:
        libc.printf("tcpdump: %s: %s\n", path, error.strerror)
        return 1
    writer = None
    try:
        try:
            reader = PcapReader(f)
        except PcapError as error:
            libc.printf("tcpdump: %s\n", error)
            return 1
        libc.printf("reading from file %s, link-type %s, snapshot length %d\n", path, _link_type(reader.linktype),
                    reader.snaplen)
        if reader.linktype == DLT_LINUX_SLL2:
            # the file's interface indexes are named by this host's interfaces
            libc.printf("Warning: interface names might be incorrect\n")
        if opts.dump_code:
            return _dump_code(opts, reader.linktype, reader.snaplen)
        refused = _compile(opts, reader.linktype, reader.snaplen)
        if refused is not None:
            libc.printf("%s", refused)
            return 1
        if opts.write_file is None and reader.linktype not in PRINTABLE:
            libc.printf("tcpdump: packet printing is not supported for link type %d: use -w\n", reader.linktype)
            return 1
        if opts.write_file is not None:
            writer = _open_dump(opts, reader.linktype, reader.snaplen)
            if writer is None:
                return 1
        printer = opts.printer
        printer.linktype = reader.linktype
        captured = 0
        try:
            for ts, frame, length in reader:
                if bpf_filter(opts.program, frame, length):  # pcap_offline_filter
                    if writer is not None:
                        _dump(writer, opts, ts, frame, length)
                    else:
                        libc.printf("%s\n", printer.format(ts, frame, length))
                    captured += 1
                    if captured == opts.count:
                        break
        except PcapError as error:
            libc.printf("tcpdump: pcap_loop: %s\n", error)
            return 1
        return 0
    finally:
        if writer is not None:
            writer.close()
        f.close()


def _if_nametoindex(name: str) -> int:
    """``if_nametoindex(3)`` (SIOCGIFINDEX) on the host tcpdump runs on: 0 for no such device."""
    dev = current().host.devices.get(name)
    return dev.ifindex if dev is not None else 0


def _if_indextoname(ifindex: int) -> str | None:
    """``if_indextoname(3)`` (SIOCGIFNAME) on the host tcpdump runs on: None for no such index."""
    dev = current().host.dev_by_index.get(ifindex)
    return dev.name if dev is not None else None


def _capture(opts: _Options) -> int:
    """A live capture on ``-i``'s device (else the first one up that is not loopback), or on
    every one (``any``: a cooked SOCK_DGRAM socket bound to none, its packets given libpcap's
    DLT_LINUX_SLL2 header; ``-p`` implied, as pcap-linux.c turns promiscuous mode off there):
    frames printed, or written to ``-w``'s file, until ``-c`` frames or a SIGINT or SIGTERM,
    whose handler breaks the loop (``pcap_breakloop``); then tcpdump's counts."""
    host = current().host
    device = opts.device
    if device is None:
        up = [d for d in sorted(host.devices.values(), key=lambda d: d.ifindex)
              if d.flags & IFF_UP and not d.flags & IFF_LOOPBACK]
        device = up[0].name if up else "lo"
    cooked = device == ANY_DEVICE
    dev = host.devices.get(device)
    if dev is None and not cooked:
        libc.printf("tcpdump: %s: No such device exists\n(No such device exists)\n", device)
        return 1
    linktype = DLT_EN10MB
    if cooked:
        # tcpdump asks libpcap for LINUX_SLL2 on "any" (pcap_set_datalink), and says so
        linktype = opts.printer.linktype = DLT_LINUX_SLL2
        libc.printf("tcpdump: data link type %s\n", LINK_TYPES[linktype][0])
    fd = libc.socket(AF_PACKET, SOCK_DGRAM if cooked else SOCK_RAW,
                     int.from_bytes(ETH_P_ALL.to_bytes(2, "big"), "little"))
    writer = None
    try:
        if dev is not None:
            libc.bind(fd, (device, ETH_P_ALL))
        # (on "any", libpcap binds to interface index 0, which Python's AF_PACKET addresses cannot
        # name: the socket, made hearing ETH_P_ALL, already hears every device)
        # pcap_activate: a kernel whose BPF extensions reach the VLAN tag's gets vlan tests that
        # read the tag it took out of the frame (BPF_SPECIAL_VLAN_HANDLING)
        special_vlan = libc.getsockopt(fd, SOL_SOCKET, SO_BPF_EXTENSIONS) >= SKF_AD_VLAN_TAG_PRESENT
        if opts.dump_code:
            return _dump_code(opts, linktype, opts.snaplen, special_vlan)
        refused = _compile(opts, linktype, opts.snaplen, special_vlan)
        if refused is not None:
            libc.printf("%s", refused)
            return 1
        libc.setsockopt(fd, SOL_SOCKET, SO_TIMESTAMPNS, 1)
        libc.setsockopt(fd, SOL_PACKET, PACKET_AUXDATA, 1)  # (a received frame's VLAN tag)
        in_kernel = set_kernel_filter(fd, opts.program, cooked)
        if opts.promisc and dev is not None and not dev.flags & IFF_LOOPBACK:
            libc.setsockopt(fd, SOL_PACKET, PACKET_ADD_MEMBERSHIP,
                            struct.pack("=iHH8s", dev.ifindex, PACKET_MR_PROMISC, 0, b""))
        if opts.write_file is not None:
            writer = _open_dump(opts, linktype, opts.snaplen)
            if writer is None:
                return 1
        stop: list[int] = []
        for sig in (SIGINT, SIGTERM, SIGHUP):  # (SIGHUP too, "cooperating with nohup(1)")
            libc.sigaction(sig, stop.append)  # setsignal(SIGINT, cleanup): no SA_RESTART
        if not opts.printer.verbose and writer is None:
            libc.printf("tcpdump: verbose output suppressed, use -v[v]... for full protocol decode\n")
        libc.printf("%slistening on %s, link-type %s, snapshot length %d bytes\n",
                    "tcpdump: " if opts.printer.verbose or writer is not None else "", device,
                    _link_type(linktype), opts.snaplen)
        captured = 0
        lo_ifindex = _if_nametoindex("lo")
        while not stop and (not opts.count or captured < opts.count):
            try:
                frame, stamp = _next_frame(fd, lo_ifindex, opts.direction, cooked)
            except InterruptedError:
                continue
            if frame is not None and (in_kernel or bpf_filter(opts.program, frame, len(frame))):
                if writer is not None:
                    _dump(writer, opts, stamp, frame[:opts.snaplen], len(frame))
                else:
                    libc.printf("%s\n", opts.printer.format(stamp, frame[:opts.snaplen], len(frame)))
                captured += 1
        if stop and writer is None:
            libc.printf("\n")  # pcap_loop broken off (-2): tcpdump ends a line it may have been printing
        # pcap_stats: what the kernel's filter passed (tp_packets, both copies of a frame on
        # loopback, those still queued too) and what the socket's full buffer dropped (tp_drops)
        received, dropped = struct.unpack("=II", libc.getsockopt(fd, SOL_PACKET, PACKET_STATISTICS))
    finally:
        if writer is not None:
            writer.close()
        libc.close(fd)
    libc.printf("%d packet%s captured\n%d packet%s received by filter\n%d packet%s dropped by kernel\n",
                captured, "" if captured == 1 else "s", received, "" if received == 1 else "s",
                dropped, "" if dropped == 1 else "s")
    return 0


def _next_frame(fd: int, lo_ifindex: int, direction: int, cooked: bool) -> tuple[bytes | None, int]:
    """The next frame and its time (SO_TIMESTAMPNS); None for one libpcap leaves out
    (``linux_check_direction``): what loopback sends (it hears it again coming in), and what
    ``-Q`` does not ask for.  A cooked socket's packet gets the DLT_LINUX_SLL2 header made of its
    ``sockaddr_ll`` (``pcap_handle_packet_mmap``); an Ethernet frame the VLAN tag the kernel
    took out of it, back after its two addresses (``pcap_read_packet``, from PACKET_AUXDATA)."""
    msg = Msghdr(msg_control=[])
    frame = libc.recvmsg(fd, msg, SNAPLEN, 0)
    ifname, protocol, pkttype, hatype, addr = msg.msg_name
    ifindex = _if_nametoindex(ifname)
    outgoing = pkttype == PACKET_OUTGOING
    if outgoing and (ifindex == lo_ifindex or direction == PCAP_D_IN) or not outgoing and direction == PCAP_D_OUT:
        return None, 0
    stamp = next((int.from_bytes(data[:8], "little") * 1_000_000_000 + int.from_bytes(data[8:16], "little")
                  for level, _, data in msg.msg_control if level == SOL_SOCKET), 0)
    if cooked:
        return sll2_header(protocol, ifindex, hatype, pkttype, addr) + bytes(frame), stamp
    for level, kind, data in msg.msg_control:
        if level == SOL_PACKET and kind == PACKET_AUXDATA:
            status, _, _, _, _, tci, tpid = struct.unpack("=IIIHHHH", data)
            if (tci or status & TP_STATUS_VLAN_VALID) and len(frame) >= 12:  # VLAN_VALID
                tpid = tpid if tpid or status & TP_STATUS_VLAN_TPID_VALID else ETH_P_8021Q
                return vlan_frame(bytes(frame), tpid, tci), stamp
    return bytes(frame), stamp
