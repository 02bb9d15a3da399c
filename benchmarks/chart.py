"""Draw results/latest.json as a PNG: one panel per scenario metric, one bar per system.

Runs in the benchmark tools venv (matplotlib), not in the project's environment.
"""

from __future__ import annotations

import json
import sys

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt

PANELS = [
    ("inproc_seq", "rate", "in-process sequential, tasks/s ↑"),
    ("inproc_bulk", "rate", "in-process bulk, tasks/s ↑"),
    ("redis_enqueue_seq", "rate", "Redis enqueue seq, tasks/s ↑"),
    ("redis_enqueue_conc", "rate", "Redis enqueue concurrent, tasks/s ↑"),
    ("redis_drain", "rate", "Redis drain, tasks/s ↑"),
    ("redis_latency", "p50_ms", "Redis latency p50, ms ↓ (log)"),
    ("amqp_drain", "rate", "RabbitMQ drain, tasks/s ↑"),
    ("nats_drain", "rate", "NATS drain, tasks/s ↑"),
    ("kafka_drain", "rate", "Kafka drain, tasks/s ↑"),
    ("redis_iobound", "rate", "I/O-bound, tasks/s ↑"),
    ("redis_latency", "rss_idle", "idle worker RSS, MB ↓"),
]
COLORS = {"this": "#2a7", "taskiq": "#777", "celery": "#a53", "dramatiq": "#36a", "arq": "#a8a"}


def main(source: str, target: str) -> None:
    with open(source) as handle:
        data = json.load(handle)
    medians, systems = data["medians"], data["systems"]
    panels = [p for p in PANELS if p[0] in medians]
    cols = 3
    rows = (len(panels) + cols - 1) // cols
    fig, axes = plt.subplots(rows, cols, figsize=(4.2 * cols, 3 * rows), squeeze=False)
    for ax, (scenario, metric, title) in zip(axes.flat, panels, strict=False):
        names = [s for s in systems if metric in medians[scenario].get(s, {})]
        values = [medians[scenario][s][metric] for s in names]
        ax.bar(names, values, color=[COLORS.get(s, "#999") for s in names])
        ax.set_title(title, fontsize=9)
        ax.tick_params(labelsize=8)
        if metric == "p50_ms":
            ax.set_yscale("log")
    for ax in list(axes.flat)[len(panels) :]:
        ax.axis("off")
    fig.suptitle("taskiq (this project) vs upstream Taskiq, Celery, Dramatiq, arq — medians")
    fig.tight_layout()
    fig.savefig(target, dpi=110)


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2])
