"""Run a packetdrill script against a tuxnet host, in virtual time.

Each script runs in a fresh ``World`` with one host: its ``tun0`` (a TUN device,
:mod:`tuxnet.drivers.net.tun`) has the local address (192.168.0.1 by default) and a route to the
remote address through a gateway, as packetdrill sets up its tun0.  The route is 192.0.2.1/32, as
packetdrill's own runner (run_all.py) and Linux's selftests (ksft_runner.sh) ask for with
``--remote_ip=192.0.2.1``: scripts change that route (``ip route change 192.0.2.1 ... advmss 600``).  The script's
peer lives on the other side of tun0: inbound packets are written to the device, outbound ones are
read from it.

The interpreter follows packetdrill's (run.c, run_packet.c, run_system_call.c):

- events run in order at their script times; relative times count from when the previous event
  finished (from the previous packet's script time for consecutive inbound packets), and each is
  checked against the time it happened within ``--tolerance_usecs`` or ``--tolerance_percent`` of
  the time since the previous event;
- system calls run in a process of the host; a blocking call (``+0...0.1 read(...)``) runs while
  later events go on, and its return time is checked when it returns;
- an outbound packet is the next packet the connection under test sent (packets of other
  connections are skipped); sequence numbers, ACKs, SACK blocks and timestamps are mapped between
  script and live values; several packets can make up one scripted packet;
- ``%{ }%`` code sees the ``tcpi_*`` fields of TCP_INFO of the socket under test at its time and
  shares one namespace with the script's other code.

A run ends at the first failure, with a message in packetdrill's style.
"""

from __future__ import annotations

import contextlib
import io
import traceback
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from tuxnet.drivers.net.tun import TunPacket, tun_get_user, tun_net_init
from tuxnet.kernel.fs import FdTable
from tuxnet.kernel.sched import TASK_DEAD, TASK_INTERRUPTIBLE, Process
from tuxnet.kernel.timekeeping import ktime_get_real
from tuxnet.net.core.utils import in_aton, in_ntoa
from tuxnet.net.ipv4.tcp_info import tcp_get_info
from tuxnet.net.ipv4.tcp_sock import TCP_STATE_NAMES, TcpSock
from tuxnet.packetdrill.ast import (
    CodeEvent,
    CommandEvent,
    Event,
    PacketEvent,
    Script,
    SyscallEvent,
)
from tuxnet.packetdrill.packets import (
    IPPROTO_TCP,
    TH_ACK,
    TH_SYN,
    Expect,
    Mismatch,
    Packet,
    PacketError,
    aggregate,
    build_packet,
    expectation,
    map_sack_blocks,
    packet_to_string,
    parse_packet,
    replace_ts,
    script_packet,
    verify_fragment,
    verify_headers,
    verify_options,
    verify_payload,
)
from tuxnet.packetdrill.parser import PacketdrillSyntaxError, parse_file, parse_script
from tuxnet.packetdrill.shell import Shell, ShellError
from tuxnet.packetdrill.syscalls import (
    Prepared,
    SyscallError,
    Syscalls,
    errno_value,
    strerror,
)
from tuxnet.world import World

USEC = 1_000  # nanoseconds per microsecond
MAX_WAIT_USECS = 120_000_000  # how long an outbound packet at "*" time may take
INBOUND_LATENCY_NSECS = 1
BLOCKING_IDLE_WAIT_USECS = 1_000_000  # packetdrill's await_idle_thread limit
FIRST_REMOTE_PORT = 48_000


class ScriptFailure(Exception):
    """The script failed; ``kind`` is ``fail`` (tuxnet did something else) or ``unsupported``."""

    def __init__(self, line: int | None, message: str, kind: str = "fail") -> None:
        super().__init__(message)
        self.line = line
        self.message = message
        self.kind = kind


