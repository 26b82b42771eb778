"""``tuxnet packetdrill``: run packetdrill scripts against tuxnet, or tabulate a whole suite.

    tuxnet packetdrill [--tolerance_usecs=N ...] SCRIPT...
    tuxnet packetdrill --summary [DIR] [--reasons] [--list-passing]

Each script runs in a fresh world, in virtual time; its result is printed as packetdrill prints
it (the failing line and message on stderr).  The exit status is 0 when every script passed,
1 otherwise.  ``--summary`` runs every ``.pkt`` file under DIR (default: the shared conformance
suite) and prints a Markdown table of the results per directory.
"""

from __future__ import annotations

import argparse
import os
import sys
from collections import defaultdict
from pathlib import Path
from typing import TextIO

from tuxnet.packetdrill.runner import RunResult, run_file

# packetdrill's command-line options (config.c) that tuxnet honours, all written --name=value.
VALUE_OPTIONS = ("tolerance_usecs", "tolerance_percent", "mss", "mtu", "ip_version", "local_ip", "remote_ip",
                 "gateway_ip", "netmask_ip", "bind_port", "connect_port", "tcp_ts_tick_usecs")
FLAG_OPTIONS = ("strict_segments", "tcp_ts_ecr_scaled")
STATUSES = ("pass", "fail", "unsupported", "error")


def default_suite_dir() -> Path:
    """``$TUXNET_PACKETDRILL_DIR``, else ``../shared/conformance/packetdrill`` beside the checkout."""
    env = os.environ.get("TUXNET_PACKETDRILL_DIR")
    if env:
        return Path(env)
    return Path(__file__).resolve().parents[3].parent / "shared" / "conformance" / "packetdrill"


def suite_scripts(directory: Path) -> list[Path]:
    """The scripts of a suite, in a stable order."""
    return sorted(directory.rglob("*.pkt"))


def run_suite(directory: Path, options: dict[str, str] | None = None) -> dict[str, RunResult]:
    """Run every script under ``directory``; results keyed by path relative to it."""
    return {p.relative_to(directory).as_posix(): run_file(p, options) for p in suite_scripts(directory)}


def summary_table(results: dict[str, RunResult]) -> str:
    """A Markdown table of the results per directory, with a total line."""
    per_dir: dict[str, dict[str, int]] = defaultdict(lambda: dict.fromkeys(STATUSES, 0))
    for name, result in results.items():
        per_dir[str(Path(name).parent)][result.status] += 1
    lines = ["| directory | scripts | pass | fail | unsupported | error |",
             "|---|---:|---:|---:|---:|---:|"]
    total = dict.fromkeys(STATUSES, 0)
    for directory in sorted(per_dir):
        counts = per_dir[directory]
        for status in STATUSES:
            total[status] += counts[status]
        lines.append(f"| {directory} | {sum(counts.values())} | " + " | ".join(str(counts[s]) for s in STATUSES)
                     + " |")
    lines.append(f"| **total** | **{sum(total.values())}** | " + " | ".join(f"**{total[s]}**" for s in STATUSES)
                 + " |")
    return "\n".join(lines) + "\n"


def reasons(results: dict[str, RunResult]) -> str:
    """One line per script that did not pass: its status and the first line of its message."""
    out = []
    for name, result in sorted(results.items()):
        if not result.passed:
            first = result.message.splitlines()[0] if result.message else ""
            first = first.split(": ", 1)[1] if ": " in first else first
            out.append(f"- `{name}` ({result.status}): {first}")
    return "\n".join(out) + ("\n" if out else "")


def report(result: RunResult, verbose: bool, out: TextIO, err: TextIO) -> None:
    """packetdrill's output for one script: nothing (or notes) on success, the error otherwise."""
    if verbose:
        for note in result.notes:
            out.write(f"{result.path}: note: {note}\n")
        out.write(result.output)
    if result.passed:
        out.write(f"{result.path}: pass ({result.virtual_time:.3f} s of virtual time)\n")
    else:
        label = "" if result.status == "fail" else f"[{result.status}] "
        err.write(f"{label}{result.message}\n")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="tuxnet packetdrill",
        description="Run packetdrill scripts against tuxnet, in virtual time, with no kernel and no TUN device.")
    for name in VALUE_OPTIONS:
        parser.add_argument(f"--{name}", metavar="VALUE", help=f"packetdrill's --{name}")
    for name in FLAG_OPTIONS:
        parser.add_argument(f"--{name}", action="store_true", help=f"packetdrill's --{name}")
    parser.add_argument("--verbose", "-v", action="store_true", help="print the notes and output of each script")
    parser.add_argument("--summary", action="store_true",
                        help="run every .pkt under the given directory (default: the shared suite) and "
                             "print a table of results per directory")
    parser.add_argument("--reasons", action="store_true", help="with --summary: why each failing script fails")
    parser.add_argument("--list-passing", action="store_true",
                        help="with --summary: print the passing scripts, one per line, instead of the table")
    parser.add_argument("scripts", nargs="*", metavar="SCRIPT", help="script files (with --summary: one directory)")
    return parser


def packetdrill_main(argv: list[str]) -> int:
    """The ``tuxnet packetdrill`` subcommand; returns the exit status."""
    args = build_parser().parse_args(argv)
    options = {name: getattr(args, name) for name in VALUE_OPTIONS if getattr(args, name) is not None}
    options.update({name: "" for name in FLAG_OPTIONS if getattr(args, name)})
    out, err = sys.stdout, sys.stderr
    if args.summary:
        if len(args.scripts) > 1:
            err.write("tuxnet packetdrill --summary takes one directory\n")
            return 2
        directory = Path(args.scripts[0]) if args.scripts else default_suite_dir()
        if not directory.is_dir():
            err.write(f"no packetdrill suite at {directory} (set TUXNET_PACKETDRILL_DIR)\n")
            return 2
        results = run_suite(directory, options)
        if args.list_passing:
            out.write("".join(f"{name}\n" for name, r in results.items() if r.passed))
            return 0
        out.write(summary_table(results))
        if args.reasons:
            out.write("\n" + reasons(results))
        return 0
    if not args.scripts:
        err.write("tuxnet packetdrill: no script given\n")
        return 2
    status = 0
    for script in args.scripts:
        result = run_file(script, options)
        report(result, args.verbose, out, err)
        if not result.passed:
            status = 1
    return status
