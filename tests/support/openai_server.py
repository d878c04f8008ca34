"""A small OpenAI-compatible HTTP server on 127.0.0.1, for tests and benchmarks.

It answers ``/v1/chat/completions``, ``/v1/completions`` and ``/v1/embeddings`` with
deterministic content, and injects latency and faults, so that the code under test talks
to it through the real ``llama_index.llms.openai.OpenAI`` / ``OpenAIEmbedding`` clients.

Example::

    with FakeOpenAIServer(latency=0.3) as server:
        llm = OpenAI(model="gpt-4o-mini", api_base=server.url, api_key="test", max_retries=0)
        print(llm.complete("Context: CHUNK-1 ...").text)
        print(server.requests_per_key)   # Counter({'CHUNK-1': 1})

Chat answers: the server finds the chunk key (``CHUNK-<n>`` by default) in the prompt and
answers with a numbered list of questions about it, preceded by a preamble, as real models
do. ``faults`` maps a key to the statuses to answer with on its first attempts (e.g.
``{"CHUNK-3": [429, 500]}``); the special status ``"malformed"`` answers 200 with a body
that is not JSON, ``"empty"`` answers with empty content, and ``"hang"`` never answers
within the client's timeout. Embeddings are hashed bags of words (L2-normalised), so
texts that share words are near each other and retrieval on them is meaningful.

Answer modes (``FakeOpenAIServer(answer=ANSWER_MODES["json_objects"])``, defined in
tests/support/answer_modes.py and importable from here) write questions about the chunk's own content
words (:func:`content_questions`), in the shapes hosted and local chat models answer in
(:data:`SHAPE_MODES`), with the source phrases they add (:data:`PHRASING_MODES`: "According
to the document, ..."), or among SmolLM2-135M-like junk that the quality gate must drop
(:data:`JUNK_MODES`).
"""

from __future__ import annotations

import base64
import hashlib
import json
import re
import struct
import threading
import time
from collections import Counter
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import numpy as np

from support.answer_modes import (  # noqa: F401  the modes, importable from here as before
    ANSWER_MODES,
    JUNK_MODES,
    PHRASING_MODES,
    SHAPE_MODES,
    SMOLLM2_JUNK,
    chunk_of,
    content_questions,
    content_terms,
    question_terms,
)

_WORD = re.compile(r"[a-z0-9]+")


def hashed_embedding(text: str, dim: int) -> list[float]:
    """A deterministic bag-of-words embedding: each word adds +-1 at a hashed position."""
    vec = np.zeros(dim, dtype=np.float32)
    for word in _WORD.findall(text.lower()):
        h = int.from_bytes(hashlib.blake2b(word.encode(), digest_size=8).digest(), "little")
        vec[h % dim] += 1.0 if (h >> 32) & 1 else -1.0
    norm = float(np.linalg.norm(vec))
    if norm == 0.0:
        vec[0] = 1.0
        norm = 1.0
    return (vec / norm).tolist()


def default_answer(key: str, prompt: str, n: int) -> str:
    body = "\n".join(f"{i + 1}. What does {key} state about item {i + 1}?" for i in range(n))
    return f"Here are {n} questions:\n\n{body}\n"


