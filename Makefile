# sale_reconciliation: run, test, lint and benchmark the module on Odoo 18.0.
#
# Odoo 18.0 must be importable by $(PYTHON) (`python3 -c "import odoo"`);
# PostgreSQL is reached through the usual libpq variables below.

PYTHON ?= python3
PGHOST ?= 127.0.0.1
PGPORT ?= 5432
PGUSER ?= $(shell id -un)
PGPASSWORD ?=
DEMO_DB ?= sale_reconciliation_demo
HTTP_PORT ?= 8069
export PYTHON PGHOST PGPORT PGUSER PGPASSWORD DEMO_DB HTTP_PORT

PIP_INSTALL = $(PYTHON) -m pip install --quiet --disable-pip-version-check --root-user-action=ignore

.PHONY: help check-odoo system-requirements requirements test-requirements run test lint bench readme

help:
	@echo "make run    serve the demo database $(DEMO_DB) at http://localhost:$(HTTP_PORT) (admin / admin)"
	@echo "make test   install the module on a throw-away database and run the whole suite"
	@echo "make lint   ruff and pylint-odoo on the module"
	@echo "make bench  print the benchmark figures"

check-odoo:
	@$(PYTHON) tools/odoo_env.py check

system-requirements:
	@tools/system_requirements.sh

requirements: check-odoo system-requirements
	@$(PIP_INSTALL) -r requirements.txt

test-requirements: requirements
	@$(PIP_INSTALL) -r requirements-test.txt
	@$(PIP_INSTALL) --no-deps -r requirements-oca.txt

run: requirements
	@tools/run.sh

test: test-requirements
	@tools/test.sh

lint:
	@$(PIP_INSTALL) -r requirements-lint.txt
	$(PYTHON) -m ruff check sale_reconciliation sale_reconciliation_queue tools bench tests conftest.py
	$(PYTHON) -m ruff format --check sale_reconciliation sale_reconciliation_queue tools bench tests conftest.py
	$(PYTHON) -m pylint --rcfile=.pylintrc-mandatory sale_reconciliation sale_reconciliation_queue
	@# The module readme is kept in Markdown (README.md), by choice.
	oca-checks-odoo-module --disable=prefer-readme-rst sale_reconciliation

bench: test-requirements
	@bench/run.sh

readme:
	$(PYTHON) tools/build_readme.py
