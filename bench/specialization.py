"""What CPython 3.11's specialising interpreter makes of a benchmark: per unit of work, the
bytecodes executed, and for each family of instructions that it specialises (PEP 659) how many ran
specialised and how many in the generic form.

A generic instruction costs more than its specialised forms: ``a & b`` on two ints goes through
``PyNumber_And``, where ``a + b`` runs ``BINARY_OP_ADD_INT``.  CPython 3.11 specialises additions,
subtractions and multiplications but no other arithmetic; comparisons only when a jump follows and
an int operand fits one 30-bit digit; no subscript of a bytearray.  This measures how much of a
benchmark that leaves generic.

It needs an interpreter built with ``--enable-pystats`` (``bash bench/pystats-python.sh``), which
writes its counts to /tmp/py_stats/ when it exits.  Each benchmark runs at the two sizes
bench/instructions.py uses, after the same warm-up, and the difference of the counts over the
difference of the work is the figure for a unit (start-up and imports cancel out).

    bash bench/pystats-python.sh
    python bench/specialization.py [--python /var/tmp/tuxnet-pystats/bin/python3.11] [NAME...]
"""

from __future__ import annotations

import argparse
import json
import os
import re
import subprocess
import sys
from collections import defaultdict

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from instructions import CHILD, TREE, WARMUP_SCALE, WORKLOADS  # noqa: E402

STATS_DIR = "/tmp/py_stats"  # where CPython 3.11's pystats build writes (Python/specialize.c)
DEFAULT_PYTHON = "/var/tmp/tuxnet-pystats/bin/python3.11"
# The interpreter's instruction names, specialised ones included (its opcode module numbers them
# as Tools/scripts/summarize_stats.py does), and the families it specialises.
NAMES = """
import json, opcode
specialized = iter(opcode._specialized_instructions)
names = ["<0>"]
for name in opcode.opname[1:]:
    if name.startswith("<"):
        name = next(specialized, name)
    names.append(name)
print(json.dumps([names, opcode._specializations]))
"""


def run_counted(python: str, name: str, scale: float) -> tuple[dict[str, int], float]:
    """The counts one run of benchmark ``name`` at ``scale`` leaves, and its work."""
    os.makedirs(STATS_DIR, exist_ok=True)
    before = set(os.listdir(STATS_DIR))
    env = dict(os.environ, PYTHONPATH=os.path.join(TREE, "src"), PYTHONHASHSEED="0")
    run = subprocess.run([python, "-c", CHILD, name, str(WARMUP_SCALE), str(scale)], env=env,
                         capture_output=True, text=True, check=False)
    new = set(os.listdir(STATS_DIR)) - before
    if run.returncode or len(new) != 1:
        raise SystemExit(f"{name} under {python} failed or left no counts:\n{run.stderr[-2000:]}")
    path = os.path.join(STATS_DIR, new.pop())
    counts = {}
    with open(path) as f:
        for line in f:
            key, _, value = line.rpartition(":")
            if value.strip().isdigit():
                counts[key.strip()] = int(value)
    os.unlink(path)
    return counts, json.loads(run.stdout.splitlines()[-1])


def executions(counts: dict[str, int], names: list[str]) -> dict[str, int]:
    """Executions per instruction name."""
    out: dict[str, int] = defaultdict(int)
    for key, value in counts.items():
        m = re.fullmatch(r"opcode\[(\d+)\]\.execution_count", key)
        if m:
            out[names[int(m.group(1))]] += value
    return out


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("names", nargs="*", help=f"benchmarks (default: {', '.join(WORKLOADS)})")
    parser.add_argument("--python", default=DEFAULT_PYTHON, help="a CPython 3.11 built with --enable-pystats")
    args = parser.parse_args(argv)
    unknown = [n for n in args.names if n not in WORKLOADS]
    if unknown:
        parser.error(f"no workload for {', '.join(unknown)} (choose from {', '.join(WORKLOADS)})")
    if not os.access(args.python, os.X_OK):
        print(f"{args.python} is missing: build it with `bash bench/pystats-python.sh`", file=sys.stderr)
        return 2
    names, families = json.loads(subprocess.run([args.python, "-c", NAMES], capture_output=True, text=True,
                                                check=True).stdout)
    for name in args.names or list(WORKLOADS):
        small, large, unit = WORKLOADS[name]
        # a first run compiles the modules, so that neither counted run does
        run_counted(args.python, name, WARMUP_SCALE)
        c1, work1 = run_counted(args.python, name, small)
        c2, work2 = run_counted(args.python, name, large)
        e1, e2 = executions(c1, names), executions(c2, names)
        per = {op: (e2[op] - e1.get(op, 0)) / (work2 - work1) for op in e2}
        total = sum(per.values())
        rows = []
        for family, members in families.items():
            if f"{family}_ADAPTIVE" not in members:
                continue  # superinstructions (LOAD_FAST__LOAD_FAST ...), not specialisations
            generic = per.get(family, 0) + per.get(f"{family}_ADAPTIVE", 0)
            special = sum(per.get(m, 0) for m in members if not m.endswith("_ADAPTIVE"))
            if generic + special >= 1:
                rows.append((generic, family, special))
        rows.sort(reverse=True)
        all_generic = sum(r[0] for r in rows)
        print(f"{name}: {total:,.0f} bytecodes per {unit}; {all_generic:,.0f} ({all_generic / total:.1%}) "
              f"ran generic in a family CPython specialises")
        print(f"  {'family':18} {'generic':>10} {'specialised':>12}")
        for generic, family, special in rows:
            print(f"  {family:18} {generic:>10,.0f} {special:>12,.0f}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
