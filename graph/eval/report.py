"""The tables `plangate eval` prints, and its JSON form."""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import asdict
from typing import Any

from rich.table import Table

from plangate.graph.eval.calibration import Bin, Recommendation
from plangate.graph.eval.runner import Observation
from plangate.graph.eval.scoring import Scores, Verdict


def _pct(value: float) -> str:
    return "-" if math.isnan(value) else f"{value:.1%}"


def summary_table(scores: Scores, title: str) -> Table:
    table = Table(title=title, title_justify="left")
    table.add_column("measure")
    table.add_column("value", justify="right")
    rows = [
        ("requests", str(scores.requests)),
        ("route accuracy", _pct(scores.route_accuracy)),
        (f"exact domain set, plan path ({scores.plan_requests} labelled plan)", _pct(scores.plan_domain_accuracy)),
        (f"fast-domain accuracy ({scores.fast_requests} labelled fast)", _pct(scores.fast_domain_accuracy)),
        ("decided at >= fast_threshold", str(scores.confident)),
        ("confident-wrong", str(scores.confident_wrong)),
        ("dropped tasks (silently)", str(scores.dropped)),
        ("tasks declined in the answer", str(scores.declined)),
        ("runs that errored", str(scores.errors)),
        ("model calls per request", f"{scores.model_calls_per_request:.2f}"),
        ("latency per request, mean / p50 / p95", f"{scores.latency_ms_mean:.0f} / {scores.latency_ms_p50:.0f} / "
                                                   f"{scores.latency_ms_p95:.0f} ms"),
    ]
    for name, value in rows:
        table.add_row(name, value)
    return table


def calibration_table(rows: Sequence[Bin]) -> Table:
    table = Table(title="calibration: confidence bin -> accuracy", title_justify="left")
    for name in ("confidence", "requests", "mean confidence", "accuracy"):
        table.add_column(name, justify="right")
    for r in rows:
        closed = "]" if r.high >= 1.0 else ")"
        mean = "-" if math.isnan(r.mean_confidence) else f"{r.mean_confidence:.2f}"
        table.add_row(f"[{r.low:.2f}, {r.high:.2f}{closed}", str(r.count), mean, _pct(r.accuracy))
    return table


def recommendation_lines(rec: Recommendation) -> list[str]:
    lines = [f"recommended for {rec.target_precision:.0%} fast-path precision: fast_threshold={rec.fast_threshold:g} "
             f"(precision {_pct(rec.fast_precision)}, {rec.fast_share:.0%} of labelled-fast requests take the fast path), "
             f"plan_threshold={rec.plan_threshold:g}",
             f"  set PLANGATE_FAST_THRESHOLD={rec.fast_threshold:g} PLANGATE_PLAN_THRESHOLD={rec.plan_threshold:g}"]
    if rec.note:
        lines.append(f"  note: {rec.note}")
    return lines


def problems_table(pairs: Sequence[tuple[Observation, Verdict]], limit: int = 25) -> Table | None:
    """The confident-wrong and dropped requests first, then other wrong ones (up to `limit`)."""
    wrong = [(o, v) for o, v in pairs if not v.correct]
    if not wrong:
        return None
    wrong.sort(key=lambda ov: (not ov[1].confident_wrong, not ov[1].dropped))
    table = Table(title=f"wrong ({len(wrong)}; first {min(limit, len(wrong))})", title_justify="left")
    for name in ("request", "label", "got", "conf", "flag"):
        table.add_column(name, overflow="fold")
    for o, v in wrong[:limit]:
        flag = "CONFIDENT-WRONG" if v.confident_wrong else ("DROPPED" if v.dropped else "")
        label = f"{o.request.route} {','.join(sorted(o.request.domains))}"
        got = f"{o.route} {','.join(o.acted) or '-'}"
        table.add_row(o.request.text, label, got, f"{o.confidence:.2f}", flag)
    return table


def as_json(scores: Scores, rows: Sequence[Bin], rec: Recommendation, pairs: Sequence[tuple[Observation, Verdict]],
            plot: str | None) -> dict[str, Any]:
    def clean(value: Any) -> Any:
        return None if isinstance(value, float) and math.isnan(value) else value

    return {
        "scores": {k: clean(v) for k, v in asdict(scores).items()},
        "calibration": [{k: clean(v) for k, v in asdict(r).items()} for r in rows],
        "recommendation": {k: clean(v) for k, v in asdict(rec).items()},
        "plot": plot,
        "wrong": [{"text": o.request.text, "label_route": o.request.route, "label_domains": sorted(o.request.domains),
                   "route": o.route, "acted": o.acted, "confidence": o.confidence, "confident_wrong": v.confident_wrong,
                   "dropped": v.dropped, "answer": o.answer[:500]} for o, v in pairs if not v.correct],
    }
