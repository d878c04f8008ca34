"""The package at the size of a company's document store: time and peak memory, two sizes each.

Reproduce:  flock /tmp/bench.lock .venv/bin/python benchmarks/scale.py
            (--only generation|evaluation|adapter; --small for a quick pass at 1/10 sizes)

Each measurement runs in its own child process, so that its peak memory is its own: peak RSS
is sampled every 5 ms by a psutil thread (and the kernel's ru_maxrss is shown beside it).

* generation: ``generate_qa_embedding_pairs(nodes=..., llm=..., output_path=...)`` with 64
  workers against the tests' local OpenAI-compatible server (no latency; the server runs in
  the parent process), 5,000 and 20,000 chunks: chunks/s, peak RSS, journal size. Then a run
  of 20,000 is SIGKILLed once half of the chunks are in the journal, and rerun: the rerun's
  time, how long reading the journal takes, and how many chunks it skipped.
* evaluation: ``score_embeddings`` on random unit vectors (float32, dim 384): 200,000 x
  2,000 and 1,000,000 x 10,000 (corpus x queries), with the top-10 of a slice of queries
  checked against a plain full sort. BASELINE (labelled so): the landed ranking (whole
  corpus normalised at once, sorted copy of the corpus, query blocks against all of it),
  imported from git at the commit before the blocked path, on 200,000 x 2,000.
* adapter engine: ``EmbeddingAdapterFinetuneEngine`` on 20,000 and 100,000 (query, chunk)
  pairs, 4 epochs, batch 10, linear adapter; the base model returns deterministic random
  384-dim vectors (hashed from the text) so that only the engine is measured. The first
  run fills the embedding cache, the second reads it: seconds per epoch from the second.
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import os
import platform
import resource
import signal
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
sys.path.insert(0, str(ROOT / "tests"))

import numpy as np  # noqa: E402
import psutil  # noqa: E402

DIM = 384
LANDED_RANKING_COMMIT = "d3d71ad"  # the last commit with the unblocked ranking
GiB = 1 << 30


class PeakRSS:
    """Samples this process's RSS in a thread; ``peak`` is the highest seen since start()."""

    def __init__(self, every: float = 0.005) -> None:
        self.every = every
        self.process = psutil.Process()
        self.peak = self.start_rss = 0
        self._stop = threading.Event()

    def __enter__(self) -> PeakRSS:
        self.start_rss = self.peak = self.process.memory_info().rss
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()
        return self

    def _run(self) -> None:
        while not self._stop.wait(self.every):
            self.peak = max(self.peak, self.process.memory_info().rss)

    def __exit__(self, *exc) -> None:
        self._stop.set()
        self._thread.join()
        self.peak = max(self.peak, self.process.memory_info().rss)


def max_rss() -> int:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024


def emit(result: dict) -> None:
    print("RESULT " + json.dumps(result), flush=True)


def child(args: list[str], timeout: float = 3600) -> dict:
    out = subprocess.run(
        [sys.executable, __file__, *args], capture_output=True, text=True, timeout=timeout
    )
    for line in out.stdout.splitlines():
        if line.startswith("RESULT "):
            return json.loads(line[7:])
    raise RuntimeError(f"{args} failed:\n{out.stdout[-3000:]}\n{out.stderr[-3000:]}")


# ---- generation ------------------------------------------------------------------------


def nodes(n: int):
    from support.openai_server import make_nodes

    return make_nodes(n)


def run_generation(url: str, n: int, output: str) -> None:
    from llama_index.llms.openai import OpenAI

    from llama_index.finetuning import generate_qa_embedding_pairs
    from llama_index.finetuning.generation.journal import Journal

    chunks = nodes(n)
    journal = Journal.for_output(output)
    started = time.perf_counter()
    entries = len(journal.load()) if journal.path.exists() else 0
    journal_read = time.perf_counter() - started
    llm = OpenAI(model="gpt-4o-mini", api_base=url, api_key="bench", max_retries=0)
    with PeakRSS() as rss:
        started = time.perf_counter()
        _, report = generate_qa_embedding_pairs(
            nodes=chunks, llm=llm, output_path=output, num_workers=64, verbose=False,
            show_progress=False, return_report=True,
        )  # fmt: skip
        seconds = time.perf_counter() - started
    emit({
        "chunks": n, "seconds": seconds, "journal_entries_before": entries,
        "journal_read_seconds": journal_read, "resumed": report.resumed,
        "generated": report.generated, "failed": report.failed, "peak_rss": rss.peak,
        "start_rss": rss.start_rss, "max_rss": max_rss(),
    })  # fmt: skip


