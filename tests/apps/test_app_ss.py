"""``ss`` against this machine's: the same sockets (two listeners, one connection with unread
bytes; a UDP socket on the domain port with two unread 1,400-byte datagrams, one connected to it,
one bound to an ephemeral port) in a namespace of our own and on a tuxnet host, and the same table
for each option."""

from __future__ import annotations

import os
import re
import struct

import pytest

from tuxnet.benchmarks import lo_world
from tuxnet.net.core.sock import SO_MEMINFO, SOL_SOCKET
from tuxnet.net.socket import AF_INET, SHUT_WR, SOCK_DGRAM, SOCK_STREAM
from tuxnet.user import libc
from tuxnet.user.etc import install_base_files
from tuxnet.user.ss import ss_main

# (every kind of socket before "-tan bogus", whose name tuxnet's resolver asks the UDP socket on
# port 53 about: a query the namespace's resolver sends elsewhere)
COMMANDS = [[], ["-n"], ["-4"], ["-4an"], ["-tln4"], ["-4l"], ["-4", "-a", "sport", "=", ":53"],
            ["-tan"], ["-tn"], ["-tln"], ["-t"], ["-tna", "state", "established"], ["-ta"], ["-tnl", "-H"],
            ["-uan"], ["-un"], ["-uln"], ["-u"], ["-ua"], ["-tuan"], ["-ua", "state", "established"], ["-uan", "-H"],
            ["-tanp"], ["-tanpe"], ["-tano"], ["-tlnm"], ["-tlnpi"], ["-uanp"], ["-uanpe"], ["-uanm"], ["-tuanpo"],
            ["-tanpoe", "-H"], ["-tn", "-H", "sport", "=", ":9"],  # -H and no socket: nothing at all
            # filters (ssfilter.py)
            ["-tan", "sport", "=", ":5001"], ["-tan", "sport = :80 or dport = :80"], ["-tan", "dst", "127.0.0.1"],
            ["-tan", "src", "127.0.0.0/8", "and", "dport", "=", ":5001"], ["-tn", "state", "bucket"],
            ["-tan", "( sport = :80 or sport = :5001 ) and dport > :1024"], ["-tn", "state", "connected"],
            ["-tan", "exclude", "listening"], ["-tn", "exclude", "time-wait"], ["-tan", "autobound"],
            ["-tn", "state", "established", "state", "fin-wait-2"], ["-tan", "not", "sport", "=", ":5001"],
            ["-uan", "sport", "=", ":domain"], ["-tan", "sport", "=", ":http"], ["-tan", "dport", "!=", ":5001"],
            ["-tan", "sport", "<", ":1024"], ["-tan", "sport", "ge", ":5001"], ["-tan", "dev", "lo"],
            ["-tan", "src", "localhost:5001"], ["-tan", "dst", "=", "127.0.0.1", "&&", "!", "dport", "lt", ":80"],
            ["-tan", "sport = :5001 or sport = :80 and dport = :80"], ["-tun", "state", "closed"],
            ["-tan", "bogus"], ["-tan", "sport", "="], ["-tan", "state", "bogus"], ["-tan", "sport", "=", "1.2.3.4:5"],
            ["-tan", "127.0.0.1"], ["-tan", "src", "10.0.0.0/33"], ["-tan", "state"]]
SOCKETS = """
import socket, subprocess, sys
l = socket.socket(); l.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1); l.bind(("0.0.0.0", 80)); l.listen(5)
l2 = socket.socket(); l2.bind(("127.0.0.1", 5001)); l2.listen(128)
c = socket.create_connection(("127.0.0.1", 80)); s, _ = l.accept(); c.send(b"x" * 10)
u = socket.socket(socket.AF_INET, socket.SOCK_DGRAM); u.bind(("0.0.0.0", 53))
uc = socket.socket(socket.AF_INET, socket.SOCK_DGRAM); uc.connect(("127.0.0.1", 53))
uc.send(b"q" * 1400); uc.send(b"r" * 1400)
ub = socket.socket(socket.AF_INET, socket.SOCK_DGRAM); ub.bind(("127.0.0.1", 0))
t = socket.create_connection(("127.0.0.1", 5001)); a, _ = l2.accept(); a.shutdown(socket.SHUT_WR)
t2 = socket.create_connection(("127.0.0.1", 5001)); a2, _ = l2.accept(); tw = t2.getsockname()[1]
t2.close(); a2.close()
import time; time.sleep(0.1)
ports = [c.getsockname()[1], uc.getsockname()[1], ub.getsockname()[1], t.getsockname()[1], tw]
for args in %r:
    r = subprocess.run(["ss", *args], capture_output=True, text=True)
    print(repr((ports, r.stdout + (r.stderr if r.returncode else ""), r.returncode)))
"""


