"""``tc`` (iproute2's tc/tc_qdisc.c): show, add, replace, change and delete a device's root qdisc.

    tc [-s] qdisc [show] [dev DEV]
    tc qdisc add|replace|change dev DEV root pfifo [limit N] | pfifo_fast | fq
                                             | tbf rate RATE burst SIZE (latency TIME | limit SIZE)
                                                   [peakrate RATE mtu SIZE]
                                             | netem [limit N] [delay TIME [JITTER [CORR]]]
                                                     [distribution NAME] [loss [random] PCT [CORR]]
                                                     [loss state P13 [P31 [P32 [P23 P14]]]]
                                                     [loss gemodel P [R [1-H [1-K]]]] [ecn]
                                                     [duplicate PCT [CORR]] [corrupt PCT [CORR]]
                                                     [reorder PCT [CORR] [gap N]]
                                                     [rate RATE [OVERHEAD [CELLSIZE [CELLOVERHEAD]]]]
                                                     [slot MIN_DELAY [MAX_DELAY] [packets N] [bytes N]]
                                                     [slot distribution NAME DELAY JITTER
                                                           [packets N] [bytes N]]
    tc qdisc del dev DEV root

The kinds are tuxnet's (``net/sched/sch_api.py``): ``fq`` exists only on a TUN device, whose
driver emulates it; elsewhere tc says what a kernel without sch_fq says, that the kind is unknown.

netem's distribution NAME is read as tc reads it, from ``NAME.dist`` in tc's library directory
(TC_LIB_DIR): a file the host has there (``host.files``) is read; without one, ``normal``,
``pareto`` and ``paretonormal`` are the tables iproute2 installs, computed (``netem_dist.py``).
``experimental.dist`` holds measured delays that cannot be computed: tc refuses it, as it does any
name without a file, unless the host is given the file (this machine's, say).

``tc(host, "-s qdisc show dev eth0")`` runs a command from Python and returns its output;
``tc_main`` is the same as a program on a host.  Errors raise ``TcError`` with tc's message and
exit status (1 when tc rejects an argument, 2 when the kernel refuses, 255 for a command line it
cannot make sense of), as ``tests/l2l3/test_tc.py`` compares with this machine's.
"""

from __future__ import annotations

import posixpath
import shlex
from collections.abc import Callable
from typing import TYPE_CHECKING

from tuxnet.kernel.minmax import INT_MAX, U32_MAX
from tuxnet.net.sched.netem_dist import DIST_TABLES, NETEM_DIST_MAX
from tuxnet.net.sched.sch_api import QdiscError, TbfParams, tc_delete_qdisc, tc_modify_qdisc
from tuxnet.net.sched.sch_netem import NetemParams, NetemQdisc, NetemSlot
from tuxnet.net.sched.sch_tbf import TbfQdisc
from tuxnet.user import libc
from tuxnet.user.ctype import isdigits
from tuxnet.user.tool import ToolError, tool_main

if TYPE_CHECKING:
    from tuxnet.kernel.host import Host
    from tuxnet.net.core.dev import NetDevice

INCOMPLETE = 'Command line is not complete. Try option "help"'
PFIFO_FAST_PRIOMAP = "bands 3 priomap 1 2 2 2 1 2 0 0 1 1 1 1 1 1 1 1"
TBF_USAGE = ("Usage: ... tbf limit BYTES burst BYTES[/BYTES] rate KBPS [ mtu BYTES[/BYTES] ]\n"
             "\t[ peakrate KBPS ] [ latency TIME ] [ overhead BYTES ] [ linklayer TYPE ]")
# /proc/net/psched: tc's ticks are 1/64 us of the kernel's PSCHED clock (tc_core_init), so a tick
# is 15.625 us to tc and 64 ns to the kernel (PSCHED_SHIFT 6).
TICK_IN_USEC = 1000 / 64
PSCHED_SHIFT = 6
USEC_PER_SEC = 1_000_000
RATE_UNITS = {"bit": 1, "kibit": 1024, "kbit": 1000, "mibit": 1024 ** 2, "mbit": 1000 ** 2, "gibit": 1024 ** 3,
              "gbit": 1000 ** 3, "tibit": 1024 ** 4, "tbit": 1000 ** 4, "bps": 8, "kibps": 8 * 1024,
              "kbps": 8000, "mibps": 8 * 1024 ** 2, "mbps": 8 * 1000 ** 2, "gibps": 8 * 1024 ** 3,
              "gbps": 8 * 1000 ** 3, "tibps": 8 * 1024 ** 4, "tbps": 8 * 1000 ** 4}
