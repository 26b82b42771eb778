"""``ss`` (iproute2): the host's TCP, UDP and raw sockets, from ``inet_diag``
(net/ipv4/inet_diag.py), ``udp_diag`` (net/ipv4/udp_diag.py) and ``raw_diag``
(net/ipv4/raw_diag.py).

    ss [-t] [-u] [-w] [-4] [-a | -l] [-n] [-i] [-m] [-p] [-o] [-e] [-H] [FILTER]
    ss -s

Columns as ss.c lays them out (``render_calc_width``): Netid (with more than one of -t, -u and
-w), State, Recv-Q
and Send-Q left-aligned, the local and peer addresses right-aligned up to their colon and the ports
left-aligned after it, each column as wide as its widest cell (heading included), one space
between; without ``-n`` a port in ``/etc/services`` shows its name, and a raw socket's protocol
(its "port") its name in ``/etc/protocols`` or ``ipproto-N`` (``inet_proto_n2a``).  The last
column, Process, holds the rest: ``-p`` the processes holding the socket, ``-o`` its timer,
``-e`` its inode, cookie, mark and shutdown state, and ``-i`` and ``-m`` a second line, a tab
and then each TCP socket's TCP_INFO (``-i``) after each socket's memory (``-m``,
``skmem:(r,rb,t,tb,f,w,o,bl,d)``, ``print_skmeminfo``: receive memory and buffer, send memory
held and buffer, forward allocation, write queue, option memory, backlog, drops).  Like ss,
which pads every cell of a column to the column's width, the second lines count in the last
column's width and are padded to it.  A UDP socket's queues are the memory (truesize) of its
unread datagrams and of its sent ones a qdisc still holds.
``tests/apps/test_app_ss.py`` compares the table with this machine's ss.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from tuxnet.kernel.fs import proc_socket_fds
from tuxnet.net.ipv4.inet_diag import SS_STATE, DiagRecord, inet_diag_dump
from tuxnet.net.ipv4.raw_diag import raw_diag_dump
from tuxnet.net.ipv4.tcp_sock import TCP_LISTEN, TCP_STATE_NAMES
from tuxnet.net.ipv4.udp_diag import udp_diag_dump
from tuxnet.user import libc
from tuxnet.user.ssfilter import (
    SS_ALL,
    SS_CLOSE,
    SS_CONN,
    SS_ESTABLISHED,
    SS_LISTEN,
    SsFilterError,
    parse_ssfilter,
    parse_states,
)

# (heading, right-aligned, space before)
_COLUMNS = (("State", False, ""), ("Recv-Q", False, " "), ("Send-Q", False, " "), ("Local Address:", True, " "),
            ("Port", False, ""), ("Peer Address:", True, " "), ("Port", False, ""), ("Process", False, ""))


def _port(port: int, numeric: bool, proto: str = "tcp") -> str:
    """A port as ss shows it: ``*`` for none, else its name for ``proto`` in /etc/services
    (``resolve_service``) unless ``numeric``; a raw socket's protocol by its name
    (``inet_proto_n2a``)."""
    if numeric or not port:
        return str(port) if port else "*"
    from tuxnet.user.resolv import getprotobynumber, getservbyport

    try:
        return getprotobynumber(port) if proto == "raw" else getservbyport(port, proto)
    except OSError:
        return f"ipproto-{port}" if proto == "raw" else str(port)


def sprint_bw(bw: float, numeric: bool) -> str:
    """``sprint_bw``: bits per second, as a plain number with ``-n``, else in K or M."""
    if numeric:
        return f"{bw:.0f}"
    if bw > 1_000_000:
        return f"{bw / 1_000_000:.1f}M"
    if bw > 1000:
        return f"{bw / 1000:.1f}K"
    return f"{bw:g}"


def _counts(parts: list[str], pairs: tuple[tuple[str, int], ...]) -> None:
    """``NAME:VALUE`` for each value that is not zero."""
    parts += [f"{name}:{value}" for name, value in pairs if value]


def tcp_info_text(r: DiagRecord, numeric: bool = True) -> str:
    """What ``ss -i`` prints of a TCP socket's TCP_INFO after the tab of its second line
    (``tcp_show_info`` and ``tcp_stats_print`` in ss.c, iproute2 6.1): each field only when it is
    not zero, in ss's order, times in ms."""
    i = r.info
    assert i is not None
    parts = [r.ca] if r.ca else []
    if i.tcpi_options & 4:
        parts.append(f"wscale:{i.tcpi_snd_wscale},{i.tcpi_rcv_wscale}")
    if i.tcpi_rto:
        parts.append(f"rto:{i.tcpi_rto / 1000:g}")
    if i.tcpi_backoff:
        parts.append(f"backoff:{i.tcpi_backoff}")
    if i.tcpi_rtt:
        parts.append(f"rtt:{i.tcpi_rtt / 1000:g}/{i.tcpi_rttvar / 1000:g}")
    if i.tcpi_ato:
        parts.append(f"ato:{i.tcpi_ato / 1000:g}")
    _counts(parts, (("mss", i.tcpi_snd_mss), ("pmtu", i.tcpi_pmtu), ("rcvmss", i.tcpi_rcv_mss),
                    ("advmss", i.tcpi_advmss), ("cwnd", i.tcpi_snd_cwnd)))
    if 0 < i.tcpi_snd_ssthresh < 0xFFFF:
        parts.append(f"ssthresh:{i.tcpi_snd_ssthresh}")
    _counts(parts, tuple((name, getattr(i, "tcpi_" + name)) for name in (
        "bytes_sent", "bytes_retrans", "bytes_acked", "bytes_received", "segs_out", "segs_in", "data_segs_out",
        "data_segs_in")))
    if r.bbr_info is not None:
        b = r.bbr_info
        bbr = (f"bbr:(bw:{sprint_bw(((b.bbr_bw_hi << 32) | b.bbr_bw_lo) * 8.0, numeric)}bps,"
               f"mrtt:{b.bbr_min_rtt / 1000:g}")
        if b.bbr_pacing_gain:
            bbr += f",pacing_gain:{b.bbr_pacing_gain / 256:g}"
        if b.bbr_cwnd_gain:
            bbr += f",cwnd_gain:{b.bbr_cwnd_gain / 256:g}"
        parts.append(bbr + ")")
    if i.tcpi_rtt:
        parts.append(f"send {sprint_bw(i.tcpi_snd_cwnd * i.tcpi_snd_mss * 8_000_000 / i.tcpi_rtt, numeric)}bps")
    _counts(parts, (("lastsnd", i.tcpi_last_data_sent), ("lastrcv", i.tcpi_last_data_recv),
                    ("lastack", i.tcpi_last_ack_recv)))
    if i.tcpi_pacing_rate and i.tcpi_pacing_rate != (1 << 64) - 1:
        rate = f"pacing_rate {sprint_bw(i.tcpi_pacing_rate * 8, numeric)}bps"
        if i.tcpi_max_pacing_rate and i.tcpi_max_pacing_rate != (1 << 64) - 1:
            rate += f"/{sprint_bw(i.tcpi_max_pacing_rate * 8, numeric)}bps"
        parts.append(rate)
    if i.tcpi_delivery_rate:
        parts.append(f"delivery_rate {sprint_bw(i.tcpi_delivery_rate * 8, numeric)}bps")
    _counts(parts, (("delivered", i.tcpi_delivered), ("delivered_ce", i.tcpi_delivered_ce)))
    if i.tcpi_delivery_rate_app_limited:
        parts.append("app_limited")
    if i.tcpi_busy_time:
        busy = f"busy:{i.tcpi_busy_time // 1000}ms"
        for name, value in (("rwnd_limited", i.tcpi_rwnd_limited), ("sndbuf_limited", i.tcpi_sndbuf_limited)):
            if value:
                busy += f" {name}:{value // 1000}ms({value * 100 / i.tcpi_busy_time:.1f}%)"
        parts.append(busy)
    _counts(parts, (("unacked", i.tcpi_unacked),))
    if i.tcpi_retrans or i.tcpi_total_retrans:
        parts.append(f"retrans:{i.tcpi_retrans}/{i.tcpi_total_retrans}")
    # a listener's tcpi_sacked is its backlog's limit, which ss leaves out
    _counts(parts, (("lost", i.tcpi_lost), ("sacked", i.tcpi_sacked if r.state != TCP_LISTEN else 0),
                    ("dsack_dups", i.tcpi_dsack_dups), ("fackets", i.tcpi_fackets)))
    if i.tcpi_reordering != 3:
        parts.append(f"reordering:{i.tcpi_reordering}")
    _counts(parts, (("reord_seen", i.tcpi_reord_seen),))
    if i.tcpi_rcv_rtt:
        parts.append(f"rcv_rtt:{i.tcpi_rcv_rtt / 1000:g}")
    _counts(parts, (("rcv_space", i.tcpi_rcv_space), ("rcv_ssthresh", i.tcpi_rcv_ssthresh),
                    ("notsent", i.tcpi_notsent_bytes)))
    if i.tcpi_min_rtt and i.tcpi_min_rtt != 0xFFFFFFFF:
        parts.append(f"minrtt:{i.tcpi_min_rtt / 1000:g}")
    _counts(parts, (("snd_wnd", i.tcpi_snd_wnd),))
    return " ".join(parts)


