"""Building networks: hosts, routers, switches and hubs, and the cables between them, from Python
or from a TOML file.

Python::

    world = World(seed=1)
    a, b = world.add_host("a"), world.add_host("b")
    sw = world.add_switch("sw1")
    world.connect(a, sw, rate="100mbit", delay="50us", a_addr="10.0.0.1/24")
    world.connect(b, sw, rate="100mbit", delay="50us", a_addr="10.0.0.2/24")

``connect`` makes a device on each end (``ethN`` on a host, ``pN`` on a switch), brings it up,
gives it the address asked for, and joins the two with a ``Cable`` (or attaches the end to a
``Hub``).  Rates are bit/s or ``tc`` strings (``"10mbit"``); times are ns or strings (``"5ms"``),
and in a file strings (a bare number there, but 0, is refused: it would be nanoseconds).

A TOML file describes the same (see ``load_topology``)::

    seed = 1
    duration = "10s"

    [[host]]
    name = "a"
    routes = ["default via 10.0.1.254"]
    files = { "/etc/resolv.conf" = "nameserver 10.0.2.53\n" }

    [[router]]
    name = "r1"

    [[switch]]
    name = "sw1"

    [[hub]]
    name = "hub1"
    rate = "10mbit"

    [[link]]
    a = "a"
    b = "sw1"
    a_addr = "10.0.1.1/24"
    rate = "100mbit"
    delay = "50us"

    [[run]]
    host = "a"
    cmd = "ping -c 3 10.0.2.1"
    at = "1s"

    [[capture]]
    node = "a"
    dev = "eth0"
    pcap = "a-eth0.pcap"

Every host has ``/etc/hosts``, ``/etc/nsswitch.conf`` and ``/etc/services``; a host's (or a
router's) ``files`` table adds or replaces files, each an absolute path given its text
(``/etc/resolv.conf``, a ``named.conf`` and its zone files, the pages ``httpd`` serves).  Its ``ip``
list runs ``ip`` commands once the links are made and before its ``routes`` are added: a VLAN
device and its address (``"link add link eth0 name eth0.10 type vlan id 10"``), a rule
(``"rule add from 10.0.2.1 table 100"``), a route in another table.

A ``[[run]]`` runs one of ``ping``, ``traceroute``, ``tracepath``, ``arping``, ``tcpdump``,
``iperf`` (a server, ``iperf -s``, or a client), ``nc``, ``curl``, ``named``, ``httpd``, ``dig``,
``host``, ``nslookup``, ``dns`` (the course's lookup), ``http`` (a fetch), ``cat``, ``ip``,
``ethtool``, ``sysctl``, ``ss``, ``nstat``, ``tc`` and net-tools' ``netstat``, ``ifconfig``,
``route`` and ``arp`` on a host at time ``at``.
Without a ``duration`` the run lasts until every program has ended, or waits in ``accept`` for a
client (a server, once its last client has gone and it has reported it), or for a datagram or a
frame that nothing is left to send (a UDP server, a ``tcpdump`` without ``-c``).  A program still
running then that catches SIGINT gets one, as Ctrl-C typed at it: ``tcpdump`` prints its closing
counts and closes its ``-w`` file, ``ping`` and ``arping`` without a count print their statistics.
"""

from __future__ import annotations

import re
import shlex
import sys
import tomllib
from collections.abc import Callable
from pathlib import Path
from typing import IO, TYPE_CHECKING, Any

from tuxnet.drivers.net.cable import Cable, alloc_cable_dev
from tuxnet.drivers.net.hub import Hub, alloc_hub_dev
from tuxnet.kernel.signal import SIGINT, send_sig
from tuxnet.net.bridge.br_fdb import br_fdb_show, br_showmacs
from tuxnet.net.bridge.br_if import BR_DEFAULT_AGEING_TIME, NetBridge, br_add_bridge, br_add_if
from tuxnet.net.ipv4.tcp_sock import TCP_LISTEN
from tuxnet.net.packet.af_packet import PacketSock
from tuxnet.net.socket import SOCK_DGRAM
from tuxnet.user.etc import install_base_files
from tuxnet.user.iproute import ip
from tuxnet.world import NSEC_PER_MSEC, NSEC_PER_SEC, World

