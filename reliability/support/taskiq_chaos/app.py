"""The application every chaos worker runs: ``taskiq worker taskiq_chaos.app:broker``.

Its broker comes from the `ChaosConfig` in the environment (see
`taskiq_chaos.config`); its tasks record each run on the shared Redis.
"""

from __future__ import annotations

from taskiq_chaos.brokers import RunRecorder, build_broker, register_tasks
from taskiq_chaos.config import ChaosConfig

CONFIG = ChaosConfig.from_env()
broker = build_broker(CONFIG)
register_tasks(broker, RunRecorder(CONFIG.record_url, CONFIG.record_key))
