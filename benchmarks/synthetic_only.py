"""Synthetic-only finetuning on two domains: does the bundled writer's data help or harm?

Reproduce (a quiet 2-core machine; the pyref questions are cached, so ~30-60 min of training
and scoring):

    flock /tmp/bench.lock env HF_HUB_OFFLINE=1 .venv/bin/python benchmarks/synthetic_only.py
    ... synthetic_only.py --stage write --domains pyref   # only the questions (cached)
    ... synthetic_only.py --stage report                  # the page from the kept scores

Questions from the bundled writer (SmolLM2-135M, ``--llm local``) through the CLI's
``generate`` gate (rule filters, round trip through the base model at k=10), cached in
``benchmarks/results/synthetic_only_pairs_<domain>.json``; all-MiniLM-L6-v2 finetuned as
``llamaindex-finetune train`` would without ``--val`` (the engine's defaults, nothing merged),
training seeds 42, 43, 44, each on 80% of the pairs (20% of the answer chunks held out, as
the guard holds them out):

* **10k**: SmolLM2's questions on every chunk of the Lyft 2021 10-K
  (``benchmarks/data/lyft_train.json``: the CLI's default chunking and two questions a chunk,
  written once by ``make_datasets.py``), gated here; selection set ``uber_reference.json``,
  report set ``uber_report.json`` (Uber queries no writer of this package wrote).
* **pyref**: a seeded sample of the Python 3.11 language reference chunks
  (``make_pyref.pyref_nodes``, 512/64), written by ``cli.steps.generate_dataset`` with the
  CLI's defaults (two questions a chunk); selection set ``pyref_select.json``, report set
  ``pyref_report.json`` (hand-written, see ``benchmarks/data/pyref.md``).

Each finetuned model is merged with its base at weights 1.0 (as trained), 0.5, 0.25 and 0.75
(``merge_with_base``: the share of the finetuned weights; 1.0 and 0.5 are scored for every
seed first, then 0.25, then 0.75). The weight is chosen on the selection sets and reported on the report
sets, with paired bootstrap intervals and wins/losses (``llama_index.finetuning.evaluation``).
Every model is also scored on its seed's synthetic hold-out: would the hold-out have ranked
the models (and the base) as the human selection set does? Per-question scores are kept in
``benchmarks/results/synthetic_only.json`` as they come; a rerun resumes.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import subprocess
import time
from pathlib import Path

import numpy as np
from make_pyref import pyref_nodes
from two_domains import DATA, DOMAINS, merged, ndcg, train

from llama_index.finetuning import EmbeddingQAFinetuneDataset
from llama_index.finetuning.cli.parser import build_parser
from llama_index.finetuning.cli.steps import IncompleteRun, generate_dataset
from llama_index.finetuning.documents import sample_chunks
from llama_index.finetuning.evaluation import compare
from llama_index.finetuning.evaluation.stats import paired_difference
from llama_index.finetuning.resources import offline_base_model_path

HERE = Path(__file__).resolve().parent
RESULTS = HERE / "results"
LYFT_PAIRS = DATA / "lyft_train.json"
WEIGHTS = (1.0, 0.75, 0.5, 0.25)
GROUPS = ((1.0, 0.5), (0.25,), (0.75,))  # the order models are scored in
HOLDOUT = 0.2


def machine(note: str = "") -> str:
    """This machine and its load now, with what else ran on it (``--note``)."""
    load = os.getloadavg()[0]
    return (
        f"{platform.machine()}, {os.cpu_count()} CPU cores (1-min load {load:.1f} at the "
        f"start), no GPU, Python {platform.python_version()}" + (f"; {note}" if note else "")
    )


def domain_nodes(args: argparse.Namespace, gen: argparse.Namespace) -> list:
    return sample_chunks(pyref_nodes(), args.pyref_chunks, seed=gen.seed)


def gate_lyft() -> tuple[EmbeddingQAFinetuneDataset, dict]:
    """SmolLM2's questions on every Lyft chunk (``lyft_train.json``, written once by
    ``make_datasets.py``), through the gate ``generate`` applies (rules + round trip, k=10)."""
    from llama_index.embeddings.huggingface import HuggingFaceEmbedding

    from llama_index.finetuning.generation.filters import filter_pairs

    raw = EmbeddingQAFinetuneDataset.from_json(LYFT_PAIRS)
    base = HuggingFaceEmbedding(model_name=str(offline_base_model_path()))
    kept, gate = filter_pairs(raw, round_trip_model=base, round_trip_top_k=10)
    meta = json.loads(LYFT_PAIRS.with_suffix(".meta.json").read_text())
    return kept, {
        "source": f"{LYFT_PAIRS.name} ({meta['command']}): chunk_size 1024, overlap 200 and two "
        "questions a chunk (the CLI's defaults), gated here as generate gates",
        "chunks_asked": meta["chunks"],
        "questions_written": len(raw.queries),
        "dropped": dict(gate.dropped),
    }


def write(domain: str, args: argparse.Namespace) -> EmbeddingQAFinetuneDataset:
    """The writer's gated pairs for ``domain``, from the cache or written now (resumable)."""
    cache = RESULTS / f"synthetic_only_pairs_{domain}.json"
    meta_path = cache.with_suffix(".meta.json")
    if meta_path.exists():
        return EmbeddingQAFinetuneDataset.from_json(cache)
    started = time.perf_counter()
    if domain == "10k":
        ds, meta = gate_lyft()
        ds.save_json(str(cache))
    else:
        gen = build_parser().parse_args(["generate", "-", *DOMAINS[domain]["generate"]])
        nodes = domain_nodes(args, gen)
        journal = cache.with_name(cache.name + ".journal.jsonl")
        if args.written_only and journal.exists():  # the writing budget ran out: keep what is
            done = {json.loads(line)["node_id"] for line in journal.read_text().splitlines()}
            nodes = [n for n in nodes if n.node_id in done]
        try:
            ds, incomplete = generate_dataset(nodes, cache, gen), None
        except IncompleteRun as e:  # chunks with no question: kept as the CLI keeps them
            ds, incomplete = EmbeddingQAFinetuneDataset.from_json(cache), str(e)
        meta = {
            "source": "cli.steps.generate_dataset, the bundled SmolLM2-135M (--llm local), "
            "CLI defaults but " + " ".join(DOMAINS[domain]["generate"]),
            "chunks_asked": len(nodes),
            "sample": f"seeded sample of {args.pyref_chunks} chunks"
            + (", only those written before the time budget ran out" if args.written_only else ""),
            "incomplete": incomplete,
        }
    meta.update({
        "chunks_with_questions": len({d[0] for d in ds.relevant_docs.values()}),
        "questions_kept": len(ds.queries),
        "seconds": round(time.perf_counter() - started),
        "machine": machine(args.note),
    })  # fmt: skip
    meta_path.write_text(json.dumps(meta, indent=2) + "\n")
    print(f"{domain}: {json.dumps(meta)}", flush=True)
    return ds


