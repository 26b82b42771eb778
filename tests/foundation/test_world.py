"""The world's clock, timers, processes and sysctls."""

from __future__ import annotations

import errno
import os
import time

import pytest

from conftest import make_lo_host
from procs import run_program
from tuxnet.kernel.sysctl import SysctlError
from tuxnet.net.core.netfilter import NF_ACCEPT, NF_INET_LOCAL_OUT, NF_STOLEN, nf_register_net_hook
from tuxnet.net.ipv4.route import dst_output
from tuxnet.net.socket import AF_INET, POLLIN, POLLOUT, SOCK_STREAM
from tuxnet.user import libc
from tuxnet.world import World, msecs, secs


def test_timers_mod_delete_and_virtual_time():
    w = World()
    fired = []
    t = w.timer(lambda arg: fired.append((w.now, arg)), "a")
    t.mod(secs(5))
    t.mod(secs(2))  # re-arming replaces the earlier expiry
    u = w.timer(lambda arg: fired.append((w.now, arg)), "b")
    u.add_in(msecs(1500))
    u.delete()
    assert t.pending() and not u.pending()
    start = time.monotonic()
    w.run()
    assert fired == [(secs(2), "a")]
    assert not t.pending()
    w.run_for(secs(3600))
    assert w.now == secs(2) + secs(3600)
    assert time.monotonic() - start < 1.0, "an hour of virtual time costs no wall time"


def test_a_stopped_timer_holds_nothing_and_dead_entries_are_dropped():
    """``del_timer`` detaches at once: a timer stopped (or brought forward) leaves no reference to
    what it would have been called with, and once dead entries are most of the queue they are
    dropped, without changing the order in which the live timers fire."""
    import gc
    import weakref

    from tuxnet.world import COMPACT_MIN_DEAD

    class Payload:
        pass

    w = World()
    payload = Payload()
    ref = weakref.ref(payload)
    t = w.timer(lambda arg: None, payload)
    t.mod(secs(60))
    t.delete()
    del t, payload
    gc.collect()
    assert ref() is None, "a deleted timer's queue entry kept its argument alive"

    fired: list[tuple[int, int]] = []
    live = []
    for i in range(20):
        timer = w.timer(lambda arg: fired.append((w.now, arg)), i)
        timer.mod(secs(100 + i))
        live.append(timer)
    live[5].mod(secs(1))  # brought forward: a new entry, the old one dead
    live[7].mod(secs(500))  # pushed back: its entry is requeued when it comes up
    live[9].delete()
    biggest = 0
    for i in range(4 * COMPACT_MIN_DEAD):
        timer = w.timer(lambda arg: fired.append((w.now, -1)), i)
        timer.mod(secs(50))
        timer.delete()
        biggest = max(biggest, len(w._queue))
    assert biggest <= 2 * COMPACT_MIN_DEAD + 30, "dead entries were never dropped"
    w.run()
    expected = [(secs(1), 5)] + [(secs(100 + i), i) for i in range(20) if i not in (5, 7, 9)]
    assert fired == expected + [(secs(500), 7)]


def test_closed_sockets_are_freed_while_the_clock_stands_still():
    """hello/replyhi over lo at one instant of virtual time: each connection stops its timers as it
    closes, so its sockets are freed at once; only the TIME_WAIT sockets (60 s) remain, as in
    Linux, and the queue does not grow with the timers each connection stopped."""
    import gc

    from tuxnet.net.ipv4.tcp_minisocks import TimeWaitSock
    from tuxnet.net.ipv4.tcp_sock import TcpSock
    from tuxnet.user.programs.hello import hello, replyhi

    n = 400
    world, host = make_lo_host()
    server = host.spawn(replyhi, count=n)

    def clients() -> None:
        for _ in range(n):
            hello()

    client = host.spawn(clients)
    world.run_until(lambda: not server.alive and not client.alive)
    assert world.now < secs(1)
    gc.collect()
    kinds = [type(o) for o in gc.get_objects() if type(o) in (TimeWaitSock, TcpSock) and o.host is host]
    assert kinds.count(TimeWaitSock) == n
    assert kinds.count(TcpSock) <= 2, "closed sockets were kept alive"
    assert len(world._queue) < 3 * n


