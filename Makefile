# CacheLab. Quick start: `make run`, then `make test`.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
PORT ?= 8000
export PORT

.PHONY: run test test-redis lint format admin serve bench bench-wrk clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)

$(VENV)/.runtime: requirements.txt | $(BIN)/python
	$(BIN)/python -m pip install --quiet --disable-pip-version-check -r requirements.txt
	touch $@

$(VENV)/.dev: requirements.txt requirements-dev.txt $(VENV)/.runtime
	$(BIN)/python -m pip install --quiet --disable-pip-version-check -r requirements-dev.txt
	touch $@

## run: install, migrate, load the course, start embedded Redis servers if needed, serve on $(PORT)
run: $(VENV)/.runtime
	$(BIN)/python -m config.devserver

## test: lint, then the whole suite (browser tests included)
test: $(VENV)/.dev lint
	$(BIN)/python -m pytest

## test-redis: only the tests that talk to Redis (CI runs them once per server engine)
test-redis: $(VENV)/.dev
	$(BIN)/python -m pytest -m redis

## lint: ruff, and the import-linter contracts (layers, a Django-free engine, no cycles)
lint: $(VENV)/.dev
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/lint-imports --no-cache

format: $(VENV)/.dev
	$(BIN)/ruff format .
	$(BIN)/ruff check --fix .

## serve: production mode (gunicorn's asyncio worker buffering requests, DEBUG off);
## needs SECRET_KEY, HTTPS=0 for plain HTTP
serve: $(VENV)/.runtime
	$(BIN)/python -m config.serve

$(VENV)/.bench: requirements-bench.txt $(VENV)/.runtime
	$(BIN)/python -m pip install --quiet --disable-pip-version-check -r requirements-bench.txt
	touch $@

# wrk (Debian's package) measures throughput; as root the bench installs it, else
# it falls back to locust with a warning that its ratios are squeezed.
bench-wrk:
	@command -v wrk >/dev/null 2>&1 || [ "$$(id -u)" != 0 ] || \
		{ apt-get install -y -q wrk || { apt-get update -q && apt-get install -y -q wrk; }; }
	@command -v wrk >/dev/null 2>&1 || echo "make bench: wrk not found (sudo apt-get install wrk);" \
		"falling back to locust, whose ratios are squeezed towards 1" >&2

## bench: wrk against gunicorn beside a bare Django floor, then locust crowds (~13 min)
bench: $(VENV)/.bench bench-wrk
	$(BIN)/python -m tests.bench.run

## admin: create a superuser for /admin/
admin: $(VENV)/.runtime
	DEBUG=$${DEBUG-1} $(BIN)/python manage.py createsuperuser

clean:
	rm -rf $(VENV) staticfiles db.sqlite3
