"""ARP (RFC 826; net/ipv4/arp.c): the IPv4 side of the neighbour table.

Sending: ``ip_finish_output2`` → ``__ipv4_neigh_lookup_noref`` / ``__neigh_create`` (with
``arp_constructor``) → ``neigh_resolve_output`` → ``neigh_event_send`` → ``arp_solicit`` →
``arp_send`` (a broadcast request, or a unicast one when re-probing a known address).
Receiving: ``arp_rcv`` → ``arp_process``: a request for one of our addresses is answered and its
sender entered STALE (``neigh_event_ns``), as Linux learns from requests; any ARP packet from a
sender we already have an entry for updates it (``neigh_update``), REACHABLE for a reply
addressed to us, STALE otherwise.  Unsolicited ARP creates no entry (``arp_accept`` = 0).
Gratuitous ARP is sent as Linux sends it: when a device comes up with ``arp_notify`` set
(``inetdev_event``, NETDEV_UP; default 0, so not at all), and when a driver asks its peers to
relearn its address (``netdev_notify_peers``).  Adding an address announces nothing.
"""

from __future__ import annotations

import struct
from functools import partial
from typing import TYPE_CHECKING, Any

from tuxnet.net.core.dev import ETH_P_ARP, ETH_P_IP, IFF_LOOPBACK, IFF_NOARP, IFF_UP, PacketType, dev_queue_xmit
from tuxnet.net.core.neighbour import (
    NEIGH_UPDATE_F_OVERRIDE,
    NUD_NOARP,
    NUD_REACHABLE,
    NUD_STALE,
    NUD_VALID,
    Neighbour,
    NeighOps,
    NeighTable,
    __neigh_lookup,
    neigh_direct_output,
    neigh_event_ns,
    neigh_flush_dev,
    neigh_proc_update,
    neigh_resolve_output,
    neigh_update,
    pneigh_enqueue,
    pneigh_lookup,
)
from tuxnet.net.core.skbuff import PACKET_HOST, PACKET_LOOPBACK, PACKET_OTHERHOST, SkBuff, alloc_skb
from tuxnet.net.core.utils import ipv4_is_loopback, ipv4_is_multicast
from tuxnet.net.ipv4.devinet import (
    in_dev_conf_get,
    in_dev_maxconf,
    in_dev_orconf,
    inet_addr_onlink,
    inet_addr_type,
    inet_confirm_addr,
    inet_select_addr,
)
from tuxnet.net.ipv4.fib import RT_SCOPE_HOST, RT_SCOPE_LINK, RTN_BROADCAST, RTN_LOCAL, RTN_MULTICAST, RTN_UNICAST
from tuxnet.net.ipv4.route import ip_route_input_noref, ip_route_output_key

if TYPE_CHECKING:
    from tuxnet.kernel.host import Host
    from tuxnet.net.core.dev import NetDevice

ARPHRD_ETHER = 1
ARPHRD_IEEE802 = 6
ARPOP_REQUEST = 1
ARPOP_REPLY = 2
ARP_HDR_LEN = 8

_arphdr = struct.Struct("!HHBBH")
_u32 = struct.Struct("!I")


def arp_mc_map(addr: int) -> bytes:
    """``ip_eth_mc_map``: 01:00:5e and the low 23 bits of the group (RFC 1112 section 6.4)."""
    return b"\x01\x00\x5e" + bytes(((addr >> 16) & 0x7F, (addr >> 8) & 0xFF, addr & 0xFF))


def inet_addr_type_dev_table(host: Host, dev: NetDevice, addr: int) -> int:
    """``inet_addr_type_dev_table``: what ``addr`` is, seen from ``dev`` (whose table is the
    host's: tuxnet has no VRF)."""
    return inet_addr_type(host, addr)


def arp_constructor(n: Neighbour) -> None:
    """``arp_constructor``: multicast, broadcast, loopback and NOARP need no resolution."""
    dev = n.dev
    host = dev.nd_net
    addr = n.primary_key
    n.type = inet_addr_type_dev_table(host, dev, addr)
    if dev.header_ops is None:
        n.nud_state = NUD_NOARP
        n.ops = arp_direct_ops
        n.output = neigh_direct_output
        return
    if n.type == RTN_MULTICAST:
        n.nud_state = NUD_NOARP
        n.ha = arp_mc_map(addr)
    elif dev.flags & (IFF_NOARP | IFF_LOOPBACK):
        n.nud_state = NUD_NOARP
        n.ha = dev.dev_addr
    elif n.type == RTN_BROADCAST:
        n.nud_state = NUD_NOARP
        n.ha = dev.broadcast
    n.ops = arp_hh_ops
    n.output = n.ops.connected_output if n.nud_state & NUD_VALID else n.ops.output


