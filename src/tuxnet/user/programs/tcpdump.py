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
leaves out what loopback sends (it hears it again coming in).  Without ``-n`` it prints names as
tcpdump does (``tuxnet.trace.addrtoname``): a host's from ``gethostbyaddr`` (/etc/hosts, then a
PTR query to the host's nameserver, which it may capture too), a port's from /etc/services, an
Ethernet address's from /etc/ethers or its vendor's; ``-N`` keeps a host name's first label.  It
runs until ``-c`` frames, or until SIGINT or SIGTERM (Ctrl-C; a topology run sends it SIGINT at
its end), whose handler breaks its loop, and then prints its counts.  Options: ``-i``, ``-c``,
``-n``, ``-N``, ``-e``, ``-v`` (``-vv``, ``-vvv``), ``-q``,
``-S``, ``-x``/``-xx``/``-X``/``-XX``/``-A``/``-AA`` (the bytes in hex, hex and ASCII, or ASCII),
``-t`` to ``-ttttt`` (no time, the epoch's seconds, the time since the frame before, the date, the
time since the first), ``-s`` (the snapshot length: what is kept of each frame), ``-l`` (each
line as it comes: always so here), ``-p`` (no promiscuous mode; without it the device is put in it
while tcpdump runs), ``-w FILE`` (the frames into a pcap file, microsecond times, as tcpdump
writes it, instead of printed), ``-U`` (each frame in the file as it comes, not as the file's
buffer fills), ``-r FILE`` (the frames of a pcap file, Ethernet or raw IP, printed, or with
``-w`` copied, instead of captured).  Capture files are on the machine tuxnet runs on, as a
topology's ``[[capture]]`` files are.  The filter is pcap-filter's (``tuxnet.user.pcap_filter``:
qualified primitives, byte loads and arithmetic, names resolved by the host's C library).
"""

from __future__ import annotations

import re
import struct

from tuxnet.kernel.sched import current
from tuxnet.kernel.signal import SIGINT, SIGTERM
from tuxnet.net.core.dev import IFF_LOOPBACK, IFF_UP
from tuxnet.net.core.skbuff import PACKET_OUTGOING
from tuxnet.net.core.sock import SO_TIMESTAMPNS, SOL_SOCKET
from tuxnet.net.packet.af_packet import ETH_P_ALL, PACKET_ADD_MEMBERSHIP, PACKET_MR_PROMISC, SOL_PACKET
from tuxnet.net.socket import AF_PACKET, MSG_DONTWAIT, SOCK_RAW, Msghdr
from tuxnet.trace.addrtoname import AddrToName
from tuxnet.trace.pcap import DLT_EN10MB, DLT_RAW, MAXIMUM_SNAPLEN, PcapError, PcapReader, PcapWriter
from tuxnet.trace.tcpdump import TcpdumpPrinter
from tuxnet.user import libc
from tuxnet.user.pcap_filter import Filter, FilterError, compile_filter

SNAPLEN = MAXIMUM_SNAPLEN

# pcap_datalink_val_to_name and _to_description, for the link types a capture file may hold
LINK_TYPES = {0: ("NULL", "BSD loopback"), DLT_EN10MB: ("EN10MB", "Ethernet"), DLT_RAW: ("RAW", "Raw IP"),
              113: ("LINUX_SLL", "Linux cooked v1"), 276: ("LINUX_SLL2", "Linux cooked v2")}


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
        self.filter: Filter = compile_filter("")


def _parse(argv: list[str]) -> _Options | str:
    """The options and the compiled filter, or the line tcpdump prints as it exits with 1."""
    opts = _Options()
    link_level = absolute = quick = False
    verbose = tflag = 0
    hex_dump = ""
    words: list[str] = []
    try:
        for flag, value in libc.getopt("tcpdump", argv, "i:c:s:r:w:nNeSvpqxXAtlU", words):
            if flag == "i":
                opts.device = value
            elif flag == "r":
                opts.read_file = value
            elif flag == "w":
                opts.write_file = value
            elif flag == "s":
                snaplen = int(value) if re.fullmatch(r"-?[0-9]+", value) else -1
                if not 0 <= snaplen <= SNAPLEN:
                    return f"tcpdump: invalid snaplen {value} (must be >= 0 and <= {SNAPLEN})\n"
                opts.snaplen = snaplen or SNAPLEN
            elif flag == "c":
                opts.count = int(value) if value.isdigit() else 0
                if opts.count <= 0:
                    return f"tcpdump: invalid packet count {value}\n"
            link_level |= flag == "e"
            verbose += flag == "v"
            absolute |= flag == "S"
            quick |= flag == "q"
            opts.promisc &= flag != "p"
            opts.packet_buffered |= flag == "U"
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
                                  hex_dump=hex_dump, tflag=min(tflag, 5), quick=quick)
    return opts


def _compile(opts: _Options, netmask: int) -> str | None:
    """``pcap_compile`` of the expression, with the device's netmask (0 for a file); the line
    tcpdump prints for one it refuses."""
    try:
        opts.filter = compile_filter(opts.expression, resolve_host=_gethostbyname, resolve_port=_getservbyname,
                                     netmask=netmask)
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
    if opts.read_file is not None:
        return _read_savefile(opts)
    return _capture(opts)


def _gethostbyname(name: str) -> list[int] | None:
    """pcap_nametoaddr: a host name's IPv4 addresses."""
    try:
        return [int.from_bytes(bytes(int(part) for part in addr.split(".")), "big")
                for addr in libc.gethostbyname(name).h_addr_list]
    except OSError:
        return None


def _getservbyname(name: str, proto: str) -> int | None:
    """pcap_nametoport's lookup of a service name."""
    try:
        return libc.getservbyname(name, proto)
    except OSError:
        return None


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
        refused = _compile(opts, 0)
        if refused is not None:
            libc.printf("%s", refused)
            return 1
        if opts.write_file is None and reader.linktype not in (DLT_EN10MB, DLT_RAW):
            libc.printf("tcpdump: packet printing is not supported for link type %d: use -w\n", reader.linktype)
            return 1
        if opts.write_file is not None:
            writer = _open_dump(opts, reader.linktype, reader.snaplen)
            if writer is None:
                return 1
        printer = opts.printer
        printer.linktype = reader.linktype
        # the filter reads Ethernet frames: a file of raw IP is read as if each had its header
        link = b"\0" * 12 + b"\x08\x00" if reader.linktype == DLT_RAW else b""
        captured = 0
        try:
            for ts, frame, length in reader:
                if reader.linktype not in (DLT_EN10MB, DLT_RAW) or opts.filter(link + frame, length + len(link)):
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


def _capture(opts: _Options) -> int:
    """A live capture on ``-i``'s device (else the first one up that is not loopback): frames
    printed, or written to ``-w``'s file, until ``-c`` frames or a SIGINT or SIGTERM, whose
    handler breaks the loop (``pcap_breakloop``); then tcpdump's counts."""
    host = current().host
    device = opts.device
    if device is None:
        up = [d for d in sorted(host.devices.values(), key=lambda d: d.ifindex)
              if d.flags & IFF_UP and not d.flags & IFF_LOOPBACK]
        device = up[0].name if up else "lo"
    dev = host.devices.get(device)
    if dev is None:
        libc.printf("tcpdump: %s: No such device exists\n(No such device exists)\n", device)
        return 1
    # pcap_lookupnet: the device's first IPv4 address's netmask (SIOCGIFNETMASK), else 0
    addresses = dev.ip_ptr.ifa_list if dev.ip_ptr is not None else []
    refused = _compile(opts, addresses[0].mask if addresses else 0)
    if refused is not None:
        libc.printf("%s", refused)
        return 1
    fd = libc.socket(AF_PACKET, SOCK_RAW, int.from_bytes(ETH_P_ALL.to_bytes(2, "big"), "little"))
    writer = None
    try:
        libc.bind(fd, (device, ETH_P_ALL))
        libc.setsockopt(fd, SOL_SOCKET, SO_TIMESTAMPNS, 1)
        if opts.promisc and not dev.flags & IFF_LOOPBACK:
            libc.setsockopt(fd, SOL_PACKET, PACKET_ADD_MEMBERSHIP,
                            struct.pack("=iHH8s", dev.ifindex, PACKET_MR_PROMISC, 0, b""))
        if opts.write_file is not None:
            writer = _open_dump(opts, DLT_EN10MB, opts.snaplen)
            if writer is None:
                return 1
        stop: list[int] = []
        for sig in (SIGINT, SIGTERM):
            libc.sigaction(sig, stop.append)  # setsignal(SIGINT, cleanup): no SA_RESTART
        if not opts.printer.verbose and writer is None:
            libc.printf("tcpdump: verbose output suppressed, use -v[v]... for full protocol decode\n")
        libc.printf("%slistening on %s, link-type EN10MB (Ethernet), snapshot length %d bytes\n",
                    "tcpdump: " if opts.printer.verbose or writer is not None else "", device, opts.snaplen)
        captured = matched = 0
        loopback = bool(dev.flags & IFF_LOOPBACK)
        while not stop and (not opts.count or captured < opts.count):
            try:
                frame, stamp = _next_frame(fd, loopback, 0)
            except InterruptedError:
                continue
            if frame is not None and opts.filter(frame, len(frame)):
                matched += 1
                if writer is not None:
                    _dump(writer, opts, stamp, frame[:opts.snaplen], len(frame))
                else:
                    libc.printf("%s\n", opts.printer.format(stamp, frame[:opts.snaplen], len(frame)))
                captured += 1
        # "received by filter" is what the kernel's filter passed (tp_packets): the frames still
        # queued that match count too
        while (frame := _next_frame(fd, loopback, MSG_DONTWAIT)[0]) != b"":
            matched += frame is not None and opts.filter(frame, len(frame))
    finally:
        if writer is not None:
            writer.close()
        libc.close(fd)
    libc.printf("%d packet%s captured\n%d packet%s received by filter\n0 packets dropped by kernel\n",
                captured, "" if captured == 1 else "s", matched, "" if matched == 1 else "s")
    return 0


def _next_frame(fd: int, loopback: bool, flags: int) -> tuple[bytes | None, int]:
    """The next frame and its time (SO_TIMESTAMPNS); None for one libpcap leaves out (what
    loopback sends: it hears it again coming in), ``b""`` when none is queued (MSG_DONTWAIT)."""
    msg = Msghdr(msg_control=[])
    try:
        frame = libc.recvmsg(fd, msg, SNAPLEN, flags)
    except BlockingIOError:
        return b"", 0
    if loopback and msg.msg_name[2] == PACKET_OUTGOING:
        return None, 0
    stamp = next((int.from_bytes(data[:8], "little") * 1_000_000_000 + int.from_bytes(data[8:16], "little")
                  for level, _, data in msg.msg_control if level == SOL_SOCKET), 0)
    return bytes(frame), stamp
