"""PyTCP 3.0.9 as a peer for the benchmarks: its daemon on a TAP device in a namespace of our own.

PyTCP needs Python 3.14, so it runs chrooted into a root file system that holds Debian unstable's
python3.14 and a venv with PyTCP: ``bash bench/pytcp-root.sh`` builds one in ``DEFAULT_ROOT`` (or
in DIR, given as its argument; ``TUXNET_PYTCP_ROOT=DIR`` then names it).  The daemon owns TAP
device ``tap7`` inside a fresh network namespace in which Linux is 10.252.0.1 and PyTCP
10.252.0.2.  PyTCP-side programs are the same Python scripts the Linux side runs, with ``socket``
replaced by PyTCP's drop-in (``pytcp.socket``), which drives the daemon through its control socket
as PyTCP's own examples do.
"""

from __future__ import annotations

import os
import subprocess
import tempfile
import time

from tuxnet.tapnet import Netns, netns_unavailable

PYTCP_ROOT_ENV = "TUXNET_PYTCP_ROOT"
DEFAULT_ROOT = "/var/tmp/tuxnet-pytcp-root"
PYTHON = "/opt/pytcp/bin/python"
LINUX_IP, PYTCP_IP = "10.252.0.1", "10.252.0.2"
IFNAME = "tap7"  # PyTCP takes the device type from the name's first three letters

# The daemon with its console log switched off (the stack logs every packet to stderr by default;
# tuxnet is measured with its tracer off, so PyTCP is measured with its logger off).
_DAEMON = ("import sys, pytcp.stack\n"
           "pytcp.stack.LOG__CHANNEL.clear()\n"
           "from pytcp.daemon.__main__ import main\n"
           "main(sys.argv[1:])\n")
# Programs written for the standard socket module run over the daemon with this line in front.
_DROP_IN = "import sys, pytcp.socket\nsys.modules['socket'] = pytcp.socket\n"


def pytcp_root() -> str:
    """The root PyTCP runs in: ``TUXNET_PYTCP_ROOT``, else ``DEFAULT_ROOT``."""
    return os.environ.get(PYTCP_ROOT_ENV) or DEFAULT_ROOT


def pytcp_unavailable() -> str | None:
    """Why PyTCP cannot run here, or None."""
    root = pytcp_root()
    if PYTCP_ROOT_ENV not in os.environ and not os.path.isdir(root):
        return ("PyTCP 3.0.9 needs Python 3.14, which Debian 12 lacks: build a root for it with "
                f"`bash bench/pytcp-root.sh` (into {DEFAULT_ROOT}, or DIR with {PYTCP_ROOT_ENV}=DIR)")
    # the venv's python is a symbolic link that resolves inside the root only
    if not (os.path.exists(os.path.join(root, "opt/pytcp/pyvenv.cfg"))
            and os.access(os.path.join(root, "usr/bin/python3.14"), os.X_OK)):
        return f"{root} holds no PyTCP venv: run `bash bench/pytcp-root.sh {root}`"
    return netns_unavailable()


class PyTcpPeer:
    """A running PyTCP daemon, reachable from the namespace's Linux at ``PYTCP_IP``."""

    def __init__(self, root: str, ready_timeout: float = 60.0) -> None:
        self.root = root
        self.ns = Netns(f"tuxnet-pytcp-{os.getpid()}")
        self.control = f"/tmp/pytcp-{os.getpid()}.sock"  # inside the root
        self.log = tempfile.TemporaryFile(mode="w+")
        self.daemon: subprocess.Popen | None = None
        try:
            self.ns.run("ip", "tuntap", "add", "mode", "tap", "name", IFNAME)
            self.ns.run("ip", "addr", "add", f"{LINUX_IP}/24", "dev", IFNAME)
            self.ns.run("ip", "link", "set", IFNAME, "up")
            self.daemon = subprocess.Popen(
                self.ns.cmd("chroot", root, PYTHON, "-c", _DAEMON, "-i", IFNAME, "--mac-address", "02:00:00:fc:00:02",
                            "--ip4-address", f"{PYTCP_IP}/24", "--no-ip6", "--ipc-socket", self.control),
                stdout=self.log, stderr=subprocess.STDOUT, text=True)
            self._wait_ready(ready_timeout)
        except BaseException:
            self.close()
            raise

    def _wait_ready(self, timeout: float) -> None:
        """The control socket appears when the daemon listens; the address answers once PyTCP's
        duplicate-address probes (RFC 5227) are done."""
        deadline = time.monotonic() + timeout
        control = os.path.join(self.root, self.control.lstrip("/"))
        while time.monotonic() < deadline:
            if self.daemon is not None and self.daemon.poll() is not None:
                raise OSError(f"the PyTCP daemon exited: {self.output()}")
            if os.path.exists(control) and self.ns.run("ping", "-c", "1", "-W", "1", PYTCP_IP,
                                                       check=False).returncode == 0:
                return
            time.sleep(0.2)
        raise OSError(f"the PyTCP daemon did not answer within {timeout:.0f} s: {self.output()}")

    def output(self) -> str:
        """The last lines the daemon printed (the error, when it failed)."""
        self.log.seek(0)
        return " | ".join(self.log.read().strip().splitlines()[-2:])

    def popen(self, script: str, *args: str) -> subprocess.Popen:
        """Run a Python program for the standard socket module over PyTCP."""
        return self.ns.popen("chroot", self.root, "env", f"PYTCP_DAEMON_SOCKET={self.control}", PYTHON, "-c",
                             _DROP_IN + script, *args)

    def close(self) -> None:
        if self.daemon is not None and self.daemon.poll() is None:
            self.daemon.terminate()
            try:
                self.daemon.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.daemon.kill()
                self.daemon.wait()
        self.ns.close()
        self.log.close()
