"""IPv4 multicast membership and IGMP, a host's side (net/ipv4/igmp.c; RFC 3376, RFC 2236).

A device's groups (``in_dev->mc_list``) are counted by their users: sockets that joined
(IP_ADD_MEMBERSHIP) and the kernel itself (224.0.0.1, every multicast device's from the moment it
is up).  A group's first user puts its MAC address in the device's receive filter
(``ip_mc_filter_add``) and announces it; its last takes both back.

A membership has a source filter (RFC 3376 section 3): a socket's is INCLUDE or EXCLUDE a list
of sources (``ip_mc_socklist``: IP_ADD_SOURCE_MEMBERSHIP, IP_BLOCK_SOURCE, IP_MSFILTER and their
MCAST_* forms; a plain join is EXCLUDE {}); a device merges its sockets' into one per group
(``ip_mc_list``: EXCLUDE if any socket excludes, the sources every excluding socket excludes and
no including one includes; else INCLUDE the union), counting for each source how many sockets
include and exclude it.  A datagram from a source the socket's filter refuses is not delivered to
it (``ip_mc_sf_allow``), and one no membership on the device wants is not taken in at all
(``ip_check_mc_rcu``).

Announcements follow IGMPv3 (``force_igmp_version`` 0): state-change reports, sent at once and
repeated ``igmp_qrv`` times in all, each within ``igmpv3_unsolicited_report_interval`` of the last
(``igmp_ifc_timer_expire``): a filter mode change (CHANGE_TO_EXCLUDE on an any-source join,
CHANGE_TO_INCLUDE on its leave), sources allowed or blocked (ALLOW_NEW_SOURCES,
BLOCK_OLD_SOURCES).  A querier's general query is answered with the current state of every
group (MODE_IS_EXCLUDE or MODE_IS_INCLUDE and its sources), within its maximum response time; a
group query, for the group; a group-and-source query, for those of its sources the filter lets
in.  After an IGMPv1 or IGMPv2 query the device speaks that version until the querier has been
silent for the Older Version Querier Present Timeout: reports of the old kind, to the group,
after a random delay; a leave (IGMPv2) by the last to report; another host's report suppresses
ours (RFC 2236 section 3).  224.0.0.1 is never reported.

Reports carry the Router Alert option, TOS 0xc0, TTL 1 and DF (``igmpv3_newpack``), and as many
group records as the device's MTU holds (``add_grec``).
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

IGMPV3_MODE_IS_INCLUDE = 1
IGMPV3_MODE_IS_EXCLUDE = 2
IGMPV3_CHANGE_TO_INCLUDE = 3
IGMPV3_CHANGE_TO_EXCLUDE = 4
IGMPV3_ALLOW_NEW_SOURCES = 5
IGMPV3_BLOCK_OLD_SOURCES = 6

MCAST_EXCLUDE, MCAST_INCLUDE = 0, 1  # a filter's mode, and the index of its count
IP_SFBLOCK = 10  # a socket's source list grows by this many
IPV4_MIN_MTU = 68

IGMP_ALL_HOSTS = 0xE0000001  # 224.0.0.1
IGMP_ALL_ROUTER = 0xE0000002  # 224.0.0.2
IGMPV3_ALL_MCR = 0xE0000016  # 224.0.0.22

IPPROTO_IGMP = 2
IPOPT_RA = 148  # Router Alert (RFC 2113)
IGMP_QUERY_RESPONSE_INTERVAL = 10 * NSEC_PER_SEC
IGMP_QUERY_INTERVAL = 125 * NSEC_PER_SEC
IGMP_INITIAL_REPORT_DELAY = NSEC_PER_SEC

_grec = struct.Struct("!BBHI")


class IpSfList:
    """``struct ip_sf_list``: a source of a device's group: how many sockets include and exclude
    it (``sf_count``, by mode), whether it was let in before the change being made
    (``sf_oldin``), the change reports still to tell about it (``sf_crcount``), and whether a
    group-and-source query asked about it (``sf_gsresp``)."""

    __slots__ = ("sf_inaddr", "sf_count", "sf_gsresp", "sf_oldin", "sf_crcount")

    def __init__(self, sf_inaddr: int) -> None:
        self.sf_inaddr = sf_inaddr
        self.sf_count = [0, 0]
        self.sf_gsresp = False
        self.sf_oldin = False
        self.sf_crcount = 0


class IpMcList:
    """``struct ip_mc_list``: a group a device belongs to: its users, its filter (``sfmode``,
    the sockets in each mode ``sfcount``, the ``sources`` and those dropped whose leaving is
    still told, ``tomb``), the mode change reports still to send (``crcount``), and in
    IGMPv1/v2 mode the report timer and whether this host reported it last (``reporter``); in
    IGMPv3 mode a group-and-source query's pending answer (``gsquery``)."""

    __slots__ = ("in_dev", "multiaddr", "users", "crcount", "timer", "reporter", "gsquery", "unsolicit_count",
                 "sfmode", "sfcount", "sources", "tomb")

    def __init__(self, in_dev: Any, multiaddr: int, mode: int = MCAST_EXCLUDE) -> None:
        self.in_dev = in_dev
        self.multiaddr = multiaddr
        self.users = 1
        self.crcount = 0
        self.reporter = False
        self.gsquery = False
        self.unsolicit_count = 0
        self.timer: Timer | None = None  # made when first needed: most groups never have one
        self.sfmode = mode
        self.sfcount = [0, 0]
        self.sfcount[mode] = 1
        self.sources: list[IpSfList] = []
        self.tomb: list[IpSfList] = []


