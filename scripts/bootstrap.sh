# Sourced by scripts/serve and scripts/test: make .venv from the lock file if it is missing or stale.
# Needs only python3 (>= 3.11) and its pip.
set -euo pipefail
PYTHON="${PYTHON:-python3}"
"$PYTHON" - <<'PY' || { echo "Vila needs Python 3.11 or newer as '${PYTHON}'" >&2; exit 1; }
import sys
sys.exit(0 if sys.version_info >= (3, 11) else 1)
PY
if [ ! -x .venv/bin/python ]; then
  "$PYTHON" -m venv .venv
fi
stamp=.venv/.vila-installed
want="$(cat requirements.lock pyproject.toml | "$PYTHON" -c 'import hashlib,sys; print(hashlib.sha256(sys.stdin.buffer.read()).hexdigest())')"
if [ ! -f "$stamp" ] || [ "$(cat "$stamp")" != "$want" ]; then
  echo "installing Vila and its locked dependencies into .venv ..." >&2
  .venv/bin/python -m pip install --quiet --upgrade pip
  .venv/bin/python -m pip install --quiet -r requirements.lock
  .venv/bin/python -m pip install --quiet --no-deps -e .
  echo "$want" > "$stamp"
fi
