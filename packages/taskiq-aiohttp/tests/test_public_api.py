"""The names Taskiq documents for this package exist, with its parameter names."""

import inspect

import taskiq_aiohttp


def test_exported_names() -> None:
    assert sorted(taskiq_aiohttp.__all__) == ["AppLoadError", "init", "populate_context"]
    for name in taskiq_aiohttp.__all__:
        assert getattr(taskiq_aiohttp, name) is not None


def test_signatures_match_taskiq() -> None:
    assert list(inspect.signature(taskiq_aiohttp.init).parameters) == ["broker", "app_path"]
    parameters = list(inspect.signature(taskiq_aiohttp.populate_context).parameters)
    assert parameters == ["broker", "server", "app", "loop"]