SIZE_UNITS = {"kb": 1024, "k": 1024, "mb": 1024 ** 2, "m": 1024 ** 2, "gb": 1024 ** 3, "g": 1024 ** 3,
              "kbit": 1024 / 8, "mbit": 1024 ** 2 / 8, "gbit": 1024 ** 3 / 8, "b": 1}
TIME_UNITS = {"s": USEC_PER_SEC, "sec": USEC_PER_SEC, "secs": USEC_PER_SEC, "ms": 1000, "msec": 1000,
              "msecs": 1000, "us": 1, "usec": 1, "usecs": 1}


def _number(text: str, units: dict[str, float]) -> float | None:
    """strtod and a unit (case-insensitive), as get_rate64, get_size and get_time read them."""
    i = len(text) - len(text.lstrip("0123456789.eE+-"))
    try:
        value = float(text[:i])
    except ValueError:
        return None
    unit = text[i:].lower()
    if unit and unit not in units:
        return None
    return value * units[unit] if unit else value


def tc_calc_xmittime(rate: int, size: int) -> int:
    """``tc_calc_xmittime``: the ticks ``size`` bytes take at ``rate`` bytes/s (truncated)."""
    return int(USEC_PER_SEC * (size / rate) * TICK_IN_USEC)


def tc_calc_xmitsize(rate: int, ticks: int) -> int:
    """``tc_calc_xmitsize``: the bytes ``ticks`` carry at ``rate`` (whole microseconds first)."""
    return int(rate * int(ticks / TICK_IN_USEC) / USEC_PER_SEC)


def sprint_rate(rate: int) -> str:
    """``print_rate``: bytes/s as bit/s in the largest SI unit that divides it."""
    bits = rate * 8
    units = ["", "K", "M", "G", "T"]
    i = 0
    while i < len(units) - 1 and bits >= 1000 and not (bits % 1000 and bits < 1000 * 1000):
        bits //= 1000
        i += 1
    return f"{bits}{units[i]}bit"


def sprint_size(size: int) -> str:
    """``print_size``: Mb or Kb when within a rounding of a whole number of them, else bytes."""
    if size >= 1024 * 1024 and abs(1024 * 1024 * round(size / (1024 * 1024)) - size) < 1024:
        return f"{round(size / (1024 * 1024)):g}Mb"
    if size >= 1024 and abs(1024 * round(size / 1024) - size) < 16:
        return f"{round(size / 1024):g}Kb"
    return f"{size}b"


def sprint_time(time: int) -> str:
    """``print_time``: microseconds as s, ms (3 significant digits) or us."""
    if time >= USEC_PER_SEC:
        return f"{time / USEC_PER_SEC:.3g}s"
    if time >= 1000:
        return f"{time / 1000:.3g}ms"
    return f"{time}us"


def _tbf_options(q: TbfQdisc) -> str:
    """``tbf_print_opt``: the buckets back in tc's units, and the latency the limit allows."""
    buffer_ticks = q.buffer >> PSCHED_SHIFT
    out = f"rate {sprint_rate(q.rate)} burst {sprint_size(tc_calc_xmitsize(q.rate, buffer_ticks))} "
    latency = USEC_PER_SEC * (q.limit / q.rate) - int(buffer_ticks / TICK_IN_USEC)
    if q.peakrate:
        mtu_ticks = q.mtu >> PSCHED_SHIFT
        out += f"peakrate {sprint_rate(q.peakrate)} minburst {sprint_size(tc_calc_xmitsize(q.peakrate, mtu_ticks))} "
        latency = max(latency, USEC_PER_SEC * (q.limit / q.peakrate) - int(mtu_ticks / TICK_IN_USEC))
    if latency >= 0:
        return out + f"lat {sprint_time(int(latency))} "
    return out + f"limit {sprint_size(q.limit)} "


