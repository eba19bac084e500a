# Gongzhi: `make demo` serves the demo county; `make test` runs every test.
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
PORT ?= 8000
VENDOR := src/gongzhi/web/static/vendor

.DEFAULT_GOAL := help
.PHONY: help demo test lint setup test-setup assets catalogs serve clean

help: ## Show the targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  make %-12s %s\n", $$1, $$2}'

demo: setup ## Set everything up, build the demo county and serve it at http://127.0.0.1:$(PORT)
	$(BIN)/gongzhi demo
	$(BIN)/gongzhi serve --port $(PORT)

test: setup test-setup ## Set up what the tests need and run the whole suite, then scan what it left for plaintext ID and mobile numbers
	$(BIN)/pytest --plaintext-scan

lint: setup ## ruff and mypy
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy

setup: $(VENV)/.stamp-deps node_modules/.stamp assets catalogs ## Virtualenv, Python and npm dependencies, assets

$(VENV)/.stamp-deps: pyproject.toml
	@$(PYTHON) -c 'import sys; sys.exit(sys.version_info < (3, 11) and "Python 3.11 or newer is needed")'
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	touch $@

node_modules/.stamp: package.json package-lock.json
	npm ci --no-audit --no-fund --loglevel=error
	touch $@

assets: node_modules/.stamp ## Copy the pinned front-end files into the static folder
	@mkdir -p $(VENDOR)/leaflet/images $(VENDOR)/swagger-ui
	@cp node_modules/htmx.org/dist/htmx.min.js $(VENDOR)/htmx.min.js
	@cp node_modules/echarts/dist/echarts.min.js $(VENDOR)/echarts.min.js
	@cp node_modules/leaflet/dist/leaflet.js node_modules/leaflet/dist/leaflet.css $(VENDOR)/leaflet/
	@cp node_modules/leaflet/dist/images/*.png $(VENDOR)/leaflet/images/
	@cp node_modules/axe-core/axe.min.js $(VENDOR)/axe.min.js
	@cp node_modules/swagger-ui-dist/swagger-ui-bundle.js node_modules/swagger-ui-dist/swagger-ui.css $(VENDOR)/swagger-ui/

catalogs: $(VENV)/.stamp-deps ## Compile the translation catalogues
	@if ls src/gongzhi/web/locale/*/LC_MESSAGES/*.po >/dev/null 2>&1; then \
		$(BIN)/pybabel -q compile --use-fuzzy -d src/gongzhi/web/locale -D messages; fi

test-setup: $(VENV)/.stamp-spark ## Browser for the end-to-end tests (Chromium, a CJK font), pyspark for the Spark linkage test
	@bash scripts/ensure-chromium

$(VENV)/.stamp-spark: pyproject.toml
	$(BIN)/python -m pip install --quiet -e '.[spark]'
	touch $@

serve: setup ## Serve the current database without rebuilding the demo
	$(BIN)/gongzhi serve --port $(PORT)

clean: ## Remove the virtualenv, node_modules and local data
	rm -rf $(VENV) node_modules var $(VENDOR)
