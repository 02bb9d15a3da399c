"""``taskiq scheduler``: send scheduled tasks to the broker at their fire times."""