class IpMcSocklist:
    """``struct ip_mc_socklist``: a socket's membership: the group and the device (``ifindex``,
    and the address it was named by), its filter's mode and sources (``sflist``, None until a
    source is given; ``sl_max`` its room)."""

    __slots__ = ("multiaddr", "address", "ifindex", "sfmode", "sflist", "sl_max")

    def __init__(self, multiaddr: int, address: int, ifindex: int, sfmode: int) -> None:
        self.multiaddr = multiaddr
        self.address = address
        self.ifindex = ifindex
        self.sfmode = sfmode
        self.sflist: list[int] | None = None
        self.sl_max = 0


class IgmpState:
    """The IGMP part of ``struct in_device``: the groups (``mc_list``, oldest first), those left
    whose leave is still being reported (``mc_tomb``, newest first), the state-change report timer and its remaining
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


def _qrv(st: IgmpState) -> int:
    """``in_dev->mr_qrv ?: net->ipv4.sysctl_igmp_qrv``: how many times a change is told."""
    return st.mr_qrv or _host(st).sysctl["net.ipv4.igmp_qrv"]


def _groups(st: IgmpState) -> list[IpMcList]:
    """The device's groups as ``in_dev->mc_list`` holds them, newest first."""
    return list(reversed(st.mc_list.values()))


def _random_below(host: Host, limit: int) -> int:
    """``get_random_u32_below`` in whole jiffies (milliseconds)."""
    jiffies = limit // NSEC_PER_MSEC
    return host.rng.randrange(jiffies) * NSEC_PER_MSEC if jiffies > 0 else 0


# -- joining and leaving -----------------------------------------------------------------------------

def ip_mc_inc_group(dev: NetDevice, addr: int, mode: int = MCAST_EXCLUDE) -> None:
    """``__ip_mc_inc_group``: one more user of ``addr`` on ``dev``, its filter ``mode`` with no
    sources yet; the first puts the group's MAC address in the receive filter and announces it."""
    from tuxnet.net.core.dev import dev_mc_add
    from tuxnet.net.ipv4.arp import arp_mc_map

    st = igmp_state(dev)
    im = st.mc_list.get(addr)
    if im is not None:
        im.users += 1
        ip_mc_add_src(st, addr, mode, [], False)
        return
    im = st.mc_list[addr] = IpMcList(st, addr, mode)
    igmpv3_del_delrec(st, im)
    if dev.type == ARPHRD_ETHER:  # ip_mc_filter_add: arp_mc_map maps only Ethernet's groups
        dev_mc_add(dev, arp_mc_map(addr))
    if dev.flags & 1:  # IFF_UP
        igmp_group_added(im)


