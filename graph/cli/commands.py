"""What each `plangate` command does (argument parsing lives in `plangate.graph.cli.args`)."""

from __future__ import annotations

import argparse
import json
import time
from typing import Any

from langchain_core.messages import AIMessage
from langgraph.types import Command
from rich.console import Console

from plangate.graph.cli.args import (
    DEFAULT_EVAL_DATA,
    CliError,
    context_from_args,
    context_overrides,
    dump_json,
    new_thread_id,
)
from plangate.graph.cli.listing import first_line, print_table, request_of, shown, stats, status_of, threads
from plangate.graph.engine.views import plan_tree
from plangate.graph.graph import build_graph
from plangate.graph.persistence.durable import DURABILITY, save_request
from plangate.graph.persistence.handle import Persistence
from plangate.graph.persistence.savers import open_persistence
from plangate.graph.persistence.target import redact, resolve_target
from plangate.graph.persistence.thread_lock import ThreadBusy, thread_lock

out = Console(highlight=False, soft_wrap=True)
err = Console(stderr=True, highlight=False)


SETTINGS_KEY = "plangate_settings"  # checkpoint metadata: the Context flags a thread was started with


def dispatch(args: argparse.Namespace) -> int:
    if args.command == "eval":  # needs no thread database
        return evaluate(args)
    handler = {"run": run, "threads": threads, "show": show, "history": history, "resume": resume, "fork": fork,
               "stats": stats}[args.command]
    try:
        opened = open_persistence(args.db)
        persistence = opened.__enter__()
    except Exception as exc:
        where = redact(resolve_target(args.db))
        raise CliError(f"cannot open the thread database {where}: {type(exc).__name__}: {exc}".splitlines()[0],
                       "check --db, PLANGATE_DB or PLANGATE_DATABASE_URL (is the server up? is the folder writable?)") from exc
    try:
        app = build_graph(checkpointer=persistence.checkpointer, store=persistence.store)
        writes = getattr(args, "thread", None) if args.command in ("run", "resume", "fork") else None
        try:  # one writer per thread: a second plangate on the same thread waits for this one, then fails
            with thread_lock(persistence.checkpointer, {"configurable": {"thread_id": writes}}):
                return handler(app, args, persistence)
        except ThreadBusy as exc:
            raise CliError(str(exc), "another plangate (or app) is running this thread; wait for it, or set "
                           "PLANGATE_THREAD_LOCK_WAIT_S to wait longer") from None
    finally:
        opened.__exit__(None, None, None)


def _config(thread: str, ctx: Any, checkpoint: str | None = None, settings: dict | None = None) -> dict[str, Any]:
    configurable = {"thread_id": thread, **({"checkpoint_id": checkpoint} if checkpoint else {})}
    metadata = {SETTINGS_KEY: json.dumps(settings)} if settings else {}
    return {"configurable": configurable, "recursion_limit": ctx.recursion_limit(), "metadata": metadata}


def _saved_settings(snapshot: Any) -> dict[str, Any]:
    raw = (snapshot.metadata or {}).get(SETTINGS_KEY)
    try:
        return json.loads(raw) if isinstance(raw, str) else {}
    except ValueError:
        return {}


def _not_found(thread: str, args: argparse.Namespace) -> CliError:
    where = redact(resolve_target(args.db))
    return CliError(f"thread {thread!r} not found in {where}",
                    "list threads with 'plangate threads' (same --db); to send a request that starts with a command "
                    f"word, use 'plangate run \"{args.command} {thread} ...\"'")


def _describe_event(event: dict[str, Any]) -> str | None:
    kind = event.get("event")
    step = f"step {event.get('step')} {event.get('tool', '')}".strip()
    if kind == "step_started" and event.get("attempt", 1) == 1:
        return f"[cyan]→ {step}[/cyan]"
    if kind == "step_retry":
        return f"[yellow]↻ {step}: retry {event['attempt']} in {event['delay_s']}s ({event['error']})[/yellow]"
    if kind == "step_completed":
        return f"[green]✓ {step} ({event['duration_ms']} ms)[/green]"
    if kind == "step_failed":
        return f"[red]✗ {step}: {event['error']}[/red]"
    if kind == "step_skipped":
        return f"[yellow]↷ {step}: {event['reason']}[/yellow]"
    if kind == "replanned":
        return f"[magenta]⟳ replanned (v{event['version']}, {event['action']}): {event.get('reasoning', '')}[/magenta]"
    if kind == "plan_created":
        return f"[bold]plan {event['plan_id']}: {event['steps']} step(s)[/bold]"
    return None


