"""IPv4 multicast membership and IGMP, a host's side (net/ipv4/igmp.c; RFC 3376, RFC 2236).

A device's groups (``in_dev->mc_list``) are counted by their users: sockets that joined
(IP_ADD_MEMBERSHIP) and the kernel itself (224.0.0.1, every multicast device's from the moment it
is up).  A group's first user puts its MAC address in the device's receive filter
(``ip_mc_filter_add``) and announces it; its last takes both back.

Announcements follow IGMPv3 (``force_igmp_version`` 0): a state-change report, CHANGE_TO_EXCLUDE
{} on a join and CHANGE_TO_INCLUDE {} on a leave, sent at once and repeated ``igmp_qrv`` times
in all, each within ``igmpv3_unsolicited_report_interval`` of the last
(``igmp_ifc_timer_expire``).  A querier's general query is answered with the current state of
every group (MODE_IS_EXCLUDE {}), within its maximum response time; a group query, for the
group.  After an IGMPv1 or IGMPv2 query the device speaks that version until the querier has been
silent for the Older Version Querier Present Timeout: reports of the old kind, to the group,
after a random delay; a leave (IGMPv2) by the last to report; another host's report suppresses
ours (RFC 2236 section 3).  224.0.0.1 is never reported.

Reports carry the Router Alert option, TOS 0xc0, TTL 1 and DF (``igmpv3_newpack``).  Source
filters (IP_ADD_SOURCE_MEMBERSHIP, MSFILTER) are not implemented: every membership is EXCLUDE {}.
"""

from __future__ import annotations

import struct
from typing import TYPE_CHECKING, Any

from tuxnet.net.core.checksum import csum_fold, csum_partial
from tuxnet.net.core.dev import ARPHRD_ETHER
from tuxnet.net.core.skbuff import PACKET_LOOPBACK, SkBuff, alloc_skb
from tuxnet.net.core.utils import ipv4_is_local_multicast
from tuxnet.world import NSEC_PER_MSEC, NSEC_PER_SEC

if TYPE_CHECKING:
    from tuxnet.kernel.host import Host
    from tuxnet.net.core.dev import NetDevice
    from tuxnet.world import Timer

IGMP_HOST_MEMBERSHIP_QUERY = 0x11
IGMP_HOST_MEMBERSHIP_REPORT = 0x12  # IGMPv1
IGMPV2_HOST_MEMBERSHIP_REPORT = 0x16
IGMP_HOST_LEAVE_MESSAGE = 0x17
IGMPV3_HOST_MEMBERSHIP_REPORT = 0x22

IGMPV3_MODE_IS_EXCLUDE = 2
IGMPV3_CHANGE_TO_INCLUDE = 3
IGMPV3_CHANGE_TO_EXCLUDE = 4

IGMP_ALL_HOSTS = 0xE0000001  # 224.0.0.1
IGMP_ALL_ROUTER = 0xE0000002  # 224.0.0.2
IGMPV3_ALL_MCR = 0xE0000016  # 224.0.0.22

IPPROTO_IGMP = 2
IPOPT_RA = 148  # Router Alert (RFC 2113)
IGMP_QUERY_RESPONSE_INTERVAL = 10 * NSEC_PER_SEC
IGMP_QUERY_INTERVAL = 125 * NSEC_PER_SEC
IGMP_INITIAL_REPORT_DELAY = NSEC_PER_SEC

_grec = struct.Struct("!BBHI")


class IpMcList:
    """``struct ip_mc_list``: a group a device belongs to: its users, the change reports still
    to send about it (``crcount``), and in IGMPv1/v2 mode the report timer and whether this host
    reported it last (``reporter``); in IGMPv3 mode a group query's pending answer (``gsquery``)."""

    __slots__ = ("in_dev", "multiaddr", "users", "crcount", "timer", "reporter", "gsquery", "unsolicit_count")

    def __init__(self, in_dev: Any, multiaddr: int) -> None:
        self.in_dev = in_dev
        self.multiaddr = multiaddr
        self.users = 1
        self.crcount = 0
        self.reporter = False
        self.gsquery = False
        self.unsolicit_count = 0
        self.timer: Timer | None = None  # made when first needed: most groups never have one


