# plangate: `make demo` and `make test` are the quickstart; both set up .venv themselves.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-dev

.PHONY: demo test lint typecheck soak bench eval local-llm local-llm-stop local-llm-install clean serve serve-auth

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip

$(STAMP): pyproject.toml | $(BIN)/python
	$(BIN)/pip install --quiet -e ".[dev]"
	touch $(STAMP)

demo: $(STAMP)
	PLANGATE_DB=$${PLANGATE_DB:-.plangate-demo.sqlite} $(BIN)/plangate "set a timer for 10 minutes and add dentist tomorrow at 9am to my calendar, then notify me when done"
	PLANGATE_DB=$${PLANGATE_DB:-.plangate-demo.sqlite} $(BIN)/plangate "set a tea timer for 3 minutes"

# Score the gate and the planner on the labelled requests in tests/data/gate (offline unless an endpoint is set);
# EVAL_DATA picks other JSONL files, the plot goes to plangate-eval-reliability.png.
eval: $(STAMP)
	$(BIN)/plangate eval $${EVAL_DATA:-tests/data/gate} --strict

lint: $(STAMP)
	$(BIN)/ruff check .

# basedpyright (pyright, installed from PyPI with its own Node.js) on plangate/, graph/, nodes/ and tools/.
# The folders install as plangate.graph/.nodes/.tools through the editable install's import hook, which a static
# checker cannot follow: so it checks a hard-linked view of them under build/typecheck/plangate/ (made fresh each
# time, same files), and paths are printed as the repository's.
typecheck: $(STAMP)
	@rm -rf build/typecheck && mkdir -p build/typecheck/plangate
	@cp -al graph nodes tools build/typecheck/plangate/ && cp -l plangate/__init__.py build/typecheck/plangate/
	@$(BIN)/basedpyright > build/typecheck.log; status=$$?; sed 's#build/typecheck/plangate/##' build/typecheck.log; exit $$status

# Lint and the type checker first; the local-model integration test needs llama.cpp's server: installed first (seconds once its wheel is cached).
test: $(STAMP) lint typecheck local-llm-install
	$(BIN)/python -m pytest -q

serve: $(STAMP)
	LANGGRAPH_CLI_NO_ANALYTICS=1 LANGGRAPH_NO_VERSION_CHECK=true $(BIN)/langgraph dev --no-browser --no-reload --host 127.0.0.1 --port $${PORT:-2024}

clean:
	rm -rf $(VENV) .venv-serve .venv-serve.lock .serve-cluster .pytest_cache .ruff_cache .langgraph_api *.egg-info build

# Benchmarks against the anchor patterns (bench/): JSON, plots and summary.md in bench/results/, < 10 min on 2 cores.
# BENCH_SCALE=0.1 scales every latency down for a quick look; BENCH_QUICK=1 runs tiny versions of each section.
BENCH_STAMP := $(VENV)/.installed-bench

$(BENCH_STAMP): pyproject.toml | $(BIN)/python
	$(BIN)/pip install --quiet -e ".[dev,bench]"
	touch $(BENCH_STAMP)

bench: $(BENCH_STAMP)
	$(BIN)/python -m bench

# A real local model (issue 7): llama.cpp's OpenAI-compatible server + SmolLM2-135M, logic in scripts/local_llm.py.
# The llama-cpp-python wheel is built once (~9 min on 2 cores) into ~/.cache/plangate/wheels ($PLANGATE_WHEEL_DIR),
# so later installs on the same machine take seconds. `make local-llm` writes the URL to .local-llm-url:
#   PLANGATE_BASE_URL=$$(cat .local-llm-url) .venv/bin/plangate "check the weather in Paris and set a timer for 5 minutes"
.PHONY: local-llm-install local-llm-measure

local-llm-install: $(STAMP)
	$(BIN)/python scripts/local_llm.py install

local-llm: $(STAMP)
	$(BIN)/python scripts/local_llm.py start

local-llm-stop:
	@if [ -x $(BIN)/python ]; then $(BIN)/python scripts/local_llm.py stop; else rm -f .local-llm-url; fi

local-llm-measure: local-llm-install
	$(BIN)/python scripts/local_llm.py measure --runs $${RUNS:-20}

# langgraph dev with per-user auth (graph/auth.py): set PLANGATE_API_KEYS="key1:alice,key2:bob" or PLANGATE_JWT_SECRET.
.PHONY: serve-auth
serve-auth: $(STAMP)
	LANGGRAPH_CLI_NO_ANALYTICS=1 LANGGRAPH_NO_VERSION_CHECK=true $(BIN)/langgraph dev --config langgraph.auth.json --no-browser --no-reload --host 127.0.0.1 --port $${PORT:-2024}

# Reliability soak (issue 6): 50 random SIGKILLs of real plangate processes, each resumed and checked for
# exactly-once side effects and an intact database; then the fault suites once more. Issue 13 adds kills at every
# SQL statement of a fresh SQLite and Postgres setup, and 10 rounds of two writers racing on one thread.
# PLANGATE_SOAK_SEED picks another kill schedule.
soak: $(STAMP)
	PLANGATE_SOAK_KILLS=$${PLANGATE_SOAK_KILLS:-50} $(BIN)/python -m pytest -q -s tests/reliability

# A multi-worker LangGraph Agent Server on PostgreSQL + Redis (issue 17): the stock langgraph-api on the open
# langgraph-runtime-pg runtime (`langhost serve`), in its own venv (.venv-serve; its pins clash with the dev extra).
# Logic in scripts/serve_cluster.py (database and Redis: scripts/cluster_provision.py). WORKERS (default 2), PORT (default 8123), DATABASE_URI (default
# postgresql://postgres@127.0.0.1:5432/plangate_cluster, created if missing), REDIS_URI (default redis://127.0.0.1:6379/0),
# LG_BG_JOB_HEARTBEAT (default 5: a dead worker's runs are taken over within about 2-4 heartbeats).
.PHONY: serve-cluster serve-cluster-stop serve-cluster-install

serve-cluster-install: $(STAMP)
	$(BIN)/python -m scripts.serve_cluster install

serve-cluster: $(STAMP)
	$(BIN)/python -m scripts.serve_cluster start --workers $${WORKERS:-2} --port $${PORT:-8123}

serve-cluster-stop:
	@if [ -x $(BIN)/python ]; then $(BIN)/python -m scripts.serve_cluster stop; else python3 -m scripts.serve_cluster stop; fi
