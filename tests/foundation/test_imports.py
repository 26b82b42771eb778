"""Every module of the package can be the first one a program imports: the import cycles between
the stack's modules (TCP's files call each other, as Linux's do) resolve whatever the entry."""

from __future__ import annotations

import pkgutil
import subprocess
import sys

import tuxnet

CHILD = """
import importlib, sys
failed = []
for name in sys.argv[1:]:
    for loaded in [m for m in sys.modules if m == "tuxnet" or m.startswith("tuxnet.")]:
        del sys.modules[loaded]
    try:
        importlib.import_module(name)
        importlib.import_module("tuxnet.cli")
    except ImportError as e:
        failed.append(f"{name}: {e}")
print("\\n".join(failed))
"""


def test_every_module_can_be_imported_first() -> None:
    names = [m.name for m in pkgutil.walk_packages(tuxnet.__path__, "tuxnet.")]
    assert "tuxnet.net.ipv4.tcp_input" in names and "tuxnet.user.resolv" in names
    run = subprocess.run([sys.executable, "-c", CHILD, *names], capture_output=True, text=True, timeout=300)
    assert run.returncode == 0, run.stderr
    assert run.stdout.strip() == ""
