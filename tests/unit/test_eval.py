"""`plangate eval`: the floor on the shipped labelled set, the CLI table and plot, the scorer and its inputs."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from plangate.graph.cli.main import main
from plangate.graph.eval import calibration, dataset, runner, scoring
from plangate.graph.eval.dataset import LabelledRequest
from plangate.graph.eval.runner import Observation

DATA = Path(__file__).resolve().parents[1] / "data" / "gate"


def test_the_shipped_set_has_300_requests_and_the_offline_gate_is_never_confidently_wrong_nor_silent():
    items = dataset.load([DATA])
    assert len(items) >= 300 and {p.name for p in DATA.glob("*.jsonl")} >= {"dev.jsonl", "heldout.jsonl", "stranger.jsonl"}
    ctx = runner.eval_context("cascade")
    observations = runner.run_all(items, ctx)
    scores, verdicts = scoring.score(observations, ctx.fast_threshold)
    wrong = [(o.request.text, o.route, o.acted, o.confidence) for o, v in zip(observations, verdicts, strict=True)
             if v.confident_wrong or v.dropped]
    assert scores.confident_wrong == 0 and scores.dropped == 0, wrong
    assert scores.confident >= 0.6 * len(items)  # precision is not bought by being unsure of everything
    assert scores.route_accuracy >= 0.85


def test_plangate_eval_prints_the_table_and_writes_the_reliability_plot(tmp_path, capsys):
    data = tmp_path / "few.jsonl"
    data.write_text("\n".join(json.dumps(row) for row in [
        {"text": "set a timer for 5 minutes", "route": "fast", "domains": ["timer"]},
        {"text": "start a timer for 8 minutes and another for 20 minutes", "route": "plan", "domains": ["timer"],
         "tools": ["timer.set_timer", "timer.set_timer"]},
        {"text": "hello", "route": "fast", "domains": ["conversation"]},
        {"text": "turn off the lights", "route": "plan", "domains": ["smart_home"]},  # labelled wrong on purpose
    ]) + "\n")
    plot = tmp_path / "out" / "reliability.png"
    assert main(["eval", str(data), "--plot", str(plot)]) == 0
    out = capsys.readouterr().out
    for line in ("route accuracy", "confident-wrong", "dropped tasks", "model calls per request", "calibration",
                 "recommended for 99% fast-path precision", "turn off the lights"):
        assert line in out
    assert "75.0%" in out  # 3 of 4 routes match their labels
    assert plot.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" and plot.stat().st_size > 5000
    assert main(["eval", str(data), "--no-plot", "--strict"]) == 1  # the mislabelled one is confidently "wrong"


def test_plangate_eval_json_and_a_bad_file_is_named_with_its_line(tmp_path, capsys):
    data = tmp_path / "bad.jsonl"
    data.write_text('{"text": "hi", "route": "fast", "domains": ["conversation"]}\n{"text": "x", "route": "slow"}\n')
    assert main(["eval", str(data), "--no-plot"]) == 1
    err = capsys.readouterr().err
    assert "bad.jsonl:2" in err and '"route" must be "fast" or "plan"' in err
    data.write_text('{"text": "hi", "route": "fast", "domains": ["conversation"]}\n')
    assert main(["eval", str(data), "--no-plot", "--json"]) == 0
    report = json.loads(capsys.readouterr().out)
    assert report["scores"]["requests"] == 1 and report["scores"]["route_accuracy"] == 1.0
    assert [b["count"] for b in report["calibration"]][-1] == 1


def test_a_request_that_starts_with_eval_is_still_a_request(monkeypatch):
    from plangate.graph.cli.args import normalise

    assert normalise(["eval", "the", "plan"])[0] == "run"
    assert normalise(["eval", "x.jsonl"])[0] == "eval"


@pytest.mark.parametrize(("line", "problem"), [
    ('{"text": "", "route": "fast", "domains": ["timer"]}', '"text" must be a non-empty string'),
    ('{"text": "a", "route": "fast", "domains": []}', '"domains" must be a non-empty list'),
    ('{"text": "a", "route": "fast", "domains": ["timer", "weather"]}', "exactly one domain"),
    ('{"text": "a", "route": "plan", "domains": ["timer"], "tools": ["weather.forecast"]}', "missing from"),
    ("not json", "not JSON"),
])
def test_dataset_errors_say_what_to_fix(tmp_path, line, problem):
    path = tmp_path / "x.jsonl"
    path.write_text(line + "\n")
    with pytest.raises(dataset.DatasetError, match="x.jsonl:1") as raised:
        dataset.load([path])
    assert problem in str(raised.value)


def _obs(route: str, domain: str, confidence: float, label_route: str, label_domain: str, acted: list[str]) -> Observation:
    label = LabelledRequest("t", label_route, frozenset({label_domain}))
    return Observation(label, route, route, domain, confidence, acted, answer="done")


def test_scoring_counts_a_missing_action_as_dropped_unless_the_answer_says_so():
    two = LabelledRequest("two timers", "plan", frozenset({"timer"}), ("timer.set_timer", "timer.set_timer"))
    one = Observation(two, "plan", "plan", "timer", 0.97, ["timer.set_timer"], answer="Timer set.")
    verdict = scoring.judge(one, 0.95)
    assert verdict.missing == ("timer",) and verdict.dropped and verdict.confident_wrong
    one.answer = 'Timer set.\n\nI didn\'t do "another for 20": no step did it.'
    assert not scoring.judge(one, 0.95).dropped


def test_thresholds_are_recommended_for_the_target_precision():
    observations = [_obs("fast", "timer", 0.97, "fast", "timer", ["timer.set_timer"]) for _ in range(99)]
    observations += [_obs("fast", "timer", 0.97, "plan", "timer", ["timer.set_timer"])]  # 99% right at 0.97
    observations += [_obs("fast", "weather", 0.9, "plan", "weather", ["weather.forecast"]) for _ in range(5)]
    observations += [_obs("fast", "weather", 0.8, "fast", "weather", ["weather.forecast"]) for _ in range(5)]
    rec = calibration.recommend(observations, target=0.99)
    assert rec.fast_threshold == 0.97 and rec.fast_precision == pytest.approx(0.99)
    assert rec.plan_threshold == 0.8  # below 0.97, decisions from 0.8 up are right half the time
    strict = calibration.recommend(observations, target=1.0)
    assert strict.fast_threshold == 1.0 and "no threshold" in strict.note
    rows = calibration.bins(observations, [scoring.judge(o, 0.95) for o in observations])
    assert sum(r.count for r in rows) == len(observations)


def test_dry_run_tools_change_nothing():
    ctx = runner.eval_context("rules")
    graph = runner.eval_graph()
    obs = runner.observe(graph, LabelledRequest("turn on the kitchen lights", "fast", frozenset({"smart_home"})), ctx)
    assert obs.acted == ["smart_home.set_device"] and obs.answer.startswith("[dry run] smart_home.set_device")
    assert obs.error is None and obs.model_calls >= 0 and obs.latency_ms > 0