def name_of(weight: float, seed: int) -> str:
    return f"w{weight} s{seed}"


def holdout_split(pairs: EmbeddingQAFinetuneDataset, seed: int):
    """(training part, hold-out): a share of the answer chunks with all their questions held
    out; the hold-out searches every answer chunk, the training part never sees them."""
    train_part, held = pairs.split(HOLDOUT, seed=seed, keep_corpus=True)
    held_chunks = {d for docs in held.relevant_docs.values() for d in docs}
    answers = {d for docs in pairs.relevant_docs.values() for d in docs}
    train_part = EmbeddingQAFinetuneDataset(
        queries=train_part.queries,
        corpus={k: v for k, v in pairs.corpus.items() if k not in held_chunks},
        relevant_docs=train_part.relevant_docs,
    )
    held = EmbeddingQAFinetuneDataset(
        queries=held.queries, corpus={k: pairs.corpus[k] for k in answers},
        relevant_docs=held.relevant_docs,
    )  # fmt: skip
    return train_part, held


def score_all(args: argparse.Namespace) -> dict:
    """Train, merge and score every model, seed by seed; the per-question NDCG@10 of each is
    kept in ``<out>.json`` as it comes, so a cut-short run can be resumed or reported."""
    from llama_index.embeddings.huggingface import HuggingFaceEmbedding

    from llama_index.finetuning.embeddings.base_models import load_sentence_transformer

    store_path = args.out.with_suffix(".json")
    store = json.loads(store_path.read_text()) if store_path.exists() else {}

    def keep(domain: str, part: str, name: str, dataset, model) -> None:
        comparison = compare(dataset, {name: model}, top_k=[1, 5, 10])
        store[domain].setdefault(part, {})[name] = ndcg(comparison, name).tolist()
        store_path.write_text(json.dumps(store) + "\n")
        print(f"{domain} {part} {name}: NDCG@10 {comparison.table.loc[name, 'ndcg@10']:.4f}",
              flush=True)  # fmt: skip

    base_st = load_sentence_transformer("offline")
    base = HuggingFaceEmbedding(model_name=str(offline_base_model_path()))
    pairs, sets = {}, {}
    for domain in args.domains:
        pairs[domain] = write(domain, args)
        sets[domain] = {part: EmbeddingQAFinetuneDataset.from_json(DOMAINS[domain][part])
                        for part in ("select", "report")}  # fmt: skip
        store.setdefault(domain, {})["pairs"] = {
            "questions": len(pairs[domain].queries),
            "chunks": len({d[0] for d in pairs[domain].relevant_docs.values()}),
        }
        for part, dataset in sets[domain].items():
            if "base" not in store[domain].get(part, {}):
                keep(domain, part, "base", dataset, base)
    for group in GROUPS:  # every seed of the ends first: a run cut short can still choose
        for seed in range(args.seeds):
            for domain in args.domains:
                part_train, held = holdout_split(pairs[domain], seed)
                held_part = f"holdout{seed}"
                sizes = store[domain].setdefault("holdout_sizes", {})
                sizes[str(seed)] = [len(held.queries), len(part_train.queries)]
                if "base" not in store[domain].get(held_part, {}):
                    keep(domain, held_part, "base", held, base)
                folder = args.work / domain / f"seed{seed}"
                if not (folder / "modules.json").exists():
                    started = time.perf_counter()
                    train(part_train, folder, 42 + seed)
                    print(f"{domain} seed {seed}: trained in "
                          f"{time.perf_counter() - started:.0f} s", flush=True)  # fmt: skip
                for weight in group:
                    name = name_of(weight, seed)
                    if name in store[domain].get("report", {}):
                        continue
                    model = HuggingFaceEmbedding(model_name=merged(folder, base_st, weight))
                    keep(domain, held_part, name, held, model)
                    keep(domain, "select", name, sets[domain]["select"], model)
                    keep(domain, "report", name, sets[domain]["report"], model)
    return store


