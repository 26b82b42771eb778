"""Machine instructions per unit of work of a benchmark, counted by Valgrind: a figure that does not
move with the load of a shared machine, for comparing two versions of the code.

Wall-clock figures on a virtual machine move by a third from one minute to the next; the number of
instructions the CPU executes for the same simulation does not (a simulation in virtual time is
deterministic, and the hash seed is fixed).  Each benchmark runs twice under Cachegrind, at two
sizes, after the same warm-up; the difference of the two counts over the difference of the two
amounts of work is the cost of a unit (an exchange, a request, a MB), start-up and imports
cancelled out.

    apt-get install -y valgrind
    python bench/instructions.py                        # hello_replyhi, udp_request_response, ...
    python bench/instructions.py --base /tmp/old hello_replyhi   # this tree against another one

``--base DIR`` measures the tree at DIR (a ``git worktree`` of another commit, from 619fd3d on,
where the benchmarks report their work) the same way and prints this tree's count as a ratio of
it.  Instructions are not time (a cache miss costs more than an addition) but they follow the
interpreter's work closely, and fewer of them is faster.

Each count also says how many of its instructions are glibc's ``memcpy``/``memmove``/``memset``:
Valgrind counts every byte a ``rep movsb`` moves as an instruction, so a benchmark that copies
megabytes (loopback_bulk: about half its count) has a count that copies dominate, though they take
a few per cent of its time.  The rest, "without copies", is the interpreter's work.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile

TREE = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
# name: (the smaller scale, the larger one, the unit of work); scale_dns_http's scales are numbers
# of hosts, each building its network and resolving and fetching (``scale_run``)
WORKLOADS = {
    "hello_replyhi": (0.05, 0.15, "exchange"),
    "udp_request_response": (0.01, 0.03, "request"),
    "loopback_bulk": (0.01, 0.03, "MB"),
    "loopback_bulk_rmem_default": (0.01, 0.03, "MB"),
    "cable_bulk_10g": (0.04, 0.12, "MB"),
    "scale_dns_http": (100, 300, "host"),
}
WARMUP_SCALE = 0.002

CHILD = """
import json, sys
from tuxnet import benchmarks
name, warm, scale = sys.argv[1], float(sys.argv[2]), float(sys.argv[3])
if name == "scale_dns_http":
    fn, warm, scale = benchmarks.scale_run, 10, max(10, int(scale))
else:
    fn = benchmarks.BENCHMARKS[name]
fn(warm)
print(json.dumps(fn(scale)["work"]))
"""


def _env(tree: str, cache: str) -> dict[str, str]:
    """The environment of a run: the tree's code, a fixed hash seed, compiled code kept in
    ``cache`` (not compiled again under Valgrind on every run)."""
    env = dict(os.environ, PYTHONPATH=os.path.join(tree, "src"), PYTHONHASHSEED="0", PYTHONPYCACHEPREFIX=cache)
    env.pop("PYTHONDONTWRITEBYTECODE", None)
    return env


# glibc's copying functions (__memmove_avx_unaligned_erms and the like), in Cachegrind's "fn=" lines
COPY_FN = re.compile(r"^fn=.*mem(move|cpy|set)")


def copy_refs(out_file: str) -> int:
    """The instructions Cachegrind's output file counts in glibc's copying functions."""
    total = 0
    copying = False
    with open(out_file) as f:
        for line in f:
            if line.startswith("fn="):
                copying = COPY_FN.match(line) is not None
            elif copying and line[:1].isdigit():
                total += int(line.split()[1])
    return total


def count(tree: str, name: str, scale: float, cache: str) -> tuple[int, int, float]:
    """(instructions, those of them copying, work) of one run of benchmark ``name`` at ``scale``,
    with the code of ``tree``."""
    env = _env(tree, cache)
    out_file = os.path.join(cache, "cachegrind.out")
    # (sys.executable as it is: a venv's python is a link that Valgrind must run by that name, for
    # Python to find the venv, and its packages compiled in the cache, beside it)
    run = subprocess.run(["valgrind", "--tool=cachegrind", "--cache-sim=no", f"--cachegrind-out-file={out_file}",
                          sys.executable, "-c", CHILD, name, str(WARMUP_SCALE), str(scale)],
                         env=env, capture_output=True, text=True, check=False)
    refs = re.search(r"I\s+refs:\s+([\d,]+)", run.stderr)
    if run.returncode or refs is None:
        raise SystemExit(f"{name} under valgrind failed:\n{run.stdout}{run.stderr[-2000:]}")
    return int(refs.group(1).replace(",", "")), copy_refs(out_file), json.loads(run.stdout.splitlines()[-1])


def per_unit(tree: str, name: str, cache: str) -> tuple[float, float]:
    """(instructions, those of them copying) per unit of the benchmark's work."""
    small, large, _ = WORKLOADS[name]
    # A first run, not under Valgrind, compiles the modules into the cache, so that neither
    # counted run compiles them.
    first = subprocess.run([sys.executable, "-c", CHILD, name, str(WARMUP_SCALE), str(WARMUP_SCALE)],
                           env=_env(tree, cache), capture_output=True, text=True, check=False)
    if first.returncode:
        raise SystemExit(f"{name} failed in {tree}:\n{first.stderr[-2000:]}")
    ir1, copy1, work1 = count(tree, name, small, cache)
    ir2, copy2, work2 = count(tree, name, large, cache)
    return (ir2 - ir1) / (work2 - work1), (copy2 - copy1) / (work2 - work1)


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("names", nargs="*", help=f"benchmarks (default: {', '.join(WORKLOADS)})")
    parser.add_argument("--base", metavar="DIR", help="another tree (a git worktree) to compare with")
    args = parser.parse_args(argv)
    unknown = [n for n in args.names if n not in WORKLOADS]
    if unknown:
        parser.error(f"no instruction count for {', '.join(unknown)} (choose from {', '.join(WORKLOADS)})")
    if shutil.which("valgrind") is None:
        print("valgrind is not installed (apt-get install -y valgrind)", file=sys.stderr)
        return 2
    with tempfile.TemporaryDirectory() as cache:
        for name in args.names or list(WORKLOADS):
            unit = WORKLOADS[name][2]
            here, here_copy = per_unit(TREE, name, os.path.join(cache, "here"))
            line = (f"{name:24} {here:>14,.0f} instructions per {unit} ({here_copy / here:.0%} copying;"
                    f" {here - here_copy:,.0f} without)")
            if args.base:
                base, base_copy = per_unit(os.path.abspath(args.base), name, os.path.join(cache, "base"))
                line += (f"   base {base:>14,.0f}   {here / base:.3f} of base,"
                         f" {(here - here_copy) / (base - base_copy):.3f} without copies")
            print(line, flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
