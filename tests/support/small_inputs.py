"""The smallest real inputs of a whole run: a user's own question set, short documents of
distinct sentences, and `run`'s flags at their fastest (pseudo-queries: no LLM).

Example::

    from support.small_inputs import fast_run, question_set, write_prose

    argv = fast_run("--train", write_prose(tmp_path / "docs"), "--test", question_set(tmp_path / "q.json"))
"""

from __future__ import annotations

from llama_index.finetuning import EmbeddingQAFinetuneDataset


def question_set(path, n=6, prefix="ref"):
    """A small dataset JSON with one distractor chunk, as a user's own question set."""
    topics = ["revenue", "drivers", "insurance", "bikes", "scooters", "airports"]
    EmbeddingQAFinetuneDataset(
        queries={f"{prefix}-q{i}": f"What about {topics[i % 6]} in year {i}?" for i in range(n)},
        corpus={
            **{
                f"{prefix}-c{i}": f"In year {i}, {topics[i % 6]} grew by {i} percent."
                for i in range(n)
            },
            f"{prefix}-distractor": "The board met four times.",
        },
        relevant_docs={f"{prefix}-q{i}": [f"{prefix}-c{i}"] for i in range(n)},
    ).save_json(path)
    return path


def write_prose(folder, n=4, shift=0):
    """``n`` short documents of distinct sentences (pseudo-queries need sentences of their own);
    ``shift`` gives other texts under the same file names."""
    folder.mkdir(exist_ok=True)
    things = ["ride sharing revenue", "driver incentives", "insurance reserves", "bike rentals"]
    for i in range(n):
        k = i + shift
        (folder / f"doc{i}.txt").write_text(
            f"In fiscal year {2018 + k} the company reported growth in {things[k % 4]} across "
            f"its {k + 3} largest markets. Management attributed the change in {things[k % 4]} "
            f"to pricing decisions made during quarter {k % 4 + 1} of that year."
        )
    return folder


def fast_run(*argv):
    """`run` at its smallest: pseudo-queries (no LLM), one epoch of each training."""
    return ["run", *map(str, argv), "--generator", "pseudo", "--num-questions", "1",
            "--epochs", "1", "--adapter-epochs", "1"]  # fmt: skip