if TYPE_CHECKING:
    from tuxnet.kernel.host import Host
    from tuxnet.kernel.sched import Process
    from tuxnet.net.core.dev import NetDevice
    from tuxnet.trace.capture import Capture

# tc(8) units: "bit" suffixes are bits per second, "bps" ones bytes per second.
_RATE_UNITS = {"": 1, "bit": 1, "kbit": 10**3, "mbit": 10**6, "gbit": 10**9, "tbit": 10**12,
               "bps": 8, "kbps": 8 * 10**3, "mbps": 8 * 10**6, "gbps": 8 * 10**9}
_TIME_UNITS = {"": 1, "ns": 1, "nsec": 1, "us": 1_000, "usec": 1_000, "ms": NSEC_PER_MSEC, "msec": NSEC_PER_MSEC,
               "s": NSEC_PER_SEC, "sec": NSEC_PER_SEC}
_QUANTITY = re.compile(r"^\s*([0-9]+(?:\.[0-9]*)?|\.[0-9]+)\s*([a-zA-Z]*)\s*$")


def _quantity(value: Any, units: dict[str, int], what: str) -> int:
    if isinstance(value, bool):
        raise ValueError(f"bad {what} {value!r}")
    if isinstance(value, int | float):
        return int(value)
    m = _QUANTITY.match(str(value))
    if m is None or m.group(2).lower() not in units:
        raise ValueError(f"bad {what} {value!r} (units: {', '.join(u for u in units if u)})")
    return int(round(float(m.group(1)) * units[m.group(2).lower()]))


def parse_rate(value: int | float | str) -> int:
    """A rate in bit/s: a number, or a ``tc`` string such as ``"10mbit"`` or ``"1gbit"``."""
    return _quantity(value, _RATE_UNITS, "rate")


def parse_time(value: int | float | str) -> int:
    """A time in ns: a number, or a string such as ``"50us"``, ``"5ms"`` or ``"1.5s"``."""
    return _quantity(value, _TIME_UNITS, "time")


# -- nodes -------------------------------------------------------------------------------------------

class Switch:
    """A learning switch: a Linux bridge in a namespace of its own, without a host stack above it."""

    def __init__(self, world: World, name: str, ageing_time: int = BR_DEFAULT_AGEING_TIME) -> None:
        self.world = world
        self.host = world.add_host(name)
        self.bridge: NetBridge = br_add_bridge(self.host)
        self.bridge.ageing_time = ageing_time

    @property
    def name(self) -> str:
        return self.host.name

    def __repr__(self) -> str:
        return f"<Switch {self.name}: {len(self.bridge.ports)} ports>"

    def fdb_show(self, stats: bool = False) -> str:
        """``bridge fdb show``."""
        return br_fdb_show(self.bridge, stats)

    def showmacs(self) -> str:
        """``brctl showmacs br0``."""
        return br_showmacs(self.bridge)

    def port_stats(self) -> str:
        """Per-port counters: frames in and out, and what became of the ones that came in."""
        cols = ("rx_frames", "tx_frames", "forwarded", "flooded", "filtered", "dropped")
        lines = ["port" + "".join(f" {c:>10}" for c in cols)]
        for p in self.bridge.ports:
            lines.append(f"{p.dev.name:<4}" + "".join(f" {getattr(p.stats, c):>10}" for c in cols))
        return "\n".join(lines) + "\n"


Node = Any  # a Host, a Switch or a Hub


def add_router(world: World, name: str) -> Host:
    """A host that forwards (``net.ipv4.ip_forward = 1``)."""
    host = world.add_host(name)
    host.sysctl.set("net.ipv4.ip_forward", 1)
    _lo_up(host)
    return host


