"""Signals as a program meets them: a handler runs on the way back from the system call the signal
cut short, which starts again when the handler asked for SA_RESTART and the call may restart (a
blocking read or accept without a time limit), and fails with EINTR otherwise (no SA_RESTART, a
read with SO_RCVTIMEO, poll); a signal the program does not catch ends it; SIGKILL cannot be
caught.  signal(7), "Interruption of system calls and library functions by signal handlers"."""

from __future__ import annotations

import errno

import pytest

from topologies import TWO_HOSTS
from tuxnet.benchmarks import lo_world
from tuxnet.kernel.signal import SA_RESTART, SIGINT, SIGKILL, SIGTERM, send_sig
from tuxnet.net.core.sock import SO_RCVTIMEO, SOL_SOCKET
from tuxnet.net.socket import AF_INET, POLLIN, SOCK_DGRAM, SOCK_STREAM
from tuxnet.topology import load_topology
from tuxnet.user import libc
from tuxnet.world import msecs


def udp_reader(log: list[object], flags: int | None, timeout: float | None = None) -> None:
    """Wait for a datagram on port 9000, with a SIGINT handler installed with ``flags`` (None:
    none), logging the handler's runs, then the datagram or the error."""
    fd = libc.socket(AF_INET, SOCK_DGRAM, 0)
    libc.bind(fd, ("127.0.0.1", 9000))
    if timeout is not None:
        libc.setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, timeout)
    if flags is not None:
        libc.sigaction(SIGINT, lambda sig: log.append(("handler", sig)), flags)
    try:
        log.append(libc.recv(fd, 100))
    except OSError as error:
        log.append(error.errno)


def send_datagram() -> None:
    fd = libc.socket(AF_INET, SOCK_DGRAM, 0)
    libc.sendto(fd, b"late", 0, ("127.0.0.1", 9000))
    libc.close(fd)


def interrupted(program, *args):
    """Start ``program(log, *args)``, send it SIGINT 1 ms later, then a datagram to port 9000 1 ms
    after that; the log and the process."""
    world, host = lo_world()
    log: list[object] = []
    proc = host.spawn(program, log, *args)
    world.run_for(msecs(1))
    send_sig(SIGINT, proc)
    world.run_for(msecs(1))
    host.spawn(send_datagram)
    world.run_for(msecs(10))
    return log, proc


def test_sa_restart_restarts_a_blocking_read():
    log, proc = interrupted(udp_reader, SA_RESTART)
    assert log == [("handler", SIGINT), b"late"] and proc.exit_code == 0


def test_without_sa_restart_the_read_fails_with_eintr():
    log, _ = interrupted(udp_reader, 0)
    assert log == [("handler", SIGINT), errno.EINTR]


def test_a_read_with_a_time_limit_is_not_restarted():
    """sock_intr_errno: with SO_RCVTIMEO the wait gives up with EINTR, SA_RESTART or not."""
    log, _ = interrupted(udp_reader, SA_RESTART, 5.0)
    assert log == [("handler", SIGINT), errno.EINTR]


def test_an_uncaught_signal_ends_the_program_and_closes_its_socket():
    world, host = lo_world()
    log: list[object] = []
    proc = host.spawn(udp_reader, log, None)
    world.run_for(msecs(1))
    send_sig(SIGTERM, proc)
    assert not proc.alive and proc.exit_code == -SIGTERM and log == []
    assert not host.processes.get(proc.pid)
    # the port is free again: its socket closed as the process ended
    again = host.spawn(udp_reader, log, None)
    world.run_for(msecs(1))
    assert again.alive


def poller(log: list[object]) -> None:
    fd = libc.socket(AF_INET, SOCK_DGRAM, 0)
    libc.bind(fd, ("127.0.0.1", 9000))
    libc.signal(SIGINT, lambda sig: log.append(("handler", sig)))
    try:
        log.append(libc.poll([(fd, POLLIN)], -1))
    except OSError as error:
        log.append(error.errno)


def test_poll_is_not_restarted_even_with_sa_restart():
    """do_poll gives up with ERESTARTNOHAND: after a handler, EINTR."""
    log, _ = interrupted(poller)
    assert log == [("handler", SIGINT), errno.EINTR]


def tcp_server(log: list[object], flags: int) -> None:
    """accept on port 9001, then read from the connection; each wait may be cut short."""
    lfd = libc.socket(AF_INET, SOCK_STREAM, 0)
    libc.bind(lfd, ("127.0.0.1", 9001))
    libc.listen(lfd, 4)
    libc.sigaction(SIGINT, lambda sig: log.append(("handler", sig)), flags)
    while True:
        try:
            fd, _ = libc.accept(lfd)
            break
        except InterruptedError:
            log.append("accept: EINTR")
    while True:
        try:
            log.append(libc.recv(fd, 100))
            return
        except InterruptedError:
            log.append("recv: EINTR")


