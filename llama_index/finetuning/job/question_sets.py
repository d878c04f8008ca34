"""The job's question sets: one given as a file, the split of the validation set, and what a
set made from the user's files is searched among.

Example::

    from llama_index.finetuning.job.question_sets import search_like_the_index

    sources = {"train": chunk_texts(lyft_nodes), "val": chunk_texts(uber_nodes)}
    val = search_like_the_index(val, "val", sources)   # its questions, every chunk as corpus

A set of questions asked about a sample of the user's files would otherwise search only the
chunks that got questions: with 4 chunks every model finds the answer in its top 5, and no
finetuning can show a gain. The index the model will serve holds every chunk of every file
(training and validation documents alike), so the set is searched among those. A question
set given as a file (a dataset JSON) keeps its own corpus: it already says what it searches.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from ..errors import SettingError
from ..outputs import dataset_keys
from ..phrasing import PYTHON, Phrasing


def is_question_set(path: Path) -> bool:
    """A ``.json`` file holding an object with any of the dataset keys: a question set
    (a broken one is an error, not a document). Any other file is a document."""
    return path.suffix.lower() == ".json" and path.is_file() and bool(dataset_keys(path))


def load_question_set(flag: str, paths: list[str]) -> tuple[str, Any] | None:
    """``(path, dataset)`` when ``paths`` is one question set; None when they are documents.

    Raises:
        SettingError: a question set mixed with documents or with another set, one that is
            not a consistent dataset, or one without questions.
    """
    from ..dataset import EmbeddingQAFinetuneDataset

    sets = [p for p in paths if is_question_set(Path(p))]
    if not sets:
        return None
    if len(paths) > 1:
        others = [p for p in paths if p not in sets]
        what = f"the documents {', '.join(others)}" if others else f"{len(sets)} question sets"
        raise SettingError(
            f"{flag}: {sets[0]} is a question set (a dataset JSON) and {flag} also names "
            f"{what}: give {flag} either one question set or documents to ask about"
        )
    path = sets[0]
    try:
        dataset = EmbeddingQAFinetuneDataset.from_json(path)
    except ValueError as e:
        raise SettingError(f"{flag}: {e}") from None
    if not len(dataset):
        raise SettingError(
            f"{flag}: {path}: the question set has no questions; give one with questions, "
            "or documents to ask about"
        )
    return path, dataset


def answer_chunk_ids(dataset: Any) -> list[str]:
    """The ids of the chunks that answer ``dataset``'s questions, sorted."""
    from ..embeddings.checking_set import answer_chunks

    return sorted(answer_chunks(dataset))


def split_val(
    val: Any, origin: str, report_fraction: float, seed: int, out: Path, say: Phrasing = PYTHON
) -> tuple[Any, Any, str]:
    """(selection set, report set, where the report set comes from), split by chunk; both
    parts are saved in ``out``."""
    answers = answer_chunk_ids(val)
    test = say.name("test")
    if len(answers) < 2:
        raise SettingError(
            f"{origin} has questions on {len(answers)} chunk(s): too few to split into a "
            f"selection part and a report part; give more ({say.name('max_val_chunks')}) "
            f"or {test}"
        )
    # Both parts search every val chunk; only their questions (and answers) are disjoint.
    try:
        select, report = val.split(report_fraction, seed=seed, keep_corpus=True)
    except ValueError as e:
        raise SettingError(f"{origin}: {e}; give {test}") from None
    select.save_json(out / "val_select.json")
    report.save_json(out / "val_report.json")
    return select, report, f"the report part of {origin} ({out / 'val_report.json'})"


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


def searched_line(dataset: Any, names: list[str]) -> str:
    """How many chunks a set is searched among, and which files (``names``, as said)."""
    files = " and ".join(names)
    return (
        f"searched among {len(dataset.corpus)} chunks: every chunk of the {files} files, as "
        "an index of them would hold them"
    )