@dataclass
class Config:
    """packetdrill's configuration (config.c), from the script's options and the command line."""

    tolerance_usecs: int = 4000
    tolerance_percent: float = 12.5
    tcp_ts_tick_usecs: int = 0
    tcp_ts_ecr_scaled: bool = False
    strict_segments: bool = False
    mss: int = 0
    mtu: int = 1500
    local_ip: str = "192.168.0.1"
    remote_ip: str = "192.0.2.1"
    remote_prefix: int = 32
    gateway_ip: str = "192.168.0.2"
    netmask_prefix: int = 16
    bind_port: int = 8080
    connect_port: int = 8080
    seed: int = 0

    def apply(self, name: str, value: str) -> None:
        """Apply one ``--name=value`` option; ScriptFailure for an option tuxnet cannot honour."""
        try:
            if name == "tolerance_usecs":
                self.tolerance_usecs = int(value)
            elif name == "tolerance_percent":
                self.tolerance_percent = float(value)
            elif name == "tcp_ts_tick_usecs":
                self.tcp_ts_tick_usecs = int(value)
            elif name == "tcp_ts_ecr_scaled":
                self.tcp_ts_ecr_scaled = True
            elif name == "strict_segments":
                self.strict_segments = True
            elif name == "mss":
                self.mss = int(value)
            elif name == "mtu":
                self.mtu = int(value)
            elif name == "ip_version":
                if value != "ipv4":
                    raise ScriptFailure(None, f"--ip_version={value}: tuxnet has no IPv6 (only ipv4 is "
                                              "supported)", "unsupported")
            elif name == "local_ip":
                self.local_ip = _ipv4(value, name)
            elif name == "remote_ip":
                addr, _, plen = value.partition("/")
                self.remote_ip = _ipv4(addr, name)
                self.remote_prefix = int(plen) if plen else 32
            elif name == "gateway_ip":
                self.gateway_ip = _ipv4(value, name)
            elif name == "netmask_ip":
                mask = in_aton(_ipv4(value, name))
                self.netmask_prefix = bin(mask).count("1")
            elif name == "bind_port":
                self.bind_port = int(value)
            elif name == "connect_port":
                self.connect_port = int(value)
            elif name in ("verbose", "debug", "non_fatal", "dry_run"):
                return
            else:
                raise ScriptFailure(None, f"unsupported option --{name}", "unsupported")
        except ValueError:
            raise ScriptFailure(None, f"bad value for --{name}: {value!r}") from None


def _ipv4(value: str, name: str) -> str:
    try:
        in_aton(value)
    except ValueError:
        raise ScriptFailure(None, f"--{name}={value}: only IPv4 addresses are supported",
                            "unsupported") from None
    return value


@dataclass
class RunResult:
    """The outcome of one script: ``status`` is ``pass``, ``fail``, ``unsupported`` or ``error``
    (the script does not parse).  ``message`` is packetdrill's error text, ``line`` its line."""

    path: str
    status: str
    message: str = ""
    line: int | None = None
    notes: list[str] = field(default_factory=list)
    output: str = ""
    virtual_time: float = 0.0

    @property
    def passed(self) -> bool:
        return self.status == "pass"


# -- the connection under test -------------------------------------------------------------------

SOCKET_NEW = "new"
SOCKET_LISTENING = "passive_listening"
SOCKET_PASSIVE_SYN_RECEIVED = "passive_packet_received"
SOCKET_PASSIVE_SYNACK_SENT = "passive_synack_sent"
SOCKET_PASSIVE_SYNACK_ACKED = "passive_synack_acked"
SOCKET_CONNECTING = "active_connecting"
SOCKET_SYN_SENT = "active_syn_sent"
SOCKET_SYN_ACKED = "active_syn_acked"


@dataclass
class ScriptSocket:
    """packetdrill's ``struct socket``: a connection's script and live endpoints and ISNs."""

    state: str = SOCKET_NEW
    script_fd: int = -1
    live_fd: int = -1
    live_local_port: int = 0
    live_remote_port: int = 0
    script_local_isn: int = 0
    live_local_isn: int = 0
    script_remote_isn: int = 0
    live_remote_isn: int = 0
    ts_val_map: dict[int, int] = field(default_factory=dict)
    first_script_ts_val: int | None = None
    first_actual_ts_val: int = 0

    # A script gives a SYN's sequence number as it is and every later one relative to the ISN,
    # as tcpdump prints them; packetdrill picks the live remote ISN (the script's), the kernel
    # under test the local one.

    def local_offset(self, is_syn: bool) -> int:
        """``local_seq_script_to_live_offset``."""
        return ((self.live_local_isn - self.script_local_isn) if is_syn else self.live_local_isn) & 0xFFFFFFFF

    def remote_offset(self, is_syn: bool) -> int:
        """``remote_seq_script_to_live_offset``."""
        return 0 if is_syn else self.live_remote_isn


@dataclass
class Pending:
    """A blocking system call in progress."""

    event: Event
    call: SyscallEvent
    prepared: Prepared
    proc: Process
    start_usecs: int
    end_usecs: int


