#!/bin/sh
# The main job on a fresh Debian 12 machine: install the dependencies, build, install pymem,
# profile the bundled example with a bare LD_PRELOAD, and show where the peak came from.
set -eu
cd "$(dirname "$0")/.."
sh scripts/deps.sh
SUDO=""
[ "$(id -u)" -eq 0 ] || SUDO=sudo
if [ -d build ]; then meson setup --reconfigure build >/dev/null; else meson setup build >/dev/null; fi
ninja -C build
$SUDO meson install -C build --quiet
$SUDO ldconfig
out=$(mktemp -d)
echo "== LD_PRELOAD=libpymem.so python3 examples/app.py   (profile: $out/pymem.db)"
PYMEM_OUTPUT="$out/pymem.db" LD_PRELOAD=libpymem.so /usr/bin/python3 examples/app.py
echo "== pymem-view top --peak"
cd "$out" && pymem-view top --peak