class IgmpState:
    """The IGMP part of ``struct in_device``: the groups (``mc_list``), those left whose leave is
    still being reported (``mc_tomb``), the state-change report timer and its remaining
    repetitions (``mr_ifc_*``), the general query answer's timer (``mr_gq_timer``), when older
    queriers were last heard (``mr_v1_seen``, ``mr_v2_seen``: the time they count until), and the
    querier's robustness and intervals."""

    __slots__ = ("dev", "mc_list", "mc_tomb", "mr_ifc_count", "mr_ifc_timer", "mr_gq_timer", "mr_v1_seen",
                 "mr_v2_seen", "mr_qrv", "mr_qi", "mr_qri", "mr_maxdelay")

    def __init__(self, dev: NetDevice) -> None:
        self.dev = dev
        self.mc_list: dict[int, IpMcList] = {}
        self.mc_tomb: list[IpMcList] = []
        self.mr_ifc_count = 0
        self.mr_ifc_timer: Timer | None = None  # (made when first needed)
        self.mr_gq_timer: Timer | None = None
        self.mr_v1_seen = 0
        self.mr_v2_seen = 0
        self.mr_qrv = dev.nd_net.sysctl["net.ipv4.igmp_qrv"]
        self.mr_qi = IGMP_QUERY_INTERVAL
        self.mr_qri = IGMP_QUERY_RESPONSE_INTERVAL
        self.mr_maxdelay = IGMP_QUERY_RESPONSE_INTERVAL


def igmp_state(dev: NetDevice) -> IgmpState:
    """The device's IGMP state (made with its ``in_device``)."""
    from tuxnet.net.ipv4.devinet import in_dev_get

    in_dev = in_dev_get(dev)
    if in_dev.igmp is None:
        in_dev.igmp = IgmpState(dev)
    return in_dev.igmp


def _host(st: IgmpState) -> Host:
    return st.dev.nd_net


def igmp_v1_seen(st: IgmpState) -> bool:
    """``IGMP_V1_SEEN``: forced to version 1, or an IGMPv1 querier heard lately."""
    return _force_version(st) == 1 or st.mr_v1_seen > _host(st).world.now


def igmp_v2_seen(st: IgmpState) -> bool:
    """``IGMP_V2_SEEN``: forced to version 2, or an IGMPv2 querier heard lately."""
    return _force_version(st) == 2 or st.mr_v2_seen > _host(st).world.now


def _force_version(st: IgmpState) -> int:
    from tuxnet.net.ipv4.devinet import in_dev_maxconf

    return in_dev_maxconf(_host(st), st.dev, "force_igmp_version")


def unsolicited_report_interval(st: IgmpState) -> int:
    """``unsolicited_report_interval``: IGMPv3's (1 s by default) or the older versions' (10 s)."""
    name = "igmpv2_unsolicited_report_interval" if igmp_v1_seen(st) or igmp_v2_seen(st) else \
        "igmpv3_unsolicited_report_interval"
    return _host(st).sysctl[f"net.ipv4.conf.{st.dev.name}.{name}"] * NSEC_PER_MSEC


def _reported(host: Host, group: int) -> bool:
    """Whether a group is announced: never 224.0.0.1; the link-local ones only with
    ``igmp_link_local_mcast_reports``."""
    if group == IGMP_ALL_HOSTS:
        return False
    return not ipv4_is_local_multicast(group) or bool(host.sysctl["net.ipv4.igmp_link_local_mcast_reports"])


def _random_below(host: Host, limit: int) -> int:
    """``get_random_u32_below`` in whole jiffies (milliseconds)."""
    jiffies = limit // NSEC_PER_MSEC
    return host.rng.randrange(jiffies) * NSEC_PER_MSEC if jiffies > 0 else 0


# -- joining and leaving -----------------------------------------------------------------------------

