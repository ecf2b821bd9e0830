# partitur — developer commands. `make run` and `make test` work on a fresh machine.
PYTHON ?= python3
VENV   ?= .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed
HOST   ?= 127.0.0.1
PORT   ?= 8000
export PARTITUR_DATABASE_URL ?= sqlite:///var/partitur.db
# links in the demo summary, e-mails and tracking pixels point at the address actually served
export PARTITUR_BASE_URL ?= http://$(HOST):$(PORT)

.PHONY: run test lint pytest bench bench-smoke install system-deps clean demo

$(STAMP): pyproject.toml
	test -d $(VENV) || $(PYTHON) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip
	$(BIN)/pip install -q -e '.[dev]'
	touch $(STAMP)

install: $(STAMP)

system-deps:
	bash scripts/system-deps.sh

## serve API, worker and UI on 127.0.0.1 with the demo workspace loaded (once)
run: $(STAMP)
	mkdir -p var
	$(BIN)/partitur migrate
	$(BIN)/partitur demo --if-empty
	# analytics over SQLite read a copy of the database, reused for up to 15 s while serving
	PARTITUR_ANALYTICS_SNAPSHOT_SECONDS=$${PARTITUR_ANALYTICS_SNAPSHOT_SECONDS:-15} \
	  $(BIN)/partitur serve --host $(HOST) --port $(PORT) --with-worker --with-smtp

demo: $(STAMP)
	$(BIN)/partitur demo --if-empty

## lint, type-check, architecture contracts and the test-suite (installs what tests need)
test: system-deps $(STAMP) lint pytest

lint: $(STAMP)
	$(BIN)/ruff check src tests bench scripts
	$(BIN)/ruff format --check src tests bench scripts
	$(BIN)/mypy
	$(BIN)/lint-imports

pytest: $(STAMP)
	$(BIN)/pytest -q -p no:cacheprovider

## every benchmark at full size: one summary table, a dated section in bench/RESULTS.md, and a
## non-zero exit at the end if a target was missed (installs what benches need, like `make test`)
bench: system-deps $(STAMP)
	$(BIN)/python bench/_run.py

## the same at small size, as CI runs it (records nothing)
bench-smoke: system-deps $(STAMP)
	$(BIN)/python bench/_run.py --smoke

clean:
	rm -rf $(VENV) var/*.db* .mypy_cache .ruff_cache
