"""``tc`` (iproute2's tc/tc_qdisc.c): show, add, replace, change and delete a device's root qdisc.

    tc [-s] qdisc [show] [dev DEV]
    tc qdisc add|replace|change dev DEV root pfifo [limit N] | pfifo_fast | fq
    tc qdisc del dev DEV root

The kinds are tuxnet's (``net/sched/sch_api.py``): ``fq`` exists only on a TUN device, whose
driver emulates it; elsewhere tc says what a kernel without sch_fq says, that the kind is unknown.

``tc(host, "-s qdisc show dev eth0")`` runs a command from Python and returns its output;
``tc_main`` is the same as a program on a host.  Errors raise ``TcError`` with tc's message and
exit status (1 when tc rejects an argument, 2 when the kernel refuses, 255 for a command line it
cannot make sense of), as ``tests/l2l3/test_tc.py`` compares with this machine's.
"""

from __future__ import annotations

import shlex
from typing import TYPE_CHECKING

from tuxnet.net.sched.sch_api import QdiscError, tc_delete_qdisc, tc_modify_qdisc

if TYPE_CHECKING:
    from tuxnet.kernel.host import Host
    from tuxnet.net.core.dev import NetDevice

INCOMPLETE = 'Command line is not complete. Try option "help"'
PFIFO_FAST_PRIOMAP = "bands 3 priomap 1 2 2 2 1 2 0 0 1 1 1 1 1 1 1 1"


class TcError(ValueError):
    """A ``tc`` command failed: tc's message and exit status."""

    def __init__(self, message: str, status: int = 1) -> None:
        super().__init__(message)
        self.status = status


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
        options = {"pfifo": f"limit {q.limit}p", "pfifo_fast": PFIFO_FAST_PRIOMAP}.get(q.kind)
        line = f"qdisc {q.kind} {q.handle:x}: {where}root refcnt 2"
        lines = [line + (f" {options}" if options else " ")]
        sent, drops, overlimits, requeues = q.bytes, q.drops, q.overlimits, q.requeues
        backlog, backlog_bytes = len(q.q), sum(skb.tail - skb.data for skb in q.q)
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
    if not args[1].isdigit():
        raise TcError(f'pfifo: Illegal value for "limit": "{args[1]}"')
    return int(args[1])


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
        if kind != "pfifo" and args:
            raise TcError(f'What is "{args[0]}"?', 255)
        tc_modify_qdisc(dev, verb, kind, limit)
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
    from tuxnet.kernel.sched import current
    from tuxnet.user import libc

    try:
        out = tc(current().host, argv)
    except TcError as e:
        libc.printf("%s\n", str(e))
        return e.status
    if out:
        libc.printf("%s", out)
    return 0
