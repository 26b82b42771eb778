"""A Linux network namespace with a TAP device whose other end is a tuxnet host.

Each test gets its own namespace (a unique name), removed whatever happens.  Tests skip, saying
why, where root, /dev/net/tun or iproute2 is missing.  Traffic stays on the namespace's addresses.
"""

from __future__ import annotations

import itertools
import os
import shutil
from pathlib import Path

import pytest
from dnszones import DNS_FAR, DNS_HINTS, DNS_LAB, DNS_ROOT, DNS_TEST

from tuxnet.tapnet import Netns, make_pair, netns_unavailable
from tuxnet.user.etc import install_base_files
from tuxnet.user.programs.dns import named

_counter = itertools.count(1)

@pytest.fixture
def netns():
    reason = netns_unavailable()
    if reason:
        pytest.skip(reason)
    try:
        ns = Netns(f"tuxnet-{os.getpid()}-{next(_counter)}")
    except OSError as e:
        pytest.skip(str(e))
    try:
        yield ns
    finally:
        ns.close()


@pytest.fixture
def pair_factory():
    """``make_pair`` as a fixture, for tests that choose offload and loss."""
    return make_pair


@pytest.fixture
def tap_pair(netns):
    pair = make_pair(netns)
    try:
        yield pair
    finally:
        pair.close()


@pytest.fixture
def lab(tap_pair):
    """The tuxnet host's named, authoritative for lab.test (addresses, an alias, MX, TXT, a long
    name, a wildcard) and 10.1.2.0/24's reverse zone, for the dig, host and nslookup comparisons."""
    p = tap_pair
    install_base_files(p.host)
    ip = p.tux_ip
    p.host.files["/etc/db.lab"] = (
        f"$ORIGIN lab.test.\n$TTL 300\n@ IN SOA ns hostmaster 1 7200 900 1209600 300\n@ IN NS ns\n"
        f"ns IN A {ip}\nwww IN A {ip}\nweb IN CNAME www\n@ IN MX 10 mail\nmail IN A {ip}\n"
        f'@ IN TXT "hello world" "two"\na-rather-long-host-name-here IN A 10.1.2.3\n*.wild IN A 10.9.9.9\n')
    p.host.files["/etc/db.rev"] = (
        "$ORIGIN 2.1.10.in-addr.arpa.\n$TTL 300\n@ IN SOA ns.lab.test. hostmaster.lab.test. 1 7200 900 1209600 300\n"
        "@ IN NS ns.lab.test.\n3 IN PTR a-rather-long-host-name-here.lab.test.\n")
    p.host.spawn(named, {"lab.test.": "/etc/db.lab", "2.1.10.in-addr.arpa.": "/etc/db.rev"}, name="named")
    p.world.run_for(int(2e8))
    return p


@pytest.fixture
def dns_hierarchy(tap_pair):
    """The tuxnet host's name servers for DNS_*: the root's on .10, test.'s on .11, lab.test.'s
    and far.test.'s on .12, and a recursive one with DNS_HINTS on its own address (.2), which is
    the resolver of the tuxnet host and of the namespace (``ip netns exec`` puts
    /etc/netns/NAME/resolv.conf in place of /etc/resolv.conf).  Yields the pair and the
    addresses by zone letter (R, T, L)."""
    p = tap_pair
    base = p.tux_ip.rsplit(".", 1)[0]
    addrs = {"R": f"{base}.10", "T": f"{base}.11", "L": f"{base}.12"}
    for addr in addrs.values():
        p.host.ip_addr_add("eth0", f"{addr}/24")
    install_base_files(p.host, nameservers=[p.tux_ip])
    for path, text in (("/r", DNS_ROOT), ("/t", DNS_TEST), ("/l", DNS_LAB), ("/f", DNS_FAR), ("/h", DNS_HINTS)):
        p.host.files[path] = text.format(**addrs)
    p.host.spawn(named, {".": "/r"}, addr=addrs["R"], announce=False)
    p.host.spawn(named, {"test.": "/t"}, addr=addrs["T"], announce=False)
    p.host.spawn(named, {"lab.test.": "/l", "far.test.": "/f"}, addr=addrs["L"], announce=False)
    p.host.spawn(named, {}, addr=p.tux_ip, hints="/h", announce=False)
    p.world.run_for(int(2e8))
    etc = Path("/etc/netns") / p.ns.name
    etc.mkdir(parents=True, exist_ok=True)
    try:
        (etc / "resolv.conf").write_text(f"nameserver {p.tux_ip}\n")
        yield p, addrs
    finally:
        shutil.rmtree(etc, ignore_errors=True)
