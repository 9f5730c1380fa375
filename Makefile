# Every target sets up .venv itself, so a fresh clone needs only python3.
PY ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: test demo bench lint goldens fuzz dist clean editor-tests

$(BIN)/python:
	$(PY) -m venv $(VENV)

# Two distributions: mmoc-runtime (runtime/pyproject.toml) and mmoc (here), which pins it; one
# pip command installs both editable, so the pin resolves to ./runtime, never to an index.
# A strict editable install links every package file into build/__editable__* (runtime/build/
# for the runtime): mypy (and any tool that reads site-packages statically) then finds
# mmoc_runtime, which the default editable finder hides. New files need a reinstall, so the
# stamp also watches the package folders. pip compiles the bytecode of what it installs from a
# wheel, but not of these links: compileall does (and of the sources, for an install that reads
# them in place), or an environment with PYTHONDONTWRITEBYTECODE (CI images often set it) would
# compile every module from source on every `mmoc` call.
PKG_DIRS := $(shell find compiler runtime grammar -type d -not -name __pycache__ \
	-not -path 'runtime/build*' -not -name '*.egg-info')

$(STAMP): pyproject.toml setup.py runtime/pyproject.toml $(PKG_DIRS) | $(BIN)/python
	$(BIN)/python -m pip install -q --upgrade pip
	$(BIN)/python -m pip install -q -e ./runtime -e '.[dev]' --config-settings editable_mode=strict
	$(BIN)/python -m compileall -q -j0 compiler runtime build/__editable__.*
	touch $(STAMP)

test: $(STAMP)
	$(BIN)/python -m pytest

demo: $(STAMP)
	$(BIN)/python -m mmoc.demo

bench: $(STAMP)
	$(BIN)/python -m bench

lint: $(STAMP)
	$(BIN)/ruff check runtime compiler tests bench
	$(BIN)/mypy --strict runtime
	$(BIN)/mypy --strict compiler
	cd tests && ../$(BIN)/mypy --strict -p support

# Every golden file: the modules of tests/cases/ and pipelines/, rendered diagnostics, and
# docs/diagnostics.md. Review the diff before committing.
goldens: $(STAMP)
	$(BIN)/python -m pytest tests/cases tests/diagnostics tests/editors tests/testing/test_shipped_cassette.py --update-goldens -q

# The VS Code extension: its npm packages, the grammar's tests (tests/editors skips them
# without the packages) and the .vsix (left in editors/vscode/, not committed).
editor-tests: $(STAMP)
	cd editors/vscode && npm ci --no-audit --no-fund && npx vsce package --allow-missing-repository
	$(BIN)/python -m pytest tests/editors -q

# The fuzz corpus (tests/fuzz) at length: random examples, MMOC_FUZZ_EXAMPLES per property
# (the suite runs a few, always the same), and every bomb and special file.
MMOC_FUZZ_EXAMPLES ?= 2000
fuzz: $(STAMP)
	MMOC_FUZZ_EXAMPLES=$(MMOC_FUZZ_EXAMPLES) $(BIN)/python -m pytest tests/fuzz

# Wheels and sdists of both distributions, mmoc-runtime and mmoc, in dist/.
dist: $(STAMP)
	rm -rf dist
	$(BIN)/python -m build --outdir dist runtime
	$(BIN)/python -m build --outdir dist .

clean:
	rm -rf $(VENV) build dist *.egg-info runtime/build runtime/*.egg-info