def tcp_client() -> None:
    fd = libc.socket(AF_INET, SOCK_STREAM, 0)
    libc.connect(fd, ("127.0.0.1", 9001))
    libc.sleep(0.01)
    libc.send(fd, b"hello")
    libc.close(fd)


@pytest.mark.parametrize("flags, expected", [
    (SA_RESTART, [("handler", SIGINT), ("handler", SIGINT), b"hello"]),
    (0, [("handler", SIGINT), "accept: EINTR", ("handler", SIGINT), "recv: EINTR", b"hello"]),
])
def test_accept_and_tcp_recv(flags, expected):
    world, host = lo_world()
    log: list[object] = []
    server = host.spawn(tcp_server, log, flags)
    world.run_for(msecs(1))
    send_sig(SIGINT, server)  # in accept
    world.run_for(msecs(1))
    host.spawn(tcp_client)
    world.run_for(msecs(5))
    send_sig(SIGINT, server)  # in recv, before the data
    world.run_for(msecs(20))
    assert log == expected and server.exit_code == 0


def test_sigkill_cannot_be_caught():
    world, host = lo_world()
    errors: list[int] = []

    def program() -> None:
        try:
            libc.sigaction(SIGKILL, lambda sig: None)
        except OSError as error:
            errors.append(error.errno)
        libc.sleep(1)

    proc = host.spawn(program)
    world.run_for(msecs(1))
    send_sig(SIGKILL, proc)
    assert errors == [errno.EINVAL] and proc.exit_code == -SIGKILL


def test_ctrl_c_ends_ping_and_arping_with_their_summaries():
    """A topology run with a duration ends with SIGINT to the programs that catch it: ping and
    arping, run without a count, stop as at Ctrl-C and print their statistics."""
    net = load_topology("t.toml", text='duration = "3.5s"' + TWO_HOSTS + """
[[run]]
host = "a"
cmd = "ping 10.0.0.2"
[[run]]
host = "b"
cmd = "arping -I eth0 10.0.0.1"
""")
    net.start()
    net.run()
    out = net.output()
    a_lines = out.split("== b ==")[0].splitlines()
    assert "--- 10.0.0.2 ping statistics ---" in a_lines
    assert "4 packets transmitted, 4 received, 0% packet loss, time 3000ms" in a_lines
    b_lines = out.split("== b ==")[1].splitlines()
    assert "Sent 4 probes (1 broadcast(s))" in b_lines and "Received 4 response(s)" in b_lines
    assert all(not proc.alive and proc.exit_code == 0 for proc in net.procs)


def test_kill_from_a_program():
    """kill(2): a signal 0 only asks; a handled one runs the target's handler; SIGKILL ends it;
    a pid with no process is ESRCH."""
    world, host = lo_world()
    log: list[object] = []
    target = host.spawn(udp_reader, log, SA_RESTART)
    world.run_for(msecs(1))
    results: list[object] = []

    def killer() -> None:
        libc.kill(target.pid, 0)
        libc.kill(target.pid, SIGINT)
        libc.sleep(0.001)
        results.append(target.alive)
        libc.kill(target.pid, SIGKILL)
        libc.sleep(0.001)
        results.append(target.alive)
        try:
            libc.kill(target.pid, SIGTERM)
        except OSError as error:
            results.append(error.errno)

    host.spawn(killer)
    world.run_for(msecs(10))
    # the handler ran, the read started again, and SIGKILL ended it there
    assert log == [("handler", SIGINT)]
    assert results == [True, False, errno.ESRCH] and target.exit_code == -SIGKILL


def run_interrupted(program, *args, at: int = msecs(1), until: int = msecs(100)):
    """``program(log, *args)`` on a host of its own, SIGINT ``at`` ns in; the log, the process and
    the world after ``until`` ns."""
    world, host = lo_world()
    log: list[object] = []
    proc = host.spawn(program, log, *args)
    world.run_for(at)
    send_sig(SIGINT, proc)
    world.run_for(until)
    return log, proc, world


def sleeper(log: list[object], flags: int) -> None:
    libc.sigaction(SIGINT, lambda sig: log.append(("handler", sig)), flags)
    log.append(libc.sleep(5))
    log.append(libc.clock_monotonic())