def skmem(meminfo: tuple[int, ...]) -> str:
    """``print_skmeminfo``: SK_MEMINFO_VARS as ss prints them."""
    r, rb, t, tb, f, w, o, bl, d = meminfo
    return f"skmem:(r{r},rb{rb},t{t},tb{tb},f{f},w{w},o{o},bl{bl},d{d})"


# idiag_timer's names (ss.c tmr_name)
TIMER_NAMES = ("off", "on", "keepalive", "timewait", "persist", "unknown")


def print_ms_timer(timeout: int) -> str:
    """``print_ms_timer``: milliseconds as ss writes a timer: minutes, then seconds, then
    milliseconds, the smaller units dropped as the larger grow (``53sec``, ``1.200ms`` for 1.2 s,
    ``119min``), and nothing at all for 0."""
    secs, msecs = divmod(timeout, 1000)
    minutes, secs = divmod(secs, 60)
    text = ""
    if minutes:
        msecs = 0
        text = f"{minutes}min"
        if minutes > 9:
            secs = 0
    if secs:
        if secs > 9:
            msecs = 0
        text += f"{secs}{'.' if msecs else 'sec'}"
    if msecs:
        text += f"{msecs:03d}ms"
    return text


def user_ents(host: Any) -> dict[int, list[tuple[str, int, int]]]:
    """``user_ent_hash_build``: for each socket inode, the (comm, pid, fd) of every descriptor
    that holds it, the one found last first (ss pushes each onto its hash chain's head)."""
    users: dict[int, list[tuple[str, int, int]]] = {}
    for pid, comm, fd, ino in proc_socket_fds(host):
        users.setdefault(ino, []).insert(0, (comm, pid, fd))
    return users


