"""curl's URLs, as curl 7.88.1 makes and reads them.  Its globs (``src/tool_urlglob.c``): how many
URLs a glob makes, counted in an unsigned long as curl counts them, the URLs made one at a time
(a range of 2**64 numbers must not be built as a list), curl's counter's wrap-rounds, and its
errors with their positions.  Then what its URL parser makes of each URL (``url_effective``):
the scheme in lower case, the port as a number, the path without dot segments.  The judge is
this machine's curl, given the same URLs against a closed port on this machine:
``-w '%{url_effective}'`` prints each URL it makes, and its glob errors come before any
transfer."""

from __future__ import annotations

import itertools
import shutil
import subprocess

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from procs import run_main
from tuxnet.user.programs.curl import GlobError, curl_main, glob_url, parse_url
from tuxnet.world import World

BASE = "http://127.0.0.1:1/"   # nothing listens: every transfer fails at once, after printing its URL
ULONG_MAX = (1 << 64) - 1
FIRST = 4                      # URLs compared from each glob


def ours(url: str, n: int = FIRST) -> tuple[list[str], str | None]:
    """The first ``n`` URLs the glob makes, as curl's URL parser gives them back, or curl's
    message for it."""
    try:
        return [parse_url(u)[0] for u in itertools.islice(glob_url(url).urls(), n)], None
    except GlobError as e:
        return [], f"curl: (3) {e.text(url)}"


def real(url: str, n: int = FIRST) -> tuple[list[str], str | None]:
    """The first ``n`` URLs this machine's curl makes of ``url``, or its glob error."""
    proc = subprocess.Popen(["curl", "-sS", "-w", "%{url_effective}\\n", url], stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE)
    urls = []
    try:
        while len(urls) < n:
            line = proc.stdout.readline()
            if not line:
                break
            urls.append(line.decode("latin-1").rstrip("\n"))
    finally:
        proc.kill()
        _, err = proc.communicate()
    if not urls:
        message = err.decode("latin-1")
        assert message.startswith("curl: (3) "), message
        return [], message.removesuffix("\n")
    return urls, None


def test_a_range_counts_as_curl_counts_it_and_is_made_one_url_at_a_time() -> None:
    glob = glob_url(BASE + "[1-18446744073709551615]")
    assert glob.amount == ULONG_MAX
    assert list(itertools.islice(glob.urls(), 3)) == [BASE + "1", BASE + "2", BASE + "3"]
    # 2**64 numbers: the count wraps to 0, and curl makes one URL
    assert glob_url(BASE + "{a,b}[0-18446744073709551615]").amount == 0
    assert list(glob_url(BASE + "{a,b}[0-18446744073709551615]").urls()) == [BASE + "a0"]
    assert glob_url(BASE + "[1-3037000500][1-3037000500]").amount == 3037000500 ** 2
    # a step in any form strtoul reads
    assert list(glob_url(BASE + "[1-10:+4]").urls()) == [BASE + "1", BASE + "5", BASE + "9"]
    assert list(glob_url(BASE + "[1-10: 4]").urls()) == [BASE + "1", BASE + "5", BASE + "9"]


def test_curls_counter_wraps_round_as_curl_7_88_1s_does() -> None:
    """A number one step past ULONG_MAX wraps to a small one, and a letter past 127 to a negative
    char: neither is past the range's end, so the counter does not carry to the pattern before."""
    assert list(glob_url(BASE + "{a,b}[18446744073709551614-18446744073709551615]").urls()) == \
        [BASE + "a18446744073709551614", BASE + "a18446744073709551615", BASE + "a0", BASE + "a1"]
    assert list(glob_url(BASE + "{a,b}[a-z:25]").urls()) == [BASE + "aa", BASE + "az", BASE + "a\x93", BASE + "a\xac"]
    assert list(glob_url(BASE + "{a,b}[x-z:2]").urls()) == [BASE + "ax", BASE + "az", BASE + "bx", BASE + "bz"]


