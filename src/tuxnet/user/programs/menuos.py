"""MenuOS, the course's shell, on a simulated host: ``tuxnet menuos``.

The course boots a tiny Linux 3.18.6 under QEMU whose init is a menu: it brings up ``lo`` and
``eth0`` (SIOCSIFADDR, SIOCSIFFLAGS), adds the default gateway (SIOCADDRT), lists the interfaces
with their IP and MAC addresses, prints its banner and prompts ``MenuOS>>``.  Each command line is
looked up in the menu, its entry printed (``cmd - description``, as the course's menu engine
does) and its handler run.  Here the handlers are programs: each runs as a child process of the
shell (named after the command, as it shows in a trace), and the shell waits for it; ``replyhi``
forks its server into the background, as the course's ``StartReplyhi`` does, and ``tcpdump``
runs as a background job (``tcpdump ... &``) that ``kill`` stops, as any program does with a
``&`` after it; ``kill %N`` names a job by its number.  A line is split into words as a shell
splits it (quotes keep spaces in a word); pipes and redirections are a shell's, which MenuOS is
not, and it says so.  When the terminal goes (end of input, or ``quit``), the jobs still running
get SIGHUP, as a shell's jobs get it when their terminal hangs up, and the shell waits for them;
at the end of a script they first have a second of the world's time, as a terminal's user would
give them before leaving.

The host sits in the course's final-project network (``final_project``): eth0 on a switch with a
router as the gateway, and behind the router a server LAN with a DNS server and a web server.
Commands come from the terminal or, when stdin is not a terminal, from stdin (each line echoed
after the prompt, so that a script's output reads as a session).  At a terminal the time the user
takes to type a command passes on the simulated machines too, as it passes on the course's QEMU
guest while its shell waits: a connection closed by one command has finished its FIN exchange
when the next one looks, and leaves TIME_WAIT 60 seconds later.  Lines from a pipe follow one
another at once, so a script's session is the same on every run.
"""

from __future__ import annotations

import argparse
import shlex
import sys
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, TextIO

from tuxnet.kernel.sched import WaitQueue, current
from tuxnet.kernel.signal import SIGHUP, SIGNAL_NAMES, SIGTERM
from tuxnet.net.core.dev import IFF_UP
from tuxnet.net.core.utils import in_ntoa
from tuxnet.trace.ftrace import SEED_FUNCTIONS, FunctionTracer
from tuxnet.user import libc
from tuxnet.user.ctype import isdigits
from tuxnet.user.iproute import ip_main
from tuxnet.user.nstat import nstat_main
from tuxnet.user.programs import nettools
from tuxnet.user.programs.arping import arping_main
from tuxnet.user.programs.cat import cat_main
from tuxnet.user.programs.dns import dns_main
from tuxnet.user.programs.final_project import GATEWAY, MENUOS_ADDRESS, final_project
from tuxnet.user.programs.hello import hello, replyhi
from tuxnet.user.programs.http import http_main
from tuxnet.user.programs.ping import ping_main
from tuxnet.user.programs.tcpdump import tcpdump_main
from tuxnet.user.programs.tracepath import tracepath_main
from tuxnet.user.programs.traceroute import traceroute_main
from tuxnet.user.ss import ss_main
from tuxnet.user.sysctl import sysctl_main
from tuxnet.user.tc import tc_main
from tuxnet.world import NSEC_PER_SEC, World

if TYPE_CHECKING:
    from tuxnet.kernel.host import Host

PROMPT = "MenuOS>>"
VERSION = "MenuOS V1.0(Based on Linux 3.18.6)"

_GLYPHS = {
    "M": ["*     *", "**   **", "* * * *", "*  *  *", "*     *", "*     *", "*     *"],
    "e": ["       ", "       ", " ***** ", "*     *", "*******", "*      ", " ***** "],
    "n": ["       ", "       ", "* **** ", "**    *", "*     *", "*     *", "*     *"],
    "u": ["       ", "       ", "*     *", "*     *", "*     *", "*    **", " **** *"],
    "O": [" ***** ", "*     *", "*     *", "*     *", "*     *", "*     *", " ***** "],
    "S": [" ***** ", "*     *", "*      ", " ***** ", "      *", "*     *", " ***** "],
}
BANNER = "\n".join("  ".join(_GLYPHS[c][row] for c in "MenuOS").rstrip() for row in range(7)) + "\n"

