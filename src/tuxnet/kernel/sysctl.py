"""The per-namespace sysctl table, named and defaulted as Linux's ``/proc/sys/net``.

Values are ints, tuples of ints for vectors (``tcp_rmem``) or strings.  ``set`` takes the text
``sysctl -w`` would write (``"4096 131072 33554432"``) and reads it as the entry's ``proc_handler``
does (``CTL``: a C int, u8, unsigned int or unsigned long within the entry's bounds, or a time kept
in jiffies); it refuses unknown names and bad values with a message that says which.
"""

from __future__ import annotations

import sys
from collections.abc import Callable, Iterable, Iterator
from typing import Any

from tuxnet.kernel.minmax import INT_MAX, LONG_MAX, U32_MAX, ULONG_MAX, c_int
from tuxnet.net.core.neighbour import ETH_FRAME_LEN
from tuxnet.net.core.skbuff import SKB_TRUESIZE_OVERHEAD
from tuxnet.net.core.sock import SOCK_MIN_RCVBUF, SOCK_MIN_SNDBUF
from tuxnet.user.ctype import DIGITS, HEXDIGITS, SPACE
from tuxnet.world import HZ, MSEC_PER_SEC

# Linux 6.x defaults (Documentation/networking/ip-sysctl.rst, net/ipv4/sysctl_net_ipv4.c).
DEFAULTS: dict[str, Any] = {
    "net.core.somaxconn": 4096,
    "net.core.netdev_max_backlog": 1000,
    "net.core.netdev_budget": 300,
    "net.core.rmem_default": 212992,
    "net.core.rmem_max": 212992,
    "net.core.wmem_default": 212992,
    "net.core.wmem_max": 212992,
    "net.core.optmem_max": 131072,
    "net.core.default_qdisc": "pfifo_fast",
    "net.core.txrehash": 1,  # SO_TXREHASH's default (SOCK_TXREHASH_ENABLED)
    "net.ipv4.ip_forward": 0,
    "net.ipv4.ip_default_ttl": 64,
    "net.ipv4.ip_no_pmtu_disc": 0,
    "net.ipv4.ip_local_port_range": (32768, 60999),
    "net.ipv4.ping_group_range": (1, 0),  # the groups that may have ping sockets: none
    "net.ipv4.ip_nonlocal_bind": 0,
    "net.ipv4.ipfrag_time": 30,
    "net.ipv4.ipfrag_high_thresh": 4194304,
    "net.ipv4.ipfrag_low_thresh": 3145728,
    "net.ipv4.ipfrag_max_dist": 64,
    "net.ipv4.icmp_echo_ignore_all": 0,
    "net.ipv4.icmp_echo_ignore_broadcasts": 1,
    "net.ipv4.icmp_ratelimit": 1000,
    "net.ipv4.icmp_ratemask": 6168,
    "net.ipv4.icmp_msgs_per_sec": 1000,
    "net.ipv4.icmp_msgs_burst": 50,
    "net.ipv4.tcp_timestamps": 1,
    "net.ipv4.tcp_window_scaling": 1,
    "net.ipv4.tcp_sack": 1,
    "net.ipv4.tcp_dsack": 1,
    "net.ipv4.tcp_fack": 0,
    "net.ipv4.tcp_ecn": 2,
    "net.ipv4.tcp_ecn_fallback": 1,
    "net.ipv4.tcp_ecn_option": 2,
    "net.ipv4.tcp_syncookies": 1,
    "net.ipv4.tcp_syn_retries": 6,
    "net.ipv4.tcp_synack_retries": 5,
    "net.ipv4.tcp_retries1": 3,
    "net.ipv4.tcp_retries2": 15,
    "net.ipv4.tcp_orphan_retries": 0,
    "net.ipv4.tcp_fin_timeout": 60,
    "net.ipv4.tcp_keepalive_time": 7200,
    "net.ipv4.tcp_keepalive_intvl": 75,
    "net.ipv4.tcp_keepalive_probes": 9,
    "net.ipv4.tcp_max_syn_backlog": 1024,
    "net.ipv4.tcp_max_tw_buckets": 262144,
    "net.ipv4.tcp_max_orphans": 262144,
    "net.ipv4.tcp_tw_reuse": 2,
    "net.ipv4.tcp_rfc1337": 0,
    "net.ipv4.tcp_abort_on_overflow": 0,
    "net.ipv4.tcp_rmem": (4096, 131072, 33554432),  # 32 MB since Linux 6.16 (6 MB before)
    "net.ipv4.tcp_wmem": (4096, 16384, 4194304),
    "net.ipv4.tcp_mem": (188058, 250746, 376116),
    "net.ipv4.tcp_moderate_rcvbuf": 1,
    "net.ipv4.tcp_adv_win_scale": 1,
    "net.ipv4.tcp_app_win": 31,
    "net.ipv4.tcp_congestion_control": "cubic",
    "net.ipv4.tcp_available_congestion_control": "reno cubic bbr",
    "net.ipv4.tcp_slow_start_after_idle": 1,
    "net.ipv4.tcp_reordering": 3,
    "net.ipv4.tcp_max_reordering": 300,
    "net.ipv4.tcp_early_retrans": 3,
    "net.ipv4.tcp_recovery": 1,
    "net.ipv4.tcp_frto": 2,
    "net.ipv4.tcp_mtu_probing": 0,
    "net.ipv4.tcp_base_mss": 1024,
    "net.ipv4.tcp_mtu_probe_floor": 48,
    "net.ipv4.tcp_probe_threshold": 8,
    "net.ipv4.tcp_probe_interval": 600,
    "net.ipv4.tcp_min_snd_mss": 48,
    "net.ipv4.tcp_no_metrics_save": 0,
    "net.ipv4.tcp_no_ssthresh_metrics_save": 1,
    "net.ipv4.tcp_autocorking": 1,
    "net.ipv4.tcp_tso_win_divisor": 3,
    "net.ipv4.tcp_min_tso_segs": 2,
    "net.ipv4.tcp_limit_output_bytes": 4194304,  # 4 MB since Linux 6.7 (1 MB before)
    "net.ipv4.tcp_notsent_lowat": 4294967295,
    "net.ipv4.tcp_challenge_ack_limit": 2147483647,
    "net.ipv4.tcp_invalid_ratelimit": 500,
    "net.ipv4.tcp_min_rtt_wlen": 300,
    "net.ipv4.tcp_thin_linear_timeouts": 0,
    "net.ipv4.tcp_workaround_signed_windows": 0,
    "net.ipv4.tcp_retrans_collapse": 1,
    "net.ipv4.tcp_stdurg": 0,
    "net.ipv4.tcp_fastopen": 1,
    "net.ipv4.tcp_fastopen_key": "00000000-00000000-00000000-00000000",
    "net.ipv4.tcp_pacing_ss_ratio": 200,
    "net.ipv4.tcp_pacing_ca_ratio": 120,
    "net.ipv4.tcp_comp_sack_delay_ns": 1000000,
    "net.ipv4.tcp_comp_sack_nr": 44,
    "net.ipv4.udp_rmem_min": 4096,
    "net.ipv4.udp_wmem_min": 4096,
    "net.ipv4.neigh.default.base_reachable_time_ms": 30000,
    "net.ipv4.neigh.default.retrans_time_ms": 1000,
    "net.ipv4.neigh.default.delay_first_probe_time": 5,
    "net.ipv4.neigh.default.gc_stale_time": 60,
    "net.ipv4.neigh.default.mcast_solicit": 3,
    "net.ipv4.neigh.default.ucast_solicit": 3,
    "net.ipv4.neigh.default.app_solicit": 0,
    "net.ipv4.neigh.default.unres_qlen": 101,
    "net.ipv4.neigh.default.unres_qlen_bytes": 212992,
    "net.ipv4.neigh.default.gc_thresh1": 128,
    "net.ipv4.neigh.default.gc_thresh2": 512,
    "net.ipv4.neigh.default.gc_thresh3": 1024,
    "net.ipv4.neigh.default.gc_interval": 30,
    "net.ipv4.neigh.default.proxy_delay": 80,
    "net.ipv4.neigh.default.proxy_qlen": 64,
    "net.ipv4.igmp_max_memberships": 20,
    "net.ipv4.igmp_max_msf": 10,
    "net.ipv4.igmp_qrv": 2,
    "net.ipv4.igmp_link_local_mcast_reports": 1,
    "net.ipv4.route.min_pmtu": 552,
    "net.ipv4.route.mtu_expires": 600,
}

