"""The checking set's candidates: what a checking question is ranked among while training.

Example::

    from llama_index.finetuning.embeddings.candidates import base_candidates

    found = base_candidates(val, base_model, per_question=50)
    len(found.checking.corpus)    # <= 50 per question + their answers, whatever the corpus size
    found.base_scores.summary["ndcg@10"]     # the base model, ranked over the whole corpus

Checking a model (choosing its checkpoint, its merge weight, comparing it with the base)
ranks the checking questions again and again. Over the whole corpus each evaluation would
embed every chunk: on a 50k-chunk corpus that is more work than the training itself. So the
base model ranks the whole corpus **once**, before training; each question keeps its
``per_question`` best chunks and its answers, and every later evaluation ranks among the
union of these (the *candidates*) only.

What this costs in accuracy, stated: the base model's NDCG@10 among the candidates equals its
NDCG@10 over the whole corpus (its top 10 are candidates; an answer it ranks below
``per_question`` scores 0 at 10 either way), and those base scores, computed in the same pass,
are reused for the final comparison. A trained model's score among the candidates is an
upper bound of its whole-corpus score: it can only be lower over the whole corpus if a chunk
the base ranked below ``per_question`` enters its top 10. ``benchmarks/guard_cost.py``
measures how often the checkpoint and the verdict differ from whole-corpus ones.

A corpus larger than ``pool`` chunks (default 5,000) is not ranked whole even once: the base
model ranks a seeded sample of ``pool`` chunks that holds every answer, so the pass before
training costs the same on 50k chunks as on 5k. The accuracy this costs, stated: every model
is ranked among the same sample, so the comparison (checkpoint, merge weight, base or not) is
between equals; the scores themselves are those of a smaller collection, higher than over
the whole corpus (an answer's rank among a uniform sample of a share ``s`` of the other
chunks is, on average, ``1 + s * (whole-corpus rank - 1)``). The result says so
(``ranked_among`` of ``corpus_size``).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from ..dataset import EmbeddingQAFinetuneDataset

#: Chunks kept per checking question (the base model's best), besides its answers.
#: ``benchmarks/results/guard_cost.md`` compares 20, 50 and 100 with the whole corpus.
DEFAULT_CANDIDATES = 50
#: Chunks the base model ranks at most before training (a seeded sample holding every answer).
DEFAULT_POOL = 5_000


@dataclass(frozen=True)
class Candidates:
    """The checking set narrowed to its candidates, and the base model's scores on it.

    Attributes:
        checking: the checking questions and answers; its corpus is the candidates only.
        base_scores: the base model's ``EvaluationResult`` over the whole corpus, or over
            the pool when the corpus is larger (per question; metrics at 1, 5, 10).
        corpus_size: chunks in the whole corpus the candidates were taken from.
        pool_size: chunks the base model ranked (``corpus_size`` unless it was sampled).
        per_question: the base model's best chunks kept per question.
    """

    checking: EmbeddingQAFinetuneDataset
    base_scores: Any
    corpus_size: int
    per_question: int
    pool_size: int = 0


def check_candidates(per_question: Any) -> int | None:
    """``per_question`` as a whole number >= 10 (NDCG@10 needs 10), or ``None`` (whole corpus)."""
    if per_question is None:
        return None
    if isinstance(per_question, bool) or not isinstance(per_question, int) or per_question < 10:
        raise ValueError(
            "candidates must be a whole number >= 10 (the base model's best chunks kept per "
            f"checking question) or None (rank over the whole corpus), got {per_question!r}"
        )
    return per_question


def encode(model: Any, texts: list[str], prompt: str, batch_size: int) -> np.ndarray:
    """Normalised float32 embeddings of ``texts`` by a SentenceTransformer, with ``prompt``."""
    return model.encode(
        texts, prompt=prompt or None, batch_size=batch_size, convert_to_numpy=True,
        normalize_embeddings=True, show_progress_bar=False,
    )  # fmt: skip


def base_candidates(
    dataset: EmbeddingQAFinetuneDataset,
    model: Any,
    per_question: int = DEFAULT_CANDIDATES,
    prompts: tuple[str, str] = ("", ""),
    batch_size: int = 32,
    passage_vectors: dict[str, np.ndarray] | None = None,
    pool: int | None = DEFAULT_POOL,
    seed: int = 0,
) -> Candidates:
    """Rank ``dataset.corpus`` once with the base ``model``; keep each question's best
    ``per_question`` chunks and its answers (see the module's docstring).

    ``passage_vectors``: ``{chunk text: embedding}`` the same model already made with the
    same passage prompt (the hard-negative mining pass); only the other chunks are embedded.
    ``pool``: a corpus larger than this is ranked as a sample of ``pool`` chunks holding every
    answer (seeded by ``seed``); ``None`` ranks the whole corpus whatever its size.
    """
    from ..evaluation import score_embeddings
    from ..evaluation.ranking import exact_top_k

    per_question = check_candidates(per_question) or DEFAULT_CANDIDATES
    corpus_size = len(dataset.corpus)
    dataset = sampled_pool(dataset, pool, seed)
    query_prompt, passage_prompt = prompts
    queries = encode(model, list(dataset.queries.values()), query_prompt, batch_size)
    known = passage_vectors or {}
    missing = list(dict.fromkeys(t for t in dataset.corpus.values() if t not in known))
    if missing:
        vectors = encode(model, missing, passage_prompt, batch_size)
        known = {**known, **dict(zip(missing, vectors, strict=True))}
    corpus = np.stack([known[t] for t in dataset.corpus.values()])
    base_scores = score_embeddings(dataset, queries, corpus, top_k=[1, 5, 10], name="base")
    ids = list(dataset.corpus)
    top, _ = exact_top_k(queries, corpus, per_question)
    kept = {ids[i] for i in np.unique(top)}
    kept.update(d for docs in dataset.relevant_docs.values() for d in docs)
    checking = EmbeddingQAFinetuneDataset(
        queries=dict(dataset.queries),
        corpus={d: t for d, t in dataset.corpus.items() if d in kept},
        relevant_docs={q: list(docs) for q, docs in dataset.relevant_docs.items()},
        mode=dataset.mode,
    )
    return Candidates(checking, base_scores, corpus_size, per_question, len(dataset.corpus))


def sampled_pool(
    dataset: EmbeddingQAFinetuneDataset, pool: int | None, seed: int = 0
) -> EmbeddingQAFinetuneDataset:
    """``dataset`` with its corpus cut to a seeded sample of ``pool`` chunks that holds every
    answer; ``dataset`` itself if its corpus is no larger than ``pool`` (or ``pool`` is None).

    >>> small = sampled_pool(big, pool=5_000)      # len(small.corpus) == 5_000
    """
    import random

    if pool is None or len(dataset.corpus) <= pool:
        return dataset
    answers = {d for docs in dataset.relevant_docs.values() for d in docs if d in dataset.corpus}
    others = [d for d in dataset.corpus if d not in answers]
    kept = answers | set(random.Random(seed).sample(others, max(0, pool - len(answers))))
    return EmbeddingQAFinetuneDataset(
        queries=dict(dataset.queries),
        corpus={d: t for d, t in dataset.corpus.items() if d in kept},
        relevant_docs={q: list(docs) for q, docs in dataset.relevant_docs.items()},
        mode=dataset.mode,
    )