# What ``trace on`` follows: the seed's TCP path, and the UDP, routing and ARP functions a DNS
# query takes on its way out and the answer on its way in.
TRACE_FUNCTIONS = SEED_FUNCTIONS + (
    "sys_sendmsg", "udp_sendmsg", "ip_route_output_key", "fib_lookup", "ip_make_skb", "udp_send_skb",
    "ip_send_skb", "__ipv4_neigh_lookup_noref", "__neigh_create", "neigh_resolve_output", "neigh_event_send",
    "__neigh_event_send", "arp_solicit", "arp_send", "arp_create", "arp_xmit", "arp_rcv", "arp_process",
    "neigh_update", "udp_rcv", "__udp4_lib_rcv", "__udp4_lib_lookup", "udp_queue_rcv_skb", "udp_recvmsg",
    "ip_forward", "icmp_rcv", "icmp_send", "sys_poll",
)


class Terminal:
    """The console's line discipline: lines typed at the real terminal (or read from a script)
    wait here until the shell reads them."""

    def __init__(self) -> None:
        self.lines: deque[str] = deque()
        self.wq = WaitQueue()
        self.reading = False
        self.hung_up = False

    def read_line(self) -> str | None:
        """The next line (without its newline), sleeping until one is typed; None after hangup."""
        proc = current()
        while not self.lines and not self.hung_up:
            self.reading = True
            proc.sleep_on(self.wq)
        self.reading = False
        return self.lines.popleft() if self.lines else None

    def type_line(self, line: str) -> None:
        self.lines.append(line.rstrip("\r\n"))
        self.reading = False
        self.wq.wake_up()

    def hang_up(self) -> None:
        self.hung_up = True
        self.wq.wake_up()


@dataclass
class NetConfig:
    """What MenuOS's init configures: eth0's address and the default gateway."""

    address: str
    gateway: str


def _bring_up(host: Host, dev: str, cidr: str | None) -> None:
    """SIOCSIFADDR and SIOCSIFFLAGS(IFF_UP): the address (unless present) and the device up."""
    d = host.dev(dev)
    if cidr is not None:
        local = cidr.split("/")[0]
        present = d.ip_ptr is not None and any(in_ntoa(ifa.local) == local for ifa in d.ip_ptr.ifa_list)
        if not present:
            host.ip_addr_add(dev, cidr)
    if not d.flags & IFF_UP:
        host.dev_open(d)


def boot(config: NetConfig) -> None:
    """The init of lab 5: bring up lo and eth0, list the interfaces, add the default gateway."""
    host = current().host
    libc.printf("Bring up interface:lo\n")
    _bring_up(host, "lo", "127.0.0.1/8")
    libc.printf("Bring up interface:eth0\n")
    _bring_up(host, "eth0", config.address)
    libc.printf("List all interfaces:\n")
    for dev in sorted(host.devices.values(), key=lambda d: d.ifindex):
        libc.printf("interface:%s\n", dev.name)
        for ifa in dev.ip_ptr.ifa_list if dev.ip_ptr is not None else []:
            libc.printf("Ip Address %s\n", in_ntoa(ifa.local))
        libc.printf("Device %s -> Ethernet %s\n", dev.name, nettools.mac_text(dev.dev_addr))
    if not any(e.plen == 0 for e in host.fib_main.entries):
        host.ip_route_add("default", via=config.gateway)
    libc.printf("Default gateway %s\n", config.gateway)


_OPERATORS = set("|&;<>")  # a shell's: pipes, lists, redirections, background