def seeds_of(scores: dict, part: str, weight: float) -> list[int]:
    return [s for s in range(10) if name_of(weight, s) in scores.get(part, {})]


def gain(scores: dict, part: str, weight: float):
    """Seed-averaged per-query NDCG@10 against the base: a PairedDifference, and each seed's."""
    each = [np.asarray(scores[part][name_of(weight, s)]) for s in seeds_of(scores, part, weight)]
    base = np.asarray(scores[part]["base"])
    pooled = paired_difference(np.mean(each, axis=0), base, "ndcg@10")
    return pooled, [float((e - base).mean()) for e in each]


def choose(all_scores: dict) -> tuple[float, list[str]]:
    """The weight that is not worse than the base beyond noise on any selection part (upper
    end of the interval >= 0) and has the highest gain averaged over the domains."""
    notes, best = [], None
    for weight in WEIGHTS:
        if not all(seeds_of(s, "select", weight) for s in all_scores.values()):
            notes.append(f"{weight}: not scored")
            continue
        diffs = {d: gain(s, "select", weight)[0] for d, s in all_scores.items()}
        safe = all(d.high >= 0 for d in diffs.values())
        mean = float(np.mean([d.difference for d in diffs.values()]))
        notes.append(f"{weight}: mean gain {mean:+.4f}, " + ("no" if safe else "a")
                     + " loss beyond noise on a selection part")  # fmt: skip
        if safe and (best is None or mean > best[1]):
            best = (weight, mean)
    return (best[0] if best else 0.0), notes