def ip_mc_inc_group(dev: NetDevice, addr: int) -> None:
    """``____ip_mc_inc_group``: one more user of ``addr`` on ``dev``; the first puts its MAC
    address in the receive filter and announces the group."""
    from tuxnet.net.core.dev import dev_mc_add
    from tuxnet.net.ipv4.arp import arp_mc_map

    st = igmp_state(dev)
    im = st.mc_list.get(addr)
    if im is not None:
        im.users += 1
        return
    im = st.mc_list[addr] = IpMcList(st, addr)
    # a leave still being reported is overtaken by the join (igmpv3_del_delrec)
    st.mc_tomb = [t for t in st.mc_tomb if t.multiaddr != addr]
    if dev.type == ARPHRD_ETHER:  # ip_mc_filter_add: arp_mc_map maps only Ethernet's groups
        dev_mc_add(dev, arp_mc_map(addr))
    if dev.flags & 1:  # IFF_UP
        igmp_group_added(im)


def ip_mc_dec_group(dev: NetDevice, addr: int) -> None:
    """``__ip_mc_dec_group``: one user fewer; the last takes the group out of the filter and
    reports the leave."""
    from tuxnet.net.core.dev import dev_mc_del
    from tuxnet.net.ipv4.arp import arp_mc_map

    st = igmp_state(dev)
    im = st.mc_list.get(addr)
    if im is None:
        return
    im.users -= 1
    if im.users:
        return
    del st.mc_list[addr]
    if dev.type == ARPHRD_ETHER:
        dev_mc_del(dev, arp_mc_map(addr))
    igmp_group_dropped(im)


def igmp_group_added(im: IpMcList) -> None:
    """``igmp_group_added``: announce a group: in IGMPv1/v2 mode a report after a random delay
    up to a second; in IGMPv3 mode a state-change report, now and ``igmp_qrv`` - 1 times more."""
    st = im.in_dev
    host = _host(st)
    if not _reported(host, im.multiaddr):
        return
    im.unsolicit_count = host.sysctl["net.ipv4.igmp_qrv"]
    if igmp_v1_seen(st) or igmp_v2_seen(st):
        igmp_start_timer(im, IGMP_INITIAL_REPORT_DELAY)
        return
    im.crcount = st.mr_qrv
    igmp_ifc_event(st)


def igmp_group_dropped(im: IpMcList) -> None:
    """``igmp_group_dropped``: a group left: in IGMPv2 mode a leave, if this host reported the
    group last; in IGMPv3 mode the group waits in ``mc_tomb`` while state-change reports say so."""
    st = im.in_dev
    if im.timer is not None:
        im.timer.delete()
    if not _reported(_host(st), im.multiaddr) or not st.dev.flags & 1:
        return
    if igmp_v1_seen(st):
        return
    if igmp_v2_seen(st):
        if im.reporter:
            igmp_send_report(st, im.multiaddr, IGMP_HOST_LEAVE_MESSAGE)
        return
    im.crcount = st.mr_qrv  # igmpv3_add_delrec
    st.mc_tomb.append(im)
    igmp_ifc_event(st)


def ip_mc_up(dev: NetDevice) -> None:
    """``ip_mc_up``: a multicast device comes up: it joins 224.0.0.1, and its groups are
    announced again."""
    st = igmp_state(dev)
    for im in list(st.mc_list.values()):
        igmp_group_added(im)
    if IGMP_ALL_HOSTS not in st.mc_list:
        ip_mc_inc_group(dev, IGMP_ALL_HOSTS)


def ip_mc_down(dev: NetDevice) -> None:
    """``ip_mc_down``: the device goes down: no reports pending, and it leaves 224.0.0.1 (which
    ``ip_mc_up`` joins again)."""
    st = igmp_state(dev)
    for timer in (st.mr_ifc_timer, st.mr_gq_timer, *(im.timer for im in st.mc_list.values())):
        if timer is not None:
            timer.delete()
    st.mr_ifc_count = 0
    st.mc_tomb.clear()
    for im in st.mc_list.values():
        im.crcount = 0
    if IGMP_ALL_HOSTS in st.mc_list:
        ip_mc_dec_group(dev, IGMP_ALL_HOSTS)


