"""The in-process board of one dispatched wave: starts each step as soon as its prerequisites have settled.

`dispatch` sends one `run_step` task per step that can run in this superstep, including steps whose
prerequisites are still running. Each task waits on the board for its verdict: run (with the results its
arguments refer to), skip (a false condition, an unneeded fallback, a rejection: the result is saved), or
stop (a prerequisite failed, the plan halted or ran out of time: `dispatch` decides what happens next). At most
`max_parallel` steps run at once; the rest get their verdicts in step order as slots free up.

A step that ran in this wave counts as settled for its dependents only once its result is saved (the checkpointer
reports it through `saved()`), so a crash can never leave a dependent's side effect behind a prerequisite that
will run again. Without a checkpointer this process can watch (the server's own), or when a save is not seen
within SAVE_GRACE_S (durability="exit" saves nothing until the end), dependents go ahead without it.

A board lives only in the process that dispatched the wave. After a crash, LangGraph re-runs the wave's
unfinished tasks in a new process with no board: then a task runs only if it was ready at dispatch, and the
others stop and are sent again by the next `dispatch` (finished steps are never re-run: their writes are kept).
"""

from __future__ import annotations

import functools
import threading
import time
from collections import OrderedDict
from collections.abc import Mapping
from concurrent.futures import Future
from dataclasses import dataclass, field
from typing import Any, Literal

from plangate.graph.engine.plan import SETTLED, ExecutionPlan
from plangate.graph.engine.scheduler import effective, gate

MAX_BOARDS = 4096  # boards of waves whose tasks never started (an interrupt, an error) are dropped, oldest first
SAVE_GRACE_S = 2.0


@dataclass(frozen=True)
class Verdict:
    action: Literal["run", "skip", "stop"]
    refs: dict[int, dict[str, Any]] = field(default_factory=dict)  # run: the results its arguments may reference
    reason: str | None = None  # skip / stop: why


class Board:
    """Results of one wave as they come in, and each waiting step's verdict (a Future, for threads and loops)."""

    def __init__(self, plan: ExecutionPlan, results: Mapping[int, Mapping[str, Any]], launched: list[int], *,
                 approvals: Mapping[int, Mapping[str, Any]], max_parallel: int, budget_s: float,
                 thread_id: str | None = None, watch_saves: bool = False) -> None:
        self.plan = plan
        self.thread_id = thread_id
        self.watch_saves = watch_saves
        self.saved: set[int] = set()  # steps of this wave whose result the checkpointer has saved
        self.ran: dict[int, float] = {}  # steps that ran in this wave: when they settled
        self.base = dict(results)
        self.approvals = dict(approvals)
        self.max_parallel = max_parallel
        self.deadline = time.monotonic() + budget_s
        self.verdicts: dict[int, Future[Verdict]] = {i: Future() for i in launched}
        self.done: dict[int, Mapping[str, Any]] = {}
        self.gone: set[int] = set()  # left without a result (stopped, or an unexpected error)
        self.running = 0
        self.lock = threading.Lock()
        with self.lock:
            self._advance()

    def remaining_s(self) -> float:
        return self.deadline - time.monotonic()

    def settle(self, step_id: int, result: Mapping[str, Any] | None) -> None:
        """Step `step_id` is over (None: it left without a result); decide what that lets start."""
        with self.lock:
            if step_id in self.done or step_id in self.gone:
                return
            if result is None:
                self.gone.add(step_id)
            else:
                self.done[step_id] = result
            verdict = self.verdicts.get(step_id)
            if verdict is not None and verdict.done() and verdict.result().action == "run":
                self.running -= 1
                if result is not None and self.watch_saves:
                    self.ran[step_id] = time.monotonic()
                    timer = threading.Timer(SAVE_GRACE_S, self.poke)
                    timer.daemon = True
                    timer.start()
            self._advance()

    def mark_saved(self, step_ids: set[int]) -> None:
        with self.lock:
            self.saved |= step_ids
            self._advance()

    def poke(self) -> None:
        """Decide again (a save's grace time has passed)."""
        with self.lock:
            self._advance()

    def _unsaved(self, step_id: int) -> bool:
        """A prerequisite that ran in this wave and whose result is not yet known to be saved."""
        settled = self.ran.get(step_id)
        return settled is not None and step_id not in self.saved and time.monotonic() - settled < SAVE_GRACE_S
    def _seen(self) -> dict[int, Mapping[str, Any]]:
        return {**self.base, **self.done}

    def _decide(self, step_id: int, seen: Mapping[int, Mapping[str, Any]]) -> tuple[str, str | None]:
        step = self.plan.step(step_id)
        for needed in step.prerequisites() - {step_id}:
            status = (seen.get(needed) or {}).get("status")
            if status not in SETTLED and (needed not in self.verdicts or needed in self.gone):
                return "stop", f"step {needed} will not settle in this wave"
        if any(s.stop_on_failure and (seen.get(s.id) or {}).get("status") == "failed" for s in self.plan.steps):
            return "stop", "a step marked stop_on_failure failed"
        if self.remaining_s() <= 0:
            return "stop", "the plan timeout passed"
        verdict, reason = gate(step, self.plan, seen)
        if verdict == "ready" and any(self._unsaved(p) for p in step.prerequisites() - {step_id}):
            return "wait", None
        if verdict == "ready" and self.approvals.get(step_id, {}).get("decision") == "reject":
            return "skip", f"rejected by the user: {self.approvals[step_id].get('reason') or 'no reason given'}"
        return {"blocked": "stop"}.get(verdict, verdict), reason

    def finished(self) -> bool:
        """Every step of the wave has its verdict and none is running."""
        with self.lock:
            return self.running == 0 and all(v.done() for v in self.verdicts.values())

    def _advance(self) -> None:
        seen = self._seen()
        ready: list[int] = []
        for step_id, verdict in sorted(self.verdicts.items()):
            if verdict.done():
                continue
            action, reason = self._decide(step_id, seen)
            if action == "skip":
                skipped = {"status": "skipped", "output": None, "error": reason}
                self.done[step_id] = seen[step_id] = skipped
                verdict.set_result(Verdict("skip", reason=reason))
            elif action == "stop":
                self.gone.add(step_id)
                verdict.set_result(Verdict("stop", reason=reason))
            elif action == "ready":
                ready.append(step_id)
        for step_id in ready[: max(self.max_parallel - self.running, 0)]:
            step = self.plan.step(step_id)
            refs = {i: effective(self.plan, seen, i) for i in step.prerequisites() if i != step_id}
            self.running += 1
            self.verdicts[step_id].set_result(Verdict("run", refs))
        if self.running == 0 and not ready and not any(self._unsaved(i) for i in self.ran):
            # nothing runs or is being saved, so nothing a waiting step needs can still settle
            for verdict in self.verdicts.values():
                if not verdict.done():
                    verdict.set_result(Verdict("stop", reason="nothing left in this wave to wait for"))


