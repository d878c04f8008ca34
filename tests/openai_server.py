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

Answer modes (``FakeOpenAIServer(answer=ANSWER_MODES["json_objects"])``) write questions
about the chunk's own content words (:func:`content_questions`), in the shapes hosted and
local chat models answer in (:data:`SHAPE_MODES`), with the source phrases they add
(:data:`PHRASING_MODES`: "According to the document, ..."), or among SmolLM2-135M-like junk
that the quality gate must drop (:data:`JUNK_MODES`).
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


# ---- answer modes: questions about the chunk, in the shapes and phrasings of real models ----

_CHUNK_IN_PROMPT = (
    re.compile(r"-{5,}\n(.*?)\n-{5,}", re.DOTALL),  # DEFAULT_QA_GENERATE_PROMPT_TMPL
    re.compile(r"\nText: (.*?)\n\nWrite", re.DOTALL),  # SMALL_MODEL_QA_PROMPT_TMPL
)
_TERM = re.compile(r"[A-Z][a-z]{3,}|[a-z]{5,}")
_COMMON = frozenset(
    "about above after again against before being below between could during every first "
    "further other their there these those through under until which while would years "
    "rather this that they then than with from into most more some such".split()
)
_TEMPLATES = (
    "What was reported about {a} and {b}?",
    "How are {a} and {b} related?",
    "What changed in {a} and {b}?",
    "Why do {a} and {b} matter?",
)


def chunk_of(prompt: str) -> str:
    """The chunk's text in a question-writing prompt (the whole prompt if not found)."""
    for pattern in _CHUNK_IN_PROMPT:
        match = pattern.search(prompt)
        if match:
            return match.group(1)
    return prompt


def content_terms(prompt: str) -> list[str]:
    """Names and nouns of the chunk in ``prompt`` (5+ letters, or capitalised 4+; no "-ed",
    "-ing" or "-ly" words), in order, that its instructions lack."""
    chunk = chunk_of(prompt)
    instructions = set(_TERM.findall(prompt.replace(chunk, " ").lower()))
    terms: list[str] = []
    for word in _TERM.findall(chunk):
        low = word.lower()
        if low in _COMMON or low in instructions or low.endswith(("ed", "ing", "ly")):
            continue
        if low not in map(str.lower, terms):
            terms.append(word)
    return terms or ["company", "results"]


def question_terms(prompt: str, n: int) -> list[tuple[str, str]]:
    """The two content words each of the ``n`` questions asks about."""
    terms = content_terms(prompt)
    return [(terms[(2 * i) % len(terms)], terms[(2 * i + 1) % len(terms)]) for i in range(n)]


def content_questions(prompt: str, n: int) -> list[str]:
    """``n`` questions, each about two content words of the chunk in ``prompt``."""
    pairs = question_terms(prompt, n)
    return [_TEMPLATES[i % len(_TEMPLATES)].format(a=a, b=b) for i, (a, b) in enumerate(pairs)]


def _lower_first(question: str) -> str:
    return question[0].lower() + question[1:]


def numbered(key: str, prompt: str, n: int) -> str:
    return "\n".join(f"{i}. {q}" for i, q in enumerate(content_questions(prompt, n), 1))


def paren_numbered(key: str, prompt: str, n: int) -> str:
    return "\n".join(f"({i}) {q}" for i, q in enumerate(content_questions(prompt, n), 1))


def bullets(key: str, prompt: str, n: int) -> str:
    return "\n".join(f"- {q}" for q in content_questions(prompt, n))


def question_labels(key: str, prompt: str, n: int) -> str:
    qs = content_questions(prompt, n)
    return "\n\n".join(f"Question {i}: {q}" for i, q in enumerate(qs, 1))


def markdown_labels(key: str, prompt: str, n: int) -> str:
    return "\n".join(f"**Q{i}:** {q}" for i, q in enumerate(content_questions(prompt, n), 1))


def preamble_and_closing(key: str, prompt: str, n: int) -> str:
    body = numbered(key, prompt, n)
    return (
        f"Here are {n} questions based on the context:\n\n{body}\n\n"
        "I hope these help! Let me know if you need more questions."
    )


