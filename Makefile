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
# the demo's webhook and SMTP sinks, and the benches' provider stand-ins, listen on this machine:
# allow loopback as a destination here (partitur refuses non-public destinations by default)
export PARTITUR_OUTBOUND_ALLOWED_HOSTS ?= ["127.0.0.1", "localhost", "::1"]

.PHONY: run test lint pytest bench bench-smoke install system-deps test-deps clean demo studio \
        studio-lint

# the OpenID provider the sign-in tests start (Node; installed from its lock file)
OIDC_PROVIDER := tests/support/oidc_provider

# The Studio (browser UI, studio/): npm ci from the committed lock file, then the build into the
# Python package. Stamp-based: an unchanged tree costs a few file checks; a change to the API's
# Python code regenerates the OpenAPI document, and the UI is rebuilt only if that changed.
NPM_STAMP     := studio/node_modules/.lock-stamp
OPENAPI_STAMP := studio/.stamps/openapi
OPENAPI       := studio/src/api/openapi.json
STUDIO_OUT    := src/partitur/web/studio/index.html
PY_SOURCES    := $(shell find src/partitur -name '*.py' 2>/dev/null)
STUDIO_FILES  := $(shell find studio/src studio/public -type f ! -name '*.gen.ts' ! -name 'openapi.json' 2>/dev/null) \
                 studio/index.html studio/vite.config.ts studio/tsconfig.json studio/package.json

$(STAMP): pyproject.toml
	test -d $(VENV) || $(PYTHON) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip
	$(BIN)/pip install -q -e '.[dev]'
	touch $(STAMP)

install: $(STAMP)

$(NPM_STAMP): studio/package-lock.json studio/package.json
	cd studio && npm ci --no-audit --no-fund --loglevel=error
	touch $@

$(OPENAPI_STAMP): $(STAMP) $(PY_SOURCES) scripts/dump_openapi.py
	$(BIN)/python scripts/dump_openapi.py $(OPENAPI)
	mkdir -p $(dir $@) && touch $@

# rewritten by the stamp's recipe only when the API changed; make then sees its new time
$(OPENAPI): $(OPENAPI_STAMP)
	@test -f $@

$(STUDIO_OUT): $(NPM_STAMP) $(OPENAPI) $(STUDIO_FILES)
	cd studio && npm run --silent build

## build the Studio (types from /openapi.json, tsc, vite) into src/partitur/web/studio/
studio: $(STUDIO_OUT)

## the Studio's lint (biome), unit tests (vitest) and licence check
studio-lint: $(NPM_STAMP)
	cd studio && npx biome check src scripts && npx vitest run --reporter=dot && node scripts/check-licenses.mjs

system-deps:
	bash scripts/system-deps.sh

$(OIDC_PROVIDER)/node_modules/.package-lock.json: $(OIDC_PROVIDER)/package-lock.json
	cd $(OIDC_PROVIDER) && npm ci --no-audit --no-fund --loglevel=error

test-deps: $(OIDC_PROVIDER)/node_modules/.package-lock.json

## serve API, worker and UI on 127.0.0.1 with the demo workspace loaded (once)
run: $(STAMP) studio
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

lint: $(STAMP) studio-lint
	$(BIN)/ruff check src tests bench scripts
	$(BIN)/ruff format --check src tests bench scripts
	$(BIN)/mypy
	$(BIN)/python scripts/import_contracts.py --check
	$(BIN)/lint-imports importlinter.ini

pytest: $(STAMP) studio test-deps
	$(BIN)/pytest -q -p no:cacheprovider

BENCH_STAMP := $(VENV)/.bench-installed
$(BENCH_STAMP): $(STAMP) pyproject.toml
	$(BIN)/pip install -q -e '.[dev,bench]'
	touch $(BENCH_STAMP)

## every benchmark at full size, with the reference tools they compare against (the bench
## extra): one summary table, a dated section in bench/RESULTS.md, and a non-zero exit at the
## end if a target was missed (installs the services benches need, like `make test`)
bench: system-deps $(BENCH_STAMP) studio
	$(BIN)/python bench/_run.py

## the same at small size, as CI runs it (records nothing)
bench-smoke: system-deps $(BENCH_STAMP) studio
	$(BIN)/python bench/_run.py --smoke

clean:
	rm -rf $(VENV) var/*.db* .mypy_cache .ruff_cache studio/node_modules studio/.stamps \
	  src/partitur/web/studio $(OIDC_PROVIDER)/node_modules