def add_switch(world: World, name: str, ageing_time: int | str = BR_DEFAULT_AGEING_TIME) -> Switch:
    """A learning switch (``ageing_time`` 300 s by default)."""
    return Switch(world, name, parse_time(ageing_time))


def add_hub(world: World, name: str, rate: int | str = 10_000_000, delay: int | str = 1_000,
            mtu: int = 1500) -> Hub:
    """A shared CSMA/CD segment (10 Mb/s and 1 us of propagation by default)."""
    hub = Hub(world, name, rate=parse_rate(rate), delay=parse_time(delay), mtu=mtu)
    world.links.append(hub)
    return hub


class Link:
    """What ``connect`` made: the medium (a ``Cable`` or a ``Hub``) and the device at each end
    (None on the hub's side)."""

    __slots__ = ("medium", "a", "b")

    def __init__(self, medium: Cable | Hub, a: NetDevice | None, b: NetDevice | None) -> None:
        self.medium = medium
        self.a = a
        self.b = b

    def __repr__(self) -> str:
        return f"<Link {self.medium!r}>"


def _next_name(host: Host, prefix: str, start: int) -> str:
    n = start
    while f"{prefix}{n}" in host.devices:
        n += 1
    return f"{prefix}{n}"


def _make_end(node: Node, alloc: Callable[[World, str], NetDevice], dev_name: str | None) -> NetDevice:
    """A new device on ``node`` (a switch port, enslaved to its bridge, or a host NIC)."""
    if isinstance(node, Switch):
        host = node.host
        dev = alloc(node.world, dev_name or _next_name(host, "p", 1))
        host.register_netdevice(dev)
        br_add_if(node.bridge, dev)
    else:
        host = node
        if not host.loopback_dev.up:
            _lo_up(host)
        dev = alloc(node.world, dev_name or _next_name(host, "eth", 0))
        host.register_netdevice(dev)
    return dev


def _lo_up(host: Host) -> None:
    """A networked machine has its loopback up (the host's own traffic, ICMP errors to itself)."""
    host.dev_open("lo")
    if not host.loopback_dev.ip_ptr or not host.loopback_dev.ip_ptr.ifa_list:
        host.ip_addr_add("lo", "127.0.0.1/8")


def connect(a: Node, b: Node, *, rate: int | str | None = None, delay: int | str | None = None,
            mtu: int | None = None, loss: float = 0.0, duplicate: float = 0.0, corrupt: float = 0.0,
            reorder: float = 0.0, reorder_delay: int | str | None = None, a_addr: str | None = None,
            b_addr: str | None = None, a_dev: str | None = None, b_dev: str | None = None,
            name: str | None = None) -> Link:
    """Join two nodes: a cable between two hosts/switches (100 Mb/s, no delay, MTU 1500 unless
    told otherwise), or a station on a hub (which has the segment's rate, delay and MTU).  The new
    devices are brought up and given ``a_addr``/``b_addr`` (``"10.0.0.1/24"``)."""
    world = a.world
    if b.world is not world:
        raise ValueError("connect: the two ends are in different worlds")
    if isinstance(a, Hub) and isinstance(b, Hub):
        raise ValueError(f"connect {a.name} {b.name}: two hubs make one segment; attach stations to one hub")
    if isinstance(a, Hub):
        a, b, a_addr, b_addr, a_dev, b_dev = b, a, b_addr, a_addr, b_dev, a_dev
        flipped = True
    else:
        flipped = False
    if isinstance(b, Hub):
        cable_args = (rate, delay, mtu, reorder_delay, name)
        if any(v is not None for v in cable_args) or loss or duplicate or corrupt or reorder:
            raise ValueError(f"connect: stations of hub {b.name} share its rate, delay and MTU (set them "
                             "with add_hub); a cable's settings do not apply")
        if b_addr is not None or b_dev is not None:
            raise ValueError(f"connect: hub {b.name} has no address or device of its own")
        dev = _make_end(a, alloc_hub_dev, a_dev)
        b.attach(dev)
        _bring_up(a, dev, a_addr)
        return Link(b, None, dev) if flipped else Link(b, dev, None)
    cable = Cable(world, name or f"{a.name}-{b.name}#{len(world.links)}",
                  rate=parse_rate(rate if rate is not None else 100_000_000),
                  delay=parse_time(delay if delay is not None else 0), mtu=mtu or 1500, loss=loss,
                  duplicate=duplicate, corrupt=corrupt, reorder=reorder,
                  reorder_delay=parse_time(reorder_delay if reorder_delay is not None else NSEC_PER_MSEC))
    dev_a = _make_end(a, alloc_cable_dev, a_dev)
    dev_b = _make_end(b, alloc_cable_dev, b_dev)
    cable.attach(0, dev_a)
    cable.attach(1, dev_b)
    world.links.append(cable)
    _bring_up(a, dev_a, a_addr)
    _bring_up(b, dev_b, b_addr)
    return Link(cable, dev_a, dev_b)