def _tbf_parse(args: list[str]) -> TbfParams:
    """``tbf_parse_opt``: rate and burst, then the limit in bytes, from ``latency`` if given."""
    given: dict[str, float] = {}
    kinds = {"rate": RATE_UNITS, "peakrate": RATE_UNITS, "burst": SIZE_UNITS, "buffer": SIZE_UNITS,
             "maxburst": SIZE_UNITS, "mtu": SIZE_UNITS, "minburst": SIZE_UNITS, "limit": SIZE_UNITS,
             "latency": TIME_UNITS}
    while args:
        word = args.pop(0)
        if word not in kinds:
            raise TcError(f'tbf: unknown parameter "{word}"\n{TBF_USAGE}')
        if not args:
            raise TcError(INCOMPLETE, 255)
        value = _number(args[0], kinds[word])
        if value is None:
            raise TcError(f'tbf: illegal value for "{word}": "{args[0]}"')
        args.pop(0)
        name = {"buffer": "burst", "maxburst": "burst", "minburst": "mtu"}.get(word, word)
        given[name] = value
    rate = int(given.get("rate", 0) / 8)
    prate = int(given.get("peakrate", 0) / 8)
    buffer, mtu = int(given.get("burst", 0)), int(given.get("mtu", 0))
    if not rate:
        raise TcError(f'tbf: the "rate" parameter is mandatory.\n{TBF_USAGE}')
    if not buffer:
        raise TcError(f'tbf: the "burst" parameter is mandatory.\n{TBF_USAGE}')
    if prate and not mtu:
        raise TcError(f'tbf: when "peakrate" is specified, "mtu" must also be specified.\n{TBF_USAGE}')
    if "limit" not in given and "latency" not in given:
        raise TcError(f'tbf: either "limit" or "latency" is required.\n{TBF_USAGE}')
    if "limit" in given and "latency" in given:
        raise TcError('tbf: specifying both "limit" and "/latency" is not allowed')
    limit = int(given.get("limit", 0))
    if "latency" in given:
        latency = int(given["latency"])
        lim = rate * latency / USEC_PER_SEC + buffer
        if prate:
            lim = min(lim, prate * latency / USEC_PER_SEC + mtu)
        limit = int(lim)
    mtu_ns = tc_calc_xmittime(prate, mtu) << PSCHED_SHIFT if prate else 0
    return TbfParams(limit, rate, tc_calc_xmittime(rate, buffer) << PSCHED_SHIFT, prate, mtu_ns)


NETEM_USAGE = ("Usage: ... netem [ limit PACKETS ]\n"
               "                 [ delay TIME [ JITTER [CORRELATION]]]\n"
               "                 [ distribution {uniform|normal|pareto|paretonormal} ]\n"
               "                 [ corrupt PERCENT [CORRELATION]]\n"
               "                 [ duplicate PERCENT [CORRELATION]]\n"
               "                 [ loss random PERCENT [CORRELATION]]\n"
               "                 [ loss state P13 [P31 [P32 [P23 P14]]]\n"
               "                 [ loss gemodel PERCENT [R [1-H [1-K]]]\n"
               "                 [ ecn ]\n"
               "                 [ reorder PERCENT [CORRELATION] [ gap DISTANCE ]]\n"
               "                 [ rate RATE [PACKETOVERHEAD] [CELLSIZE] [CELLOVERHEAD]]\n"
               "                 [ slot MIN_DELAY [MAX_DELAY] [packets MAX_PACKETS] [bytes MAX_BYTES]]\n"
               "                 [ slot distribution {uniform|normal|pareto|paretonormal|custom}\n"
               "                   DELAY JITTER [packets MAX_PACKETS] [bytes MAX_BYTES]]")
# tc's library directory on this machine (get_tc_lib: LIBDIR, with its slash), where iproute2
# installs the .dist files
TC_LIB_DIR = "/usr/lib/x86_64-linux-gnu/tc/"
NSEC_UNITS = {"s": 10**9, "sec": 10**9, "secs": 10**9, "ms": 10**6, "msec": 10**6, "msecs": 10**6, "us": 1000,
              "usec": 1000, "usecs": 1000, "ns": 1, "nsec": 1, "nsecs": 1}


def sprint_time64(ns: int) -> str:
    """``print_time64``: nanoseconds as s, ms, us (3 significant digits) or ns."""
    for unit, scale in (("s", 10**9), ("ms", 10**6), ("us", 1000)):
        if ns >= scale:
            return f"{ns / scale:.3g}{unit}"
    return f"{ns}ns"