def ip_mc_dec_group(dev: NetDevice, addr: int) -> None:
    """``ip_mc_dec_group``: one user fewer; the last takes the group out of the filter and
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
    ip_mc_clear_src(im)


def ip_mc_clear_src(pmc: IpMcList) -> None:
    """``ip_mc_clear_src``: back to EXCLUDE {}."""
    pmc.tomb = []
    pmc.sources = []
    pmc.sfmode = MCAST_EXCLUDE
    pmc.sfcount = [1, 0]


def igmpv3_add_delrec(st: IgmpState, im: IpMcList) -> None:
    """``igmpv3_add_delrec``: a record of the group left, for the reports that tell it: its mode,
    and in INCLUDE mode its sources (each to be told blocked ``igmp_qrv`` times)."""
    pmc = IpMcList(st, im.multiaddr, im.sfmode)
    pmc.crcount = _qrv(st)
    if pmc.sfmode == MCAST_INCLUDE:
        pmc.tomb, pmc.sources = im.tomb, im.sources
        im.tomb, im.sources = [], []
        for psf in pmc.sources:
            psf.sf_crcount = pmc.crcount
    st.mc_tomb.insert(0, pmc)


def igmpv3_del_delrec(st: IgmpState, im: IpMcList) -> None:
    """``igmpv3_del_delrec``: a group joined again while its leave is still told takes the
    record back: in INCLUDE mode its sources (told again ``igmp_qrv`` times), else a mode change
    to tell."""
    pmc = next((t for t in st.mc_tomb if t.multiaddr == im.multiaddr), None)
    if pmc is None:
        return
    st.mc_tomb.remove(pmc)
    if im.sfmode == MCAST_INCLUDE:
        im.tomb, im.sources = pmc.tomb, pmc.sources
        for psf in im.sources:
            psf.sf_crcount = _qrv(st)
    else:
        im.crcount = _qrv(st)


# -- a device's source filters (ip_mc_add_src, ip_mc_del_src) ------------------------------------

def sf_markstate(pmc: IpMcList) -> None:
    """``sf_markstate``: note which sources the filter lets in before a change."""
    xcount = pmc.sfcount[MCAST_EXCLUDE]
    for psf in pmc.sources:
        if xcount:
            psf.sf_oldin = xcount == psf.sf_count[MCAST_EXCLUDE] and not psf.sf_count[MCAST_INCLUDE]
        else:
            psf.sf_oldin = psf.sf_count[MCAST_INCLUDE] != 0


def sf_setstate(pmc: IpMcList) -> int:
    """``sf_setstate``: after a change, each source now let in that was not is to be told
    (``sf_crcount``), and each no longer let in goes to the tomb to be told; how many changed."""
    xcount = pmc.sfcount[MCAST_EXCLUDE]
    qrv = pmc.in_dev.mr_qrv
    changed = 0
    for psf in pmc.sources:
        if xcount:
            new_in = xcount == psf.sf_count[MCAST_EXCLUDE] and not psf.sf_count[MCAST_INCLUDE]
        else:
            new_in = psf.sf_count[MCAST_INCLUDE] != 0
        if new_in:
            if not psf.sf_oldin:
                pmc.tomb = [d for d in pmc.tomb if d.sf_inaddr != psf.sf_inaddr]
                psf.sf_crcount = qrv
                changed += 1
        elif psf.sf_oldin:
            psf.sf_crcount = 0
            dpsf = next((d for d in pmc.tomb if d.sf_inaddr == psf.sf_inaddr), None)
            if dpsf is None:
                dpsf = IpSfList(psf.sf_inaddr)
                dpsf.sf_count = list(psf.sf_count)
                dpsf.sf_gsresp, dpsf.sf_oldin = psf.sf_gsresp, psf.sf_oldin
                pmc.tomb.insert(0, dpsf)
            dpsf.sf_crcount = qrv
            changed += 1
    return changed


def _mode_change(st: IgmpState, pmc: IpMcList) -> None:
    """A group's filter changed mode: the change is told ``igmp_qrv`` times, not its sources'."""
    pmc.crcount = _qrv(st)
    st.mr_ifc_count = pmc.crcount
    for psf in pmc.sources:
        psf.sf_crcount = 0
    igmp_ifc_event(st)


def ip_mc_add1_src(pmc: IpMcList, sfmode: int, src: int) -> None:
    """``ip_mc_add1_src``: one more socket includes (or excludes) ``src``."""
    psf = next((p for p in pmc.sources if p.sf_inaddr == src), None)
    if psf is None:
        psf = IpSfList(src)
        pmc.sources.append(psf)
    psf.sf_count[sfmode] += 1
    if psf.sf_count[sfmode] == 1:
        _rt_multicast_event(_host(pmc.in_dev))


def ip_mc_del1_src(pmc: IpMcList, sfmode: int, src: int) -> int:
    """``ip_mc_del1_src``: one socket fewer includes (or excludes) ``src``; a source no socket
    names any more goes, to the tomb if it was let in (1); -ESRCH for one not counted."""
    from tuxnet.kernel.errno import ESRCH

    psf = next((p for p in pmc.sources if p.sf_inaddr == src), None)
    if psf is None or psf.sf_count[sfmode] == 0:
        return -ESRCH
    psf.sf_count[sfmode] -= 1
    if psf.sf_count[sfmode] == 0:
        _rt_multicast_event(_host(pmc.in_dev))
    if psf.sf_count[MCAST_INCLUDE] or psf.sf_count[MCAST_EXCLUDE]:
        return 0
    pmc.sources.remove(psf)
    st = pmc.in_dev
    if psf.sf_oldin and not igmp_v1_seen(st) and not igmp_v2_seen(st):
        psf.sf_crcount = _qrv(st)
        pmc.tomb.insert(0, psf)
        return 1
    return 0


def ip_mc_add_src(st: IgmpState, group: int, sfmode: int, srcs: list[int], delta: bool) -> int:
    """``ip_mc_add_src``: a socket's filter of ``sfmode`` joins the group's (``delta``: only
    sources added to a filter already counted); a mode change or new sources are told."""
    from tuxnet.kernel.errno import ESRCH

    pmc = st.mc_list.get(group)
    if pmc is None:
        return -ESRCH
    sf_markstate(pmc)
    isexclude = pmc.sfmode == MCAST_EXCLUDE
    if not delta:
        pmc.sfcount[sfmode] += 1
    for src in srcs:
        ip_mc_add1_src(pmc, sfmode, src)
    if isexclude != (pmc.sfcount[MCAST_EXCLUDE] != 0):
        if pmc.sfcount[MCAST_EXCLUDE]:
            pmc.sfmode = MCAST_EXCLUDE
        elif pmc.sfcount[MCAST_INCLUDE]:
            pmc.sfmode = MCAST_INCLUDE
        _mode_change(st, pmc)  # (with no filter at all the old mode stays, for the reports)
    elif sf_setstate(pmc):
        igmp_ifc_event(st)
    return 0


def ip_mc_del_src(st: IgmpState, group: int, sfmode: int, srcs: list[int], delta: bool) -> int:
    """``ip_mc_del_src``: a socket's filter of ``sfmode`` leaves the group's (``delta``: only
    these sources); -EINVAL when no socket had that mode, -ESRCH for a source not counted."""
    from tuxnet.kernel.errno import EINVAL, ESRCH

    pmc = st.mc_list.get(group)
    if pmc is None:
        return -ESRCH
    sf_markstate(pmc)
    if not delta:
        if not pmc.sfcount[sfmode]:
            return -EINVAL
        pmc.sfcount[sfmode] -= 1
    err = 0
    changerec = False
    for src in srcs:
        rv = ip_mc_del1_src(pmc, sfmode, src)
        changerec |= rv > 0
        if not err and rv < 0:
            err = rv
    if pmc.sfmode == MCAST_EXCLUDE and pmc.sfcount[MCAST_EXCLUDE] == 0 and pmc.sfcount[MCAST_INCLUDE]:
        pmc.sfmode = MCAST_INCLUDE
        _mode_change(st, pmc)
    elif sf_setstate(pmc) or changerec:
        igmp_ifc_event(st)
    return err


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
    # a new INCLUDE membership (RFC 3376 section 5.1: from IN {} to IN {A}) tells its sources,
    # not a mode change
    if im.sfmode == MCAST_EXCLUDE:
        im.crcount = _qrv(st)
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
    igmpv3_add_delrec(st, im)
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


def ip_check_mc(dev: NetDevice, group: int, saddr: int = 0, proto: int = 0) -> bool:
    """``ip_check_mc_rcu``: a multicast to ``group`` from ``saddr`` is for this host if ``dev``
    belongs to the group and its filter lets the source in (IGMP always; an unknown source,
    0.0.0.0, tentatively)."""
    in_dev = dev.ip_ptr
    st = in_dev.igmp if in_dev is not None else None
    im = st.mc_list.get(group) if st is not None else None
    if im is None:
        return False
    if proto == IPPROTO_IGMP or not saddr:
        return True
    psf = next((p for p in im.sources if p.sf_inaddr == saddr), None)
    if psf is None:
        return im.sfcount[MCAST_EXCLUDE] != 0
    return bool(psf.sf_count[MCAST_INCLUDE]) or psf.sf_count[MCAST_EXCLUDE] != im.sfcount[MCAST_EXCLUDE]


# -- IGMPv3 reports ---------------------------------------------------------------------------------

def igmp_ifc_event(st: IgmpState) -> None:
    """``igmp_ifc_event``: the device's groups changed: send state-change reports (none in
    IGMPv1/v2 mode), ``igmp_qrv`` of them, the first at once."""
    if igmp_v1_seen(st) or igmp_v2_seen(st):
        return
    st.mr_ifc_count = _qrv(st)
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


def is_in(pmc: IpMcList, psf: IpSfList, kind: int, gdeleted: bool, sdeleted: bool) -> bool:
    """``is_in``: whether a record of ``kind`` lists the source (``gdeleted``: the group was left;
    ``sdeleted``: the source is the tomb's)."""
    if kind in (IGMPV3_MODE_IS_INCLUDE, IGMPV3_MODE_IS_EXCLUDE):
        if gdeleted or sdeleted or (pmc.gsquery and not psf.sf_gsresp):
            return False
        if pmc.sfmode == MCAST_INCLUDE:
            return True
        # not one every excluding socket excludes
        if psf.sf_count[MCAST_INCLUDE]:
            return kind == IGMPV3_MODE_IS_INCLUDE
        return pmc.sfcount[MCAST_EXCLUDE] == psf.sf_count[MCAST_EXCLUDE]
    if kind == IGMPV3_CHANGE_TO_INCLUDE:
        return not (gdeleted or sdeleted) and psf.sf_count[MCAST_INCLUDE] != 0
    if kind == IGMPV3_CHANGE_TO_EXCLUDE:
        if gdeleted or sdeleted or pmc.sfcount[MCAST_EXCLUDE] == 0 or psf.sf_count[MCAST_INCLUDE]:
            return False
        return pmc.sfcount[MCAST_EXCLUDE] == psf.sf_count[MCAST_EXCLUDE]
    if kind == IGMPV3_ALLOW_NEW_SOURCES:
        if gdeleted or not psf.sf_crcount:
            return False
        return (pmc.sfmode == MCAST_INCLUDE) ^ sdeleted
    if kind == IGMPV3_BLOCK_OLD_SOURCES:
        if pmc.sfmode == MCAST_INCLUDE:
            return gdeleted or bool(psf.sf_crcount and sdeleted)
        return bool(psf.sf_crcount) and not gdeleted and not sdeleted
    return False


def igmp_scount(pmc: IpMcList, kind: int, gdeleted: bool, sdeleted: bool) -> int:
    """``igmp_scount``: how many of the group's sources (never the tomb's) a record lists."""
    return sum(1 for psf in pmc.sources if is_in(pmc, psf, kind, gdeleted, sdeleted))


class IgmpV3Pack:
    """An IGMPv3 report being filled (``igmpv3_newpack``): its records, and the room the device's
    MTU leaves after the IP header with Router Alert (``skb_availroom``)."""

    __slots__ = ("st", "mtu", "body", "ngrec")

    def __init__(self, st: IgmpState, mtu: int) -> None:
        self.st = st
        self.mtu = mtu
        self.body = bytearray(struct.pack("!BBHHH", IGMPV3_HOST_MEMBERSHIP_REPORT, 0, 0, 0, 0))
        self.ngrec = 0

    def available(self) -> int:
        return self.mtu - 24 - len(self.body)

    def add_grhead(self, pmc: IpMcList, kind: int) -> int:
        """``add_grhead``: a record of ``kind`` for the group, no sources yet; its offset."""
        at = len(self.body)
        self.body += _grec.pack(kind, 0, 0, pmc.multiaddr)
        self.ngrec += 1
        return at

    def sendpack(self) -> None:
        """``igmpv3_sendpack``: checksummed and sent to 224.0.0.22."""
        struct.pack_into("!H", self.body, 6, self.ngrec)
        _igmp_xmit(self.st, IGMPV3_ALL_MCR, self.body)


def _available(pack: IgmpV3Pack | None) -> int:
    return pack.available() if pack is not None else 0


def add_grec(pack: IgmpV3Pack | None, pmc: IpMcList, kind: int, gdeleted: bool = False,
             sdeleted: bool = False) -> IgmpV3Pack | None:
    """``add_grec``: a record of ``kind`` for the group and the sources it lists (from the tomb
    with ``sdeleted``), in ``pack`` or the packs that follow when it is full (a MODE_IS_EXCLUDE
    or CHANGE_TO_EXCLUDE record starts a pack of its own, and is cut short rather than split).
    A source's change reports are counted down as it is told, and one told enough times in a
    deleted record is forgotten.  A record with no source is left out, unless it tells a mode
    change or answers a query; a source-list record is left out while a mode change is told
    (RFC 3376 section 5.1)."""
    st = pmc.in_dev
    if not _reported(_host(st), pmc.multiaddr):
        return pack
    mtu = st.dev.mtu
    if mtu < IPV4_MIN_MTU:
        return pack
    isquery = kind in (IGMPV3_MODE_IS_INCLUDE, IGMPV3_MODE_IS_EXCLUDE)
    truncate = kind in (IGMPV3_MODE_IS_EXCLUDE, IGMPV3_CHANGE_TO_EXCLUDE)
    change = kind in (IGMPV3_ALLOW_NEW_SOURCES, IGMPV3_BLOCK_OLD_SOURCES)
    psf_list = pmc.tomb if sdeleted else pmc.sources
    scount = stotal = 0
    pgr = -1  # the offset of the record being filled, in ``pack``
    if psf_list:
        if truncate and pack is not None and pack.ngrec and \
                pack.available() < 8 + 4 * igmp_scount(pmc, kind, gdeleted, sdeleted):
            pack.sendpack()
            pack = IgmpV3Pack(st, mtu)
        first = True
        for psf in list(psf_list):
            if not is_in(pmc, psf, kind, gdeleted, sdeleted):
                continue
            if not (((gdeleted and pmc.sfmode == MCAST_EXCLUDE) or (not gdeleted and pmc.crcount))
                    and change and psf.sf_crcount):
                if isquery:
                    psf.sf_gsresp = False  # (a query's marks cleared as it is answered)
                if _available(pack) < 4 + 8 * first:
                    if truncate and not first:
                        break
                    if pack is not None:
                        if pgr >= 0:
                            struct.pack_into("!H", pack.body, pgr + 2, scount)
                        pack.sendpack()
                    pack = IgmpV3Pack(st, mtu)
                    first = True
                    scount = 0
                if first:
                    assert pack is not None
                    pgr = pack.add_grhead(pmc, kind)
                    first = False
                assert pack is not None
                pack.body += psf.sf_inaddr.to_bytes(4, "big")
                scount += 1
                stotal += 1
            if change and psf.sf_crcount:
                psf.sf_crcount -= 1
                if (sdeleted or gdeleted) and psf.sf_crcount == 0:
                    psf_list.remove(psf)
    if not stotal:
        if change:
            return pack
        if pmc.crcount or isquery:
            if pack is not None and pack.available() < 8:
                pack.sendpack()
                pack = None
            if pack is None:
                pack = IgmpV3Pack(st, mtu)
            pgr = pack.add_grhead(pmc, kind)
    if pgr >= 0 and pack is not None:
        struct.pack_into("!H", pack.body, pgr + 2, scount)
    if isquery:
        pmc.gsquery = False  # (a query's state cleared by the report)
    return pack


def igmpv3_clear_zeros(psf_list: list[IpSfList]) -> None:
    """``igmpv3_clear_zeros``: the sources told enough times go."""
    psf_list[:] = [psf for psf in psf_list if psf.sf_crcount]


def igmpv3_send_cr(st: IgmpState) -> None:
    """``igmpv3_send_cr``: one report (or more, if the MTU says so) of the changes still to be
    told: for each group left, its sources blocked (INCLUDE mode) or CHANGE_TO_INCLUDE
    (forgotten once told ``igmp_qrv`` times); for each group, the sources allowed and blocked,
    and a mode change (CHANGE_TO_EXCLUDE or CHANGE_TO_INCLUDE with the sources let in)."""
    pack: IgmpV3Pack | None = None
    for pmc in list(st.mc_tomb):
        if pmc.sfmode == MCAST_INCLUDE:
            pack = add_grec(pack, pmc, IGMPV3_BLOCK_OLD_SOURCES, True, False)
            pack = add_grec(pack, pmc, IGMPV3_BLOCK_OLD_SOURCES, True, True)
        if pmc.crcount:
            if pmc.sfmode == MCAST_EXCLUDE:
                pack = add_grec(pack, pmc, IGMPV3_CHANGE_TO_INCLUDE, True, False)
            pmc.crcount -= 1
            if pmc.crcount == 0:
                igmpv3_clear_zeros(pmc.tomb)
                igmpv3_clear_zeros(pmc.sources)
        if pmc.crcount == 0 and not pmc.tomb and not pmc.sources:
            st.mc_tomb.remove(pmc)
    for pmc in _groups(st):
        if pmc.sfcount[MCAST_EXCLUDE]:
            kind, dkind = IGMPV3_BLOCK_OLD_SOURCES, IGMPV3_ALLOW_NEW_SOURCES
        else:
            kind, dkind = IGMPV3_ALLOW_NEW_SOURCES, IGMPV3_BLOCK_OLD_SOURCES
        pack = add_grec(pack, pmc, kind)
        pack = add_grec(pack, pmc, dkind, False, True)  # (the sources dropped)
        if pmc.crcount:
            kind = IGMPV3_CHANGE_TO_EXCLUDE if pmc.sfmode == MCAST_EXCLUDE else IGMPV3_CHANGE_TO_INCLUDE
            pack = add_grec(pack, pmc, kind)
            pmc.crcount -= 1
    if pack is not None:
        pack.sendpack()


def igmpv3_send_report(st: IgmpState, im: IpMcList | None) -> None:
    """``igmpv3_send_report``: the current state (MODE_IS_EXCLUDE or MODE_IS_INCLUDE, and the
    sources the filter lets in, or those a group-and-source query asked about) of one group or
    (``im`` None, to answer a general query) of every group the device reports."""
    pack: IgmpV3Pack | None = None
    host = _host(st)
    for pmc in [im] if im is not None else _groups(st):
        if im is None and not _reported(host, pmc.multiaddr):
            continue
        kind = IGMPV3_MODE_IS_EXCLUDE if pmc.sfcount[MCAST_EXCLUDE] else IGMPV3_MODE_IS_INCLUDE
        pack = add_grec(pack, pmc, kind)
    if pack is not None:
        pack.sendpack()


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
    groups at once (a general query naming sources is dropped); a group query, for the group's;
    a group-and-source query, for those of its sources the filter lets in (``igmp_marksources``),
    or nothing when it lets in none of them."""
    host = _host(st)
    now = host.world.now
    mark = False
    srcs: list[int] = []
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
        st.mc_tomb.clear()  # igmpv3_clear_delrec, the dropped sources too
        for im in st.mc_list.values():
            im.crcount = 0
            im.tomb = []
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
            nsrcs = int.from_bytes(message[10:12], "big")
            if length < 12 + 4 * nsrcs:
                return  # (pskb_may_pull: the sources it counts are not all there)
            if not group:
                if not nsrcs:
                    igmp_gq_start_timer(st)
                return
            srcs = [int.from_bytes(message[12 + 4 * i:16 + 4 * i], "big") for i in range(nsrcs)]
            mark = nsrcs != 0
    for im in _groups(st):
        if group and group != im.multiaddr or not _reported(host, im.multiaddr):
            continue
        running = im.timer is not None and im.timer.pending()
        im.gsquery = im.gsquery and mark if running else mark
        if not im.gsquery or igmp_marksources(im, srcs):
            igmp_mod_timer(im, max_delay)


def igmp_xmarksources(pmc: IpMcList, srcs: list[int]) -> bool:
    """``igmp_xmarksources``: in EXCLUDE mode, whether any of the query's sources is let in
    (a source counts as excluded only while every excluding socket excludes it and no socket
    includes it; the search stops at the first source that is not)."""
    scount = 0
    for psf in pmc.sources:
        if scount == len(srcs):
            break
        for src in srcs:
            if psf.sf_count[MCAST_INCLUDE] or pmc.sfcount[MCAST_EXCLUDE] != psf.sf_count[MCAST_EXCLUDE]:
                break
            if src == psf.sf_inaddr:
                scount += 1
                break
    pmc.gsquery = False
    return scount != len(srcs)


def igmp_marksources(pmc: IpMcList, srcs: list[int]) -> bool:
    """``igmp_marksources``: in INCLUDE mode, mark the query's sources the filter has (the report
    lists those); False when it has none of them."""
    if pmc.sfmode == MCAST_EXCLUDE:
        return igmp_xmarksources(pmc, srcs)
    scount = 0
    for psf in pmc.sources:
        if scount == len(srcs):
            break
        if psf.sf_inaddr in srcs:
            psf.sf_gsresp = True
            scount += 1
    pmc.gsquery = scount != 0
    return pmc.gsquery


def _igmpv3_exp(code: int) -> int:
    """IGMPV3_MRC: the Max Resp Code's value, floating point above 127 (RFC 3376 section 4.1.1)."""
    if code < 128:
        return code
    return ((code & 0x0F) | 0x10) << (((code >> 4) & 7) + 3)


