"""Signals, as a program on a tuxnet host meets them (kernel/signal.c, kernel/entry/common.c).

Someone outside the program sends one (``send_sig``: the topology runner at the end of a run, as
a user types Ctrl-C).  Without a handler, SIGINT and SIGTERM end the program (their default
action, ``SIG_DFL``), as SIGKILL always does.  A program that installed a handler
(``rt_sigaction``) is woken where it sleeps (``signal_wake_up``); the wait it slept in sees
``signal_pending`` and gives up with ``-ERESTARTSYS`` (a wait without a time limit) or
``-EINTR``/``-ERESTARTNOHAND``, and on its way back to user space the system call runs the
handler (``arch_do_signal_or_restart``) and then starts again, when the handler was installed
with SA_RESTART and the call may be restarted, or fails with EINTR.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

from tuxnet.kernel.errno import EINTR, EINVAL, ESRCH
from tuxnet.kernel.sched import MAX_SCHEDULE_TIMEOUT, SIGKILL, current

if TYPE_CHECKING:
    from tuxnet.kernel.sched import Process

SIGHUP = 1
SIGINT = 2
SIGTERM = 15
# the names kill(1) takes (signal(7)); others by number
SIGNAL_NAMES = {"HUP": SIGHUP, "INT": SIGINT, "KILL": SIGKILL, "TERM": SIGTERM}

SA_RESTART = 0x10000000  # include/uapi/asm-generic/signal-defs.h

# include/linux/errno.h: the kernel's own; a program never sees them
ERESTARTSYS = 512
ERESTARTNOHAND = 514
ERESTART_RESTARTBLOCK = 516  # restart with the call's restart block (nanosleep: what is left of the sleep)

SigHandler = Callable[[int], None]

# Signals queued and not yet handled, over every process: while none is, neither a wait nor the
# way out of a system call needs to look at the running process's own (the kernel tests one flag
# of the task, TIF_SIGPENDING).  Never fewer than there are; more when a process died with some.
queued = 0

__all__ = [
    "ERESTART_RESTARTBLOCK",
    "ERESTARTNOHAND",
    "ERESTARTSYS",
    "SA_RESTART",
    "SIGHUP",
    "SIGINT",
    "SIGNAL_NAMES",
    "SIGKILL",
    "SIGTERM",
    "do_sigaction",
    "exit_to_user_mode",
    "hrtimer_nanosleep",
    "kernel_wait",
    "send_sig",
    "sys_kill",
    "signal_pending",
    "signal_pending_current",
    "sock_intr_errno",
]


def signal_pending(proc: Process) -> bool:
    """``signal_pending(current)``: a signal waits to be handled."""
    return queued != 0 and bool(proc.sigpending)


def signal_pending_current() -> bool:
    """``signal_pending(current)``, for the running process."""
    return queued != 0 and bool(current().sigpending)


def sock_intr_errno(timeo: int) -> int:
    """``sock_intr_errno``: a socket wait cut short by a signal restarts when it had no time
    limit (``-ERESTARTSYS``) and fails with EINTR when it had one (SO_RCVTIMEO/SO_SNDTIMEO)."""
    return -ERESTARTSYS if timeo == MAX_SCHEDULE_TIMEOUT else -EINTR


def do_sigaction(proc: Process, sig: int, handler: SigHandler | None, flags: int = 0) -> int:
    """``rt_sigaction``: ``handler(sig)`` runs when ``sig`` comes (None: ``SIG_DFL``)."""
    if sig == SIGKILL or not 0 < sig < 65:
        return -EINVAL  # SIGKILL cannot be caught
    if handler is None:
        proc.sigactions.pop(sig, None)
    else:
        proc.sigactions[sig] = (handler, flags)
    return 0


def send_sig(sig: int, proc: Process) -> None:
    """``send_sig``, from outside any process: SIGKILL, or a signal the process has no handler
    for, ends it where it sleeps (``complete_signal``'s fatal path); one it handles is queued and
    wakes it (``signal_wake_up``)."""
    if not proc.alive:
        return
    if sig == SIGKILL or sig not in proc.sigactions:
        proc.kill(sig)
        return
    global queued
    if sig not in proc.sigpending:
        proc.sigpending.add(sig)
        queued += 1
    proc.wake()


def sys_kill(pid: int, sig: int) -> int:
    """``kill(2)`` from a program: ``sig`` to the process ``pid`` of its host (0 only asks whether
    there is one); ESRCH when there is none.  The signal is delivered from the loop, once the
    caller has gone on (``complete_signal`` wakes the target; it runs when the scheduler picks it)."""
    if not 0 <= sig < 65:
        return -EINVAL
    host = current().host
    target = host.processes.get(pid)
    if target is None or not target.alive:
        return -ESRCH
    if sig:
        host.world.call_soon(send_sig, sig, target)
    return 0


def exit_to_user_mode(proc: Process, ret: object) -> object | None:
    """``exit_to_user_mode_loop`` → ``arch_do_signal_or_restart``: run the handler of each pending
    signal, lowest number first; then the system call's result, or None when it starts again (it
    gave up with ``-ERESTARTSYS``, or either restart code with no handler run, and every handler
    that ran asks for SA_RESTART).  A call that gave up for a signal and is not restarted fails
    with EINTR."""
    global queued
    interrupted = False  # a handler ran that the call may not start again after
    while proc.sigpending:
        sig = min(proc.sigpending)
        proc.sigpending.discard(sig)
        queued -= 1
        action = proc.sigactions.get(sig)
        if action is None:
            continue
        handler, flags = action
        if ret in (-ERESTARTNOHAND, -ERESTART_RESTARTBLOCK) or not flags & SA_RESTART:
            interrupted = True
        handler(sig)
    if ret in (-ERESTARTSYS, -ERESTARTNOHAND, -ERESTART_RESTARTBLOCK):
        return -EINTR if interrupted else None
    return ret


def hrtimer_nanosleep(restart: list[int]) -> int:
    """``hrtimer_nanosleep`` → ``do_nanosleep``: sleep until the world's clock reads
    ``restart[0]`` (the restart block's absolute expiry, so that a restarted sleep sleeps only
    what is left); 0, or ``-ERESTART_RESTARTBLOCK`` when a signal comes first, which a handler
    turns into EINTR."""
    proc = current()
    world = proc.host.world
    while world.now < restart[0]:
        proc.sleep_on(None, restart[0] - world.now)
        if signal_pending(proc):
            return -ERESTART_RESTARTBLOCK
    return 0


def kernel_wait(target: Process) -> int | None:
    """``do_wait`` for one child: sleep until ``target`` has exited and return its wait status
    (``wait_task_zombie``: the exit code in the second byte, or the signal that killed it in the
    first), or ``-ERESTARTSYS`` when a signal comes first (``do_wait``'s ``signal_pending``
    check)."""
    proc = current()
    while target.alive:
        proc.sleep_on(target.exit_waiters)
        if target.alive and signal_pending(proc):
            return -ERESTARTSYS
    code = target.exit_code
    return None if code is None else -code if code < 0 else (code & 0xFF) << 8