def sprint_percent(value: int) -> str:
    """``sprint_percent``: a fraction of 2^32 - 1 as a percentage."""
    return f"{100 * value / U32_MAX:g}%"


def _netem_options(q: NetemQdisc) -> str:
    """``netem_print_opt``: the limit, then each impairment set, with its correlation."""
    p = q.params
    out = f"limit {p.limit}"

    def with_corr(name: str, value: int, corr: int) -> str:
        return f" {name} {sprint_percent(value)}" + (f" {sprint_percent(corr)}" if corr else "")

    if p.latency:
        out += f" delay {sprint_time64(p.latency)}"
        if p.jitter:
            out += f"  {sprint_time64(p.jitter)}" + (f" {sprint_percent(p.delay_corr)}" if p.delay_corr else "")
    if p.loss:
        out += with_corr("loss", p.loss, p.loss_corr)
    if p.loss_model == "state":
        p13, p31, p32, p14, p23 = p.clg
        out += (f" loss state p13 {sprint_percent(p13)} p31 {sprint_percent(p31)} p32 {sprint_percent(p32)}"
                f" p23 {sprint_percent(p23)} p14 {sprint_percent(p14)}")
    elif p.loss_model == "gemodel":
        gp, r, h, k1 = p.clg
        out += (f" loss gemodel p {sprint_percent(gp)} r {sprint_percent(r)} 1-h {sprint_percent(U32_MAX - h)}"
                f" 1-k {sprint_percent(k1)}")
    if p.duplicate:
        out += with_corr("duplicate", p.duplicate, p.dup_corr)
    if p.reorder:
        out += with_corr("reorder", p.reorder, p.reorder_corr)
    if p.corrupt:
        out += with_corr("corrupt", p.corrupt, p.corrupt_corr)
    if p.rate:
        out += f" rate {sprint_rate(p.rate)}"
        out += f" packetoverhead {p.packet_overhead}" if p.packet_overhead else ""
        out += f" cellsize {p.cell_size}" if p.cell_size else ""
        out += f" celloverhead {p.cell_overhead}" if p.cell_overhead else ""
    slot = q.slot_config
    if slot.min_delay | slot.max_delay | slot.dist_jitter:  # netem_dump sends TCA_NETEM_SLOT
        if slot.dist_jitter > 0:
            out += f" slot distribution {sprint_time64(slot.dist_delay)} {sprint_time64(slot.dist_jitter)}"
        else:
            out += f" slot {sprint_time64(slot.min_delay)} {sprint_time64(slot.max_delay)}"
        out += f" packets {slot.max_packets}" if slot.max_packets != INT_MAX else ""
        out += f" bytes {slot.max_bytes}" if slot.max_bytes != INT_MAX else ""
    if p.ecn:
        out += " ecn "
    if p.gap:
        out += f" gap {p.gap}"
    return out


def get_distribution(host: Host, name: str) -> list[int]:
    """``get_distribution``: the table in TC_LIB_DIR's ``NAME.dist``, the host's file if it has
    one, else one of those iproute2 installs, computed."""
    path = f"{TC_LIB_DIR}/{name}.dist"
    text = host.files.get(posixpath.normpath(path))
    if text is None:
        if name not in DIST_TABLES:
            raise TcError(f"No distribution data for {name} ({path}: No such file or directory)")
        return DIST_TABLES[name]()
    data: list[int] = []
    for line in (text.decode() if isinstance(text, bytes) else text).splitlines():
        if not line or line.startswith("#"):
            continue
        pos = 0
        while True:  # strtol(p, &endp, 0), one number after the other, to the first that is none
            number, end, _ = libc.strtol(line, pos, 0)
            if end == pos:
                break
            if len(data) >= NETEM_DIST_MAX:
                raise TcError(f"{path}: too much data")
            data.append((number + 0x8000) % 0x10000 - 0x8000)  # kept as __s16
            pos = end
    if not data:
        raise TcError("")  # tc fails without a word
    return data


def _matches(word: str, keyword: str) -> bool:
    """``matches``: ``word`` is a beginning of ``keyword``."""
    return bool(word) and keyword.startswith(word)


