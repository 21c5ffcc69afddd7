"""A fault-injecting OpenAI-compatible chat server on 127.0.0.1 for reliability tests.

Each request to `/v1/chat/completions` takes the next scripted action (or the `responder` when the
script is empty). Actions: a reply (plain or streamed, as the request asks), an HTTP error with
headers (429 + Retry-After, 500, 503), malformed JSON, an empty `choices` list, a stream cut off
mid-way, or a hang past the client's timeout. Every request is recorded with its arrival time.

    with FakeOpenAI(responder=lambda body: text("hi")) as server:
        server.push(Fail(429, {"Retry-After": "1"}), Fail(503))
        ChatOpenAI(base_url=server.base_url, api_key="x").invoke("hello")
"""

from __future__ import annotations

import json
import threading
import time
import uuid
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

Message = dict[str, Any]  # {"content": str | None, "tool_calls": [...]} as in the OpenAI API


@dataclass
class Reply:
    """A normal completion carrying `message` (streamed when the request has stream=true)."""

    message: Message


@dataclass
class Fail:
    """An HTTP error status with optional headers and an OpenAI-style error body."""

    status: int
    headers: dict[str, str] = field(default_factory=dict)
    body: str = '{"error": {"message": "injected failure", "type": "server_error"}}'


@dataclass
class Malformed:
    """200 OK with a body that is not JSON."""

    body: str = '{"id": "x", "choices": [{"message": {"content": "cut'


@dataclass
class EmptyChoices:
    """200 OK with a valid completion object whose `choices` list is empty."""


@dataclass
class CutStream:
    """A streamed reply that sends one chunk and then drops the connection mid-stream."""

    message: Message = field(default_factory=lambda: {"content": "partial answer that never"})


@dataclass
class Hang:
    """Accept the request and send nothing for `seconds` (released early when the server stops)."""

    seconds: float = 30.0


Action = Reply | Fail | Malformed | EmptyChoices | CutStream | Hang


def text(content: str) -> Message:
    return {"role": "assistant", "content": content}


def tool_reply(name: str, args: dict[str, Any] | str) -> Message:
    """An assistant message calling `name`; a str `args` is sent as-is (for invalid-JSON cases)."""
    arguments = args if isinstance(args, str) else json.dumps(args)
    call = {"id": f"call_{uuid.uuid4().hex[:8]}", "type": "function", "function": {"name": name, "arguments": arguments}}
    return {"role": "assistant", "content": None, "tool_calls": [call]}


def forced_tool(body: dict[str, Any]) -> str | None:
    """The function name the request forces with tool_choice, if any."""
    choice = body.get("tool_choice")
    if isinstance(choice, dict):
        return (choice.get("function") or {}).get("name")
    tools = body.get("tools") or []
    if choice in ("required", "any") and len(tools) == 1:
        return tools[0]["function"]["name"]
    return None


def request_kind(body: dict[str, Any]) -> str:
    """What a request asks for: the forced schema/tool name, "tools" (a free tool choice) or "text"."""
    return forced_tool(body) or ("tools" if body.get("tools") else "text")


def _completion(message: Message, model: str) -> dict[str, Any]:
    finish = "tool_calls" if message.get("tool_calls") else "stop"
    return {
        "id": f"chatcmpl-{uuid.uuid4().hex[:10]}", "object": "chat.completion", "created": int(time.time()), "model": model,
        "choices": [{"index": 0, "message": message, "finish_reason": finish}],
        "usage": {"prompt_tokens": 10, "completion_tokens": 5, "total_tokens": 15},
    }


def _chunks(message: Message, model: str) -> list[dict[str, Any]]:
    base = {"id": f"chatcmpl-{uuid.uuid4().hex[:10]}", "object": "chat.completion.chunk", "created": int(time.time()), "model": model}
    deltas: list[dict[str, Any]] = [{"role": "assistant", "content": ""}]
    content = message.get("content") or ""
    deltas += [{"content": content[i : i + 8]} for i in range(0, len(content), 8)]
    for index, call in enumerate(message.get("tool_calls") or []):
        args = call["function"]["arguments"]
        deltas.append({"tool_calls": [{"index": index, "id": call["id"], "type": "function",
                                       "function": {"name": call["function"]["name"], "arguments": ""}}]})
        deltas += [{"tool_calls": [{"index": index, "function": {"arguments": args[i : i + 16]}}]} for i in range(0, len(args), 16)]
    finish = "tool_calls" if message.get("tool_calls") else "stop"
    chunks = [{**base, "choices": [{"index": 0, "delta": d, "finish_reason": None}]} for d in deltas]
    chunks.append({**base, "choices": [{"index": 0, "delta": {}, "finish_reason": finish}]})
    return chunks


