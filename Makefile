# Two commands for a fresh machine: `make run` and `make test`. Everything else is their parts.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
FLASK := $(BIN)/flask --app webapp
VENDOR := webapp/static/vendor
PG_TEST_URL ?= postgresql+psycopg://postgres@127.0.0.1:5432/test

.PHONY: run test install system-packages assets translations instance lint lint-bpmn layout-bpmn pytest pytest-pg extract-messages clean

run: install assets translations instance
	$(FLASK) db upgrade
	$(FLASK) demo load
	$(FLASK) workflows deploy
	@echo "Serving on http://127.0.0.1:5000 (Ctrl-C stops it)"
	JIXIAO_ENV=$${JIXIAO_ENV:-development} $(FLASK) run --host 127.0.0.1 --port 5000

# The SQLite and PostgreSQL runs go side by side (two cores); each prints its output when it ends.
test: install assets translations lint lint-bpmn
	$(MAKE) --no-print-directory -j2 --output-sync=target pytest pytest-pg

install: system-packages $(VENV)/.installed

# Debian packages: the Chinese font the PDF reports embed (webapp/domain/results/reports.py), and Chromium
# with a CJK font for the browser tests (tests/browser). apt-get runs only when one is missing.
CJK_FONT := /usr/share/fonts/truetype/wqy/wqy-microhei.ttc
BROWSER_FONT := /usr/share/fonts/opentype/noto/NotoSansCJK-Regular.ttc
SUDO := $(shell [ "$$(id -u)" = 0 ] || echo sudo)
system-packages:
	@missing=""; \
	[ -f $(CJK_FONT) ] || missing="$$missing fonts-wqy-microhei"; \
	[ -x /usr/bin/chromium ] || missing="$$missing chromium"; \
	[ -f $(BROWSER_FONT) ] || missing="$$missing fonts-noto-cjk"; \
	if [ -n "$$missing" ]; then \
		echo "installing Debian packages:$$missing"; \
		$(SUDO) apt-get update -qq && \
		$(SUDO) env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends $$missing; \
	fi

$(VENV)/.installed: pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	touch $@

assets: $(VENDOR)/.built $(VENDOR)/modeler/.built

$(VENDOR)/.built: package.json package-lock.json
	npm ci --no-audit --no-fund --loglevel=error
	rm -rf $(VENDOR) && mkdir -p $(VENDOR)/bootstrap/css $(VENDOR)/bootstrap/js $(VENDOR)/bootstrap-icons
	cp node_modules/bootstrap/dist/css/bootstrap.min.css* $(VENDOR)/bootstrap/css/
	cp node_modules/bootstrap/dist/js/bootstrap.bundle.min.js* $(VENDOR)/bootstrap/js/
	cp -r node_modules/bootstrap-icons/font/bootstrap-icons.min.css node_modules/bootstrap-icons/font/fonts $(VENDOR)/bootstrap-icons/
	mkdir -p $(VENDOR)/bpmn-js $(VENDOR)/echarts
	cp node_modules/bpmn-js/dist/bpmn-navigated-viewer.production.min.js $(VENDOR)/bpmn-js/
	cp -r node_modules/bpmn-js/dist/assets/diagram-js.css node_modules/bpmn-js/dist/assets/bpmn-js.css node_modules/bpmn-js/dist/assets/bpmn-font $(VENDOR)/bpmn-js/
	cp node_modules/echarts/dist/echarts.min.js $(VENDOR)/echarts/
	touch $@

# The administrator's modeler and visual diff: our ES modules (webapp/static/src/modeler/, committed)
# bundled with bpmn-js's Modeler, the properties panel and bpmn-js-differ by esbuild (build.mjs, about
# a second), beside the style sheets of diagram-js, bpmn-js (with its icon font) and the properties panel.
MODELER_SRC := $(wildcard webapp/static/src/modeler/*.js webapp/static/src/modeler/*.mjs)
$(VENDOR)/modeler/.built: $(VENDOR)/.built $(MODELER_SRC)
	rm -rf $(VENDOR)/modeler && mkdir -p $(VENDOR)/modeler
	node webapp/static/src/modeler/build.mjs $(VENDOR)/modeler/modeler.js
	cp -r node_modules/bpmn-js/dist/assets/diagram-js.css node_modules/bpmn-js/dist/assets/bpmn-js.css \
		node_modules/bpmn-js/dist/assets/bpmn-font node_modules/@bpmn-io/properties-panel/dist/assets/properties-panel.css \
		$(VENDOR)/modeler/
	touch $@

translations: install
	$(BIN)/pybabel compile --use-fuzzy -d webapp/translations

# Refresh the message catalogue after changing user-visible strings, then translate the .po files.
extract-messages: install
	$(BIN)/pybabel extract -F webapp/babel.cfg -k _l -k lazy_gettext -o webapp/translations/messages.pot --ignore-dirs=".venv node_modules instance tests" --no-location --sort-output --no-wrap .
	$(BIN)/pybabel update -i webapp/translations/messages.pot -d webapp/translations --no-fuzzy-matching --no-wrap

# A random secret key for this machine, written once; production sets JIXIAO_SECRET_KEY instead.
instance: instance/config.py

instance/config.py:
	@mkdir -p instance
	@$(BIN)/python -c "import secrets; print('# Local settings for this machine (not in git).'); print('SECRET_KEY = ' + repr(secrets.token_hex(32)))" > $@
	@echo "wrote $@ with a new secret key"

# Style, the import contracts of pyproject.toml ([tool.importlinter]) and the types ([tool.mypy]).
lint: install
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/lint-imports
	$(BIN)/mypy

# bpmnlint's recommended rules over workflows/*.bpmn (the shared checker installs bpmnlint 11 with npm).
lint-bpmn:
	@if [ -x ../shared/checks/lint-bpmn ]; then ../shared/checks/lint-bpmn; else echo "lint-bpmn: ../shared/checks/lint-bpmn not found; skipped"; fi

# Regenerate the diagram layout (BPMNDI) of workflows/*.bpmn after editing their semantics.
layout-bpmn: install
	$(BIN)/python -m workflows.layout workflows/*.bpmn

pytest: install assets translations
	$(BIN)/pytest -q

# The whole suite again on PostgreSQL, when a server answers (it does on CI and dev machines).
pytest-pg: install assets translations
	@if $(BIN)/python -c "import psycopg; psycopg.connect('$(subst postgresql+psycopg,postgresql,$(PG_TEST_URL))', connect_timeout=3).close()" 2>/dev/null; then \
		echo "== the suite on PostgreSQL"; JIXIAO_TEST_DATABASE_URL='$(PG_TEST_URL)' $(BIN)/pytest -q; \
	else echo "== PostgreSQL does not answer at $(PG_TEST_URL); skipped the PostgreSQL run"; fi

clean:
	rm -rf $(VENV) node_modules $(VENDOR) .pytest_cache .ruff_cache