@pytest.mark.parametrize(("glob", "message"), [
    ("[1-18446744073709551616]", "bad range in URL position 23:"),           # strtoul's ERANGE
    ("[1-5:18446744073709551616]", "bad range in URL position 25:"),
    ("[1-10:-1]", "bad range in URL position 29:"),                          # -1 is ULONG_MAX
    ("[a-c:2147483648]", "bad range in URL position 36:"),                   # past INT_MAX
    ("[1-4294967296][1-4294967296]", "range overflow in URL position 48:"),  # 2**64 URLs
    ("{a,b}" * 64, "range overflow"),                                        # a set's: no position
    ("{a}x" * 50, "too many globs in URL position 169:"),                    # 100 patterns
])
def test_curls_glob_errors(glob: str, message: str) -> None:
    urls, error = ours(BASE + glob)
    assert urls == [] and error is not None
    assert error.split("\n")[0] == "curl: (3) " + message


def test_a_long_message_is_cut_to_curls_512_byte_buffer() -> None:
    url = BASE + "{a,b}x" * 50
    _, error = ours(url)
    assert error is not None and error.startswith("curl: (3) too many globs in URL position 269:\n" + url + "\n")
    assert len(error) == len("curl: (3) ") + 511 and error.endswith(" ")


def test_a_glob_of_2_to_the_64_urls_runs_on_a_host() -> None:
    """Through ``curl_main`` on a tuxnet host: the URLs are made as the transfers need them."""
    world = World(seed=1)
    host = world.add_host("h")
    glob = BASE + "{a,b}[18446744073709551614-18446744073709551615]"
    text, code = run_main(world, host, curl_main, ["-s", "-w", "%{url_effective}\\n", glob])
    assert code == 7
    assert text.split() == [BASE + "a18446744073709551614", BASE + "a18446744073709551615", BASE + "a0", BASE + "a1"]
    text, code = run_main(world, host, curl_main, ["-sS", BASE + "[0-18446744073709551615]"])
    assert code == 7 and text.count("curl: (7)") == 1


needs_curl = pytest.mark.skipif(shutil.which("curl") is None, reason="needs this machine's curl (apt install curl)")

NUMBERS = st.sampled_from(["0", "1", "2", "5", "9", "10", "007", "100", "4294967296", "3037000500",
                           "18446744073709551614", "18446744073709551615", "18446744073709551616"])
STEPS = st.sampled_from(["", ":1", ":2", ":+2", ": 3", ":-1", ":0", ":", ":x", ":18446744073709551616", ":2147483648"])
LETTERS = st.sampled_from(list("aAcxyzZ0}-"))
WORD = st.text(alphabet="abx19", max_size=3)
PIECE = st.one_of(
    st.text(alphabet="abz019-:./", min_size=1, max_size=4),
    st.lists(WORD, min_size=1, max_size=3).map(lambda words: "{" + ",".join(words) + "}"),
    st.builds(lambda lo, blank, hi, step, close: f"[{lo}-{blank}{hi}{step}{close}", NUMBERS,
              st.sampled_from(["", " ", "\t"]), NUMBERS, STEPS, st.sampled_from(["]", "]", "]", ""])),
    st.builds(lambda lo, hi, step, close: f"[{lo}-{hi}{step}{close}", LETTERS, LETTERS, STEPS,
              st.sampled_from(["]", "]", ""])),
    st.sampled_from(["]", "}", "{", "[", "{a,[b]}", "{a", "[-1]", "{}", "\\[x\\]", "[]"]),
    # brackets that hold an IPv6 address (peek_ipv6) are no glob; ones that only look like one are
    st.sampled_from(["[::1]", "[::]", "[:0:]", "[::g]", "[fe80::1%eth0]", "[::1%25x]", "[::1%]", "[1:2]"]),
)


@needs_curl
@pytest.mark.parametrize("glob", ["[1-18446744073709551615]", "[0-18446744073709551615]",
                                  "{a,b}[0-18446744073709551615]", "{a,b}[18446744073709551614-18446744073709551615]",
                                  "{a,b}[x-z:2]", "[1-3037000500][1-3037000500]", "{a,b}x" * 50, "{a}x" * 49,
                                  "{a}x" * 50, "{a,b}" * 64, "{a,b}" * 63, "[1-10:+2]", "[a-z:+2]"])
def test_the_first_urls_or_the_error_are_curls(glob: str) -> None:
    assert ours(BASE + glob) == real(BASE + glob)