def _bring_up(node: Node, dev: NetDevice, addr: str | None) -> None:
    host = node.host if isinstance(node, Switch) else node
    host.dev_open(dev)
    if addr is not None:
        if isinstance(node, Switch):
            raise ValueError(f"switch {node.name}: its ports have no IP addresses")
        host.ip_addr_add(dev.name, addr)


# -- TOML --------------------------------------------------------------------------------------------

class TopologyError(ValueError):
    """A topology file is wrong; the message starts with ``FILE:LINE:``."""


def _programs() -> dict[str, Callable[[list[str]], int]]:
    from tuxnet.user.ethtool import ethtool_main
    from tuxnet.user.iproute import ip_main
    from tuxnet.user.nstat import nstat_main
    from tuxnet.user.programs import nettools
    from tuxnet.user.programs.arping import arping_main
    from tuxnet.user.programs.cat import cat_main
    from tuxnet.user.programs.curl import curl_main
    from tuxnet.user.programs.dig import dig_main
    from tuxnet.user.programs.dns import dns_main
    from tuxnet.user.programs.host import host_main
    from tuxnet.user.programs.http import http_main, httpd_main
    from tuxnet.user.programs.iperf import iperf_main
    from tuxnet.user.programs.named import named_main
    from tuxnet.user.programs.nc import nc_main
    from tuxnet.user.programs.nslookup import nslookup_main
    from tuxnet.user.programs.ping import ping_main
    from tuxnet.user.programs.tcpdump import tcpdump_main
    from tuxnet.user.programs.tracepath import tracepath_main
    from tuxnet.user.programs.traceroute import traceroute_main
    from tuxnet.user.ss import ss_main
    from tuxnet.user.sysctl import sysctl_main
    from tuxnet.user.tc import tc_main

    return {"ping": ping_main, "traceroute": traceroute_main, "tracepath": tracepath_main, "iperf": iperf_main,
            "ip": ip_main,
            "ethtool": ethtool_main, "sysctl": sysctl_main, "ss": ss_main, "nstat": nstat_main, "tc": tc_main,
            "netstat": nettools.netstat, "ifconfig": nettools.ifconfig, "route": nettools.route, "arp": nettools.arp,
            "arping": arping_main, "tcpdump": tcpdump_main, "cat": cat_main, "nc": nc_main, "curl": curl_main,
            "named": named_main, "httpd": httpd_main, "dns": dns_main, "dig": dig_main, "host": host_main,
            "nslookup": nslookup_main, "http": http_main}


