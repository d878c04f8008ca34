"""Question generation: chunks -> (question, chunk) pairs, by an LLM, through a quality gate.

Example::

    from llama_index.finetuning.generation import generate_qa_embedding_pairs

    dataset = generate_qa_embedding_pairs(nodes=nodes, llm=llm, output_path="train.json")
"""

from .errors import GenerationError, GenerationInterrupted
from .filters import FilterReport, afilter_pairs, filter_pairs
from .pairs import (
    GenerationReport,
    GenerationWarning,
    ShortfallWarning,
    agenerate_qa_embedding_pairs,
    generate_qa_embedding_pairs,
)
from .parsing import (
    DEFAULT_QA_GENERATE_PROMPT_TMPL,
    PROMPTS,
    SMALL_MODEL_QA_PROMPT_TMPL,
    parse_questions,
)

__all__ = [
    "DEFAULT_QA_GENERATE_PROMPT_TMPL",
    "PROMPTS",
    "SMALL_MODEL_QA_PROMPT_TMPL",
    "ShortfallWarning",
    "FilterReport",
    "GenerationError",
    "GenerationInterrupted",
    "GenerationReport",
    "GenerationWarning",
    "afilter_pairs",
    "agenerate_qa_embedding_pairs",
    "filter_pairs",
    "generate_qa_embedding_pairs",
    "parse_questions",
]