# ``struct ipv4_devconf``: a device's IPv4 settings, as net.ipv4.conf.{all,default,DEV}.NAME, with
# the kernel's defaults (net/ipv4/devinet.c).  ``default`` is what a new device starts with; how
# ``all`` and a device's own value combine is each setting's (IN_DEV_ORCONF, IN_DEV_MAXCONF, ...,
# in tuxnet.net.ipv4.devinet).
DEVCONF: dict[str, int] = {
    "accept_local": 0,
    "accept_source_route": 1,
    "accept_redirects": 1,
    "arp_announce": 0,
    "arp_filter": 0,
    "arp_ignore": 0,
    "arp_notify": 0,
    "force_igmp_version": 0,
    "forwarding": 0,
    "igmpv2_unsolicited_report_interval": 10000,
    "igmpv3_unsolicited_report_interval": 1000,
    "medium_id": 0,
    "promote_secondaries": 0,
    "proxy_arp": 0,
    "route_localnet": 0,
    "rp_filter": 0,
    "secure_redirects": 1,
    "send_redirects": 1,
    "shared_media": 1,
}
DEFAULTS.update({f"net.ipv4.conf.{scope}.{name}": value for scope in ("all", "default")
                 for name, value in DEVCONF.items()})
# Source routes are refused (IN_DEV_SOURCE_ROUTE is all's and the device's): ``all`` says no
# where the devices and ``default`` say yes, as Linux's ipv4_devconf has it.
DEFAULTS["net.ipv4.conf.all.accept_source_route"] = 0


