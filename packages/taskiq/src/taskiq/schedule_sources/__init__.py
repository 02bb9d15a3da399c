"""Schedule sources shipped with the core; database-backed ones live in their packages."""

from taskiq.schedule_sources.label_based import LabelScheduleSource

__all__ = ["LabelScheduleSource"]
