# One command per habit, the same on a laptop, in the hook and in CI.
PYTHON ?= python3
VENV   ?= .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed

.PHONY: office readers demo test check lint typecheck format serve worker bench previews screenshots clean

$(STAMP): pyproject.toml constraints.txt
	@$(PYTHON) -c 'import sys; sys.exit("benchdocs needs Python 3.11 or newer") if sys.version_info < (3, 11) else None'
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -c constraints.txt -e '.[dev]'
	@touch $(STAMP)

OFFICE_PACKAGES := libreoffice-core libreoffice-writer libreoffice-impress libreoffice-calc \
	python3-uno poppler-utils fonts-crosextra-carlito fonts-crosextra-caladea fonts-dejavu-core

## LibreOffice for PDFs, where this machine lets us install it (Debian/Ubuntu as root).
office:
	@if command -v soffice >/dev/null 2>&1 && /usr/bin/python3 -c 'import uno' >/dev/null 2>&1; then :; \
	elif [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then \
	  echo "installing LibreOffice for PDFs"; \
	  (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq \
	    --no-install-recommends $(OFFICE_PACKAGES) >/dev/null) \
	  || echo "could not install LibreOffice; documents come without PDFs"; \
	else echo "no LibreOffice: documents come without PDFs (install: $(OFFICE_PACKAGES))"; fi

## The npm readers the tests open every generated kind with (exact versions, no lock file).
readers:
	@if command -v npm >/dev/null 2>&1; then \
	  cd tests/readers && npm install --no-package-lock --no-audit --no-fund --loglevel=error; \
	else echo "no npm: the independent-reader tests are skipped (install nodejs and npm)"; fi

## Import the sample programme and generate Benchmarking 2's documents into out/.
demo: $(STAMP) office
	$(BIN)/benchdocs demo --out out --serve

## The whole test suite (needs Redis and PostgreSQL; see README), in TEST_WORKERS processes:
## much of it waits on PostgreSQL, workers and LibreOffice, so two overlap well on two cores.
TEST_WORKERS ?= 2
test: $(STAMP) readers
	$(BIN)/python -m pytest -n $(TEST_WORKERS)

## Format, lint, and the import contracts in pyproject.toml (layers, pure core, no cycles).
lint: $(STAMP)
	$(BIN)/ruff format --check service workers tests bench
	$(BIN)/ruff check service workers tests bench
	$(BIN)/ruff format --check drills
	$(BIN)/ruff check drills
	$(BIN)/lint-imports

typecheck: $(STAMP)
	$(BIN)/mypy
	$(BIN)/mypy -p drills

## Format check, lint, strict types, tests.
check: lint typecheck test

format: $(STAMP)
	$(BIN)/ruff format service workers tests bench
	$(BIN)/ruff check --fix service workers tests bench

## Every document kind for one sample organisation, as Office files and PNG pages.
previews: $(STAMP)
	$(BIN)/benchdocs previews --out out/previews

## Render times against floors, 300-organisation batches through real workers, one vs two PDF
## worker processes (--queues pdf), the local store vs the S3 store (SeaweedFS), cold vs warm PDF,
## the nightly regeneration over 10,000 documents (unchanged, and with 1% changed), the upload
## gate on real files and zip bombs, one meeting's invitations for 300 organisations built and
## sent (SMTP to a local aiosmtpd, .eml files, real workers), the meeting pack and archives for
## 300 organisations.
## The API under 20 concurrent clients on a 300-organisation network (PostgreSQL, served by
## benchdocs serve): p50/p99/max and errors per call, one process against production serving.
bench: $(STAMP)
	$(BIN)/python -m bench.render_and_pipeline
	$(BIN)/python -m bench.pdf_conversion
	$(BIN)/python -m bench.regeneration
	$(BIN)/python -m bench.upload_gate
	$(BIN)/python -m bench.mail
	$(BIN)/python -m bench.meeting_pack
	$(BIN)/python -m bench.api_load

## The README's pictures of the portal, taken by its browser tests (needs Chromium).
screenshots: $(STAMP) readers
	BENCHDOCS_SCREENSHOTS=docs/images/portal $(BIN)/python -m pytest -n 0 -q tests/integration/portal

serve: $(STAMP)
	$(BIN)/benchdocs serve

## A worker on every queue, or on some: make worker QUEUES=pdf CONCURRENCY=2
QUEUES ?= render,pdf,mail
CONCURRENCY ?= 2
worker: $(STAMP)
	$(BIN)/benchdocs worker --queues $(QUEUES) --concurrency $(CONCURRENCY)

clean:
	rm -rf out var .pytest_cache .mypy_cache .ruff_cache

## Drills (not part of `make test`; docs/operations.md, "Drills"): the sample meeting's documents
## made by real workers with PDFs, against a private Redis and PostgreSQL on spare ports, while
## something breaks (a worker killed, Redis emptied, the disk full...); prints a table.
## One drill: make drills DRILLS="--only worker-sigkill". As root for the disk-full drill.
.PHONY: drills
DRILLS ?=
drills: $(STAMP) office
	$(BIN)/python -m drills $(DRILLS)
