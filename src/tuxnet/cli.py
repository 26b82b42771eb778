"""The ``tuxnet`` command."""

from __future__ import annotations

import argparse
import sys

from tuxnet.world import World


def _demo_client(tracer_box: dict) -> None:
    """``hello`` with the tracer switched on around the exchange (send to the answer)."""
    from tuxnet.net.socket import AF_INET, SOCK_STREAM
    from tuxnet.user import libc
    from tuxnet.user.programs.hello import IP_ADDR, MAX_BUF_LEN, PORT

    sock = libc.socket(AF_INET, SOCK_STREAM, 0)
    libc.connect(sock, (IP_ADDR, PORT))
    tracer = tracer_box.get("tracer")
    if tracer is not None:
        tracer.start()
    libc.send(sock, b"hello", 0)
    buf = libc.recv(sock, MAX_BUF_LEN, 0)
    if tracer is not None:
        tracer.stop()
    libc.printf("%s\n", buf.decode())
    libc.close(sock)


def cmd_demo(args: argparse.Namespace) -> int:
    """The seed's walk: boot a host, bring ``lo`` up, run replyhi and hello, show the path."""
    from tuxnet.trace.capture import Capture
    from tuxnet.trace.ftrace import SEED_FUNCTIONS, FunctionTracer
    from tuxnet.user.programs.hello import replyhi

    out = sys.stdout
    world = World(seed=args.seed)
    host = world.add_host("menuos", echo=True)
    host.dev_open("lo")
    host.ip_addr_add("lo", "127.0.0.1/8")
    out.write("MenuOS (tuxnet) booted: lo UP 127.0.0.1/8 mtu 65536\n")
    capture = None
    if args.pcap or args.tcpdump:
        capture = Capture(host, "lo", pcap=args.pcap, tcpdump=out if args.tcpdump else None)
    out.write("MenuOS>> replyhi\n")
    host.spawn(replyhi, count=1)
    out.write("Please input hello...\n")
    world.run(until=1_000_000)
    out.write("MenuOS>> hello\n")
    tracer_box: dict = {}
    tracer = FunctionTracer(world, out=args.trace_file, names=None if args.trace else SEED_FUNCTIONS)
    tracer_box["tracer"] = tracer
    host.spawn(_demo_client, tracer_box, name="hello")
    world.run()
    if capture is not None:
        capture.close()
        if args.pcap:
            args.pcap.close()
    if args.trace_file:
        args.trace_file.close()
    out.write("\nThe path the bytes took (kernel functions, virtual time in seconds):\n\n")
    out.write(tracer.text())
    out.write(f"\n{tracer.calls} kernel function calls traced; world time {world.now / 1e9:.3f} s "
              f"(TIME_WAIT included), {world.events_run} events.\n")
    if args.chrome:
        with args.chrome as f:
            f.write(tracer.chrome_json())
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="tuxnet", description="The Linux network core, rebuilt in Python.")
    sub = parser.add_subparsers(dest="command", required=True)
    demo = sub.add_parser("demo", help="the seed article's walk: hello/replyhi over loopback, traced")
    demo.add_argument("--trace", action="store_true", help="trace every kernel function, not just the seed's")
    # Output files are opened before anything runs, so a path that cannot be written is an error
    # at once (argparse's "can't open"), not a traceback after the run.
    demo.add_argument("--trace-file", type=argparse.FileType("w"), help="also write the trace to this file")
    demo.add_argument("--chrome", type=argparse.FileType("w"),
                      help="write the trace as Chrome/Perfetto JSON to this file")
    demo.add_argument("--tcpdump", action="store_true", help="print the packets as tcpdump -i lo would")
    demo.add_argument("--pcap", type=argparse.FileType("wb"), help="write the packets on lo to this pcap file")
    demo.add_argument("--seed", type=int, default=0)
    demo.set_defaults(func=cmd_demo)
    for name, (_, _, text) in DELEGATED.items():
        sub.add_parser(name, help=text, add_help=False)
    argv = sys.argv[1:] if argv is None else argv
    if argv and argv[0] in DELEGATED:
        module, func, _ = DELEGATED[argv[0]]
        return _delegate(module, func, argv[1:])
    args = parser.parse_args(argv)
    return args.func(args)


# Subcommands with their own argument parsers: name -> (module, function, help).
DELEGATED = {
    "bench": ("tuxnet.benchmarks", "bench_main", "wall-clock benchmarks, a table and JSON (see --help)"),
    "tap": ("tuxnet.tapnet", "tap_main", "a tuxnet host on a real network through a TAP device (root)"),
    "menuos": ("tuxnet.user.programs.menuos", "menuos_main", "the course's MenuOS shell on a small network"),
    "run": ("tuxnet.cli", "run_main", "build and run a network from a TOML topology file"),
    "packetdrill": ("tuxnet.packetdrill.cli", "packetdrill_main", "run packetdrill scripts against tuxnet"),
}


def run_main(argv: list[str]) -> int:
    """``tuxnet run TOPOLOGY.toml``."""
    from tuxnet.topology import run_topology_file

    parser = argparse.ArgumentParser(prog="tuxnet run", description="Build a network from a TOML file and run it.")
    parser.add_argument("topology", help="the topology file (see the format at the top of tuxnet/topology.py)")
    args = parser.parse_args(argv)
    return run_topology_file(args.topology)


def _delegate(module: str, func: str, rest: list[str]) -> int:
    """Subcommands with their own argument parsers."""
    import importlib

    return getattr(importlib.import_module(module), func)(rest)


def entry() -> int:
    """The console script: ``main``, quiet when the output pipe closes early (``| head``)."""
    try:
        return main()
    except BrokenPipeError:
        sys.stderr.close()
        return 141


if __name__ == "__main__":
    sys.exit(entry())
