"""ping's command line as iputils 20221126 reads it: counts and sizes by ``strtol_or_err`` (C's
``strtol``: blanks and a sign before the digits, nothing after, ERANGE), times by ``ping_strtod``
(C's ``strtod``: a warning for what follows the number, and going on), and each refusal's words
and exit status.  The judge is this machine's ping, run with the same options against
127.0.0.1; ours runs on a tuxnet host against its own loopback.  Each run ends with ``-c 1``
(the last ``-c`` wins), so it sends one probe at most."""

from __future__ import annotations

import re
import shutil
import subprocess

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tuxnet.topology import add_router
from tuxnet.user.programs.ping import ping_main
from tuxnet.world import World

TIMESTAMPS = re.compile(r"\nTS: [^\n]*(\n\t[^\n]*)*")  # the clock's: a new world starts at midnight UT
VARYING = [(re.compile(r"time=\d+(\.\d+)? ms"), "time=T ms"), (re.compile(r"time \d+ms"), "time Tms"),
           (re.compile(r"rtt min/avg/max/mdev = [\d./]+ ms"), "rtt ...")]


def normalize(text: str) -> str:
    text = TIMESTAMPS.sub("\nTS: ...", text)
    for pattern, replacement in VARYING:
        text = pattern.sub(replacement, text)
    return text


def ours(argv: list[str]) -> tuple[str, int | None]:
    world = World(seed=1)
    host = add_router(world, "h")   # a networked machine: its loopback up
    proc = host.spawn(ping_main, [*argv, "-c", "1", "127.0.0.1"], name="ping")
    world.run_until(lambda: not proc.alive, timeout=int(60e9))
    assert not proc.alive
    # ping_main returns its status; an exit deeper down (SystemExit) is the process's exit code
    return normalize(host.output()), proc.result if proc.exit_code == 0 else proc.exit_code


def real(argv: list[str]) -> tuple[str, int]:
    res = subprocess.run(["ping", *argv, "-c", "1", "127.0.0.1"], stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                         timeout=30)
    return normalize(res.stdout.decode()), res.returncode


def _ping_runs() -> str | None:
    if shutil.which("ping") is None:
        return "needs this machine's ping (apt install iputils-ping)"
    if subprocess.run(["ping", "-c", "1", "-W", "1", "127.0.0.1"], capture_output=True).returncode != 0:
        return "this machine's ping cannot ping 127.0.0.1 here (no raw or ping socket)"
    return None


_REASON = _ping_runs()
needs_ping = pytest.mark.skipif(_REASON is not None, reason=_REASON or "")

CASES = [["-c", "0"], ["-c", "-1"], ["-c", "1_0"], ["-c", "0x10"], ["-c", "99999999999999999999"], ["-c", " 5"],
         ["-c", "5 "], ["-c", "+3"], ["-c", ""], ["-c", "٣"], ["-i", "nan"], ["-i", "inf"], ["-i", ""], ["-i", "0.5x"],
         ["-i", "abc"], ["-i", "1e400"], ["-i", "1e-400"], ["-i", "1e-310"], ["-i", "2147483"], ["-i", "2147484"],
         ["-i", "-1"], ["-i", "0x1p-4"], ["-s", "-1"], ["-s", "0"], ["-t", "0"], ["-t", "256"], ["-t", " 3"],
         ["-W", "-1"], ["-W", "0"], ["-W", "1e10"], ["-W", "abc"], ["-w", "0"], ["-w", "0x5"], ["-M", "foo"],
         ["-T", "tsonly", "-R"], ["-R", "-T", "x"], ["-Z"], ["-V"], ["-h"], [],
         # an empty time reports the errno the options before it left
         ["-W", "1", "-W", ""], ["-i", "1e-400", "-W", ""], ["-c", "5", "-i", ""]]


def test_ours_refuses_and_warns_as_iputils_does() -> None:
    """Without the judge: the words of each kind of refusal, and its status."""
    assert ours(["-c", "1_0"]) == ("ping: invalid argument: '1_0'\n", 1)
    assert ours(["-c", "99999999999999999999"]) == (
        "ping: invalid argument: '99999999999999999999': Numerical result out of range\n", 1)
    assert ours(["-t", "256"]) == ("ping: invalid argument: '256': out of range: 0 <= value <= 255\n", 1)
    assert ours(["-i", "nan"]) == ("ping: bad timing interval: nan: Numerical result out of range\n", 2)
    assert ours(["-W", "-1"]) == ("ping: bad linger time: -1\n", 2)
    assert ours(["-t", "0"]) == ("ping: cannot set unicast time-to-live: Invalid argument\n", 2)
    text, status = ours(["-i", "0.5x"])
    assert status == 0 and text.startswith("ping: option argument contains garbage: x\n"
                                           "ping: this will become fatal error in the future\nPING 127.0.0.1")
    assert ours([]) == ours(["-c", " 5"]) == ours(["-c", "+3"])


@needs_ping
@pytest.mark.parametrize("argv", CASES, ids=[" ".join(c) or "none" for c in CASES])
def test_a_command_line_prints_what_iputils_prints(argv: list[str]) -> None:
    assert ours(argv) == real(argv), argv


VALUES = {
    "-c": ["1", "2", "0", "-1", "abc", "1_0", " 4", "+2", "9223372036854775808", ""],
    # (no negative interval: with a deadline, iputils' pinger sends without pause until it, a
    # count only this machine's speed sets; CASES has "-i -1" alone)
    "-i": ["0.01", "0", "abc", "0.5x", "nan", "", "1e-400", "1e400", "2147484", " 0.2", "1,5", "0x1p-4", "."],
    "-s": ["0", "56", "100", "abc", "-1", "2147483648", " 8", "+8", "1_0"],
    "-t": ["1", "64", "255", "256", "0", "-1", "x"],
    "-W": ["1", "0", "-1", "abc", "1e10", "0.0005", ""],
    "-w": ["5", "0", "-1", "abc", "9999999999", "0x5"],
    "-M": ["do", "dont", "want", "foo"],
    "-T": ["foo", "tsonly"],
}
OPTION = st.one_of(
    st.sampled_from(sorted(VALUES)).flatmap(lambda flag: st.sampled_from(VALUES[flag]).map(lambda v: [flag, v])),
    st.sampled_from([["-q"], ["-n"], ["-R"], ["-b"], ["-Z"], ["-qn"]]),
)


@needs_ping
@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(options=st.lists(OPTION, max_size=4))
def test_any_command_line_prints_what_iputils_prints(options: list[list[str]]) -> None:
    argv = [word for option in options for word in option]
    assert ours(argv) == real(argv), argv
