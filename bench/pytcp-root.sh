#!/usr/bin/env bash
# Build a root file system in which PyTCP 3.0.9 runs, for `tuxnet bench`'s side-by-side figures.
#
# PyTCP 3.0.9 needs Python 3.14.  Debian 12 has 3.11, but Debian's unstable suite carries python3.14,
# so this installs a minimal unstable system into DIR with debootstrap, makes a venv there, and
# installs PyTCP from PyPI (the wheels are fetched by this machine's pip, so its index and
# certificate settings apply).  The benchmarks then run the PyTCP daemon chrooted into DIR.
#
#   bash bench/pytcp-root.sh            # into /var/tmp/tuxnet-pytcp-root, where tuxnet bench looks
#   tuxnet bench pytcp_tap_ping_rtt tap_ping_rtt
#   bash bench/pytcp-root.sh DIR        # elsewhere: TUXNET_PYTCP_ROOT=DIR tuxnet bench ...
#
# Needs root and about 400 MB; takes two or three minutes.
set -euo pipefail
root=${1:-/var/tmp/tuxnet-pytcp-root}
mirror=${DEBIAN_MIRROR:-http://deb.debian.org/debian}
export DEBIAN_FRONTEND=noninteractive
command -v debootstrap >/dev/null || { apt-get update -qq && apt-get install -y -qq debootstrap >/dev/null; }
if [ ! -x "$root/usr/bin/python3.14" ]; then
    debootstrap --variant=minbase --include=python3.14,python3.14-venv sid "$root" "$mirror"
fi
# The daemon opens its TAP device through /dev/net/tun (major 10, minor 200).
mkdir -p "$root/dev/net"
[ -c "$root/dev/net/tun" ] || mknod -m 666 "$root/dev/net/tun" c 10 200
[ -x "$root/opt/pytcp/bin/python" ] || chroot "$root" python3.14 -m venv /opt/pytcp
mkdir -p "$root/opt/wheels-pytcp"
python3 -m pip download -q --python-version 3.14 --only-binary=:all: -d "$root/opt/wheels-pytcp" 'PyTCP==3.0.9'
chroot "$root" /opt/pytcp/bin/pip install -q --no-index --find-links /opt/wheels-pytcp 'PyTCP==3.0.9'
chroot "$root" /opt/pytcp/bin/python -c 'import importlib.metadata as m, sys; print("PyTCP", m.version("PyTCP"), "on Python", sys.version.split()[0])'
