"""TCP MD5 signatures (RFC 2385, TCP_MD5SIG and TCP_MD5SIG_EXT) judged by this machine's kernel.
Over ``lo``, the same programs run by the kernel in a namespace of our own and by tuxnet, and what
they see must be the same: which keys a socket takes and which it refuses (with which errno, how
many before its option memory is full), which connections are made and which never answer, which
signatures are counted as missing, unexpected or wrong, the MSS that room for a signature leaves,
and which segments to a closed port are answered with a reset.  Through a TAP device, signed
connections between tuxnet and the kernel both ways, which tcpdump (``-M``) captures and checks
segment by segment, and which tuxnet's tcpdump prints as it does."""

from __future__ import annotations

import errno
import json
import re
import select
import socket
import struct
import subprocess
import sys
import time
from collections.abc import Callable

import pytest
from linuxnet import start_tcpdump, stop_tcpdump
from loplay import kernel_outcomes, lo_world, outcome, tuxnet_outcomes

from tuxnet.net.socket import AF_INET, SHUT_WR, SOCK_STREAM
from tuxnet.trace.pcap import read_pcap
from tuxnet.trace.tcpdump import TcpdumpPrinter
from tuxnet.user import libc

pytestmark = pytest.mark.root

TCP_MD5SIG, TCP_MD5SIG_EXT = 14, 32
FLAG_PREFIX, FLAG_IFINDEX = 1, 2
COUNTERS = ("TCPMD5NotFound", "TCPMD5Unexpected", "TCPMD5Failure")


def md5sig(addr: str, key: bytes, flags: int = 0, prefixlen: int = 0, ifindex: int = 0, keylen: int = -1) -> bytes:
    """A ``struct tcp_md5sig``: the peer's sockaddr_in in a sockaddr_storage, then flags, prefix
    length, key length, interface index and the key in its 80 octets."""
    sin = struct.pack("=H", socket.AF_INET) + struct.pack("!H4s", 0, socket.inet_aton(addr))
    return (sin.ljust(128, b"\0") + struct.pack("=BBHi", flags, prefixlen, len(key) if keylen < 0 else keylen, ifindex)
            + key.ljust(80, b"\0"))


def proc_counters() -> list[int]:
    """The namespace's TcpExt MD5 counters, from /proc/net/netstat."""
    with open("/proc/net/netstat") as f:
        names, values = (line.split() for line in f if line.startswith("TcpExt:"))
    return [int(values[names.index(name)]) for name in COUNTERS]


