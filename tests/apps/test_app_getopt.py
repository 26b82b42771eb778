"""libc's getopt, judged by Python's ``getopt.gnu_getopt`` (an independent GNU-order getopt): the
same options, arguments and operands for any command line, and an error where it gives one; and
the programs that use it taking what Linux's take (``ping -c2 -nq``, a filter before tcpdump's
options)."""

from __future__ import annotations

import getopt as pygetopt

from hypothesis import given, settings
from hypothesis import strategies as st

from tuxnet.user import libc
from tuxnet.user.programs.ping import ping_main
from tuxnet.user.programs.tcpdump import tcpdump_main
from tuxnet.world import World

OPTSTRING = "abc:d:n"
WORDS = ["-a", "-b", "-ab", "-c", "-c5", "-abc", "-abcx", "-d", "-n", "-z", "-az", "--", "-", "x", "y", "5", "-c-a",
         "-:", ""]


def ours(argv: list[str]) -> tuple[list[tuple[str, str]], list[str]] | str:
    operands: list[str] = []
    try:
        return list(libc.getopt("prog", argv, OPTSTRING, operands)), operands
    except libc.GetoptError as error:
        return str(error)


def theirs(argv: list[str]) -> tuple[list[tuple[str, str]], list[str]] | None:
    try:
        opts, operands = pygetopt.gnu_getopt(argv, OPTSTRING)
    except pygetopt.GetoptError:
        return None
    return [(flag[1], value) for flag, value in opts], operands


@settings(max_examples=400, deadline=None)
@given(st.lists(st.sampled_from(WORDS), max_size=6))
def test_the_same_as_gnu_getopt(argv):
    mine, judge = ours(argv), theirs(argv)
    if judge is None:
        assert isinstance(mine, str)
    else:
        assert mine == judge


def test_glibc_messages():
    assert ours(["-a", "-z"]) == "prog: invalid option -- 'z'"
    assert ours(["x", "-ac"]) == "prog: option requires an argument -- 'c'"
    assert ours(["-c", "-a", "x", "--", "-b"]) == ([("c", "-a")], ["x", "-b"])


def test_programs_take_joined_options_and_operands_anywhere():
    world = World(seed=1)
    h1, h2 = world.add_host("h1"), world.add_host("h2")
    world.connect(h1, h2, a_addr="10.0.0.1/24", b_addr="10.0.0.2/24")
    h1.spawn(ping_main, ["-c2", "-nq", "10.0.0.2"])
    world.run_for(3 * 10**9)
    out = h1.output()
    assert "2 packets transmitted, 2 received, 0% packet loss" in out and "icmp_seq" not in out
    h2.spawn(tcpdump_main, ["icmp", "-c1", "-n"])
    world.run_for(1000)
    h1.spawn(ping_main, ["10.0.0.2", "-c", "1"])
    world.run_for(2 * 10**9)
    assert "1 packet captured" in h2.output()