def _process_cell(netid: str, r: DiagRecord, users: dict[int, list[tuple[str, int, int]]] | None,
                  options: bool, details: bool, info: bool, memory: bool, numeric: bool) -> str:
    """What ss prints after the addresses, all in its last column: ``users:(...)`` (-p,
    ``proc_ctx_print``), the timer (-o, -e: ``sock_timer_print``), inode, cookie, mark and
    shutdown state (-e: ``sock_details_print``), then with -m or -i a second line, a tab and the
    socket's memory and TCP_INFO (``tcp_show_info``), which a UDP socket has only with -m."""
    cell = ""
    if users is not None and r.inode in users:
        cell += " users:(" + ",".join(f'("{comm}",pid={pid},fd={fd})' for comm, pid, fd in users[r.inode]) + ")"
    if options and r.timer:
        cell += f" timer:({TIMER_NAMES[min(r.timer, 5)]},{print_ms_timer(r.expires)},{r.retrans})"
    if details:
        cell += f" ino:{r.inode} sk:{r.cookie:x}" + (f" fwmark:{r.mark:#x}" if r.mark else "")
        if r.shutdown is not None:
            cell += f" {'-' if r.shutdown & 1 else '<'}-{'-' if r.shutdown & 2 else '>'}"
    if memory or (info and netid != "udp"):
        cell += "\n\t"
        if memory and r.meminfo is not None:
            cell += " " + skmem(r.meminfo)
        if info and r.info is not None:
            cell += " " + tcp_info_text(r, numeric)
    return cell