def _netem_slot(args: list[str], host: Host, slot: NetemSlot) -> list[int]:
    """``netem_parse_opt``'s ``slot``: the bounds (``get_time64``: nanoseconds without a unit;
    the maximum is the minimum unless given), or ``distribution NAME DELAY JITTER``, then
    ``packets`` and ``bytes`` (any beginnings of those words); the slot's table, if any."""
    table: list[int] = []
    if args and isdigits(args[0][:1]):
        min_delay = _get_time64(args.pop(0))
        if min_delay is None:
            raise TcError('Illegal "slot min_delay"')
        slot.min_delay = slot.max_delay = min_delay
        if args and isdigits(args[0][:1]):
            max_delay = _get_time64(args.pop(0))
            if max_delay is None or max_delay < min_delay:
                raise TcError('Illegal "slot max_delay"')
            slot.max_delay = max_delay
    else:
        if not args:
            raise TcError(INCOMPLETE, 255)
        word = args.pop(0)
        if word != "distribution":
            raise TcError(f"Unknown slot parameter: {word}")
        if not args:
            raise TcError(INCOMPLETE, 255)
        table = get_distribution(host, args.pop(0))
        times = []
        for what in ("delay", "jitter"):
            if not args:
                raise TcError(INCOMPLETE, 255)
            time = _get_time64(args.pop(0))
            if time is None:
                raise TcError(f'Illegal "slot {what}"')
            times.append(time)
        slot.dist_delay, slot.dist_jitter = times
        if slot.dist_jitter <= 0:
            raise TcError("Non-positive jitter")
    if args and _matches(args[0], "packets"):
        packets = _s32(args[1]) if len(args) > 1 else None
        if packets is None:
            raise TcError('Illegal "slot packets"')
        slot.max_packets = packets
        del args[:2]
    if args and _matches(args[0], "bytes"):
        size = _number(args[1], SIZE_UNITS) if len(args) > 1 else None
        if size is None or not 0 <= size <= U32_MAX:
            raise TcError('Illegal "slot bytes"')
        slot.max_bytes = (int(size) + (1 << 31)) % (1 << 32) - (1 << 31)  # (int) of get_size's unsigned
        del args[:2]
    return table


def _netem_parse(args: list[str], host: Host) -> NetemParams:
    """``netem_parse_opt``: times in TIME units (microseconds without one), percentages with or
    without ``%``, the optional words after each taken when they start with a digit (``-`` too for
    the rate's overheads); a distribution's table read when its name is."""
    p = NetemParams()

    def value(parse: Callable[[str], int | None], what: str) -> int:
        if not args:
            raise TcError(INCOMPLETE, 255)
        got = parse(args.pop(0))
        if got is None:
            raise TcError(f'Illegal "{what}"')  # explain1: no usage
        return got

    def optional(parse: Callable[[str], int | None], what: str, signed: bool = False) -> int | None:
        if args and (isdigits(args[0][:1]) or signed and args[0][:1] == "-"):
            return value(parse, what)
        return None

    dist = None
    while args:
        word = args.pop(0)
        if word == "limit":
            p.limit = value(_u32, "limit")
        elif word in ("latency", "delay"):
            p.latency = value(_time64, "latency")
            jitter = optional(_time64, "jitter")
            if jitter is not None:
                p.jitter = jitter
                p.delay_corr = optional(_percent, "latency") or 0
        elif word in ("loss", "drop"):
            if args[:1] == ["random"]:
                args.pop(0)
            if args[:1] == ["state"]:  # p13 [p31 [p32 [p23 p14]]], the rest from what is given
                args.pop(0)
                p13 = value(_percent, "loss state p13")
                given = [optional(_percent, f"loss state {name}") for name in ("p31", "p32", "p23", "p14")]
                p31, p32, p23, p14 = (g if g is not None else d for g, d in zip(given, (U32_MAX - p13, 0, U32_MAX, 0),
                                                                            strict=True))
                p.loss_model, p.clg = "state", (p13, p31, p32, p14, p23)
            elif args[:1] == ["gemodel"]:  # p [r [1-h [1-k]]]
                args.pop(0)
                gp = value(_percent, "loss gemodel p")
                r, one_h, k1 = (optional(_percent, f"loss gemodel {name}") for name in ("r", "h", "k"))
                p.loss_model = "gemodel"
                # (given as 1-h, kept as h; without it h is 0: every packet lost in the bad state)
                p.clg = (gp, U32_MAX if r is None else r, 0 if one_h is None else U32_MAX - one_h, k1 or 0)
            else:
                p.loss = value(_percent, "loss percent")
                p.loss_corr = optional(_percent, "loss correlation") or 0
        elif word == "duplicate":
            p.duplicate = value(_percent, "duplicate percent")
            p.dup_corr = optional(_percent, "duplicate correlation") or 0
        elif word == "reorder":
            p.reorder = value(_percent, "reorder percent")
            p.reorder_corr = optional(_percent, "reorder correlation") or 0
        elif word == "corrupt":
            p.corrupt = value(_percent, "corrupt percent")
            p.corrupt_corr = optional(_percent, "corrupt correlation") or 0
        elif word == "gap":
            p.gap = value(_u32, "gap")
        elif word == "distribution":
            if not args:
                raise TcError(INCOMPLETE, 255)
            dist = get_distribution(host, args.pop(0))
        elif word == "rate":
            rate = value(lambda t: None if (r := _number(t, RATE_UNITS)) is None else int(r / 8), "rate")
            p.rate = rate
            p.packet_overhead = optional(_s32, "rate", signed=True) or 0
            p.cell_size = optional(_u32, "rate") or 0
            p.cell_overhead = optional(_s32, "rate", signed=True) or 0
        elif word == "ecn":
            p.ecn = True
        elif word == "slot":
            if p.slot is None:
                p.slot = NetemSlot()
            p.slot_dist_table = _netem_slot(args, host, p.slot) or p.slot_dist_table
        elif word == "help":
            raise TcError(NETEM_USAGE)
        else:
            raise TcError(f'What is "{word}"?\n{NETEM_USAGE}')
    if dist is not None:
        if not p.latency or not p.jitter:
            raise TcError(f"distribution specified but no latency and jitter values\n{NETEM_USAGE}")
        p.dist_table = dist
    if p.reorder:
        if not p.latency:
            raise TcError(f"reordering not possible without specifying some delay\n{NETEM_USAGE}")
        p.gap = p.gap or 1
    elif p.gap:
        raise TcError(f"gap specified without reorder probability\n{NETEM_USAGE}")
    return p


