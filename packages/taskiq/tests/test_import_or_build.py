"""`taskiq.cli.utils.import_or_build`: how integrations load an app from ``module:variable``."""

from __future__ import annotations

import uuid
from pathlib import Path

import pytest
from taskiq.cli.utils import CLIImportError, import_or_build

SOURCE = """
class App:
    pass

app = App()
not_an_app = 42

def factory():
    return App()

async def async_factory():
    return App()

def failing_factory():
    raise RuntimeError("factory exploded")
"""


class App:
    """Stands in for the checked type; the module's ``App`` is a different class."""


class LoadError(Exception):
    """An integration's own error type, built from the reason."""


@pytest.fixture
def module(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> str:
    name = f"app_module_{uuid.uuid4().hex}"
    (tmp_path / f"{name}.py").write_text(SOURCE)
    (tmp_path / f"{name}_broken.py").write_text("raise ValueError('bad config')\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    return name


async def test_an_instance_of_the_built_type_is_returned_as_is(module: str) -> None:
    found = await import_or_build(f"{module}:app", object)
    assert type(found).__name__ == "App"
    assert found is await import_or_build(f"{module}:app", object)


@pytest.mark.parametrize("factory", ["factory", "async_factory"])
async def test_a_factory_is_called_and_awaited(module: str, factory: str) -> None:
    built = await import_or_build(f"{module}:{factory}", App)
    assert type(built).__name__ == "App"
    assert built is not await import_or_build(f"{module}:{factory}", App)


async def test_anything_else_is_returned_for_the_caller_to_check(module: str) -> None:
    assert await import_or_build(f"{module}:not_an_app", App) == 42


@pytest.mark.parametrize(
    ("variable", "reason"),
    [
        (":missing", "has no attribute"),
        (":failing_factory", "the factory raised RuntimeError('factory exploded')."),
        ("_broken:app", "importing it raised ValueError('bad config')."),
    ],
)
async def test_failures_raise_the_given_error_with_the_reason(
    module: str, variable: str, reason: str
) -> None:
    with pytest.raises(LoadError) as caught:
        await import_or_build(f"{module}{variable}", App, error=LoadError)
    assert reason in str(caught.value)
    assert caught.value.__cause__ is not None


async def test_default_error_is_cli_import_error_naming_the_spec(module: str) -> None:
    with pytest.raises(CLIImportError, match=f"'{module}:failing_factory'.*factory exploded"):
        await import_or_build(f"{module}:failing_factory", App)
    with pytest.raises(CLIImportError, match="expected 'module:variable'"):
        await import_or_build(module, App)
