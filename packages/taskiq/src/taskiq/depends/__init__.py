"""Dependencies a task can ask for with ``TaskiqDepends()``."""