def igmp_mod_timer(im: IpMcList, max_delay: int) -> None:
    """``igmp_mod_timer``: answer within ``max_delay``; a timer already due sooner stays.  The
    answer is the one report: a join's repetitions still due are not sent after it."""
    host = _host(im.in_dev)
    im.unsolicit_count = 0
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


def ip_mc_find_dev(host: Host, address: int, ifindex: int, group: int) -> tuple[NetDevice | None, int]:
    """``ip_mc_find_dev``: the device by index; else the one with ``address``; else the one the
    route to the group leaves by; and the index the membership is known by (``imr_ifindex``,
    set when the device was found otherwise)."""
    from tuxnet.net.ipv4.route import ip_route_output_key

    if ifindex:
        dev = host.dev_by_index.get(ifindex)
        return (dev if dev is not None and dev.ip_ptr is not None else None), ifindex
    if address:
        owners = host.inet_addr_lst.get(address)
        dev = owners[0].dev if owners else None
        if dev is None:
            return None, 0
    else:
        rt = ip_route_output_key(host, group)
        dev = None if isinstance(rt, int) else rt.dev
    if dev is None:
        return None, 0
    return (dev if dev.ip_ptr is not None else None), dev.ifindex


def _group_dev(sk: Any, group: int, address: int, ifindex: int) -> tuple[NetDevice, int] | int:
    """The device a membership of ``group`` is on and its index (``ip_mc_find_dev``), or
    -EINVAL for an address that is not multicast, -ENODEV with no device."""
    from tuxnet.kernel.errno import EINVAL, ENODEV
    from tuxnet.net.core.utils import ipv4_is_multicast

    if not ipv4_is_multicast(group):
        return -EINVAL
    dev, ifindex = ip_mc_find_dev(sk.host, address, ifindex, group)
    return (dev, ifindex) if dev is not None else -ENODEV


