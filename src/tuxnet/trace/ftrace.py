"""A function-graph tracer for the simulated kernels, in the style of ftrace's ``function_graph``.

It records every call of a kernel function: a module-level function of ``tuxnet.kernel``,
``tuxnet.net`` or ``tuxnet.drivers`` that is not marked ``@notrace`` (as Linux marks helpers that
ftrace must not see).  Nothing is installed until ``start()``: with tracing off the stack runs
with no hook at all.  Greenlet switches (one process sleeping, the loop or another process
running) are shown as ftrace shows context switches.

Lines carry the virtual time, the host, and the task (``hello-2``, or ``<idle>-0`` for timers and
softirqs run from the event loop)::

      0.000000 | menuos |  hello-2      |  sys_socketcall() {
      0.000000 | menuos |  hello-2      |    sys_connect() {
"""

from __future__ import annotations

import json
import os
import sys
from collections.abc import Callable, Iterable
from typing import IO, Any

import greenlet

import tuxnet
from tuxnet.kernel.compiler import NOTRACE
from tuxnet.kernel.sched import _current_stack

_PKG = os.path.dirname(os.path.abspath(tuxnet.__file__))
_KERNEL_DIRS = tuple(os.path.join(_PKG, d) + os.sep for d in ("kernel", "net", "drivers"))


class _Frame:
    __slots__ = ("name", "printed", "host", "start")

    def __init__(self, name: str, host: str, start: int) -> None:
        self.name = name
        self.printed = False
        self.host = host
        self.start = start


class FunctionTracer:
    """Trace kernel function calls of a world; ``names`` limits the trace to those functions."""

    def __init__(self, world: Any, out: IO[str] | None = None, names: Iterable[str] | None = None,
                 hosts: Iterable[str] | None = None) -> None:
        self.world = world
        self.out = out
        self.names = set(names) if names is not None else None
        self.hosts = set(hosts) if hosts is not None else None
        self.lines: list[str] = []
        self.events: list[dict[str, Any]] = []
        self._stacks: dict[int, list[_Frame]] = {}
        self._codes: dict[Any, bool] = {}
        self._task = "<idle>-0"
        self._old_profile: Callable[..., Any] | None = None
        self._old_gtrace: Any = None
        self.calls = 0

    # -- control ---------------------------------------------------------------------------------
    def start(self) -> FunctionTracer:
        self._task = self._task_name()
        self._old_profile = sys.getprofile()
        sys.setprofile(self._profile)
        self._old_gtrace = greenlet.settrace(self._switch)
        self.emit_header()
        return self

    def stop(self) -> None:
        sys.setprofile(self._old_profile)
        greenlet.settrace(self._old_gtrace)
        for g in list(self._stacks):
            for fr in self._stacks[g]:
                fr.printed = True
        self._stacks.clear()

    def __enter__(self) -> FunctionTracer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    # -- output ----------------------------------------------------------------------------------
    def emit_header(self) -> None:
        self._write("# tracer: function_graph\n#\n#     TIME     |  HOST   |  TASK-PID     |  FUNCTION CALLS\n"
                    "#      |       |    |     |    |    |     |   |   |   |\n")

    def _write(self, text: str) -> None:
        self.lines.append(text)
        if self.out is not None:
            self.out.write(text)

    def _line(self, host: str, depth: int, text: str) -> None:
        t = self.world.now / 1e9
        self._write(f"{t:12.6f} | {host:>7.7} | {self._task:<13.13} | {'  ' * depth} {text}\n")

    def text(self) -> str:
        return "".join(self.lines)

    def called(self) -> list[str]:
        """The names of the traced functions, in call order."""
        return [e["name"] for e in self.events if e["ph"] == "B"]

    def chrome_json(self) -> str:
        """The trace as Chrome/Perfetto trace-event JSON (hosts are processes, tasks threads)."""
        return json.dumps({"traceEvents": self.events, "displayTimeUnit": "ns"})

    # -- hooks -----------------------------------------------------------------------------------
    def _task_name(self) -> str:
        if _current_stack:
            p = _current_stack[-1]
            return f"{p.comm}-{p.pid}"
        return "<idle>-0"

    def _switch(self, event: str, args: Any) -> None:
        if event not in ("switch", "throw"):
            return
        origin, target = args
        task = "<idle>-0"
        task_host = None
        for host in self.world.hosts.values():
            for p in host.processes.values():
                if p.greenlet is target:
                    task = f"{p.comm}-{p.pid}"
                    task_host = host.name
        stack = self._stacks.get(id(origin))
        if stack:
            # The outgoing task sleeps inside these calls: show them open, as ftrace does.
            for depth, fr in enumerate(stack):
                if not fr.printed:
                    fr.printed = True
                    if self.hosts is None or fr.host in self.hosts:
                        self._line(fr.host, depth, f"{fr.name}() {{")
        if task != self._task and (self.hosts is None or task_host is None or task_host in self.hosts):
            self._write(f" ------------------------------------------\n   {self._task} => {task}\n"
                        f" ------------------------------------------\n")
            self._task = task

    def _is_kernel(self, code: Any) -> bool:
        known = self._codes.get(code)
        if known is None:
            name = code.co_name
            known = (code.co_filename.startswith(_KERNEL_DIRS) and "." not in code.co_qualname
                     and not name.startswith("<") and code not in NOTRACE
                     and (self.names is None or name in self.names))
            self._codes[code] = known
        return known

    @staticmethod
    def _host_of(frame: Any) -> str | None:
        loc = frame.f_locals
        for key in ("host", "sk", "skb", "dev", "req", "tw", "neigh", "n"):
            obj = loc.get(key)
            if obj is None:
                continue
            h = getattr(obj, "host", None)
            if h is None:
                if hasattr(obj, "nd_net"):
                    h = obj.nd_net
                elif hasattr(obj, "dev") and obj.dev is not None and hasattr(obj.dev, "nd_net"):
                    h = obj.dev.nd_net
                elif key == "host":
                    h = obj
            name = getattr(h, "name", None)
            if name is not None:
                return name
        if _current_stack:
            return _current_stack[-1].host.name
        return None

    def _profile(self, frame: Any, event: str, arg: Any) -> None:
        if event == "call":
            code = frame.f_code
            if not self._is_kernel(code):
                return
            stack = self._stacks.setdefault(id(greenlet.getcurrent()), [])
            host = self._host_of(frame) or (stack[-1].host if stack else "?")
            if stack and not stack[-1].printed:
                parent = stack[-1]
                parent.printed = True
                if self.hosts is None or parent.host in self.hosts:
                    self._line(parent.host, len(stack) - 1, f"{parent.name}() {{")
            stack.append(_Frame(code.co_name, host, self.world.now))
            self.calls += 1
            self.events.append({"name": code.co_name, "ph": "B", "ts": self.world.now / 1000,
                                "pid": host, "tid": self._task})
        elif event == "return":
            code = frame.f_code
            if not self._codes.get(code):
                return
            stack = self._stacks.get(id(greenlet.getcurrent()))
            if not stack or stack[-1].name != code.co_name:
                return
            fr = stack.pop()
            self.events.append({"name": fr.name, "ph": "E", "ts": self.world.now / 1000,
                                "pid": fr.host, "tid": self._task})
            if self.hosts is not None and fr.host not in self.hosts:
                return
            if fr.printed:
                self._line(fr.host, len(stack), f"}} /* {fr.name} */")
            else:
                self._line(fr.host, len(stack), f"{fr.name}();")


