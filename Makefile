# Every target installs what it needs into .venv first, so a fresh clone needs only `make demo` / `make test`.
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
# make demo installs what the demo runs (the core, and the gateway it offers next);
# make test and the other targets install every extra, the embedder (torch) included.
DEMO_EXTRAS := serve
ALL_EXTRAS := postgres,mysql,dev,embed,export,serve,methods,ray,remote
DEMO_STAMP := $(VENV)/.installed-demo
STAMP := $(VENV)/.installed
DEMO_DBS := examples/demo_dbs

.PHONY: demo test test-fast bench lint fmt services clean

$(PY):
	$(PYTHON) -m venv $(VENV)

$(DEMO_STAMP): pyproject.toml | $(PY)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e '.[$(DEMO_EXTRAS)]'
	touch $(DEMO_STAMP)

$(STAMP): pyproject.toml | $(PY)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e '.[$(ALL_EXTRAS)]'
	touch $(STAMP) $(DEMO_STAMP)

DEMO_FILES := $(foreach d,bookshop clinic airline,$(DEMO_DBS)/$(d)/$(d).sqlite)

# Built from our own generator, deterministically, with no downloads.
$(DEMO_FILES) &: examples/build_demo_dbs.py | $(DEMO_STAMP)
	$(PY) examples/build_demo_dbs.py --out $(DEMO_DBS) --force

# The main job, offline: synthesize verified training data from the three demo databases.
demo: $(DEMO_STAMP) $(DEMO_FILES)
	@echo "== sqlfoundry synth --db-root $(DEMO_DBS) --num-per-db 50 --seed 0 --out runs/demo --show 4"
	@$(VENV)/bin/sqlfoundry synth --db-root $(DEMO_DBS) --num-per-db 50 --seed 0 --out runs/demo --show 4
	@echo; echo "== sqlfoundry export runs/demo --format llamafactory --out runs/demo/llamafactory"
	@$(VENV)/bin/sqlfoundry export runs/demo --format llamafactory --out runs/demo/llamafactory
	@echo; echo "Open runs/demo/report.html for the charts; runs/demo/data.jsonl holds the records."
	@echo; echo "Text-to-SQL methods as pipelines, no model needed: $(VENV)/bin/sqlfoundry run"
	@echo "  (the offline method and the execution vote on the demo databases; report in runs/demo-methods/)"
	@echo; echo "Next, NL2SQL with no model: start the gateway in local mode with"
	@echo "  $(VENV)/bin/sqlfoundry serve --config examples/gateway_local.toml"
	@echo "and ask it, e.g.:"
	@echo "  curl -s http://127.0.0.1:8000/v1/chat/completions -H 'Content-Type: application/json' \\"
	@echo "    -d '{\"model\": \"demo\", \"db_id\": \"bookshop\", \"messages\": [{\"role\": \"user\", \"content\": \"How many books are there?\"}]}'"

# The local PostgreSQL and MariaDB servers back the connector tests; start them if stopped.
services:
	@pg_isready -q -h 127.0.0.1 -p 5432 2>/dev/null || \
		(command -v pg_ctlcluster >/dev/null && pg_ctlcluster --skip-systemctl-redirect $$(ls /etc/postgresql) main start) || true
	@mariadb-admin -h 127.0.0.1 -u root ping >/dev/null 2>&1 || \
		(test -x /usr/sbin/mariadbd && start-stop-daemon --start --oknodo --background --exec /usr/sbin/mariadbd && sleep 3) || true

test: $(STAMP) services
	$(PY) -m pytest -x -q

test-fast: $(STAMP)
	$(PY) -m pytest -x -q -m "not slow and not server"

# The peers' runners (benchmarks/peers) need what the peers' code imports.
BENCH_STAMP := $(VENV)/.installed-bench

$(BENCH_STAMP): pyproject.toml $(STAMP)
	$(PY) -m pip install --quiet -e '.[$(ALL_EXTRAS),peers]'
	touch $(BENCH_STAMP)

bench: $(BENCH_STAMP)
	$(PY) benchmarks/run_all.py

lint: $(STAMP)
	$(VENV)/bin/ruff check src tests examples benchmarks
	$(VENV)/bin/ruff format --check src tests examples benchmarks

fmt: $(STAMP)
	$(VENV)/bin/ruff format src tests examples benchmarks
	$(VENV)/bin/ruff check --fix src tests examples benchmarks

clean:
	rm -rf $(VENV) $(DEMO_DBS) .pytest_cache
