"""Typed workflows for taskiq: chains, maps, filters, groups and chords, with no waiter task.

Compatible with ``taskiq-pipelines``: ``Pipeline(broker, task).call_next(...)``,
``.map``, ``.filter``, ``.group(Group().add(...))``, ``await pipe.kiq(x)``,
``dumps()`` / ``Pipeline.loads()``, and `PipelineMiddleware` on the broker.
"""

from taskiq_pipelines.exceptions import AbortPipeline, PipelineCancelledError, PipelineError
from taskiq_pipelines.fan_in import FanInStore, InmemoryFanInStore, SupportsFanIn, fan_in_of
from taskiq_pipelines.group import Group
from taskiq_pipelines.handle import PipelineTask
from taskiq_pipelines.middleware import PipelineMiddleware
from taskiq_pipelines.pipeliner import Pipeline, chain
from taskiq_pipelines.state import StepState, WorkflowState
from taskiq_pipelines.typing_support import Sends

__all__ = [
    "AbortPipeline",
    "FanInStore",
    "Group",
    "InmemoryFanInStore",
    "Pipeline",
    "PipelineCancelledError",
    "PipelineError",
    "PipelineMiddleware",
    "PipelineTask",
    "Sends",
    "StepState",
    "SupportsFanIn",
    "WorkflowState",
    "chain",
    "fan_in_of",
]
