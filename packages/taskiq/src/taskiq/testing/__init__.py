"""Test suites that implementations of taskiq's contracts import and run.

Importing these modules needs pytest (a test dependency, not a runtime one).
"""