def masked(ports: list[int], table: str, header: bool) -> list[str]:
    """The header, then the other lines sorted (the kernel's hash order is not ours), each with
    the second line -i or -m adds, and in them: the ephemeral ports (five digits on both) written
    as EPHEM1, EPHEM2, ..., the pids as PID, the inodes as INO, the cookies as SK, a timer's time
    as TIME (its format is test_print_ms_timer's), the congestion control as CA; and where the
    last column has something, the padding at the ends of lines, which depends on which row is
    last (the kernel's hash order is not ours).
    This machine's sockets have a cgroup (`` cgroup:/``), tuxnet's none: it is taken out."""
    for i, port in enumerate(ports):
        table = re.sub(rf"\b{port}\b", f"EPHEM{i + 1}", table)
    for pattern, mask in ((r"pid=\d+", "pid=PID"), (r"ino:[1-9]\d*", "ino:INO"), (r"sk:[0-9a-f]+", "sk:SK"),
                          (r"(timer:\(\w+,)[^,]*", r"\1TIME"), (r" cgroup:\S+", ""), (r"\t (bbr|cubic)", "\t CA")):
        table = re.sub(pattern, mask, table)
    if re.search(r"pid=|\t|timer", table):  # the last column's width is test_ss_pads_as_ss_does's
        table = re.sub(r" +$", "", table, flags=re.M)
    lines = table.replace("\n\t", "\t").splitlines()
    return lines[:1] + sorted(lines[1:]) if header else sorted(lines)


@pytest.mark.root
def test_ss_prints_the_table_as_iproute2_does():
    from tuxnet.tapnet import Netns, netns_unavailable

    reason = netns_unavailable()
    if reason:
        pytest.skip(reason)
    ns = Netns(f"tuxnet-ss-{os.getpid()}")
    try:
        out = ns.run("python3", "-c", SOCKETS % (COMMANDS,)).stdout
    finally:
        ns.close()
    linux = [eval(line) for line in out.splitlines()]
    world, h = lo_world(1, "h")
    install_base_files(h)  # /etc/services, for the names ss shows without -n
    ours = []

    def prog() -> None:
        lfd = libc.socket(AF_INET, SOCK_STREAM, 0)
        libc.bind(lfd, ("0.0.0.0", 80))
        libc.listen(lfd, 5)
        l2 = libc.socket(AF_INET, SOCK_STREAM, 0)
        libc.bind(l2, ("127.0.0.1", 5001))
        libc.listen(l2, 128)
        c = libc.socket(AF_INET, SOCK_STREAM, 0)
        libc.connect(c, ("127.0.0.1", 80))
        libc.accept(lfd)
        libc.send(c, b"x" * 10)
        u = libc.socket(AF_INET, SOCK_DGRAM, 0)
        libc.bind(u, ("0.0.0.0", 53))
        uc = libc.socket(AF_INET, SOCK_DGRAM, 0)
        libc.connect(uc, ("127.0.0.1", 53))
        libc.send(uc, b"q" * 1400)
        libc.send(uc, b"r" * 1400)
        ub = libc.socket(AF_INET, SOCK_DGRAM, 0)
        libc.bind(ub, ("127.0.0.1", 0))
        t = libc.socket(AF_INET, SOCK_STREAM, 0)
        libc.connect(t, ("127.0.0.1", 5001))
        a, _ = libc.accept(l2)
        libc.shutdown(a, SHUT_WR)
        t2 = libc.socket(AF_INET, SOCK_STREAM, 0)
        libc.connect(t2, ("127.0.0.1", 5001))
        a2, _ = libc.accept(l2)
        tw = libc.getsockname(t2)[1]
        libc.close(t2)
        libc.close(a2)
        libc.sleep(0.1)
        ports = [libc.getsockname(fd)[1] for fd in (c, uc, ub, t)] + [tw]
        for args in COMMANDS:
            before = len(h.console)
            # subprocess.run closes the descriptors the program does not need (close_fds)
            ss = h.spawn(ss_main, args, name="ss")
            libc.waitpid(ss.pid)
            ours.append((ports, "".join(h.console[before:]), ss.result))
        libc.sleep(1)

    h.spawn(prog, name="python3")
    world.run_until(lambda: len(ours) == len(COMMANDS), timeout=300 * 10**9)  # (names time out)
    for args, (lports, theirs, lstatus), (ports, mine, status) in zip(COMMANDS, linux, ours, strict=True):
        assert status == lstatus % 256, args
        if status:  # an error: its message, and the first lines of the usage after a syntax error
            assert mine.splitlines()[:3] == theirs.splitlines()[:3], args
            continue
        header = "-H" not in args
        assert masked(ports, mine, header) == masked(lports, theirs, header), args
    # the UDP socket with the two datagrams: each charged 2,304 bytes (a 2 KB head, the sk_buff)
    assert "UNCONN 4608   0            0.0.0.0:53" in ours[COMMANDS.index(["-uan"])][1]