def journal_lines(path: Path) -> int:
    try:
        with open(path, "rb") as f:
            return sum(1 for _ in f)
    except FileNotFoundError:
        return 0


def generation_section(sizes: list[int]) -> list[str]:
    from support.openai_server import FakeOpenAIServer

    from llama_index.finetuning.generation.journal import Journal

    rows, lines = [], []
    with FakeOpenAIServer(latency=0.0) as server, tempfile.TemporaryDirectory() as tmp:
        for n in sizes:
            out = Path(tmp) / f"pairs-{n}.json"
            r = child(["_gen", server.url, str(n), str(out)])
            r["journal_bytes"] = Journal.for_output(out).path.stat().st_size
            r["dataset_bytes"] = out.stat().st_size
            rows.append(r)
        n = sizes[-1]
        out = Path(tmp) / "killed.json"
        journal = Journal.for_output(out).path
        proc = subprocess.Popen(
            [sys.executable, __file__, "_gen", server.url, str(n), str(out)],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        )  # fmt: skip
        started = time.perf_counter()
        while journal_lines(journal) < n // 2 and proc.poll() is None:
            time.sleep(0.02)
        proc.send_signal(signal.SIGKILL)
        proc.wait()
        killed_after = time.perf_counter() - started
        in_journal = journal_lines(journal)
        resume = child(["_gen", server.url, str(n), str(out)])
    lines += [
        "### Generation (64 workers, local server, no latency)",
        "",
        "| chunks | seconds | chunks/s | peak RSS (MiB) | journal (MiB) | dataset JSON (MiB) |",
        "|---:|---:|---:|---:|---:|---:|",
    ]
    for r in rows:
        lines.append(
            f"| {r['chunks']:,} | {r['seconds']:.1f} | {r['chunks'] / r['seconds']:.0f} | "
            f"{r['peak_rss'] / 2**20:.0f} | {r['journal_bytes'] / 2**20:.1f} | "
            f"{r['dataset_bytes'] / 2**20:.1f} |"
        )
    full = rows[-1]
    lines += [
        "",
        f"SIGKILL after {killed_after:.1f} s with {in_journal:,} of {n:,} chunks in the journal "
        f"({resume['journal_entries_before']:,} complete entries read back in "
        f"{resume['journal_read_seconds']:.2f} s). The rerun skipped {resume['resumed']:,} "
        f"chunks, generated {resume['generated']:,} and took {resume['seconds']:.1f} s "
        f"(the uninterrupted run: {full['seconds']:.1f} s); peak RSS "
        f"{resume['peak_rss'] / 2**20:.0f} MiB.",
        "",
    ]
    return lines


# ---- evaluation ------------------------------------------------------------------------


def unit_vectors(n: int, seed: int) -> np.ndarray:
    """Random unit rows, float32, filled block by block (no float64 copy of the whole)."""
    rng = np.random.default_rng(seed)
    out = np.empty((n, DIM), dtype=np.float32)
    for start in range(0, n, 65536):
        block = rng.standard_normal((min(65536, n - start), DIM), dtype=np.float32)
        out[start : start + len(block)] = block / np.linalg.norm(block, axis=1, keepdims=True)
    return out


