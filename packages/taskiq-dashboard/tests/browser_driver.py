"""`Browser`: the Node driver (``browser/driver.mjs``) as a Python object, one call per command."""

from __future__ import annotations

import contextlib
import json
import subprocess
from pathlib import Path
from typing import Any

#: The shared Redis the browser tests' worker and dashboard use.
REDIS_URL = "redis://127.0.0.1:6379/0"
#: The Node project that drives Chromium (``npm ci`` by scripts/services).
BROWSER_DIR = Path(__file__).parent / "browser"


class BrowserError(AssertionError):
    """A browser command failed (a wait timed out, a selector matched nothing)."""


class Browser:
    """Chromium behind ``driver.mjs``; every method waits for the driver's answer."""

    def __init__(self, driver: Path) -> None:
        self.process = subprocess.Popen(
            ["node", str(driver)],
            cwd=driver.parent,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
        )

    def call(self, op: str, **arguments: Any) -> Any:
        """Send one command and return its value; a failure raises `BrowserError`."""
        assert self.process.stdin is not None
        assert self.process.stdout is not None
        self.process.stdin.write(json.dumps({"op": op, **arguments}) + "\n")
        self.process.stdin.flush()
        line = self.process.stdout.readline()
        if not line:
            raise BrowserError(f"the browser driver exited during {op}")
        answer = json.loads(line)
        if not answer["ok"]:
            raise BrowserError(f"{op} {arguments}: {answer['error']}")
        return answer["value"]

    def wait_text(self, selector: str, pattern: str, timeout: float = 45.0) -> str:
        """Wait until the first ``selector`` element's text matches ``pattern`` (a JS regex)."""
        text: str = self.call(
            "waitText", selector=selector, pattern=pattern, timeout=int(timeout * 1000)
        )
        return text

    def close(self) -> None:
        """End the driver (and Chromium)."""
        if self.process.poll() is None:
            assert self.process.stdin is not None
            try:
                self.process.stdin.write('{"op": "close"}\n')
                self.process.stdin.close()
                self.process.wait(timeout=30)
            except (OSError, subprocess.TimeoutExpired):
                self.process.kill()
                self.process.wait(timeout=10)
        # The driver may have died at start (no node_modules): close its pipes anyway.
        for pipe in (self.process.stdin, self.process.stdout):
            if pipe is not None and not pipe.closed:
                with contextlib.suppress(OSError):
                    pipe.close()