def _membership(sk: Any, group: int, ifindex: int) -> IpMcSocklist | None:
    return next((iml for iml in sk.mc_list if iml.multiaddr == group and iml.ifindex == ifindex), None)


def __ip_mc_join_group(sk: Any, group: int, address: int, ifindex: int, mode: int) -> int:
    """``__ip_mc_join_group``: the socket joins ``group`` on the device found, its filter
    ``mode`` with no sources: -EINVAL for an address that is not multicast, -ENODEV with no
    device, -EADDRINUSE when it is already a member there, -ENOBUFS past
    ``igmp_max_memberships``."""
    from tuxnet.kernel.errno import EADDRINUSE, ENOBUFS

    found = _group_dev(sk, group, address, ifindex)
    if isinstance(found, int):
        return found
    dev, ifindex = found
    host = sk.host
    if _membership(sk, group, ifindex) is not None:
        return -EADDRINUSE
    if len(sk.mc_list) >= host.sysctl["net.ipv4.igmp_max_memberships"]:
        return -ENOBUFS
    sk.mc_list.insert(0, IpMcSocklist(group, address, ifindex, mode))
    ip_mc_inc_group(dev, group, mode)
    _rt_multicast_event(host)
    return 0


def ip_mc_join_group(sk: Any, group: int, address: int, ifindex: int) -> int:
    """``ip_mc_join_group``: an any-source membership (EXCLUDE {})."""
    return __ip_mc_join_group(sk, group, address, ifindex, MCAST_EXCLUDE)


