"""The public surface of taskiq_pipelines is its __all__; the upstream import paths work."""

from __future__ import annotations

import taskiq_pipelines


def test_all_lists_exactly_the_public_names() -> None:
    public = {name for name in vars(taskiq_pipelines) if not name.startswith("_")}
    modules = {name for name in public if type(vars(taskiq_pipelines)[name]).__name__ == "module"}
    assert set(taskiq_pipelines.__all__) == public - modules


def test_upstream_import_paths() -> None:
    from taskiq_pipelines.exceptions import AbortPipeline, PipelineError
    from taskiq_pipelines.middleware import PipelineMiddleware
    from taskiq_pipelines.pipeliner import Pipeline

    assert taskiq_pipelines.Pipeline is Pipeline
    assert taskiq_pipelines.PipelineMiddleware is PipelineMiddleware
    assert issubclass(AbortPipeline, PipelineError)
