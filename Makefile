# The project's commands. `make run` and `make test` work on a fresh machine with Python 3.11,
# pip, Node.js and Java: they create .venv and install the pinned requirements when missing.
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
export JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION := 20
export PYTHONDONTWRITEBYTECODE := 1

# Third-party packages bundled into the Lambda dependencies layer, at requirements.txt's versions.
RUNTIME_PACKAGES := aws-lambda-powertools boto3 pydantic jinja2 stripe cryptography idna packaging markdown-it-py nh3
LAMBDA_PLATFORM := manylinux2014_aarch64
LAMBDA_PYTHON := 3.14

.PHONY: help install lock run test test-dynamodb-local lint format synth build bench bench-import bench-fanout bench-mail deploy cost screenshots clean

help:
	@echo "make run    - the local system with demo data on http://127.0.0.1:8000"
	@echo "make test   - the whole test suite"
	@echo "make lint   - ruff and mypy"
	@echo "make synth  - synthesize the CDK stack (offline)"
	@echo "make build  - prepare the Lambda layers in build/"
	@echo "make bench  - benchmarks, written to bench/results.json"
	@echo "make deploy - build and cdk deploy (CDK_ARGS=\"-c stage=prod -c domain=...\")"
	@echo "make cost   - the stack's fixed monthly cost and the cost of 1,000 validations"
	@echo "make screenshots - PNGs of the portal pages, the mails and the console's screens, in screenshots/"

$(BIN)/activate:
	$(PYTHON) -m venv $(VENV)

$(VENV)/.installed: requirements.lock pyproject.toml | $(BIN)/activate
	$(BIN)/pip install --quiet --disable-pip-version-check uv==0.13.8
	$(BIN)/uv pip sync --quiet --python $(BIN)/python requirements.lock
	$(BIN)/uv pip install --quiet --python $(BIN)/python --no-deps -e .
	touch $@

# requirements.txt names what we use; requirements.lock pins everything it pulls in, for every
# platform, so that .venv and the Lambda layer get one version of each package. After changing
# requirements.txt: make lock.
lock: | $(BIN)/activate
	$(BIN)/pip install --quiet --disable-pip-version-check uv==0.13.8
	$(BIN)/uv pip compile --quiet --universal --python-version 3.11 requirements.txt -o requirements.lock

node_modules/.installed: package.json package-lock.json
	npm ci --no-audit --no-fund --loglevel=error
	touch $@

install: $(VENV)/.installed node_modules/.installed

run: $(VENV)/.installed
	$(BIN)/licensing dev

test: install
	@command -v java >/dev/null || { echo "make test needs Java 17+ (DynamoDB Local): apt-get install -y openjdk-17-jre-headless" >&2; exit 1; }
	@command -v unshare >/dev/null || { echo "make test needs unshare (util-linux) to keep DynamoDB Local off the network" >&2; exit 1; }
	@command -v ip >/dev/null || { echo "make test needs ip (iproute2) to bring up loopback in DynamoDB Local's namespace" >&2; exit 1; }
	@command -v chromium >/dev/null || { echo "make test needs Chromium for the portal's browser tests: apt-get install -y chromium" >&2; exit 1; }
	@command -v php >/dev/null && php -m | grep -qx curl && php -m | grep -qx sodium || { echo "make test needs PHP 8.1+ with curl and sodium for the extension-side clients: apt-get install -y php-cli php-curl" >&2; exit 1; }
	$(BIN)/pytest -m "not dynamodb_local" $(PYTEST_ARGS)
	$(MAKE) --no-print-directory test-dynamodb-local

# DynamoDB Local listens on every interface: run it, with its tests, in a network namespace of
# its own that has only loopback.
test-dynamodb-local: install
	unshare -n sh -c 'ip link set lo up && exec $(BIN)/pytest -m dynamodb_local $(PYTEST_ARGS)'

lint: $(VENV)/.installed
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy

format: $(VENV)/.installed
	$(BIN)/ruff check --fix .
	$(BIN)/ruff format .

# Deploy settings (API.md section 6), e.g. make deploy CDK_ARGS="-c stage=prod -c domain=licenses.example.com
# -c certificate_arn=arn:aws:acm:... -c alarm_email=ops@example.com -c mail_from=licenses@example.com".
CDK_ARGS ?=

synth: install
	npx cdk synth --quiet $(CDK_ARGS)

build: $(VENV)/.installed
	$(BIN)/python -m infra.build --platform $(LAMBDA_PLATFORM) --python-version $(LAMBDA_PYTHON) $(RUNTIME_PACKAGES)

# The importer's, the fan-out's and the mail legs run on DynamoDB Local (moto copies the table per
# transaction and reads a whole index partition per query), off the network. One leg alone:
# make bench-import, bench-fanout or bench-mail.
bench: install
	$(BIN)/python -m bench
	unshare -n sh -c 'ip link set lo up && $(BIN)/python -m bench.imports && $(BIN)/python -m bench.fanout \
		&& exec $(BIN)/python -m bench.mail'

bench-import: install
	unshare -n sh -c 'ip link set lo up && exec $(BIN)/python -m bench.imports'

bench-fanout: install
	unshare -n sh -c 'ip link set lo up && exec $(BIN)/python -m bench.fanout'

bench-mail: install
	unshare -n sh -c 'ip link set lo up && exec $(BIN)/python -m bench.mail'

deploy: build install
	npx cdk deploy $(CDK_ARGS)

# The cost does not depend on the layers' contents: synthesize with the placeholder, then read it.
cost: install
	rm -rf cdk.out
	npx cdk synth --quiet -c licensing:placeholderLayers=true $(CDK_ARGS) > /dev/null
	$(BIN)/python -m infra.cost cdk.out

# PNGs in screenshots/ (git-ignored), to be looked at: every portal page (1280 and 375 px) and each
# mail; then the staff console's screens, which its browser test saves as it goes.
screenshots: install
	$(BIN)/python -m tests.screenshots
	$(BIN)/pytest tests/e2e/test_console_in_chromium.py -q

clean:
	rm -rf build cdk.out .pytest_cache .mypy_cache .ruff_cache