def keys(sleep: Callable[[float], None], counters: Callable[[], list[int]]) -> list:
    """What setsockopt says to keys well and badly formed, to deleting them, and how many keys
    a socket holds before its option memory (optmem_max) is full."""
    s = socket.socket()
    good = md5sig("10.1.2.3", b"key")
    calls = [
        ("an int", TCP_MD5SIG, struct.pack("i", 1)),
        ("one octet short", TCP_MD5SIG, good[:-1]),
        ("two octets long", TCP_MD5SIG, good + b"zz"),
        ("AF_INET6", TCP_MD5SIG, struct.pack("=H", 10) + good[2:]),
        ("keylen 81", TCP_MD5SIG, md5sig("10.1.2.3", b"k" * 80, keylen=81)),
        ("keylen 80", TCP_MD5SIG, md5sig("10.1.2.4", b"k" * 80)),
        ("delete a missing key", TCP_MD5SIG, md5sig("10.9.9.9", b"")),
        ("ifindex ignored without EXT", TCP_MD5SIG, md5sig("10.1.2.5", b"key", FLAG_IFINDEX, ifindex=1)),
        ("EXT prefix 33", TCP_MD5SIG_EXT, md5sig("10.1.2.0", b"key", FLAG_PREFIX, 33)),
        ("EXT prefix 24", TCP_MD5SIG_EXT, md5sig("10.1.2.0", b"key", FLAG_PREFIX, 24)),
        ("EXT prefix 33 without the flag", TCP_MD5SIG_EXT, md5sig("10.1.2.6", b"key", 0, 33)),
        ("EXT ifindex of lo, not a VRF", TCP_MD5SIG_EXT, md5sig("10.1.2.7", b"key", FLAG_IFINDEX, ifindex=1)),
        ("EXT ifindex 0 with the flag", TCP_MD5SIG_EXT, md5sig("10.1.2.8", b"key", FLAG_IFINDEX)),
        ("delete the /24 as a /32", TCP_MD5SIG, md5sig("10.1.2.0", b"")),
        ("delete the /24", TCP_MD5SIG_EXT, md5sig("10.1.2.0", b"", FLAG_PREFIX, 24)),
        ("delete the flagged key without its flag", TCP_MD5SIG, md5sig("10.1.2.8", b"")),
        ("delete the flagged key", TCP_MD5SIG, md5sig("10.1.2.8", b"", FLAG_IFINDEX)),
        ("delete the key ifindex was ignored for", TCP_MD5SIG, md5sig("10.1.2.5", b"", FLAG_IFINDEX)),
        ("delete it again", TCP_MD5SIG, md5sig("10.1.2.5", b"", FLAG_IFINDEX)),
    ]
    out: list = [[name, outcome(s.setsockopt, socket.IPPROTO_TCP, opt, value)] for name, opt, value in calls]
    out.append(["getsockopt", outcome(s.getsockopt, socket.IPPROTO_TCP, TCP_MD5SIG, 216)])
    u = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    out.append(["on UDP", outcome(u.setsockopt, socket.IPPROTO_TCP, TCP_MD5SIG, good)])
    full = socket.socket()
    n = 0
    while outcome(full.setsockopt, socket.IPPROTO_TCP, TCP_MD5SIG, md5sig(f"10.2.{n >> 8}.{n & 255}", b"k")) is None:
        n += 1
    out.append(["keys until ENOMEM", n])
    out.append(["replace one", outcome(full.setsockopt, socket.IPPROTO_TCP, TCP_MD5SIG, md5sig("10.2.0.0", b"new"))])
    out.append(["delete one", outcome(full.setsockopt, socket.IPPROTO_TCP, TCP_MD5SIG, md5sig("10.2.0.0", b""))])
    out.append(["add one", outcome(full.setsockopt, socket.IPPROTO_TCP, TCP_MD5SIG, md5sig("10.3.0.0", b"k"))])
    out.append(["add another", outcome(full.setsockopt, socket.IPPROTO_TCP, TCP_MD5SIG, md5sig("10.3.0.1", b"k"))])
    return out


def _connect(port: int, client_key: bytes | None, sleep: Callable[[float], None],
             client_port: int = 0) -> tuple[socket.socket, str]:
    """A client at 127.0.0.2 (port ``client_port``) with ``client_key`` for 127.0.0.1 connecting to
    ``port`` there; what becomes of the connect after 300 ms: connected, waiting (no answer), or
    its error."""
    c = socket.socket()
    c.bind(("127.0.0.2", client_port))
    if client_key is not None:
        c.setsockopt(socket.IPPROTO_TCP, TCP_MD5SIG, md5sig("127.0.0.1", client_key))
    c.setblocking(False)
    c.connect_ex(("127.0.0.1", port))
    sleep(0.05)
    p = select.poll()
    p.register(c, select.POLLOUT)
    if not p.poll(300):
        return c, "waiting"
    err = c.getsockopt(socket.SOL_SOCKET, socket.SO_ERROR)
    return c, errno.errorcode[err] if err else "connected"


def _listen(port: int, keys: list[bytes], addr: str = "127.0.0.1") -> socket.socket:
    """A listener on ``addr``:``port`` with ``keys`` (each a struct tcp_md5sig for TCP_MD5SIG_EXT)."""
    ls = socket.socket()
    ls.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    for key in keys:
        ls.setsockopt(socket.IPPROTO_TCP, TCP_MD5SIG_EXT, key)
    ls.bind((addr, port))
    ls.listen()
    return ls


