"""The example of docs/zeromq.md runs as written, with a real `taskiq worker`.

Blocks starting with ``# file: name.py`` are written under that name so that
the next block can import them; every block is also run. The port is replaced
by a free one so parallel runs do not collide.
"""

from __future__ import annotations

import re
import socket
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent / "support"))
from docs_examples import assert_example_runs, python_blocks

FILE_MARK = re.compile(r"^# file: (\S+)\n")


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def test_zeromq_page_example_runs_end_to_end(tmp_path: Path) -> None:
    port = str(free_port())
    blocks = [code.replace("5555", port) for _, code in python_blocks("zeromq.md")]
    assert len(blocks) >= 2
    for number, code in enumerate(blocks):
        named = FILE_MARK.match(code)
        assert_example_runs(code, tmp_path, named[1] if named else f"block_{number}.py")
    assert (tmp_path / "done.txt").read_text().splitlines() == ["task 0", "task 1", "task 2"]