def landed_ranking():
    source = subprocess.run(
        ["git", "show", f"{LANDED_RANKING_COMMIT}:llama_index/finetuning/evaluation/ranking.py"],
        cwd=ROOT, capture_output=True, text=True, check=True,
    ).stdout  # fmt: skip
    path = Path(tempfile.mkdtemp()) / "landed_ranking.py"
    path.write_text(source)
    spec = importlib.util.spec_from_file_location("landed_ranking", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def run_evaluation(n_corpus: int, n_queries: int, which: str) -> None:
    from llama_index.finetuning import EmbeddingQAFinetuneDataset
    from llama_index.finetuning.evaluation import score_embeddings
    from llama_index.finetuning.evaluation.ranking import normalize_rows

    corpus = unit_vectors(n_corpus, 0)
    queries = unit_vectors(n_queries, 1)
    rng = np.random.default_rng(2)
    ids = [f"node-{i}" for i in range(n_corpus)]
    relevant = rng.integers(0, n_corpus, n_queries)
    ds = EmbeddingQAFinetuneDataset(
        queries={f"q{i}": "q" for i in range(n_queries)},
        corpus=dict.fromkeys(ids, "t"),
        relevant_docs={f"q{i}": [ids[r]] for i, r in enumerate(relevant)},
    )
    if which == "landed":
        old = landed_ranking()
        by_id = sorted(range(n_corpus), key=ids.__getitem__)
        with PeakRSS() as rss:
            started = time.perf_counter()
            idx, _ = old.exact_top_k(queries, corpus[by_id], 10)
            seconds = time.perf_counter() - started
        exact = None
    else:
        with PeakRSS() as rss:
            started = time.perf_counter()
            result = score_embeddings(ds, queries, corpus, top_k=10)
            seconds = time.perf_counter() - started
        # exactness: the top-10 of a slice of queries against a full sort of every score
        sl = normalize_rows(queries[:8])
        sims = np.concatenate(
            [sl @ normalize_rows(corpus[s : s + 65536]).T for s in range(0, n_corpus, 65536)],
            axis=1,
        )
        plain = np.argsort(-sims, axis=1, kind="stable")[:, :10]
        expected = [[ids[j] for j in row] for row in plain]
        exact = [list(r) for r in result.per_query.retrieved_ids.iloc[:8]] == expected
    emit({
        "n_corpus": n_corpus, "n_queries": n_queries, "which": which, "seconds": seconds,
        "start_rss": rss.start_rss, "peak_rss": rss.peak, "max_rss": max_rss(),
        "corpus_bytes": corpus.nbytes, "exact": exact,
    })  # fmt: skip


def evaluation_section(sizes: list[tuple[int, int]], baseline: tuple[int, int]) -> list[str]:
    rows = [child(["_eval", str(baseline[0]), str(baseline[1]), "landed"])]
    rows += [child(["_eval", str(c), str(q), "ours"]) for c, q in sizes]
    lines = [
        "### Evaluation: exact top-10 over random unit vectors (dim 384, float32)",
        "",
        "| ranking | corpus x queries | corpus array (MiB) | seconds | added during the call "
        "(MiB) | peak RSS (MiB) | top-10 = full sort |",
        "|---|---|---:|---:|---:|---:|---|",
    ]
    for r in rows:
        label = (
            "BASELINE: landed (whole corpus normalised, sorted copy)"
            if r["which"] == "landed"
            else "ours: `score_embeddings` (blocked)"
        )
        exact = "n/a" if r["exact"] is None else ("yes" if r["exact"] else "NO")
        lines.append(
            f"| {label} | {r['n_corpus']:,} x {r['n_queries']:,} | "
            f"{r['corpus_bytes'] / 2**20:.0f} | {r['seconds']:.1f} | "
            f"{(r['peak_rss'] - r['start_rss']) / 2**20:.0f} | {r['peak_rss'] / 2**20:.0f} | "
            f"{exact} |"
        )
    lines += [
        "",
        "Added during the call = peak RSS while ranking minus RSS before it (the vectors and "
        "the 1M-id dataset are already in memory). The exactness check ranks 8 queries "
        "against the whole corpus with a full sort of every score.",
        "",
    ]
    return lines


# ---- adapter engine --------------------------------------------------------------------


def run_adapter(n_pairs: int, cache_dir: str) -> None:
    import hashlib

    import torch
    from llama_index.core.embeddings import MockEmbedding
    from pydantic import PrivateAttr

    from llama_index.finetuning import EmbeddingAdapterFinetuneEngine, EmbeddingQAFinetuneDataset
    from llama_index.finetuning.embeddings.cache import EmbeddingCache

    class HashedRandomEmbedding(MockEmbedding):
        """Deterministic random unit vectors, seeded by the text: a base model that costs
        nothing, so that the engine's own time is what is measured. Queries and texts share
        one engine, so queries are embedded in batches (as OpenAI's v3 models)."""

        _query_engine: str = PrivateAttr("hashed")
        _text_engine: str = PrivateAttr("hashed")

        @classmethod
        def class_name(cls) -> str:
            return "HashedRandomEmbedding"

        def _vector(self, text: str) -> list[float]:
            seed = int.from_bytes(hashlib.sha256(text.encode()).digest()[:8], "little")
            v = np.random.default_rng(seed).standard_normal(self.embed_dim, dtype=np.float32)
            return (v / np.linalg.norm(v)).tolist()

        def _get_text_embedding(self, text: str) -> list[float]:
            return self._vector(text)

        def _get_text_embeddings(self, texts: list[str]) -> list[list[float]]:
            return [self._vector(t) for t in texts]

        def _get_query_embedding(self, query: str) -> list[float]:
            return self._vector(query)

        async def _aget_text_embeddings(self, texts: list[str]) -> list[list[float]]:
            return self._get_text_embeddings(texts)

        async def _aget_query_embedding(self, query: str) -> list[float]:
            return self._vector(query)

    class TimedEngine(EmbeddingAdapterFinetuneEngine):
        def _train(self, *args, **kwargs) -> None:
            started = time.perf_counter()
            super()._train(*args, **kwargs)
            self.train_seconds = time.perf_counter() - started

    ds = EmbeddingQAFinetuneDataset(
        queries={f"q{i}": f"question {i} about section {i}?" for i in range(n_pairs)},
        corpus={f"c{i}": f"section {i} of the filing says item {i}." for i in range(n_pairs)},
        relevant_docs={f"q{i}": [f"c{i}"] for i in range(n_pairs)},
    )
    model = HashedRandomEmbedding(embed_dim=DIM, embed_batch_size=1000)
    with PeakRSS() as rss:
        started = time.perf_counter()
        with EmbeddingCache(model, cache_dir) as cache:
            cache.embed_queries(list(ds.queries.values()))
            cache.embed_texts(list(ds.corpus.values()))
        embed_seconds = time.perf_counter() - started
        with tempfile.TemporaryDirectory() as out:
            engine = TimedEngine(
                ds, model, epochs=4, model_output_path=out, cache_dir=cache_dir, device="cpu"
            )
            started = time.perf_counter()
            engine.finetune()
            total = time.perf_counter() - started
    runs = {
        "embed_seconds": embed_seconds, "total": total, "train": engine.train_seconds,
        "computed": engine.embedding_stats["computed"],
        "reused": engine.embedding_stats["reused"],
    }  # fmt: skip
    emit({
        "n_pairs": n_pairs, "runs": runs, "peak_rss": rss.peak, "start_rss": rss.start_rss,
        "max_rss": max_rss(), "threads": torch.get_num_threads(),
        "cache_bytes": (Path(cache_dir) / "embeddings.sqlite3").stat().st_size,
    })  # fmt: skip


def adapter_section(sizes: list[int]) -> list[str]:
    rows = []
    for n in sizes:
        with tempfile.TemporaryDirectory() as cache:
            rows.append(child(["_adapter", str(n), cache]))
    lines = [
        "### Adapter engine: cached (query, chunk) vector pairs, 4 epochs, batch 10",
        "",
        "| pairs | filling the cache (s) | engine run: read cache + 4 epochs (s) | "
        "seconds per epoch | texts the engine embedded | peak RSS (MiB) | cache file (MiB) |",
        "|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for r in rows:
        run = r["runs"]
        lines.append(
            f"| {r['n_pairs']:,} | {run['embed_seconds']:.1f} | {run['total']:.1f} | "
            f"{run['train'] / 4:.1f} | {run['computed']} | {r['peak_rss'] / 2**20:.0f} | "
            f"{r['cache_bytes'] / 2**20:.0f} |"
        )
    lines += [
        "",
        "The queries and chunks are first embedded into the cache (EmbeddingCache, batches of "
        "1,000); the engine then reads every vector from it. Per epoch = the engine's "
        "training time / 4 (batch 10, one thread: the engine's setting on a CPU).",
        "",
    ]
    return lines


# ---- main ------------------------------------------------------------------------------


def main() -> None:
    if len(sys.argv) > 1 and sys.argv[1].startswith("_"):
        kind, *rest = sys.argv[1:]
        if kind == "_gen":
            run_generation(rest[0], int(rest[1]), rest[2])
        elif kind == "_eval":
            run_evaluation(int(rest[0]), int(rest[1]), rest[2])
        elif kind == "_adapter":
            run_adapter(int(rest[0]), rest[1])
        return
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--only", choices=["generation", "evaluation", "adapter"])
    parser.add_argument("--small", action="store_true", help="1/10 of every size (a try run)")
    parser.add_argument("--out", default=str(HERE / "results" / "scale.md"))
    parser.add_argument(
        "--order", default="generation,evaluation,adapter", help="sections, in this order"
    )
    args = parser.parse_args()
    d = 10 if args.small else 1
    load_before = os.getloadavg()[0]
    started = time.perf_counter()
    sections: dict[str, list[str]] = {}
    for name in args.order.split(","):
        if args.only not in (None, name):
            continue
        print(f"{name} ...", flush=True)
        if name == "generation":
            sections[name] = generation_section([5_000 // d, 20_000 // d])
        elif name == "evaluation":
            sections[name] = evaluation_section(
                [(200_000 // d, 2_000 // d), (1_000_000 // d, 10_000 // d)],
                baseline=(200_000 // d, 2_000 // d),
            )
        elif name == "adapter":
            sections[name] = adapter_section([20_000 // d, 100_000 // d])
        print("\n".join(sections[name]), flush=True)
        write_fragment(args, sections, started, load_before)


def write_fragment(args, sections: dict[str, list[str]], started: float, load: float) -> None:
    """Written after each section, so that a run stopped early keeps what it measured."""
    order = ("generation", "evaluation", "adapter")
    missing = [n for n in args.order.split(",") if n in order and n not in sections]
    if args.only:
        missing = [n for n in missing if n == args.only]
    lines = [
        "## Scale: generation, evaluation and the adapter engine at corpus size"
        if not args.only
        else f"## Scale: {args.only} at corpus size",
        "",
        f"Machine: {platform.machine()}, {os.cpu_count()} CPU cores, "
        f"{psutil.virtual_memory().total / GiB:.0f} GiB, no GPU, Python "
        f"{platform.python_version()}; "
        + (
            f"busy (shared with other jobs: load average {load:.1f} at the start), so times "
            "are upper bounds"
            if load > 0.5
            else f"quiet (load average {load:.1f} at the start)"
        )
        + f"; load average {os.getloadavg()[0]:.1f} now (this run's own processes included). "
        f"Each measurement ran in its own process; "
        f"{time.perf_counter() - started:.0f} s so far.",
        "",
        *[line for name in order for line in sections.get(name, [])],
        *([f"Still to measure: {', '.join(missing)}.", ""] if missing else []),
        "Reproduce: `flock /tmp/bench.lock .venv/bin/python benchmarks/scale.py"
        + (" --small" if args.small else "")
        + (f" --only {args.only}" if args.only else "")
        + (f" --out {args.out}" if args.only else "")
        + "`",
        "",
    ]
    Path(args.out).write_text("\n".join(lines), encoding="utf-8")


if __name__ == "__main__":
    main()