_SCHEMA: dict[str, dict[str, tuple[type | tuple[type, ...], bool]]] = {
    "host": {"name": (str, True), "routes": (list, False), "ip": (list, False), "sysctl": (dict, False),
             "files": (dict, False)},
    "router": {"name": (str, True), "routes": (list, False), "ip": (list, False), "sysctl": (dict, False),
               "files": (dict, False)},
    "switch": {"name": (str, True), "ageing": ((str, int), False)},
    "hub": {"name": (str, True), "rate": ((str, int), False), "delay": ((str, int), False), "mtu": (int, False)},
    "link": {"a": (str, True), "b": (str, True), "a_addr": (str, False), "b_addr": (str, False),
             "a_dev": (str, False), "b_dev": (str, False), "rate": ((str, int), False),
             "delay": ((str, int), False), "mtu": (int, False), "loss": ((float, int), False),
             "duplicate": ((float, int), False), "corrupt": ((float, int), False),
             "reorder": ((float, int), False), "reorder_delay": ((str, int), False), "name": (str, False)},
    "run": {"host": (str, True), "cmd": (str, True), "at": ((str, int), False), "stdin": (str, False)},
    "capture": {"node": (str, True), "dev": (str, False), "pcap": (str, True)},
}
_TOP_LEVEL = {"seed": (int, False), "duration": ((str, int), False)}
_UNITS: dict[str, Callable[[Any], int]] = {"rate": parse_rate, "delay": parse_time, "reorder_delay": parse_time,
                                           "ageing": parse_time, "at": parse_time}


_TIMES = ("duration", "at", "delay", "ageing", "reorder_delay")
_PROBABILITIES = ("loss", "duplicate", "corrupt", "reorder")
ETH_MIN_MTU, ETH_MAX_MTU = 68, 0xFFFF  # include/linux/if_ether.h: what an Ethernet device takes


def _value_problem(key: str, value: Any) -> str:
    """What is wrong with a file's ``key = value`` that its type allows: a time without its unit
    (a bare number would be nanoseconds, which is never what a file means but for 0), an MTU
    an Ethernet device cannot have, a probability outside [0, 1], an empty name; "" when nothing
    is."""
    if key in _TIMES and isinstance(value, int) and value:
        return f'{key} = {value}: a time needs its unit, as "{value}s" or "{value}ms"'
    if key == "mtu" and not ETH_MIN_MTU <= value <= ETH_MAX_MTU:
        return f"mtu = {value}: an Ethernet device's MTU is {ETH_MIN_MTU} to {ETH_MAX_MTU}"
    if key in _PROBABILITIES and not 0 <= value <= 1:
        return f"{key} = {value}: a probability is 0 to 1 (1 % is 0.01)"
    if key == "name" and not value:
        return "name must not be empty"
    return ""


class _Lines:
    """Finds the line of a table or key in the file, for error messages (tomllib gives none)."""

    _HEADER = re.compile(r"^\s*\[\[?\s*([A-Za-z0-9_.\"-]+)\s*\]\]?")

    def __init__(self, text: str) -> None:
        self.lines = text.splitlines()
        self.headers: list[tuple[str, int]] = []
        for i, line in enumerate(self.lines, 1):
            m = self._HEADER.match(line)
            if m:
                self.headers.append((m.group(1), i))

    def find(self, table: str | None, index: int = 0, key: str | None = None) -> int:
        if table is None:
            start, end = 1, self.headers[0][1] if self.headers else len(self.lines) + 1
        else:
            starts = [line for name, line in self.headers if name == table]
            if index >= len(starts):
                return 1
            start = starts[index]
            # (its own sub-tables, [host.sysctl] after a [[host]], are part of it)
            later = [line for name, line in self.headers if line > start and not name.startswith(table + ".")]
            end = later[0] if later else len(self.lines) + 1
        if key is not None:
            # the key on a line of its own, or in an inline table: sysctl = {"net.ipv4..." = 1}
            pattern = re.compile(rf"(^|[{{,])\s*\"?{re.escape(key)}\"?\s*=")
            for i in range(start, end):
                if pattern.search(self.lines[i - 1]):
                    return i
        return start


