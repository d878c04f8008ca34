"""The "Finetuning an Adapter" tutorial as a script: linear, two-layer and custom adapters.

Run:  .venv/bin/python examples/finetune_embedding_adapter.py [--max-chunks 20]  (--help: sizes)

The base model stays frozen (the index built with it needs no re-embedding); only queries
go through the adapter. Only the LLM line differs from the tutorial (local SmolLM2 by
default, OpenAI when OPENAI_API_KEY is set); offline, the base is the bundled MiniLM.
"""

from __future__ import annotations

from pathlib import Path

import torch
import torch.nn.functional as F
from _common import TRAIN_FILES, VAL_FILES, base_model_id, get_llm, load_corpus, parse_args
from llama_index.core.embeddings import resolve_embed_model
from torch import nn

from llama_index.embeddings.adapter import AdapterEmbeddingModel
from llama_index.finetuning import (
    EmbeddingAdapterFinetuneEngine,
    compare,
    generate_qa_embedding_pairs,
)
from llama_index.finetuning.embeddings.adapter_utils import BaseAdapter, TwoLayerNN

args = parse_args(__doc__.splitlines()[0])
out = Path(args.output_dir)

train_nodes = load_corpus(TRAIN_FILES, args)
val_nodes = load_corpus(VAL_FILES, args)
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

base_embed_model = resolve_embed_model(f"local:{base_model_id()}")
dim = len(base_embed_model.get_text_embedding("dimension"))

# Linear adapter, 4 epochs.
finetune_engine = EmbeddingAdapterFinetuneEngine(
    train_dataset,
    base_embed_model,
    model_output_path=str(out / "model_output_test"),
    epochs=args.epochs or 4,
    verbose=True,
)
finetune_engine.finetune()
linear_model = finetune_engine.get_finetuned_model()

# Two-layer adapter, 25 epochs, checkpoints on the way.
adapter_model = TwoLayerNN(dim, 1024, dim, bias=True, add_residual=True)
finetune_engine = EmbeddingAdapterFinetuneEngine(
    train_dataset,
    base_embed_model,
    model_output_path=str(out / "model5_output_test"),
    model_checkpoint_path=str(out / "model5_ck"),
    adapter_model=adapter_model,
    epochs=args.epochs or 25,
    verbose=True,
)
finetune_engine.finetune()
two_layer_model = finetune_engine.get_finetuned_model(adapter_cls=TwoLayerNN)


# A custom adapter, as in the tutorial.
class CustomNN(BaseAdapter):
    def __init__(self, in_features, hidden_features, out_features, bias=False, dropout=True):
        super().__init__()
        self.in_features, self.hidden_features, self.out_features = (
            in_features,
            hidden_features,
            out_features,
        )
        self.bias, self.dropout = bias, dropout
        self.linear1 = nn.Linear(in_features, hidden_features, bias=True)
        self.linear2 = nn.Linear(hidden_features, out_features, bias=True)
        self._add_residual = True
        self.residual_weight = nn.Parameter(torch.zeros(1))

    def forward(self, embed):
        output1 = self.linear1(embed)
        output1 = F.relu(output1)
        if self.dropout:
            output1 = F.dropout(output1, p=0.1, training=self.training)
        output2 = self.linear2(output1)
        return embed + self.residual_weight * output2

    def get_config_dict(self):
        return {
            "in_features": self.in_features,
            "hidden_features": self.hidden_features,
            "out_features": self.out_features,
            "bias": self.bias,
            "dropout": self.dropout,
        }


finetune_engine = EmbeddingAdapterFinetuneEngine(
    train_dataset,
    base_embed_model,
    model_output_path=str(out / "custom_model_output"),
    model_checkpoint_path=str(out / "custom_model_ck"),
    adapter_model=CustomNN(dim, 1024, dim),
    epochs=args.epochs or 25,
    verbose=True,
)
finetune_engine.finetune()
custom_model = finetune_engine.get_finetuned_model(adapter_cls=CustomNN)

# Reloading a saved adapter needs no training code.
reloaded = AdapterEmbeddingModel(base_embed_model, str(out / "model_output_test"))

comparison = compare(
    val_dataset,
    {
        "base": base_embed_model,
        "linear": linear_model,
        "two-layer": two_layer_model,
        "custom": custom_model,
        "linear (reloaded)": reloaded,
    },
    top_k=[5, 10],
    output_dir=out / "report",
)
print(comparison.to_markdown())