@pytest.mark.parametrize("flags", [0, SA_RESTART])
def test_a_signal_cuts_a_sleep_short_and_sleep_says_what_was_left(flags):
    """nanosleep ends with ERESTART_RESTARTBLOCK, which a handler makes EINTR even with
    SA_RESTART (signal(7): "never restarted"); sleep(3) then returns the time left."""
    log, proc, _ = run_interrupted(sleeper, flags)
    assert log == [("handler", SIGINT), pytest.approx(4.999), pytest.approx(0.001)] and proc.exit_code == 0


def connector(log: list[object], flags: int) -> None:
    """Connect to a listener whose accept queue is full (backlog 0 and one connection waiting):
    its SYNs are dropped (tcp_conn_request's ListenOverflows), so connect waits in SYN_SENT until
    a child accepts the waiting connection, at 0.5 s, and the SYN sent again at 1 s gets in."""
    lfd = libc.socket(AF_INET, SOCK_STREAM, 0)
    libc.bind(lfd, ("127.0.0.1", 5001))
    libc.listen(lfd, 0)
    first = libc.socket(AF_INET, SOCK_STREAM, 0)
    libc.connect(first, ("127.0.0.1", 5001))
    libc.fork(lambda: (libc.sleep(0.5), libc.accept(lfd)))
    libc.sigaction(SIGINT, lambda sig: log.append(("handler", sig)), flags)
    fd = libc.socket(AF_INET, SOCK_STREAM, 0)
    for _ in range(2):
        try:
            libc.connect(fd, ("127.0.0.1", 5001))
        except OSError as error:
            log += [error.errno, libc.clock_monotonic()]
            continue
        log += ["connected", libc.clock_monotonic()]
        return


def test_a_signal_interrupts_connect_and_the_connection_goes_on():
    """Without SA_RESTART connect fails with EINTR at once and the handshake goes on: a second
    connect of the same socket waits for it (SS_CONNECTING: EALREADY, then the wait) and returns
    0 once the SYN sent again at 1 s is answered."""
    log, _, _ = run_interrupted(connector, 0, until=msecs(3000))
    assert log == [("handler", SIGINT), errno.EINTR, pytest.approx(0.001), "connected",
                   pytest.approx(1.0, abs=0.01)], log


def test_sa_restart_restarts_connect():
    log, _, _ = run_interrupted(connector, SA_RESTART, until=msecs(3000))
    assert log == [("handler", SIGINT), "connected", pytest.approx(1.0, abs=0.01)], log


def bulk_sender(log: list[object], flags: int) -> None:
    """Send 10 MB to a reader that never reads: the send blocks once the windows and buffers
    are full."""
    lfd = libc.socket(AF_INET, SOCK_STREAM, 0)
    libc.bind(lfd, ("127.0.0.1", 5001))
    libc.listen(lfd, 1)
    fd = libc.socket(AF_INET, SOCK_STREAM, 0)
    libc.connect(fd, ("127.0.0.1", 5001))
    libc.sigaction(SIGINT, lambda sig: log.append(("handler", sig)), flags)
    for _ in range(2):
        try:
            log.append(libc.send(fd, bytes(10_000_000)))
        except OSError as error:
            log.append(error.errno)


@pytest.mark.parametrize("flags", [0, SA_RESTART])
def test_a_signal_ends_a_send_waiting_for_room_with_what_it_sent(flags):
    """sk_stream_wait_memory: a send that copied some returns that much; one that copied
    nothing restarts with SA_RESTART (and so waits on) or fails with EINTR."""
    log, proc, world = run_interrupted(bulk_sender, flags)
    assert log[0] == ("handler", SIGINT) and 0 < log[1] < 10_000_000, log
    send_sig(SIGINT, proc)
    world.run_for(msecs(100))
    if flags:
        assert log[2:] == [("handler", SIGINT)] and proc.alive, log
    else:
        assert log[2:] == [("handler", SIGINT), errno.EINTR] and not proc.alive, log


def waiter(log: list[object], flags: int) -> None:
    libc.sigaction(SIGINT, lambda sig: log.append(("handler", sig)), flags)
    child = libc.fork(lambda: libc.sleep(2))
    try:
        log.append(libc.waitpid(child))
    except OSError as error:
        log.append(error.errno)
    log.append(libc.clock_monotonic())


@pytest.mark.parametrize(("flags", "expected"), [(0, [errno.EINTR, pytest.approx(0.001)]),
                                                 (SA_RESTART, [0, pytest.approx(2.0)])])
def test_a_signal_interrupts_waitpid(flags, expected):
    log, _, _ = run_interrupted(waiter, flags, until=msecs(3000))
    assert log == [("handler", SIGINT), *expected]
