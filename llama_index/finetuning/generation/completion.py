"""The few-shot completion small local models continue with a question (InPars).

Example::

    import asyncio

    from llama_index.finetuning.generation.completion import (
        FEW_SHOT_QUERY_TMPL,
        complete_questions,
    )
    from llama_index.finetuning.llms import LocalLLM

    prompt = FEW_SHOT_QUERY_TMPL.format(context_str="The Amazon is 6,400 km long.")
    asyncio.run(complete_questions(LocalLLM(), prompt, FEW_SHOT_QUERY_TMPL, 2))
    # two lines, one question each: the greedy call's, then a sampled one's

A chat prompt asks a model to follow instructions; a completion shows it a few documents,
each with the query a searcher would type, then the chunk and ``Query:``, and the model
continues the pattern (Bonifacio et al. 2022, "InPars"). SmolLM2-135M writes more questions
that pass the gate this way than under either chat prompt
(benchmarks/experiments/results/writer_constraints.md, benchmarks/results/few_shot.md). It
is sent as raw text (``formatted=True``: no chat template), one question a call, cut at the
end of its line; the first call is greedy, the others sample (temperature 0.8, a seed each)
so that they differ.
"""

from __future__ import annotations

import asyncio
from typing import Any


class CompletionTemplate(str):
    """A prompt template sent as a raw completion, one question per call.

    Example::

        CompletionTemplate("Document: {context_str}\\nQuery:").format(context_str="...")

    It is a ``str``, so what reads prompts as text (the resume fingerprint, the echo checks
    of the gate) reads it unchanged; generation sees its type and calls
    :func:`complete_questions` instead of sending it as a chat message.
    """

    stop = ("\n",)
    max_tokens = 48
    sampled_temperature = 0.8


# Made-up documents of three kinds (a shop, a device manual, a local history), none of them a
# filing or code: an example copied into a question names something its chunk lacks, and the
# gate drops it as an echo (filters.is_prompt_echo). Three question words, so the first of
# each chunk is not always "What".
FEW_SHOT_QUERY_TMPL = CompletionTemplate("""\
Document: Northwind Bakery opened 12 new stores in 2019, most of them in Leeds, where rents \
had fallen by a fifth since 2016.
Query: Why did Northwind Bakery open most of its new stores in Leeds?

Document: The Orbis 3 thermostat keeps up to eight temperature changes a day. To clear the \
schedule, hold the Mode button for ten seconds until the display shows 00.
Query: How do you clear the schedule of the Orbis 3 thermostat?

Document: The Kestrel Valley railway opened in 1887 and carried slate from the quarries at \
Penhallow to the harbour until it closed in 1961.
Query: When did the Kestrel Valley railway close?

Document: {context_str}
Query:""")


def _takes_request_fields(llm: Any) -> bool:
    # LocalLLM's transformers runtime takes no per-call fields; every other LLM passes them on
    # (llama.cpp's server, OpenAI-compatible APIs: stop, max_tokens, temperature, seed).
    return getattr(llm, "runtime_name", None) != "transformers"


async def complete_questions(
    llm: Any, prompt: str, template: CompletionTemplate, n: int, timeout: float | None = None
) -> str:
    """``n`` calls of ``prompt`` as a raw completion, each cut at its first line, one per line;
    ``timeout`` bounds each call, as it bounds a chat prompt's one call.

    Example::

        answer = await complete_questions(llm, FEW_SHOT_QUERY_TMPL.format(context_str=text),
                                          FEW_SHOT_QUERY_TMPL, 2)
        parse_questions(answer, text, prompt_tmpl=FEW_SHOT_QUERY_TMPL)

    An LLM that takes no request fields is asked once (greedy again would repeat itself).
    """
    if not _takes_request_fields(llm):
        response = await asyncio.wait_for(llm.acomplete(prompt, formatted=True), timeout)
        return str(response.text).strip().split("\n", 1)[0]
    lines = []
    for i in range(n):
        fields = {"stop": list(template.stop), "max_tokens": template.max_tokens,
                  "temperature": template.sampled_temperature if i else 0.0, "seed": i}  # fmt: skip
        response = await asyncio.wait_for(llm.acomplete(prompt, formatted=True, **fields), timeout)
        lines.append(str(response.text).strip().split("\n", 1)[0])
    return "\n".join(lines)
