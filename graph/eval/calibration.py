"""Calibration: accuracy per confidence bin, and the thresholds that reach a target fast-path precision."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from plangate.graph.eval.dataset import CONVERSATION, REASONING
from plangate.graph.eval.runner import Observation
from plangate.graph.eval.scoring import Verdict

EDGES = (0.0, 0.5, 0.7, 0.8, 0.9, 0.95, 1.0)


@dataclass(frozen=True)
class Bin:
    low: float
    high: float
    count: int
    accuracy: float  # share of decisions in the bin that were right end to end
    mean_confidence: float


def bins(observations: Sequence[Observation], verdicts: Sequence[Verdict], edges: Sequence[float] = EDGES) -> list[Bin]:
    """One row per confidence bin [low, high) (the last bin includes 1.0)."""
    rows = []
    for index, (low, high) in enumerate(zip(edges, edges[1:], strict=False)):
        last = index == len(edges) - 2
        inside = [(o, v) for o, v in zip(observations, verdicts, strict=True)
                  if low <= o.confidence < high or (last and o.confidence == high)]
        count = len(inside)
        rows.append(Bin(low, high, count,
                        sum(v.correct for _, v in inside) / count if count else float("nan"),
                        sum(o.confidence for o, _ in inside) / count if count else float("nan")))
    return rows


def right_if_fast(obs: Observation) -> bool:
    """Whether taking the fast path with the proposed domain would have been right."""
    label = obs.request
    domain = REASONING if obs.domain == CONVERSATION and label.domains == {REASONING} else obs.domain  # see scoring
    return label.route == "fast" and {domain} == set(label.domains)


@dataclass(frozen=True)
class Recommendation:
    target_precision: float
    fast_threshold: float
    fast_precision: float  # of proposed-fast decisions at or above it
    fast_share: float  # share of labelled-fast requests that would take the fast path
    plan_threshold: float
    note: str


def recommend(observations: Sequence[Observation], target: float = 0.99, band_precision: float = 0.5) -> Recommendation:
    """`fast_threshold`: the lowest confidence at which proposed-fast decisions reach `target` precision.
    `plan_threshold`: the lowest confidence at which proposed-fast decisions below `fast_threshold` are still
    right at least `band_precision` of the time, so escalating them to a stronger tier is worth a call."""
    fast = sorted(((o.confidence, right_if_fast(o)) for o in observations if o.proposed_route == "fast"),
                  key=lambda pair: pair[0])
    labelled_fast = sum(o.request.route == "fast" for o in observations) or 1
    chosen, precision = 1.0, float("nan")
    for index, (confidence, _) in enumerate(fast):
        above = [ok for _, ok in fast[index:]]
        share = sum(above) / len(above)
        if share >= target and (index == 0 or fast[index - 1][0] < confidence):
            chosen, precision = confidence, share
            break
    taken = sum(ok for c, ok in fast if c >= chosen)
    note = "" if fast else "no request was proposed for the fast path; keep the current thresholds"
    if fast and chosen == 1.0 and precision != precision:
        note = f"no threshold reaches {target:.0%} precision on the fast path; route everything through a plan"
    plan_threshold = chosen
    below = [(c, ok) for c, ok in fast if c < chosen]
    for index, (confidence, _) in enumerate(below):
        band = [ok for _, ok in below[index:]]
        if sum(band) / len(band) >= band_precision:
            plan_threshold = confidence
            break
    return Recommendation(target, round(chosen, 3), precision, taken / labelled_fast, round(plan_threshold, 3), note)
