"""The shipped Grafana dashboard's queries, as Prometheus evaluates them (Grafana's variables filled in)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

DASHBOARD = Path(__file__).resolve().parent.parent / "deploy" / "grafana" / "dashboards" / "wirewatch.json"


def panels() -> list[dict[str, Any]]:
    return list(json.loads(DASHBOARD.read_text())["panels"])


def queries(rate_interval: str = "1m", range_: str = "10m") -> list[tuple[str, str]]:
    """(panel title, PromQL) of every target; ``$__rate_interval`` and ``$__range`` filled as Grafana does."""
    out = []
    for panel in panels():
        for target in panel["targets"]:
            expr = target["expr"].replace("$__rate_interval", rate_interval).replace("$__range", range_)
            out.append((panel["title"], expr))
    return out


def render(prom: Any, path: Path, start: float, end: float, titles: list[str], step: float = 2.0) -> Path:
    """The named time-series panels as Prometheus answers their queries over [start, end], in one PNG.

    What a newcomer sees on the dashboard, drawn with matplotlib from the
    query API (Grafana itself is not run here).
    """
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    chosen = [p for p in panels() if p["title"] in titles]
    cols = 2
    rows = (len(chosen) + cols - 1) // cols
    fig, axes = plt.subplots(rows, cols, figsize=(13, 3.2 * rows), squeeze=False)
    window = f"{max(int(step * 10), 20)}s"
    for ax, panel in zip(axes.flat, chosen, strict=False):
        for target in panel["targets"]:
            expr = target["expr"].replace("$__rate_interval", window).replace("$__range", "10m")
            data = prom.api("query_range", query=expr, start=str(start), end=str(end), step=str(step))
            for series in data["result"]:
                label = target.get("legendFormat", "")
                for key, value in series["metric"].items():
                    label = label.replace("{{" + key + "}}", value)
                xs = [float(t) - start for t, _ in series["values"]]
                ys = [float(v) for _, v in series["values"]]
                ax.plot(xs, ys, label=label or expr[:40])
        ax.set_title(panel["title"], fontsize=10)
        if panel["fieldConfig"]["defaults"].get("unit") == "s" and ax.lines:
            ax.set_yscale("log")  # seconds since fetch and since publication differ by orders of magnitude
            ax.set_ylabel("seconds (log)", fontsize=8)
        ax.set_xlabel("seconds", fontsize=8)
        ax.tick_params(labelsize=8)
        if ax.lines:
            ax.legend(fontsize=7, loc="upper left")
    for ax in list(axes.flat)[len(chosen) :]:
        ax.axis("off")
    fig.suptitle(
        "Wirewatch dashboard panels, from a real Prometheus scraping a worker on the demo news", fontsize=11
    )
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=90)
    plt.close(fig)
    return path
