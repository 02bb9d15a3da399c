"""The chaos suite's support package: servers, a partition proxy, workers, faults, reports.

`taskiq_chaos.scenarios` runs one scenario against one broker target and
returns a `taskiq_chaos.report.Report`; the tests in ``reliability/`` and the
``reliability/run`` script both drive it (see reliability/README.md).
"""