class FakeOpenAIServer:
    """See the module docstring. Use as a context manager; ``url`` is the ``api_base``."""

    def __init__(
        self,
        latency: float = 0.0,
        embed_latency: float | None = None,
        faults: dict[str, list[int | str]] | None = None,
        answer: Callable[[str, str, int], str] = default_answer,
        key_pattern: str = r"CHUNK-\d+",
        embed_dim: int = 64,
        hang_seconds: float = 30.0,
    ) -> None:
        self.latency = latency
        self.embed_latency = latency if embed_latency is None else embed_latency
        self.faults = {k: list(v) for k, v in (faults or {}).items()}
        self.answer = answer
        self.key_pattern = re.compile(key_pattern)
        self.embed_dim = embed_dim
        self.hang_seconds = hang_seconds
        self.requests_per_key: Counter[str] = Counter()
        self.temperatures: list[float | None] = []  # each completion request's, in order
        self.completion_requests = 0
        self.embedding_requests = 0
        self.embedded_texts = 0
        self.max_in_flight = 0
        self._in_flight = 0
        self._lock = threading.Lock()
        self._httpd: ThreadingHTTPServer | None = None

    @property
    def url(self) -> str:
        assert self._httpd is not None, "server not started"
        host, port = self._httpd.server_address[:2]
        return f"http://{host}:{port}/v1"

    def start(self) -> FakeOpenAIServer:
        server = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"
            # headers and body go out in two writes: with Nagle on, each answer waits ~40 ms
            # for the client's delayed ACK; real servers set TCP_NODELAY too
            disable_nagle_algorithm = True

            def log_message(self, *args):  # keep test output quiet
                pass

            def do_POST(self):
                length = int(self.headers.get("Content-Length", 0))
                try:
                    payload = json.loads(self.rfile.read(length) or b"{}")
                except json.JSONDecodeError:
                    return self._send(400, {"error": {"message": "bad json"}})
                with server._lock:
                    server._in_flight += 1
                    server.max_in_flight = max(server.max_in_flight, server._in_flight)
                try:
                    if self.path.endswith("/embeddings"):
                        status, body = server._embeddings(payload)
                    elif self.path.endswith("/chat/completions"):
                        status, body = server._completion(payload, chat=True)
                    elif self.path.endswith("/completions"):
                        status, body = server._completion(payload, chat=False)
                    else:
                        status, body = 404, {"error": {"message": f"no route {self.path}"}}
                finally:
                    with server._lock:
                        server._in_flight -= 1
                self._send(status, body)

            def _send(self, status: int, body: dict | bytes) -> None:
                data = body if isinstance(body, bytes) else json.dumps(body).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                if status == 429:
                    self.send_header("Retry-After", "0")
                self.end_headers()
                try:
                    self.wfile.write(data)
                except (BrokenPipeError, ConnectionResetError):
                    pass

        self._httpd = _QuietServer(("127.0.0.1", 0), Handler)
        self._httpd.daemon_threads = True
        threading.Thread(target=self._httpd.serve_forever, daemon=True).start()
        return self

    def stop(self) -> None:
        if self._httpd is not None:
            self._httpd.shutdown()
            self._httpd.server_close()
            self._httpd = None

    def __enter__(self) -> FakeOpenAIServer:
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()

    # ---- handlers --------------------------------------------------------------------

    def _completion(self, payload: dict, chat: bool) -> tuple[int, dict | bytes]:
        if chat:
            prompt = "\n".join(str(m.get("content", "")) for m in payload.get("messages", []))
        else:
            prompt = str(payload.get("prompt", ""))
        match = self.key_pattern.search(prompt)
        key = match.group(0) if match else "?"
        with self._lock:
            self.completion_requests += 1
            self.requests_per_key[key] += 1
            self.temperatures.append(payload.get("temperature"))
            planned = self.faults.get(key)
            fault = planned.pop(0) if planned else None
        time.sleep(self.latency)
        if fault == "hang":
            time.sleep(self.hang_seconds)
            fault = 500
        if fault == "malformed":
            return 200, b"{this is not json"
        if isinstance(fault, int):
            return fault, {"error": {"message": f"injected {fault}", "type": "injected"}}
        n = _requested_count(prompt)
        content = "" if fault == "empty" else self.answer(key, prompt, n)
        usage = {"prompt_tokens": 1, "completion_tokens": 1, "total_tokens": 2}
        base = {"id": "fake", "created": int(time.time()), "model": payload.get("model", "fake")}
        if chat:
            choice = {
                "index": 0,
                "message": {"role": "assistant", "content": content},
                "finish_reason": "stop",
                "logprobs": None,
            }
            return 200, {**base, "object": "chat.completion", "choices": [choice], "usage": usage}
        choice = {"index": 0, "text": content, "finish_reason": "stop", "logprobs": None}
        return 200, {**base, "object": "text_completion", "choices": [choice], "usage": usage}

    def _embeddings(self, payload: dict) -> tuple[int, dict]:
        inputs = payload.get("input", [])
        if isinstance(inputs, str):
            inputs = [inputs]
        with self._lock:
            self.embedding_requests += 1
            self.embedded_texts += len(inputs)
        time.sleep(self.embed_latency)
        data = []
        for i, text in enumerate(inputs):
            vec = hashed_embedding(str(text), self.embed_dim)
            if payload.get("encoding_format") == "base64":
                emb: list[float] | str = base64.b64encode(
                    struct.pack(f"<{len(vec)}f", *vec)
                ).decode()
            else:
                emb = vec
            data.append({"object": "embedding", "index": i, "embedding": emb})
        usage = {"prompt_tokens": len(inputs), "total_tokens": len(inputs)}
        return 200, {"object": "list", "data": data, "model": payload.get("model"), "usage": usage}


class _QuietServer(ThreadingHTTPServer):
    # socketserver's default listen backlog of 5 drops the SYNs of a burst of 32 new
    # connections, which the client resends only after 1 s; real servers queue hundreds
    request_queue_size = 128

    def handle_error(self, request, client_address):  # clients killed mid-request are normal here
        import sys

        if not isinstance(sys.exc_info()[1], (ConnectionError, BrokenPipeError)):
            super().handle_error(request, client_address)


def _requested_count(prompt: str) -> int:
    match = re.search(r"(\d+)\s+questions?", prompt)
    return int(match.group(1)) if match else 2


def openai_llm(server: FakeOpenAIServer, **kwargs):
    """The real llama-index OpenAI client, pointed at the local server, its own retries off."""
    from llama_index.llms.openai import OpenAI

    kwargs.setdefault("max_retries", 0)
    kwargs.setdefault("timeout", 10.0)
    return OpenAI(model="gpt-4o-mini", api_base=server.url, api_key="test", **kwargs)


def make_nodes(n: int, prefix: str = "CHUNK"):
    """``n`` TextNodes with fixed ids and a key ``CHUNK-<i>`` the server recognises."""
    from llama_index.core.schema import TextNode

    return [
        TextNode(id_=f"node-{i}", text=f"{prefix}-{i}: the company reported item {i} in 2021.")
        for i in range(n)
    ]


if __name__ == "__main__":  # a server for manual runs: python tests/support/openai_server.py
    with FakeOpenAIServer(latency=0.3) as s:
        print(s.url, flush=True)
        threading.Event().wait()