def ip_mc_leave_src(sk: Any, iml: IpMcSocklist, dev: NetDevice | None) -> int:
    """``ip_mc_leave_src``: the membership's filter leaves the device's."""
    from tuxnet.kernel.errno import ENODEV

    err = ip_mc_del_src(igmp_state(dev), iml.multiaddr, iml.sfmode, iml.sflist or [], False) if dev else -ENODEV
    iml.sflist = None
    return err


def ip_mc_leave_group(sk: Any, group: int, address: int, ifindex: int) -> int:
    """``ip_mc_leave_group``: -EADDRNOTAVAIL unless the socket is a member there (-ENODEV when no
    device is found and none was named)."""
    from tuxnet.kernel.errno import EADDRNOTAVAIL, ENODEV

    host = sk.host
    dev, ifindex = ip_mc_find_dev(host, address, ifindex, group)
    if dev is None and not ifindex and not address:
        return -ENODEV
    for iml in sk.mc_list:
        if iml.multiaddr != group:
            continue
        if ifindex:
            if iml.ifindex != ifindex:
                continue
        elif address and address != iml.address:
            continue
        ip_mc_leave_src(sk, iml, dev)
        sk.mc_list.remove(iml)
        if dev is not None:
            ip_mc_dec_group(dev, group)
            _rt_multicast_event(host)
        return 0
    return -EADDRNOTAVAIL


