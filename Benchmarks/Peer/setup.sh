#!/usr/bin/env bash
# Create a virtualenv for the Python peer benchmark and install requirements.txt.
# Usage: Benchmarks/Peer/setup.sh [VENV_DIR]
#   VENV_DIR defaults to <package root>/.build/peer-venv.
# Idempotent: does nothing when the venv already has the pinned versions.
# Needs only python3 (with its venv module) and access to PyPI.
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
root="$(cd "$here/../.." && pwd)"
venv="${1:-$root/.build/peer-venv}"
req="$here/requirements.txt"
py="${PYTHON:-python3}"

# 1. The venv (re)created if it is missing or has no pip (a half-made venv).
if ! "$venv/bin/python" -m pip --version >/dev/null 2>&1; then
    mkdir -p "$(dirname "$venv")"
    if ! "$py" -m venv "$venv"; then
        echo "setup.sh: '$py -m venv $venv' failed." >&2
        echo "setup.sh: on Debian/Ubuntu install the venv module first:" \
             "apt-get install python3-venv" >&2
        exit 1
    fi
fi

# 2. Are the pinned versions (name==version lines) already installed?
pinned_ok() {
    "$venv/bin/python" - "$req" <<'PY'
import sys, importlib.metadata as md
for line in open(sys.argv[1]):
    line = line.split("#")[0].strip()
    if not line:
        continue
    name, version = line.split("==")
    try:
        if md.version(name.strip()) != version.strip():
            sys.exit(1)
    except md.PackageNotFoundError:
        sys.exit(1)
PY
}

if pinned_ok; then
    echo "setup.sh: $venv already has the pinned packages" >&2
else
    "$venv/bin/python" -m pip install --disable-pip-version-check -q -r "$req"
    pinned_ok || { echo "setup.sh: pinned versions still missing after install" >&2; exit 1; }
    echo "setup.sh: installed $(grep -v '^#' "$req" | xargs) into $venv" >&2
fi
