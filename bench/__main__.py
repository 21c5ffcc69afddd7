"""`python -m bench [section ...]`: run the benchmark sections, write bench/results/*.json, the plots and summary.md.

Sections: latency (1-3, with the plan-library and BSP extras), overhead (4, with the pyinstrument
profile), scale (5), growth (6), throughput (7: the multi-worker Agent Server against the single-process
default). No section names means all; run.json (the summary's header) is rewritten only then, and each section's
JSON keeps its own date and load. `--report` only rebuilds summary.md and the plots from the JSON already there.
BENCH_SCALE multiplies every latency (quick local runs); BENCH_QUICK=1 runs tiny versions.
BENCH_RESULTS=dir writes somewhere else than bench/results/.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import logging
import os
import platform
import subprocess
import sys
import time
import warnings
from datetime import datetime
from typing import Any

from bench import growth, latency, overhead, report, scale, throughput
from bench.config import RESULTS, BenchConfig

SECTIONS = ("latency", "overhead", "scale", "growth", "throughput")


def _load() -> str:
    try:
        return " ".join(f"{x:.2f}" for x in os.getloadavg())
    except OSError:
        return "n/a"


def machine() -> dict[str, Any]:
    commit = subprocess.run(["git", "rev-parse", "--short", "HEAD"], capture_output=True, text=True).stdout.strip()
    import langgraph.version

    return {"date": datetime.now().astimezone().isoformat(timespec="seconds"), "cpus": os.cpu_count(),
            "python": platform.python_version(), "langgraph": langgraph.version.__version__, "commit": commit or "n/a",
            "load_before": _load()}


def run_section(name: str, cfg: BenchConfig) -> dict[str, Any]:
    started = time.perf_counter()
    if name == "latency":
        data = asyncio.run(latency.run(cfg))
        data["warm_library"] = asyncio.run(latency.warm_library(cfg))
    elif name == "overhead":
        data = overhead.run(cfg)
    elif name == "scale":
        data = asyncio.run(scale.run(cfg))
    elif name == "throughput":
        data = asyncio.run(throughput.run(cfg))
    else:
        data = asyncio.run(growth.run(cfg))
    data["seconds"] = time.perf_counter() - started
    data["load_after"] = _load()
    return data


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__.splitlines()[0])
    parser.add_argument("sections", nargs="*", help=f"sections to run: {', '.join(SECTIONS)} (default: all)")
    parser.add_argument("--report", action="store_true", help="only rebuild summary.md and plots from the JSON")
    args = parser.parse_args(argv)
    unknown = sorted(set(args.sections) - set(SECTIONS))
    if unknown:
        parser.error(f"unknown section(s) {', '.join(unknown)}; choose from {', '.join(SECTIONS)}")
    logging.getLogger("plangate").setLevel(logging.ERROR)
    warnings.filterwarnings("ignore", category=DeprecationWarning)
    cfg = BenchConfig()
    RESULTS.mkdir(parents=True, exist_ok=True)
    if not args.report:
        meta = machine()
        meta.update({"scale": cfg.scale, "quick": cfg.quick})
        started = time.perf_counter()
        for name in args.sections or SECTIONS:
            print(f"bench: {name} ... (load {_load()})", flush=True)
            data = run_section(name, cfg)
            (RESULTS / f"{name}.json").write_text(json.dumps({"meta": meta, **data}, indent=1, default=str))
            print(f"bench: {name} done in {data['seconds']:.0f}s", flush=True)
        meta["seconds"] = time.perf_counter() - started
        meta["load_after"] = _load()
        if not args.sections or set(args.sections) == set(SECTIONS):
            (RESULTS / "run.json").write_text(json.dumps(meta, indent=1))
    written = report.write(RESULTS)
    print("bench: wrote " + ", ".join(str(p) for p in written))
    return 0


if __name__ == "__main__":
    sys.exit(main())
