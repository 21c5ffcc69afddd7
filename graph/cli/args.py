"""What the `plangate` command line says: the parser, the command a request runs, and the run's Context."""

from __future__ import annotations

import argparse
import json
import os
import uuid
from typing import Any

from plangate.graph.context import Context

COMMANDS = ("threads", "show", "history", "resume", "fork", "stats", "eval", "run")


def _common(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--db", help="SQLite file or postgresql:// URL (default: $PLANGATE_DATABASE_URL, $PLANGATE_DB or ~/.plangate/threads.sqlite)")
    parser.add_argument("--json", action="store_true", help="print machine-readable JSON instead of text")
    parser.add_argument("--user", help="user id for timers, memories and devices (Context.user_id)")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="plangate",
        description="Run requests through the plangate graph (router -> fast path, or plan -> execute -> summarize) "
        "and manage the resulting threads. Runs offline on the rules model unless OPENAI_API_KEY or "
        "PLANGATE_BASE_URL is set.",
        epilog="Commands: run (default), threads, show, history, resume, fork, stats, eval. "
        "'plangate COMMAND -h' for details.",
    )
    sub = parser.add_subparsers(dest="command")
    run = sub.add_parser("run", help="run a request (the default command)")
    run.add_argument("request", nargs="+", help="what you want done, in plain words")
    run.add_argument("--thread", help="thread id to continue (default: a new thread)")
    run.add_argument("--mode", choices=["cascade", "llm", "rules"], help="router mode (Context.router_mode)")
    run.add_argument("--approve-plans", action="store_true", help="pause for approval before running a plan")
    run.add_argument("--approve-side-effects", action="store_true", help="pause before every tool with side effects "
                     "(default: only steps the replanner added, and high-risk devices such as locks)")
    run.add_argument("--quiet", action="store_true", help="print only the answer")
    _common(run)
    threads = sub.add_parser("threads", help="list stored threads: id, created, status, request")
    threads.add_argument("--limit", type=int, default=50)
    _common(threads)
    for name, text in (("show", "show a thread's state, plan tree and results"), ("history", "list a thread's checkpoints")):
        cmd = sub.add_parser(name, help=text)
        cmd.add_argument("thread")
        _common(cmd)
    resume = sub.add_parser("resume", help="continue an interrupted or crashed thread")
    resume.add_argument("thread")
    decision = resume.add_mutually_exclusive_group()
    decision.add_argument("--approve", action="store_true", help="approve the pending plan or steps")
    decision.add_argument("--reject", action="store_true", help="reject the pending plan or steps")
    decision.add_argument("--edit", metavar="JSON", help='edited plan or args, e.g. \'{"args": {"duration_s": 60}}\'')
    resume.add_argument("--reason", help="why, for --reject")
    _common(resume)
    fork = sub.add_parser("fork", help="re-run a thread from an earlier checkpoint (time travel)")
    fork.add_argument("thread")
    fork.add_argument("checkpoint", help="checkpoint id from 'plangate history'")
    _common(fork)
    stats = sub.add_parser("stats", help="success rate and mean durations over stored threads")
    _common(stats)
    _eval_parser(sub)
    return parser


DEFAULT_EVAL_DATA = "tests/data/gate"