def test_a_shut_down_timer_lets_go_and_cannot_be_rearmed():
    """``timer_shutdown()``: the timer stops for good and lets go of its handler and argument;
    arming it again is ignored, as the kernel ignores it."""
    import gc
    import weakref

    class Owner:
        pass

    w = World()
    fired = []
    owner = Owner()
    owner.timer = w.timer(lambda arg: fired.append(arg), owner)
    owner.timer.mod(secs(1))
    ref = weakref.ref(owner)
    timer = owner.timer
    timer.shutdown()
    assert not timer.pending()
    timer.mod(secs(2))
    timer.add_in(secs(3))
    assert not timer.pending()
    w.run()
    assert fired == [] and w.now == 0
    assert timer.function is None and timer.arg is None
    del owner, timer
    gc.collect()
    assert ref() is None


@pytest.mark.cpython_only
def test_an_exchange_leaves_no_garbage_for_the_cycle_collector():
    """A connection's sockets are freed by their last reference when they close: their timers
    are shut down (timer_shutdown_sync), so no socket-and-timer cycle is left behind.  (Every
    exchange used to leave 67 objects for CPython's cycle collector.)"""
    import gc

    from tuxnet.user.programs.hello import hello, replyhi

    n = 100
    world, host = make_lo_host()
    server = host.spawn(replyhi, count=n + 1)

    def clients(k: int) -> None:
        for _ in range(k):
            hello()

    first = host.spawn(clients, 1)
    world.run_until(lambda: not first.alive)
    gc.collect()
    gc.disable()
    try:
        rest = host.spawn(clients, n)
        world.run_until(lambda: not rest.alive and not server.alive)
        found = gc.collect()
    finally:
        gc.enable()
    assert found < n, f"{found} objects in cycles after {n} exchanges"


def test_realtime_mode_follows_the_wall_clock():
    w = World(realtime=True)
    fired = []
    w.timer(lambda _: fired.append(time.monotonic())).add_in(msecs(50))
    start = time.monotonic()
    w.run()
    assert fired and fired[0] - start >= 0.045


@pytest.mark.parametrize("busy_poll_us", [0, 200_000])
def test_realtime_mode_serves_descriptors_and_keeps_timers_on_time(busy_poll_us):
    """A readable descriptor is served as it becomes readable, and busy polling (which spins
    instead of sleeping) neither delays a timer nor runs it early."""
    w = World(realtime=True, busy_poll_us=busy_poll_us)
    r, wfd = os.pipe()
    got = []

    def readable():
        got.append((time.monotonic(), os.read(r, 100)))
        if len(got) == 2:
            w.remove_reader(r)

    w.add_reader(r, readable)
    fired = []
    w.timer(lambda _: fired.append(time.monotonic())).add_in(msecs(30))
    w.timer(lambda _: os.write(wfd, b"late")).add_in(msecs(60))
    start = time.monotonic()
    os.write(wfd, b"early")
    try:
        w.run()
    finally:
        os.close(r)
        os.close(wfd)
    assert [data for _, data in got] == [b"early", b"late"]
    assert got[0][0] - start < 0.02
    assert 0.028 <= fired[0] - start < 0.05
    assert got[1][0] - start >= 0.058


def test_process_sleep_and_wakeups_are_ordered(lo_host):
    world, host = lo_host
    log = []

    def sleeper(name, seconds):
        libc.sleep(seconds)
        log.append((name, world.now))

    host.spawn(sleeper, "late", 2.0)
    host.spawn(sleeper, "early", 1.0)
    world.run()
    assert log == [("early", secs(1)), ("late", secs(2))]


def test_a_crashing_program_is_reported_not_swallowed(lo_host):
    world, host = lo_host

    def crash():
        raise ValueError("boom")

    host.spawn(crash)
    with pytest.raises(Exception, match="boom"):
        world.run()


def test_ctrl_c_while_a_program_runs_ends_the_run(lo_host):
    """SIGINT lands in whatever Python code runs; in a program's code it must still stop the
    simulation (``tuxnet tap`` ran on after a Ctrl-C that came while a service ran)."""
    world, host = lo_host

    def serving():
        raise KeyboardInterrupt  # as the signal would, mid-program

    host.spawn(serving)
    host.spawn(lambda: libc.sleep(10))
    with pytest.raises(KeyboardInterrupt):
        world.run()
    assert world.now == 0


