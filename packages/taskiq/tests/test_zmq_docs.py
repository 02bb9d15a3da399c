"""The example of docs/zeromq.md runs as written, with a real `taskiq worker`.

Blocks starting with ``# file: name.py`` are written under that name so that
the next block can import them; every block is also run. The port is replaced
by a free one so parallel runs do not collide.
"""

from __future__ import annotations

import re
import socket
import subprocess
import sys
from pathlib import Path

PAGE = Path(__file__).resolve().parents[3] / "docs" / "zeromq.md"
BLOCK = re.compile(r"^```python\n(.*?)^```$", re.DOTALL | re.MULTILINE)
FILE_MARK = re.compile(r"^# file: (\S+)\n")


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def test_zeromq_page_example_runs_end_to_end(tmp_path: Path) -> None:
    port = str(free_port())
    blocks = [match[1].replace("5555", port) for match in BLOCK.finditer(PAGE.read_text())]
    assert len(blocks) >= 2
    for number, code in enumerate(blocks):
        named = FILE_MARK.match(code)
        script = tmp_path / (named[1] if named else f"block_{number}.py")
        script.write_text(code)
        completed = subprocess.run(
            [sys.executable, "-W", "error", str(script)],
            capture_output=True,
            text=True,
            cwd=tmp_path,
            timeout=50,
            check=False,
        )
        assert completed.returncode == 0, completed.stdout + completed.stderr
    assert (tmp_path / "done.txt").read_text().splitlines() == ["task 0", "task 1", "task 2"]