_BOARDS: OrderedDict[str, Board] = OrderedDict()
_BOARDS_LOCK = threading.Lock()


def post(key: str, board: Board) -> None:
    with _BOARDS_LOCK:
        _BOARDS[key] = board
        while len(_BOARDS) > MAX_BOARDS:
            _BOARDS.popitem(last=False)


def saved(thread_id: str, step_ids: set[int]) -> None:
    """The checkpointer saved these steps' results for `thread_id`: their dependents may start."""
    with _BOARDS_LOCK:
        mine = [b for b in _BOARDS.values() if b.thread_id == thread_id]
    for board in mine:
        board.mark_saved(step_ids)


def find(key: str | None) -> Board | None:
    """The board of wave `key` in this process; None after a crash or in another process."""
    with _BOARDS_LOCK:
        return _BOARDS.get(key) if key else None


def close(key: str) -> None:
    with _BOARDS_LOCK:
        _BOARDS.pop(key, None)


def watch(checkpointer: Any) -> bool:
    """Have `checkpointer` report each saved step result to the boards (its put_writes / aput_writes wrapped on the
    instance, signatures kept). False when there is nothing to watch."""
    if checkpointer is None or checkpointer is True or checkpointer is False:
        return False
    if getattr(checkpointer, "_plangate_watched", False):
        return True
    for name in ("put_writes", "aput_writes"):
        original = getattr(checkpointer, name, None)
        if original is None:
            continue
        if name == "aput_writes":
            @functools.wraps(original)
            async def awrapped(config: Any, writes: Any, *args: Any, _original: Any = original, **kwargs: Any) -> Any:
                result = await _original(config, writes, *args, **kwargs)
                _report(config, writes)
                return result

            setattr(checkpointer, name, awrapped)
        else:
            @functools.wraps(original)
            def wrapped(config: Any, writes: Any, *args: Any, _original: Any = original, **kwargs: Any) -> Any:
                result = _original(config, writes, *args, **kwargs)
                _report(config, writes)
                return result

            setattr(checkpointer, name, wrapped)
    checkpointer._plangate_watched = True
    return True


def _report(config: Any, writes: Any) -> None:
    thread_id = ((config or {}).get("configurable") or {}).get("thread_id")
    done = {int(k) for channel, value in writes if channel == "step_results" and isinstance(value, dict)
            for k, v in value.items() if isinstance(v, dict) and v.get("status") in SETTLED}
    if thread_id is not None and done:
        saved(str(thread_id), done)