def arp_create(type: int, ptype: int, dest_ip: int, dev: NetDevice, src_ip: int, dest_hw: bytes | None,
               src_hw: bytes | None, target_hw: bytes | None) -> SkBuff:
    """``arp_create``: an ARP packet with its Ethernet header (RFC 826 packet format)."""
    alen = dev.addr_len
    skb = alloc_skb(ARP_HDR_LEN + 2 * (alen + 4), dev.hard_header_len)
    skb.network_header = skb.data
    skb.dev = dev
    skb.protocol = ETH_P_ARP
    src_hw = src_hw or dev.dev_addr
    d = skb.put(ARP_HDR_LEN + 2 * (alen + 4))
    buf = skb.buf
    _arphdr.pack_into(buf, d, dev.type, ETH_P_IP, alen, 4, type)
    p = d + ARP_HDR_LEN
    buf[p:p + alen] = src_hw
    _u32.pack_into(buf, p + alen, src_ip)
    p += alen + 4
    buf[p:p + alen] = target_hw if target_hw is not None else bytes(alen)
    _u32.pack_into(buf, p + alen, dest_ip)
    dev.header_ops.create(skb, dev, ptype, dest_hw or dev.broadcast, src_hw)
    return skb


def arp_xmit(skb: SkBuff) -> int:
    """``arp_xmit`` (NF_ARP_OUT has no hooks here) → ``dev_queue_xmit``."""
    return dev_queue_xmit(skb)


def arp_send(type: int, ptype: int, dest_ip: int, dev: NetDevice, src_ip: int, dest_hw: bytes | None,
             src_hw: bytes | None, target_hw: bytes | None) -> None:
    """``arp_send`` / ``arp_send_dst``: create and transmit an ARP packet."""
    if dev.flags & IFF_NOARP:
        return
    arp_xmit(arp_create(type, ptype, dest_ip, dev, src_ip, dest_hw, src_hw, target_hw))


def arp_solicit(neigh: Neighbour, skb: SkBuff | None) -> None:
    """``arp_solicit``: ask for ``neigh``'s address: unicast to the address we have while the
    unicast probes last (PROBE), broadcast otherwise.  The sender address, by ``arp_announce``:
    0, the source of the packet that is waiting when it is ours; 1, that only when the target
    shares a subnet with it on the device; 2 (or else), the device's best address for the target."""
    dev = neigh.dev
    host = dev.nd_net
    target = neigh.primary_key
    saddr = 0
    announce = in_dev_maxconf(host, dev, "arp_announce")
    if announce < 2 and skb is not None and skb.network_header >= 0:
        src = _u32.unpack_from(skb.buf, skb.network_header + 12)[0]
        if inet_addr_type_dev_table(host, dev, src) == RTN_LOCAL and (
                announce == 0 or inet_addr_onlink(dev, target, src)):
            saddr = src
    if not saddr:
        saddr = inet_select_addr(host, dev, target, RT_SCOPE_LINK)
    parms = neigh.parms
    probes = neigh.probes - parms.var("ucast_solicit")
    dst_hw = None
    if probes < 0:
        dst_hw = bytes(neigh.ha)
    elif probes - parms.var("app_solicit") < 0:
        return  # neigh_app_ns: ask a user-space daemon (none here)
    arp_send(ARPOP_REQUEST, ETH_P_ARP, target, dev, saddr, dst_hw, dev.dev_addr, None)


def arp_error_report(neigh: Neighbour, skb: SkBuff) -> None:
    """``arp_error_report`` → ``dst_link_failure`` → ``ipv4_link_failure``: tell the sender the
    host is unreachable (ICMP destination unreachable, host unreachable)."""
    from tuxnet.net.ipv4.icmp import ICMP_DEST_UNREACH, ICMP_HOST_UNREACH, icmp_send

    nh = skb.network_header
    if nh < 0 or skb.tail - nh < 20 or skb.buf[nh] >> 4 != 4 or skb.buf[nh] & 0x0F < 5:
        return
    icmp_send(neigh.dev.nd_net, skb, ICMP_DEST_UNREACH, ICMP_HOST_UNREACH, 0)


