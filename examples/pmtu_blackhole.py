"""A path MTU black hole, and how Linux's TCP gets out of it (RFC 4821, ``tcp_mtu_probing``).

    a 10.0.1.1 -- r1 ==MTU 1000== r2 -- b 10.0.3.2

Both ends sit on 1500-byte links, so both announce MSS 1460; only the routers' link is narrower.
r1 answers each too-big segment with ICMP "fragmentation needed, MTU 1000", but a firewall on a
drops all ICMP (``iptables -A INPUT -p icmp -j DROP``), so path MTU discovery by ICMP (RFC 1191)
never learns anything: a PMTU black hole.  a sends 256 KB to b.

    python examples/pmtu_blackhole.py      # tcp_mtu_probing=1: black hole detection
    python examples/pmtu_blackhole.py 0    # Linux's default, 0: the connection stalls
    python examples/pmtu_blackhole.py 2    # probe from tcp_base_mss (1024) up, from the start

It prints a's segments each time their size changes (tcpdump's lines), then the connection as
``ss -ti`` shows it and the counters of ``nstat``.  With 1 the first segments time out again and
again; after ``tcp_retries1`` (3) timeouts' worth of time ``tcp_mtu_probing()`` (tcp_timer.c)
switches the search on, sending at ``tcp_base_mss``, still too big here, and at the next timeout
halves it to 512; from there ``tcp_mtu_probe()`` sends probes half-way between what got through
and what did not, until the two are less than ``tcp_probe_threshold`` (8) bytes apart.
"""

from __future__ import annotations

import sys
from typing import Any

from tuxnet.benchmarks import tcp_sink, tcp_source
from tuxnet.net.core.netfilter import NF_ACCEPT, NF_DROP, NF_INET_LOCAL_IN, nf_register_net_hook
from tuxnet.topology import load_topology
from tuxnet.trace.capture import Capture
from tuxnet.user.ss import format_ss
from tuxnet.user.ssfilter import SS_CONN

TOPOLOGY = """
seed = 1

[[host]]
name = "a"
routes = ["default via 10.0.1.254"]

[[host]]
name = "b"
routes = ["default via 10.0.3.254"]

[[router]]
name = "r1"
routes = ["10.0.3.0/24 via 10.0.2.2"]

[[router]]
name = "r2"
routes = ["10.0.1.0/24 via 10.0.2.1"]

[[link]]
a = "a"
b = "r1"
a_addr = "10.0.1.1/24"
b_addr = "10.0.1.254/24"
rate = "100mbit"
delay = "1ms"

[[link]]
a = "r1"
b = "r2"
a_addr = "10.0.2.1/24"
b_addr = "10.0.2.2/24"
rate = "100mbit"
delay = "1ms"
mtu = 1000

[[link]]
a = "r2"
b = "b"
a_addr = "10.0.3.254/24"
b_addr = "10.0.3.2/24"
rate = "100mbit"
delay = "1ms"
"""

SIZE = 256 * 1024
COUNTERS = ("TCPTimeouts", "TCPMTUPSuccess", "TCPMTUPFail", "TCPLossProbes")


def drop_icmp(_host: Any, skb: Any, _state: Any) -> int:
    """The firewall: ICMP (IP protocol 1) goes no further than a's LOCAL_IN hook."""
    return NF_DROP if skb.buf[skb.network_header + 9] == 1 else NF_ACCEPT


def main(probing: int = 1, out: Any = sys.stdout) -> int:
    net = load_topology("pmtu_blackhole", text=TOPOLOGY)
    world, a, b = net.world, net.nodes["a"], net.nodes["b"]
    a.sysctl.set("net.ipv4.tcp_mtu_probing", str(probing))
    nf_register_net_hook(a, NF_INET_LOCAL_IN, drop_icmp)
    last = [0]

    def show_size_changes(line: str) -> None:
        length = int(line.rsplit("length ", 1)[1]) if "length " in line else 0
        if " > 10.0.3.2." in line and length and length != last[0]:
            last[0] = length
            print(line, file=out)

    capture = Capture(a, "eth0", tcpdump=show_size_changes)
    received: list[int] = []
    b.spawn(tcp_sink, "10.0.3.2", 5001, received)
    world.run_for(1_000_000)
    a.spawn(tcp_source, "10.0.3.2", 5001, bytes(SIZE), SIZE)
    world.run_until(lambda: bool(received), timeout=60 * 10**9)
    capture.close()
    print(format_ss(a, info=True, states=SS_CONN), end="", file=out)
    print(" ".join(f"{name} {a.mib.TcpExt[name]}" for name in COUNTERS), file=out)
    if not received:
        print(f"after {world.now / 1e9:.1f} s: stalled, nothing delivered", file=out)
        return 1
    print(f"{received[0]} bytes delivered in {world.now / 1e9:.3f} s of virtual time", file=out)
    return 0


if __name__ == "__main__":
    sys.exit(main(int(sys.argv[1]) if len(sys.argv) > 1 else 1))