# Entries the kernel shows but takes no write to (mode 0444).
READ_ONLY = frozenset({"net.ipv4.tcp_available_congestion_control"})

USER_HZ = 100  # the clock_t of times/sysconf(_SC_CLK_TCK)
UINT_MAX = U32_MAX
GID_T_MAX = U32_MAX - 1  # include/linux/uidgid.h: (gid_t)-1 is "no group"
PROT_SOCK = 1024  # net.ipv4.ip_unprivileged_port_start's default: the local range starts above it
TMPBUFLEN = 22  # proc_get_long's buffer: a number and its sign in at most 21 characters
PROC_WSPACE_SEP = " \t\n"  # what may follow a number (proc_wspace_sep)


def proc_skip_spaces(text: str, pos: int) -> int:
    """``proc_skip_spaces``: the position of the first character past white space."""
    while pos < len(text) and text[pos] in SPACE:
        pos += 1
    return pos


def proc_get_long(text: str, pos: int) -> tuple[int, bool, int]:
    """``proc_get_long`` (kernel/sysctl.c) at ``pos``: (magnitude, negative, position after it).

    A minus sign, then a digit first; ``strtoul_lenient`` in base 0 (0x hexadecimal when a hex
    digit follows, 0 octal, else decimal) within 21 characters; then the end of the text or a
    space, tab or newline.  ValueError where the kernel says EINVAL ("+1", "1_0", "1x", "08", "²",
    a number past ULONG_MAX or that fills the buffer)."""
    chunk = text[pos:pos + TMPBUFLEN - 1]
    negative = chunk[:1] == "-" and len(text) - pos > 1
    p = 1 if negative else 0
    if p == len(chunk) or chunk[p] not in DIGITS:
        raise ValueError(text)
    # _parse_integer_fixup_radix, then _parse_integer: as many digits of the base as there are
    if chunk[p] == "0" and chunk[p + 1:p + 2] in ("x", "X") and len(chunk) > p + 2 and chunk[p + 2] in HEXDIGITS:
        base, p = 16, p + 2
    else:
        base = 8 if chunk[p] == "0" else 10
    digits = HEXDIGITS if base == 16 else DIGITS[:base]
    end = p
    while end < len(chunk) and chunk[end] in digits:
        end += 1
    number = int(chunk[p:end], base)
    if number > ULONG_MAX or end == TMPBUFLEN - 1:
        raise ValueError(text)
    if end < len(text) - pos and chunk[end:end + 1] not in PROC_WSPACE_SEP:
        raise ValueError(text)
    return number, negative, pos + end