def ip_check_mc(dev: NetDevice, group: int) -> bool:
    """``ip_check_mc_rcu``: a multicast to ``group`` is for this host if ``dev`` belongs to it
    (with no source filters, whatever its protocol)."""
    in_dev = dev.ip_ptr
    st = in_dev.igmp if in_dev is not None else None
    return st is not None and group in st.mc_list


# -- IGMPv3 reports ---------------------------------------------------------------------------------

def igmp_ifc_event(st: IgmpState) -> None:
    """``igmp_ifc_event``: the device's groups changed: send state-change reports (none in
    IGMPv1/v2 mode), ``igmp_qrv`` of them, the first at once."""
    if igmp_v1_seen(st) or igmp_v2_seen(st):
        return
    st.mr_ifc_count = st.mr_qrv
    igmp_ifc_start_timer(st, NSEC_PER_MSEC)


def igmp_ifc_start_timer(st: IgmpState, delay: int) -> None:
    """``igmp_ifc_start_timer``: a random time below ``delay``, and two jiffies."""
    host = _host(st)
    if st.mr_ifc_timer is None:
        st.mr_ifc_timer = host.world.timer(igmp_ifc_timer_expire, st)
    st.mr_ifc_timer.mod(host.world.now + _random_below(host, delay) + 2 * NSEC_PER_MSEC)


def igmp_ifc_timer_expire(st: IgmpState) -> None:
    """``igmp_ifc_timer_expire``: send the state-change report, and again while repetitions are
    left, each within the unsolicited report interval."""
    igmpv3_send_cr(st)
    if st.mr_ifc_count:
        st.mr_ifc_count -= 1
        igmp_ifc_start_timer(st, unsolicited_report_interval(st))


def igmpv3_send_cr(st: IgmpState) -> None:
    """``igmpv3_send_cr``: one report with a record for each group whose change is still to be
    told: CHANGE_TO_INCLUDE {} for those left (forgotten once told ``igmp_qrv`` times),
    CHANGE_TO_EXCLUDE {} for those joined."""
    records = []
    for im in list(st.mc_tomb):
        if im.crcount:
            records.append((IGMPV3_CHANGE_TO_INCLUDE, im.multiaddr))
            im.crcount -= 1
        if not im.crcount:
            st.mc_tomb.remove(im)
    for im in st.mc_list.values():
        if im.crcount:
            records.append((IGMPV3_CHANGE_TO_EXCLUDE, im.multiaddr))
            im.crcount -= 1
    igmpv3_sendpack(st, records)


def igmpv3_send_report(st: IgmpState, im: IpMcList | None) -> None:
    """``igmpv3_send_report``: the current state, MODE_IS_EXCLUDE {}, of one group or (``im``
    None, to answer a general query) of every group the device reports."""
    host = _host(st)
    groups = [im] if im is not None else list(st.mc_list.values())
    igmpv3_sendpack(st, [(IGMPV3_MODE_IS_EXCLUDE, g.multiaddr) for g in groups if _reported(host, g.multiaddr)])


def igmpv3_sendpack(st: IgmpState, records: list[tuple[int, int]]) -> None:
    """``igmpv3_newpack`` + ``add_grec`` + ``igmpv3_sendpack``: an IGMPv3 report of ``records``
    (nothing when there are none) to 224.0.0.22."""
    if not records:
        return
    body = bytearray(struct.pack("!BBHHH", IGMPV3_HOST_MEMBERSHIP_REPORT, 0, 0, 0, len(records)))
    for kind, group in records:
        body += _grec.pack(kind, 0, 0, group)
    _igmp_xmit(st, IGMPV3_ALL_MCR, body)


def igmp_send_report(st: IgmpState, group: int, kind: int) -> None:
    """``igmp_send_report`` (IGMPv1 and v2): a report to the group, or a leave to 224.0.0.2."""
    dst = IGMP_ALL_ROUTER if kind == IGMP_HOST_LEAVE_MESSAGE else group
    _igmp_xmit(st, dst, bytearray(struct.pack("!BBHI", kind, 0, 0, group)))