def test_sysctl_names_defaults_and_errors(lo_host):
    _, host = lo_host
    s = host.sysctl
    assert s["net.ipv4.tcp_rmem"] == (4096, 131072, 33554432)
    assert s["net.ipv4.tcp_congestion_control"] == "cubic"
    s.set("net.ipv4.tcp_rmem", "4096 540000 15728640")
    assert s.get("/proc/sys/net/ipv4/tcp_rmem") == (4096, 540000, 15728640)
    s.set("net/ipv4/tcp_syn_retries", "3")
    assert s["net.ipv4.tcp_syn_retries"] == 3
    with pytest.raises(SysctlError, match="No such file"):
        s.set("net.ipv4.tcp_no_such_thing", 1)
    with pytest.raises(SysctlError, match="Invalid argument"):
        s.set("net.ipv4.tcp_syn_retries", "many")


def test_syn_retries_give_up_with_etimedout_in_virtual_time():
    world, host = make_lo_host()
    host.sysctl.set("net.ipv4.tcp_syn_retries", 2)
    # Drop every SYN on the way out, so nobody ever answers.
    nf_register_net_hook(host, NF_INET_LOCAL_OUT, lambda h, skb, st: 0)

    def prog():
        fd = libc.socket(AF_INET, SOCK_STREAM, 0)
        start = world.now
        try:
            libc.connect(fd, ("127.0.0.1", 80))
        except OSError as e:
            return e.errno, world.now - start
        return None

    err, waited = run_program(world, host, prog)
    assert err == errno.ETIMEDOUT
    assert waited == secs(1 + 2 + 4)  # initial RTO 1 s, doubled at each retry
    assert host.mib.Tcp["RetransSegs"] == 2


def test_simultaneous_open():
    """RFC 9293 figure 7: both ends send SYN; each answers with SYN-ACK; both reach ESTABLISHED.
    A LOCAL_OUT hook holds the SYNs back briefly so that they cross, as on a long wire."""
    world, host = make_lo_host()

    def delay_syns(h, skb, state):
        tcp = skb.network_header + 20
        if skb.buf[tcp + 13] == 0x02:  # a bare SYN
            world.call_later(msecs(10), lambda: dst_output(h, None, skb))
            return NF_STOLEN
        return NF_ACCEPT

    nf_register_net_hook(host, NF_INET_LOCAL_OUT, delay_syns)
    results = {}

    def peer(me, other):
        fd = libc.socket(AF_INET, SOCK_STREAM, 0)
        libc.bind(fd, ("127.0.0.1", me))
        libc.connect(fd, ("127.0.0.1", other))
        libc.send(fd, f"from {me}".encode())
        results[me] = libc.recv(fd, 100)
        libc.close(fd)

    host.spawn(peer, 1111, 2222)
    host.spawn(peer, 2222, 1111)
    world.run()
    assert results == {1111: b"from 2222", 2222: b"from 1111"}
    assert host.mib.Tcp["ActiveOpens"] == 2 and host.mib.Tcp["PassiveOpens"] == 0


def test_poll_reports_readiness(lo_host):
    world, host = lo_host

    def late_talker():
        c = libc.socket(AF_INET, SOCK_STREAM, 0)
        libc.connect(c, ("127.0.0.1", 8000))
        libc.sleep(0.25)
        libc.send(c, b"ping")
        libc.sleep(1)
        libc.close(c)

    def prog():
        lfd = libc.socket(AF_INET, SOCK_STREAM, 0)
        libc.bind(lfd, ("127.0.0.1", 8000))
        libc.listen(lfd, 4)
        assert libc.poll([(lfd, POLLIN)], 0) == [0]
        host.spawn(late_talker)
        assert libc.poll([(lfd, POLLIN)], 100) == [POLLIN]
        s, _ = libc.accept(lfd)
        start = world.now
        assert libc.poll([(s, POLLIN | POLLOUT)], 0) == [POLLOUT]
        assert libc.poll([(s, POLLIN)], -1) == [POLLIN]
        assert world.now - start == msecs(250)
        assert libc.recv(s, 10) == b"ping"
        assert libc.poll([(s, POLLIN)], 100) == [0]
        assert libc.poll([(99, POLLIN)], 0) == [0x20]  # POLLNVAL
        return True

    assert run_program(world, host, prog)