def test_ss_m_and_so_meminfo_show_the_sockets_memory():
    """``ss -m`` starts each socket's second line with ``skmem:(...)`` and SO_MEMINFO reads the
    same nine values (``sk_get_meminfo``): a reader that has not read holds the bytes' truesize in
    ``r``, a sender its unsent data in ``w``; ``f``, the forward allocation, is what is left of
    the whole pages each has taken."""
    world, h = lo_world(1, "h")
    out: dict = {}

    def server() -> None:
        lfd = libc.socket(AF_INET, SOCK_STREAM, 0)
        libc.bind(lfd, ("127.0.0.1", 5001))
        libc.listen(lfd, 1)
        fd, _ = libc.accept(lfd)
        libc.sleep(1)                          # the window fills, nothing is read
        out["meminfo"] = struct.unpack("9I", libc.getsockopt(fd, SOL_SOCKET, SO_MEMINFO))
        sk = next(s for s in h.tcp_hashinfo.ehash.values() if getattr(s, "inet_num", 0) == 5001)
        out["sk"] = (sk.sk_rmem_alloc, sk.sk_rcvbuf, sk.sk_sndbuf)
        before = len(h.console)
        libc.waitpid(libc.fork(ss_main, ["-tnm"], name="ss"))
        out["ss"] = "".join(h.console[before:])

    def client() -> None:
        fd = libc.socket(AF_INET, SOCK_STREAM, 0)
        libc.connect(fd, ("127.0.0.1", 5001))
        libc.send(fd, bytes(300_000))

    h.spawn(server)
    h.spawn(client)
    world.run_until(lambda: "ss" in out, timeout=10 * 10**9)
    r, rb, t, tb, f, w, o, bl, d = out["meminfo"]
    assert (r, rb, tb) == out["sk"] and r > 100_000 and w == o == bl == d == 0, out
    assert (r + f) % 4096 == 0 and 0 < f < 4096, out
    assert f"skmem:(r{r},rb{rb},t{t},tb{tb},f{f},w0,o0,bl0,d0)" in out["ss"], out["ss"]
    sent = re.search(r"skmem:\(r0,rb\d+,t\d+,tb\d+,f(\d+),w(\d+),o0,bl0,d0\)", out["ss"])
    assert sent is not None and int(sent[2]) > 100_000 and (int(sent[1]) + int(sent[2])) % 4096 == 0, out["ss"]


def test_print_ms_timer_writes_times_as_ss_does():
    """``print_ms_timer``: minutes, seconds and milliseconds, each smaller unit dropped once a
    larger one passes 9 (or, for milliseconds, once there are minutes), nothing for 0."""
    from tuxnet.user.ss import print_ms_timer

    cases = {0: "", 7: "007ms", 200: "200ms", 1200: "1.200ms", 9999: "9.999ms", 10_500: "10sec", 59_900: "59sec",
             60_000: "1min", 61_250: "1min1sec", 599_000: "9min59sec", 600_000: "10min", 7_140_000: "119min"}
    assert {ms: print_ms_timer(ms) for ms in cases} == cases


