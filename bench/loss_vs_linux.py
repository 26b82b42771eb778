"""Heavy loss, tuxnet beside this machine's kernel: the same transfer at the same loss rate.

Host a sends ``--size`` bytes to a reader on host b, a fraction ``--loss`` of the packets dropped
each way, CUBIC on the sender.  The kernel's runs go over a veth pair between two network
namespaces of our own: each drops its share of what arrives (``iptables -A INPUT -m statistic
--mode random``, so that TCP sees a loss on the path, not a local drop), and a's veth sends single
segments (``gso_max_segs 1``: a GSO packet would otherwise be dropped whole).  tuxnet's runs go
over a 10 Gb/s cable with seeded loss, one seed a run.  The sender reads TCP_INFO every 5 ms
(of real time for the kernel, of virtual time for tuxnet).

A table compares the runs: the transfer's duration, the largest RTO and smoothed RTT the sender
reached, and the TcpExt counters of loss recovery (medians, quartiles and largest).  Under such
loss neither stack's RTT estimate stays near the path's: timestamps echoed for segments sent long
before and SACKs of segments never resent that lost ACKs reported late are RTT samples, and
Linux takes both (``tcp_ack_update_rtt``).  The kernel's runs take real time, a minute or more
each at 20 %; needs root, iproute2 and iptables (the kernel's runs skip, saying why, without).

Usage: ``python bench/loss_vs_linux.py [--runs 10] [--size 300000] [--loss 0.2]``
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import sys
from typing import Any

from tuxnet.net.socket import AF_INET, SHUT_WR, SOCK_STREAM
from tuxnet.tapnet import netns_pair, netns_unavailable
from tuxnet.user import libc
from tuxnet.world import NSEC_PER_MSEC, World

PORT = 5001
COUNTERS = ("TCPTimeouts", "TCPLossProbes", "TCPSackRecovery", "TCPSpuriousRTOs", "TCPLossUndo", "TCPDSACKRecv")
TCP_CONGESTION = 13

# The kernel's reader and sender, run in b's and a's namespaces (PORT and SIZE filled in).
SINK = """
import socket
l = socket.socket(); l.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
l.bind(("10.9.0.2", PORT)); l.listen()
print("listening", flush=True)
c, _ = l.accept()
while c.recv(1 << 16):
    pass
c.close()
"""
SOURCE = """
import json, socket, struct, threading, time
size = SIZE
s = socket.socket(); s.setsockopt(socket.IPPROTO_TCP, socket.TCP_CONGESTION, b"cubic")
most = {"rto": 0, "srtt": 0}
done = []
def sample():
    while not done:
        info = s.getsockopt(socket.IPPROTO_TCP, socket.TCP_INFO, 104)
        most["rto"] = max(most["rto"], struct.unpack_from("I", info, 8)[0])
        most["srtt"] = max(most["srtt"], struct.unpack_from("I", info, 68)[0])
        time.sleep(0.005)
t0 = time.monotonic()
error = None
try:
    s.connect(("10.9.0.2", PORT))
    threading.Thread(target=sample).start()
    s.sendall(bytes(size)); s.shutdown(socket.SHUT_WR)
    while s.recv(4096):
        pass
except OSError as e:
    error = e.errno
seconds = time.monotonic() - t0
done.append(1)
retrans = struct.unpack_from("I", s.getsockopt(socket.IPPROTO_TCP, socket.TCP_INFO, 104), 100)[0]
print(json.dumps({"seconds": seconds, "error": error, "max_rto_ms": most["rto"] / 1000,
                  "max_srtt_ms": most["srtt"] / 1000, "retrans": retrans}))
