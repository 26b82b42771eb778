"""``/proc/net/snmp`` and ``/proc/net/netstat`` (net/ipv4/proc.c): a host's SNMP counters as the
kernel prints them, each group a line of names and a line of values."""

from __future__ import annotations

from typing import Any

__all__ = ["netstat_seq_show", "snmp_seq_show"]

_PERLINE = 16  # icmpmsg_put: types to a line


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
