# Wirewatch: the two commands a newcomer needs are `make demo` and `make test`.
#
# Everything installs into a machine-wide cache ($(WIREWATCH_HOME), default
# ~/.cache/wirewatch): the Python environment (torch is several GB; it is
# installed once per machine, not once per clone or test run) and Kafka's jars.
# The environment is rebuilt only when pyproject.toml changes.

SHELL := /bin/bash
WIREWATCH_HOME ?= $(HOME)/.cache/wirewatch
VENV := $(WIREWATCH_HOME)/venv
PY := $(VENV)/bin/python
PYTHON ?= python3
DEPS_HASH := $(shell sha256sum pyproject.toml | cut -c1-16)
STAMP := $(VENV)/.deps-$(DEPS_HASH)
export WIREWATCH_HOME
export HF_HUB_OFFLINE := 1
export TRANSFORMERS_OFFLINE := 1
export PYTHONDONTWRITEBYTECODE := 1

.PHONY: install demo test docs quality-lower-isa test-isa lint unit integration bench bench-int8 bench-lower-isa bench-pipeline clean-state

$(STAMP): pyproject.toml
	@echo "==> installing the Python environment into $(VENV) (once per machine; torch is large)"
	@test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	$(PY) -m pip install -q -e '.[test]'
	@rm -f $(VENV)/.deps-* && touch $@

install: $(STAMP)
	@# point the (shared) environment at this checkout; fast, no dependency resolution
	@$(PY) -m pip install -q --no-deps --no-build-isolation -e . 2>/dev/null
	@$(VENV)/bin/wirewatch broker install

# `make demo DEMO_ARGS="--model multilingual-e5-small"`: the demo with the multilingual model
demo: install
	$(VENV)/bin/wirewatch demo $(DEMO_ARGS)

lint: install
	$(VENV)/bin/ruff check monitor streams detectors tests
	$(VENV)/bin/mypy

# the docs site (mkdocs.yml), built strictly: a broken link or a stale nav entry fails
docs: install
	NO_MKDOCS_2_WARNING=1 $(VENV)/bin/mkdocs build --strict --quiet

QUALITY := .wirewatch/quality
LOWER_ISA = $(shell $(PY) -m monitor.machine --lower-isa-env)

test: lint docs
	@# the tests prove the shipped rules and dashboard on a real Prometheus (the demo does not need it)
	@$(VENV)/bin/wirewatch prometheus install
	WIREWATCH_QUALITY_FIGURES=$(QUALITY)/native.json $(PY) -m pytest -m "not benchmark" --durations=25 $(PYTEST_ARGS)
	@$(MAKE) --no-print-directory quality-lower-isa

# The quality tests again with the engines capped one instruction set below this CPU's best
# (monitor.machine.lower_isa_env), so a figure that holds only on one CPU fails here, then
# each figure of the two runs side by side.
quality-lower-isa: install
	@echo "==> the quality tests under $(LOWER_ISA)"
	env $(LOWER_ISA) WIREWATCH_QUALITY_FIGURES=$(QUALITY)/lower-isa.json $(PY) -m pytest -m quality $(PYTEST_ARGS)
	@test ! -f $(QUALITY)/native.json || $(PY) -m tests.quality_spread $(QUALITY)/native.json $(QUALITY)/lower-isa.json

# The whole test suite as a CPU one instruction set below this one would run it.
test-isa: lint
	@$(VENV)/bin/wirewatch prometheus install
	env $(LOWER_ISA) $(PY) -m pytest -m "not benchmark" --durations=25 $(PYTEST_ARGS)

unit: install
	$(PY) -m pytest tests/unit $(PYTEST_ARGS)

integration: install
	$(PY) -m pytest tests/integration $(PYTEST_ARGS)

# Every benchmark on this CPU, then the pipeline on feed text with f32 and with int8 and the int8
# table (tests/benchmarks/int8_table.py): int8 against f32 with a column per CPU kind, from the
# latest saved runs of each. A missed target fails the command after the table is printed. The
# pipeline runs profile 60 s at saturation for the table's "CPU outside the model" row.
BENCH_PIPELINE = $(PY) -m pytest tests/benchmarks/test_pipeline_bench.py::test_pipeline_end_to_end -m benchmark -s $(PYTEST_ARGS)
BENCH_PROFILE ?= 60
BENCH_PIPELINE_TEXT = for precision in f32 int8; do \
	  $(BENCH_ENV) WIREWATCH_BENCH_PAGES=0 WIREWATCH_BENCH_PROFILE=$(BENCH_PROFILE) \
	    WIREWATCH_BENCH_PRECISION=$$precision $(BENCH_PIPELINE) || rc=$$?; \
	done
bench: install
	@rc=0; \
	$(PY) -m pytest tests/benchmarks -m benchmark -s $(PYTEST_ARGS) || rc=$$?; \
	$(BENCH_PIPELINE_TEXT); \
	$(PY) -m tests.benchmarks.int8_table; exit $$rc

# The int8 table's runs only (the int8 benchmark, the pipeline on feed text with f32 and int8),
# on this CPU, or as a CPU one instruction set lower runs them (`make bench-lower-isa`: on a VNNI
# machine, the AVX2 column)
bench-int8: install
	@rc=0; \
	$(BENCH_ENV) $(PY) -m pytest tests/benchmarks/test_int8_bench.py -m benchmark -s $(PYTEST_ARGS) || rc=$$?; \
	$(BENCH_PIPELINE_TEXT); \
	$(PY) -m tests.benchmarks.int8_table; exit $$rc

bench-lower-isa: install
	@$(MAKE) --no-print-directory bench-int8 BENCH_ENV="env $(LOWER_ISA)"

bench-pipeline: install
	$(PY) -m pytest tests/benchmarks/test_pipeline_bench.py -m benchmark -s $(PYTEST_ARGS)

clean-state:
	rm -rf .wirewatch