def ip_mc_source(sk: Any, add: bool, omode: int, group: int, address: int, source: int, ifindex: int = 0) -> int:
    """``ip_mc_source``: add ``source`` to (``add``) or take it from the filter of the socket's
    membership, which must be of mode ``omode`` once it has sources (an empty one changes mode).
    -EINVAL with no membership or for the other mode, -EADDRNOTAVAIL for a source already there
    (or not there), -ENOBUFS past ``igmp_max_msf``; taking an INCLUDE filter's last source leaves
    the group."""
    from tuxnet.kernel.errno import EADDRNOTAVAIL, EINVAL, ENOBUFS

    found = _group_dev(sk, group, address, ifindex)
    if isinstance(found, int):
        return found
    dev, ifindex = found
    host = sk.host
    st = igmp_state(dev)
    pmc = _membership(sk, group, ifindex)
    if pmc is None:
        return -EINVAL  # (a join must come first)
    if pmc.sflist is not None:
        if pmc.sfmode != omode:
            return -EINVAL
    elif pmc.sfmode != omode:
        # an empty filter may change mode
        ip_mc_add_src(st, group, omode, [], False)
        ip_mc_del_src(st, group, pmc.sfmode, [], False)
        pmc.sfmode = omode
    psl = pmc.sflist
    if not add:
        if not psl or source not in psl:
            return -EADDRNOTAVAIL
        if len(psl) == 1 and omode == MCAST_INCLUDE:
            return ip_mc_leave_group(sk, group, address, ifindex)  # (INCLUDE {} is no membership)
        ip_mc_del_src(st, group, omode, [source], True)
        psl.remove(source)
        return 0
    if psl is not None and len(psl) >= host.sysctl["net.ipv4.igmp_max_msf"]:
        return -ENOBUFS
    if psl is None or len(psl) == pmc.sl_max:
        pmc.sl_max += IP_SFBLOCK
        if psl is None:
            pmc.sflist = psl = []
    if source in psl:
        return -EADDRNOTAVAIL
    psl.append(source)
    ip_mc_add_src(st, group, omode, [source], True)
    return 0


