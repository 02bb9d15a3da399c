"""The labels a pipeline step's message carries (all strings, so every broker keeps them)."""

from __future__ import annotations

#: The whole pipeline, as `taskiq_pipelines.steps.dumps_steps` wrote it.
PIPELINE = "pipeline"
#: The index of the step this message belongs to.
STEP = "pipeline_step"
#: For a member of a map, filter or group: its index and how many members there are.
MEMBER = "pipeline_member"
MEMBERS = "pipeline_members"
