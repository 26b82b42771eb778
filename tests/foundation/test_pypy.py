"""tuxnet under PyPy 8 (Python 3.11), in the Debian unstable root ``bench/pytcp-root.sh`` builds,
run with ``bench/pypy.sh``: the same simulation prints the same lines as under CPython, the
benchmarks run, and the tests most tied to how Python manages buffers pass there too."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from tuxnet.pytcp_peer import pytcp_root

TREE = Path(__file__).resolve().parents[2]
PYPY = ["bash", str(TREE / "bench" / "pypy.sh")]


def _pypy_unavailable() -> str | None:
    if os.geteuid() != 0:
        return "bench/pypy.sh needs root (chroot and bind mounts)"
    root = pytcp_root()
    if not os.path.isfile(os.path.join(root, "opt/pypy/pyvenv.cfg")):
        return f"no PyPy venv in {root}: build it with `bash bench/pytcp-root.sh`"
    return None


pytestmark = [pytest.mark.root, pytest.mark.slow,
              pytest.mark.skipif(_pypy_unavailable() is not None, reason=str(_pypy_unavailable()))]


def _pypy(*args: str, timeout: float = 300) -> subprocess.CompletedProcess:
    return subprocess.run([*PYPY, *args], capture_output=True, text=True, timeout=timeout)


def test_the_demo_prints_the_same_under_pypy_as_under_cpython():
    # Virtual time and seeded randomness: the interpreter must not change a packet or a trace line.
    cpython = subprocess.run([sys.executable, "-m", "tuxnet.cli", "demo", "--tcpdump"], capture_output=True,
                             text=True, timeout=120)
    pypy = _pypy("-m", "tuxnet.cli", "demo", "--tcpdump")
    assert cpython.returncode == 0 and pypy.returncode == 0, pypy.stderr
    assert "tcp_v4_rcv" in cpython.stdout and "Flags [S]" in cpython.stdout
    assert pypy.stdout == cpython.stdout


def test_the_benchmarks_run_under_pypy():
    out = _pypy("-m", "tuxnet.cli", "bench", "hello_replyhi", "udp_request_response", "loopback_bulk",
                "cable_bulk_10g", "--scale", "0.02", "--repeat", "1", "--warmup", "1")
    assert out.returncode == 0, out.stderr
    lines = out.stdout.splitlines()
    assert ", PyPy 3.11" in lines[0]
    assert lines[1].startswith("speed check")
    # (a line under the speed check says so when the machine's speed changed during the run)
    header = next(i for i, line in enumerate(lines) if line.startswith("benchmark "))
    assert header in (2, 3) and "(runs: 1, after 1 warm-up)" in lines[header]
    rows = {line.split()[0]: line for line in lines[header + 1:header + 5]}
    assert set(rows) == {"hello_replyhi", "udp_request_response", "loopback_bulk", "cable_bulk_10g"}
    assert not any("skipped" in row for row in rows.values()), out.stdout


def test_the_buffer_tests_pass_under_pypy():
    # PyPy frees a view of a buffer when its collector runs, not when the view is dropped: the
    # tests of clones, splits, retransmissions and bulk transfers exercise exactly that.  The
    # copies into a caller's buffer go through cffi's memmove there (net/core/datagram.py).
    out = _pypy("-m", "pytest", "-q", "-p", "no:cacheprovider", "tests/tcp/test_tcp_clone.py",
                "tests/foundation/test_transfer.py", "tests/tcp/test_tcp_seq_wrap.py",
                "tests/foundation/test_recv_into.py")
    assert out.returncode == 0, out.stdout[-3000:]
    assert " passed" in out.stdout and " failed" not in out.stdout


_COUNT_MAJOR_COLLECTIONS = """
import gc
from tuxnet import benchmarks
majors = [0]
def on_collect(stats):
    majors[0] += stats.count
gc.hooks.on_gc_collect = on_collect
benchmarks.bench_loopback_bulk(0.25)
print(majors[0])
"""


def test_pypy_sh_keeps_the_collector_from_running_a_major_collection_every_few_megabytes():
    # 256 MB over lo: with PyPy's default floor (PYPY_GC_MIN, 8 nurseries: 32 MB with a 4 MB
    # nursery) about 30 major collections run, one per ~8 MB moved; pypy.sh's 1 GB floor leaves a
    # few (32 and 3 measured with a 256 MB floor).  A caller's own PYPY_GC_MIN wins over pypy.sh's.
    # PyPy sizes its nursery from the L2 cache /proc/cpuinfo reports; where it reports none, PyPy
    # 8.0.1 took a 240 MB nursery and ran no major collection at all, either way: both runs here
    # have the 4 MB nursery of a machine that reports one.
    nursery = {**os.environ, "PYPY_GC_NURSERY": "4MB"}
    tuned = subprocess.run([*PYPY, "-c", _COUNT_MAJOR_COLLECTIONS], capture_output=True, text=True, timeout=300,
                           env=nursery)
    default = subprocess.run([*PYPY, "-c", _COUNT_MAJOR_COLLECTIONS], capture_output=True, text=True,
                             timeout=300, env={**nursery, "PYPY_GC_MIN": "32MB"})
    assert tuned.returncode == 0 and default.returncode == 0, tuned.stderr + default.stderr
    assert int(tuned.stdout.split()[-1]) <= 6
    assert int(default.stdout.split()[-1]) >= 15