def _values(text: str, count: int) -> Iterator[tuple[int, bool]]:
    """``__do_proc_dointvec``'s loop over a write: up to ``count`` numbers, white space around
    them; what follows the last one read is not looked at.  ValueError at a bad one (after the
    good ones before it are taken) or when there is none."""
    pos, first = 0, True
    for _ in range(count):
        pos = proc_skip_spaces(text, pos)
        if pos == len(text):
            break
        number, negative, pos = proc_get_long(text, pos)
        first = False
        yield number, negative
    if first:
        raise ValueError(text)


def _int(number: int, negative: bool) -> int:
    """``do_proc_dointvec_conv``: a C int (down to -INT_MAX - 1), or EINVAL."""
    if number > (INT_MAX + 1 if negative else INT_MAX):
        raise ValueError(number)
    return -number if negative else number


def _bounded(value: int, low: int | None, high: int | None) -> int:
    """A ``*_minmax`` handler's check of ``extra1`` and ``extra2``: EINVAL outside them."""
    if (low is not None and value < low) or (high is not None and value > high):
        raise ValueError(value)
    return value


class Ctl:
    """A ``struct ctl_table`` entry as a write sees it: its ``proc_handler`` and the bounds the
    handler is given (``extra1``, ``extra2``: a number, or the name of the entry whose value bounds
    it, as ``ipfrag_low_thresh`` bounds ``ipfrag_high_thresh``).  ``write`` reads the text of a
    write into the entry's new value; for a vector (``tcp_rmem``) it also says where it stopped,
    since Linux keeps the numbers it took before a bad one."""

    __slots__ = ("handler", "extra1", "extra2")

    def __init__(self, handler: Callable[[Any, str, int | None, int | None], Any],
                 extra1: int | str | None = None, extra2: int | str | None = None) -> None:
        self.handler = handler
        self.extra1 = extra1
        self.extra2 = extra2

    def write(self, table: Sysctl, old: Any, text: str) -> tuple[Any, ValueError | None]:
        """(the entry's value after the write, the error it ends with or None)."""
        low, high = (table.get(b) if isinstance(b, str) else b for b in (self.extra1, self.extra2))
        return self.handler(old, text, low, high)


def _vector(old: Any, text: str, conv: Callable[[int, bool], int]) -> tuple[Any, ValueError | None]:
    """A vector handler's loop: each number read replaces the next element until one is bad."""
    values = list(old) if isinstance(old, tuple) else [old]
    taken = 0
    try:
        for number, negative in _values(text, len(values)):
            values[taken] = conv(number, negative)
            taken += 1
    except ValueError as e:
        error: ValueError | None = e
    else:
        error = None
    return (tuple(values) if isinstance(old, tuple) else values[0]), error


def proc_dointvec(old: Any, text: str, low: int | None, high: int | None) -> tuple[Any, ValueError | None]:
    """``proc_dointvec`` and ``proc_dointvec_minmax``: C ints, each within the bounds."""
    return _vector(old, text, lambda n, neg: _bounded(_int(n, neg), low, high))


def proc_douintvec(old: Any, text: str, low: int | None, high: int | None) -> tuple[Any, ValueError | None]:
    """``proc_douintvec``, ``proc_douintvec_minmax`` and ``proc_dou8vec_minmax`` (whose ``high``
    is at most 255): one unsigned number; a minus sign is EINVAL, as is more than the type holds."""
    try:
        number, negative = next(_values(text, 1))
        if negative or number > UINT_MAX:
            raise ValueError(text)
        return _bounded(number, low, high), None
    except ValueError as e:
        return old, e


def proc_doulongvec_minmax(old: Any, text: str, low: int | None, high: int | None) -> tuple[Any, ValueError | None]:
    """``proc_doulongvec_minmax``: unsigned longs, each within the bounds; a minus sign is EINVAL."""
    def conv(number: int, negative: bool) -> int:
        if negative:
            raise ValueError(number)
        return _bounded(number, low, high)
    return _vector(old, text, conv)


def proc_dointvec_jiffies(old: Any, text: str, low: int | None, high: int | None) -> tuple[Any, ValueError | None]:
    """``proc_dointvec_jiffies``: seconds, kept as jiffies in a C int (so at most INT_MAX / HZ)."""
    def conv(number: int, negative: bool) -> int:
        if number > INT_MAX // HZ:
            raise ValueError(number)
        return -number if negative else number
    return _vector(old, text, conv)


