"""ping's further options as iputils 20221126 reads and shows them: -a (a bell after each
reply), -A (the interval follows the round trips), -B (bound to the source found: "from"),
-C, -D ("[sec.usec] " before each line), -d, -e IDENT, -L, -m MARK, -O, -p PATTERN (the
"PATTERN: 0x..." line, hidden by -q), -Q TOS, -r, -S SNDBUF, -U, -v ("ident=" in each reply, the
sockets and the address family first), -4; each refusal's words and exit status.  The judge is
this machine's ping against 127.0.0.1; ours runs on a tuxnet host against its own loopback.
Times, time stamps, identifiers and descriptors aside, the output must be the same."""

from __future__ import annotations

import re
import subprocess

import pytest
from test_ping_args import needs_ping

from tuxnet.net.ipv4.af_inet import IPPROTO_ICMP
from tuxnet.net.ipv4.icmp import ICMP_ECHO
from tuxnet.net.socket import AF_INET, SOCK_RAW
from tuxnet.topology import add_router
from tuxnet.user import libc
from tuxnet.user.programs.iputils_common import IputilsExit
from tuxnet.user.programs.ping import PingFlags, fill, parsetos, ping_main
from tuxnet.world import World

VARYING = [(re.compile(r"time=\d+(\.\d+)? ms"), "time=T ms"), (re.compile(r"time \d+ms"), "time Tms"),
           (re.compile(r"rtt min/avg/max/mdev = [\d./]+ ms"), "rtt ..."),
           (re.compile(r"ipg/ewma [\d./]+ ms"), "ipg ..."),
           (re.compile(r"\[\d+\.\d{6}\] "), "[T] "), (re.compile(r"ident=\d+"), "ident=I"),
           (re.compile(r"fd: \d+"), "fd: N")]


def normalize(text: str) -> str:
    for pattern, replacement in VARYING:
        text = pattern.sub(replacement, text)
    return text


def ours(argv: list[str]) -> tuple[str, int | None]:
    world = World(seed=1)
    host = add_router(world, "h")
    proc = host.spawn(ping_main, [*argv, "127.0.0.1"], name="ping")
    world.run_until(lambda: not proc.alive, timeout=int(60e9))
    assert not proc.alive
    return normalize(host.output()), proc.result if proc.exit_code == 0 else proc.exit_code


def real(argv: list[str]) -> tuple[str, int]:
    res = subprocess.run(["ping", *argv, "127.0.0.1"], stdout=subprocess.PIPE, stderr=subprocess.STDOUT, timeout=30)
    return normalize(res.stdout.decode()), res.returncode


ONE = ["-c", "1"]
CASES = [
    # refusals
    ["-Q", "300", *ONE], ["-Q", "abc", *ONE], ["-Q", "0x1g", *ONE], ["-Q", "0x100", *ONE], ["-Q", "99999999999", *ONE],
    ["-e", "70000", *ONE], ["-e", "abc", *ONE], ["-e", "-1", *ONE], ["-e", "", *ONE], ["-m", "-1", *ONE],
    ["-m", "4294967296", *ONE], ["-m", "x", *ONE], ["-S", "0", *ONE], ["-S", "2147483648", *ONE],
    ["-p", "xyz", *ONE], ["-p", "12g4", *ONE],
    # taken
    ["-Q", "0x10", *ONE], ["-Q", "-1", *ONE], ["-Q", "0x", *ONE], ["-Q", "16", *ONE], ["-e", "5", *ONE],
    ["-m", "5", *ONE], ["-S", "1", *ONE], ["-p", "ab", *ONE], ["-p", "", *ONE], ["-p", "abc", "-s", "20", *ONE],
    ["-p", "0123456789abcdef0123456789abcdef01", *ONE], ["-p", "ab", "-q", *ONE], ["-q", "-p", "ab", *ONE],
    ["-a", *ONE], ["-B", *ONE], ["-C", *ONE], ["-D", *ONE], ["-d", *ONE], ["-L", *ONE], ["-O", *ONE], ["-r", *ONE],
    ["-U", *ONE], ["-4", *ONE], ["-4", "-v", *ONE], ["-4", "-v", "-e", "0", *ONE], ["-4", "-v", "-e", "7", *ONE],
    ["-a", "-D", "-c", "2", "-i", "0.2"], ["-A", "-c", "3"], ["-A", "-c", "3", "-q"],
    ["-O", "-D", "-c", "2", "-i", "0.2"],
]


