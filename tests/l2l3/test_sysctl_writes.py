"""Writes to the sysctl table as each entry's ``proc_handler`` reads them (kernel/sysctl.c): a C
int, u8, unsigned int or unsigned long within the entry's bounds, seconds or milliseconds kept as
jiffies, vectors whose numbers before a bad one are kept, and the handlers of their own
(``ip_local_port_range``, ``ping_group_range``).  Judged by this machine's kernel: every number
entry tuxnet has, written with the same texts in a namespace of our own and on a tuxnet host."""

from __future__ import annotations

import json
import os
import random
import subprocess

import pytest

from tuxnet.kernel.minmax import INT_MAX, U32_MAX
from tuxnet.kernel.sysctl import (
    CTL,
    DEFAULTS,
    JIFFIES,
    MS_JIFFIES,
    NEIGH_CTL,
    Sysctl,
    SysctlError,
    ctl_table,
    proc_dointvec_userhz_jiffies,
    proc_get_long,
)
from tuxnet.tapnet import Netns, netns_unavailable
from tuxnet.world import HZ, World

# Run by the namespace's python3: write each text to each entry's /proc/sys file, read it back,
# put the first value back.  Prints {name: [[errno name or null, value read back], ...]}.
PROBE = r"""
import errno, json, sys
names, texts = json.loads(sys.stdin.read())
out = {}
for name in names:
    path = "/proc/sys/" + name.replace(".", "/")
    try:
        first = open(path).read()
    except OSError:
        continue
    got = []
    for text in texts:
        try:
            with open(path, "w") as f:
                f.write(text)
            err = None
        except OSError as e:
            err = errno.errorcode[e.errno]
        back = open(path).read()
        got.append([err, back.strip()])
        if back != first:
            with open(path, "w") as f:
                f.write(first)
    out[name] = [first.strip(), got]
print(json.dumps(out))
"""

TEXTS = ["0", "1", "-1", "2", "3", "4", "5", "8", "31", "32", "48", "64", "68", "100", "127", "128", "255", "256",
         "1000", "1024", "65535", "65536", "2147483", "2147484", "4294967", "4294968", "8589934", "8589935",
         "2147483647", "2147483648", "-2147483648", "-2147483649", "4294967295", "4294967296",
         "18446744073709551615", "18446744073709551616", "-0", "0x10", "0X1f", "0x", "0xg", "010", "08", "+1", "1_0",
         "1x", "1\r", "1\v", " 7", "\t7\n", "  ", "abc", "-", "--1", "000000000000000000001", "00000000000000000001",
         "-0000000000000000001", "1 2", "1 2 3", "1 2 3 4", "5 1", "-1 5", "1024 -1", "1 x", "1,2",
         "4096 87380 6291456", "0 1 2", "2 1", "1025 1025", "1024 65535", "32768 60999", "60999 32768", "-5 -3",
         "3145728", "4194304", "4194305 9", "²", "٣", "1\t2\n3"]
PIECES = ["0", "1", "7", "9", "-", "0x", "a", "f", "g", " ", "\t", "\n", "\r", "08", "255", "256", "2147483647",
          "4294967295", "18446744073709551615", "99999999999999999999", "+", "x", "00", "1000", "65535"]


def random_texts(count: int, seed: int) -> list[str]:
    rng = random.Random(seed)
    return ["".join(rng.choice(PIECES) for _ in range(rng.randint(1, 4))) for _ in range(count)]


def numeric_names(host_sysctl: Sysctl) -> list[str]:
    """tuxnet's number entries: the table's, and the loopback device's own (conf.lo, neigh.lo)."""
    return [n for n in host_sysctl if not isinstance(dict.__getitem__(host_sysctl, n), str)
            and (not n.startswith(("net.ipv4.conf.", "net.ipv4.neigh.")) or ".lo." in n)]


