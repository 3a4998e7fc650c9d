#!/usr/bin/env bash
# Installs the Debian packages the test suite needs, when a command is missing:
#   ensure_debian_packages.sh <command>=<package> ...
# As root it uses apt-get; otherwise passwordless sudo. When neither is possible it fails and
# says what to install, so a missing tool is never skipped silently.
set -euo pipefail

missing=()
for pair in "$@"; do
    command_name=${pair%%=*}
    package=${pair#*=}
    command -v "$command_name" >/dev/null 2>&1 || missing+=("$package")
done
[ ${#missing[@]} -eq 0 ] && exit 0

if [ "$(id -u)" -eq 0 ]; then
    as_root=()
elif sudo -n true 2>/dev/null; then
    as_root=(sudo -n)
else
    echo "error: the test suite needs the Debian package(s) ${missing[*]};" \
        "install them with: sudo apt-get install -y ${missing[*]}" >&2
    exit 1
fi

echo "installing Debian package(s): ${missing[*]}"
export DEBIAN_FRONTEND=noninteractive
"${as_root[@]}" apt-get update -qq
"${as_root[@]}" apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