def proc_dointvec_ms_jiffies(old: Any, text: str, low: int | None, high: int | None) -> tuple[Any, ValueError | None]:
    """``proc_dointvec_ms_jiffies``: milliseconds through ``msecs_to_jiffies``, which takes an
    unsigned int (so the number's low 32 bits), calls a negative one for ever (EINVAL here) and
    rounds up to a whole jiffy; what is kept is what a read gives back (``jiffies_to_msecs``)."""
    def conv(number: int, negative: bool) -> int:
        msecs = (-number if negative else number) & UINT_MAX
        jiffies = -(-msecs * HZ // MSEC_PER_SEC)
        if msecs > INT_MAX or jiffies > INT_MAX:
            raise ValueError(number)
        return jiffies * MSEC_PER_SEC // HZ
    return _vector(old, text, conv)


def proc_dointvec_userhz_jiffies(old: Any, text: str, low: int | None,
                                 high: int | None) -> tuple[Any, ValueError | None]:
    """``proc_dointvec_userhz_jiffies``: clock ticks (USER_HZ) through ``clock_t_to_jiffies``
    into a C int, and back (the jiffies' low 32 bits, as the int keeps them)."""
    def conv(number: int, negative: bool) -> int:
        if number > (LONG_MAX // HZ) * USER_HZ:
            raise ValueError(number)
        ticks = ((-number if negative else number) & ULONG_MAX)
        jiffies = ULONG_MAX if ticks >= ULONG_MAX // (HZ // USER_HZ) else ticks * (HZ // USER_HZ)
        jiffies = c_int(jiffies)
        return -(-jiffies // (HZ // USER_HZ)) if jiffies < 0 else jiffies // (HZ // USER_HZ)
    return _vector(old, text, conv)


def ipv4_local_port_range(old: Any, text: str, low: int | None, high: int | None) -> tuple[Any, ValueError | None]:
    """``ipv4_local_port_range``: two ports from 1 to 65535, read into a copy that is kept only
    when the second is not below the first and the first is not a privileged port."""
    new, error = proc_dointvec(old, text, 1, 65535)
    if error is None and (new[1] < new[0] or new[0] < PROT_SOCK):
        error = ValueError(text)
    return (old, error) if error else (new, None)


def ipv4_ping_group_range(old: Any, text: str, low: int | None, high: int | None) -> tuple[Any, ValueError | None]:
    """``ipv4_ping_group_range``: two group ids, read into a copy kept only whole; a range whose
    end is below its start is the empty one, (1, 0)."""
    new, error = proc_doulongvec_minmax(old, text, 0, GID_T_MAX)
    if error:
        return old, error
    return (new if new[1] >= new[0] else (1, 0)), None


def proc_dostring(old: Any, text: str, low: int | None, high: int | None) -> tuple[Any, ValueError | None]:
    """``proc_dostring``: the text, without the white space around it."""
    return text.strip(), None


def u8(low: int = 0, high: int = 255) -> Ctl:
    """``proc_dou8vec_minmax`` with ``extra1``/``extra2``."""
    return Ctl(proc_douintvec, low, high)


INT = Ctl(proc_dointvec)
U8 = u8()


def intminmax(low: int | str | None, high: int | str | None = None) -> Ctl:
    """``proc_dointvec_minmax`` with ``extra1``/``extra2``."""
    return Ctl(proc_dointvec, low, high)


JIFFIES = Ctl(proc_dointvec_jiffies)
MS_JIFFIES = Ctl(proc_dointvec_ms_jiffies)
ZERO_INTMAX = intminmax(0, INT_MAX)  # neigh_proc_dointvec_zero_intmax

# Each entry's handler and bounds, from net/core/sysctl_net_core.c, net/ipv4/sysctl_net_ipv4.c,
# net/ipv4/route.c, net/ipv4/ip_fragment.c and net/ipv4/igmp.c as Linux 6.18 has them
# (tests/l2l3/test_devconf.py writes each to this machine's kernel and to tuxnet's).
CTL: dict[str, Ctl] = {
    "net.core.somaxconn": intminmax(0),
    "net.core.netdev_max_backlog": INT,
    "net.core.netdev_budget": INT,
    "net.core.rmem_default": intminmax(SOCK_MIN_RCVBUF),
    "net.core.rmem_max": intminmax(SOCK_MIN_RCVBUF),
    "net.core.wmem_default": intminmax(SOCK_MIN_SNDBUF),
    "net.core.wmem_max": intminmax(SOCK_MIN_SNDBUF),
    "net.core.optmem_max": intminmax(0),
    "net.core.default_qdisc": Ctl(proc_dostring),
    "net.core.txrehash": u8(0, 1),
    "net.ipv4.ip_forward": INT,
    "net.ipv4.ip_default_ttl": u8(1, 255),
    "net.ipv4.ip_no_pmtu_disc": U8,
    "net.ipv4.ip_local_port_range": Ctl(ipv4_local_port_range),
    "net.ipv4.ping_group_range": Ctl(ipv4_ping_group_range),
    "net.ipv4.ip_nonlocal_bind": U8,
    "net.ipv4.ipfrag_time": JIFFIES,
    "net.ipv4.ipfrag_high_thresh": Ctl(proc_doulongvec_minmax, "net.ipv4.ipfrag_low_thresh"),
    "net.ipv4.ipfrag_low_thresh": Ctl(proc_doulongvec_minmax, 0, "net.ipv4.ipfrag_high_thresh"),
    "net.ipv4.ipfrag_max_dist": intminmax(0),
    "net.ipv4.icmp_echo_ignore_all": u8(0, 1),
    "net.ipv4.icmp_echo_ignore_broadcasts": u8(0, 1),
    "net.ipv4.icmp_ratelimit": MS_JIFFIES,
    "net.ipv4.icmp_ratemask": INT,
    "net.ipv4.icmp_msgs_per_sec": intminmax(0),
    "net.ipv4.icmp_msgs_burst": intminmax(0),
    "net.ipv4.tcp_timestamps": U8,
    "net.ipv4.tcp_window_scaling": U8,
    "net.ipv4.tcp_sack": U8,
    "net.ipv4.tcp_dsack": U8,
    "net.ipv4.tcp_fack": U8,
    "net.ipv4.tcp_ecn": u8(0, 2),
    "net.ipv4.tcp_ecn_fallback": u8(0, 1),
    "net.ipv4.tcp_ecn_option": u8(0, 2),
    "net.ipv4.tcp_syncookies": U8,
    "net.ipv4.tcp_syn_retries": u8(1, 127),  # MAX_TCP_SYNCNT
    "net.ipv4.tcp_synack_retries": U8,
    "net.ipv4.tcp_retries1": U8,
    "net.ipv4.tcp_retries2": U8,
    "net.ipv4.tcp_orphan_retries": U8,
    "net.ipv4.tcp_fin_timeout": JIFFIES,
    "net.ipv4.tcp_keepalive_time": JIFFIES,
    "net.ipv4.tcp_keepalive_intvl": JIFFIES,
    "net.ipv4.tcp_keepalive_probes": U8,
    "net.ipv4.tcp_max_syn_backlog": INT,
    "net.ipv4.tcp_max_tw_buckets": INT,
    "net.ipv4.tcp_max_orphans": INT,
    "net.ipv4.tcp_tw_reuse": u8(0, 2),
    "net.ipv4.tcp_rfc1337": U8,
    "net.ipv4.tcp_abort_on_overflow": U8,
    "net.ipv4.tcp_rmem": intminmax(1),
    "net.ipv4.tcp_wmem": intminmax(1),
    "net.ipv4.tcp_mem": Ctl(proc_doulongvec_minmax),
    "net.ipv4.tcp_moderate_rcvbuf": U8,
    "net.ipv4.tcp_adv_win_scale": intminmax(-31, 31),
    "net.ipv4.tcp_app_win": u8(0, 31),
    "net.ipv4.tcp_congestion_control": Ctl(proc_dostring),
    "net.ipv4.tcp_available_congestion_control": Ctl(proc_dostring),
    "net.ipv4.tcp_slow_start_after_idle": U8,
    "net.ipv4.tcp_reordering": intminmax(1, "net.ipv4.tcp_max_reordering"),
    "net.ipv4.tcp_max_reordering": intminmax(1),
    "net.ipv4.tcp_early_retrans": u8(0, 4),
    "net.ipv4.tcp_recovery": U8,
    "net.ipv4.tcp_frto": U8,
    "net.ipv4.tcp_mtu_probing": U8,
    "net.ipv4.tcp_base_mss": INT,
    "net.ipv4.tcp_mtu_probe_floor": intminmax(48, 65535),  # TCP_MIN_SND_MSS
    "net.ipv4.tcp_probe_threshold": INT,
    "net.ipv4.tcp_probe_interval": Ctl(proc_douintvec, 0, UINT_MAX // HZ),
    "net.ipv4.tcp_min_snd_mss": intminmax(48, 65535),
    "net.ipv4.tcp_no_metrics_save": U8,
    "net.ipv4.tcp_no_ssthresh_metrics_save": u8(0, 1),
    "net.ipv4.tcp_autocorking": u8(0, 1),
    "net.ipv4.tcp_tso_win_divisor": U8,
    "net.ipv4.tcp_min_tso_segs": u8(1, 255),
    "net.ipv4.tcp_limit_output_bytes": INT,
    "net.ipv4.tcp_notsent_lowat": Ctl(proc_douintvec, 0, UINT_MAX),
    "net.ipv4.tcp_challenge_ack_limit": INT,
    "net.ipv4.tcp_invalid_ratelimit": MS_JIFFIES,
    "net.ipv4.tcp_min_rtt_wlen": intminmax(0, 24 * 3600),
    "net.ipv4.tcp_thin_linear_timeouts": U8,
    "net.ipv4.tcp_workaround_signed_windows": U8,
    "net.ipv4.tcp_retrans_collapse": U8,
    "net.ipv4.tcp_stdurg": U8,
    "net.ipv4.tcp_fastopen": INT,
    "net.ipv4.tcp_fastopen_key": Ctl(proc_dostring),
    "net.ipv4.tcp_pacing_ss_ratio": intminmax(0, 1000),
    "net.ipv4.tcp_pacing_ca_ratio": intminmax(0, 1000),
    "net.ipv4.tcp_comp_sack_delay_ns": Ctl(proc_doulongvec_minmax),
    "net.ipv4.tcp_comp_sack_nr": U8,
    "net.ipv4.udp_rmem_min": intminmax(1),
    "net.ipv4.udp_wmem_min": intminmax(1),
    "net.ipv4.igmp_max_memberships": INT,
    "net.ipv4.igmp_max_msf": INT,
    "net.ipv4.igmp_qrv": intminmax(1),
    "net.ipv4.igmp_link_local_mcast_reports": U8,
    "net.ipv4.route.min_pmtu": intminmax(68),  # IPV4_MIN_MTU
    "net.ipv4.route.mtu_expires": JIFFIES,
}

# net.ipv4.neigh.{default,DEV}.NAME (neigh_sysctl_template, net/core/neighbour.c).
NEIGH_CTL: dict[str, Ctl] = {
    "base_reachable_time_ms": MS_JIFFIES,
    "retrans_time_ms": MS_JIFFIES,
    "delay_first_probe_time": JIFFIES,
    "gc_stale_time": JIFFIES,
    "mcast_solicit": ZERO_INTMAX,
    "ucast_solicit": ZERO_INTMAX,
    "app_solicit": ZERO_INTMAX,
    "unres_qlen": intminmax(0, INT_MAX // (ETH_FRAME_LEN + SKB_TRUESIZE_OVERHEAD)),  # proc_unres_qlen
    "unres_qlen_bytes": ZERO_INTMAX,
    "gc_thresh1": ZERO_INTMAX,
    "gc_thresh2": ZERO_INTMAX,
    "gc_thresh3": ZERO_INTMAX,
    "gc_interval": JIFFIES,
    "proxy_delay": Ctl(proc_dointvec_userhz_jiffies),
    "proxy_qlen": ZERO_INTMAX,
}


def ctl_table(name: str) -> Ctl:
    """The ``ctl_table`` entry of a sysctl: every net.ipv4.conf.* one is ``devinet_conf_proc``'s
    plain int."""
    if name.startswith("net.ipv4.conf."):
        return INT
    if name.startswith("net.ipv4.neigh."):
        return NEIGH_CTL[name.rpartition(".")[2]]
    return CTL[name]


def _text(value: Any) -> str:
    """What a write of a Python value puts in the file: a number, or a vector's numbers with
    spaces between."""
    if isinstance(value, str):
        return value
    if isinstance(value, tuple | list):
        return " ".join(str(int(v)) for v in value)
    return str(int(value)) if isinstance(value, int) else str(value)


class SysctlError(ValueError):
    """An unknown sysctl name or a value it cannot take.  ``status`` is what procps-ng's sysctl
    exits with: 1, but 0 for a file the kernel will not let it write (a read-only entry)."""

    def __init__(self, message: str, status: int = 1) -> None:
        super().__init__(message)
        self.status = status


class Sysctl(dict[str, Any]):
    """One namespace's table; read with ``sysctl[name]``, write with ``set``.

    The table is the dict itself, so a read on the packet path is the dict's own ``__getitem__``
    (no Python-level call); names are normalised by the other methods only."""

    def __init__(self) -> None:
        super().__init__(DEFAULTS)
        self.generation = 0
        # What runs after a write (a ``proc_handler``'s side effects): called with the name.
        self.notifiers: list[Callable[[str], None]] = []
        # A ``proc_handler``'s own check of a value written to one entry: None to accept it, or
        # the error (strerror's text) the write fails with.
        self.checks: dict[str, Callable[[Any], str | None]] = {}

    @staticmethod
    def normalise(name: str) -> str:
        """Accept ``net.ipv4.x``, ``net/ipv4/x`` and ``/proc/sys/net/ipv4/x``."""
        name = name.strip()
        if name.startswith("/proc/sys/"):
            name = name[len("/proc/sys/"):]
        return name.replace("/", ".")

    def __setitem__(self, name: str, value: Any) -> None:
        self.set(name, value)

    def __contains__(self, name: str) -> bool:
        return dict.__contains__(self, self.normalise(name))

    def __iter__(self) -> Iterator[str]:
        return iter(sorted(dict.keys(self)))

    def get(self, name: str) -> Any:
        key = self.normalise(name)
        if not dict.__contains__(self, key):
            raise SysctlError(f"sysctl: cannot stat /proc/sys/{key.replace('.', '/')}: No such file or directory")
        return dict.__getitem__(self, key)

    def set(self, name: str, value: Any) -> None:
        """``sysctl -w name=value``: text or a Python value of the default's type."""
        key = self.normalise(name)
        if not dict.__contains__(self, key):
            raise SysctlError(f"sysctl: cannot stat /proc/sys/{key.replace('.', '/')}: No such file or directory")
        if key in READ_ONLY:
            raise SysctlError(f"sysctl: setting key \"{key}\": Invalid argument", 0)
        old = dict.__getitem__(self, key)
        new, invalid = ctl_table(key).write(self, old, _text(value))
        check = self.checks.get(key)
        error = check(new) if check is not None and invalid is None else None
        if error is None and new != old:
            dict.__setitem__(self, key, new)
            self.generation += 1
            for notify in self.notifiers:
                notify(key)
        if invalid is not None:
            raise SysctlError(f"sysctl: setting key \"{key}\": Invalid argument") from invalid
        if error is not None:
            raise SysctlError(f"sysctl: setting key \"{key}\": {error}")

    def add(self, name: str, value: Any) -> None:
        """A new entry (a device's, as it registers), without notifying.  Its name is interned: the
        hosts of a large network share their devices' names (lo, eth0), and so these keys."""
        dict.__setitem__(self, sys.intern(name), value)

    def register_copy(self, prefix: str, template: str, names: Iterable[str]) -> None:
        """A device's table as it registers (``__devinet_sysctl_register``,
        ``neigh_sysctl_register``): ``prefix + name`` for each name, valued as ``template + name``
        is now, added as ``add`` adds (one update of the table: a big network registers hundreds
        of thousands of these)."""
        value = dict.__getitem__
        intern = sys.intern
        self.update({intern(prefix + name): value(self, template + name) for name in names})

    def remove_prefix(self, prefix: str) -> None:
        """Drop every entry under ``prefix`` (a device's, as it goes)."""
        for key in [k for k in dict.keys(self) if k.startswith(prefix)]:
            dict.__delitem__(self, key)

    def format(self, name: str) -> str:
        """The value as ``sysctl`` prints it."""
        v = self.get(name)
        return "\t".join(str(x) for x in v) if isinstance(v, tuple) else str(v)
