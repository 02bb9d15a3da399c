"""The names Taskiq documents for this package exist, with its parameter names."""

import inspect

import taskiq_fastapi


def test_exported_names() -> None:
    assert sorted(taskiq_fastapi.__all__) == ["AppLoadError", "init", "populate_dependency_context"]
    for name in taskiq_fastapi.__all__:
        assert getattr(taskiq_fastapi, name) is not None


def test_signatures_match_taskiq() -> None:
    assert list(inspect.signature(taskiq_fastapi.init).parameters) == ["broker", "app_or_path"]
    parameters = list(inspect.signature(taskiq_fastapi.populate_dependency_context).parameters)
    assert parameters[:3] == ["broker", "app", "loop"]