SEED_SEND_PATH = (
    "sys_socketcall", "sys_send", "sys_sendto", "sock_sendmsg", "inet_sendmsg", "tcp_sendmsg",
    "tcp_push", "__tcp_push_pending_frames", "tcp_push_one", "tcp_write_xmit", "tcp_transmit_skb",
    "ip_queue_xmit", "ip_local_out", "__ip_local_out", "dst_output", "ip_output", "ip_finish_output",
    "ip_finish_output2", "neigh_output", "neigh_hh_output", "dev_queue_xmit", "dev_hard_start_xmit",
    "loopback_xmit", "netif_rx",
)
SEED_RECV_PATH = (
    "net_rx_action", "process_backlog", "__netif_receive_skb", "ip_rcv", "ip_rcv_finish",
    "ip_route_input_noref", "dst_input", "ip_local_deliver", "ip_local_deliver_finish", "tcp_v4_rcv",
    "tcp_v4_do_rcv", "tcp_rcv_established", "tcp_rcv_state_process", "tcp_child_process",
    "tcp_data_queue", "tcp_queue_rcv", "sys_recv", "sys_recvfrom", "sock_recvmsg", "inet_recvmsg",
    "tcp_recvmsg",
)
SEED_OTHER = (
    "sys_socket", "sys_bind", "sys_listen", "sys_connect", "sys_accept4", "inet_stream_connect",
    "tcp_v4_connect", "tcp_connect", "inet_csk_accept", "tcp_close", "tcp_send_fin", "tcp_time_wait",
    "tcp_send_ack", "tcp_v4_conn_request", "tcp_v4_send_synack", "tcp_fin", "sys_close",
)
SEED_FUNCTIONS = SEED_SEND_PATH + SEED_RECV_PATH + SEED_OTHER