# How long a run without a duration may go on for programs that never finish
RUN_LIMIT = 24 * 3600 * NSEC_PER_SEC


class Network:
    """A network built from a topology file: the world, its nodes, and what is to run on it."""

    def __init__(self, world: World) -> None:
        self.world = world
        self.nodes: dict[str, Node] = {}
        self.links: list[Link] = []
        self.runs: list[tuple[Host, list[str], int, bytes | None]] = []
        self.procs: list[Process] = []
        self.captures: list[Capture] = []
        self.duration: int | None = None
        self.hit_limit = False  # a run without a duration that programs kept going to RUN_LIMIT

    def start(self) -> None:
        """Schedule the ``[[run]]`` programs at their times."""
        for host, argv, at, stdin in self.runs:
            self.world.call_at(at, self._spawn, host, argv, stdin)

    def _spawn(self, host: Host, argv: list[str], stdin: bytes | None) -> None:
        fn = _programs()[argv[0]]
        self.procs.append(host.spawn(fn, argv[1:], name=argv[0], stdin=stdin))

    def run(self) -> None:
        """Run for ``duration``, or until every program has finished or is a server waiting for a
        client (in ``accept``) that no program is left to bring."""
        if self.duration is not None:
            self.world.run_for(self.duration)
        else:
            expected = len(self.runs)

            def done() -> bool:
                return len(self.procs) == expected and all(not p.alive or _awaits_a_client(p) for p in self.procs)

            self.world.run_until(done, timeout=RUN_LIMIT)
            self.hit_limit = not done()
        self._interrupt()

    def _interrupt(self) -> None:
        """At the end of the run, a program still running that catches SIGINT (``tcpdump``) gets
        one, as if Ctrl-C were typed at it, and its handler runs: tcpdump prints its counts and
        closes its ``-w`` file, ping and arping their statistics.  The others are left where they
        wait."""
        caught = [p for p in self.procs if p.alive and SIGINT in p.sigactions]
        for proc in caught:
            send_sig(SIGINT, proc)
        if caught:
            self.world.run_until(lambda: not any(p.alive for p in caught), timeout=NSEC_PER_SEC)

    def close(self) -> None:
        for cap in self.captures:
            cap.close()
        self.captures = []

    def output(self) -> str:
        """What the programs printed, host by host."""
        parts = []
        for host in self.world.hosts.values():
            text = host.output()
            if text:
                parts.append(f"== {host.name} ==\n{text}")
        return "".join(parts)


def _awaits_a_client(proc: Process) -> bool:
    """``proc`` sleeps in ``accept`` on one of its listening sockets, no connection waiting (what
    ``/proc/PID/wchan`` shows as ``inet_csk_accept``), or in a read of a datagram socket with no
    peer (a UDP server: ``iperf -s -u``, ``named``), nothing received, or of a packet socket with
    nothing queued (a capture: ``tcpdump`` without ``-c``)."""
    for f in proc.files.fds.values():
        sk = getattr(f.private_data, "sk", None)
        if sk is None or proc not in sk.sk_wq.waiters:
            continue
        if sk.sk_state == TCP_LISTEN and not sk.accept_queue:
            return True
        if sk.sk_type == SOCK_DGRAM and not sk.inet_dport and not sk.sk_receive_queue:
            return True
        if isinstance(sk, PacketSock) and not sk.sk_receive_queue:
            return True
    return False


