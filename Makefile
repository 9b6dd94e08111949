# PFMS verbs. `make run` is the first command a newcomer types: it installs what is missing itself.
SHELL := /bin/bash
.DEFAULT_GOAL := help
.PHONY: help setup run test test-slow lint format asyncapi topology bench new-service clean

export PATH := $(HOME)/.local/bin:$(PATH)
# uv from PATH, else the copy `pip install uv` put in the interpreter (evaluated after `setup` ran).
UV = $(shell command -v uv >/dev/null 2>&1 && echo uv || echo python3 -m uv)
RUN = $(UV) run --frozen
# Only the folders that exist (the gateway's may not have landed yet on a branch).
CODE := $(wildcard libs services gateway deploy bench tests-e2e)
TESTS := $(CODE)

help: ## list the verbs
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  make %-12s %s\n", $$1, $$2}'

setup: ## install what is missing: Debian servers, uv, the locked workspace
	@bash deploy/local/setup.sh

run: setup ## the whole fleet + gateway on this machine, no Docker (ONLY=auth,user for a subset); Ctrl-C stops
	@$(RUN) pfms-run $(if $(ONLY),--only $(ONLY))

# pytest-xdist workers for `make test`, each with its own servers; the whole tests-e2e folder runs on one
# of them (one fleet), the other files are shared out one by one (pfms_platform/testing/scheduling.py).
# TEST_WORKERS=0: one process, as before.
TEST_WORKERS ?= 2

test: setup lint ## lint, then every test (unit, integration, end-to-end) in one pytest run on TEST_WORKERS (2) workers
	$(RUN) pytest -n $(TEST_WORKERS) -m "not slow" --durations=15 $(TESTS)

test-slow: setup ## the long-running tests (pytest -m slow); none yet is fine
	@$(RUN) pytest -m slow $(TESTS); rc=$$?; \
	if [ $$rc -eq 5 ]; then echo "no slow tests yet"; exit 0; fi; exit $$rc

lint: setup ## ruff check, ruff format --check, mypy
	$(RUN) ruff check $(CODE)
	$(RUN) ruff format --check $(CODE)
	$(RUN) mypy --exclude '/migrations/versions/' $(filter-out tests-e2e,$(CODE))
	$(RUN) mypy tests-e2e  # its top-level modules (conftest, journeys) would clash with a hyphenated service's tests

format: setup ## ruff format and the safe ruff fixes
	$(RUN) ruff check --fix $(CODE)
	$(RUN) ruff format $(CODE)

asyncapi: setup ## regenerate libs/contracts/asyncapi.yaml from the event contracts
	@$(RUN) pfms-asyncapi

bench: setup ## every benchmark in bench/ (own servers) → bench/results/*.json; then bench/summary.py: results.json, README table
	@command -v wrk >/dev/null 2>&1 || { apt-get install -y -qq wrk 2>/dev/null || (apt-get update -qq && apt-get install -y -qq wrk); }
	@failed=""; for script in $(filter-out bench/harness.py bench/fleet_cpu.py bench/summary.py,$(wildcard bench/*.py)); do \
		echo "== $$script"; $(RUN) python $$script || failed="$$failed $$script"; done; \
	echo "== bench/summary.py"; $(RUN) python bench/summary.py || failed="$$failed bench/summary.py"; \
	if [ -n "$$failed" ]; then echo "exited non-zero (a goal not met, or an error):$$failed"; exit 1; fi

topology: setup ## regenerate deploy/rabbitmq/definitions.json and the Kubernetes manifests from the code
	$(RUN) python -m pfms_platform.events.topology
	$(RUN) python deploy/k8s/generate.py

new-service: setup ## write a new service skeleton: make new-service NAME=budget PORT=3016
	@if [ -z "$(NAME)" ] || [ -z "$(PORT)" ]; then echo "usage: make new-service NAME=<name> PORT=<port>"; exit 2; fi
	$(RUN) pfms-new-service $(NAME) $(PORT)

clean: ## delete .var (the data of `make run`: databases, queues, logs)
	@pid=$$(sed -n 's/.*"runner": \([0-9]*\).*/\1/p' .var/run.json 2>/dev/null); \
	if [ -n "$$pid" ] && kill -0 "$$pid" 2>/dev/null; then echo "make run (pid $$pid) is using .var: stop it first"; exit 1; fi
	rm -rf .var
