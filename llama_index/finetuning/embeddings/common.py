"""The 0.4 import path of the dataset and the generator (``...embeddings.common``)."""

from ..dataset import EmbeddingQAFinetuneDataset
from ..generation import DEFAULT_QA_GENERATE_PROMPT_TMPL, generate_qa_embedding_pairs

__all__ = [
    "DEFAULT_QA_GENERATE_PROMPT_TMPL",
    "EmbeddingQAFinetuneDataset",
    "generate_qa_embedding_pairs",
]
