"""The ``taskiq`` command line: subcommands found through the ``taskiq_cli`` entry points."""