def test_ss_pads_the_last_column_as_ss_does():
    """The last column (Process) holds -p's users, -o's timer and -m's second line; every cell of
    it is padded to its widest, except that ss never measures the very last cell (it measures a
    cell when it moves on to the next).  The expected tables are this machine's ss's for the same
    two sockets, a listener and a TIME-WAIT connection, with our port and pid in them."""
    world, h = lo_world(1, "h")
    out: dict = {}

    def prog() -> None:
        lfd = libc.socket(AF_INET, SOCK_STREAM, 0)
        libc.bind(lfd, ("127.0.0.1", 5003))
        libc.listen(lfd, 5)
        t = libc.socket(AF_INET, SOCK_STREAM, 0)
        libc.connect(t, ("127.0.0.1", 5003))
        a, _ = libc.accept(lfd)
        out["port"] = libc.getsockname(t)[1]
        libc.close(t)
        libc.close(a)
        libc.sleep(0.1)
        for args in ("-tano", "-tanpo", "-tanom"):
            before = len(h.console)
            libc.waitpid(h.spawn(ss_main, [args], name="ss").pid)
            out[args] = "".join(h.console[before:])
        out["pid"] = libc.getpid()

    h.spawn(prog, name="python3")
    world.run_until(lambda: "pid" in out, timeout=10 * 10**9)
    port = out["port"]
    head = "State     Recv-Q Send-Q Local Address:Port  Peer Address:PortProcess"
    listen = "LISTEN    0      5          127.0.0.1:5003       0.0.0.0:*   "
    tw = f"TIME-WAIT 0      0          127.0.0.1:{port}    127.0.0.1:5003 timer:(timewait,59sec,0)"
    assert out["-tano"] == f"{head}\n{listen}       \n{tw}\n"
    users = f' users:(("python3",pid={out["pid"]},fd=3))'
    pad = " " * (len(users) - len(" timer:(timewait,59sec,0)"))
    assert out["-tanpo"] == f"{head}{' ' * (len(users) - 7)}\n{listen}{users}\n{tw}{pad}\n"
    skmem = "\n\t skmem:(r0,rb131072,t0,tb16384,f0,w0,o0,bl0,d0)"
    assert out["-tanom"] == f"{head}{' ' * 42}\n{listen}{skmem}\n{tw}\n\t{' ' * 22}\n"


def test_so_cookie_is_the_cookie_ss_e_shows_and_time_wait_keeps_it():
    """A socket's cookie (``sock_gen_cookie``) is given when first asked for, by SO_COOKIE or by
    a dump; ``ss -e`` shows it as ``sk:``, and the TIME-WAIT socket that replaces a connection
    keeps it (``inet_twsk_alloc``)."""
    from tuxnet.net.core.sock import SO_COOKIE

    world, h = lo_world(1, "h")
    out: dict = {}

    def show() -> str:
        before = len(h.console)
        libc.waitpid(h.spawn(ss_main, ["-tane"], name="ss").pid)
        return "".join(h.console[before:])

    def prog() -> None:
        lfd = libc.socket(AF_INET, SOCK_STREAM, 0)
        libc.bind(lfd, ("127.0.0.1", 5003))
        libc.listen(lfd, 5)
        t = libc.socket(AF_INET, SOCK_STREAM, 0)
        libc.connect(t, ("127.0.0.1", 5003))
        a, _ = libc.accept(lfd)
        out["cookie"] = int.from_bytes(libc.getsockopt(t, SOL_SOCKET, SO_COOKIE), "little")
        out["again"] = int.from_bytes(libc.getsockopt(t, SOL_SOCKET, SO_COOKIE), "little")
        out["port"] = libc.getsockname(t)[1]
        out["open"] = show()
        libc.close(t)
        libc.close(a)
        libc.sleep(0.1)
        out["closed"] = show()

    h.spawn(prog)
    world.run_until(lambda: "closed" in out, timeout=10 * 10**9)
    cookie, port = out["cookie"], out["port"]
    assert cookie == out["again"] == 1  # the first this host gave
    row = next(line for line in out["open"].splitlines() if f":{port} " in line)
    assert row.startswith("ESTAB") and f" sk:{cookie:x} <->" in row, out["open"]
    row = next(line for line in out["closed"].splitlines() if f":{port} " in line)
    assert row.startswith("TIME-WAIT") and f"ino:0 sk:{cookie:x}" in row, out["closed"]
