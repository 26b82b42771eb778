"""UDP socket monitoring (net/ipv4/udp_diag.c): what ``ss -u`` reads."""

from __future__ import annotations

from typing import Any

from tuxnet.net.core.utils import in_ntoa
from tuxnet.net.ipv4.inet_diag import DiagRecord, inet_sk_diag_fill


def udp_diag_dump(host: Any) -> list[DiagRecord]:
    """``udp_dump``: every UDP socket of the host, by port: its state (CLOSE, shown UNCONN, or
    ESTABLISHED once connected) and the rest ``inet_sk_diag_fill`` gives."""
    out = []
    for port in sorted(host.udp_table):
        for sk in host.udp_table[port]:
            out.append(inet_sk_diag_fill(sk, (in_ntoa(sk.inet_daddr) if sk.inet_dport else "0.0.0.0", sk.inet_dport)))
    return out
