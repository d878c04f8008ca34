"""The "Finetune Embeddings" tutorial as a script: Lyft 10-K pairs -> finetuned model -> proof.

Run:  .venv/bin/python examples/finetune_embedding.py [--max-chunks 20]  (--help: sizes)

Only the LLM line differs from the tutorial: the bundled SmolLM2 by default, OpenAI when
OPENAI_API_KEY is set. Offline, the base model is the bundled all-MiniLM-L6-v2 instead of
BAAI/bge-small-en. The evaluation uses this package's API instead of notebook loops.
"""

from __future__ import annotations

from pathlib import Path

from _common import TRAIN_FILES, VAL_FILES, base_model_id, get_llm, load_corpus, parse_args

from llama_index.finetuning import (
    EmbeddingQAFinetuneDataset,
    SentenceTransformersFinetuneEngine,
    compare,
    generate_qa_embedding_pairs,
)

args = parse_args(__doc__.splitlines()[0])
out = Path(args.output_dir)

# 1. Chunks, and an LLM writes questions for each (resumable: rerunning skips finished chunks).
train_nodes = load_corpus(TRAIN_FILES, args, verbose=True)
val_nodes = load_corpus(VAL_FILES, args, verbose=True)
llm = get_llm()
train_dataset = generate_qa_embedding_pairs(
    llm=llm,
    nodes=train_nodes,
    num_questions_per_chunk=args.num_questions,
    output_path=out / "train_dataset.json",
)
val_dataset = generate_qa_embedding_pairs(
    llm=llm,
    nodes=val_nodes,
    num_questions_per_chunk=args.num_questions,
    output_path=out / "val_dataset.json",
)

# 2. The files load back unchanged.
train_dataset = EmbeddingQAFinetuneDataset.from_json(out / "train_dataset.json")
val_dataset = EmbeddingQAFinetuneDataset.from_json(out / "val_dataset.json")

# 3. Finetune.
finetune_engine = SentenceTransformersFinetuneEngine(
    train_dataset,
    model_id=base_model_id(),
    model_output_path=str(out / "test_model"),
    val_dataset=val_dataset,
    epochs=args.epochs or 2,
)
finetune_engine.finetune()
embed_model = finetune_engine.get_finetuned_model()

# 4. Evaluate: base vs finetuned, hit rate / MRR / NDCG side by side (the tutorial's table).
comparison = compare(
    val_dataset,
    {"base": f"local:{base_model_id()}", "finetuned": embed_model},
    top_k=[5, 10],
    output_dir=out / "report",
)
print(comparison.to_markdown())
