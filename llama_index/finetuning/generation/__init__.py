"""Question generation: chunks -> (question, chunk) pairs, by an LLM.

Example::

    from llama_index.finetuning.generation import generate_qa_embedding_pairs

    dataset = generate_qa_embedding_pairs(nodes=nodes, llm=llm, output_path="train.json")
"""

from .pairs import (
    GenerationReport,
    GenerationWarning,
    agenerate_qa_embedding_pairs,
    generate_qa_embedding_pairs,
)
from .parsing import DEFAULT_QA_GENERATE_PROMPT_TMPL, parse_questions

__all__ = [
    "DEFAULT_QA_GENERATE_PROMPT_TMPL",
    "GenerationReport",
    "GenerationWarning",
    "agenerate_qa_embedding_pairs",
    "generate_qa_embedding_pairs",
    "parse_questions",
]
