# Two entry points: `make demo` (the main job on the shipped defaults) and `make test`.
# Each creates .venv and installs what it needs. torch is installed first and pinned to the
# CPU wheel: a bare `torch` requirement would pull a multi-GB CUDA build.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
TORCH ?= torch==2.13.0

.PHONY: demo test lint bench models clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)

$(VENV)/.core: pyproject.toml | $(BIN)/python
	$(BIN)/pip install -q -e .
	touch $@

$(VENV)/.full: pyproject.toml | $(BIN)/python
	$(BIN)/pip install -q $(TORCH)
	$(BIN)/pip install -q -e '.[ml,vision,server,ray,dev]'
	touch $@ $(VENV)/.core

demo: $(VENV)/.core
	$(BIN)/guardrails test policies/default.yaml policies/chat.yaml
	@# exit codes 0/1/2 are verdicts (allow/flag/block), not failures
	$(BIN)/guardrails check --policy policies/default.yaml --jsonl examples/messages.jsonl \
		|| [ $$? -le 2 ]

test: $(VENV)/.full
	$(BIN)/ruff check .
	$(BIN)/ruff format --check guardrails tests examples benchmarks
	$(BIN)/pytest

bench: $(VENV)/.full
	$(BIN)/pip install -q -e '.[bench]'
	$(BIN)/python -m benchmarks

# The shipped classifiers, retrained from ../shared/data and policies/data with the project's own
# CLI. Each manifest records its data files, their sha256 and this command line. Top-layer SetFit
# bodies in float16 keep each model near 10 MB; 20% of the rows are held out for
# `guardrails calibrate --held-out`.
DATA ?= ../shared/data/jsonl
# the shipped models were trained with SetFit's cosine loss, the default until 2026-11-24
SETFIT := --family setfit --option train_layers=3 --option body_dtype=float16 --option 'loss="cosine"'
LONGER := --option max_steps=192 --option epochs=10
models: $(VENV)/.full
	$(BIN)/guardrails train $(SETFIT) $(LONGER) --holdout 0.2 \
		--data $(DATA)/prompt_injection_train.jsonl --data policies/data/injection_train.jsonl \
		--out models/prompt-injection
	$(BIN)/guardrails train $(SETFIT) \
		--data $(DATA)/tweeteval_offensive_train.jsonl --out models/toxicity
	$(BIN)/guardrails train $(SETFIT) $(LONGER) --holdout 0.2 \
		--data policies/data/categories_train.jsonl --out models/categories

clean:
	rm -rf $(VENV) .pytest_cache .ruff_cache
