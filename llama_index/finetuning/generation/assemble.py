"""The dataset a generation run returns: every chunk's raw questions, the quality gate, at
most ``n`` questions a chunk, in the nodes' order.

Example::

    dataset = await assemble_dataset(
        texts, done, extra={}, report=GenerationReport(chunks=len(texts)), n=2,
        template=DEFAULT_QA_GENERATE_PROMPT_TMPL, quality_filter=True,
        round_trip_model=None, round_trip_top_k=10,
    )

``texts`` maps node id -> chunk text, ``done`` node id -> {question id: question} for the
chunks that got questions, ``extra`` the journal entries of chunks not among the nodes
(kept with ``append=True``). The counts of what the gate dropped go to ``report``.
"""

from __future__ import annotations

import logging

from ..dataset import EmbeddingQAFinetuneDataset
from .filters import afilter_pairs

logger = logging.getLogger(__name__)


async def assemble_dataset(
    texts, done, extra, report, n, template, quality_filter, round_trip_model, round_trip_top_k
) -> EmbeddingQAFinetuneDataset:
    """All raw questions -> the quality gate -> at most ``n`` per chunk, in the nodes' order."""
    texts = dict(texts)
    for nid, entry in extra.items():
        done.setdefault(nid, entry.questions)
        texts.setdefault(nid, entry.text)
        report.appended += 1
    order = [nid for nid in texts if nid in done]
    raw = EmbeddingQAFinetuneDataset(
        queries={qid: q for nid in order for qid, q in done[nid].items()},
        corpus={nid: texts[nid] for nid in order},
        relevant_docs={qid: [nid] for nid in order for qid in done[nid]},
    )
    report.raw_questions = len(raw.queries)
    if quality_filter or round_trip_model is not None:
        filtered, freport = await afilter_pairs(
            raw, quality_filter, round_trip_model, round_trip_top_k, prompt_tmpl=template
        )
        report.dropped, report.emptied = freport.dropped, freport.chunks_emptied
        report.cleaned, report.drop_examples = freport.cleaned, freport.examples
        if report.dropped or report.cleaned:
            logger.info("quality gate: %d of %d questions kept (%d cleaned); dropped %s",
                        freport.kept, freport.questions, freport.cleaned, report.dropped)  # fmt: skip
    else:
        filtered = raw
    queries: dict[str, str] = {}
    relevant: dict[str, list[str]] = {}
    for nid in order:
        kept = [qid for qid in done[nid] if qid in filtered.queries][:n]
        report.short += len(kept) < n
        for qid in kept:
            queries[qid], relevant[qid] = filtered.queries[qid], [nid]
    report.questions = len(queries)
    return EmbeddingQAFinetuneDataset(queries=queries, corpus=raw.corpus, relevant_docs=relevant)
