"""What ``run`` searches a validation or report set among: every chunk the user gave.

Example::

    from llama_index.finetuning.cli.index_corpus import search_like_the_index

    sources = {"train": chunk_texts(lyft_nodes), "val": chunk_texts(uber_nodes)}
    val = search_like_the_index(val, "val", sources)   # its questions, every chunk as corpus

A set of questions asked about a sample of the user's files would otherwise search only the
chunks that got questions: with 4 chunks every model finds the answer in its top 5, and no
finetuning can show a gain. The index the model will serve holds every chunk of every file
(training and validation documents alike), so the set is searched among those. A question
set given as a file (a dataset JSON) keeps its own corpus: it already says what it searches.
"""

from __future__ import annotations

from typing import Any


def search_like_the_index(dataset: Any, own: str, sources: dict[str, dict[str, str]]) -> Any:
    """``dataset`` searched among every chunk of ``sources`` (set name -> ``{id: text}``).

    The set's own source comes first; a chunk id that another set's files share with
    another text (two files of one name, in two folders) is kept as ``<set>:<id>``, so no
    chunk of either is lost. A text already in the set is not added twice.
    """
    taken = dict(dataset.corpus)
    extra: dict[str, str] = {}
    for name in sorted(sources, key=lambda n: n != own):
        for chunk_id, text in sources[name].items():
            key = chunk_id if taken.get(chunk_id, text) == text else f"{name}:{chunk_id}"
            if taken.setdefault(key, text) == text and key not in dataset.corpus:
                extra[key] = text
    return dataset.with_corpus(extra)


def searched_line(dataset: Any, flags: list[str]) -> str:
    """How many chunks a set is searched among, and which files they come from."""
    files = " and ".join(f"--{flag}" for flag in flags)
    return (
        f"searched among {len(dataset.corpus)} chunks: every chunk of the {files} files, as "
        "an index of them would hold them"
    )
