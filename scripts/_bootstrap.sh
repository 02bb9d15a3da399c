# Sourced by the other scripts: makes `uv` available and the workspace installed.
# Needs only python3 (3.10+) on PATH; uv itself comes from PyPI into .tools/.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
export UV_PYTHON_DOWNLOADS=never
export UV_PYTHON="${UV_PYTHON:-python3}"
if command -v uv >/dev/null 2>&1; then
    UV="$(command -v uv)"
else
    if [ ! -x "$ROOT/.tools/bin/uv" ]; then
        echo "bootstrap: installing uv into .tools/ (once)" >&2
        python3 -m venv "$ROOT/.tools"
        "$ROOT/.tools/bin/python" -m pip install --quiet "uv>=0.8,<0.14"
    fi
    UV="$ROOT/.tools/bin/uv"
fi
export UV
# One environment for the whole workspace: every package, every extra, dev tools.
"$UV" sync --all-packages --all-extras --quiet
