"""bench/results/summary.md (tables and target verdicts) and the plots, from the section JSON files."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from bench import gate_share, plots
from bench.markdown import HEAD, classes_in, fmt_s, fmt_x, md_table, verdict
from bench.plots import LABELS
from bench.speed_report import bsp_section, executor_section, issue16_section
from bench.stats import median


def _load(folder: Path, name: str) -> dict[str, Any] | None:
    path = folder / f"{name}.json"
    return json.loads(path.read_text()) if path.exists() else None


# targets --------------------------------------------------------------------------------------------
def targets(lat: dict[str, Any] | None, ovh: dict[str, Any] | None, scl: dict[str, Any] | None) -> list[list[str]]:
    rows: list[list[str]] = []
    if lat:
        r = lat["ratios"]
        for base, limit in (("plan-execute", 0.35), ("react", 0.8)):
            cas, llm = r["plangate-cascade"][base]["complex"], r["plangate-llm"][base]["complex"]
            per_class = ", ".join(f"{c} {fmt_x(r['plangate-cascade'][base][c])}" for c in ("independent", "chained", "failing"))
            rows.append([f"latency <= {limit}x {LABELS[base]} (complex, median)",
                         f"cascade {fmt_x(cas)}, llm router {fmt_x(llm)} (cascade by class: {per_class})",
                         f"cascade {verdict(cas <= limit)}, llm {verdict(llm <= limit)}"])
        crit = [x for x in lat["rows"] if x["system"] == "plangate-cascade" and x["cls"] != "simple"]
        ratios = [x["latency_s"] / x["critical_path_s"] for x in crit]
        within = sum(1 for v in ratios if v <= 1.10)
        by_cls = ", ".join(f"{c} {fmt_x(lat['table']['plangate-cascade'][c]['vs_critical_median'])}"
                           for c in ("independent", "chained", "failing"))
        rows.append(["latency <= 1.10x critical path (complex, cascade)",
                     f"median {fmt_x(median(ratios))}, {within}/{len(ratios)} tasks within; by class: {by_cls}",
                     f"median {verdict(median(ratios) <= 1.10)}, every task {verdict(within == len(ratios))}"])
        simple = {s: [x for x in lat["rows"] if x["system"] == s and x["cls"] == "simple"]
                  for s in ("plangate-llm", "plangate-cascade")}
        worst_llm = max(x["model_calls"] for x in simple["plangate-llm"])
        sure = [x for x in simple["plangate-cascade"] if not x["kinds"].get("route")]
        worst_sure = max((x["model_calls"] for x in sure), default=0)
        unsure = len(simple["plangate-cascade"]) - len(sure)
        rows.append(["fast path <= 2 model calls (0 for routing when the rules are sure)",
                     f"llm router: at most {worst_llm} calls; cascade: {len(sure)}/{len(simple['plangate-cascade'])} simple "
                     f"requests routed by the rules with 0 routing calls and {worst_sure} call in all; {unsure} unsure "
                     "ones asked the weak model (2 calls)",
                     verdict(worst_llm <= 2 and worst_sure <= 1)])
    if ovh:
        measured = [x for x in ovh["rows"] if "skipped" not in x]
        parts, ok = [], True
        for saver in ("memory", "sqlite", "postgres"):
            mine = [x for x in measured if x["saver"] == saver]
            if mine:
                worst = max(mine, key=lambda x: x["ratio"])
                ok = ok and worst["ratio"] <= 2.0
                parts.append(f"{saver} worst {fmt_x(worst['ratio'])} ({worst['task']})")
        rows.append(["framework overhead <= 2x a bare graph with the same supersteps", "; ".join(parts), verdict(ok)])
    if scl:
        top = [x for x in scl["rows"] if x.get("threads") == 200 and "skipped" not in x]
        bad = sum(x["errors"] + x["wrong"] for x in top)
        text = "; ".join(f"{x['backend']}: {x['requests']} requests, {x['errors']} errors, {x['wrong']} wrong" for x in top)
        rows.append(["no errors at 200 concurrent threads", text or "not run", verdict(bool(top) and bad == 0)])
    return rows


# sections -------------------------------------------------------------------------------------------
def latency_section(lat: dict[str, Any]) -> list[str]:
    t = lat["table"]
    CLASSES = classes_in(t["react"])  # noqa: N806
    out = [f"## 1. Latency per task class (model {lat['model_s']:g} s/call, tool {lat['tool_s']:g} s/call)", "",
           f"Median / p95 seconds; {lat['concurrency']} requests in flight, InMemorySaver everywhere; "
           "`ok` counts runs whose tool calls were exactly the task's.", ""]
    rows = [[LABELS[s], *[f"{fmt_s(t[s][c]['median_s'])} / {fmt_s(t[s][c]['p95_s'])}" for c in CLASSES],
             f"{sum(t[s][c]['correct'] for c in ('simple', 'complex', 'reasoning') if c in t[s])}/"
             f"{sum(t[s][c]['n'] for c in ('simple', 'complex', 'reasoning') if c in t[s])}"]
            for s in t]
    out += md_table(["system", *[f"{HEAD[c]} (n={t['react'][c]['n']})" for c in CLASSES], "ok"], rows)
    out += ["", "plangate / baseline, ratio of median latencies (below 1: plangate is faster):", ""]
    rows = [[f"{LABELS[p]} / {LABELS[b]}", *[fmt_x(lat["ratios"][p][b][c]) for c in CLASSES]]
            for p in lat["ratios"] for b in lat["ratios"][p]]
    out += md_table(["ratio", *[HEAD[c] for c in CLASSES]], rows)
    out += ["", "![latency by class](latency_by_class.png)", "", "## 2. Model calls and tokens per task class", "",
            "Mean per request: model calls (routing calls in brackets) · input tokens / output tokens (~4 chars a token, "
            "tool schemas counted).", ""]
    rows = [[LABELS[s], *[f"{t[s][c]['model_calls']:.1f} ({t[s][c]['routing_calls']:.1f}) · "
                          f"{t[s][c]['input_tokens']:.0f} / {t[s][c]['output_tokens']:.0f}" for c in CLASSES]] for s in t]
    return out + md_table(["system", *[HEAD[c] for c in CLASSES]], rows)


def critical_section(lat: dict[str, Any]) -> list[str]:
    t = lat["table"]
    CLASSES = classes_in(t["react"])  # noqa: N806
    out = ["", "## 3. Critical path", "",
           "Critical path = the fewest sequential model calls any design needs x latency + longest tool chain. "
           "Redefined for issue 16, since a plan's answer no longer always needs a model: 1 call for a simple request "
           "(the tool's message is the answer); 1 for a complex one whose steps all succeed and whose results speak "
           "for themselves (independent, chained: the plan with references and an answer template); 2 when a tool "
           "fails (the plan, then one call that decides to stop and writes the answer) or when the answer needs "
           "reasoning over the results (the plan, then the answer). Before issue 16 every complex request counted 2 "
           "calls, so baselines that make 2 calls now sit further above it. Latency / critical path, median (worst):", ""]
    rows = [[LABELS[s], *[f"{fmt_x(t[s][c]['vs_critical_median'])} ({fmt_x(t[s][c]['vs_critical_max'])})" for c in CLASSES]]
            for s in t]
    out += md_table(["system", *[HEAD[c] for c in CLASSES]], rows)
    out += ["", "Per task (seconds; `waves` = plangate supersteps of tools at max_parallel_steps="
            f"{lat['max_parallel_steps']}):", ""]
    by_task: dict[str, dict[str, Any]] = {}
    for r in lat["rows"]:
        by_task.setdefault(r["task"], {"row": r})[r["system"]] = r
    rows = []
    for tid, d in by_task.items():
        r = d["row"]
        cas = d["plangate-cascade"]
        rows.append([tid + (" (trap)" if "rules-trap" in r["tags"] else ""), r["cls"], str(r["steps"]), str(r["waves"]),
                     fmt_s(r["critical_path_s"]), *[fmt_s(d[s]["latency_s"]) + ("" if d[s]["correct"] else " ✗") for s in t],
                     fmt_x(cas["latency_s"] / cas["critical_path_s"])])
    out += md_table(["task", "class", "steps", "waves (old BSP)", "critical", *[LABELS[s] for s in t], "cascade/critical"], rows)
    out += ["", "✗ = wrong tool calls (c24 is a trap for the cascade's rules: \"tell Anna\" has no keyword, so the rules "
            "are sure it is one weather request and take the fast path; the llm router gets it right)."]
    return out


def warm_section(lat: dict[str, Any]) -> list[str]:
    warm = lat.get("warm_library")
    if not warm:
        return []
    t = warm["table"]
    cold = lat["table"]["plangate-cascade"]
    out = ["", "### plangate's plan library (repeat requests)", "",
           "The tables above plan every request cold (plan_library off). With the library on, a repeated request reuses "
           "its stored plan and skips the planner call:", ""]
    rows = [[HEAD[c], f"{t[c]['hits']}/{t[c]['n']}", f"{fmt_s(cold[c]['median_s'])} → {fmt_s(t[c]['median_s'])}",
             f"{cold[c]['model_calls']:.1f} → {t[c]['model_calls']:.1f}", f"{t[c]['correct']}/{t[c]['n']}"]
            for c in ("independent", "chained", "failing", "complex")]
    return out + md_table(["class", "library hits", "median s (cold → repeat)", "model calls", "ok"], rows)


def overhead_section(ovh: dict[str, Any]) -> list[str]:
    out = ["", "## 4. Framework overhead (zero-latency model and tools, sync invoke)", "",
           "Per-request milliseconds, median (p95). `model sim` is the scripted model's own work, included in plangate's "
           "time; the bare graph has trivial nodes in the same supersteps on the same checkpointer.", ""]
    rows = []
    for r in ovh["rows"]:
        if "skipped" in r:
            rows.append([r["saver"], "-", "-", r["skipped"], "", "", "", ""])
            continue
        rows.append([r["saver"], r["task"], f"{r['supersteps']}/{r['tasks']}",
                     f"{r['plangate_ms']:.1f} ({r['plangate_p95_ms']:.1f})", f"{r['model_sim_ms']:.2f}",
                     f"{r['bare_ms']:.1f} ({r['bare_p95_ms']:.1f})", fmt_x(r["ratio"]), fmt_x(r["ratio_own"])])
    out += md_table(["saver", "task", "supersteps/tasks", "plangate ms", "model sim ms", "bare ms", "ratio",
                   "ratio w/o model sim"], rows)
    if ovh.get("durability"):
        out += ["", "What crash safety costs: plain `invoke` (LangGraph's default `durability=\"async\"`) vs `invoke_durably`, "
                "the CLI's way (the request saved before any node runs, each superstep saved before the next starts); "
                "interleaved runs, median ms.", ""]
        rows = [[r["saver"], "-", "-", "-", r["skipped"]] if "skipped" in r else
                [r["saver"], r["task"], f"{r['async_ms']:.1f}", f"{r['durable_ms']:.1f}", fmt_x(r["ratio"])]
                for r in ovh["durability"]]
        out += md_table(["saver", "task", "invoke ms", "invoke_durably ms", "ratio"], rows)
    prof = ovh.get("profile")
    if prof:
        bare = prof.get("bare", {"areas_ms": {}, "ms_per_request": float("nan")})
        out += ["", f"Where a zero-latency request's time goes (pyinstrument, async, InMemorySaver, task c10, "
                f"{prof['runs']} runs each; times are inflated by the profiler; full trees in `profile_overhead.txt` and "
                "`profile_bare.txt`):", ""]
        areas = list(dict.fromkeys([*prof["areas_ms"], *bare["areas_ms"]]))
        rows = [[k, f"{prof['areas_ms'].get(k, 0):.2f}", f"{bare['areas_ms'].get(k, 0):.2f}"] for k in areas]
        rows.append(["**total**", f"{prof['ms_per_request']:.2f}", f"{bare['ms_per_request']:.2f}"])
        out += md_table(["area", "plangate ms/request", "bare graph ms/request"], rows)
        out += ["", "Heaviest plangate functions (inclusive of the libraries they call):", ""]
        out += md_table(["function", "ms/request"], [[k, f"{v:.2f}"] for k, v in prof["plangate_functions_ms"].items()])
    if ovh.get("planner_schema_ms") is not None:
        out += ["", f"Building the PlanDraft tool schema (`plangate.graph.models.structured.tool_spec`) takes {ovh['planner_schema_ms']:.1f} ms "
                "and is redone on every planner call. What if it were memoized (patched in the bench process only; "
                "InMemorySaver, interleaved runs)?", ""]
        rows = [[r["task"], "memoized" if r["tool_spec_cached"] else "as is", f"{r['plangate_ms']:.1f}", f"{r['bare_ms']:.1f}",
                 fmt_x(r["ratio"])] for r in ovh.get("what_if", [])]
        out += md_table(["task", "tool_spec", "plangate ms", "bare ms", "ratio"], rows)
    return out


def scale_section(scl: dict[str, Any]) -> list[str]:
    first = next((r for r in scl["rows"] if "model_s" in r), {})
    out = ["", f"## 5. Scale (plangate cascade, async, model {first.get('model_s', 0):g} s/call, tool "
           f"{first.get('tool_s', 0):g} s)", "",
           "N threads each send requests one after another on their own thread id, cycling through the suite.", ""]
    rows = [[r["backend"], str(r["threads"]), *(["-"] * 6 + [r["skipped"]] if "skipped" in r else [
        str(r["requests"]), f"{r['throughput_rps']:.1f}", fmt_s(r["median_s"]), fmt_s(r["p95_s"]), str(r["errors"]),
        str(r["wrong"]), "; ".join(r["error_samples"])])] for r in scl["rows"]]
    out += md_table(["backend", "threads", "requests", "req/s", "median s", "p95 s", "errors", "wrong", "notes"], rows)
    cpu = [[r["backend"], str(r["threads"]), f"{r['cpu_ms_per_request']:.0f}", f"{r['cpu_busy']:.2f}"]
           for r in scl["rows"] if "cpu_ms_per_request" in r]
    if cpu:
        out += ["", "Process CPU per request, and process CPU seconds per wall second (1.0 = one core busy):", ""]
        out += md_table(["backend", "threads", "CPU ms/request", "CPU busy"], cpu)
    return out + ["", "![scale](scale.png)"]


def growth_section(gro: dict[str, Any]) -> list[str]:
    out = ["", f"## 6. Cost as plans grow (model {gro['model_s']:g} s/call, tool {gro['tool_s']:g} s: a tenth of the "
           "issue's latencies)", "", "Latency s / model calls / input tokens per request:", ""]
    systems = list(dict.fromkeys(r["system"] for r in gro["rows"]))
    for shape in ("chain", "wide"):
        rows = []
        for system in systems:
            cells = {r["size"]: r for r in gro["rows"] if r["system"] == system and r["shape"] == shape}
            rows.append([LABELS.get(system, system), *[
                f"{fmt_s(cells[n]['latency_s'])} / {cells[n]['model_calls']} / {cells[n]['input_tokens']}"
                + ("" if cells[n]["correct"] else " ✗") for n in gro["sizes"]]])
        out += ["", f"**{shape}**", ""] + md_table(["system", *[f"{n} steps" for n in gro["sizes"]]], rows)
    return out + ["", "![growth](growth.png)"]


def throughput_section(thr: dict[str, Any]) -> list[str]:
    meta = thr.get("meta", {})
    out = ["", f"## 7. Throughput: the multi-worker Agent Server against one process on SQLite (model {thr['model_s']:g} "
           f"s/call, tool {thr['tool_s']:g} s)", "",
           f"Run on its own ({meta.get('date', 'n/a')}, load before {meta.get('load_before', 'n/a')}, after "
           f"{thr.get('load_after', 'n/a')}; {thr['cpus']} CPUs shared with PostgreSQL, Redis, this client and other "
           f"users). C clients each send the next request when the last one is answered, every request on a new "
           f"thread, cycling through the suite; the server is `make serve-cluster` ({thr['runtime']}) serving "
           "`bench/served.py`, with as many runs per worker as clients.", ""]
    rows = [[r["system"], str(r["concurrency"]), str(r["requests"]), f"{r['throughput_rps']:.1f}", fmt_s(r["median_s"]),
             fmt_s(r["p95_s"]), f"{r['errors']}/{r['wrong']}"] for r in thr["rows"]]
    out += md_table(["system", "clients", "requests", "req/s", "median s", "p95 s", "errors/wrong"], rows)
    cost = []
    for r in thr["rows"]:
        c = r["cpu_ms_per_request"]
        total = c.get("process", 0) + c.get("server", 0) + c.get("postgres", 0) + c.get("redis", 0)
        cost.append([r["system"], str(r["concurrency"]), f"{total:.0f}",
                     *(f"{c[k]:.0f}" if k in c else "-" for k in ("process", "server", "postgres", "redis", "client")),
                     f"{r['cpu_busy']:.2f}", f"{r['rss_mb']:.0f}" if "rss_mb" in r else "-"])
    out += ["", "CPU ms per request (total = what serving a request costs; client = the load generator, apart), CPU busy "
            "(server or process CPU s per wall s; 1.0 = one core) and resident memory of the server processes:", ""]
    out += md_table(["system", "clients", "total", "process", "server", "postgres", "redis", "client", "CPU busy",
                   "RSS MB"], cost)
    split = [[r["system"], str(r["concurrency"]), fmt_s(r["time_split_median_s"]["queue_wait"]),
              fmt_s(r["time_split_median_s"]["execution"]), fmt_s(r["time_split_median_s"]["api_and_client"]),
              fmt_s(r["time_split_p95_s"]["queue_wait"]), fmt_s(r["time_split_p95_s"]["execution"])]
             for r in thr["rows"] if "time_split_median_s" in r]
    if split:
        out += ["", "Where a server request's time goes (from the servers' logs): waiting in the run queue, executing, "
                "and the rest (HTTP, Redis stream, client):", ""]
        out += md_table(["system", "clients", "queue median s", "execution median s", "rest median s",
                       "queue p95 s", "execution p95 s"], split)
    return out


def header(meta: dict[str, Any] | None) -> list[str]:
    out = ["# plangate benchmarks", ""]
    if meta:
        out += [f"Generated by `make bench` on {meta['date']} (commit {meta['commit']}, {meta['cpus']} CPUs, Python "
                f"{meta['python']}, LangGraph {meta['langgraph']}). Load average (1/5/15 min) before: {meta['load_before']}, "
                f"after: {meta.get('load_after', 'n/a')}; the machine is shared, so absolute times carry that noise. "
                f"Total {meta.get('seconds', 0):.0f} s. BENCH_SCALE={meta['scale']:g}"
                + (" (quick mode)" if meta.get("quick") else "")
                + (f". Sections run: {meta['sections']}" if meta.get("sections") else "") + ".", ""]
    out += ["Every system runs on the same scripted `LatencyChatModel` (fixed latency per call, token accounting) and the "
            "same tools, and the model gives each system the replies a competent model would for the task, so all do "
            "identical tool work (checked per run). Baselines in `bench/baselines/`: the LangGraph plan-and-execute "
            "tutorial (planner, a prebuilt ReAct agent per step, replanner after every step), ReAct "
            "(`create_react_agent`, parallel tool calls allowed) and LLMCompiler-style (DAG planner, tasks started as "
            "soon as their inputs are ready inside one node, joiner). plangate runs with its router in `llm` mode (a "
            "weak-model call decides) and `cascade` mode (rules first, a model only when they are unsure).", ""]
    return out


def write(folder: Path) -> list[Path]:
    lat, ovh, scl, gro, thr = (_load(folder, n) for n in ("latency", "overhead", "scale", "growth", "throughput"))
    meta = _load(folder, "run")
    lines = header(meta)
    written: list[Path] = []
    target_rows = targets(lat, ovh, scl) + [gate_share.target_row()]
    if target_rows:
        lines += ["## Targets", ""] + md_table(["target", "measured", "verdict"], target_rows) + [""]
    if lat:
        lines += issue16_section(lat, _load(folder, "latency_before"))
        lines += latency_section(lat) + critical_section(lat) + bsp_section(lat)
        lines += executor_section(_load(folder, "executor_choice")) + warm_section(lat)
        written.append(plots.latency_by_class(lat, folder))
    if ovh:
        lines += overhead_section(ovh)
    if scl:
        lines += scale_section(scl)
        written.append(plots.scale(scl, folder))
    if gro:
        lines += growth_section(gro)
        written.append(plots.growth(gro, folder))
    if thr:
        lines += throughput_section(thr)
    notes = Path(__file__).resolve().parent / "NOTES.md"
    if notes.exists():
        lines += ["", notes.read_text().strip()]
    summary = folder / "summary.md"
    summary.write_text("\n".join(lines) + "\n")
    return [summary, *written]
