#!/usr/bin/env bash
# Run this tree's tuxnet under PyPy 8 (Python 3.11), chrooted into the root bench/pytcp-root.sh
# builds: the arguments go to PyPy's python, in the tree's directory, with the tree's src first on
# the path, so what runs is the code here and now.
#
#   bash bench/pytcp-root.sh                                  # once: Debian unstable, PyPy, a venv
#   bash bench/pypy.sh -m tuxnet.cli bench --warmup 10 --repeat 5 hello_replyhi udp_request_response
#   bash bench/pypy.sh -m pytest -q                            # the suite under PyPy
#
# The TAP benchmarks and tests do not run here (the root has no iproute2): they skip, saying so.
# A JSON report written to a relative path lands in the tree, as it would outside.  Needs root
# (chroot, bind mounts).
set -euo pipefail
root=${TUXNET_PYTCP_ROOT:-/var/tmp/tuxnet-pytcp-root}
tree=$(cd "$(dirname "$0")/.." && pwd)
if [ ! -f "$root/opt/pypy/pyvenv.cfg" ]; then
    echo "no PyPy venv in $root: run \`bash bench/pytcp-root.sh${TUXNET_PYTCP_ROOT:+ $root}\` first" >&2
    exit 2
fi
mounted=()
cleanup() {
    local i
    # A process of the run can still hold a mount for a moment (a test's child exiting): try
    # again, then detach it lazily rather than leave the tree mounted in the root.
    for ((i = ${#mounted[@]} - 1; i >= 0; i--)); do
        umount "${mounted[i]}" 2>/dev/null || { sleep 1; umount "${mounted[i]}" 2>/dev/null; } ||
            umount -l "${mounted[i]}" || true
    done
}
trap cleanup EXIT
bind() {  # bind SOURCE TARGET-IN-ROOT
    mkdir -p "$root$2"
    mount --bind "$1" "$root$2"
    mounted+=("$root$2")
}
bind "$tree" /mnt/tuxnet
# The packetdrill suite beside the tree (../shared), where the tests look for it.
[ -d "$tree/../shared" ] && bind "$(cd "$tree/../shared" && pwd)" /mnt/shared
# /proc: the machine's description, and PyPy's GC reads the cache size from /proc/cpuinfo.
if ! mountpoint -q "$root/proc"; then
    mount -t proc proc "$root/proc"
    mounted+=("$root/proc")
fi
# PyPy's collector starts a major collection each time the heap has grown by 82 % since the last
# one (PYPY_GC_MAJOR_COLLECT=1.82), and bulk transfers allocate their buffers fast: with tuxnet's
# small heap that meant a major collection every ~10 MB moved, 70 % of loopback_bulk's time.  A
# floor of 256 MB before the first one (PYPY_GC_MIN) took them from 270 to 33 per 2.5 GB, and
# 1 GB takes loopback_bulk from 670-960 to 1,310-1,400 MB/s: the 64 KB segments are allocated
# outside the nursery, and only a major collection frees them.  The price is memory: a long run
# grows to about 1.2 GB before its first major collection (10,000 hosts peaked at 1,190 MB).  The
# caller's own PYPY_GC_MIN wins; PyPy's other settings (PYPY_GC_*, PYPYLOG) pass through as well.
export PYPY_GC_MIN=${PYPY_GC_MIN:-1GB}
chroot "$root" /usr/bin/env PYTHONPATH=/mnt/tuxnet/src PYTHONDONTWRITEBYTECODE=1 \
    sh -c 'cd /mnt/tuxnet && exec /opt/pypy/bin/python "$@"' pypy "$@"