def hz_dependent(name: str, text: str, linux_hz: int) -> bool:
    """Whether Linux at ``linux_hz`` may read ``text`` differently from tuxnet's HZ of 1000: a time
    in jiffies past INT_MAX / HZ, milliseconds that are not whole jiffies there, clock ticks, or
    tcp_probe_interval's bound of UINT_MAX / HZ.  (A text that is no number is judged all the same.)"""
    try:
        number, negative, _ = proc_get_long(text, len(text) - len(text.lstrip(" \t\n\v\f\r")))
    except ValueError:
        return False
    ctl = ctl_table(name)
    if ctl.handler is proc_dointvec_userhz_jiffies:
        return linux_hz != HZ
    if ctl is JIFFIES:
        return INT_MAX // HZ < number <= INT_MAX // linux_hz
    if ctl is MS_JIFFIES:
        msecs = (-number if negative else number) & U32_MAX
        return msecs <= INT_MAX and msecs % (1000 // linux_hz) != 0
    if name == "net.ipv4.tcp_probe_interval":
        return U32_MAX // HZ < number <= U32_MAX // linux_hz
    return False


def test_every_entry_says_how_it_is_written():
    """Each number entry tuxnet has is typed as Linux's is: a write of -1 to a u8 or an unsigned
    one is refused, a C int takes it; 300 does not fit a u8."""
    host = World().add_host("h")
    for name in host.sysctl:
        ctl_table(name)  # no KeyError: every entry has its handler
    assert set(CTL) == {n for n in DEFAULTS if not n.startswith(("net.ipv4.conf.", "net.ipv4.neigh."))}
    assert {n.rpartition(".")[2] for n in host.sysctl if n.startswith("net.ipv4.neigh.")} <= set(NEIGH_CTL)
    s = host.sysctl
    for name, text, ok in (("net.ipv4.tcp_syn_retries", "-1", False), ("net.ipv4.tcp_syn_retries", "0", False),
                           ("net.ipv4.tcp_syn_retries", "127", True), ("net.ipv4.tcp_syn_retries", "128", False),
                           ("net.ipv4.tcp_sack", "300", False), ("net.ipv4.tcp_max_syn_backlog", "-1", True),
                           ("net.ipv4.tcp_notsent_lowat", "4294967295", True),
                           ("net.ipv4.tcp_notsent_lowat", "4294967296", False),
                           ("net.ipv4.tcp_fin_timeout", str(INT_MAX // HZ + 1), False),
                           ("net.ipv4.ip_default_ttl", "0", False),
                           ("net.ipv4.conf.lo.rp_filter", "-2147483648", True)):
        before = s[name]
        try:
            s.set(name, text)
        except SysctlError as e:
            assert not ok, (name, text, e)
            assert s[name] == before
        else:
            assert ok, (name, text)
            assert s.format(name) == str(int(text))


def test_a_vector_keeps_the_numbers_before_a_bad_one():
    """``__do_proc_dointvec`` writes as it reads: tcp_rmem's first number is taken when the
    second is bad; ip_local_port_range reads into a copy and takes all or nothing."""
    s = Sysctl()
    with pytest.raises(SysctlError, match="Invalid argument"):
        s.set("net.ipv4.tcp_rmem", "8192 0")
    assert s["net.ipv4.tcp_rmem"] == (8192, 131072, 33554432)
    s.set("net.ipv4.tcp_rmem", "4096 87380 6291456 junk")  # past the third number nothing is read
    assert s["net.ipv4.tcp_rmem"] == (4096, 87380, 6291456)
    with pytest.raises(SysctlError):
        s.set("net.ipv4.ip_local_port_range", "40000 30000")
    assert s["net.ipv4.ip_local_port_range"] == (32768, 60999)
    s.set("net.ipv4.ping_group_range", "5 2")  # an empty range is (1, 0)
    assert s["net.ipv4.ping_group_range"] == (1, 0)


def test_bounds_that_are_other_entries_follow_them():
    """ipfrag_high_thresh may not go below ipfrag_low_thresh, nor tcp_reordering above
    tcp_max_reordering: the bound is the other entry's value at the time of the write."""
    s = Sysctl()
    with pytest.raises(SysctlError):
        s.set("net.ipv4.ipfrag_high_thresh", "3145727")
    s.set("net.ipv4.ipfrag_low_thresh", "1000")
    s.set("net.ipv4.ipfrag_high_thresh", "3145727")
    with pytest.raises(SysctlError):
        s.set("net.ipv4.tcp_reordering", "301")
    s.set("net.ipv4.tcp_max_reordering", "1000")
    s.set("net.ipv4.tcp_reordering", "301")
    assert s["net.ipv4.tcp_reordering"] == 301


@pytest.mark.root
def test_writes_read_back_as_linux_reads_them():
    """Every number entry tuxnet has that a namespace of this machine's kernel has too, written
    with ~160 texts (the table's edges, bad numbers, vectors, random ones) on both sides: the same
    refusals and the same values read back (texts whose reading depends on HZ, where this kernel's
    is not tuxnet's 1000, are left out and counted)."""
    reason = netns_unavailable()
    if reason:
        pytest.skip(reason)
    host = World().add_host("h")
    names = numeric_names(host.sysctl)
    texts = TEXTS + random_texts(80, 1)
    ns = Netns(f"tuxnet-sysctlw-{os.getpid()}")
    try:
        probe = subprocess.run(ns.cmd("python3", "-c", PROBE), input=json.dumps([names, texts]), capture_output=True,
                               text=True, timeout=120)
        linux_ms = subprocess.run(ns.cmd("sh", "-c", "echo 1 > /proc/sys/net/ipv4/icmp_ratelimit && "
                                         "cat /proc/sys/net/ipv4/icmp_ratelimit"), capture_output=True, text=True)
    finally:
        ns.close()
    if probe.returncode != 0:
        pytest.skip(f"cannot run python3 in a namespace here: {probe.stderr.strip()}")
    linux = json.loads(probe.stdout)
    linux_hz = 1000 // int(linux_ms.stdout)  # 1 ms reads back as one jiffy's milliseconds
    compared = skipped = 0
    mismatches = []
    for name, (first, results) in linux.items():
        if results[0][0] in ("EACCES", "EPERM"):
            continue  # the first namespace's only (net.core.rmem_max)
        s = host.sysctl
        s.set(name, first)  # this kernel's own default (tcp_max_syn_backlog follows its memory)
        start = dict.__getitem__(s, name)
        for text, (err, back) in zip(texts, results, strict=True):
            if hz_dependent(name, text, linux_hz):
                skipped += 1
                continue
            try:
                s.set(name, text)
                ours_err = None
            except SysctlError:
                ours_err = "EINVAL"
            ours = (ours_err, s.format(name))
            if ours != (err, back):
                mismatches.append((name, text, (err, back), ours))
            dict.__setitem__(s, name, start)
            compared += 1
    assert not mismatches, mismatches[:20]
    assert len(linux) >= 110 and compared >= 15000 and skipped < compared // 20, (len(linux), compared, skipped)