@needs_curl
@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(pieces=st.lists(PIECE, min_size=1, max_size=5))
def test_any_glob_makes_curls_urls_or_curls_error(pieces: list[str]) -> None:
    url = BASE + "".join(pieces)
    assert ours(url) == real(url)


URLS = ["http://127.0.0.1:1/./a/../b", "HtTp://127.0.0.1:1/x", "http://127.0.0.1:1", "http://127.0.0.1:1/a/./b/..",
        "http://127.0.0.1:1/a/b/../../..", "http://127.0.0.1:1/a/../b?c/../d#e/../f", "http://127.0.0.1:1/%2e%2e/x",
        "127.0.0.1:1/q", "http://LocalHost:1/A", "http://127.0.0.1:0080/x", "http://127.0.0.1:/x",
        "http://127.0.0.1:1?q", "http://127.0.0.1:1#f", "http://u:p@127.0.0.1:1/x/../y", "http://127.0.0.1:1/a//../b",
        "http://127.0.0.1:1/.a/..b/c/...", "http://127.0.0.1:1/."]
EXPECTED = ["http://127.0.0.1:1/b", "http://127.0.0.1:1/x", "http://127.0.0.1:1/", "http://127.0.0.1:1/a/",
            "http://127.0.0.1:1/", "http://127.0.0.1:1/b?c/../d#e/../f", "http://127.0.0.1:1/%2e%2e/x",
            "http://127.0.0.1:1/q", "http://LocalHost:1/A", "http://127.0.0.1:80/x", "http://127.0.0.1/x",
            "http://127.0.0.1:1/?q", "http://127.0.0.1:1/#f", "http://u:p@127.0.0.1:1/y", "http://127.0.0.1:1/a/b",
            "http://127.0.0.1:1/.a/..b/c/...", "http://127.0.0.1:1/"]


def test_curl_gives_back_each_url_as_its_parser_reads_it() -> None:
    """``url_effective``, on a tuxnet host (these as curl 7.88.1 printed them)."""
    world = World(seed=1)
    host = world.add_host("h")
    for url, expected in zip(URLS, EXPECTED, strict=True):
        text, _ = run_main(world, host, curl_main, ["-s", "-w", "%{url_effective}\\n", url])
        assert text == expected + "\n", url


@needs_curl
def test_the_urls_are_what_this_machines_curl_gives_back() -> None:
    got = [real(url, 1)[0] for url in URLS]
    assert got == [[url] for url in EXPECTED]


# -m and --connect-timeout: str2udouble's checks in its order (ERANGE or more than LONG_MAX/1000
# seconds first: "too large number", even for 1e-400), then whole milliseconds, 0 for no limit
TIMES = ["abc", "-1", "1e3", "inf", "-inf", "nan", "0x10", " 5", "5x", "", "1,5", "²", "1e400", "1e-400",
         "9223372036854776", "9223372036854778", "-0", "0", "0.0005"]


def curl_line(argv: list[str]) -> tuple[str, int | None]:
    world = World(seed=1)
    host = world.add_host("h")
    text, code = run_main(world, host, curl_main, [*argv, "-sS", BASE])
    return text.splitlines()[0].replace("after 0 ms", "after N ms"), code


@pytest.mark.parametrize("value", TIMES)
def test_a_time_is_read_as_curl_reads_it(value: str) -> None:
    line, code = curl_line(["-m", value])
    if value in ("inf", "1e400", "1e-400", "9223372036854778"):
        assert (line, code) == ("curl: option -m: too large number", 2)
    elif value in ("-1", "-inf"):
        assert (line, code) == ("curl: option -m: expected a positive numerical parameter", 2)
    elif value in ("abc", "5x", "", "1,5", "²"):
        assert (line, code) == ("curl: option -m: expected a proper numerical parameter", 2)
    else:  # a time, or none (0, less than a millisecond, NaN): the closed port answers at once
        assert code == 7
    if shutil.which("curl") is not None:
        real = subprocess.run(["curl", "-m", value, "-sS", BASE], capture_output=True, text=True, timeout=30)
        assert (line, code) == (real.stderr.splitlines()[0].replace("after 0 ms", "after N ms"), real.returncode)
