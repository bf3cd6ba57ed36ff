# Every install step lives here: `make demo` and `make test` work from a clean clone.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
DOIUSE_EMAIL := 0.4.1

.PHONY: install demo test bench eval model lint clean

install: $(VENV)/.installed

$(VENV)/.installed: pyproject.toml Makefile
	@$(PYTHON) -c 'import sys; sys.exit(0 if sys.version_info >= (3, 11) else "newsletter needs Python 3.11 or newer")'
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[test]'
	@# Bytecode written once, as a wheel install leaves it: with PYTHONDONTWRITEBYTECODE set, an editable
	@# checkout would compile every module again in every process (0.2 s of each command's start).
	$(BIN)/python -m compileall -q newsletter
	@# Headless Chromium for screenshots (preview --png, the demo's PNGs); optional, installed when possible.
	@command -v chromium >/dev/null 2>&1 || { [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1 && \
		apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null; } || \
		echo "note: chromium not installed; screenshots (preview --png) are unavailable"
	@# Deliverability checks (optional, installed when possible): SpamAssassin from Debian scores the demo
	@# digests offline; doiuse-email from npm checks them against caniemail's data (needs node).
	@command -v spamassassin >/dev/null 2>&1 || { [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1 && \
		apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq spamassassin >/dev/null; } || \
		echo "note: spamassassin not installed; its test is skipped"
	@{ command -v npm >/dev/null 2>&1 && npm install --silent --no-audit --no-fund --prefix $(VENV)/npm \
		doiuse-email@$(DOIUSE_EMAIL); } || echo "note: doiuse-email not installed (no npm?); the caniemail check cannot run"
	@# Dovecot's IMAP server, which the inbox tests start on 127.0.0.1 with a config of their own (the
	@# package's own service is left alone); optional, installed when possible.
	@command -v dovecot >/dev/null 2>&1 || [ -x /usr/sbin/dovecot ] || { [ "$$(id -u)" = 0 ] && \
		command -v apt-get >/dev/null 2>&1 && apt-get update -qq && \
		DEBIAN_FRONTEND=noninteractive apt-get install -y -qq dovecot-imapd >/dev/null; } || \
		echo "note: dovecot not installed; the IMAP inbox tests will be skipped"
	@touch $@

demo: install
	$(BIN)/newsletter demo --out demo-out

test: install
	$(BIN)/python -m pytest

bench: install
	$(BIN)/python benchmarks/run.py

eval: install
	$(BIN)/python benchmarks/eval_relevance.py

# Rebuilds newsletter/data/arxiv_model.npz (word rarity and phrase profiles) from ../shared/corpus.
model: install
	$(BIN)/python benchmarks/build_model.py

lint: install
	$(BIN)/ruff check newsletter tests benchmarks migrations
	$(BIN)/ruff format --check newsletter tests benchmarks migrations
	$(BIN)/mypy

clean:
	rm -rf $(VENV) demo-out .pytest_cache
