"""A host: one network namespace with its own kernel state, devices and processes.

This holds what Linux keeps per ``struct net`` (devices, FIB, neighbour and socket tables, sysctls,
SNMP counters) together with the per-CPU softirq state (``softnet_data``) and the process table.
"""

from __future__ import annotations

import sys
from collections import deque
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, TextIO

from tuxnet.kernel.sched import Process
from tuxnet.kernel.sysctl import Sysctl
from tuxnet.net.core.dev import (
    ETH_P_ALL,
    IFF_UP,
    MAX_SOFTIRQ_RESTART,
    NetDevice,
    PacketType,
    net_rx_action,
    qdisc_run,
)
from tuxnet.net.core.snmp import Mibs
from tuxnet.net.ipv4.devinet import devinet_sysctl_register, inet_addr_add, inetdev_event_down, inetdev_event_up
from tuxnet.net.ipv4.fib import ip_route_add
from tuxnet.world import Timer

if TYPE_CHECKING:
    from tuxnet.world import World


class Host:
    """A simulated machine.  Create with ``World.add_host(name)``."""

    def __init__(self, world: World, name: str, *, echo: bool | TextIO = False,
                 fail_on_crash: bool = True) -> None:
        self.world = world
        self.name = name
        self.rng = world.host_rng(name)
        self.sysctl = Sysctl()
        # /sys/module/NAME/parameters: a module's parameters, made when the module first reads them
        self.module_params: dict[str, dict[str, int]] = {}
        self.mib = Mibs()
        self.world_fail_on_crash = fail_on_crash
        # devices
        self.devices: dict[str, NetDevice] = {}
        self.dev_by_index: dict[int, NetDevice] = {}
        self._next_ifindex = 1
        self.qdisc_autohandle = 0  # the last handle tc gave a qdisc (qdisc_alloc_handle)
        # the device layer (softnet_data and the protocol handler lists)
        self.ptype_base: dict[int, list[PacketType]] = {}
        self.ptype_all: list[PacketType] = []
        self.fanout_list: dict[int, Any] = {}  # packet sockets' fanout groups by id (af_packet.py)
        self.input_pkt_queue: deque[Any] = deque()
        self.poll_list: deque[Any] = deque()
        self.netdev_max_backlog = self.sysctl["net.core.netdev_max_backlog"]
        self.netdev_budget = self.sysctl["net.core.netdev_budget"]
        self.softnet_dropped = 0
        # sockets that want received packets stamped (netstamp_needed_key): while there is one, the
        # device layer stamps each packet with the wall clock as it takes it in (net_timestamp_check)
        self.netstamp_needed = 0
        self.bh_disable_count = 0
        self.net_rx_pending = False
        self.output_queue: list[NetDevice] = []
        self._ksoftirqd_queued = False
        self.nf_hooks: list[list[tuple[int, Callable[..., int]]]] = [[] for _ in range(5)]
        # processes
        self.processes: dict[int, Process] = {}
        self._next_pid = 1
        self.last_ino = 0  # get_next_ino: the last inode number given (sockfs's sockets)
        self.last_cookie = 0  # sock_cookie: the last socket cookie given (sock_gen_cookie)
        self.ra_chain: list[Any] = []  # the raw sockets with IP_ROUTER_ALERT, newest first (ip_ra_chain)
        # the namespace's cookie (preinit_net: gen_cookie_next of a counter all namespaces share)
        self.net_cookie = len(world.hosts) + 1
        self.console: list[str] = []
        self.files: dict[str, str | bytes] = {}  # the file system user programs see: path -> contents
        self._echo: TextIO | None = sys.stdout if echo is True else (echo or None)
        # the protocol families: IPv4 and its protocols, packet sockets, the loopback device
        from tuxnet.drivers.net.loopback import loopback_net_init
        from tuxnet.net.ipv4.af_inet import inet_init
        from tuxnet.net.packet import af_packet  # noqa: F401  (AF_PACKET's sock_register)

        loopback_net_init(self)
        inet_init(self)

    def __repr__(self) -> str:
        return f"<Host {self.name}>"

    # -- devices -----------------------------------------------------------------------------------
    def register_netdevice(self, dev: NetDevice) -> NetDevice:
        """``register_netdevice``: give the device an ifindex in this namespace, and its IPv4
        settings (``inetdev_init``, on NETDEV_REGISTER)."""
        if dev.name in self.devices:
            raise ValueError(f"{self.name}: device {dev.name!r} exists already")
        dev.ifindex = self._next_ifindex
        self._next_ifindex += 1
        dev.nd_net = self
        self.devices[dev.name] = dev
        self.dev_by_index[dev.ifindex] = dev
        devinet_sysctl_register(self, dev)
        return dev

    def unregister_netdevice(self, dev: NetDevice) -> None:
        """``unregister_netdevice``: the device goes down and goes, with its addresses, routes,
        neighbours and net.ipv4.conf/neigh entries (``inetdev_destroy``)."""
        from tuxnet.net.ipv4.devinet import inet_addr_del

        self.dev_close(dev)
        in_dev = dev.ip_ptr
        while in_dev is not None and in_dev.ifa_list:
            ifa = in_dev.ifa_list[-1]
            inet_addr_del(self, dev, ifa.local, ifa.prefixlen)
        for prefix in (f"net.ipv4.conf.{dev.name}.", f"net.ipv4.neigh.{dev.name}."):
            self.sysctl.remove_prefix(prefix)
        del self.devices[dev.name]
        del self.dev_by_index[dev.ifindex]
        dev.nd_net = None

    def dev(self, name: str) -> NetDevice:
        try:
            return self.devices[name]
        except KeyError:
            raise ValueError(f'{self.name}: Cannot find device "{name}"') from None

    def dev_open(self, dev: NetDevice | str) -> None:
        """``ip link set DEV up`` (``dev_open``)."""
        d = self.dev(dev) if isinstance(dev, str) else dev
        if d.flags & IFF_UP:
            return
        if d.netdev_ops.ndo_open is not None:
            d.netdev_ops.ndo_open(d)
        d.flags |= IFF_UP
        inetdev_event_up(self, d)

    def dev_close(self, dev: NetDevice | str) -> None:
        """``ip link set DEV down`` (``dev_close``)."""
        d = self.dev(dev) if isinstance(dev, str) else dev
        if not d.flags & IFF_UP:
            return
        for upper in (d.vlan_info or {}).values():  # vlan_device_event: its VLANs go down with it
            self.dev_close(upper)
        if d.netdev_ops.ndo_stop is not None:
            d.netdev_ops.ndo_stop(d)
        d.flags &= ~IFF_UP
        if d.qdisc is not None:
            d.qdisc.reset()  # dev_deactivate: what waited to be sent is dropped
        inetdev_event_down(self, d)

    def dev_add_pack(self, pt: PacketType) -> None:
        """``dev_add_pack``: register a protocol handler (``ETH_P_ALL`` makes a tap), first in
        its list as ``list_add_rcu`` puts it: a packet socket hears a frame before the protocol
        that takes it."""
        if pt.type == ETH_P_ALL:
            (pt.dev.ptype_all if pt.dev is not None else self.ptype_all).insert(0, pt)
        else:
            self.ptype_base.setdefault(pt.type, []).insert(0, pt)

    def dev_remove_pack(self, pt: PacketType) -> None:
        if pt.type == ETH_P_ALL:
            (pt.dev.ptype_all if pt.dev is not None else self.ptype_all).remove(pt)
        else:
            self.ptype_base[pt.type].remove(pt)

    # -- addresses and routes (the ``ip`` command's verbs) ---------------------------------------
    def ip_addr_add(self, dev: str, cidr: str) -> None:
        """``ip addr add A/P dev DEV``."""
        inet_addr_add(self, self.dev(dev), cidr)

    def ip_route_add(self, dst: str, via: str | None = None, dev: str | None = None,
                     metric: int = 0, src: str | None = None, **metrics: int) -> None:
        """``ip route add DST [via GW] [dev DEV] [metric M] [src S]`` with metrics as keywords:
        ``mtu``, ``mtu_lock``, ``advmss``, ``initcwnd``, ``initrwnd``."""
        ip_route_add(self, dst, via=via, dev=dev, metric=metric, src=src, **metrics)

    # -- softirqs (kernel/softirq.c) -----------------------------------------------------------
    def raise_net_rx(self) -> None:
        """``raise_softirq(NET_RX_SOFTIRQ)``; runs at once unless bottom halves are disabled."""
        self.net_rx_pending = True
        if self.bh_disable_count == 0:
            self.do_softirq()

    def netif_schedule(self, dev: NetDevice) -> None:
        """``__netif_schedule``: run the device's qdisc from NET_TX."""
        if dev not in self.output_queue:
            self.output_queue.append(dev)
        if self.bh_disable_count == 0:
            self.do_softirq()

    def local_bh_enable(self) -> None:
        self.bh_disable_count -= 1
        if self.bh_disable_count == 0 and (self.net_rx_pending or self.output_queue):
            self.do_softirq()

    def do_softirq(self) -> None:
        """``__do_softirq``: NET_TX and NET_RX, restarting a bounded number of times."""
        self.bh_disable_count += 1
        try:
            for _ in range(MAX_SOFTIRQ_RESTART):
                if self.output_queue:
                    devs, self.output_queue = self.output_queue, []
                    for dev in devs:
                        if dev.qdisc is not None:
                            qdisc_run(dev.qdisc)
                if not self.net_rx_pending:
                    if not self.output_queue:
                        break
                    continue
                self.net_rx_pending = False
                net_rx_action(self)
        finally:
            self.bh_disable_count -= 1
        if (self.net_rx_pending or self.output_queue) and not self._ksoftirqd_queued:
            self._ksoftirqd_queued = True
            self.world.call_soon(self._ksoftirqd)

    def _ksoftirqd(self) -> None:
        self._ksoftirqd_queued = False
        if self.bh_disable_count == 0:
            self.do_softirq()

    def timer(self, function: Callable[[Any], None], arg: Any = None) -> Timer:
        """A timer whose handler runs in softirq context (TIMER_SOFTIRQ), as kernel timers do."""
        return self.world.timer(self._run_timer, (function, arg))

    def _run_timer(self, fa: tuple[Callable[[Any], None], Any]) -> None:
        self.bh_disable_count += 1
        try:
            fa[0](fa[1])
        finally:
            self.local_bh_enable()

    # -- processes -----------------------------------------------------------------------------
    def spawn(self, fn: Callable[..., Any], *args: Any, name: str | None = None, fds: list[int] | None = None,
              stdin: bytes | None = None, **kwargs: Any) -> Process:
        """Start a user program ``fn(*args, **kwargs)`` as a new process.  ``fds`` are descriptors of
        the calling process that the new one inherits at the same numbers, as after ``fork``;
        ``stdin`` what its standard input holds (a pipe a shell filled: ``echo ... | prog``;
        without it, reading it finds its end at once)."""
        pid = self._next_pid
        self._next_pid += 1
        proc = Process(self, pid, name or getattr(fn, "__name__", "proc"), fn, args, kwargs)
        self.processes[pid] = proc
        if stdin is not None:
            from tuxnet.kernel.fs import stdin_pipe

            proc.files.fds[0] = stdin_pipe(stdin)
        if fds:
            from tuxnet.kernel.sched import current

            proc.files.inherit(current().files, fds)
        proc.start()
        return proc

    def process_exited(self, proc: Process) -> None:
        self.processes.pop(proc.pid, None)

    def console_write(self, proc: Process | None, text: str) -> None:
        """Output from a program (its stdout), kept per host and echoed when asked."""
        self.console.append(text)
        if self._echo is not None:
            self._echo.write(text)
            self._echo.flush()

    def output(self) -> str:
        return "".join(self.console)