def _stream(app: Any, payload: Any, config: dict, ctx: Any, args: argparse.Namespace) -> None:
    """Run with live progress on stderr (a spinner after one second on a terminal)."""
    started = time.monotonic()
    show = not (args.json or getattr(args, "quiet", False))
    try:
        with err.status("working…", spinner="dots") as status:
            for mode, chunk in app.stream(payload, config, context=ctx, stream_mode=["custom", "updates"],
                                             durability=DURABILITY):
                if mode == "custom" and isinstance(chunk, dict):
                    if chunk.get("event") == "progress":
                        status.update(f"working… {chunk['done']}/{chunk['total']} steps ({time.monotonic() - started:.1f}s)")
                    line = _describe_event(chunk) if show else None
                    if line:
                        err.print(line)
    except Exception as exc:  # a model or the database failed mid-run: the last checkpoint keeps the thread
        thread = config["configurable"]["thread_id"]
        raise CliError(f"{type(exc).__name__}: {exc}".splitlines()[0],
                       f"thread {thread} is saved; continue it with 'plangate resume {thread}'") from exc


def _answer(values: dict[str, Any]) -> str:
    for message in reversed(values.get("messages") or []):
        if isinstance(message, AIMessage) and not message.tool_calls:  # the answer, not the plan's tool calls
            return str(message.content)
    return ""


def _report(app: Any, config: dict, thread: str, args: argparse.Namespace, quiet: bool = False) -> int:
    snapshot = app.get_state(config)
    values = snapshot.values
    pending = [i.value for task in snapshot.tasks for i in task.interrupts]
    if args.json:
        dump_json({"thread_id": thread, "route": values.get("route"), "confidence": values.get("confidence"),
                   "route_reason": values.get("route_reason"), "plan": values.get("plan"),
                   "step_results": values.get("step_results"), "answer": _answer(values) if not pending else None,
                   "interrupts": pending, "metrics": values.get("metrics"), "error": values.get("error")})
        return 0 if not values.get("error") else 1
    if not quiet:
        if values.get("route"):
            out.print(f"[bold]route:[/bold] {values['route']} (confidence {values.get('confidence', 0):.2f})")
            out.print(f"[dim]{values.get('route_reason', '')}[/dim]")
        if values.get("plan"):
            out.print(plan_tree(values["plan"], values.get("step_results")))
    if pending:
        for item in pending:
            for action in (item.get("action_requests") if isinstance(item, dict) else None) or [item]:
                brief = {"name": action.get("name"), "args": action.get("args")} if isinstance(action, dict) else action
                out.print(f"[yellow]waiting for approval:[/yellow] {shown(json.dumps(brief, default=str)[:2000])}")
                if isinstance(action, dict) and "not used" in str(action.get("description")):
                    out.print(f"[red]{shown(str(action['description']).split(chr(10) * 2)[-1])}[/red]")
        out.print(f"[dim]continue with: plangate resume {shown(thread)} --approve   (or --reject, --edit JSON)[/dim]")
        return 0
    out.print(_answer(values))
    if not quiet:
        metrics = values.get("metrics") or {}
        out.print(f"[dim]model calls {metrics.get('llm_calls', 0)}, tool calls {metrics.get('tool_calls', 0)}, "
                  f"replans {metrics.get('replans', 0)}, {metrics.get('duration_ms', 0)} ms · thread {shown(thread)}[/dim]")
    return 1 if values.get("error") else 0


def run(app: Any, args: argparse.Namespace, persistence: Persistence) -> int:
    thread = args.thread or new_thread_id()
    saved = _saved_settings(app.get_state({"configurable": {"thread_id": thread}})) if args.thread else {}
    ctx = context_from_args(args, saved)
    config = _config(thread, ctx, settings={**saved, **context_overrides(args)})
    # Saved before any node runs: a crash from here on leaves a thread that `plangate resume` completes.
    save_request(app, {"messages": [{"role": "user", "content": " ".join(args.request)}]}, config)
    _stream(app, None, config, ctx, args)
    return _report(app, config, thread, args, quiet=args.quiet)