arp_hh_ops = NeighOps(arp_solicit, arp_error_report, neigh_resolve_output, neigh_resolve_output)
arp_direct_ops = NeighOps(None, None, neigh_direct_output, neigh_direct_output)


def arp_rcv(skb: SkBuff, dev: NetDevice, pt: PacketType, orig_dev: Any) -> int:
    """``arp_rcv``: sanity checks, then ``arp_process``."""
    if dev.flags & IFF_NOARP or skb.pkt_type in (PACKET_OTHERHOST, PACKET_LOOPBACK):
        return 0
    alen = dev.addr_len
    d = skb.data
    if skb.tail - d < ARP_HDR_LEN + 2 * (alen + 4):
        return 1
    if skb.buf[d + 4] != alen or skb.buf[d + 5] != 4:
        return 1
    return arp_process(dev.nd_net, skb)


def arp_is_garp(host: Host, dev: NetDevice, op: int, sip: int, tip: int, sha: bytes, tha: bytes) -> bool:
    """``arp_is_garp``: a gratuitous ARP announces ``sip`` (a reply must also carry sha as tha)."""
    is_garp = tip == sip
    if is_garp and op == ARPOP_REPLY:
        is_garp = tha == sha
    return is_garp and inet_addr_type_dev_table(host, dev, sip) == RTN_UNICAST


def arp_ignore(host: Host, dev: NetDevice, sip: int, tip: int) -> bool:
    """``arp_ignore``: whether to leave a request for our address ``tip`` unanswered, by
    ``arp_ignore``: 0 answer for any local address; 1 only when ``tip`` is on the receiving
    device; 2 also only when the asker is in its subnet; 3 not for host-scope addresses; 8 never."""
    mode = in_dev_maxconf(host, dev, "arp_ignore")
    if mode == 1:
        return not inet_confirm_addr(host, dev, 0, tip, RT_SCOPE_HOST)
    if mode == 2:
        return not inet_confirm_addr(host, dev, sip, tip, RT_SCOPE_HOST)
    if mode == 3:
        return not inet_confirm_addr(host, None, 0, tip, RT_SCOPE_LINK)
    return mode == 8


def arp_filter(host: Host, sip: int, tip: int, dev: NetDevice) -> bool:
    """``arp_filter``: with ``arp_filter`` on, answer only on the device our route back to the
    asker (from ``tip``) leaves by."""
    rt = ip_route_output_key(host, sip, tip)
    return isinstance(rt, int) or rt.dev is not dev


def arp_fwd_proxy(host: Host, dev: NetDevice, rt: Any) -> bool:
    """``arp_fwd_proxy``: with ``proxy_arp`` on the receiving device, answer for an address our
    route sends out of another device, unless both devices share a ``medium_id`` (-1: never)."""
    if rt.dev is dev or not in_dev_orconf(host, dev, "proxy_arp"):
        return False
    imi = in_dev_conf_get(host, dev, "medium_id")
    if imi == 0:
        return True
    omi = in_dev_conf_get(host, rt.dev, "medium_id")
    return imi != -1 and omi not in (imi, -1)


def arp_redo(skb: SkBuff) -> None:
    """``arp_redo``: a held request's turn has come: answer it now."""
    arp_process(skb.dev.nd_net, skb, True)