def kendall(a: list[float], b: list[float]) -> float:
    from scipy.stats import kendalltau

    return float(kendalltau(a, b).statistic)


def holdout_lines(all_scores: dict) -> list[str]:
    """Does the synthetic hold-out rank base and merge weights as the human selection set?"""
    lines = [
        "| domain | seed | held-out / training questions | hold-out: as trained minus base "
        "| selection set: as trained minus base | hold-out's best | selection set's best "
        "| Kendall tau |",
        "|---|---:|---:|---:|---:|---|---|---:|",
    ]
    agree = {"sign": 0, "best": 0, "runs": 0}
    for domain, scores in all_scores.items():
        for seed, sizes in sorted(scores.get("holdout_sizes", {}).items()):
            held = scores.get(f"holdout{seed}", {})
            labels = ["base"] + [w for w in WEIGHTS if name_of(w, int(seed)) in held]
            if len(labels) < 2 or 1.0 not in labels:
                continue
            names = ["base"] + [name_of(w, int(seed)) for w in labels[1:]]
            on_held = [float(np.mean(held[n])) for n in names]
            on_select = [float(np.mean(scores["select"][n])) for n in names]
            lines.append(
                f"| {domain} | {seed} | {sizes[0]} / {sizes[1]} "
                f"| {on_held[1] - on_held[0]:+.4f} | {on_select[1] - on_select[0]:+.4f} "
                f"| {labels[int(np.argmax(on_held))]} | {labels[int(np.argmax(on_select))]} "
                f"| {tau_text(on_held, on_select)} ({len(names)} models) |"
            )
            agree["sign"] += (on_held[1] > on_held[0]) == (on_select[1] > on_select[0])
            agree["best"] += int(np.argmax(on_held)) == int(np.argmax(on_select))
            agree["runs"] += 1
    return lines + [
        "",
        f"In {agree['sign']} of {agree['runs']} runs the hold-out and the selection set agree on "
        "whether the model as trained beats the base; in "
        f"{agree['best']} of {agree['runs']} they pick the same model. The hold-out's questions "
        "passed the round-trip gate, i.e. the base model already ranks their chunk in its top "
        "10 of the chunks the writer was asked about (the hold-out searches fewer, the answer "
        "chunks): the base scores high on them by construction, so the "
        "hold-out leans towards keeping the base (a false alarm costs a gain; it does not "
        "ship harm).",
    ]


def tau_text(a: list[float], b: list[float]) -> str:
    if len(set(a)) < 2 or len(set(b)) < 2:
        return "n/a (all tied)"
    return f"{kendall(a, b):+.2f}"


def pyref_asked(args: argparse.Namespace) -> str:
    meta = RESULTS / "synthetic_only_pairs_pyref.meta.json"
    return str(json.loads(meta.read_text())["chunks_asked"]) if meta.exists() else "?"


