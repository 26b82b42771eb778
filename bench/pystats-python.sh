#!/usr/bin/env bash
# Build a CPython 3.11 that counts what its specialising interpreter does (configure
# --enable-pystats), for bench/specialization.py, into PREFIX (default /var/tmp/tuxnet-pystats),
# with tuxnet's runtime dependencies installed in it.
#
#   bash bench/pystats-python.sh [PREFIX]          # once: Debian's python3.11 source, ~5 min
#   python bench/specialization.py hello_replyhi   # then
#
# The source is the Debian package of this machine's release (apt's deb-src, set up here for this
# download only); building needs gcc, make and the -dev packages of libffi, zlib and OpenSSL (for
# pip).  Such an interpreter writes its counts to /tmp/py_stats/ when it exits (stderr when that
# directory is missing); it runs a few per cent slower than a release build.
set -euo pipefail
prefix=${1:-/var/tmp/tuxnet-pystats}
if [ -x "$prefix/bin/python3.11" ]; then
    echo "$prefix/bin/python3.11 exists"
    exit 0
fi
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
. /etc/os-release
mkdir -p "$work/parts" "$work/lists/partial"
cat >"$work/parts/src.sources" <<EOF
Types: deb-src
URIs: http://deb.debian.org/debian
Suites: $VERSION_CODENAME
Components: main
Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg
EOF
apt_opts=(-o APT::Sandbox::User=root -o Dir::Etc::sourcelist=/dev/null -o "Dir::Etc::sourceparts=$work/parts" -o "Dir::State::Lists=$work/lists")
apt-get "${apt_opts[@]}" -qq update
(cd "$work" && apt-get "${apt_opts[@]}" -qq source --download-only python3.11 2>/dev/null)
tar -xzf "$work"/python3.11_*.orig.tar.gz -C "$work"
cd "$work"/Python-3.11.*/
./configure -q --prefix="$prefix" --enable-pystats >/dev/null
make -s -j"$(nproc)" >/dev/null 2>&1
make -s install >/dev/null 2>&1
"$prefix/bin/python3.11" -m pip install -q greenlet dnspython h11 2>/dev/null
echo "$prefix/bin/python3.11"