def _u32(text: str) -> int | None:
    return int(text) if isdigits(text) and int(text) <= U32_MAX else None


def _s32(text: str) -> int | None:
    """``get_s32`` in base 0: the whole word a number (0x hexadecimal, 0 octal), within 32 bits."""
    number, end, err = libc.strtol(text, base=0)
    if not text or end == 0 or end != len(text) or err or not -(1 << 31) <= number < 1 << 31:
        return None
    return number


def _percent(text: str) -> int | None:
    """``get_percent``: ``1``, ``1%`` and ``0.5%`` as fractions of 2^32 - 1."""
    number = text[:-1] if text.endswith("%") else text
    try:
        per = float(number) / 100
    except ValueError:
        return None
    return round(per * U32_MAX) if 0 <= per <= 1 else None


def _get_time64(text: str) -> int | None:
    """``get_time64``: a time in nanoseconds (a bare number is nanoseconds), truncated."""
    number = _number(text, NSEC_UNITS)
    return None if number is None else int(number)


def _time64(text: str) -> int | None:
    """``get_ticks`` (``get_time``), in nanoseconds: a bare number is microseconds."""
    i = len(text) - len(text.lstrip("0123456789.eE+-"))
    try:
        number = float(text[:i])
    except ValueError:
        return None
    unit = text[i:].lower()
    if unit and unit not in NSEC_UNITS:
        return None
    return round(number * (NSEC_UNITS[unit] if unit else 1000))


class TcError(ToolError):
    """A ``tc`` command failed: tc's message and exit status."""


def _dev(host: Host, name: str) -> NetDevice:
    dev = host.devices.get(name)
    if dev is None:
        raise TcError(f'Cannot find device "{name}"')
    return dev


