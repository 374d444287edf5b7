# eoplex: an openEO back-end. `make help` lists the targets.
SHELL := /bin/bash
UV_VERSION := 0.13.9
UV := .tools/bin/uv
VENV := .venv
PY := $(VENV)/bin/python
export UV_PYTHON_DOWNLOADS := never
export UV_PROJECT_ENVIRONMENT := $(VENV)
MANIFESTS := pyproject.toml uv.lock $(wildcard libs/*/pyproject.toml services/*/pyproject.toml)

.PHONY: help install run test lint proto proto-check manifest manifest-check bench k8s-validate images
.DEFAULT_GOAL := help

help: ## List the targets
	@grep -E '^[a-z0-9-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  make %-14s %s\n", $$1, $$2}'

$(UV):
	python3 -m venv .tools
	.tools/bin/pip install --quiet uv==$(UV_VERSION)

# checkov pins old versions of packages the project uses: it gets a venv of its own.
CHECKOV_VERSION := 3.3.30
CHECKOV := .tools/checkov/bin/checkov

$(CHECKOV):
	python3 -m venv .tools/checkov
	.tools/checkov/bin/pip install --quiet checkov==$(CHECKOV_VERSION)

$(VENV)/.installed: $(UV) $(MANIFESTS)
	$(UV) sync --all-packages --frozen --python python3.11
	touch $@

# The official openEO JavaScript client, for the end-to-end tests that drive it under Node.
JS_CLIENT := tests/js/node_modules/.installed

$(JS_CLIENT): tests/js/package.json tests/js/package-lock.json
	npm ci --prefix tests/js --ignore-scripts --no-audit --no-fund
	touch $@

install: $(VENV)/.installed $(JS_CLIENT) ## Install everything the project needs (.venv, tests/js) (idempotent)

run: $(VENV)/.installed ## Start the whole back-end on 127.0.0.1 (OPENEO_PORT, default 8000)
	$(VENV)/bin/eoplex run

test: install ## Run the whole test suite
	TZ=UTC $(PY) -m pytest

bench: install ## Time the executor against a rasterio+numpy floor on 12 dates of 2048x2048 COGs
	TZ=UTC $(PY) -m bench.run

lint: install ## ruff, mypy and the import-layer contracts
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	$(VENV)/bin/mypy libs/common/src libs/cli/src services/*/src
	$(VENV)/bin/lint-imports

proto: install ## Regenerate the gRPC stubs from proto/ into libs/proto
	$(PY) tools/generate_proto.py

proto-check: proto ## Fail when the committed stubs are stale
	git diff --exit-code -- libs/proto || (echo "stubs are stale: run make proto and commit" >&2; exit 1)

EXECUTOR_MANIFEST := libs/common/src/eoplex_common/manifest/executor.json

manifest: install ## Regenerate the executor manifest (processes, formats, UDF runtimes) in libs/common
	$(PY) tools/generate_manifest.py

manifest-check: manifest ## Fail when the committed executor manifest differs from the executor
	git diff --exit-code -- $(EXECUTOR_MANIFEST) || (echo "the executor manifest is stale: run make manifest and commit $(EXECUTOR_MANIFEST)" >&2; exit 1)

k8s-validate: install $(CHECKOV) ## Lint the Dockerfiles, render, validate and policy-scan deploy/k8s
	$(PY) deploy/k8s/validate.py --checkov $(CHECKOV)

# One image per service, all from deploy/Dockerfile: `make images` builds them all,
# `make image-<service>` one. IMAGE_PREFIX is the registry path (e.g.
# registry.example.org/eoplex/); PYTHON_IMAGE may name the base image by digest.
IMAGE_SERVICES := gateway auth capabilities data-discovery processes jobs files executor
IMAGE_PREFIX ?=
IMAGE_TAG ?= 0.1.0
PYTHON_IMAGE ?= python:3.11-slim-bookworm
.PHONY: $(IMAGE_SERVICES:%=image-%)

images: $(IMAGE_SERVICES:%=image-%) ## Build every service's image from deploy/Dockerfile (IMAGE_PREFIX, IMAGE_TAG)

# A gRPC service listens where OPENEO_<SERVICE>_LISTEN says, the gateway on
# OPENEO_GATEWAY_HOST and its default port, 8000.
image-%: LISTEN_VARIABLE = OPENEO_$(shell echo '$*' | tr 'a-z-' 'A-Z_')_LISTEN
image-%: LISTEN_ADDRESS = 0.0.0.0:50051
image-%: PORT = 50051
image-gateway: LISTEN_VARIABLE = OPENEO_GATEWAY_HOST
image-gateway: LISTEN_ADDRESS = 0.0.0.0
image-gateway: PORT = 8000

$(IMAGE_SERVICES:%=image-%): image-%:
	docker build -f deploy/Dockerfile -t $(IMAGE_PREFIX)eoplex-$*:$(IMAGE_TAG) \
		--build-arg PYTHON_IMAGE=$(PYTHON_IMAGE) \
		--build-arg SERVICE=$* --build-arg MODULE=eoplex_$(subst -,_,$*) \
		--build-arg LISTEN_VARIABLE=$(LISTEN_VARIABLE) --build-arg LISTEN_ADDRESS=$(LISTEN_ADDRESS) \
		--build-arg PORT=$(PORT) .
