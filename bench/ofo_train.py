"""One loss in a long fat pipe: the receiver holds a window of segments out of order.

Host a sends ``--size`` MB to a reader on host b over a cable of ``--rate`` and ``--delay`` (one
way), both with buffers large enough for the path; a's NIC segments what it sends (TSO).  b's
netfilter PRE_ROUTING hook drops one data segment, the first after ``--at`` MB, so that everything
a sends in the next round trip waits in b's out-of-order queue (``tcp_data_queue_ofo``) until the
retransmission fills the hole.  b's NIC has GRO off (``ethtool -K eth0 gro off``), so that each
segment is one entry of the queue, as for a NIC without receive offload.

It reports the wall time with and without the loss, the segments queued out of order (TcpExt
TCPOFOQueue) and the longest the queue grew.  The queue is a list in sequence order, appended to
at its end and searched by bisection, the sender's RACK walks only what may be overdue, and the
receiver compresses its SACKs (three duplicate ACKs, then one per millisecond): so the loss costs
about what the same segments cost in order, where a walk of a queue per segment made it cost the
square of the window.

Usage: ``python bench/ofo_train.py [--size MB] [--at MB] [--rate 10gbit] [--delay 5ms]``
"""

from __future__ import annotations

import argparse
import struct
import time
from typing import Any

from tuxnet.benchmarks import tcp_sink, tcp_source
from tuxnet.net.core.netfilter import NF_ACCEPT, NF_DROP, NF_INET_PRE_ROUTING, nf_register_net_hook
from tuxnet.user.ethtool import ethtool
from tuxnet.world import World

PORT = 5001
BUFFER = 64 << 20


def transfer(size: int, rate: str, delay: str, drop_at: int | None) -> dict[str, Any]:
    """Send ``size`` bytes from a to b; drop the first data segment after ``drop_at`` bytes (None:
    none).  Returns the wall time, TCPOFOQueue and the out-of-order queue's largest length."""
    world = World(seed=1)
    a, b = world.add_host("a"), world.add_host("b")
    world.connect(a, b, rate=rate, delay=delay, mtu=1500, a_addr="10.0.0.1/24", b_addr="10.0.0.2/24")
    for host in (a, b):
        host.sysctl.set("net.core.rmem_max", BUFFER)
        host.sysctl.set("net.core.wmem_max", BUFFER)
        host.sysctl.set("net.ipv4.tcp_wmem", (4096, 16384, BUFFER))
        host.sysctl.set("net.ipv4.tcp_rmem", (4096, 131072, BUFFER))
    ethtool(a, "-K eth0 tx on tso on")  # (as a 10 Gb/s NIC ships)
    ethtool(b, "-K eth0 gro off")
    seen = [0, 0]  # payload bytes that reached b, longest out-of-order queue
    dropped = [drop_at is None]

    def hook(host: Any, skb: Any, state: Any) -> int:
        nh = skb.data
        buf = skb.buf
        ihl = (buf[nh] & 0x0F) * 4
        tot_len, = struct.unpack_from("!H", buf, nh + 2)
        payload = tot_len - ihl - ((buf[nh + ihl + 12] >> 4) << 2)
        for sk in host.tcp_hashinfo.ehash.values():
            seen[1] = max(seen[1], len(getattr(sk, "out_of_order_queue", ())))
        if payload > 0 and not dropped[0] and seen[0] >= drop_at:
            dropped[0] = True
            return NF_DROP
        seen[0] += max(payload, 0)
        return NF_ACCEPT

    nf_register_net_hook(b, NF_INET_PRE_ROUTING, hook)
    result: list[int] = []
    b.spawn(tcp_sink, "10.0.0.2", PORT, result, BUFFER // 2)
    payload = bytes(range(256)) * 4096
    start = time.perf_counter()
    a.spawn(tcp_source, "10.0.0.2", PORT, payload, size)
    world.run_until(lambda: bool(result))
    wall = time.perf_counter() - start
    assert result[0] == size, result
    return {"wall_s": wall, "ofo": b.mib.TcpExt["TCPOFOQueue"], "longest": seen[1]}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--size", type=float, default=100.0, help="MB to send")
    parser.add_argument("--at", type=float, default=50.0, help="MB into the transfer, the one loss")
    parser.add_argument("--rate", default="10gbit")
    parser.add_argument("--delay", default="5ms", help="one way")
    args = parser.parse_args()
    size = int(args.size * (1 << 20))
    clean = transfer(size, args.rate, args.delay, None)
    lossy = transfer(size, args.rate, args.delay, int(args.at * (1 << 20)))
    print(f"{args.size:g} MB over {args.rate}, {args.delay} one way, b's NIC without GRO")
    print(f"  no loss:  {clean['wall_s']:.2f} s wall, {clean['ofo']:,} segments out of order")
    print(f"  one loss: {lossy['wall_s']:.2f} s wall ({lossy['wall_s'] / clean['wall_s']:.2f} x), "
          f"{lossy['ofo']:,} segments out of order, the queue at most {lossy['longest']:,} long")


if __name__ == "__main__":
    main()