def load_topology(source: str | Path, *, text: str | None = None) -> Network:
    """Build the network a TOML file describes (``text`` instead of reading ``source``, which then
    only names it in messages).  Errors are ``TopologyError("FILE:LINE: what")``."""
    from tuxnet.trace.capture import Capture

    name = str(source)
    if text is None:
        try:
            text = Path(source).read_text()
        except OSError as e:
            raise TopologyError(f"{name}: {e.strerror}") from None
        except UnicodeDecodeError as e:
            raise TopologyError(f"{name}: not a topology file: byte {e.start} is not UTF-8 text") from None
    try:
        doc = tomllib.loads(text)
    except tomllib.TOMLDecodeError as e:
        m = re.search(r"line (\d+)", str(e))
        raise TopologyError(f"{name}:{m.group(1) if m else 1}: {e}") from None
    lines = _Lines(text)

    def fail(table: str | None, index: int, key: str | None, msg: str) -> TopologyError:
        return TopologyError(f"{name}:{lines.find(table, index, key)}: {msg}")

    for key, value in doc.items():
        if key in _SCHEMA:
            if not isinstance(value, list):
                raise fail(None, 0, key, f"{key} must be an array of tables: write [[{key}]]")
            continue
        if key not in _TOP_LEVEL:
            raise fail(None, 0, key, f"unknown key or table {key!r} "
                                     f"(known: {', '.join([*_TOP_LEVEL, *_SCHEMA])})")
        if not isinstance(value, _TOP_LEVEL[key][0]) or isinstance(value, bool):
            raise fail(None, 0, key, f"{key} has the wrong type")
    tables: dict[str, list[dict[str, Any]]] = {}
    for kind, schema in _SCHEMA.items():
        entries = doc.get(kind, [])
        for i, entry in enumerate(entries):
            if not isinstance(entry, dict):
                raise fail(kind, i, None, f"[[{kind}]] entries must be tables")
            for key, value in entry.items():
                if key not in schema:
                    raise fail(kind, i, key, f"[[{kind}]]: unknown key {key!r} (known: {', '.join(schema)})")
                types = schema[key][0]
                if not isinstance(value, types) or (isinstance(value, bool) and types is not bool):
                    raise fail(kind, i, key, f"[[{kind}]]: {key} has the wrong type ({type(value).__name__})")
                problem = _value_problem(key, value)
                if problem:
                    raise fail(kind, i, key, f"[[{kind}]]: {problem}")
                if key in _UNITS:
                    try:
                        _UNITS[key](value)
                    except ValueError as err:
                        raise fail(kind, i, key, f"[[{kind}]]: {err}") from None
            for key, (_, required) in schema.items():
                if required and key not in entry:
                    raise fail(kind, i, None, f"[[{kind}]]: {key} is missing")
        tables[kind] = entries

    world = World(seed=doc.get("seed", 0))
    net = Network(world)
    if "duration" in doc:
        problem = _value_problem("duration", doc["duration"])
        if problem:
            raise fail(None, 0, "duration", problem)
        try:
            net.duration = parse_time(doc["duration"])
        except ValueError as e:
            raise fail(None, 0, "duration", str(e)) from None

    def add_node(kind: str, i: int, node_name: str, make: Callable[[], Node]) -> None:
        if node_name in net.nodes:
            raise fail(kind, i, "name", f"{node_name!r} is defined twice")
        try:
            net.nodes[node_name] = make()
        except ValueError as e:
            raise fail(kind, i, None, str(e)) from None

    for kind in ("host", "router"):
        for i, e in enumerate(tables[kind]):
            def make_host(e: dict[str, Any] = e, kind: str = kind) -> Host:
                if kind == "router":
                    return add_router(world, e["name"])
                host = world.add_host(e["name"])
                _lo_up(host)
                return host
            add_node(kind, i, e["name"], make_host)
            node = net.nodes[e["name"]]
            for key, value in e.get("sysctl", {}).items():
                try:
                    node.sysctl.set(key, value)
                except ValueError as err:
                    raise fail(kind, i, key, str(err)) from None
            install_base_files(node)
            for path, content in e.get("files", {}).items():
                if not path.startswith("/") or not isinstance(content, str):
                    raise fail(kind, i, path, f"[[{kind}]]: files: {path!r} must be an absolute path "
                                              "given the file's text")
                node.files[path] = content
    for i, e in enumerate(tables["switch"]):
        add_node("switch", i, e["name"],
                 lambda e=e: add_switch(world, e["name"], e.get("ageing", BR_DEFAULT_AGEING_TIME)))
    for i, e in enumerate(tables["hub"]):
        add_node("hub", i, e["name"], lambda e=e: add_hub(world, e["name"], e.get("rate", 10_000_000),
                                                          e.get("delay", 1_000), e.get("mtu", 1500)))
    for i, e in enumerate(tables["link"]):
        for end in ("a", "b"):
            if e[end] not in net.nodes:
                raise fail("link", i, end, f"[[link]]: unknown node {e[end]!r}")
        kwargs = {k: v for k, v in e.items() if k not in ("a", "b")}
        try:
            net.links.append(connect(net.nodes[e["a"]], net.nodes[e["b"]], **kwargs))
        except (ValueError, FileExistsError) as err:
            raise fail("link", i, None, f"[[link]] {e['a']} -- {e['b']}: {err}") from None
    for kind in ("host", "router"):
        for i, e in enumerate(tables[kind]):
            # ip commands first (a VLAN device, its address), then the routes that may go by them
            for command in e.get("ip", []):
                try:
                    if not isinstance(command, str):
                        raise ValueError(f"an ip command is a string like \"link set eth0 mtu 1400\", "
                                         f"not {command!r}")
                    ip(net.nodes[e["name"]], shlex.split(command))
                except ValueError as err:
                    raise fail(kind, i, "ip", f"ip {command!r}: {err}") from None
            for route in e.get("routes", []):
                try:
                    if not isinstance(route, str):
                        raise ValueError(f"a route is a string like \"default via 10.0.0.1\", not {route!r}")
                    ip(net.nodes[e["name"]], ["route", "add", *shlex.split(route)])
                except ValueError as err:
                    raise fail(kind, i, "routes", f"route {route!r}: {err}") from None
    programs = _programs()
    for i, e in enumerate(tables["run"]):
        host = net.nodes.get(e["host"])
        if host is None or isinstance(host, Switch | Hub):
            raise fail("run", i, "host", f"[[run]]: {e['host']!r} is not a host")
        try:
            argv = shlex.split(e["cmd"])
        except ValueError as err:
            raise fail("run", i, "cmd", f"[[run]]: cmd {e['cmd']!r}: {err}") from None
        if not argv or argv[0] not in programs:
            raise fail("run", i, "cmd", f"[[run]]: unknown program {argv[0] if argv else ''!r} "
                                        f"(known: {', '.join(programs)})")
        stdin = e.get("stdin")
        net.runs.append((host, argv, parse_time(e.get("at", 0)), None if stdin is None else stdin.encode()))
    for i, e in enumerate(tables["capture"]):
        node = net.nodes.get(e["node"])
        if node is None or isinstance(node, Hub):
            raise fail("capture", i, "node", f"[[capture]]: {e['node']!r} is not a host or switch")
        host = node.host if isinstance(node, Switch) else node
        try:
            net.captures.append(Capture(host, e.get("dev"), pcap=e["pcap"]))
        except (ValueError, OSError) as err:
            raise fail("capture", i, None, f"[[capture]]: {err}") from None
    return net


def run_topology_file(path: str, out: IO[str] = sys.stdout) -> int:
    """What ``tuxnet run TOPOLOGY.toml`` does: build, run the programs, print their output; 0 on
    success, 1 when the file is wrong (the message names the line)."""
    try:
        net = load_topology(path)
    except TopologyError as e:
        out.write(f"tuxnet: {e}\n")
        return 1
    try:
        net.start()
        net.run()
    finally:
        net.close()
    out.write(net.output())
    out.write(f"(world time {net.world.now / NSEC_PER_SEC:.3f} s, {net.world.events_run} events)\n")
    if net.hit_limit:
        out.write("(the run stopped at its 24-hour limit with programs still going: a program that runs until "
                  "interrupted, such as ping or tcpdump without -c, needs the file's `duration`)\n")
    return 0
