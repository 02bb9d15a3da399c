"""``taskiq worker``: a supervisor process and the children that run tasks."""