def test_ours_reads_and_shows_the_options_as_iputils_does() -> None:
    """Without the judge: the words of the refusals, the pattern's line, the bell, the stamp."""
    assert ours(["-Q", "300", *ONE]) == ("ping: the decimal value of TOS bits must be in range 0-255: 300\n", 2)
    assert ours(["-Q", "0x1g", *ONE]) == ("ping: bad TOS value: 0x1g\n", 2)
    assert ours(["-e", "70000", *ONE]) == ("ping: invalid argument: '70000': out of range: 0 <= value <= 65535\n", 1)
    assert ours(["-m", "-1", *ONE]) == ("ping: invalid argument: '-1': out of range: 0 <= value <= 4294967295\n", 1)
    assert ours(["-p", "12g4", *ONE]) == ("ping: patterns must be specified as hex digits: g4\n", 2)
    text, status = ours(["-p", "abc", "-s", "20", "-a", "-D", *ONE])
    assert status == 0 and text.startswith("PATTERN: 0xab0c\nPING 127.0.0.1 (127.0.0.1) 20(48) bytes of data.\n")
    assert "[T] 28 bytes from 127.0.0.1: icmp_seq=1 ttl=64 time=T ms\a\n" in text
    assert ours(["-B", *ONE])[0].startswith("PING 127.0.0.1 (127.0.0.1) from 127.0.0.1 : 56(84) bytes of data.\n")
    assert parsetos("0x") == 0 and parsetos("-1") == -1 and parsetos("0X1f") == 31
    for bad in ("1 ", "99999999999"):  # (the long cut to an int: 1215752191)
        with pytest.raises(IputilsExit):
            parsetos(bad)
    assert fill("", quiet=True) == b"" and fill("abc", quiet=True) == b"\xab\x0c"
    assert fill("00" * 20, quiet=True) == bytes(16)
    assert PingFlags().ident is None


def test_adaptive_ping_goes_as_fast_as_the_replies() -> None:
    """-A: after the first reply the interval is the round trip's average (here well under a
    millisecond), so three probes take no more than a few milliseconds, and the last line
    shows the gap between probes."""
    text, status = ours(["-A", "-c", "3"])
    assert status == 0 and "3 packets transmitted, 3 received, 0% packet loss, time Tms" in text
    assert "ipg ..." in text
    world = World(seed=1)
    host = add_router(world, "h")
    proc = host.spawn(ping_main, ["-A", "-c", "3", "127.0.0.1"], name="ping")
    world.run_until(lambda: not proc.alive, timeout=int(60e9))
    assert world.now < int(0.1e9)


def test_the_pattern_and_the_identifier_go_on_the_wire() -> None:
    """-p and -e: a raw ICMP socket of the same host sees the echo request go over loopback:
    our identifier, and the pattern repeated from the data's start, its first 16 octets under
    the time stamp."""
    world = World(seed=1)
    host = add_router(world, "h")
    seen: list[bytes] = []

    def listen() -> None:
        fd = libc.socket(AF_INET, SOCK_RAW, IPPROTO_ICMP)
        while True:
            packet, _ = libc.recvfrom(fd, 65536, 0)
            if packet[20] == ICMP_ECHO:
                seen.append(packet[20:])
                return

    host.spawn(listen, name="listen")
    world.run_for(int(1e6))
    proc = host.spawn(ping_main, ["-p", "a5b6c", "-e", "4660", "-s", "24", "-c", "1", "127.0.0.1"], name="ping")
    world.run_until(lambda: not proc.alive, timeout=int(60e9))
    world.run_for(int(1e9))
    assert proc.result == 0 and host.output().startswith("PATTERN: 0xa5b60c\n")
    assert int.from_bytes(seen[0][4:6], "big") == 4660
    assert seen[0][8 + 16:] == (bytes.fromhex("a5b60c") * 8)[16:24]


@needs_ping
@pytest.mark.parametrize("argv", CASES, ids=[" ".join(c) for c in CASES])
def test_a_command_line_prints_what_iputils_prints(argv: list[str]) -> None:
    assert ours(argv) == real(argv)