class MenuOS:
    """The menu: commands, their descriptions and handlers, and the read-execute loop."""

    def __init__(self, world: World, terminal: Terminal, config: NetConfig, trace_out: TextIO) -> None:
        self.world = world
        self.terminal = terminal
        self.config = config
        self.trace_out = trace_out
        self.tracer: FunctionTracer | None = None
        self.done = False
        self.jobs: dict[int, int] = {}  # background jobs started: their numbers and pids
        self.menu: list[tuple[str, str, Callable[[list[str]], None] | None]] = [
            ("help", "Menu List:", self.help),
            ("version", VERSION, None),
            ("quit", "Quit from MenuOS", self.quit),
            ("replyhi", "Reply hi TCP Service", self.replyhi),
            ("hello", "Hello TCP Client", self.program(_hello)),
            ("ping", "Send ICMP ECHO_REQUEST to a host", self.program(_ping)),
            ("traceroute", "Print the route packets take to a host", self.program(traceroute_main)),
            ("tracepath", "Trace the path to a host, and its MTU", self.program(tracepath_main)),
            ("arping", "Send ARP REQUEST to a neighbour: arping -I eth0 ADDRESS", self.program(_arping)),
            ("tcpdump", "Capture packets in the background: tcpdump [-n] [-i DEV] [EXPR]", self.background),
            ("kill", "Send a signal to a process: kill [-INT|-TERM|-KILL] PID", self.kill),
            ("dns", "DNS Query: dns NAME [-t TYPE]", self.program(dns_main)),
            ("http", "HTTP Client: http URL", self.program(http_main)),
            ("ifconfig", "Show network interfaces", self.program(nettools.ifconfig)),
            ("route", "Show the routing table", self.program(nettools.route)),
            ("arp", "Show the ARP cache", self.program(nettools.arp)),
            ("netstat", "Show sockets", self.program(nettools.netstat)),
            ("ss", "Show sockets: ss -tuan [-i] [-m] [-p] [-o] [-e]", self.program(ss_main)),
            ("cat", "Print files: cat /proc/net/tcp, /proc/net/snmp, /etc/hosts ...", self.program(cat_main)),
            ("nstat", "Show the kernel's counters: nstat [-az] [PATTERN]", self.program(nstat_main)),
            ("ip", "Show and change addresses, routes, neighbours: ip OBJECT COMMAND", self.program(ip_main)),
            ("sysctl", "Read and write kernel settings: sysctl [-w] NAME[=VALUE]", self.program(sysctl_main)),
            ("tc", "Show and set a device's queue: tc [-s] qdisc ...", self.program(tc_main)),
            ("trace", "Trace the kernel functions: trace on|full|off", self.trace),
        ]

    def program(self, fn: Callable[[list[str]], Any]) -> Callable[[list[str]], None]:
        """A handler that runs ``fn(arguments)`` in a child process named after the command, and
        waits for it; with ``&`` last, a background job."""
        def run(argv: list[str]) -> None:
            if argv[-1] == "&":
                self.start_job(fn, argv[:-1])
            else:
                libc.waitpid(libc.fork(fn, argv[1:], name=argv[0]))
        return run

    def background(self, argv: list[str]) -> None:
        """``tcpdump``: a background job, with or without the ``&``."""
        self.start_job(tcpdump_main, argv[:-1] if argv[-1] == "&" else argv)

    def start_job(self, fn: Callable[[list[str]], Any], argv: list[str]) -> None:
        """``COMMAND &``: the program runs in a child process while the shell reads on; its job
        number and pid, as a shell prints them, tell ``kill`` what to stop (SIGINT: tcpdump's
        counts, as at Ctrl-C)."""
        pid = libc.fork(fn, argv[1:], name=argv[0])
        host = current().host
        self.jobs = {n: p for n, p in self.jobs.items() if p in host.processes}  # (done: forgotten)
        number = max(self.jobs, default=0) + 1
        self.jobs[number] = pid
        libc.printf("[%d] %d\n", number, pid)

    def hang_up_jobs(self) -> None:
        """The terminal went: SIGHUP to each job still running, then wait for them."""
        host = current().host
        pids = [pid for pid in self.jobs.values() if pid in host.processes]
        for pid in pids:
            libc.kill(pid, SIGHUP)
        for pid in pids:
            libc.waitpid(pid)

    def kill(self, argv: list[str]) -> None:
        """``kill [-s SIGNAL | -SIGNAL] PID...`` (procps'): SIGTERM unless told otherwise."""
        args = argv[1:]
        sig = SIGTERM
        if args and args[0] == "-s" and len(args) > 1:
            spec, args = args[1], args[2:]
        elif args and args[0].startswith("-") and len(args[0]) > 1:
            spec, args = args[0][1:], args[1:]
        else:
            spec = ""
        if spec:
            name = spec.upper().removeprefix("SIG")
            number = int(spec) if isdigits(spec) else SIGNAL_NAMES.get(name)
            if number is None:
                libc.printf("kill: %s: invalid signal specification\n", spec)
                return
            sig = number
        if not args:
            libc.printf("usage: kill [-s SIGNAL | -SIGNAL] PID...\n")
            return
        for arg in args:
            if arg.startswith("%"):  # a job (bash's builtin kill)
                pid = self.jobs.get(int(arg[1:])) if isdigits(arg[1:]) else None
                if pid is None or pid not in current().host.processes:
                    libc.printf("kill: %s: no such job\n", arg)
                    continue
                arg = str(pid)
            if not isdigits(arg):
                libc.printf("kill: failed to parse argument: '%s'\n", arg)
                continue
            try:
                libc.kill(int(arg), sig)
            except OSError as error:
                libc.printf("kill: (%s): %s\n", arg, error.strerror)

    def help(self, argv: list[str]) -> None:
        """menu.c's ``Help``: ``ShowAllCmd``, a title, then each command."""
        libc.printf("Menu List:\n")
        for cmd, desc, _ in self.menu:
            libc.printf("%s - %s\n", cmd, desc)

    def quit(self, argv: list[str]) -> None:
        self.done = True

    def replyhi(self, argv: list[str]) -> None:
        libc.fork(replyhi, name="replyhi")
        libc.printf("Please input hello...\n")

    def trace(self, argv: list[str]) -> None:
        mode = argv[1] if len(argv) > 1 else ""
        if mode in ("on", "full"):
            if self.tracer is not None:
                self.tracer.stop()
            names = None if mode == "full" else TRACE_FUNCTIONS
            self.tracer = FunctionTracer(self.world, out=self.trace_out, names=names, hosts=[current().host.name])
            self.tracer.start()
        elif mode == "off":
            if self.tracer is not None:
                self.tracer.stop()
                self.tracer = None
        else:
            libc.printf("usage: trace on|full|off\n")

    def main(self) -> None:
        """The init process: boot, banner, then the menu until ``quit`` or the terminal hangs up."""
        boot(self.config)
        libc.printf("%s", BANNER)
        while not self.done:
            libc.printf("%s", PROMPT)
            line = self.terminal.read_line()
            if line is None:
                libc.printf("\n")
                break
            try:
                lexer = shlex.shlex(line, posix=True, punctuation_chars="".join(_OPERATORS))
                lexer.whitespace_split = True
                argv = list(lexer)
            except ValueError as error:  # (an unterminated quote)
                libc.printf("menuos: %s\n", error)
                continue
            if not argv:
                continue
            if any(set(w) <= _OPERATORS for w in argv[:-1]) or argv[-1] != "&" and set(argv[-1]) <= _OPERATORS:
                libc.printf("menuos: pipes, redirections and lists are a shell's; MenuOS runs one command\n")
                continue
            entry = next((e for e in self.menu if e[0] == argv[0]), None)
            if entry is None:
                libc.printf("This is a wrong cmd!\n")
                continue
            cmd, desc, handler = entry
            libc.printf("%s - %s\n", cmd, desc)
            if handler is not None:
                handler(argv)
        if self.jobs:
            self.hang_up_jobs()
        if self.tracer is not None:
            self.tracer.stop()


