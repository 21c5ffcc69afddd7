"""The reliability plot: accuracy against confidence per bin, with the gate's thresholds marked."""

from __future__ import annotations

import math
from collections.abc import Sequence
from pathlib import Path

from plangate.graph.eval.calibration import Bin


class PlotUnavailable(RuntimeError):
    """matplotlib is not installed."""


def reliability_plot(rows: Sequence[Bin], path: str | Path, *, fast_threshold: float, plan_threshold: float,
                     title: str = "plangate gate: reliability") -> Path:
    """Write a PNG: bars of accuracy per confidence bin (width = the bin), counts on top, the diagonal."""
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError as exc:
        raise PlotUnavailable("the plot needs matplotlib: pip install 'plangate[eval]'") from exc
    out = Path(path).expanduser()
    out.parent.mkdir(parents=True, exist_ok=True)
    fig, ax = plt.subplots(figsize=(6.4, 4.8), dpi=100)
    try:
        filled = [r for r in rows if r.count and not math.isnan(r.accuracy)]
        ax.bar([r.low for r in filled], [r.accuracy for r in filled], width=[r.high - r.low for r in filled],
               align="edge", color="#7a6ff0", edgecolor="#3b338f", alpha=0.8, label="accuracy in bin")
        for r in filled:
            ax.annotate(f"n={r.count}", ((r.low + r.high) / 2, min(r.accuracy, 0.97) + 0.02), ha="center", fontsize=8)
        ax.plot([0, 1], [0, 1], linestyle="--", color="grey", label="perfect calibration")
        ax.axvline(fast_threshold, color="#2a9d4b", label=f"fast_threshold {fast_threshold:g}")
        ax.axvline(plan_threshold, color="#d1495b", linestyle=":", label=f"plan_threshold {plan_threshold:g}")
        ax.set(xlim=(0, 1), ylim=(0, 1.05), xlabel="router confidence", ylabel="share right (route and tasks)", title=title)
        ax.legend(loc="upper left", fontsize=8)
        fig.tight_layout()
        fig.savefig(out, format="png")
    finally:
        plt.close(fig)
    return out