class FakeOpenAI:
    """The server. Start with `with FakeOpenAI(...) as server:`; `base_url` ends in /v1."""

    def __init__(self, responder: Callable[[dict[str, Any]], Message | Action] | None = None) -> None:
        self.responder = responder or (lambda body: text("ok"))
        self.script: deque[Action] = deque()
        self.by_kind: dict[str, deque[Action]] = {}
        self.requests: list[dict[str, Any]] = []
        self.lock = threading.Lock()
        self.released = threading.Event()
        self.server: ThreadingHTTPServer | None = None
        self.thread: threading.Thread | None = None

    # control -----------------------------------------------------------------------------
    def push(self, *actions: Action) -> FakeOpenAI:
        with self.lock:
            self.script.extend(actions)
        return self

    def push_for(self, kind: str, *actions: Action) -> FakeOpenAI:
        """Script the next requests of one kind (see `request_kind`), e.g. `push_for("PlanDraft", Fail(503))`."""
        with self.lock:
            self.by_kind.setdefault(kind, deque()).extend(actions)
        return self

    def reset(self) -> FakeOpenAI:
        """Drop unused scripted actions and the request log."""
        with self.lock:
            self.script.clear()
            self.by_kind.clear()
            self.requests.clear()
        return self

    def kinds(self) -> list[str]:
        """The kind of every chat request so far, in order."""
        return [request_kind(r["body"]) for r in self.requests if r["path"].endswith("/chat/completions")]

    @property
    def base_url(self) -> str:
        assert self.server is not None, "server not started"
        return f"http://127.0.0.1:{self.server.server_address[1]}/v1"

    def count(self, path_suffix: str = "/chat/completions") -> int:
        return sum(1 for r in self.requests if r["path"].endswith(path_suffix))

    def start(self) -> FakeOpenAI:
        self.server = ThreadingHTTPServer(("127.0.0.1", 0), _handler(self))
        self.server.daemon_threads = True
        self.thread = threading.Thread(target=self.server.serve_forever, name="fake-openai", daemon=True)
        self.thread.start()
        return self

    def stop(self) -> None:
        self.released.set()
        if self.server is not None:
            self.server.shutdown()
            self.server.server_close()
        if self.thread is not None:
            self.thread.join(timeout=5)

    def __enter__(self) -> FakeOpenAI:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    # serving -----------------------------------------------------------------------------
    def next_action(self, body: dict[str, Any]) -> Action:
        with self.lock:
            queued = self.by_kind.get(request_kind(body))
            if queued:
                return queued.popleft()
            if self.script:
                return self.script.popleft()
        produced = self.responder(body)
        return produced if isinstance(produced, Reply | Fail | Malformed | EmptyChoices | CutStream | Hang) else Reply(produced)


def _handler(server: FakeOpenAI) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, *args: Any) -> None:  # keep test output clean
            pass

        def _send(self, status: int, body: bytes, headers: dict[str, str] | None = None, ctype: str = "application/json") -> None:
            self.send_response(status)
            self.send_header("Content-Type", ctype)
            self.send_header("Content-Length", str(len(body)))
            for key, value in (headers or {}).items():
                self.send_header(key, value)
            self.end_headers()
            self.wfile.write(body)

        def do_GET(self) -> None:  # noqa: N802 (http.server naming)
            server.requests.append({"path": self.path, "method": "GET", "t": time.monotonic(), "body": {}, "headers": dict(self.headers)})
            self._send(200, json.dumps({"object": "list", "data": [{"id": "fake-model", "object": "model"}]}).encode())

        def do_POST(self) -> None:  # noqa: N802
            raw = self.rfile.read(int(self.headers.get("Content-Length") or 0))
            try:
                body = json.loads(raw or b"{}")
            except json.JSONDecodeError:
                body = {}
            with server.lock:
                server.requests.append({"path": self.path, "method": "POST", "t": time.monotonic(), "body": body,
                                        "headers": dict(self.headers)})
            action = server.next_action(body)
            model = str(body.get("model", "fake-model"))
            if isinstance(action, Hang):
                server.released.wait(action.seconds)
                self.close_connection = True
                return
            if isinstance(action, Fail):
                self._send(action.status, action.body.encode(), action.headers)
            elif isinstance(action, Malformed):
                self._send(200, action.body.encode())
            elif isinstance(action, EmptyChoices):
                empty = {**_completion(text(""), model), "choices": []}
                self._send(200, json.dumps(empty).encode())
            elif isinstance(action, CutStream):
                self._stream(_chunks(action.message, model)[:2], cut=True)
            elif body.get("stream"):
                self._stream(_chunks(action.message, model), cut=False)
            else:
                self._send(200, json.dumps(_completion(action.message, model)).encode())

        def _stream(self, chunks: list[dict[str, Any]], *, cut: bool) -> None:
            self.send_response(200)
            self.send_header("Content-Type", "text/event-stream")
            self.send_header("Transfer-Encoding", "chunked")
            self.end_headers()
            for chunk in chunks:
                data = f"data: {json.dumps(chunk)}\n\n".encode()
                self.wfile.write(f"{len(data):x}\r\n".encode() + data + b"\r\n")
            if cut:  # half a chunk, then the connection drops: the client sees a broken stream
                self.wfile.write(b"40\r\ndata: {\"id\": \"chatcmpl-cut\", ")
                self.wfile.flush()
                self.close_connection = True
                return
            done = b"data: [DONE]\n\n"
            self.wfile.write(f"{len(done):x}\r\n".encode() + done + b"\r\n0\r\n\r\n")

    return Handler
