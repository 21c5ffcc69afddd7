"""The `plangate` command: run a request, then inspect, resume and fork threads.

    plangate "set a timer for 10 minutes and check the weather in Paris"
    plangate threads | show THREAD | history THREAD | resume THREAD [--approve|--reject] | fork THREAD CHECKPOINT | stats
    plangate eval [LABELLED.jsonl ...]   (score the gate and the planner on labelled requests)

Parsing lives in `plangate.graph.cli.args`; the commands (which compile the graph) are imported only
once a command runs, so `plangate --help` stays fast.
"""

from __future__ import annotations

import logging
import os
import sys

from rich.console import Console
from rich.markup import escape

from plangate.graph.cli.args import CliError, build_parser, normalise, printable
from plangate.graph.context import ContextError


def _fail(message: str, hint: str, code: int = 2) -> int:
    console = Console(stderr=True, soft_wrap=True, highlight=False)
    console.print(f"[red]plangate: error:[/red] {escape(printable(message))}")
    console.print(f"[dim]hint: {escape(printable(hint))}[/dim]")
    return code


def main(argv: list[str] | None = None) -> int:
    argv = normalise(list(sys.argv[1:] if argv is None else argv))
    parser = build_parser()
    if not argv:
        parser.print_help()
        return 2
    args = parser.parse_args(argv)
    if args.command is None:
        parser.print_help()
        return 2
    debug = bool(os.environ.get("PLANGATE_DEBUG"))
    logging.basicConfig(level=logging.DEBUG if debug else logging.WARNING, format="%(message)s")
    try:
        # The commands compile the graph: imported only once a command runs.
        from plangate.graph.cli import commands as cli_commands

        return cli_commands.dispatch(args)
    except CliError as exc:
        return _fail(str(exc), exc.hint, 1)
    except ContextError as exc:
        return _fail(str(exc), "check the PLANGATE_* environment variables or the flags")
    except KeyboardInterrupt:
        return _fail("interrupted", "the thread is saved; continue it with 'plangate resume THREAD'", 130)
    except Exception as exc:  # one clear line for the user, never a stack trace
        logging.getLogger("plangate").debug("unexpected error", exc_info=True)
        return _fail(f"{type(exc).__name__}: {exc}", "run with PLANGATE_DEBUG=1 for details, or see README troubleshooting", 1)


if __name__ == "__main__":
    raise SystemExit(main())