def _igmp_xmit(st: IgmpState, daddr: int, body: bytearray) -> None:
    """Checksum ``body`` and send it with the Router Alert option, TOS 0xc0, TTL 1, DF and IP ID
    0, by the device itself, from the source its route chose if that is the device's own
    address, else from 0.0.0.0 (``igmpv3_get_srcaddr``: loopback's 127.0.0.1 is too narrow in
    scope to be chosen)."""
    from tuxnet.net.ipv4.ip_output import IP_DF, MAX_HEADER, ip_local_out
    from tuxnet.net.ipv4.route import ip_route_output_key

    host = _host(st)
    dev = st.dev
    rt = ip_route_output_key(host, daddr, 0, dev.ifindex)
    if isinstance(rt, int):
        return
    struct.pack_into("!H", body, 2, csum_fold(csum_partial(body)))
    saddr = rt.saddr if dev.ip_ptr is not None and any(ifa.local == rt.saddr for ifa in dev.ip_ptr.ifa_list) else 0
    header = struct.pack("!BBHHHBBHII", 0x46, 0xC0, 24 + len(body), 0, IP_DF, 1, IPPROTO_IGMP, 0, saddr, daddr)
    skb = alloc_skb(24 + len(body), MAX_HEADER)
    skb.put_data(header + bytes((IPOPT_RA, 4, 0, 0)) + body)
    skb.network_header = skb.data
    skb.transport_header = skb.data + 24
    skb.dst = rt
    skb.priority = 7  # TC_PRIO_CONTROL
    ip_local_out(host, None, skb)


# -- receiving ---------------------------------------------------------------------------------------

def igmp_rcv(host: Host, skb: SkBuff) -> int:
    """``igmp_rcv``: a query, or another host's report (which, for a group we report in
    IGMPv1/v2 mode, saves us ours); the rest is not a host's business.  A message shorter than 8
    octets or with a bad checksum is dropped."""
    buf = skb.buf
    d = skb.data
    length = skb.tail - d
    if length < 8 or csum_fold(csum_partial(memoryview(buf)[d:skb.tail])) != 0:
        return 0
    dev = skb.dev
    if dev is None or dev.ip_ptr is None:
        return 0
    st = igmp_state(dev)
    kind = buf[d]
    group = int.from_bytes(buf[d + 4:d + 8], "big")
    if kind == IGMP_HOST_MEMBERSHIP_QUERY:
        igmp_heard_query(st, buf[d + 1], group, length, bytes(buf[d:skb.tail]))
    elif kind in (IGMP_HOST_MEMBERSHIP_REPORT, IGMPV2_HOST_MEMBERSHIP_REPORT) and skb.pkt_type != PACKET_LOOPBACK:
        igmp_heard_report(st, group)  # (another host's: not our own looped back)
    return 0


def igmp_heard_report(st: IgmpState, group: int) -> None:
    """``igmp_heard_report``: another member reported the group: our pending report is not
    needed, and we are no longer the last to have reported it (``igmp_stop_timer``)."""
    im = st.mc_list.get(group)
    if im is None or not _reported(_host(st), group):
        return
    if im.timer is not None:
        im.timer.delete()
    im.reporter = False
    im.unsolicit_count = 0


