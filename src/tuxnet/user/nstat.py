"""``nstat`` (iproute2): the host's SNMP and netstat counters, as ``/proc/net/snmp`` and
``/proc/net/netstat`` give them, each named group and field together (``TcpExtTCPTimeouts``).

    nstat [-a] [-z] [-r] [-s] [-n] [PATTERN...]

Without ``-a`` it prints what grew since the last run, whose values it keeps in a history file
(``/tmp/.nstat.u0``; a counter the PATTERNs leave out keeps its old value there); ``-a`` prints
the totals, ``-z`` the counters that are zero too, ``-r`` starts the history anew, ``-s`` leaves
it as it was, ``-n`` prints nothing.
PATTERNs are shell patterns.  The rate column is what a one-shot nstat prints, the history's (0.0
without an ``nstat -d`` daemon, which tuxnet does not run).  ``tests/apps/test_app_nstat.py``
compares the output with this machine's nstat.
"""

from __future__ import annotations

import fnmatch
from typing import Any

from tuxnet.user import libc

HISTORY = "/tmp/.nstat.u0"
# nstat's useless_numbers: settings, not counters
USELESS = {"IpForwarding", "IpDefaultTTL", "TcpRtoAlgorithm", "TcpRtoMin", "TcpRtoMax", "TcpMaxConn"}
# The order nstat reads them in: /proc/net/snmp, then /proc/net/netstat
GROUPS = ("Ip", "Icmp", "IcmpMsg", "Tcp", "Udp", "TcpExt", "IpExt")


def counters(host: Any) -> list[tuple[str, int]]:
    """Every counter of the host, in nstat's order."""
    out = []
    for group in GROUPS:
        items = getattr(host.mib, group).items()
        if group == "IcmpMsg":  # /proc/net/snmp lists the types seen, every InType before the OutTypes
            items = sorted(items, key=lambda kv: (kv[0].startswith("Out"), int(kv[0].split("Type")[1])))
        for name, value in items:
            key = group + name
            if key not in USELESS:
                out.append((key, value))
    return out


def _load_history(host: Any, path: str) -> dict[str, int] | None:
    text = host.files.get(path)
    if text is None:
        return None
    history = {}
    for line in (text.decode() if isinstance(text, bytes) else text).splitlines():
        fields = line.split()
        if len(fields) >= 2 and not line.startswith("#"):
            history[fields[0]] = int(fields[1])
    return history


def nstat_main(argv: list[str]) -> int:
    """``nstat`` as a program on a host."""
    from tuxnet.kernel.sched import current

    host = current().host
    opts = dict.fromkeys("azrsn", False)
    patterns = []
    for arg in argv:
        if arg.startswith("-") and len(arg) > 1:
            for flag in arg[1:]:
                if flag not in opts:
                    libc.printf("nstat: invalid option -- '%s'\n", flag)
                    return -1
                opts[flag] = True
        else:
            patterns.append(arg)
    if opts["r"]:
        host.files.pop(HISTORY, None)
    history = _load_history(host, HISTORY)

    def match(key: str) -> bool:
        return not patterns or any(fnmatch.fnmatchcase(key, p) for p in patterns)

    now = counters(host)
    if not opts["n"]:
        lines = ["#kernel\n"]
        for key, value in now:
            shown = value - history.get(key, 0) if history is not None and not opts["a"] else value
            if match(key) and (shown or opts["z"]):
                lines.append(f"{key:<32}{shown:<16}{0.0:6.1f}\n")
        libc.printf("%s", "".join(lines))
    if not opts["s"]:
        # dump_kern_db(hist_fp, 1): a counter the patterns leave out keeps its old history
        kept = [(key, value if match(key) or history is None else history.get(key, value)) for key, value in now]
        host.files[HISTORY] = "#kernel\n" + "".join(f"{key} {value} 0.0\n" for key, value in kept
                                                     if value or opts["z"])
    return 0