def fenced_json(key: str, prompt: str, n: int) -> str:
    return f"```json\n{json.dumps(content_questions(prompt, n), indent=2)}\n```"


def json_questions(key: str, prompt: str, n: int) -> str:
    return json.dumps({"questions": content_questions(prompt, n)})


def json_objects(key: str, prompt: str, n: int) -> str:
    answer = " ".join(content_terms(prompt)[:4])
    return json.dumps([{"question": q, "answer": answer} for q in content_questions(prompt, n)])


def with_answers(key: str, prompt: str, n: int) -> str:
    answer = " ".join(content_terms(prompt)[:4])
    return "\n\n".join(f"{q}\nAnswer: {answer}." for q in content_questions(prompt, n))


def wrapped(key: str, prompt: str, n: int) -> str:
    lines = []
    for i, q in enumerate(content_questions(prompt, n), 1):
        words = q.split()
        half = len(words) // 2
        lines.append(f"{i}. {' '.join(words[:half])}\n   {' '.join(words[half:])}")
    return "\n".join(lines)


def according_to(key: str, prompt: str, n: int) -> str:
    qs = content_questions(prompt, n)
    return "\n".join(
        f"{i}. According to the document, {_lower_first(q)}" for i, q in enumerate(qs, 1)
    )


def as_mentioned(key: str, prompt: str, n: int) -> str:
    qs = content_questions(prompt, n)
    return "\n".join(f"{i}. {q[:-1]}, as mentioned in the text?" for i, q in enumerate(qs, 1))


def based_on_context(key: str, prompt: str, n: int) -> str:
    qs = content_questions(prompt, n)
    return "\n".join(f"{i}. Based on the context, {_lower_first(q)}" for i, q in enumerate(qs, 1))


def mentioned_in_document(key: str, prompt: str, n: int) -> str:
    pairs = question_terms(prompt, n)
    return "\n".join(
        f"{i}. What {a} and {b} are mentioned in the document?" for i, (a, b) in enumerate(pairs, 1)
    )


def document_states(key: str, prompt: str, n: int) -> str:
    pairs = question_terms(prompt, n)
    return "\n".join(
        f"{i}. What does the document state about {a} {b}?" for i, (a, b) in enumerate(pairs, 1)
    )


# Junk as SmolLM2-135M writes it (benchmarks/data/lyft_train.json, the demo's journals);
# every line of it must be dropped, by the parser or the quality gate.
SMOLLM2_JUNK = (
    "What is the purpose of this excerpt?",  # about the source
    "What is the main topic of the passage?",  # about the source
    "How can I write 2 questions that a reader could answer from it?",  # a prompt echo
    "How many stores did Northwind Bakery open in 2019?",  # the small prompt's example
    "What is the name of the company and the year?",  # the same on every chunk
    "What is the total total total total amount?",  # degenerate repetition
    "What is the capital city of France?",  # off topic
)


def smollm2_junk(key: str, prompt: str, n: int) -> str:
    """The junk lines, a copy of the chunk's opening, and then ``n`` good questions."""
    lines = [*SMOLLM2_JUNK, chunk_of(prompt)[:80], *content_questions(prompt, n)]
    return "\n".join(f"{i}. {line}" for i, line in enumerate(lines, 1))


SHAPE_MODES = (
    numbered, paren_numbered, bullets, question_labels, markdown_labels, preamble_and_closing,
    fenced_json, json_questions, json_objects, with_answers, wrapped,
)  # fmt: skip
PHRASING_MODES = (
    according_to, as_mentioned, based_on_context, mentioned_in_document, document_states,
)  # fmt: skip
JUNK_MODES = (smollm2_junk,)
ANSWER_MODES: dict[str, Callable[[str, str, int], str]] = {
    f.__name__: f for f in (*SHAPE_MODES, *PHRASING_MODES, *JUNK_MODES)
}


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


if __name__ == "__main__":  # a server for manual runs: python tests/openai_server.py
    with FakeOpenAIServer(latency=0.3) as s:
        print(s.url, flush=True)
        threading.Event().wait()
