"""`make local-llm-measure`: load time, tokens/s, model calls and latency of the reference requests
on the local llama.cpp model, and how often repairs or the rules fallback were needed.

Run through `python scripts/local_llm.py measure --runs N --mode llm|cascade`.
"""

from __future__ import annotations

import json
import os
import sys
import time
import urllib.request
from pathlib import Path

from local_llm import MODEL_ALIAS, ROOT, start_server, stop_pid

REQUESTS = {"fast": "set a timer for 10 minutes", "complex": "check the weather in Paris and set a timer for 5 minutes"}


def tokens_per_second(url: str, max_tokens: int = 128) -> tuple[float, int, float]:
    """(tokens/s, tokens, seconds) of one plain chat completion (prompt already cached after the first)."""
    body = json.dumps({"model": MODEL_ALIAS, "max_tokens": max_tokens, "temperature": 0,
                       "messages": [{"role": "user", "content": "Write a long story about a robot who bakes bread."}]})
    request = urllib.request.Request(f"{url}/chat/completions", data=body.encode(), headers={"Content-Type": "application/json"})
    started = time.monotonic()
    with urllib.request.urlopen(request, timeout=120) as response:
        usage = json.load(response)["usage"]
    seconds = time.monotonic() - started
    return usage["completion_tokens"] / seconds, usage["completion_tokens"], seconds


def call_timer():
    """A LangChain callback handler recording each chat model call: what it asked for, seconds, tokens."""
    from langchain_core.callbacks import BaseCallbackHandler

    class CallTimer(BaseCallbackHandler):
        def __init__(self) -> None:
            self.calls: list[dict] = []
            self._open: dict = {}

        def on_chat_model_start(self, serialized: dict, messages: list, *, run_id: object, **kwargs: object) -> None:
            params = kwargs.get("invocation_params") or {}
            choice = params.get("tool_choice") if isinstance(params, dict) else None
            name = choice.get("function", {}).get("name") if isinstance(choice, dict) else choice
            self._open[run_id] = (time.monotonic(), name or "text")

        def on_llm_end(self, response: object, *, run_id: object, **kwargs: object) -> None:
            started, name = self._open.pop(run_id, (time.monotonic(), "?"))
            usage = (getattr(response, "llm_output", None) or {}).get("token_usage") or {}
            self.calls.append({"ask": name, "s": round(time.monotonic() - started, 2), "out_tokens": usage.get("completion_tokens")})

        def on_llm_error(self, error: BaseException, *, run_id: object, **kwargs: object) -> None:
            started, name = self._open.pop(run_id, (time.monotonic(), "?"))
            self.calls.append({"ask": name, "s": round(time.monotonic() - started, 2), "error": type(error).__name__})

    return CallTimer()


def run_request(url: str, text: str, mode: str, db: Path) -> dict:
    """One request through the whole graph on SQLite; what it did and how long it took."""
    import uuid

    from plangate import Context, build_graph
    from plangate.graph.persistence.savers import open_sqlite

    context = Context(base_url=url, router_mode=mode)  # type: ignore[arg-type]
    calls = call_timer()
    started = time.monotonic()
    with open_sqlite(str(db)) as persistence:
        app = build_graph(checkpointer=persistence.checkpointer, store=persistence.store)
        out = app.invoke({"messages": [{"role": "user", "content": text}]},
                         {"configurable": {"thread_id": uuid.uuid4().hex}, "callbacks": [calls]}, context=context)
    metrics = out.get("metrics") or {}
    return {"seconds": round(time.monotonic() - started, 2), "model_calls": calls.calls,
            "model_s": round(sum(c["s"] for c in calls.calls), 2), "route": out.get("route"), "llm_calls": metrics.get("llm_calls", 0),
            "repairs": metrics.get("repairs", 0), "fallbacks": metrics.get("fallbacks", []),
            "statuses": {k: v["status"] for k, v in (out.get("step_results") or {}).items()},
            "answer": str(out["messages"][-1].content)[:160]}


def measure(runs: int, mode: str) -> dict:
    """Load time, tokens/s and `runs` runs of each reference request on a fresh server (stopped after)."""
    import tempfile

    sys.path.insert(0, str(ROOT))
    os.environ["PLANGATE_PLAN_LIBRARY"] = "false"  # measure the planner every time, not a stored plan
    with tempfile.TemporaryDirectory() as tmp:
        server = start_server(Path(tmp))
        try:
            speed = [tokens_per_second(server.url) for _ in range(3)]
            report: dict = {"load_s": server.load_s, "mode": mode, "tokens_per_s": round(max(s[0] for s in speed), 1), "runs": {}}
            for kind, text in REQUESTS.items():
                results = [run_request(server.url, text, mode, Path(tmp) / "measure.sqlite") for _ in range(runs)]
                seconds = sorted(r["seconds"] for r in results)
                report["runs"][kind] = {
                    "request": text, "runs": runs,
                    "median_s": seconds[len(seconds) // 2], "max_s": seconds[-1],
                    "llm_calls": sorted({r["llm_calls"] for r in results}),
                    "runs_with_repairs": sum(1 for r in results if r["repairs"]),
                    "runs_with_rules_fallback": sum(1 for r in results if r["fallbacks"]),
                    "fallbacks": sorted({f.split(":")[0] for r in results for f in r["fallbacks"]}),
                    "routes": sorted({str(r["route"]) for r in results}),
                    "example": results[0],
                }
        finally:
            stop_pid(server.pid)
    return report
