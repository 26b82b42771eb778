"""Netfilter's verdicts as the sender sees them (``nf_hook_slow``, ``NF_HOOK``): a packet dropped
on its way out fails the send with EPERM (counted in Ip OutDiscards for a datagram), a stolen one
counts as sent, and TCP keeps a segment whose first transmission failed in its write queue until
the zero-window probe timer sends it, not as a retransmission.
tests/tap/test_netfilter_vs_linux.py sets the datagram cases beside this machine's kernel."""

from __future__ import annotations

import pytest
from netlab import cable_pair, run

from tuxnet.kernel.errno import EPERM
from tuxnet.net.core.netfilter import (
    NF_ACCEPT,
    NF_DROP,
    NF_INET_LOCAL_OUT,
    NF_INET_POST_ROUTING,
    NF_STOLEN,
    nf_register_net_hook,
)
from tuxnet.net.socket import AF_INET, SOCK_DGRAM, SOCK_STREAM
from tuxnet.user import libc
from tuxnet.user.programs.ping import ping
from tuxnet.world import msecs


def _to_port(port: int, verdict: int):
    """A hook giving UDP datagrams to ``port`` the ``verdict``, and accepting the rest."""

    def hook(host, skb, state) -> int:
        buf, th = skb.buf, skb.network_header + 20
        is_udp = buf[skb.network_header + 9] == 17
        return verdict if is_udp and int.from_bytes(buf[th + 2:th + 4], "big") == port else NF_ACCEPT

    return hook


def _send_two() -> list[int]:
    fd = libc.socket(AF_INET, SOCK_DGRAM, 0)
    results = []
    for port in (9000, 9001):
        try:
            results.append(libc.sendto(fd, b"x" * 100, 0, ("10.0.0.2", port)))
        except OSError as e:
            results.append(-e.errno)
    return results


@pytest.mark.parametrize("hook", [NF_INET_LOCAL_OUT, NF_INET_POST_ROUTING])
def test_a_dropped_datagram_fails_its_send_with_eperm(hook):
    world, a, _b = cable_pair()
    nf_register_net_hook(a, hook, _to_port(9000, NF_DROP))
    before = a.mib.Ip["OutDiscards"], a.mib.Udp["OutDatagrams"]
    assert run(world, a, _send_two) == [-EPERM, 100]
    assert (a.mib.Ip["OutDiscards"] - before[0], a.mib.Udp["OutDatagrams"] - before[1]) == (1, 1)


def test_a_stolen_datagram_counts_as_sent():
    world, a, _b = cable_pair()
    nf_register_net_hook(a, NF_INET_LOCAL_OUT, _to_port(9000, NF_STOLEN))
    assert run(world, a, _send_two) == [100, 100]
    assert a.mib.Ip["OutDiscards"] == 0


def test_ping_reports_the_refused_send():
    world, a, _b = cable_pair()
    nf_register_net_hook(a, NF_INET_LOCAL_OUT, lambda host, skb, state: NF_DROP)
    stats = run(world, a, ping, "10.0.0.2", count=1, linger=1)
    # as this machine's ping with an iptables OUTPUT DROP rule: sendto fails with EPERM and, the
    # error queue being empty, iputils says nothing of it (pinger's hard_local_error is not reached)
    assert "sendmsg" not in a.output() and "1 packets transmitted, 0 received, 100% packet loss" in a.output()
    assert (stats.transmitted, stats.received) == (1, 0)


def test_tcp_sends_a_segment_refused_on_the_way_out_again_with_the_probe_timer():
    world, a, b = cable_pair()
    sent = []  # when each data segment left

    def refuse_first(host, skb, state) -> int:
        th = skb.network_header + 20
        if skb.tail - th - (skb.buf[th + 12] >> 4) * 4:
            sent.append(world.now)
            if len(sent) == 1:
                return NF_DROP
        return NF_ACCEPT

    nf_register_net_hook(a, NF_INET_LOCAL_OUT, refuse_first)

    def server() -> tuple[int, bytes]:
        lfd = libc.socket(AF_INET, SOCK_STREAM, 0)
        libc.bind(lfd, ("10.0.0.2", 7000))
        libc.listen(lfd, 1)
        fd, _ = libc.accept(lfd)
        data = libc.recv(fd, 2000)
        return world.now, data

    def client() -> int:
        fd = libc.socket(AF_INET, SOCK_STREAM, 0)
        libc.connect(fd, ("10.0.0.2", 7000))
        n = libc.send(fd, b"x" * 1000)
        libc.sleep(1)  # (a close would push the queue out with its FIN)
        return n

    srv = b.spawn(server)
    assert run(world, a, client) == 1000  # queued: the send itself succeeds
    world.run_until(lambda: not srv.alive)
    arrived, data = srv.result
    assert data == b"x" * 1000
    # tcp_write_xmit stopped at the refused segment; tcp_check_probe_timer armed the probe timer
    # (the RTO, at least TCP_RTO_MIN), whose tcp_write_wakeup sent it as new data
    assert len(sent) == 2 and sent[1] - sent[0] >= msecs(200)
    assert arrived >= sent[1]
    assert a.mib.Tcp["RetransSegs"] == 0
