#!/usr/bin/env bash
# Build a root file system in which PyTCP 3.0.9 runs, for `tuxnet bench`'s side-by-side figures,
# and in which tuxnet itself runs under PyPy (bench/pypy.sh).
#
# PyTCP 3.0.9 needs Python 3.14.  Debian 12 has 3.11, but Debian's unstable suite carries python3.14,
# so this installs a minimal unstable system into DIR with debootstrap, makes a venv there, and
# installs PyTCP from PyPI (the wheels are fetched by this machine's pip, so its index and
# certificate settings apply).  The benchmarks then run the PyTCP daemon chrooted into DIR.
# Unstable's pypy3 is PyPy 8 (Python 3.11): it gets a venv in /opt/pypy with tuxnet's dependencies
# and test tools, all pure-Python wheels (PyPy brings its own greenlet).
#
#   bash bench/pytcp-root.sh            # into /var/tmp/tuxnet-pytcp-root, where tuxnet bench looks
#   tuxnet bench pytcp_tap_ping_rtt tap_ping_rtt
#   bash bench/pytcp-root.sh DIR        # elsewhere: TUXNET_PYTCP_ROOT=DIR tuxnet bench ...
#
# Needs root and about 500 MB; takes a minute and a half.
set -euo pipefail
root=${1:-/var/tmp/tuxnet-pytcp-root}
mirror=${DEBIAN_MIRROR:-http://deb.debian.org/debian}
export DEBIAN_FRONTEND=noninteractive
command -v debootstrap >/dev/null || { apt-get update -qq && apt-get install -y -qq debootstrap >/dev/null; }
if [ ! -x "$root/usr/bin/python3.14" ]; then
    debootstrap --variant=minbase --include=python3.14,python3.14-venv,pypy3,pypy3-venv sid "$root" "$mirror"
fi
if [ ! -x "$root/usr/bin/pypy3" ]; then
    # A root built before PyPy was part of it; a mirror's snapshot may be past its Valid-Until date.
    chroot "$root" apt-get -qq -o Acquire::Check-Valid-Until=false update
    chroot "$root" apt-get install -y -qq -o Acquire::Check-Valid-Until=false pypy3 pypy3-venv >/dev/null
fi
# The daemon opens its TAP device through /dev/net/tun (major 10, minor 200).
mkdir -p "$root/dev/net"
[ -c "$root/dev/net/tun" ] || mknod -m 666 "$root/dev/net/tun" c 10 200
[ -f "$root/opt/pytcp/pyvenv.cfg" ] || chroot "$root" python3.14 -m venv /opt/pytcp
mkdir -p "$root/opt/wheels-pytcp"
python3 -m pip download -q --python-version 3.14 --only-binary=:all: -d "$root/opt/wheels-pytcp" 'PyTCP==3.0.9'
chroot "$root" /opt/pytcp/bin/pip install -q --no-index --find-links /opt/wheels-pytcp 'PyTCP==3.0.9'
chroot "$root" /opt/pytcp/bin/python -c 'import importlib.metadata as m, sys; print("PyTCP", m.version("PyTCP"), "on Python", sys.version.split()[0])'
[ -f "$root/opt/pypy/pyvenv.cfg" ] || chroot "$root" pypy3 -m venv /opt/pypy
mkdir -p "$root/opt/wheels-pypy"
python3 -m pip download -q --only-binary=:all: --platform any --python-version 3.11 --implementation py \
    -d "$root/opt/wheels-pypy" 'dnspython>=2.4' 'h11>=0.14' 'pytest>=8' 'pytest-timeout>=2.2' 'hypothesis>=6.100' \
    'scapy>=2.5'
chroot "$root" /opt/pypy/bin/pip install -q --no-index --find-links /opt/wheels-pypy \
    dnspython h11 pytest pytest-timeout hypothesis scapy
chroot "$root" /opt/pypy/bin/python -c 'import sys; print("tuxnet can run on", sys.version.replace("\n", " "))'
