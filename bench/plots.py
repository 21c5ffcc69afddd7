"""PNG plots of the bench results (matplotlib, Agg backend)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

LABELS = {"plangate-cascade": "plangate (cascade)", "plangate-llm": "plangate (llm router)", "react": "ReAct",
          "plan-execute": "P&E tutorial", "llm-compiler": "LLMCompiler", "plangate-cascade-p20": "plangate (cap 20)"}
CLASS_LABELS = {"simple": "simple", "independent": "complex:\nindependent", "chained": "complex:\nchained",
                "failing": "complex:\nfailing tool", "reasoning": "complex:\nneeds reasoning"}



def _save(plt: Any, fig: Any, path: Path) -> Path:
    """Lay out, write and close one figure."""
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path

def _plt() -> Any:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def latency_by_class(latency: dict[str, Any], out: Path) -> Path:
    plt = _plt()
    systems = list(latency["table"])
    classes = list(CLASS_LABELS)
    fig, ax = plt.subplots(figsize=(9, 4.2))
    width = 0.8 / len(systems)
    for i, system in enumerate(systems):
        stats = [latency["table"][system][c] for c in classes]
        xs = [c + (i - (len(systems) - 1) / 2) * width for c in range(len(classes))]
        med = [s["median_s"] for s in stats]
        high = [s["p95_s"] - s["median_s"] for s in stats]
        ax.bar(xs, med, width, label=LABELS.get(system, system), yerr=[[0] * len(med), high], capsize=2)
    ax.set_xticks(range(len(classes)), [CLASS_LABELS[c] for c in classes])
    ax.set_ylabel("latency, s (bar: median, whisker: p95)")
    ax.set_title(f"End-to-end latency per task class (model {latency['model_s']:g} s/call, tool {latency['tool_s']:g} s)")
    ax.legend(fontsize=8, ncol=2)
    ax.grid(axis="y", alpha=0.3)
    return _save(plt, fig, out / "latency_by_class.png")


def growth(data: dict[str, Any], out: Path) -> Path:
    plt = _plt()
    fig, axes = plt.subplots(2, 2, figsize=(10, 7), sharex=True)
    systems = list(dict.fromkeys(r["system"] for r in data["rows"]))
    for col, shape in enumerate(("chain", "wide")):
        for row, (key, label) in enumerate((("latency_s", "latency, s"), ("model_calls", "model calls"))):
            ax = axes[row][col]
            for system in systems:
                points = sorted((r["size"], r[key]) for r in data["rows"] if r["system"] == system and r["shape"] == shape)
                ax.plot([p[0] for p in points], [p[1] for p in points], marker="o", ms=3, label=LABELS.get(system, system))
            if key == "latency_s":
                crit = sorted({(r["size"], r["critical_path_s"]) for r in data["rows"] if r["shape"] == shape})
                ax.plot([c[0] for c in crit], [c[1] for c in crit], "k--", lw=1, label="critical path")
            ax.set_title(f"{shape}: {label}")
            ax.grid(alpha=0.3)
            if row == 1:
                ax.set_xlabel("plan steps")
    axes[0][0].legend(fontsize=7)
    fig.suptitle(f"Cost as plans grow (model {data['model_s']:g} s/call, tool {data['tool_s']:g} s)")
    return _save(plt, fig, out / "growth.png")


def scale(data: dict[str, Any], out: Path) -> Path:
    plt = _plt()
    fig, (left, right) = plt.subplots(1, 2, figsize=(10, 3.8))
    for backend in ("sqlite", "postgres"):
        rows = sorted((r for r in data["rows"] if r["backend"] == backend and "skipped" not in r), key=lambda r: r["threads"])
        if not rows:
            continue
        threads = [r["threads"] for r in rows]
        left.plot(threads, [r["throughput_rps"] for r in rows], marker="o", label=backend)
        right.plot(threads, [r["p95_s"] for r in rows], marker="o", label=backend)
    for ax, label in ((left, "throughput, requests/s"), (right, "p95 latency, s")):
        ax.set_xscale("log")
        ax.set_xlabel("concurrent threads")
        ax.set_ylabel(label)
        ax.grid(alpha=0.3)
        ax.legend()
    fig.suptitle("plangate (cascade) under concurrency, async")
    return _save(plt, fig, out / "scale.png")
