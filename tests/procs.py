"""Running a program on a tuxnet host to its end, for tests in any directory (``tests/`` is on the
path; a ``conftest`` import would find ``tests/tap``'s when the whole suite runs)."""

from __future__ import annotations

import re
import shutil
import subprocess

import pytest


def run_program(world, host, fn, *args, until=None, **kwargs):
    """Run ``fn`` as a process on ``host`` until it exits; returns its result (its exception is raised)."""
    proc = host.spawn(fn, *args, **kwargs)
    world.run_until(lambda: not proc.alive, timeout=until)
    assert not proc.alive, f"{proc} did not finish"
    return proc.result


def run_main(world, host, main, argv, timeout=int(60e9), stdin=None):
    """Run a command's ``main(argv)`` on ``host`` to its end (``stdin``, bytes, its standard
    input): what it printed and its status."""
    before = len(host.output())
    proc = host.spawn(main, argv, name=getattr(main, "__name__", "main").removesuffix("_main"), stdin=stdin)
    world.run_until(lambda: not proc.alive, timeout=timeout)
    assert not proc.alive, f"{proc} did not finish"
    return host.output()[before:], proc.result


def run_on_both(pair, tool, main, argv, timeout=60, stdin=None):
    """``tool argv`` in a TAP pair's namespace, the tuxnet world running in real time while it
    does, then ``main(argv)`` on the pair's tuxnet host, each given ``stdin`` (text) as its
    standard input: (ours, our status, the tool's standard output, its standard error, its
    status)."""
    if shutil.which(tool) is None:
        pytest.skip(f"{tool} is not installed (apt install dnsutils)")
    proc = pair.ns.popen(tool, *argv, stdin=subprocess.PIPE if stdin is not None else subprocess.DEVNULL)
    if stdin is not None:
        proc.stdin.write(stdin)
        proc.stdin.close()
        proc.stdin = None  # (communicate would flush it)
    out, err = pair.run_until_exit(proc, timeout=timeout)
    ours, status = run_main(pair.world, pair.host, main, argv, stdin=None if stdin is None else stdin.encode())
    return ours, status, out, err, proc.returncode


def lab_argv(pair, case):
    """A command line of a TAP lab's case: ``T`` (or ``@T``) is the tuxnet host's address, ``L``
    Linux's side of the pair, ``N`` an address on the pair's network that no one has."""
    words = {"T": pair.tux_ip, "L": pair.linux_ip, "N": pair.linux_ip.rsplit(".", 1)[0] + ".9"}
    return [("@" + words[w[1:]]) if w[:1] == "@" and w[1:] in words else words.get(w, w) for w in case.split()]


def dig_masked(text, addresses=False):
    """dig's output with what differs by nature set aside: the message ID, the query time, the
    date, the cookies and dig's version; with ``addresses``, the TAP pairs' addresses (for two
    servers on different addresses)."""
    text = re.sub(r"id: \d+", "id: N", text)
    text = re.sub(r"Query time: \d+ msec", "Query time: N msec", text)
    text = re.sub(r"; COOKIE: [0-9a-f]+", "; COOKIE: C", text)
    text = re.sub(r"(?m)^;; WHEN: .*$", ";; WHEN: -", text)
    text = re.sub(r"<<>> DiG \S+ <<>>", "<<>> DiG V <<>>", text)
    return re.sub(r"10\.250\.\d+\.\d+", "S", text) if addresses else text
