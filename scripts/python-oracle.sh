#!/usr/bin/env bash
# Creates (once) the Python virtual environment used as the interoperability oracle and installs
# the pinned packages from PyPI. Idempotent: a venv whose requirements stamp matches is reused.
# Usage: bash scripts/python-oracle.sh            -> prints the venv's python path
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
venv="${POLARWAY_PY_VENV:-$root/.venv}"
req="$root/scripts/python-requirements.txt"
stamp="$venv/.requirements.sha256"
want="$(sha256sum "$req" | cut -d' ' -f1)"
if [ ! -x "$venv/bin/python" ] || [ "$(cat "$stamp" 2>/dev/null)" != "$want" ]; then
  python3 -m venv "$venv" >&2
  "$venv/bin/pip" install --disable-pip-version-check -q -r "$req" >&2
  echo "$want" > "$stamp"
fi
echo "$venv/bin/python"
