"""Scores for one observation and for a whole run: route, domains, confident-wrong, dropped tasks."""

from __future__ import annotations

import statistics
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass

from plangate.graph.eval.dataset import CONVERSATION, REASONING
from plangate.graph.eval.runner import Observation
from plangate.graph.offline.coverage import says_not_done


@dataclass(frozen=True)
class Verdict:
    """How one observation compares with its label."""

    route_ok: bool
    domains_ok: bool  # the set of domains acted on is exactly the labelled set
    missing: tuple[str, ...]  # labelled actions (by domain) that nothing acted on
    declined: bool  # ... and the answer says what was not done
    confident: bool  # decided at or above fast_threshold: no model was asked to check it

    @property
    def correct(self) -> bool:
        return self.route_ok and self.domains_ok and not self.missing

    @property
    def dropped(self) -> bool:
        return bool(self.missing) and not self.declined

    @property
    def confident_wrong(self) -> bool:
        return self.confident and not self.correct


def acted_domains(obs: Observation) -> Counter[str]:
    """Actions per domain; reasoning steps count only when the label asks for writing."""
    found = Counter(name.split(".", 1)[0] for name in obs.acted)
    if obs.request.domains == {REASONING} and obs.route == "fast" and found == Counter({CONVERSATION: 1}):
        return Counter({REASONING: 1})  # a lone writing request: the direct reply is the writing
    if REASONING not in obs.request.domains:
        found.pop(REASONING, None)
    return found


def judge(obs: Observation, fast_threshold: float) -> Verdict:
    label = obs.request
    acted = acted_domains(obs)
    required = label.required()
    required.pop(CONVERSATION, None)  # nothing to act on: the reply itself is the action
    missing = required - acted
    return Verdict(
        route_ok=obs.route == label.route and obs.error is None,
        domains_ok=set(acted) == set(label.domains),
        missing=tuple(sorted(missing.elements())),
        declined=bool(missing) and says_not_done(obs.answer),
        confident=obs.confidence >= fast_threshold,
    )


@dataclass(frozen=True)
class Scores:
    requests: int
    route_accuracy: float
    plan_domain_accuracy: float  # labelled plan: exact domain set acted on
    plan_requests: int
    fast_domain_accuracy: float  # labelled fast: acted in exactly the labelled domain
    fast_requests: int
    confident: int
    confident_wrong: int
    dropped: int
    declined: int
    errors: int
    model_calls_per_request: float
    latency_ms_mean: float
    latency_ms_p50: float
    latency_ms_p95: float


def _share(flags: Sequence[bool]) -> float:
    return sum(flags) / len(flags) if flags else float("nan")


def score(observations: Sequence[Observation], fast_threshold: float) -> tuple[Scores, list[Verdict]]:
    verdicts = [judge(o, fast_threshold) for o in observations]
    pairs = list(zip(observations, verdicts, strict=True))
    plans = [v.domains_ok and not v.missing for o, v in pairs if o.request.route == "plan"]
    fasts = [v.domains_ok for o, v in pairs if o.request.route == "fast"]
    latencies = sorted(o.latency_ms for o in observations) or [0.0]
    return Scores(
        requests=len(observations),
        route_accuracy=_share([v.route_ok for v in verdicts]),
        plan_domain_accuracy=_share(plans), plan_requests=len(plans),
        fast_domain_accuracy=_share(fasts), fast_requests=len(fasts),
        confident=sum(v.confident for v in verdicts),
        confident_wrong=sum(v.confident_wrong for v in verdicts),
        dropped=sum(v.dropped for v in verdicts),
        declined=sum(v.declined for v in verdicts),
        errors=sum(o.error is not None for o in observations),
        model_calls_per_request=statistics.fmean(o.model_calls for o in observations) if observations else 0.0,
        latency_ms_mean=statistics.fmean(latencies),
        latency_ms_p50=latencies[len(latencies) // 2],
        latency_ms_p95=latencies[min(len(latencies) - 1, int(len(latencies) * 0.95))],
    ), verdicts