def _resume_payload(pending: list[Any], args: argparse.Namespace) -> Any:
    """The Command answering the pending approval in LangChain's HITL format, from --approve / --reject / --edit.

    --approve and --reject decide every waiting action; --edit JSON gives the new args of the first one (the plan,
    or the first step's args; `{"plan": ...}` and `{"args": ...}` wrappers are accepted), the rest are asked again.
    """
    actions = [a for item in pending if isinstance(item, dict) for a in item.get("action_requests") or []]
    if args.approve:
        return Command(resume={"decisions": [{"type": "approve"}] * max(len(actions), 1)})
    if args.reject:
        message = args.reason or "rejected from the CLI"
        return Command(resume={"decisions": [{"type": "reject", "message": message}] * max(len(actions), 1)})
    if args.edit:
        try:
            edited = json.loads(args.edit)
        except ValueError as exc:
            raise CliError(f"--edit is not valid JSON: {exc}", 'e.g. --edit \'{"duration_s": 60}\'') from None
        if isinstance(edited, dict) and len(edited) == 1 and isinstance(edited.get("plan", edited.get("args")), dict):
            edited = edited.get("plan", edited.get("args"))
        if not isinstance(edited, dict) or not actions:
            raise CliError("--edit must be a JSON object: the new plan, or the new args of the first waiting step",
                           'e.g. --edit \'{"steps": [...]}\' or \'{"device": "kitchen light", "state": "on"}\'')
        return Command(resume={"decisions": [{"type": "edit", "edited_action": {"name": actions[0]["name"], "args": edited}}]})
    raise CliError(f"thread {args.thread!r} is waiting for approval",
                   f"pass --approve, --reject or --edit JSON: plangate resume {args.thread} --approve")


def resume(app: Any, args: argparse.Namespace, persistence: Persistence) -> int:
    snapshot = app.get_state({"configurable": {"thread_id": args.thread}})
    if not snapshot.values and not snapshot.next:
        raise _not_found(args.thread, args)
    settings = _saved_settings(snapshot)
    pending = [i.value for task in snapshot.tasks for i in task.interrupts]
    names = {a.get("name") for item in pending if isinstance(item, dict) for a in item.get("action_requests") or []}
    # The turn's approval policy is kept in its state; the Context flag is kept on too, for older checkpoints.
    settings.update({"approve_plans": True} if "run_plan" in names else {})
    settings.update({"approve_side_effects": "on"} if names - {"run_plan"} else {})
    ctx = context_from_args(args, settings)
    config = _config(args.thread, ctx, settings={**settings, **context_overrides(args)})
    if pending:
        payload = _resume_payload(pending, args)
    elif snapshot.next:
        if args.approve or args.reject or args.edit:
            raise CliError(f"thread {args.thread!r} is not waiting for approval",
                           f"continue it without a decision: plangate resume {args.thread}")
        payload = None  # crashed or cancelled mid-run: continue from the last checkpoint
    else:
        err.print("[dim]thread already finished; showing its answer[/dim]")
        return _report(app, config, args.thread, args)
    _stream(app, payload, config, ctx, args)
    return _report(app, config, args.thread, args)


def show(app: Any, args: argparse.Namespace, persistence: Persistence) -> int:
    config = {"configurable": {"thread_id": args.thread}}
    try:
        snapshot = app.get_state(config)
    except Exception as exc:  # a corrupted checkpoint row: name the thread, keep the database usable
        raise CliError(f"thread {args.thread!r} has an unreadable checkpoint ({first_line(exc)})",
                       "the other threads are fine ('plangate threads'); start a new thread for this request") from None
    if not snapshot.values:
        raise _not_found(args.thread, args)
    if not args.json:
        out.print(f"[bold]thread {shown(args.thread)}[/bold] · status {status_of(snapshot)} · "
                  f"request: {shown(request_of(snapshot.values))}")
    return _report(app, config, args.thread, args)