def format_ss(host: Any, info: bool = False, states: int = SS_ALL, numeric: bool = True, header: bool = True,
              tcp: bool = True, udp: bool = False, memory: bool = False, raw: bool = False, processes: bool = False,
              options: bool = False, details: bool = False, ssfilter: Callable[[Any], bool] | None = None) -> str:
    """The table ``ss -t`` (``tcp``), ``ss -u`` (``udp``) or ``ss -w`` (``raw``) prints; with more
    than one, a Netid column first and the raw sockets, then UDP's, then TCP's, as ss dumps them.
    ``states`` is the bit mask of the states to show (``tuxnet.user.ssfilter``: ``-a`` SS_ALL,
    ``-l`` listening and closed, which for UDP and raw sockets is UNCONN, TCP's default SS_CONN,
    the datagram sockets' ESTAB alone); with one state to show every row has it, and ss leaves
    the State column out.  ``ssfilter`` tests each socket (``run_ssfilter``).  ``processes``
    (-p), ``options`` (-o), ``details`` (-e), ``memory`` (-m) and ``info`` (-i) fill the last
    column (``_process_cell``)."""
    records = [("raw", r) for r in raw_diag_dump(host)] if raw else []
    if udp:
        records += [("udp", r) for r in udp_diag_dump(host)]
    if tcp:
        records += [("tcp", r) for r in inet_diag_dump(host)]
    users = user_ents(host) if processes else None
    rows = []
    for netid, r in records:
        if not states >> r.state & 1 or (ssfilter is not None and not ssfilter(r)):
            continue
        name = SS_STATE.get(TCP_STATE_NAMES.get(r.state, "?"), "?")
        peer_port = "*" if r.state == TCP_LISTEN else _port(r.peer[1], numeric, netid)
        # sock_state_print: the queues are printed "%-6d", so their cells are 6 wide at least
        rows.append([netid, name, f"{r.recv_q:<6}", f"{r.send_q:<6}", f"{r.local[0]}:",
                     _port(r.local[1], numeric, netid), f"{r.peer[0]}:", peer_port,
                     _process_cell(netid, r, users, options or details, details, info, memory, numeric)])
    columns = [("Netid", False, ""), ("State", False, " "), *_COLUMNS[1:]]
    if not states & (states - 1):  # one state
        columns.pop(1)
        rows = [row[:1] + row[2:] for row in rows]
    if tcp + udp + raw < 2:  # one kind of socket: no Netid column
        columns.pop(0)
        rows = [row[1:] for row in rows]
    columns[0] = (columns[0][0], columns[0][1], "")
    table = ([[c[0] for c in columns]] if header else []) + rows
    if not table:  # -H and no socket: nothing at all
        return ""
    # render_calc_width and render: each column as wide as its widest cell, the last one's
    # second line included, and every cell padded to it, that second line's end too; the very
    # last cell does not count (ss measures a cell as it moves to the next, and after the last
    # there is no next)
    widths = [max(len(row[c]) for row in table) for c in range(len(columns) - 1)]
    widths.append(max([len(row[-1]) for row in table[:-1]], default=0))
    lines = []
    for row in table:
        cells = [delim + (cell.rjust(width) if right else cell.ljust(width))
                 for cell, width, (_, right, delim) in zip(row, widths, columns, strict=True)]
        lines.append("".join(cells))
    return "".join(line + "\n" for line in lines)


