"""nc against this machine's netcat-openbsd: the same exchanges on loopback (a listener with -v
and the client that sends it two lines and shuts down, a scan of four ports of which one listens,
a UDP datagram, the errors of a bad command line, -4 and -6) in a network namespace of our own and
on a tuxnet host; the lines each prints, the ephemeral ports aside.  tuxnet has no IPv6, so the
real nc runs as on a Linux built without it: a seccomp filter refuses socket(AF_INET6, ...) with
EAFNOSUPPORT, as ``__sock_create`` does for a family no one registered."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys

import pytest

from procs import run_main
from tuxnet.net.socket import AF_INET, SOCK_STREAM
from tuxnet.topology import add_router
from tuxnet.user import libc
from tuxnet.user.etc import install_base_files
from tuxnet.user.programs.nc import nc_main
from tuxnet.world import World

# (the program's arguments, its standard input, seconds to wait before it starts)
PLAY = [(["-lvn", "5003"], None, 0), (["-vN", "127.0.0.1", "5003"], "hello\nworld\n", 0.3),
        (["-zv", "127.0.0.1", "5001-5004"], None, 0.6), (["-lun", "5004"], None, 0.9),
        (["-u", "-q", "1", "127.0.0.1", "5004"], "dgram\n", 1.2), (["-l"], None, 1.5),
        (["-z", "127.0.0.1", "abc"], None, 1.5), (["-zv", "127.0.0.1", "0"], None, 1.5),
        (["-vn", "-w", "1", "127.0.0.1"], None, 1.5), (["-zv", "-n", "127.0.0.1", "5002"], None, 1.5),
        (["-z", "127.0.0.1", "70000"], None, 1.5), (["-z", "127.0.0.1", "1x"], None, 1.5),
        (["-z", "127.0.0.1", "5-x"], None, 1.5), (["-zv", "127.0.0.1", "5003-5002"], None, 1.5),
        (["-4", "-zv", "127.0.0.1", "5002"], None, 1.5), (["-6", "127.0.0.1", "80"], None, 1.5),
        (["-6", "-zv", "localhost", "80"], None, 1.5), (["-6", "-n", "localhost", "80"], None, 1.5),
        (["-6", "-zv", "::1", "80"], None, 1.5), (["-6", "-l", "5000"], None, 1.5),
        (["-6", "-luv", "5000"], None, 1.5), (["-6", "-l", "127.0.0.1", "5000"], None, 1.5),
        (["-46", "-z", "127.0.0.1", "5002"], None, 1.5), (["-64", "-zv", "127.0.0.1", "5002"], None, 1.5),
        (["-4", "::1", "80"], None, 1.5), (["-4", "-l", "::1", "5000"], None, 1.5)]
SCRIPT = """
import ctypes, json, socket, struct, subprocess, sys, time