def connections(sleep: Callable[[float], None], counters: Callable[[], list[int]]) -> list:
    """Connections from 127.0.0.2 to 127.0.0.1 with keys that match, differ, or are on one side
    only; prefix keys, the longest prefix winning; the MD5 counters each attempt moves."""
    both = md5sig("127.0.0.2", b"secret")
    cases = [
        ("same key", [both], b"secret"),
        ("different keys", [both], b"other"),
        ("listener's key only", [both], None),
        ("client's key only", [], b"secret"),
        ("a /24 key", [md5sig("127.0.0.0", b"net", FLAG_PREFIX, 24)], b"net"),
        ("/8 and /32 keys, the /32's", [md5sig("127.0.0.0", b"wide", FLAG_PREFIX, 8), both], b"secret"),
        ("/8 and /32 keys, the /8's", [md5sig("127.0.0.0", b"wide", FLAG_PREFIX, 8), both], b"wide"),
        ("a key for another peer", [md5sig("127.0.0.3", b"secret")], None),
        ("a prefix of length 0", [md5sig("1.2.3.4", b"any", FLAG_PREFIX, 0)], b"any"),
    ]
    out = []
    for i, (name, listener_keys, client_key) in enumerate(cases):
        port = 5400 + i
        ls = _listen(port, listener_keys)
        before = counters()
        c, state = _connect(port, client_key, sleep)
        row = [name, state]
        if state == "connected":
            a, _ = ls.accept()
            c.setblocking(True)
            c.sendall(b"x" * 20000)
            got = 0
            while got < 20000:
                got += len(a.recv(65536))
            a.sendall(b"done")
            row += [got, c.recv(10).decode(), c.getsockopt(socket.IPPROTO_TCP, socket.TCP_MAXSEG),
                    a.getsockopt(socket.IPPROTO_TCP, socket.TCP_MAXSEG)]
            a.close()
        c.close()
        ls.close()
        row.append([now - then for now, then in zip(counters(), before, strict=True)])
        out.append(row)
    return out


def resets(sleep: Callable[[float], None], counters: Callable[[], list[int]]) -> list:
    """Segments to a closed port: an unsigned SYN is refused; a signed one is answered only when a
    listener on the port it came from has a key that verifies it, and then with a signed reset
    (which the client's key verifies in turn: ECONNREFUSED)."""
    out = []
    for name, peer_listener_key, client_key in (
        ("unsigned SYN", None, None),
        ("signed SYN, no listener on its source port", None, b"secret"),
        ("signed SYN, a listener on its source port with the key", b"secret", b"secret"),
        ("signed SYN, a listener on its source port with another key", b"other", b"secret"),
    ):
        before = counters()
        ls = None
        if peer_listener_key is not None:
            ls = _listen(5500, [md5sig("127.0.0.2", peer_listener_key)])
        c, state = _connect(5501, client_key, sleep, client_port=5500)
        out.append([name, state, [now - then for now, then in zip(counters(), before, strict=True)]])
        c.close()
        if ls is not None:
            ls.close()
        sleep(0.05)
    return out


PLAYS = {"keys": keys, "connections": connections, "resets": resets}


def tuxnet_counters(host) -> Callable[[], list[int]]:
    return lambda: [host.mib.TcpExt[name] for name in COUNTERS]


@pytest.mark.parametrize("name", sorted(PLAYS))
def test_md5_signatures_as_on_the_kernel(name: str) -> None:
    linux = kernel_outcomes(__file__.rsplit("/", 1)[1], name, mtu=1500)
    world, host = lo_world(1500)
    ours = tuxnet_outcomes(world, host, PLAYS[name], libc.sleep, tuxnet_counters(host))
    assert ours == linux
    if name == "keys":
        assert ["keys until ENOMEM", 963] in ours and ["getsockopt", "ENOPROTOOPT"] in ours
    elif name == "connections":
        assert ours[0] == ["same key", "connected", 20000, "done", 1460, 1460, [0, 0, 0]]
        assert ours[1][1:] == ["waiting", [0, 0, 1]] and ours[2][1:] == ["waiting", [1, 0, 0]]
        assert ours[3][1:] == ["waiting", [0, 1, 0]]
    else:
        assert [row[1] for row in ours] == ["ECONNREFUSED", "waiting", "ECONNREFUSED", "waiting"]


# The kernel's side of a signed connection: as server (it echoes what it reads, then closes) or as
# client (it sends what it is given and reads the echo), with a key for the peer.
LINUX_PEER = """
import socket, struct, sys
role, me, peer, key, size = sys.argv[1:6]
sin = struct.pack("=H", socket.AF_INET) + struct.pack("!H4s", 0, socket.inet_aton(peer))
md5 = sin.ljust(128, b"\\0") + struct.pack("=BBHi", 0, 0, len(key), 0) + key.encode().ljust(80, b"\\0")
s = socket.socket()
s.setsockopt(socket.IPPROTO_TCP, 14, md5)
if role == "server":
    s.bind((me, 5555)); s.listen(); print("ready", flush=True)
    s, _ = s.accept()
else:
    s.connect((peer, 5555))
    s.sendall(bytes(range(256)) * (int(size) // 256)); s.shutdown(socket.SHUT_WR)
got = b""
while chunk := s.recv(1 << 16):
    got += chunk
    if role == "server":
        s.sendall(chunk)
print(len(got), s.getsockopt(socket.IPPROTO_TCP, socket.TCP_MAXSEG), flush=True)
s.close()
"""
SIZE = 256 * 800