def arp_process(host: Host, skb: SkBuff, locally_enqueued: bool = False) -> int:
    """``arp_process``: answer requests for our addresses (learning the asker) and, on a forwarding
    device with ``proxy_arp`` or a proxy entry for the address (``ip neigh add proxy``), for
    addresses routed out of another device (a broadcast request after a random
    wait of up to ``proxy_delay``: ``pneigh_enqueue``); update the entries of senders we know."""
    dev = skb.dev
    if dev.ip_ptr is None:
        return 1
    buf = skb.buf
    d = skb.data
    hrd, pro, _, _, op = _arphdr.unpack_from(buf, d)
    if hrd not in (ARPHRD_ETHER, ARPHRD_IEEE802) or pro != ETH_P_IP:
        return 1
    if op not in (ARPOP_REQUEST, ARPOP_REPLY):
        return 1
    alen = dev.addr_len
    p = d + ARP_HDR_LEN
    sha = bytes(buf[p:p + alen])
    sip = _u32.unpack_from(buf, p + alen)[0]
    p += alen + 4
    tha = bytes(buf[p:p + alen])
    tip = _u32.unpack_from(buf, p + alen)[0]
    if ipv4_is_multicast(tip) or ipv4_is_loopback(tip):
        return 1
    tbl = host.arp_tbl
    if sip == 0:
        # RFC 2131 / RFC 5227 duplicate address detection probe: answer for our address.
        if op == ARPOP_REQUEST and inet_addr_type_dev_table(host, dev, tip) == RTN_LOCAL:
            arp_send(ARPOP_REPLY, ETH_P_ARP, sip, dev, tip, sha, dev.dev_addr, sha)
        return 0
    if op == ARPOP_REQUEST and ip_route_input_noref(host, skb, tip, sip, dev) == 0 \
            and skb.dst.rt_type == RTN_LOCAL:
        dont_send = arp_ignore(host, dev, sip, tip)
        if not dont_send and in_dev_orconf(host, dev, "arp_filter"):
            dont_send = arp_filter(host, sip, tip, dev)
        if not dont_send:
            n = neigh_event_ns(tbl, sha, sip, dev)
            if n is not None:
                arp_send(ARPOP_REPLY, ETH_P_ARP, sip, dev, tip, sha, dev.dev_addr, sha)
        return 0
    if op == ARPOP_REQUEST and skb.dst is not None and skb.dst.rt_type == RTN_UNICAST and \
            in_dev_conf_get(host, dev, "forwarding") and (
                arp_fwd_proxy(host, dev, skb.dst) or (skb.dst.dev is not dev and pneigh_lookup(tbl, tip, dev))):
        neigh_event_ns(tbl, sha, sip, dev)
        parms = dev.ip_ptr.arp_parms
        if locally_enqueued or skb.pkt_type == PACKET_HOST or not parms.proxy_delay:
            arp_send(ARPOP_REPLY, ETH_P_ARP, sip, dev, tip, sha, dev.dev_addr, sha)
        else:
            pneigh_enqueue(tbl, parms, skb)
        return 0
    n = __neigh_lookup(tbl, sip, dev, False)
    if n is not None:
        is_garp = arp_is_garp(host, dev, op, sip, tip, sha, tha)
        # Of several replies back to back take the first (LOCKTIME), unless it is an announcement.
        override = host.world.now > n.updated + tbl.parms.LOCKTIME or is_garp
        # Broadcast replies and requests do not assert reachability.
        state = NUD_REACHABLE if op == ARPOP_REPLY and skb.pkt_type == PACKET_HOST else NUD_STALE
        neigh_update(n, sha, state, NEIGH_UPDATE_F_OVERRIDE if override else 0)
    return 0


def inetdev_send_gratuitous_arp(dev: NetDevice) -> None:
    """``inetdev_send_gratuitous_arp``: announce each address of ``dev`` with an ARP request whose
    sender and target are both that address."""
    if dev.flags & (IFF_NOARP | IFF_LOOPBACK) or not dev.flags & IFF_UP or dev.header_ops is None:
        return
    if dev.ip_ptr is None:
        return
    for ifa in dev.ip_ptr.ifa_list:
        arp_send(ARPOP_REQUEST, ETH_P_ARP, ifa.local, dev, ifa.local, None, dev.dev_addr, None)


def arp_netdev_up(host: Host, dev: NetDevice) -> None:
    """The ARP part of ``inetdev_event`` for NETDEV_UP: a gratuitous ARP only when
    ``arp_notify`` asks for it (IN_DEV_ARP_NOTIFY; Documentation/networking/ip-sysctl)."""
    if in_dev_maxconf(host, dev, "arp_notify"):
        inetdev_send_gratuitous_arp(dev)


def netdev_notify_peers(dev: NetDevice) -> None:
    """``netdev_notify_peers`` (NETDEV_NOTIFY_PEERS): a driver whose link moved (a migrated
    guest, a failed-over bond) has its addresses announced, whatever ``arp_notify`` says."""
    inetdev_send_gratuitous_arp(dev)


def arp_ifdown(host: Host, dev: NetDevice) -> None:
    """``arp_ifdown`` → ``neigh_ifdown``: the device went down; its entries go."""
    neigh_flush_dev(host.arp_tbl, dev, False)


def arp_init(host: Host) -> None:
    """``arp_init``: the host's neighbour table for IPv4 and the ARP packet handler."""
    host.arp_tbl = NeighTable(host, "arp_cache", arp_constructor)
    host.arp_tbl.proxy_redo = arp_redo
    host.sysctl.notifiers.append(partial(neigh_proc_update, host))
    host.dev_add_pack(PacketType(ETH_P_ARP, arp_rcv, name="arp_rcv"))