def no_ipv6():
    # seccomp (BPF): socket(AF_INET6, ...) fails with EAFNOSUPPORT (97); x86-64 only, else allow
    ins = lambda code, k, jt=0, jf=0: struct.pack("HBBI", code, jt, jf, k)
    prog = b"".join([ins(0x20, 4), ins(0x15, 0xC000003E, 1, 0), ins(0x06, 0x7FFF0000),
                     ins(0x20, 0), ins(0x15, 41, 0, 3), ins(0x20, 16), ins(0x15, 10, 0, 1),
                     ins(0x06, 0x00050000 | 97), ins(0x06, 0x7FFF0000)])
    buf = ctypes.create_string_buffer(prog)
    fprog = struct.pack("HxxxxxxP", len(prog) // 8, ctypes.addressof(buf))
    libc = ctypes.CDLL(None)
    libc.prctl(38, 1, 0, 0, 0)  # PR_SET_NO_NEW_PRIVS
    libc.prctl(22, 2, ctypes.c_char_p(fprog), 0, 0)  # PR_SET_SECCOMP, SECCOMP_MODE_FILTER

l = socket.socket(); l.bind(("127.0.0.1", 5002)); l.listen(5)
play = json.loads(sys.argv[1])
start = time.monotonic()
procs = []
for argv, stdin, at in play:
    time.sleep(max(0, at - (time.monotonic() - start)))
    p = subprocess.Popen(["nc", *argv], executable="/usr/bin/nc.openbsd", stdin=subprocess.PIPE, preexec_fn=no_ipv6,
                         stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    if stdin is not None:
        p.stdin.write(stdin)
    p.stdin.close()
    p.stdin = None
    procs.append(p)
time.sleep(0.5)
out = []
for p in procs:
    try:
        text, _ = p.communicate(timeout=3)
    except subprocess.TimeoutExpired:
        p.kill()
        text, _ = p.communicate()
    out.append((text, p.returncode))
print(json.dumps(out))
"""


def masked(text: str) -> str:
    return re.sub(r"\b(3[2-9]\d{3}|[4-6]\d{4})\b", "EPHEM", text)


def test_nc_prints_what_netcat_openbsd_prints():
    from tuxnet.tapnet import Netns, netns_unavailable

    if shutil.which("nc.openbsd") is None:
        pytest.skip("no nc.openbsd: apt-get install netcat-openbsd")
    reason = netns_unavailable()
    if reason:
        pytest.skip(reason)
    ns = Netns(f"tuxnet-nc-{os.getpid()}")
    try:
        linux = json.loads(ns.run(sys.executable, "-c", SCRIPT, json.dumps(PLAY)).stdout)
    finally:
        ns.close()
    world = World(seed=1)
    h = world.add_host("h")
    h.dev_open("lo")
    h.ip_addr_add("lo", "127.0.0.1/8")
    written: dict[int, str] = {}  # what each process printed (its standard output and error)
    console_write = h.console_write

    def record(proc, text: str) -> None:
        written[proc.pid] = written.get(proc.pid, "") + text
        console_write(proc, text)

    h.console_write = record

    def listener() -> None:
        fd = libc.socket(AF_INET, SOCK_STREAM, 0)
        libc.bind(fd, ("127.0.0.1", 5002))
        libc.listen(fd, 5)
        libc.sleep(10)

    h.spawn(listener)
    procs = []
    for argv, stdin, at in PLAY:
        world.run(until=int(at * 10**9))
        procs.append(h.spawn(nc_main, argv, name="nc", stdin=None if stdin is None else stdin.encode()))
    world.run_for(3 * 10**9)
    for proc in procs:
        if proc.alive:  # (the UDP listener waits on, as netcat does; the script kills it)
            proc.kill()
    for (argv, _, _), (text, status), proc in zip(PLAY, linux, procs, strict=True):
        assert masked(written.get(proc.pid, "")) == masked(text), argv
        if status >= 0:
            assert proc.result == status, argv


def test_nc_between_two_hosts_in_a_topology():
    """``echo ... | nc`` from a topology's [[run]] (its ``stdin``) to a listener on the other host,
    which prints what came and ends when the sender shuts its side (-N)."""
    from topologies import TWO_HOSTS
    from tuxnet.topology import load_topology

    net = load_topology("t.toml", text='duration = "5s"\n' + TWO_HOSTS + """
[[run]]
host = "b"
cmd = "nc -lvn 7000"
[[run]]
host = "a"
cmd = "nc -vN 10.0.0.2 7000"
stdin = "one\\ntwo\\n"
at = "1s"
[[run]]
host = "a"
cmd = "nc -zvn 10.0.0.2 6999-7001"
at = "2s"
""")
    net.start()
    net.run()
    b = net.output().split("== b ==\n")[1]
    assert re.fullmatch(r"Listening on 0\.0\.0\.0 7000\nConnection received on 10\.0\.0\.1 \d+\none\ntwo\n", b)
    assert [p.result for p in net.procs] == [0, 0, 1]
    assert net.output().split("== a ==\n")[1].split("== b ==")[0] == (
        "Connection to 10.0.0.2 7000 port [tcp/*] succeeded!\n"
        "nc: connect to 10.0.0.2 port 6999 (tcp) failed: Connection refused\n"
        "nc: connect to 10.0.0.2 port 7000 (tcp) failed: Connection refused\n"
        "nc: connect to 10.0.0.2 port 7001 (tcp) failed: Connection refused\n")


# numbers as netcat-openbsd 1.219 reads them: strtonum (strtoll's whole number in a range, its
# "invalid", "too small", "too large"), and -p as getaddrinfo's service for the port to bind
NUMBERS = [["-w", "abc"], ["-w", "-1"], ["-w", " 2"], ["-w", "²"], ["-w", "99999999999"], ["-w", "2147484"],
           ["-w", "1.5"], ["-q", "abc"], ["-q", "99999999999"], ["-p", "abc"], ["-p", "0"], ["-p", "-1"],
           ["-p", "70000"], ["-p", "http"]]
PORTS = ["²", "0x10", " 5", "70000", "0"]


def _nc_both(argv: list[str]) -> tuple[tuple[str, int], tuple[str, int]]:
    """(ours, this machine's): what each printed and its status, against a closed port here."""
    world = World(seed=1)
    host = add_router(world, "h")
    install_base_files(host)
    text, status = run_main(world, host, nc_main, argv, timeout=int(20e9))
    real = subprocess.run(["nc", *argv], capture_output=True, text=True, stdin=subprocess.DEVNULL, timeout=30)
    return (text, status), (real.stderr + real.stdout, real.returncode)


@pytest.mark.skipif(shutil.which("nc") is None, reason="needs this machine's nc (apt install netcat-openbsd)")
@pytest.mark.parametrize("argv", [[*o, "127.0.0.1", "1"] for o in NUMBERS] + [["127.0.0.1", p] for p in PORTS],
                         ids=" ".join)
def test_numbers_are_read_as_netcat_reads_them(argv: list[str]) -> None:
    ours, theirs = _nc_both(argv)
    assert ours == theirs