def print_summary() -> None:
    """``ss -s`` (``print_summary``): the counts of /proc/net/sockstat (``get_sockstat``) and the
    established connections of /proc/net/snmp (``Tcp: CurrEstab``); TCP's total counts every
    TCP socket not yet freed and the TIME-WAIT ones, and "closed" what ss reckons from them
    (tuxnet has no IPv6: its column is 0)."""
    stat: dict[str, dict[str, int]] = {}
    for line in str(libc.read_file("/proc/net/sockstat")).splitlines():
        name, _, rest = line.partition(":")
        words = rest.split()
        stat[name] = {words[i]: int(words[i + 1]) for i in range(0, len(words) - 1, 2)}
    snmp = [line.split() for line in str(libc.read_file("/proc/net/snmp")).splitlines() if line.startswith("Tcp:")]
    estab = int(snmp[1][snmp[0].index("CurrEstab")])
    tcp, udp, raw, frag = stat["TCP"], stat["UDP"], stat["RAW"], stat["FRAG"]
    libc.printf("Total: %d\n", stat["sockets"]["used"])
    libc.printf("TCP:   %d (estab %d, closed %d, orphaned %d, timewait %d)\n\n", tcp["alloc"] + tcp["tw"], estab,
                tcp["alloc"] - (tcp["inuse"] - tcp["tw"]), tcp["orphan"], tcp["tw"])
    libc.printf("Transport Total     IP        IPv6\n")
    inet = raw["inuse"] + udp["inuse"] + tcp["inuse"]
    for name, count in (("RAW", raw["inuse"]), ("UDP", udp["inuse"]), ("TCP", tcp["inuse"]), ("INET", inet),
                        ("FRAG", frag["inuse"])):
        libc.printf("%s\t  %-9d %-9d %-9d\n", name, count, count, 0)
    libc.printf("\n")


_OPTIONS = {"a": False, "l": False, "n": False, "i": False, "m": False, "H": False, "t": False, "u": False,
            "w": False, "p": False, "o": False, "e": False, "s": False, "4": False}


def ss_main(argv: list[str]) -> int:
    """``ss`` as a program on a host: TCP sockets (``-t``), UDP sockets (``-u``), raw sockets
    (``-w``), all three when none is named (``-4`` or not: tuxnet's sockets are IPv4's), in the
    states and matching the expression the filter gives (``tuxnet.user.ssfilter``)."""
    from tuxnet.kernel.sched import current

    host = current().host
    opts = dict(_OPTIONS)
    words = []
    for arg in argv:
        if arg.startswith("-") and len(arg) > 1 and all(c in opts for c in arg[1:]):
            for c in arg[1:]:
                opts[c] = True
        elif arg.startswith("-") and len(arg) > 1 and arg not in ("-", "--"):
            libc.printf("ss: unsupported option %s (tuxnet's ss shows TCP, UDP and raw sockets)\n", arg)
            return 1
        else:
            words.append(arg)
    if opts["s"]:
        print_summary()
        return 0
    # filter_default_dbs: no kind named, every kind (of family inet with -4: tuxnet has no other)
    tcp, udp, raw = (opts["t"], opts["u"], opts["w"]) if opts["t"] or opts["u"] or opts["w"] else (True, True, True)
    low, high = host.sysctl["net.ipv4.ip_local_port_range"]
    try:
        states, expression = parse_states(words)
        ssfilter = parse_ssfilter(expression, "tcp" if tcp else "udp", (low, high),
                                  {name: dev.ifindex for name, dev in host.devices.items()})
    except SsFilterError as error:
        libc.printf("%s", str(error))
        return error.status
    if states is None:  # filter_merge_defaults: -a, -l, or each kind of socket's default
        states = SS_ALL if opts["a"] else (1 << SS_LISTEN) | (1 << SS_CLOSE) if opts["l"] else (
            (SS_CONN if tcp else 0) | (1 << SS_ESTABLISHED if udp or raw else 0))
    libc.printf("%s", format_ss(host, info=opts["i"], states=states, numeric=opts["n"], header=not opts["H"],
                                tcp=tcp, udp=udp, memory=opts["m"], raw=raw, processes=opts["p"],
                                options=opts["o"], details=opts["e"], ssfilter=ssfilter))
    return 0
