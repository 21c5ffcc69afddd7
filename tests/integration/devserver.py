"""Start a real `langgraph dev` for a test module, and always stop it.

The server runs in a scratch folder that mirrors the repo with symlinks, so the config's relative paths
resolve exactly as in the repo while its `.langgraph_api/` state stays out of the developer's checkout.
It listens on a free 127.0.0.1 port, in its own process group (terminated, then killed, on exit).
"""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest

REPO = Path(__file__).resolve().parents[2]
START_TIMEOUT_S = 90
STOP_TIMEOUT_S = 10
BLOCKING_MARKERS = ("BlockingError", "Blocking call to", "synchronous blocking call")


@dataclass
class DevServer:
    url: str
    log: Path
    workdir: Path
    process: subprocess.Popen

    def log_text(self) -> str:
        return self.log.read_text(encoding="utf-8", errors="replace")

    def blocking_errors(self) -> list[str]:
        return [line for line in self.log_text().splitlines() if any(m in line for m in BLOCKING_MARKERS)]


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _mirror(workdir: Path) -> None:
    for entry in REPO.iterdir():
        if entry.name not in (".git", ".langgraph_api") and not entry.name.startswith(("langgraph", ".venv", ".serve-cluster")):
            (workdir / entry.name).symlink_to(entry)


def _stop(process: subprocess.Popen) -> None:
    if process.poll() is not None:
        return
    for sig, wait in ((signal.SIGTERM, STOP_TIMEOUT_S), (signal.SIGKILL, STOP_TIMEOUT_S)):
        try:
            os.killpg(process.pid, sig)
        except ProcessLookupError:
            return
        try:
            process.wait(timeout=wait)
            return
        except subprocess.TimeoutExpired:
            continue


@contextmanager
def langgraph_dev(workdir: Path, config_name: str = "langgraph.json", *, extra_graphs: dict[str, str] | None = None,
                  env: dict[str, str] | None = None) -> Iterator[DevServer]:
    """Run `langgraph dev --config CONFIG_NAME` (the repo's file, plus `extra_graphs`) until the block ends."""
    cli = Path(sys.executable).with_name("langgraph")
    if not cli.exists():
        pytest.fail(f"langgraph CLI not found at {cli}: install the dev extras (pip install -e '.[dev]')", pytrace=False)
    config = json.loads((REPO / config_name).read_text())
    config["graphs"] = {**config["graphs"], **(extra_graphs or {})}
    _mirror(workdir)
    (workdir / config_name).write_text(json.dumps(config, indent=2))
    port = free_port()
    log = workdir / "langgraph-dev.log"
    environment = {k: v for k, v in os.environ.items()
                   if not k.startswith(("PLANGATE_", "OPENAI_", "LANGSMITH_", "LANGCHAIN_"))}
    environment.update({"LANGGRAPH_CLI_NO_ANALYTICS": "1", "LANGGRAPH_NO_VERSION_CHECK": "true",
                        "LANGSMITH_TRACING": "false", "PYTHONUNBUFFERED": "1", **(env or {})})
    command = [str(cli), "dev", "--no-browser", "--no-reload", "--host", "127.0.0.1", "--port", str(port),
               "--config", config_name, "--n-jobs-per-worker", "4"]
    with log.open("w") as sink:
        process = subprocess.Popen(command, cwd=workdir, env=environment, stdout=sink, stderr=subprocess.STDOUT,
                                   start_new_session=True)
    server = DevServer(f"http://127.0.0.1:{port}", log, workdir, process)
    try:
        deadline = time.monotonic() + START_TIMEOUT_S
        while True:
            if process.poll() is not None:
                pytest.fail(f"langgraph dev exited with {process.returncode}:\n{server.log_text()[-3000:]}", pytrace=False)
            try:
                if httpx.get(f"{server.url}/ok", timeout=2).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            if time.monotonic() > deadline:
                pytest.fail(f"langgraph dev not ready after {START_TIMEOUT_S}s:\n{server.log_text()[-3000:]}", pytrace=False)
            time.sleep(0.3)
        yield server
    finally:
        _stop(process)