def _md5_socket(peer: str, key: bytes) -> int:
    fd = libc.socket(AF_INET, SOCK_STREAM, 0)
    libc.setsockopt(fd, socket.IPPROTO_TCP, TCP_MD5SIG, md5sig(peer, key))
    return fd


def _read_all(fd: int, echo: bool = False) -> int:
    got = 0
    while chunk := libc.recv(fd, 1 << 16):
        got += len(chunk)
        if echo:
            libc.send(fd, chunk)
    return got


def test_signed_connections_with_the_kernel_as_tcpdump_checks_them(tap_pair, tmp_path):
    """tuxnet connects to the kernel, then the kernel to tuxnet, both sides with the key
    ``secret``; every segment of both, as tcpdump captures them on the kernel's side, carries a
    signature tcpdump -M finds valid; the kernel counts none missing, unexpected or wrong; the
    data moves in segments of 1440 octets (1460 less the signature's 20, no timestamps: a SYN
    with a signature offers none); and tuxnet's tcpdump prints the capture as tcpdump does."""
    p = tap_pair
    pcap = str(tmp_path / "md5.pcap")
    dump = start_tcpdump(p.ns, p.ifname, pcap, "tcp")
    server = p.ns.popen("python3", "-c", LINUX_PEER, "server", p.linux_ip, p.tux_ip, "secret", "0")
    assert server.stdout.readline().strip() == "ready"

    def client() -> int:
        fd = _md5_socket(p.linux_ip, b"secret")
        libc.connect(fd, (p.linux_ip, 5555))
        libc.send(fd, bytes(range(256)) * (SIZE // 256))
        libc.shutdown(fd, SHUT_WR)
        got = _read_all(fd)
        libc.close(fd)
        return got

    proc = p.host.spawn(client)
    out, err = p.run_until_exit(server, timeout=60)
    p.world.run_until(lambda: not proc.alive, timeout=int(5e9))
    assert out.split()[0] == str(SIZE) and proc.result == SIZE, err

    def tux_server() -> int:
        lfd = _md5_socket(p.linux_ip, b"secret")
        libc.bind(lfd, (p.tux_ip, 5555))
        libc.listen(lfd, 1)
        fd, _ = libc.accept(lfd)
        got = _read_all(fd, echo=True)
        libc.close(fd)
        libc.close(lfd)
        return got

    proc = p.host.spawn(tux_server)
    p.world.run_for(int(1e8))
    linux_client = p.ns.popen("python3", "-c", LINUX_PEER, "client", p.linux_ip, p.tux_ip, "secret", str(SIZE))
    out, err = p.run_until_exit(linux_client, timeout=60)
    assert out.split() == [str(SIZE), "1460"] and proc.result == SIZE, err
    p.world.run_for(int(2e8))
    stop_tcpdump(dump)

    checked = subprocess.run(["tcpdump", "-nn", "-vv", "-M", "secret", "-r", pcap], capture_output=True,
                             text=True, check=True).stdout
    segments = [line for line in checked.splitlines() if "Flags [" in line]
    assert len(segments) > 300 and all("options [nop,nop,md5 valid" in line for line in segments), checked
    syns = [re.search(r"options \[(.*?)\]", line)[1] for line in segments if "Flags [S" in line]
    assert len(syns) == 4 and all(re.fullmatch(r"nop,nop,md5 valid,mss 1460,nop,nop,sackOK,nop,wscale \d+", o)
                                  for o in syns), syns
    sizes = {(line.split()[0], int(line.rsplit("length ", 1)[1])) for line in segments}
    for sender in (f"{p.tux_ip}.", f"{p.linux_ip}."):
        assert max(n for who, n in sizes if who.startswith(sender)) == 1440, sorted(sizes)
    stats = p.ns.run("nstat", "-az", *(f"TcpExt{name}" for name in COUNTERS)).stdout.split()
    assert [int(stats[stats.index(f"TcpExt{name}") + 1]) for name in COUNTERS] == [0, 0, 0]
    assert tuxnet_counters(p.host)() == [0, 0, 0]
    linktype, frames = read_pcap(pcap)
    printer = TcpdumpPrinter(linktype=linktype, verbose=2, sigsecret=b"secret")
    assert "\n".join(printer.format(ts, frame) for ts, frame in frames) + "\n" == checked


if __name__ == "__main__":
    print(json.dumps(PLAYS[sys.argv[1]](time.sleep, proc_counters)))
