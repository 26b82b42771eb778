"""Packet memory stays with the process between packets (tuxnet/kernel/mm.py)."""

from __future__ import annotations

import os
import resource
import subprocess
import sys

import pytest

from tuxnet.benchmarks import lo_world, tcp_sink, tcp_source
from tuxnet.kernel.mm import keep_freed_memory


@pytest.mark.cpython_only
@pytest.mark.skipif(not os.confstr("CS_GNU_LIBC_VERSION").startswith("glibc"), reason="glibc's mallopt only")
@pytest.mark.skipif(any(k.startswith("MALLOC_") for k in os.environ) or "GLIBC_TUNABLES" in os.environ,
                    reason="the environment tunes malloc itself")
def test_bulk_transfer_reuses_freed_buffers_without_page_faults():
    # 50 MB over lo with 1 MB reads: glibc's defaults serve and return the big buffers with
    # mmap/trim, about 5,700 fresh pages faulted in; kept, a few hundred as the heap first grows.
    world, host = lo_world()
    result: list[int] = []
    host.spawn(tcp_sink, "127.0.0.1", 5001, result, 4 << 20)
    host.spawn(tcp_source, "127.0.0.1", 5001, bytes(range(256)) * 4096, 50 << 20)
    before = resource.getrusage(resource.RUSAGE_SELF).ru_minflt
    world.run_until(lambda: bool(result))
    faults = resource.getrusage(resource.RUSAGE_SELF).ru_minflt - before
    assert result == [50 << 20]
    assert faults < 2000, f"{faults} page faults moving 50 MB"


def test_settings_once_per_process_and_never_over_the_environment():
    assert keep_freed_memory() is False  # a World already set them in this process
    code = "from tuxnet.kernel.mm import keep_freed_memory as k; print(k(), k())"
    env = {k: v for k, v in os.environ.items() if not k.startswith("MALLOC_") and k != "GLIBC_TUNABLES"}
    glibc = os.confstr("CS_GNU_LIBC_VERSION").startswith("glibc")
    out = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, check=True)
    assert out.stdout.split() == [str(glibc), "False"]
    env["MALLOC_TRIM_THRESHOLD_"] = "131072"
    out = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, check=True)
    assert out.stdout.split() == ["False", "False"]