def test_close_kills_every_process_and_frees_the_world():
    """A server asleep in accept() and a client asleep in a finally-less poll keep their world
    alive (a sleeping greenlet is opaque to the garbage collector) until the world is closed:
    then each is killed (no traceback, descriptors closed as at exit, no sleeping again in a
    ``finally``) and the world can be collected."""
    import gc
    import weakref

    def make():
        world, host = make_lo_host()

        def server():
            fd = libc.socket(AF_INET, SOCK_STREAM, 0)
            libc.bind(fd, ("127.0.0.1", 7000))
            libc.listen(fd, 1)
            libc.accept(fd)

        def stubborn():
            try:
                libc.sleep(3600)
            finally:
                libc.sleep(3600)  # a killed task must not sleep again

        procs = [host.spawn(server), host.spawn(stubborn)]
        world.run_for(msecs(10))
        assert all(p.alive for p in procs)
        world.close()
        assert [p.exit_code for p in procs] == [-9, -9] and not host.processes
        assert not any(host.tcp_hashinfo.lhash.values()) and host.console == []
        return weakref.ref(world)

    ref = make()
    gc.collect()
    assert ref() is None


@pytest.mark.cpython_only
def test_a_big_world_freezes_what_exists_while_it_runs_and_gives_it_back():
    """In a world of GC_FREEZE_HOSTS hosts or more, the objects that existed before a run sit in
    the collector's permanent generation while it runs, so full collections do not walk them; when
    the run returns they are given back, and garbage made before is collected.  Garbage an earlier
    world left is collected before the first freeze, not frozen with it.  A small world leaves the
    collector alone."""
    import gc
    import weakref

    from tuxnet.world import GC_FREEZE_HOSTS, World

    class Node:
        pass

    def garbage() -> weakref.ref:
        node = Node()
        node.cycle = node
        return weakref.ref(node)

    def frozen_during_run(world: World, host: object) -> int:
        during: list[int] = []
        host.spawn(lambda: during.append(gc.get_freeze_count()))
        world.run_for(msecs(1))
        return during[0]

    small, host = make_lo_host()
    assert frozen_during_run(small, host) == 0

    left = garbage()
    world = World()
    hosts = [world.add_host(f"h{i}") for i in range(GC_FREEZE_HOSTS)]
    assert gc.get_freeze_count() > 0 and left() is None
    made = garbage()
    assert frozen_during_run(world, hosts[0]) > 0
    assert gc.get_freeze_count() == 0
    gc.collect()
    assert made() is None


@pytest.mark.cpython_only
def test_a_big_world_run_in_steps_does_not_keep_old_garbage(monkeypatch):
    """Garbage a run of a big world leaves is frozen with everything else when the next run
    starts; after GC_COLLECT_EVENTS events the next run collects in full before it freezes, so a
    world stepped run after run frees it."""
    import gc
    import weakref

    import tuxnet.world
    from tuxnet.world import GC_FREEZE_HOSTS, World

    class Node:
        pass

    monkeypatch.setattr(tuxnet.world, "GC_COLLECT_EVENTS", 50)
    world = World()
    hosts = [world.add_host(f"h{i}") for i in range(GC_FREEZE_HOSTS)]
    refs: list[weakref.ref] = []

    def make_garbage() -> None:
        node = Node()
        node.cycle = node
        refs.append(weakref.ref(node))
        del node
        for _ in range(60):
            libc.sleep(0.001)  # events

    hosts[0].spawn(make_garbage)
    world.run_for(msecs(100))
    assert refs and refs[0]() is not None, "a cycle: only a full collection frees it"
    alive_during_next_run: list[bool] = []
    hosts[1].spawn(lambda: alive_during_next_run.append(refs[0]() is not None))
    world.run_for(msecs(1))
    assert alive_during_next_run == [False]
    gc.collect()
