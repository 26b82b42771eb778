"""The per-namespace sysctl table, named and defaulted as Linux's ``/proc/sys/net``.

Values are ints, tuples of ints for vectors (``tcp_rmem``) or strings.  ``set`` accepts the text
``sysctl -w`` would take (``"4096 131072 33554432"``) and refuses unknown names and bad values with a
message that says which.
"""

from __future__ import annotations

import sys
from collections.abc import Callable, Iterable, Iterator
from typing import Any

from tuxnet.kernel.minmax import ULONG_MAX

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
    "net.ipv4.tcp_delack_min_ms": 40,
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


def proc_get_long(text: str) -> int:
    """``proc_get_long`` (kernel/sysctl.c) over ``_parse_integer`` (lib/kstrtox.c) in base 0: white
    space around, a minus sign, then a digit first; 0x hexadecimal, 0 octal, else decimal, to the
    end.  ValueError where the kernel says EINVAL ("+1", "1_0", "1x", "²", "")."""
    body = text.strip(" \t\n\v\f\r")
    negative = body.startswith("-")
    digits = body[1:] if negative else body
    if not digits or digits[0] not in "0123456789":
        raise ValueError(text)
    if digits[:2].lower() == "0x" and len(digits) > 2:
        base, digits = 16, digits[2:]
    else:
        base = 8 if digits[0] == "0" and len(digits) > 1 else 10
    if any(c.lower() not in "0123456789abcdef"[:base] for c in digits):
        raise ValueError(text)
    number = int(digits, base)
    if number > ULONG_MAX:
        raise ValueError(text)  # _parse_integer's overflow
    return -number if negative else number


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
        try:
            new = self._convert(old, value)
        except (TypeError, ValueError) as e:
            raise SysctlError(f"sysctl: setting key \"{key}\": Invalid argument") from e
        check = self.checks.get(key)
        error = check(new) if check is not None else None
        if error is not None:
            raise SysctlError(f"sysctl: setting key \"{key}\": {error}")
        dict.__setitem__(self, key, new)
        self.generation += 1
        for notify in self.notifiers:
            notify(key)

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

    @staticmethod
    def _convert(old: Any, value: Any) -> Any:
        if isinstance(old, tuple):
            # __do_proc_dointvec: the values written replace the vector's first ones, fewer leave
            # the rest as they were, and what is written beyond the vector is not read; none at
            # all is an error
            parts = (value.split() if isinstance(value, str) else list(value))[:len(old)]
            if not parts:
                raise ValueError("no value")
            return tuple(proc_get_long(p) if isinstance(p, str) else int(p) for p in parts) + old[len(parts):]
        if isinstance(old, int):
            # (the table does not say which entries are int, unsigned int or long: no range here)
            return proc_get_long(value) if isinstance(value, str) else int(value)
        return str(value).strip()

    def format(self, name: str) -> str:
        """The value as ``sysctl`` prints it."""
        v = self.get(name)
        return "\t".join(str(x) for x in v) if isinstance(v, tuple) else str(v)