class Runner:
    """One run of one script; use :func:`run_script` or :func:`run_file`."""

    def __init__(self, script: Script, config: Config, script_dir: Path) -> None:
        self.script = script
        self.config = config
        self.notes: list[str] = []
        self.output = io.StringIO()
        self.world = World(seed=config.seed)
        self.host = self.world.add_host("tuxnet")
        self.dev = tun_net_init(self.host, "tun0", config.mtu)
        self.host.dev_open("lo")
        self.host.ip_addr_add("lo", "127.0.0.1/8")
        self.host.dev_open(self.dev)
        self.host.ip_addr_add("tun0", f"{config.local_ip}/{config.netmask_prefix}")
        remote_net = in_aton(config.remote_ip) & ((0xFFFFFFFF << (32 - config.remote_prefix)) & 0xFFFFFFFF)
        self.host.ip_route_add(f"{in_ntoa(remote_net)}/{config.remote_prefix}", via=config.gateway_ip,
                               dev="tun0")
        self.local_ip = in_aton(config.local_ip)
        self.remote_ip = in_aton(config.remote_ip)
        self.captured: list[Packet] = []
        self.dev.priv.on_xmit = self.on_xmit
        self.fds = FdTable()
        self.fd_map: dict[int, int] = {}
        self.sockets: list[ScriptSocket] = []
        self.under_test: ScriptSocket | None = None
        self.next_remote_port = FIRST_REMOTE_PORT
        self.syscalls = Syscalls(self)
        self.pending: Pending | None = None
        self.namespace: dict[str, Any] = {}
        self.live_start = self.world.now
        self.last_event: Event | None = None
        self.last_event_usecs = 0
        self.event_usecs: dict[int, tuple[int, int | None]] = {}
        self.shell = Shell(self.host, self.dev, script_dir, self.notes, {"PPID": "1", "$": "1"})

    # -- time ------------------------------------------------------------------------------------
    def now_usecs(self) -> int:
        return (self.world.now - self.live_start) // USEC

    def run_until(self, usecs: int, condition: Any = None) -> None:
        """Run the world until script time ``usecs`` (or ``condition()``), checking blocking calls."""
        target = self.live_start + usecs * USEC
        if target > self.world.now:
            self.world.run(until=target, condition=condition)
        self.check_pending()

    def tolerance(self, script_usecs: int, last_usecs: int | None) -> int:
        """``verify_time``'s tolerance: the larger of the fixed one and a percentage of the
        time since the previous event."""
        tol = self.config.tolerance_usecs
        if last_usecs is not None:
            dynamic = int(self.config.tolerance_percent / 100.0 * (script_usecs - last_usecs))
            tol = max(tol, dynamic)
        return tol

    def verify_time(self, ev: Event, start: int, end: int | None, actual: int, what: str,
                    last_usecs: int | None) -> None:
        """packetdrill's ``verify_time``."""
        if ev.time_type == "any":
            return
        tol = self.tolerance(start, last_usecs)
        if ev.time_type in ("range", "relative_range"):
            assert end is not None
            if actual < start - tol or actual > end + tol:
                if ev.time_type == "range":
                    raise ScriptFailure(ev.line, f"timing error: expected {what} in time range "
                                                 f"{start / 1e6:.6f}~{end / 1e6:.6f} sec but happened at "
                                                 f"{actual / 1e6:.6f} sec")
                offset = start - ev.time_usecs
                raise ScriptFailure(ev.line, f"timing error: expected {what} in relative time range "
                                             f"+{(start - offset) / 1e6:.6f}~+{(end - offset) / 1e6:.6f} sec but "
                                             f"happened at {(actual - offset) / 1e6:+.6f} sec")
            return
        if actual < start - tol or actual > start + tol:
            raise ScriptFailure(ev.line, f"timing error: expected {what} at {start / 1e6:.6f} sec but happened "
                                         f"at {actual / 1e6:.6f} sec; tolerance {tol / 1e6:.6f} sec")

    def adjust_times(self, ev: Event) -> tuple[int, int | None]:
        """``adjust_relative_event_times``: the event's (start, end) in script microseconds."""
        start, end = ev.time_usecs, ev.time_end_usecs
        if ev.time_type in ("any", "relative", "relative_range"):
            last = self.last_event
            if last is not None and _inbound(last) and _inbound(ev):
                offset = self.event_usecs[id(last)][0]
            else:
                offset = self.now_usecs()
            start += offset
            if end is not None:
                end += offset
        return start, end

    def wait_for_event(self, ev: Event, start: int, end: int | None, what: str) -> None:
        """``wait_for_event``: run the world until the event's time, then check it is not late."""
        self.run_until(start)
        self.verify_time(ev, start, end, self.now_usecs(), what, self.last_event_usecs)

    # -- the run ---------------------------------------------------------------------------------
    def run(self) -> None:
        events = self.script.events
        if events and events[0].time_type == "absolute" and events[0].time_usecs != 0:
            raise ScriptFailure(events[0].line, "first event should be at time 0")
        try:
            if self.script.init_command is not None:
                self.command(self.script.init_command.command, self.script.init_command.line, "init command")
            self.live_start = self.world.now
            for ev in events:
                if (self.last_event is not None and _absolute(self.last_event) and _absolute(ev)
                        and ev.time_usecs < self.last_event.time_usecs):
                    raise ScriptFailure(ev.line, f"time goes backward in script from "
                                                 f"{self.last_event.time_usecs} usec to {ev.time_usecs} usec")
                start, end = self.adjust_times(ev)
                self.event_usecs[id(ev)] = (start, end)
                self.run_event(ev, start, end)
                self.last_event = ev
                self.last_event_usecs = start
            self.finish_pending()
        finally:
            if self.script.cleanup_command is not None:
                self.command(self.script.cleanup_command.command, self.script.cleanup_command.line,
                             "cleanup command")

    def run_event(self, ev: Event, start: int, end: int | None) -> None:
        action = ev.action
        if isinstance(action, PacketEvent):
            if action.direction == "<":
                self.wait_for_event(ev, start, end, "inbound packet")
                self.inbound(ev, action)
            else:
                self.outbound(ev, action, start, end)
        elif isinstance(action, SyscallEvent):
            self.syscall(ev, action, start, end)
        elif isinstance(action, CommandEvent):
            self.wait_for_event(ev, start, end, "command")
            self.command(action.command, ev.line, "command")
        elif isinstance(action, CodeEvent):
            self.wait_for_event(ev, start, end, "data collection for code")
            self.code(ev, action)

    def command(self, text: str, line: int, what: str) -> None:
        try:
            self.shell.run(text)
        except ShellError as e:
            raise ScriptFailure(line, f"error executing {what}: {e}",
                                "unsupported" if e.unsupported else "fail") from None
        self.check_pending()

    # -- system calls ----------------------------------------------------------------------------
    def live_fd(self, script_fd: int) -> int:
        if script_fd not in self.fd_map:
            raise SyscallError(f"unable to find fd with script fd {script_fd}")
        return self.fd_map[script_fd]

    def local_addr(self) -> tuple[str, int]:
        return (self.config.local_ip, self.config.bind_port)

    def script_time_check(self, real_ns: int, script_usecs: int, what: str) -> None:
        """``scm_timestamping_expect_eq``: a time the kernel gave (its wall clock) must be the
        script's ``script_usecs`` within ``--tolerance_usecs``."""
        wall_start = ktime_get_real(self.world) - (self.world.now - self.live_start)
        actual = (real_ns - wall_start) // USEC
        if abs(actual - script_usecs) > self.config.tolerance_usecs:
            raise SyscallError(f"Bad {what}: expected {script_usecs / 1e6:.6f} sec but it is "
                               f"{actual / 1e6:.6f} sec; tolerance {self.config.tolerance_usecs / 1e6:.6f} sec")

    def remote_addr(self) -> tuple[str, int]:
        return (self.config.remote_ip, self.config.connect_port)

    def socket_by_fd(self, script_fd: int) -> ScriptSocket | None:
        for s in self.sockets:
            if s.script_fd == script_fd:
                return s
        return None

    def on_socket(self, script_fd: int, live_fd: int) -> None:
        """``run_syscall_socket``: a new socket becomes the socket under test."""
        s = ScriptSocket(script_fd=script_fd, live_fd=live_fd)
        self.sockets.append(s)
        self.under_test = s

    def on_listen(self, script_fd: int) -> None:
        s = self.socket_by_fd(script_fd)
        if s is None:
            raise SyscallError(f"unable to find socket with script fd {script_fd}")
        s.state = SOCKET_LISTENING

    def on_accept(self, script_fd: int, live_fd: int) -> None:
        """``run_syscall_accept``: the accepted socket is the child that completed a handshake."""
        for s in self.sockets:
            # (not yet accepted: -1; a closed one is -2)
            if s.state in (SOCKET_PASSIVE_SYNACK_SENT, SOCKET_PASSIVE_SYNACK_ACKED) and s.script_fd == -1:
                s.script_fd, s.live_fd = script_fd, live_fd
                return
        raise SyscallError("unable to find socket matching accept() call")

    def on_connect(self, script_fd: int, unspec: bool) -> None:
        """``run_syscall_connect``."""
        s = self.socket_by_fd(script_fd)
        if s is None:
            raise SyscallError(f"unable to find socket with script fd {script_fd}")
        if unspec:
            s.state = SOCKET_NEW
        elif s.state == SOCKET_NEW:
            s.state = SOCKET_CONNECTING
            s.live_remote_port = self.config.connect_port

    def on_close(self, script_fd: int) -> None:
        self.fd_map.pop(script_fd, None)
        s = self.socket_by_fd(script_fd)
        if s is not None:
            s.script_fd = -2

    def on_new_fd(self, script_fd: int, live_fd: int) -> None:
        if script_fd in self.fd_map:
            raise SyscallError(f"duplicate fd {script_fd} in script")
        self.fd_map[script_fd] = live_fd

    def spawn(self, fn: Any) -> Process:
        """A thread of the test program: a process sharing the script's descriptor table."""
        box: dict[str, Any] = {}

        def thread() -> None:
            me = proc
            try:
                box["raw"] = fn()
            finally:
                box["done"] = self.world.now
                me.files = FdTable()

        proc = self.host.spawn(thread, name="packetdrill")
        proc.files = self.fds
        proc.result_box = box  # type: ignore[attr-defined]
        return proc

    def syscall(self, ev: Event, call: SyscallEvent, start: int, end: int | None) -> None:
        blocking = call.end_usecs is not None
        if self.pending is not None:
            self.await_idle(ev, blocking)
        self.wait_for_event(ev, start, end, "system call start")
        try:
            prepared = self.syscalls.prepare(call)
        except SyscallError as e:
            raise ScriptFailure(ev.line, f"runtime error in {call.name} call: {e}",
                                "unsupported" if e.unsupported else "fail") from None
        proc = self.spawn(prepared.invoke)
        if blocking:
            assert call.end_usecs is not None
            end_usecs = call.end_usecs + (start - ev.time_usecs if ev.time_type == "relative" else 0)
            self.pending = Pending(ev, call, prepared, proc, start, end_usecs)
            self.world.run(until=self.world.now,
                           condition=lambda: proc.state in (TASK_DEAD, TASK_INTERRUPTIBLE))
            self.check_pending()
            return
        self.world.run(condition=lambda: proc.state == TASK_DEAD)
        if proc.state != TASK_DEAD:
            raise ScriptFailure(ev.line, f"{call.name} call blocked and never returned; a call that is "
                                         "expected to block is written '+T...END name(...)'")
        self.check_pending()
        self.end_syscall(ev, call, prepared, proc.result_box.get("raw"))  # type: ignore[attr-defined]

    def end_syscall(self, ev: Event, call: SyscallEvent, prepared: Prepared, raw: Any) -> None:
        """``end_syscall``: the result, then the errno, then what the call wrote back."""
        try:
            actual, actual_errno, check = prepared.finish(raw)
            expected = self.expected_result(call)
            if prepared.new_fd is not None and expected >= 0:
                if actual < 0:
                    raise SyscallError(f"Expected non-negative result but got {actual} with errno "
                                       f"{actual_errno} ({strerror(actual_errno)})")
                self.on_new_fd(expected, actual)
                if prepared.new_fd == "socket":
                    self.on_socket(expected, actual)
                elif prepared.new_fd == "accept":
                    self.on_accept(expected, actual)
            elif actual != expected:
                raise SyscallError(f"Expected result {expected} but got {actual} with errno {actual_errno} "
                                   f"({strerror(actual_errno)})")
            if call.errno_name is not None:
                want = errno_value(call.errno_name)
                if actual_errno != want:
                    raise SyscallError(f"Expected errno {want} ({strerror(want)}) but got {actual_errno} "
                                       f"({strerror(actual_errno)})")
            if check is not None:
                check()
        except SyscallError as e:
            raise ScriptFailure(ev.line, f"runtime error in {call.name} call: {e}",
                                "unsupported" if e.unsupported else "fail") from None

    def expected_result(self, call: SyscallEvent) -> int:
        from tuxnet.packetdrill.syscalls import int_value

        return int_value(call.result, "the result")

    def check_pending(self) -> None:
        """A blocking call that returned: check its result and return time."""
        p = self.pending
        if p is None or p.proc.state != TASK_DEAD:
            return
        self.pending = None
        done = (p.proc.result_box["done"] - self.live_start) // USEC  # type: ignore[attr-defined]
        self.end_syscall(p.event, p.call, p.prepared, p.proc.result_box.get("raw"))  # type: ignore[attr-defined]
        fake = Event(p.event.line, "absolute" if p.event.time_type != "relative" else "relative",
                     p.end_usecs, None, p.call)
        self.verify_time(fake, p.end_usecs, None, done, "system call return", p.start_usecs)

    def await_idle(self, ev: Event, blocking: bool) -> None:
        """``await_idle_thread``: wait (up to a second) for the blocking call to return."""
        p = self.pending
        assert p is not None
        limit = self.world.now + BLOCKING_IDLE_WAIT_USECS * USEC
        self.world.run(until=limit, condition=lambda: p.proc.state == TASK_DEAD)
        self.check_pending()
        if self.pending is not None and blocking:
            raise ScriptFailure(ev.line, f"runtime error in {p.call.name} call: blocking system call while "
                                         "another blocking system call is already in progress")

    def finish_pending(self) -> None:
        p = self.pending
        if p is None:
            return
        self.world.run(until=self.world.now + BLOCKING_IDLE_WAIT_USECS * USEC,
                       condition=lambda: p.proc.state == TASK_DEAD)
        self.check_pending()
        if self.pending is not None:
            raise ScriptFailure(p.event.line, "runtime error: exiting while a blocking system call is in progress")

    # -- packets ---------------------------------------------------------------------------------
    def on_xmit(self, pkt: TunPacket) -> None:
        try:
            self.captured.append(parse_packet(pkt.data, pkt.time, pkt.gso_size))
        except PacketError as e:
            self.notes.append(f"unparsable outbound packet at {pkt.time / 1e9:.6f}: {e}")

    def new_child(self, pkt: PacketEvent) -> ScriptSocket:
        """``handle_listen_for_script_packet``: an inbound SYN for a listener makes a child."""
        s = ScriptSocket(state=SOCKET_PASSIVE_SYN_RECEIVED, live_local_port=self.config.bind_port,
                         live_remote_port=self.next_remote_port)
        self.next_remote_port += 1
        s.script_remote_isn = s.live_remote_isn = pkt.seq_start or 0
        self.sockets.append(s)
        self.under_test = s
        return s

    def socket_for(self, pkt: PacketEvent) -> ScriptSocket:
        """``find_or_create_socket_for_script_packet``."""
        s = self.under_test
        if pkt.protocol == "tcp":
            flags = pkt.flags or ""
            if pkt.direction == "<" and "S" in flags and "." not in flags and (
                    s is None or s.state == SOCKET_LISTENING):
                return self.new_child(pkt)
            if pkt.direction == ">" and "S" in flags and "." not in flags and s is not None \
                    and s.state == SOCKET_CONNECTING:
                s.state = SOCKET_SYN_SENT
                s.script_local_isn = pkt.seq_start or 0
                return s
        if s is None:
            raise ScriptFailure(None, "no matching socket for script packet")
        return s

    def inbound(self, ev: Event, pkt: PacketEvent) -> None:
        """``do_inbound_script_packet``: map the script's packet to live values and write it to tun0."""
        if pkt.protocol != "tcp":
            raise ScriptFailure(ev.line, f"inbound {pkt.protocol} packets are not supported", "unsupported")
        if pkt.encapsulation:
            raise ScriptFailure(ev.line, "encapsulated packets are not supported", "unsupported")
        try:
            s = self.socket_for(pkt)
        except ScriptFailure as e:
            raise ScriptFailure(ev.line, f"error handling packet: {e.message}") from None
        flags = pkt.flags or ""
        if s.state == SOCKET_PASSIVE_SYNACK_SENT and "." in flags:
            s.state = SOCKET_PASSIVE_SYNACK_ACKED
        elif s.state == SOCKET_SYN_SENT and "S" in flags and "." in flags:
            s.state = SOCKET_SYN_ACKED
            s.script_remote_isn = s.live_remote_isn = pkt.seq_start or 0
        sport = pkt.src_port or s.live_remote_port
        dport = pkt.dst_port or s.live_local_port or self.config.bind_port
        live = script_packet(pkt, self.remote_ip, self.local_ip, sport, dport)
        is_syn = bool(live.flags & TH_SYN)
        live.seq = (live.seq + s.remote_offset(is_syn)) & 0xFFFFFFFF
        ack_offset = s.local_offset(is_syn)
        if live.flags & TH_ACK:
            live.ack = (live.ack + ack_offset) & 0xFFFFFFFF
        live.options = map_sack_blocks(live.options, ack_offset)
        ts = live.ts()
        if ts is not None and live.flags & TH_ACK:
            live_ecr = s.ts_val_map.get(ts[1])
            if live_ecr is None and self.config.tcp_ts_ecr_scaled and s.first_script_ts_val is not None:
                live_ecr = ts[1] - s.first_script_ts_val + s.first_actual_ts_val
            if live_ecr is None:
                raise ScriptFailure(ev.line, f"error handling packet: unable to infer live TS ecr for script "
                                             f"TS ecr {ts[1]};  no matching or preceding outbound TS val")
            live.options = replace_ts(live.options, None, live_ecr)
        # packetdrill writes the packet a little after its script time; one nanosecond stands for
        # that, so that a packet scripted at the very time of an earlier event still reaches TCP
        # after it (as "+.001" after a send is a little more than 1 ms after it).
        self.world.run(until=self.world.now + INBOUND_LATENCY_NSECS)
        tun_get_user(self.dev, build_packet(live), self.config.mss)
        self.check_pending()

    def is_outbound_for(self, s: ScriptSocket, p: Packet) -> bool:
        if p.src != self.local_ip or p.dst != self.remote_ip:
            return False
        if p.protocol != IPPROTO_TCP:
            return True
        if s.state == SOCKET_SYN_SENT and p.flags & TH_SYN and not p.flags & TH_ACK \
                and p.dport == s.live_remote_port and (s.live_local_port == 0 or p.sport == s.live_local_port):
            if s.live_local_port == 0:
                s.live_local_port = p.sport
                s.live_local_isn = p.seq
            return True
        return p.sport == s.live_local_port and p.dport == s.live_remote_port

    def sniff(self, s: ScriptSocket, deadline_usecs: int) -> Packet | None:
        """``sniff_outbound_live_packet``: the next packet of the connection under test, waiting
        for it up to ``deadline_usecs`` (None when it does not come)."""
        while True:
            while self.captured:
                p = self.captured.pop(0)
                if self.is_outbound_for(s, p):
                    return p
            if self.now_usecs() >= deadline_usecs or not self.world._queue:
                return None
            self.run_until(deadline_usecs, condition=lambda: bool(self.captured))

    def outbound(self, ev: Event, pkt: PacketEvent, start: int, end: int | None) -> None:
        """``do_outbound_script_packet``: read packets until one (or an aggregate) matches."""
        try:
            s = self.socket_for(pkt)
        except ScriptFailure as e:
            raise ScriptFailure(ev.line, f"error handling packet: {e.message}") from None
        flags = pkt.flags or ""
        synack = s.state == SOCKET_PASSIVE_SYN_RECEIVED and "S" in flags and "." in flags
        if synack:
            s.script_local_isn = pkt.seq_start or 0
        if ev.time_type == "any":
            deadline = self.now_usecs() + MAX_WAIT_USECS
        else:
            deadline = (end if end is not None else start) + self.tolerance(start, self.last_event_usecs)
        expected_len = pkt.payload_len or 0
        frags: list[Packet] = []
        sniffed = 0
        while True:
            live = self.sniff(s, deadline)
            if live is None:
                break
            if synack and not frags:
                s.state = SOCKET_PASSIVE_SYNACK_SENT
                s.live_local_isn = live.seq
            actual = self.to_script_space(s, live)
            if frags:
                try:
                    verify_fragment(actual, frags[-1], sniffed, expected_len)
                except Mismatch as e:
                    raise self.packet_failure(ev, pkt, start, str(e), actual) from None
            frags.append(actual)
            sniffed += actual.payload_len
            if sniffed >= expected_len or self.config.strict_segments:
                break
        if not frags:
            when = "at " + f"{start / 1e6:.6f}" if ev.time_type != "any" else "at any time"
            raise ScriptFailure(ev.line, f"error handling packet: timing error: expected outbound packet {when} "
                                         f"sec but no packet was sent by {self.now_usecs() / 1e6:.6f} sec\n"
                                         f"script packet: {start / 1e6:9.6f} {self.script_string(pkt)}")
        actual = frags[0] if len(frags) == 1 else aggregate(frags)
        if sniffed != expected_len:
            raise self.packet_failure(ev, pkt, start, f"live packet payload: expected {expected_len} bytes vs "
                                                      f"actual {sniffed} bytes", actual)
        self.verify_outbound(ev, pkt, s, start, end, actual)

    def to_script_space(self, s: ScriptSocket, live: Packet) -> Packet:
        """``tcp_convert_seq_number`` and ``map_outbound_live_packet``."""
        p = Packet(**{**live.__dict__})
        p.src, p.dst = self.local_ip, self.remote_ip
        if p.protocol != IPPROTO_TCP:
            return p
        is_syn = bool(live.flags & TH_SYN)
        p.seq = (live.seq - s.local_offset(is_syn)) & 0xFFFFFFFF
        if p.flags & TH_ACK:
            p.ack = (live.ack - s.remote_offset(is_syn)) & 0xFFFFFFFF
        p.options = map_sack_blocks(live.options, -s.remote_offset(is_syn))
        return p

    def verify_outbound(self, ev: Event, pkt: PacketEvent, s: ScriptSocket, start: int, end: int | None,
                        actual: Packet) -> None:
        script = script_packet(pkt, self.local_ip, self.remote_ip, actual.sport, actual.dport)
        exp = expectation(pkt, script)
        sts, ats = script.ts(), actual.ts()
        if sts is not None and ats is not None:
            s.ts_val_map[sts[0]] = ats[0]
            if s.first_script_ts_val is None:
                s.first_script_ts_val, s.first_actual_ts_val = sts[0], ats[0]
            mapped = s.first_script_ts_val + ((ats[0] - s.first_actual_ts_val) & 0xFFFFFFFF)
            actual = actual.with_options(replace_ts(actual.options, mapped, None))
        try:
            verify_headers(exp, actual)
            if script.protocol == IPPROTO_TCP:
                verify_options(exp, actual, self.config.tcp_ts_tick_usecs, self.config.tolerance_usecs)
            verify_payload(exp, actual)
            self.verify_time(ev, start, end, (actual.time - self.live_start) // USEC, "outbound packet",
                             self.last_event_usecs)
        except Mismatch as e:
            raise self.packet_failure(ev, pkt, start, str(e), actual, exp) from None
        except ScriptFailure as e:
            raise self.packet_failure(ev, pkt, start, e.message, actual, exp) from None

    def script_string(self, pkt: PacketEvent) -> str:
        p = script_packet(pkt, self.local_ip, self.remote_ip, 0, 0)
        return packet_to_string(p, win=pkt.win is not None, options=pkt.options is not None) + (
            "" if pkt.options is not None else " <...>")

    def packet_failure(self, ev: Event, pkt: PacketEvent, start: int, message: str, actual: Packet,
                       exp: Expect | None = None) -> ScriptFailure:
        when = (actual.time - self.live_start) / 1e9
        return ScriptFailure(ev.line, f"error handling packet: {message}\n"
                                      f"script packet: {start / 1e6:9.6f} {self.script_string(pkt)}\n"
                                      f"actual packet: {when:9.6f} {packet_to_string(actual)}")

    # -- code ------------------------------------------------------------------------------------
    def code(self, ev: Event, code: CodeEvent) -> None:
        """Run a ``%{ }%`` snippet with the TCP_INFO of the socket under test."""
        s = self.under_test
        sk = None
        if s is not None and s.live_fd >= 0:
            f = self.fds.get(s.live_fd)
            if f is not None and getattr(f.private_data, "sk", None) is not None:
                sk = f.private_data.sk
        if not isinstance(sk, TcpSock):
            raise ScriptFailure(ev.line, "error in Python code: no TCP socket under test for TCP_INFO")
        ns = self.namespace
        for state, name in TCP_STATE_NAMES.items():
            ns["TCP_" + name] = state
        ns.update({"TCP_CA_Open": 0, "TCP_CA_Disorder": 1, "TCP_CA_CWR": 2, "TCP_CA_Recovery": 3,
                   "TCP_CA_Loss": 4, "TCPI_OPT_TIMESTAMPS": 1, "TCPI_OPT_SACK": 2, "TCPI_OPT_WSCALE": 4,
                   "TCPI_OPT_ECN": 8, "TCPI_OPT_SYN_DATA": 32})
        ns.update(tcp_get_info(sk).as_dict())
        out = io.StringIO()
        try:
            with contextlib.redirect_stdout(out):
                # packetdrill writes a newline after the script's code (a last line may end in "\").
                exec(compile(code.code + "\n", f"{self.script.filename}:{ev.line}", "exec"), ns)  # noqa: S102
        except Exception:  # noqa: BLE001 - the script's own Python code failed
            self.output.write(out.getvalue())
            tb = traceback.format_exc(limit=-1)
            raise ScriptFailure(ev.line, f"error in Python code\n{tb.rstrip()}") from None
        self.output.write(out.getvalue())