def igmp_heard_query(st: IgmpState, max_resp_code: int, group: int, length: int, message: bytes) -> None:
    """``igmp_heard_query``.  An IGMPv1 query (8 octets, no response time) or IGMPv2 query (8
    octets) puts the device in that version's mode for the Older Version Querier Present Timeout
    (robustness times query interval, and the response interval), cancels the state-change
    reports, and asks for reports within the response time.  An IGMPv3 query (12 octets or more)
    sets the robustness and intervals it carries and asks, when general, for the answer of all
    groups at once; a group query, for the group's."""
    host = _host(st)
    now = host.world.now
    if length == 8:
        older = now + st.mr_qrv * st.mr_qi + st.mr_qri
        if max_resp_code == 0:
            max_delay = IGMP_QUERY_RESPONSE_INTERVAL
            st.mr_v1_seen = older
            group = 0
        else:
            max_delay = max_resp_code * NSEC_PER_SEC // 10  # tenths of a second
            st.mr_v2_seen = older
        st.mr_ifc_count = 0
        if st.mr_ifc_timer is not None:
            st.mr_ifc_timer.delete()
        st.mc_tomb.clear()  # igmpv3_clear_delrec
        for im in st.mc_list.values():
            im.crcount = 0
    elif length < 12:
        return
    elif igmp_v1_seen(st):
        max_delay = IGMP_QUERY_RESPONSE_INTERVAL
        group = 0
    else:
        max_delay = _igmpv3_exp(max_resp_code) * NSEC_PER_SEC // 10 or NSEC_PER_MSEC
        if not igmp_v2_seen(st):
            st.mr_maxdelay = max_delay
            st.mr_qrv = message[8] & 7 or host.sysctl["net.ipv4.igmp_qrv"]
            st.mr_qi = _igmpv3_exp(message[9]) * NSEC_PER_SEC or IGMP_QUERY_INTERVAL
            if st.mr_qri >= st.mr_qi:
                st.mr_qri = (st.mr_qi // NSEC_PER_SEC - 1) * NSEC_PER_SEC
            if not group:
                igmp_gq_start_timer(st)
                return
    for im in st.mc_list.values():
        if group and group != im.multiaddr or not _reported(host, im.multiaddr):
            continue
        im.gsquery = False
        igmp_mod_timer(im, max_delay)


def _igmpv3_exp(code: int) -> int:
    """IGMPV3_MRC: the Max Resp Code's value, floating point above 127 (RFC 3376 section 4.1.1)."""
    if code < 128:
        return code
    return ((code & 0x0F) | 0x10) << (((code >> 4) & 7) + 3)


def igmp_mod_timer(im: IpMcList, max_delay: int) -> None:
    """``igmp_mod_timer``: answer within ``max_delay``; a timer already due sooner stays."""
    host = _host(im.in_dev)
    if im.timer is not None and im.timer.pending() and im.timer.expires - host.world.now < max_delay:
        return
    igmp_start_timer(im, max_delay)


def igmp_start_timer(im: IpMcList, max_delay: int) -> None:
    """``igmp_start_timer``: a random delay below ``max_delay``, and two jiffies."""
    host = _host(im.in_dev)
    if im.timer is None:
        im.timer = host.world.timer(igmp_timer_expire, im)
    im.timer.mod(host.world.now + _random_below(host, max_delay) + 2 * NSEC_PER_MSEC)


def igmp_timer_expire(im: IpMcList) -> None:
    """``igmp_timer_expire``: the report a query asked for, or an announcement in IGMPv1/v2
    mode (repeated while ``unsolicit_count`` says): of the version the device speaks, in IGMPv3
    mode the group's state."""
    st = im.in_dev
    if im.unsolicit_count:
        im.unsolicit_count -= 1
        if im.unsolicit_count:
            igmp_start_timer(im, unsolicited_report_interval(st))
    im.reporter = True
    if igmp_v1_seen(st):
        igmp_send_report(st, im.multiaddr, IGMP_HOST_MEMBERSHIP_REPORT)
    elif igmp_v2_seen(st):
        igmp_send_report(st, im.multiaddr, IGMPV2_HOST_MEMBERSHIP_REPORT)
    else:
        igmpv3_send_report(st, im)


def igmp_gq_start_timer(st: IgmpState) -> None:
    """``igmp_gq_start_timer``: answer a general query within its maximum response time."""
    host = _host(st)
    expires = host.world.now + _random_below(host, st.mr_maxdelay) + 2 * NSEC_PER_MSEC
    if st.mr_gq_timer is None:
        st.mr_gq_timer = host.world.timer(igmp_gq_timer_expire, st)
    elif st.mr_gq_timer.pending() and st.mr_gq_timer.expires <= expires:
        return
    st.mr_gq_timer.mod(expires)


def igmp_gq_timer_expire(st: IgmpState) -> None:
    """``igmp_gq_timer_expire``: the answer to a general query."""
    igmpv3_send_report(st, None)


# -- a socket's memberships (ip_mc_join_group, ip_mc_leave_group) ---------------------------------

_ip_mreqn = struct.Struct("!II")  # struct ip_mreq: the group, the interface's address (then ip_mreqn's index)


def ip_mreq_parse(optval: bytes) -> tuple[int, int, int] | None:
    """A ``struct ip_mreqn`` (12 octets) or ``ip_mreq`` (8, no index): (group, address, ifindex),
    or None when too short."""
    if len(optval) < 8:
        return None
    group, address = _ip_mreqn.unpack_from(optval)
    ifindex = int.from_bytes(optval[8:12], "little", signed=True) if len(optval) >= 12 else 0
    return group, address, ifindex


def ip_mc_find_dev(host: Host, address: int, ifindex: int, group: int) -> NetDevice | None:
    """``ip_mc_find_dev``: the device by index; else the one with ``address``; else the one the
    route to the group leaves by."""
    from tuxnet.net.ipv4.route import ip_route_output_key

    if ifindex:
        return host.dev_by_index.get(ifindex)
    if address:
        owners = host.inet_addr_lst.get(address)
        return owners[0].dev if owners else None
    rt = ip_route_output_key(host, group)
    return None if isinstance(rt, int) else rt.dev


def ip_mc_join_group(sk: Any, group: int, address: int, ifindex: int) -> int:
    """``ip_mc_join_group``: the socket joins ``group`` on the device found: -EINVAL for an address
    that is not multicast, -ENODEV with no device, -EADDRINUSE when it is already a member
    there, -ENOBUFS past ``igmp_max_memberships``."""
    from tuxnet.kernel.errno import EADDRINUSE, EINVAL, ENOBUFS, ENODEV
    from tuxnet.net.core.utils import ipv4_is_multicast

    host = sk.host
    if not ipv4_is_multicast(group):
        return -EINVAL
    dev = ip_mc_find_dev(host, address, ifindex, group)
    if dev is None:
        return -ENODEV
    if (group, dev.ifindex) in sk.mc_list:
        return -EADDRINUSE
    if len(sk.mc_list) >= host.sysctl["net.ipv4.igmp_max_memberships"]:
        return -ENOBUFS
    sk.mc_list.append((group, dev.ifindex))
    ip_mc_inc_group(dev, group)
    _rt_multicast_event(host)
    return 0


def ip_mc_leave_group(sk: Any, group: int, address: int, ifindex: int) -> int:
    """``ip_mc_leave_group``: -EADDRNOTAVAIL unless the socket is a member there (-ENODEV when no
    device is found and none was named)."""
    from tuxnet.kernel.errno import EADDRNOTAVAIL, ENODEV

    host = sk.host
    dev = ip_mc_find_dev(host, address, ifindex, group)
    if dev is None and not ifindex and not address:
        return -ENODEV
    for entry in sk.mc_list:
        if entry[0] == group and (dev is None or entry[1] == dev.ifindex) and (not ifindex or entry[1] == ifindex):
            sk.mc_list.remove(entry)
            member = host.dev_by_index.get(entry[1])
            if member is not None:
                ip_mc_dec_group(member, group)
                _rt_multicast_event(host)
            return 0
    return -EADDRNOTAVAIL


def ip_mc_drop_socket(sk: Any) -> None:
    """``ip_mc_drop_socket``: a closed socket leaves its groups."""
    for group, ifindex in sk.mc_list:
        dev = sk.host.dev_by_index.get(ifindex)
        if dev is not None:
            ip_mc_dec_group(dev, group)
    if sk.mc_list:
        sk.mc_list = []
        _rt_multicast_event(sk.host)


def ip_mc_sf_allow(sk: Any, group: int, dif: int) -> bool:
    """``ip_mc_sf_allow``: a datagram to ``group`` that came in by ``dif`` is for a socket that
    joined the group there, or, with IP_MULTICAST_ALL (the default), for any socket."""
    return (group, dif) in sk.mc_list or sk.mc_all


def _rt_multicast_event(host: Host) -> None:
    """``ip_rt_multicast_event``: routes made before knew other groups (whether a multicast is
    looped back to us, ``RTCF_LOCAL``): the route caches are flushed."""
    from tuxnet.net.ipv4.fib import fib_flush_cache

    fib_flush_cache(host)