def report(all_scores: dict, args: argparse.Namespace, where: str, minutes: float | None) -> None:
    commit = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=HERE, text=True,
                            capture_output=True).stdout.strip()  # fmt: skip
    chosen, notes = choose(all_scores)
    lines = [
        "## Synthetic-only finetuning on two domains (bundled writer, CLI defaults)",
        "",
        "The bundled writer (SmolLM2-135M) writes questions with the CLI's `generate` defaults "
        "(10-K: its questions on every Lyft 2021 10-K chunk, written once for "
        "`benchmarks/data/lyft_train.json` with the CLI's default chunking and two questions a "
        "chunk, through the gate `generate` applies; pyref: a seeded sample of "
        f"{pyref_asked(args)} Python 3.11 language reference chunks, two questions a chunk); "
        "all-MiniLM-L6-v2 is finetuned with `train`'s defaults on 80% of the kept pairs "
        "(20% of the answer chunks held out, as the guard holds them out), seeds 42-"
        f"{41 + args.seeds}, and merged with the base at each weight. Scores are NDCG@10 on "
        "hand-written questions no writer of this package wrote; gains are the seed-averaged "
        "model minus the base, [95% paired bootstrap interval over questions], wins/losses "
        "of the seed-averaged per-question score. "
        f"Code at {commit}. Machine: {where}; no timing here is relied on"
        + (f"; this run took {minutes:.0f} min." if minutes else "."),
        "",
    ]
    for domain, scores in all_scores.items():
        meta_path = RESULTS / f"synthetic_only_pairs_{domain}.meta.json"
        meta = json.loads(meta_path.read_text()) if meta_path.exists() else {}
        lines += [
            f"### {domain}: {scores['pairs']['questions']} kept pairs on "
            f"{scores['pairs']['chunks']} chunks ({meta.get('chunks_asked', '?')} asked)",
            "",
            "| merge weight | part | base NDCG@10 | gain [95% CI] | wins/losses | each seed |",
            "|---|---|---:|---|---:|---|",
        ]
        for weight in WEIGHTS:
            for part in ("select", "report"):
                if not seeds_of(scores, part, weight):
                    continue
                d, each = gain(scores, part, weight)
                base = float(np.mean(scores[part]["base"]))
                lines.append(
                    f"| {weight} | {DOMAINS[domain][part].name} | {base:.4f} "
                    f"| {d.difference:+.4f} [{d.low:+.4f}, {d.high:+.4f}] | {d.wins}/{d.losses} "
                    f"| {' / '.join(f'{e:+.4f}' for e in each)} |"
                )
        lines.append("")
    lines += [
        "### The merge weight, chosen on the selection parts",
        "",
        "Rule: the weight with the highest gain averaged over both domains' selection parts "
        "among those whose interval's upper end is >= 0 on each (no loss beyond noise).",
        "",
        *(f"- {n}" for n in notes),
        "",
        f"**Chosen: {chosen}.** On the report parts (which chose nothing):",
        "",
    ]
    for domain, scores in all_scores.items():
        d, each = gain(scores, "report", chosen) if chosen else (None, [])
        if d is not None:
            lines.append(
                f"- {domain}: {d.difference:+.4f} [{d.low:+.4f}, {d.high:+.4f}], "
                f"wins/losses {d.wins}/{d.losses}, seeds {' / '.join(f'{e:+.4f}' for e in each)}"
            )
    lines += [
        "",
        "### Would a synthetic hold-out have caught harm?",
        "",
        "Each seed's training held out 20% of the answer chunks of the synthetic pairs (with "
        "all their questions; they search every answer chunk of the pairs). Below, the "
        "hold-out's and the human selection set's view of the same models (base and that "
        "seed's merge weights): does the hold-out see the gain or loss the human questions see, "
        "and does it pick the same model? Kendall tau: agreement of the two rankings.",
        "",
        *holdout_lines(all_scores),
        "",
        "Reproduce: `flock /tmp/bench.lock env HF_HUB_OFFLINE=1 .venv/bin/python "
        "benchmarks/synthetic_only.py` (the written questions are cached in "
        "`benchmarks/results/synthetic_only_pairs_*.json`; per-question scores in "
        "`benchmarks/results/synthetic_only.json`).",
    ]
    args.out.write_text("\n".join(lines) + "\n")
    print("\n".join(lines))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--stage", choices=("write", "all", "report"), default="all")
    parser.add_argument("--domains", nargs="+", default=list(DOMAINS), choices=list(DOMAINS))
    parser.add_argument("--pyref-chunks", type=int, default=40, help="seeded sample to write on")
    parser.add_argument(
        "--written-only",
        action="store_true",
        help="--stage write: keep only the chunks an interrupted writing run finished",
    )
    parser.add_argument("--seeds", type=int, default=3)
    parser.add_argument("--work", type=Path, default=HERE / "out" / "synthetic_only")
    parser.add_argument("--out", type=Path, default=RESULTS / "synthetic_only.md")
    parser.add_argument("--note", default="", help="what else ran on the machine, for the page")
    args = parser.parse_args()
    if args.stage == "write":
        for domain in args.domains:
            write(domain, args)
        return
    where, started = machine(args.note), time.perf_counter()
    if args.stage == "report":
        all_scores, minutes = json.loads(args.out.with_suffix(".json").read_text()), None
    else:
        all_scores = score_all(args)
        minutes = (time.perf_counter() - started) / 60
    report({d: all_scores[d] for d in args.domains if d in all_scores}, args, where, minutes)


if __name__ == "__main__":
    main()
