# CacheLab. Quick start: `make run`, then `make test`.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
PORT ?= 8000
export PORT

.PHONY: run test test-redis lint format admin serve bench clean

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

lint: $(VENV)/.dev
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

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

## bench: load benchmark (locust) against gunicorn, beside a bare Django response
bench: $(VENV)/.bench
	$(BIN)/python -m tests.bench.run

## admin: create a superuser for /admin/
admin: $(VENV)/.runtime
	DEBUG=$${DEBUG-1} $(BIN)/python manage.py createsuperuser

clean:
	rm -rf $(VENV) staticfiles db.sqlite3
