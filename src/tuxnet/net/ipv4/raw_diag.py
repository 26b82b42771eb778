"""Raw socket monitoring (net/ipv4/raw_diag.c, and ``/proc/net/raw``): what ``netstat -w`` reads."""

from __future__ import annotations

from typing import Any

from tuxnet.net.core.utils import in_ntoa
from tuxnet.net.ipv4.inet_diag import DiagRecord, inet_sk_diag_fill


def raw_diag_dump(host: Any) -> list[DiagRecord]:
    """Every raw socket of the host, by protocol: its address with the protocol as its port
    (``raw_sock_seq_show``'s ``inet_num``), its peer with none, its state (CLOSE, or ESTABLISHED
    once connected) and the rest ``inet_sk_diag_fill`` gives."""
    out = []
    for protocol in sorted(getattr(host, "raw_v4_hashinfo", None) or {}):
        for sk in host.raw_v4_hashinfo[protocol]:
            out.append(inet_sk_diag_fill(sk, (in_ntoa(sk.inet_daddr), 0)))
    return out
