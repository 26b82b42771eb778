"""ping's ``-I``, ``-f`` and ``-l``, a connect() that finds no route, and ``-M do`` past the MTU,
in iputils 20221126's words (as this machine's ping prints them in a namespace; the comparison
itself is tests/tap/test_ping_more_vs_linux.py), on two tuxnet hosts on one cable."""

from __future__ import annotations

from netlab import cable_pair

from tuxnet.user.programs.ping import ping_main


def run(argv: list[str]) -> tuple[str, int]:
    world, a, _b = cable_pair()
    proc = a.spawn(ping_main, argv)
    world.run_until(lambda: not proc.alive, timeout=int(60e9))
    assert not proc.alive
    return a.output(), proc.result if proc.exit_code == 0 else proc.exit_code


def test_a_device_binds_the_socket_and_names_itself_in_the_ping_line():
    out, status = run(["-I", "eth0", "-c", "1", "10.0.0.2"])
    assert out.startswith("PING 10.0.0.2 (10.0.0.2) from 10.0.0.1 eth0: 56(84) bytes of data.\n64 bytes from 10.0.0.2:")
    assert status == 0


def test_a_source_address_is_bound_and_shown_with_no_device():
    out, status = run(["-I", "10.0.0.1", "-c", "1", "10.0.0.2"])
    assert out.startswith("PING 10.0.0.2 (10.0.0.2) from 10.0.0.1 : 56(84) bytes of data.\n")
    assert status == 0


def test_an_unknown_device_or_an_address_not_ours_ends_ping():
    assert run(["-I", "nosuch", "-c", "1", "10.0.0.2"]) == ("ping: SO_BINDTODEVICE nosuch: No such device\n", 2)
    assert run(["-I", "10.0.0.9", "-c", "1", "10.0.0.2"]) == ("ping: bind: Cannot assign requested address\n", 2)


def test_no_route_is_the_connect_error_alone():
    assert run(["-c", "2", "10.9.0.2"]) == ("ping: connect: Network is unreachable\n", 2)


def test_with_a_source_address_no_connect_is_made_and_the_refused_sends_are_silent():
    """(sendto's ENETUNREACH; the error queue is empty, so nothing is printed or counted)"""
    out, status = run(["-I", "10.0.0.1", "-c", "2", "-i", "0.2", "10.9.0.2"])
    assert out == ("PING 10.9.0.2 (10.9.0.2) from 10.0.0.1 : 56(84) bytes of data.\n\n"
                   "--- 10.9.0.2 ping statistics ---\n"
                   "2 packets transmitted, 0 received, 100% packet loss, time 200ms\n\n")
    assert status == 1


def test_a_request_past_the_mtu_is_a_local_error_from_the_error_queue():
    out, status = run(["-M", "do", "-s", "1473", "-c", "2", "-i", "0.2", "10.0.0.2"])
    assert out == ("PING 10.0.0.2 (10.0.0.2) 1473(1501) bytes of data.\n"
                   "ping: local error: message too long, mtu=1500\nping: local error: message too long, mtu=1500\n\n"
                   "--- 10.0.0.2 ping statistics ---\n"
                   "2 packets transmitted, 0 received, +2 errors, 100% packet loss, time 200ms\n\n")
    assert status == 1
    quiet, _ = run(["-M", "do", "-s", "1473", "-c", "2", "-i", "0.2", "-q", "10.0.0.2"])
    assert "2 packets transmitted, 0 received, 100% packet loss" in quiet  # -q: not counted
    deadline, _ = run(["-M", "do", "-s", "1473", "-w", "2", "10.0.0.2"])
    assert "1 packets transmitted, 0 received, +1 errors, 100% packet loss, time 0ms" in deadline


def test_an_icmp_error_is_read_from_the_error_queue():
    out, _ = run(["-c", "2", "-i", "0.2", "10.0.0.5"])  # nobody answers ARP
    assert ("From 10.0.0.1 icmp_seq=1 Destination Host Unreachable\n"
            "From 10.0.0.1 icmp_seq=2 Destination Host Unreachable\n") in out
    assert "2 packets transmitted, 0 received, +2 errors, 100% packet loss" in out


def test_a_flood_prints_a_dot_a_request_and_takes_it_back_a_reply():
    out, status = run(["-f", "-c", "5", "10.0.0.2"])
    head, stats = out.split("\n--- ", 1)
    assert head == "PING 10.0.0.2 (10.0.0.2) 56(84) bytes of data.\n" + ".\b \b" * 5
    assert stats.startswith("10.0.0.2 ping statistics ---\n"
                            "5 packets transmitted, 5 received, 0% packet loss, time 0ms\n")
    assert ", ipg/ewma " in stats and status == 0
    errors, _ = run(["-f", "-M", "do", "-s", "1473", "-c", "2", "10.0.0.2"])
    assert "bytes of data.\nEE\n---" in errors  # a local error: E, and 10 ms to the next request
    assert "2 packets transmitted, 0 received, +2 errors, 100% packet loss, time 10ms" in errors


def test_a_flood_with_an_interval_keeps_it_and_still_shows_ipg():
    out, _ = run(["-f", "-c", "3", "-i", "0.2", "10.0.0.2"])
    assert "time 400ms" in out and "ipg/ewma 200.000/" in out


def test_preload_sends_that_many_at_once_then_one_an_interval():
    out, _ = run(["-l", "3", "-c", "4", "-i", "0.5", "10.0.0.2"])
    assert "4 packets transmitted, 4 received, 0% packet loss, time 500ms" in out and "pipe 3" in out
    flood, _ = run(["-f", "-l", "3", "-c", "6", "10.0.0.2"])
    marks = flood.split("bytes of data.\n", 1)[1].split("\n", 1)[0]
    assert marks.startswith("...") and marks.count(".") == 6 and marks.count("\b \b") == 6
    assert run(["-l", "0", "10.0.0.2"]) == ("ping: invalid argument: '0': out of range: 1 <= value <= 65536\n", 1)


def test_a_request_out_of_lo_to_an_address_not_ours_is_discarded_as_linux_discards_it():
    """Bound to lo, the request loops back still holding its output route, which takes nothing in
    (``dst_alloc``'s ``dst_discard``): no reply, and the kernel does not trip over it."""
    out, status = run(["-I", "lo", "-c", "1", "10.0.0.2"])
    assert out == ("ping: Warning: source address might be selected on device other than: lo\n"
                   "PING 10.0.0.2 (10.0.0.2) from 10.0.0.1 lo: 56(84) bytes of data.\n\n"
                   "--- 10.0.0.2 ping statistics ---\n"
                   "1 packets transmitted, 0 received, 100% packet loss, time 0ms\n\n")
    assert status == 1