def _hello(args: list[str]) -> int:
    """``hello``; without a server to talk to it says why, as ``perror`` would."""
    try:
        hello()
    except OSError as e:
        libc.printf("hello: %s\n", e.strerror)
        return 1
    return 0


def _arping(args: list[str]) -> int:
    """``arping``, four probes unless ``-c`` or ``-w`` says otherwise, as ``ping``."""
    if not any(arg.startswith(("-c", "-w")) for arg in args):
        args = ["-c", "4", *args]
    return arping_main(args)


def _ping(args: list[str]) -> int:
    """``ping``, four echo requests unless ``-c`` or ``-w`` says otherwise: a script has no
    Ctrl-C to stop it."""
    if "-c" not in args and "-w" not in args:
        args = ["-c", "4", *args]
    return ping_main(args)


def run_session(world: World, host: Host, config: NetConfig, stdin: TextIO, stdout: TextIO,
                clock: Callable[[], float] = time.monotonic) -> int:
    """Run MenuOS on ``host`` with the terminal on ``stdin``/``stdout``; the exit status.  At a
    terminal the world runs on for the seconds (by ``clock``) the user took to type each line."""
    terminal = Terminal()
    shell = MenuOS(world, terminal, config, stdout)
    proc = host.spawn(shell.main, name="menuos")
    interactive = stdin.isatty()
    while proc.alive:
        world.run(condition=lambda: terminal.reading or not proc.alive)
        if not proc.alive:
            break
        if not terminal.reading:
            stdout.write("\nmenuos: the shell is waiting for something that will never happen\n")
            return 1
        world.run(until=world.now)
        prompted = clock()
        try:
            line = stdin.readline()
        except KeyboardInterrupt:
            line = ""
        if interactive:
            world.run_for(int((clock() - prompted) * NSEC_PER_SEC))
        if not line:
            if not interactive and any(pid in host.processes for pid in shell.jobs.values()):
                world.run_for(NSEC_PER_SEC)  # (a script's end: its jobs have a second before SIGHUP)
            terminal.hang_up()
            continue
        if not interactive:
            stdout.write(line if line.endswith("\n") else line + "\n")
            stdout.flush()
        terminal.type_line(line)
    return 0 if proc.exit_code == 0 else 1


MENUOS_CONFIG = NetConfig(MENUOS_ADDRESS, GATEWAY)


def menuos_main(argv: list[str]) -> int:
    """``tuxnet menuos [--seed N]``: boot MenuOS in the final-project network and run its shell on
    this terminal (or on the commands of stdin)."""
    parser = argparse.ArgumentParser(prog="tuxnet menuos", description="The course's MenuOS shell in a small network.")
    parser.add_argument("--seed", type=int, default=0, help="the world's random seed")
    args = parser.parse_args(argv)
    world = World(seed=args.seed)
    net = final_project(world, echo=sys.stdout)
    return run_session(world, net["menuos"], MENUOS_CONFIG, sys.stdin, sys.stdout)