def _qdisc_lines(dev: NetDevice, named: bool, stats: bool) -> list[str]:
    """``print_qdisc``: the root qdisc (handle, "dev DEV" unless the command named it, refcnt 2
    for a single transmit queue, the kind's options) and with -s its counters."""
    q = dev.qdisc
    where = f"dev {dev.name} " if not named else ""
    if q is None:
        lines = [f"qdisc noqueue 0: {where}root refcnt 2 "]
        sent = drops = overlimits = requeues = backlog_bytes = backlog = 0
    else:
        line = f"qdisc {q.kind} {q.handle:x}: {where}root refcnt 2 "
        if isinstance(q, TbfQdisc):
            line += _tbf_options(q)
        elif isinstance(q, NetemQdisc):
            line += _netem_options(q)
        else:
            line += {"pfifo": f"limit {q.limit}p", "pfifo_fast": PFIFO_FAST_PRIOMAP}.get(q.kind, "")
        lines = [line]
        sent, drops, overlimits, requeues = q.bytes, q.drops, q.overlimits, q.requeues
        backlog, backlog_bytes = len(q), q.queue_bytes()
    if stats:
        packets = q.packets if q is not None else 0
        lines += [f" Sent {sent} bytes {packets} pkt (dropped {drops}, overlimits {overlimits} requeues {requeues}) ",
                  f" backlog {backlog_bytes}b {backlog}p requeues {requeues}"]
    return lines


def _dev_of(args: list[str]) -> str:
    """The DEV of ``dev DEV`` at the head of ``args`` (and removes both)."""
    if len(args) < 2 or args[0] != "dev":
        raise TcError(INCOMPLETE, 255)
    args.pop(0)
    return args.pop(0)


def _pfifo_limit(args: list[str]) -> int | None:
    if not args:
        return None
    if args[0] != "limit":
        raise TcError(f'pfifo: unknown parameter "{args[0]}"\n'
                      "Usage: ... <[p|b]fifo | pfifo_head_drop> [ limit NUMBER ]")
    if len(args) < 2:
        raise TcError(INCOMPLETE, 255)
    if not isdigits(args[1]):
        raise TcError(f'pfifo: Illegal value for "limit": "{args[1]}"')
    limit = int(args[1])
    del args[:2]
    return limit


def tc_qdisc(host: Host, verb: str, args: list[str], stats: bool) -> str:
    """``do_qdisc``."""
    if verb in ("show", "list", "ls", "lst"):
        if args:
            dev = _dev(host, _dev_of(args))
            return "".join(line + "\n" for line in _qdisc_lines(dev, True, stats))
        devices = sorted(host.devices.values(), key=lambda d: d.ifindex)
        return "".join(line + "\n" for d in devices for line in _qdisc_lines(d, False, stats))
    if verb not in ("add", "replace", "change", "del", "delete"):
        raise TcError(f'Command "{verb}" is unknown, try "tc qdisc help".', 255)
    dev = _dev(host, _dev_of(args))
    if args[:1] != ["root"]:
        raise TcError("Error: Handle cannot be zero." if not args else f'Error: "{args[0]}" is not supported.',
                      2)
    args.pop(0)
    try:
        if verb in ("del", "delete"):
            tc_delete_qdisc(dev)
            return ""
        if not args:
            raise QdiscError("Error: Specified qdisc kind is unknown.")
        kind = args.pop(0)
        limit = _pfifo_limit(args) if kind == "pfifo" else None
        tbf = _tbf_parse(args) if kind == "tbf" else None
        netem = _netem_parse(args, host) if kind == "netem" else None
        if args:
            raise TcError(f'What is "{args[0]}"?', 255)
        tc_modify_qdisc(dev, verb, kind, limit, tbf, netem)
    except QdiscError as e:
        raise TcError(str(e), 2) from None
    return ""


def tc(host: Host, argv: str | list[str]) -> str:
    """Run one ``tc`` command on ``host``; returns its output."""
    args = shlex.split(argv) if isinstance(argv, str) else list(argv)
    stats = False
    while args and args[0].startswith("-"):
        opt = args.pop(0)
        if opt not in ("-s", "-stats", "-statistics"):
            raise TcError(f'Option "{opt}" is unknown, try "tc -help".', 255)
        stats = True
    if not args:
        raise TcError("Usage: tc [ OPTIONS ] OBJECT { COMMAND | help }", 255)
    obj = args.pop(0)
    if obj not in ("qdisc", "qd", "q"):
        raise TcError(f'Object "{obj}" is unknown, try "tc help".', 255)
    return tc_qdisc(host, args.pop(0) if args else "show", args, stats)


def tc_main(argv: list[str]) -> int:
    """``tc`` as a program on a host: prints the output, or the error with tc's exit status."""
    return tool_main(tc, argv)