def _inbound(ev: Event) -> bool:
    return isinstance(ev.action, PacketEvent) and ev.action.direction == "<"


def _absolute(ev: Event) -> bool:
    return ev.time_type in ("absolute", "range")


def run_script(script: Script, config: Config | None = None, script_dir: str | Path = ".",
               options: dict[str, str] | None = None) -> RunResult:
    """Run a parsed script; ``options`` (``--name=value`` of the command line) override the
    script's own."""
    cfg = config if config is not None else Config()
    result = RunResult(script.filename, "pass")
    try:
        for name, value in {**script.options, **(options or {})}.items():
            cfg.apply(name, value)
        runner = Runner(script, cfg, Path(script_dir))
    except ScriptFailure as e:
        result.status, result.message = e.kind, f"{script.filename}: {e.message}"
        return result
    try:
        runner.run()
    except ScriptFailure as e:
        result.status, result.line = e.kind, e.line
        where = f"{script.filename}:{e.line}" if e.line is not None else script.filename
        result.message = f"{where}: {e.message}"
    result.notes = runner.notes
    result.output = runner.output.getvalue()
    result.virtual_time = runner.world.now / 1e9
    return result


def run_file(path: str | Path, options: dict[str, str] | None = None, config: Config | None = None) -> RunResult:
    """Parse and run the script at ``path``, in a fresh world."""
    p = Path(path)
    try:
        script = parse_file(p)
    except PacketdrillSyntaxError as e:
        return RunResult(str(p), "error", str(e), e.line)
    except OSError as e:
        return RunResult(str(p), "error", f"{p}: {e.strerror}")
    except UnicodeDecodeError as e:
        return RunResult(str(p), "error", f"{p}: not a script: byte {e.start} is not UTF-8 text")
    return run_script(script, config, p.parent, options)


def run_text(text: str, filename: str = "<script>", options: dict[str, str] | None = None,
             script_dir: str | Path = ".") -> RunResult:
    """Parse and run a script given as text."""
    try:
        script = parse_script(text, filename)
    except PacketdrillSyntaxError as e:
        return RunResult(filename, "error", str(e), e.line)
    return run_script(script, None, script_dir, options)
