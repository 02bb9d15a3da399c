"""One virtualenv per peer under benchmarks/.venvs/, installed from PyPI with uv.

Upstream Taskiq imports as ``taskiq`` like this project, so every peer lives in its own
environment and runs in its own interpreter. A venv is (re)installed when its requirement
list changes (a stamp file records it).
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
VENVS = HERE / ".venvs"

ROOT = HERE.parent

REQUIREMENTS = {
    # This project, editable from the workspace, WITHOUT the dev tools of the main .venv:
    # there, fastapi (installed for taskiq-fastapi) is imported by taskiq-dependencies and
    # adds ~7 MB to every process, which upstream's clean venv does not pay.
    "this": [
        "-e",
        str(ROOT / "packages" / "taskiq"),
        "-e",
        str(ROOT / "packages" / "taskiq-redis"),
        "-e",
        str(ROOT / "packages" / "taskiq-aio-pika"),
        "-e",
        str(ROOT / "packages" / "taskiq-nats"),
        "-e",
        str(ROOT / "packages" / "taskiq-aio-kafka"),
    ],
    # kafka-python<2.1: taskiq-aio-kafka 1.0.0 hands kafka-python's DefaultPartitioner to
    # aiokafka as the partitioner, and from kafka-python 3 it is not callable (every send
    # fails); kafka-python 2.1-2.3's admin client rejects the ACL bits tansu reports.
    "taskiq": [
        "taskiq",
        "taskiq-redis",
        "taskiq-aio-pika",
        "taskiq-nats",
        "taskiq-aio-kafka",
        "kafka-python<2.1",
    ],
    "celery": ["celery[redis]"],
    "dramatiq": ["dramatiq[redis]"],
    "arq": ["arq"],
    "tools": ["matplotlib", "py-spy", "pyinstrument"],
}

#: Every venv gets compiled bytecode, as pip gives by default. Without it (uv's default,
#: or PYTHONDONTWRITEBYTECODE=1 as on the CI machines) every process compiles every module
#: it imports at start-up, which costs seconds and inflates RSS by the compiler's peak,
#: measuring a set-up no user runs. In the stamp, so venvs made before are redone.
STAMP_MARK = "with compiled bytecode"

#: The distribution whose version the report prints for each system.
MAIN_DISTRIBUTION = {
    "taskiq": "taskiq",
    "celery": "celery",
    "dramatiq": "dramatiq",
    "arq": "arq",
    "this": "taskiq",
}


def venv_python(name: str) -> Path:
    """The interpreter of a peer's environment (it may not exist yet)."""
    return VENVS / name / "bin" / "python"


def _uv() -> str:
    local = HERE.parent / ".tools" / "bin" / "uv"
    found = str(local) if local.exists() else shutil.which("uv")
    if not found:
        raise SystemExit("uv is needed to build the peer environments (pip install uv)")
    return found


def ensure_venv(name: str) -> None:
    """Create and install one environment unless its stamp says it is current."""
    target = VENVS / name
    stamp = target / ".bench-requirements"
    wanted = "\n".join([STAMP_MARK, *REQUIREMENTS[name]])
    if stamp.exists() and stamp.read_text() == wanted and venv_python(name).exists():
        _compile_bytecode(name)
        return
    print(f"installing {name} venv: {' '.join(REQUIREMENTS[name])}", file=sys.stderr)
    env = {**_writing_bytecode(), "UV_PYTHON_DOWNLOADS": "never", "VIRTUAL_ENV": str(target)}
    subprocess.run(
        [_uv(), "venv", "-q", "--allow-existing", "-p", "python3", str(target)], check=True, env=env
    )
    subprocess.run([_uv(), "pip", "install", "-q", *REQUIREMENTS[name]], check=True, env=env)
    stamp.write_text(wanted)
    _compile_bytecode(name)


def _compile_bytecode(name: str) -> None:
    """Bytecode for everything the venv imports: its site-packages and this project's
    editable sources (they change between runs; compileall skips what is current)."""
    python = str(venv_python(name))
    site = subprocess.run(
        [python, "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout.strip()
    sources = [f"{arg}/src" for arg in REQUIREMENTS[name] if arg.startswith(str(ROOT))]
    subprocess.run(
        [python, "-m", "compileall", "-q", "-j", "0", site, *sources],
        check=True,
        env=_writing_bytecode(),
        stdout=subprocess.DEVNULL,
    )


def _writing_bytecode() -> dict[str, str]:
    """This environment, minus the setting that forbids writing bytecode."""
    return {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}


def ensure_venvs(names: list[str], chart: bool) -> None:
    """Every environment the run needs (peers, and the chart tools)."""
    for name in [*names, *(["tools"] if chart else [])]:
        ensure_venv(name)


def version_of(python: Path, system: str) -> str:
    """Installed version of the system's main distribution, as its interpreter sees it."""
    code = (
        "import importlib.metadata as m, sys; "
        f"print(m.version({MAIN_DISTRIBUTION.get(system, system)!r}))"
    )
    done = subprocess.run([str(python), "-c", code], capture_output=True, text=True, check=False)
    return done.stdout.strip() or "?"
