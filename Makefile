# Two commands on a fresh machine: `make demo` and `make test`.
PY ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: demo test lint bench clean

$(STAMP): pyproject.toml
	$(PY) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[dev]'
	touch $(STAMP)

# validate exits 1 when a unit is blocked: the demo still goes on to run the plan.
demo: $(STAMP)
	$(BIN)/migsim validate scenarios/contoso.yaml; test $$? -le 1
	$(BIN)/migsim graph scenarios/contoso.yaml --out results/contoso-graph.png --force
	$(BIN)/migsim run scenarios/contoso.yaml --out results/contoso --force \
		--replications 200 --keep-windows 20
	$(BIN)/migsim compare scenarios/contoso.yaml --orderings smallest_first,largest_first,as_listed \
		--replications 200 --out results/contoso/compare --force
	$(BIN)/migsim sensitivity scenarios/contoso.yaml --replications 100 \
		--out results/contoso/sensitivity --force
	$(BIN)/migsim report results/contoso --force
	$(BIN)/migsim runbook results/contoso --out results/contoso/runbook.xlsx --force
	$(BIN)/migsim runbook results/contoso --out results/contoso/windows.ics --force
	$(BIN)/migsim replan scenarios/contoso.yaml --actuals scenarios/contoso-night-actuals.csv \
		--now 2026-12-06T01:30Z --replications 500 --out results/contoso-night --force
	$(BIN)/migsim report results/contoso-night --force
	@echo "Open results/contoso/report.html (the plan) and results/contoso-night/report.html"
	@echo "(the night re-forecast at 01:30 from the shipped actuals) in a browser."

lint: $(STAMP)
	$(BIN)/ruff check sim tests benchmarks
	$(BIN)/ruff format --check sim tests benchmarks
	$(BIN)/mypy
	$(BIN)/lint-imports --no-logo

# The suite on two workers (pytest-xdist; the machines have 2 cores). PYTEST_WORKERS=0: one process.
PYTEST_WORKERS ?= 2
test: $(STAMP) lint
	$(BIN)/pytest -n $(PYTEST_WORKERS) --dist worksteal

# Timing figures for this machine (not tests): prints one table, writes results/bench.json.
bench: $(STAMP)
	$(BIN)/python -m benchmarks

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache .grimp_cache .import_linter_cache
