# Two commands for a newcomer: `make run` (the app with demo data) and `make test` (the suite).
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
FLASK := $(BIN)/flask --app app
PORT ?= 5000
WECHAT_STUB_PORT ?= 5001
STAMP := $(VENV)/.installed

.PHONY: run test lint venv clean

venv: $(STAMP)

$(STAMP): setup.cfg pyproject.toml
	$(PYTHON) -c 'import sys; assert sys.version_info >= (3, 11), "Python 3.11+ is needed"'
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	touch $(STAMP)

run: $(STAMP)
	$(FLASK) db upgrade
	$(FLASK) seed-demo
	@echo "WeChat stub: http://127.0.0.1:$(WECHAT_STUB_PORT)"
	@echo "API:         http://127.0.0.1:$(PORT)/api/v1/   docs: http://127.0.0.1:$(PORT)/api/v1/docs"
	@echo "health:      http://127.0.0.1:$(PORT)/healthz   http://127.0.0.1:$(PORT)/readyz"
	@$(BIN)/python -m mini_program_stub.wechat_server --port $(WECHAT_STUB_PORT) & stub=$$!; \
	trap 'kill $$stub 2>/dev/null' EXIT INT TERM; \
	WECHAT_API_BASE=http://127.0.0.1:$(WECHAT_STUB_PORT) $(FLASK) run --host 127.0.0.1 --port $(PORT)

test: $(STAMP)
	$(BIN)/pytest $(PYTEST_ARGS)

lint: $(STAMP)
	$(BIN)/ruff check .

clean:
	rm -rf $(VENV) instance *.egg-info
