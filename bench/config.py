"""Bench settings: the issue's latencies, the BENCH_SCALE knob and the quick mode.

The main table always runs at the issue's 0.5 s per model call and 0.3 s per tool call. The other
sections multiply those by their own scale (and by BENCH_SCALE, for quick local runs), and the
summary says which latencies each section used.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path

RESULTS = Path(os.environ.get("BENCH_RESULTS") or Path(__file__).resolve().parent / "results")
MODEL_S = 0.5
TOOL_S = 0.3
PG_URL = "postgresql://postgres@127.0.0.1:5432/test"  # the server; the bench uses its own database there (bench/pg.py)



def _float(name: str, default: float) -> float:
    raw = os.environ.get(name)
    return float(raw) if raw else default


@dataclass
class BenchConfig:
    scale: float = field(default_factory=lambda: _float("BENCH_SCALE", 1.0))
    quick: bool = field(default_factory=lambda: os.environ.get("BENCH_QUICK", "") not in ("", "0"))
    concurrency: int = 6  # requests in flight while measuring latency (sleep-bound, so they barely interact)
    growth_scale: float = 0.1  # plan-size growth runs at 0.05 s / 0.03 s: P&E on a 20-step chain is 61 model calls
    scale_scale: float = 1.0  # the concurrency test runs at the latencies
    pg_url: str = field(default_factory=lambda: os.environ.get("BENCH_PG_URL", PG_URL))

    def main_latency(self) -> tuple[float, float]:
        return MODEL_S * self.scale, TOOL_S * self.scale

    def growth_latency(self) -> tuple[float, float]:
        return MODEL_S * self.growth_scale * self.scale, TOOL_S * self.growth_scale * self.scale

    def scale_latency(self) -> tuple[float, float]:
        return MODEL_S * self.scale_scale * self.scale, TOOL_S * self.scale_scale * self.scale