def ip_mc_msfilter(sk: Any, group: int, address: int, fmode: int, sources: list[int], ifindex: int = 0) -> int:
    """``ip_mc_msfilter``: the membership's filter replaced at once by ``fmode`` and
    ``sources``; INCLUDE {} leaves the group; -EINVAL for another mode or with no membership."""
    from tuxnet.kernel.errno import EINVAL

    if fmode not in (MCAST_INCLUDE, MCAST_EXCLUDE):
        return -EINVAL
    found = _group_dev(sk, group, address, ifindex)
    if isinstance(found, int):
        return found
    dev, ifindex = found
    if fmode == MCAST_INCLUDE and not sources:
        return ip_mc_leave_group(sk, group, address, ifindex)
    pmc = _membership(sk, group, ifindex)
    if pmc is None:
        return -EINVAL
    st = igmp_state(dev)
    err = ip_mc_add_src(st, group, fmode, sources, False)
    if err:
        return err
    ip_mc_del_src(st, group, pmc.sfmode, pmc.sflist or [], False)
    pmc.sflist = list(sources) if sources else None
    pmc.sl_max = len(sources)
    pmc.sfmode = fmode
    return 0


def ip_mc_drop_socket(sk: Any) -> None:
    """``ip_mc_drop_socket``: a closed socket leaves its groups, newest membership first."""
    if not sk.mc_list:
        return
    for iml in sk.mc_list:
        dev = sk.host.dev_by_index.get(iml.ifindex)
        dev = dev if dev is not None and dev.ip_ptr is not None else None
        ip_mc_leave_src(sk, iml, dev)
        if dev is not None:
            ip_mc_dec_group(dev, iml.multiaddr)
    sk.mc_list = []
    _rt_multicast_event(sk.host)


def ip_mc_sf_allow(sk: Any, group: int, rmt_addr: int, dif: int) -> bool:
    """``ip_mc_sf_allow``: a datagram to ``group`` from ``rmt_addr`` that came in by ``dif`` is
    for a socket whose membership there lets the source in; with no membership there, for any
    socket with IP_MULTICAST_ALL (the default)."""
    pmc = _membership(sk, group, dif)
    if pmc is None:
        return sk.mc_all
    psl = pmc.sflist
    if not psl:
        return pmc.sfmode == MCAST_EXCLUDE
    return (rmt_addr in psl) == (pmc.sfmode == MCAST_INCLUDE)


def _rt_multicast_event(host: Host) -> None:
    """``ip_rt_multicast_event``: routes made before knew other groups (whether a multicast is
    looped back to us, ``RTCF_LOCAL``): the route caches are flushed."""
    from tuxnet.net.ipv4.fib import fib_flush_cache

    fib_flush_cache(host)