def history(app: Any, args: argparse.Namespace, persistence: Persistence) -> int:
    rows = []
    for snap in app.get_state_history({"configurable": {"thread_id": args.thread}}):
        parent = (snap.parent_config or {}).get("configurable", {}).get("checkpoint_id")
        rows.append({"checkpoint_id": snap.config["configurable"]["checkpoint_id"], "parent_checkpoint_id": parent,
                     "step": snap.metadata.get("step"),
                     "source": snap.metadata.get("source"), "next": list(snap.next), "created": snap.created_at})
    if not rows:
        raise _not_found(args.thread, args)
    if args.json:
        dump_json(rows)
        return 0
    print_table(("checkpoint (for fork)", 36), ("step", "source", "next nodes", "created"),
                 [[r["checkpoint_id"], str(r["step"]), r["source"] or "", ", ".join(r["next"]), str(r["created"])[:19]]
                  for r in rows])
    return 0


def fork(app: Any, args: argparse.Namespace, persistence: Persistence) -> int:
    """Re-run from an earlier checkpoint: the new checkpoints branch off it; the old branch stays in history."""
    at = app.get_state({"configurable": {"thread_id": args.thread, "checkpoint_id": args.checkpoint}})
    if not at.values and not at.next:
        if not app.get_state({"configurable": {"thread_id": args.thread}}).values:
            raise _not_found(args.thread, args)
        raise CliError(f"checkpoint {args.checkpoint!r} is not in thread {args.thread!r}",
                       f"pick a checkpoint id from 'plangate history {args.thread}'")
    if not at.next:
        raise CliError(f"checkpoint {args.checkpoint!r} is the end of a run: nothing to re-run from it",
                       f"pick a checkpoint with next nodes from 'plangate history {args.thread}'")
    settings = _saved_settings(at)
    ctx = context_from_args(args, settings)
    _stream(app, None, _config(args.thread, ctx, args.checkpoint, {**settings, **context_overrides(args)}), ctx, args)
    return _report(app, {"configurable": {"thread_id": args.thread}}, args.thread, args)


def evaluate(args: argparse.Namespace) -> int:
    """`plangate eval`: score the gate and the planner on labelled requests, with a progress bar."""
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

    from plangate.graph.eval import calibration, dataset, plot, report, runner, scoring

    if not 0 < args.target_precision <= 1:
        raise CliError(f"--target-precision {args.target_precision} is not in (0, 1]", "use e.g. --target-precision 0.99")
    try:
        items = dataset.load(args.data or [DEFAULT_EVAL_DATA])
    except dataset.DatasetError as exc:
        raise CliError(str(exc), "see tests/data/gate/README.md for the format") from None
    items = items[: args.limit] if args.limit else items
    ctx = runner.eval_context(args.mode)
    graph = runner.eval_graph()
    with Progress(TextColumn("scoring"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(), console=err,
                  transient=True, disable=args.json) as bar:
        task = bar.add_task("eval", total=len(items))
        observations = runner.run_all(items, ctx, graph, progress=lambda done: bar.update(task, completed=done))
    scores, verdicts = scoring.score(observations, ctx.fast_threshold)
    rows = calibration.bins(observations, verdicts)
    rec = calibration.recommend(observations, args.target_precision)
    written = None
    if not args.no_plot:
        try:
            written = str(plot.reliability_plot(rows, args.plot, fast_threshold=ctx.fast_threshold,
                                                plan_threshold=ctx.plan_threshold))
        except plot.PlotUnavailable as exc:
            err.print(f"[yellow]{exc}[/yellow]")
    pairs = list(zip(observations, verdicts, strict=True))
    wide = out if out.is_terminal else Console(highlight=False, soft_wrap=True, width=150)  # files and pipes: no 80-col wrap
    if args.json:
        dump_json(report.as_json(scores, rows, rec, pairs, written))
    else:
        models = "the offline rules model" if _offline(ctx) else "the configured endpoint"
        wide.print(report.summary_table(scores, f"plangate eval: {ctx.router_mode} router on {models} "
                                               f"(fast_threshold {ctx.fast_threshold:g}, plan_threshold {ctx.plan_threshold:g})"))
        wide.print(report.calibration_table(rows))
        for line in report.recommendation_lines(rec):
            wide.print(line)
        problems = report.problems_table(pairs)
        if problems is not None:
            wide.print(problems)
        if written:
            wide.print(f"[dim]reliability plot: {written}[/dim]")
    failed = scores.confident_wrong or scores.dropped
    return 1 if args.strict and failed else 0


def _offline(ctx: Any) -> bool:
    from plangate.graph.models.tiers import endpoint_configured

    return not endpoint_configured(ctx)