def _eval_parser(sub: Any) -> None:
    evaluate = sub.add_parser(
        "eval", help="score the gate and the planner on labelled requests (JSONL)",
        description="Run labelled requests through the graph with dry-run tools (nothing is switched, sent or "
        "stored) and report route accuracy, domain accuracy, confident-wrong and silently dropped tasks, model calls, "
        "latency and calibration, with recommended thresholds. Offline unless OPENAI_API_KEY or PLANGATE_BASE_URL is "
        'set. Each line: {"text", "route": "fast"|"plan", "domains": [...], "tools"?: ["domain.tool", ...]}.')
    evaluate.add_argument("data", nargs="*", help=f"JSONL files or folders of them (default: {DEFAULT_EVAL_DATA})")
    evaluate.add_argument("--mode", choices=["cascade", "llm", "rules"], help="router mode (Context.router_mode)")
    evaluate.add_argument("--target-precision", type=float, default=0.99, metavar="P",
                          help="fast-path precision the recommended thresholds must reach (default 0.99)")
    evaluate.add_argument("--plot", default="plangate-eval-reliability.png", metavar="PNG",
                          help="where to write the reliability plot (default: %(default)s)")
    evaluate.add_argument("--no-plot", action="store_true", help="skip the plot")
    evaluate.add_argument("--limit", type=int, metavar="N", help="score only the first N requests")
    evaluate.add_argument("--strict", action="store_true",
                          help="exit 1 when a decision is confidently wrong or a task is silently dropped")
    evaluate.add_argument("--json", action="store_true", help="print machine-readable JSON instead of tables")


class CliError(Exception):
    """A user-facing failure: one line saying what is wrong, one hint saying what to do."""

    def __init__(self, message: str, hint: str) -> None:
        super().__init__(message)
        self.hint = hint


# Options that take a value, so `plangate --db x.sqlite threads` still finds the command.
VALUE_OPTIONS = {"--db", "--user", "--thread", "--mode", "--limit", "--reason", "--edit", "--target-precision", "--plot"}


# How many positional words each command takes: more than that means the words are a request
# (`plangate show me my timers` runs the request; `plangate show THREAD` shows a thread).
POSITIONALS = {"threads": 0, "stats": 0, "show": 1, "history": 1, "resume": 1, "fork": 2}


def _positionals(argv: list[str]) -> list[int]:
    """Indexes of the words in `argv` that are not options or option values."""
    found, i = [], 0
    while i < len(argv):
        token = argv[i]
        if token.startswith("-"):
            i += 1 if "=" in token or token not in VALUE_OPTIONS else 2
            continue
        found.append(i)
        i += 1
    return found


def _looks_like_data(word: str) -> bool:
    return word.endswith(".jsonl") or os.path.exists(word)


def normalise(argv: list[str]) -> list[str]:
    """Put the command first; a request with no command is `run` (`plangate "set a timer"`)."""
    words = _positionals(argv)
    if not words:
        return argv
    first = words[0]
    command = argv[first]
    asks_help = any(token in ("-h", "--help") for token in argv)
    if command == "eval" and not asks_help and not all(_looks_like_data(argv[i]) for i in words[1:]):
        return ["run", *argv]  # "plangate eval the plan" is a request, not a file list
    if command in COMMANDS and (asks_help or len(words) - 1 <= POSITIONALS.get(command, len(words))):
        return [command, *argv[:first], *argv[first + 1:]]
    return ["run", *argv]


def context_overrides(args: argparse.Namespace) -> dict[str, Any]:
    """Only the settings this command's flags set (saved with the thread, reused by resume and fork)."""
    flags = {"mode": "router_mode", "approve_plans": "approve_plans", "approve_side_effects": "approve_side_effects",
             "user": "user_id"}
    return {name: getattr(args, flag) for flag, name in flags.items() if getattr(args, flag, None)}


def context_from_args(args: argparse.Namespace, saved: dict[str, Any] | None = None) -> Context:
    """The run's Context: env defaults, then the thread's saved settings, then this command's flags."""
    return Context.from_env(**{**(saved or {}), **context_overrides(args)})


def new_thread_id() -> str:
    return uuid.uuid4().hex[:12]


def printable(text: object) -> str:
    """`text` with control and format characters escaped (ESC becomes \\x1b), safe to print on a terminal."""
    return "".join(ch if ch.isprintable() else ch.encode("unicode_escape").decode("ascii") for ch in str(text))


def dump_json(data: Any) -> None:
    print(json.dumps(data, indent=2, default=str, ensure_ascii=False))

