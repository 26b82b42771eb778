"""UDP socket monitoring (net/ipv4/udp_diag.c): what ``ss -u`` reads."""

from __future__ import annotations

from typing import Any

from tuxnet.net.core.sock import sk_get_meminfo
from tuxnet.net.core.utils import in_ntoa
from tuxnet.net.ipv4.inet_diag import DiagRecord, sock_i_ino


def udp_diag_dump(host: Any) -> list[DiagRecord]:
    """``udp_dump``: every UDP socket of the host, by port, as ``inet_sk_diag_fill`` describes a
    socket that is not TCP's: its state (CLOSE, shown UNCONN, or ESTABLISHED once connected), and
    the memory its received datagrams take (``sk_rmem_alloc``) and the datagrams it sent that are
    still held (``sk_wmem_alloc``) as the queues."""
    out = []
    for port in sorted(host.udp_table):
        for sk in host.udp_table[port]:
            peer = (in_ntoa(sk.inet_daddr) if sk.inet_dport else "0.0.0.0", sk.inet_dport)
            out.append(DiagRecord(sk.sk_state, (in_ntoa(sk.inet_rcv_saddr), sk.inet_num), peer,
                                  sk.sk_rmem_alloc, sk.sk_wmem_alloc, None, "", "", meminfo=sk_get_meminfo(sk),
                                  inode=sock_i_ino(sk)))
    return out
