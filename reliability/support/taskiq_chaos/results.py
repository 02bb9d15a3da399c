"""Forged and garbage results: a client reading them gets our own clear error, never a crash.

After real tasks ran, some of their stored results are overwritten with data
no worker wrote: bytes that are not JSON, JSON that is not a result, and error
payloads that name code to run (``os:system``, ``builtins:eval``), private
attributes or nothing at all. Reading every result back must give the real
value for the untouched ones and, for the forged ones, a `TaskiqError`
(`ResultGetError`, `SecurityError`) or a result whose error is rebuilt
harmlessly (a builtin exception or a `RemoteTaskError` stand-in).
"""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any

from taskiq.exceptions import TaskiqError

if TYPE_CHECKING:  # pragma: no cover
    from taskiq_chaos.session import Session


def _result(error: Any, **fields: Any) -> bytes:
    body = {
        "is_err": True,
        "return_value": None,
        "execution_time": 0.0,
        "labels": {},
        "error": error,
    }
    body.update(fields)
    return json.dumps(body).encode()


FORGERIES: list[tuple[str, bytes]] = [
    ("garbage-bytes", b"\xff\x00 garbage"),
    ("empty", b""),
    ("not-a-result", b'{"x": 1}'),
    ("deep-nesting", b"[" * 50_000 + b"]" * 50_000),
    ("os-system", _result({"type": "os:system", "message": "rm -rf /"})),
    ("builtins-eval", _result({"type": "builtins:eval", "message": "1"})),
    ("private-path", _result({"type": "taskiq.error_codec:_resolve", "message": "x"})),
    ("error-not-object", _result("boom")),
    ("error-no-type", _result({"message": "no type"})),
    ("odd-args", _result({"type": "builtins:ValueError", "message": "m", "args": {"a": 1}})),
    ("unknown-class", _result({"type": "nowhere.module:Boom", "message": "remote"})),
    ("wrong-field-types", _result(None, is_err="yes", execution_time="slow", labels=[])),
]


async def check_forged_results(session: Session) -> None:
    """Forge some results of ``session``'s tasks and read all of them back."""
    backend = session.target.client.result_backend if session.target.client else None
    assert backend is not None
    seqs = sorted(session.task_ids)
    forged = dict(zip(seqs, FORGERIES, strict=False))
    for seq, (_name, raw) in forged.items():
        await session.target.write_result(session.task_ids[seq], raw)
    clean = 0
    for seq in seqs:
        raised, value = await _read(backend, session.task_ids[seq])
        if seq in forged:
            if raised is not None and not isinstance(raised, TaskiqError):
                name = forged[seq][0]
                session.problems.append(
                    f"forged result {name!r}: {type(raised).__name__}: {raised}"
                )
            else:
                clean += 1
        elif raised is not None or value != seq:
            session.problems.append(f"result of task {seq} read back as {raised or value!r}")
    session.notes.append(f"{len(forged)} forged results, {clean} refused or neutralised cleanly")


async def _read(backend: Any, task_id: str) -> tuple[Exception | None, Any]:
    """(what ``get_result`` raised, or None; the return value or the decoded error)."""
    try:
        result = await backend.get_result(task_id)
    except Exception as exc:
        return exc, None
    return None, result.return_value if result.error is None else result.error