"""


def linux_unavailable() -> str | None:
    reason = netns_unavailable()
    if reason:
        return reason
    if shutil.which("iptables") is None:
        return "iptables is missing (apt-get install iptables)"
    return None


def linux_run(size: int, loss: float, tag: int) -> dict[str, Any]:
    """One transfer by the kernel over a veth pair, ``loss`` dropped on arrival at each end."""
    a, b = netns_pair(f"tuxnet-loss-{os.getpid()}-{tag}", "10.9.0.1/24", "10.9.0.2/24")
    procs = []
    try:
        for ns in (a, b):
            ns.run("ip", "link", "set", "eth0", "gso_max_segs", "1")
            ns.run("iptables", "-A", "INPUT", "-p", "tcp", "-m", "statistic", "--mode", "random",
                   "--probability", str(loss), "-j", "DROP")
        sink = b.popen(sys.executable, "-c", SINK.replace("PORT", str(PORT)))
        procs.append(sink)
        assert sink.stdout is not None and sink.stdout.readline().strip() == "listening"
        source = a.popen(sys.executable, "-c", SOURCE.replace("PORT", str(PORT)).replace("SIZE", str(size)))
        procs.append(source)
        result = json.loads(source.communicate()[0])
        counters = a.tcp_ext()
        result.update({name: counters[name] for name in COUNTERS})
        return result
    finally:
        for proc in procs:
            proc.kill()
            proc.communicate()
        a.close()
        b.close()


def tuxnet_run(size: int, loss: float, seed: int) -> dict[str, Any]:
    """The same transfer in tuxnet, over a 10 Gb/s cable losing ``loss`` of the frames each way."""
    world = World(seed=seed)
    a, b = world.add_host("a"), world.add_host("b")
    world.connect(a, b, rate="10gbit", a_addr="10.9.0.1/24", b_addr="10.9.0.2/24", loss=loss)
    result: dict[str, Any] = {"error": None}

    def reader() -> None:
        lfd = libc.socket(AF_INET, SOCK_STREAM, 0)
        libc.bind(lfd, ("10.9.0.2", PORT))
        libc.listen(lfd, 1)
        fd, _ = libc.accept(lfd)
        while libc.recv(fd, 1 << 16):
            pass
        libc.close(fd)

    def writer() -> None:
        fd = libc.socket(AF_INET, SOCK_STREAM, 0)
        libc.setsockopt(fd, 6, TCP_CONGESTION, "cubic")
        start = world.now
        try:
            libc.connect(fd, ("10.9.0.2", PORT))
            result["sk"] = sk = next(s for s in a.tcp_hashinfo.ehash.values() if getattr(s, "inet_dport", 0) == PORT)
            sent = 0
            while sent < size:
                sent += libc.send(fd, bytes(min(1 << 16, size - sent)))
            libc.shutdown(fd, SHUT_WR)
            while libc.recv(fd, 4096):
                pass
        except OSError as e:
            result["error"] = e.errno
        result["seconds"] = (world.now - start) / 1e9
        result["retrans"] = sk.total_retrans if "sk" in result else 0
        libc.close(fd)

    b.spawn(reader)
    world.run_for(NSEC_PER_MSEC)
    proc = a.spawn(writer)
    most_rto = most_srtt = 0
    while proc.alive:
        world.run_for(5 * NSEC_PER_MSEC)
        sk = result.get("sk")
        if sk is not None and hasattr(sk, "icsk_rto"):
            most_rto = max(most_rto, sk.icsk_rto)
            most_srtt = max(most_srtt, sk.srtt_us >> 3)
    result.pop("sk", None)
    result.update({"max_rto_ms": most_rto / 1e6, "max_srtt_ms": most_srtt / 1000})
    result.update({name: a.mib.TcpExt[name] for name in COUNTERS})
    return result


def summary(runs: list[dict[str, Any]], key: str) -> str:
    values = sorted(r[key] for r in runs)
    q1, q2, q3 = statistics.quantiles(values, n=4, method="inclusive") if len(values) > 1 else (values[0],) * 3
    return f"{q2:>9.1f} {q1:>9.1f} {q3:>9.1f} {values[-1]:>9.1f}"


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--runs", type=int, default=10, help="runs of each (default 10)")
    ap.add_argument("--size", type=int, default=300_000, help="bytes a transfer (default 300000)")
    ap.add_argument("--loss", type=float, default=0.2, help="the share dropped each way (default 0.2)")
    args = ap.parse_args(argv)
    stacks: dict[str, list[dict[str, Any]]] = {"linux": [], "tuxnet": []}
    reason = linux_unavailable()
    if reason:
        print(f"the kernel's runs skip: {reason}")
        del stacks["linux"]
    for name, runs in stacks.items():
        for i in range(args.runs):
            r = linux_run(args.size, args.loss, i) if name == "linux" else tuxnet_run(args.size, args.loss, i + 1)
            runs.append(r)
            # each run as it ends, for a kernel's run can take many minutes
            print(f"{name} run {i + 1}/{args.runs}: {json.dumps(r)}", file=sys.stderr, flush=True)
    print(f"{args.size} bytes a -> b, {args.loss:.0%} lost each way, CUBIC, {args.runs} runs each")
    print(f"{'':22}{'median':>9} {'q1':>9} {'q3':>9} {'largest':>9}")
    for name, runs in stacks.items():
        errors = [r["error"] for r in runs if r["error"] is not None]
        done = [r for r in runs if r["error"] is None]
        print(f"{name}: {len(done)} completed" + (f", errors {errors}" if errors else ""))
        for key in ("seconds", "max_rto_ms", "max_srtt_ms", "retrans", *COUNTERS):
            print(f"  {key:<20}{summary(done, key)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
