"""Processes and wait queues (kernel/sched): user programs are greenlets.

A process runs ordinary blocking Python.  When a system call must wait it sleeps on a wait queue:
the greenlet switches back to the world's loop, which runs on until a wake-up (or the timeout)
schedules the process again.  ``current()`` is the running process, as in the kernel.
"""

from __future__ import annotations

import traceback
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from greenlet import GreenletExit, greenlet

from tuxnet.kernel.fs import FdTable
from tuxnet.kernel.minmax import max

if TYPE_CHECKING:
    from tuxnet.kernel.host import Host

MAX_SCHEDULE_TIMEOUT = -1

TASK_RUNNING = "R"
TASK_INTERRUPTIBLE = "S"
TASK_DEAD = "Z"


SIGKILL = 9


class ProcessError(RuntimeError):
    """A process died from an uncaught exception (re-raised by ``World.run``)."""


class WaitQueue:
    """``wait_queue_head_t``: processes sleeping until an event."""

    __slots__ = ("waiters",)

    def __init__(self) -> None:
        self.waiters: list[Process] = []

    def wake_up(self) -> None:
        """``wake_up_interruptible()``: make every sleeper runnable."""
        if self.waiters:
            for proc in self.waiters:
                proc.wake()
            self.waiters.clear()

    def __bool__(self) -> bool:
        return bool(self.waiters)


class Process:
    """A task: a greenlet with a pid, an fd table and a console."""

    def __init__(self, host: Host, pid: int, name: str, fn: Callable[..., Any], args: tuple[Any, ...],
                 kwargs: dict[str, Any] | None = None) -> None:
        self.host = host
        self.pid = pid
        self.comm = name[:15]  # task->comm is TASK_COMM_LEN (16) bytes with its NUL (__set_task_comm)
        self.fn = fn
        self.args = args
        self.kwargs = kwargs or {}
        self.files = FdTable()
        self.state = TASK_RUNNING
        self.exit_code: int | None = None
        self.result: Any = None
        self.exception: BaseException | None = None
        self.greenlet = greenlet(self._main)
        self._wait_timer = host.world.timer(_sleep_timeout, self)
        self._woken = False
        self._queued = False
        self.killed = False
        self.kill_signal = SIGKILL
        self.sigpending: set[int] = set()  # signals sent, their handlers not yet run
        self.sigactions: dict[int, tuple[Callable[[int], None], int]] = {}  # signal -> (handler, SA_ flags)
        self.exit_waiters = WaitQueue()

    def __repr__(self) -> str:
        return f"<Process {self.comm}-{self.pid} on {self.host.name} {self.state}>"

    # -- life --------------------------------------------------------------------------------------
    def _main(self) -> Any:
        _current_stack.append(self)
        try:
            self.result = self.fn(*self.args, **self.kwargs)
            self.exit_code = 0
        except GreenletExit:
            self.exit_code = -self.kill_signal  # killed (kill): no traceback, nothing to report
        except SystemExit as e:
            self.exit_code = e.code if isinstance(e.code, int) else (0 if e.code is None else 1)
        except KeyboardInterrupt:
            # Ctrl-C reached the simulator while this program ran: not the program's crash.  It
            # goes up to the loop's switch, and out of World.run, as it would have in the loop.
            raise
        except BaseException as e:  # noqa: BLE001 - a user program's crash must not take the loop down
            self.exception = e
            self.exit_code = 1
            self.host.console_write(self, "".join(traceback.format_exception(e)))
            if self.host.world_fail_on_crash:
                err = ProcessError(f"{self.comm}-{self.pid} on {self.host.name} died: {e!r}")
                err.__cause__ = e
                self.host.world.fail(err)
        finally:
            _current_stack.pop()
            self.files.close_all(self)
            self.state = TASK_DEAD
            self.host.process_exited(self)
            self.exit_waiters.wake_up()
        return self.result

    def start(self) -> None:
        self._queued = True
        self.host.world.call_soon(self._run)

    def _run(self) -> None:
        self._queued = False
        if self.state == TASK_DEAD:
            return
        self.state = TASK_RUNNING
        g = self.greenlet
        loop = self.host.world.loop_greenlet
        if g.parent is not loop:
            g.parent = loop
        g.switch()

    @property
    def alive(self) -> bool:
        return self.state != TASK_DEAD

    def kill(self, sig: int = SIGKILL) -> None:
        """``SIGKILL`` (or another signal whose default action ends the process): end the process
        where it sleeps; its descriptors are closed as at exit.  Called from outside any process
        (the world's loop), as the kernel kills a task."""
        if self.state == TASK_DEAD:
            return
        self.killed = True
        self.kill_signal = sig
        self._wait_timer.delete()
        g = self.greenlet
        if g:
            g.parent = greenlet.getcurrent()
            g.throw(GreenletExit)
        else:
            self.state = TASK_DEAD
            self.host.process_exited(self)

    # -- sleeping ---------------------------------------------------------------------------------
    def wake(self) -> None:
        """``try_to_wake_up()``: schedule a sleeping process to run."""
        if self.state == TASK_INTERRUPTIBLE and not self._woken:
            self._woken = True
            self._wait_timer.delete()
            if not self._queued:
                self._queued = True
                self.host.world.call_soon(self._run)

    def sleep_on(self, wq: WaitQueue | list[WaitQueue] | None, timeout: int = MAX_SCHEDULE_TIMEOUT) -> int:
        """``schedule_timeout()`` on ``wq`` (or several, as poll does): sleep until woken or
        ``timeout`` ns pass.

        Returns the time left (0 when the timeout expired), or MAX_SCHEDULE_TIMEOUT for no limit.
        """
        if self.killed:
            raise GreenletExit  # a killed task does not sleep again (not even in a finally)
        world = self.host.world
        queues = [] if wq is None else wq if isinstance(wq, list) else [wq]
        for q in queues:
            q.waiters.append(self)
        start = world.now
        if timeout != MAX_SCHEDULE_TIMEOUT:
            self._wait_timer.mod(start + timeout)
        self._woken = False
        self.state = TASK_INTERRUPTIBLE
        _current_stack.pop()
        try:
            world.loop_greenlet.switch()
        finally:
            _current_stack.append(self)
            self.state = TASK_RUNNING
            for q in queues:
                if self in q.waiters:
                    q.waiters.remove(self)
        if timeout == MAX_SCHEDULE_TIMEOUT:
            return MAX_SCHEDULE_TIMEOUT
        return max(0, timeout - (world.now - start))

    def sleep(self, duration: int) -> None:
        """``msleep()``-like: sleep for ``duration`` ns."""
        left = duration
        while left > 0:
            left = self.sleep_on(None, left)



def _sleep_timeout(proc: Process) -> None:
    if proc.state == TASK_INTERRUPTIBLE and not proc._woken:
        proc._woken = True
        if not proc._queued:
            proc._queued = True
            proc.host.world.call_soon(proc._run)


_current_stack: list[Process] = []


def current() -> Process:
    """The process whose system call is running (the kernel's ``current``)."""
    if not _current_stack:
        raise RuntimeError("not in a tuxnet process: system calls are made by programs on a host")
    return _current_stack[-1]


def in_process() -> bool:
    return bool(_current_stack)
