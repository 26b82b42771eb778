"""ARP (RFC 826; net/ipv4/arp.c): the IPv4 side of the neighbour table."""

from __future__ import annotations

from typing import TYPE_CHECKING

from tuxnet.net.core.dev import IFF_LOOPBACK, IFF_NOARP
from tuxnet.net.core.neighbour import NUD_NOARP, Neighbour, NeighTable, neigh_connected_output

if TYPE_CHECKING:
    from tuxnet.kernel.host import Host


def arp_constructor(n: Neighbour) -> None:
    """``arp_constructor``: loopback and NOARP devices need no resolution."""
    dev = n.dev
    if dev.flags & (IFF_LOOPBACK | IFF_NOARP) or dev.header_ops is None:
        n.nud_state = NUD_NOARP
        n.ha = dev.dev_addr if dev.flags & IFF_LOOPBACK else dev.broadcast
        n.output = neigh_connected_output
        return
    raise NotImplementedError("ARP resolution")


def arp_init(host: Host) -> None:
    """``arp_init``: the host's neighbour table for IPv4."""
    host.arp_tbl = NeighTable(host, arp_constructor)
