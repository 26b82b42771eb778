"""``cat FILE...`` (coreutils): a host's files printed one after another: its /etc files, the
tables the kernel makes as they are read (/proc/net/tcp, udp, raw, snmp, netstat, sockstat, route,
arp, dev, dev_mcast, igmp) and its settings in /proc/sys/net."""

from __future__ import annotations

from tuxnet.user import libc


def cat_main(argv: list[str]) -> int:
    """Print each file; one that cannot be read gets coreutils' message, the others still print,
    and the exit status is 1."""
    if not argv:
        libc.printf("cat: a file to read is needed (tuxnet's programs have no standard input)\n")
        return 1
    status = 0
    for path in argv:
        try:
            text = libc.read_file(path)
        except OSError as error:
            libc.printf("cat: %s: %s\n", path, error.strerror)
            status = 1
            continue
        libc.printf("%s", text if isinstance(text, str) else text.decode("utf-8", "replace"))
    return status
