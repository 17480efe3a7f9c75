#!/bin/sh
# Installs what pymem needs to build, test and benchmark, from Debian's packages only.
set -eu
PKGS="meson ninja-build gcc pkg-config python3 python3-dev libjemalloc-dev libsqlite3-dev
      sqlite3 libcriterion-dev python3-numpy python3-mypy black binutils
      zlib1g-dev golang-go chromium python3-websocket"
missing=""
for p in $PKGS; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing="$missing $p"
done
if [ -n "$missing" ]; then
    SUDO=""
    [ "$(id -u)" -eq 0 ] || SUDO=sudo
    $SUDO apt-get update -qq
    DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends $missing >/dev/null
fi
