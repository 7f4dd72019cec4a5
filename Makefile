# runner — the commands a new user types. `make run` and `make test` work on a
# fresh Debian 12 machine: they install what is missing (apt-get, pip) first.
SHELL := /bin/bash
SWIFT ?= swift
CONFIG ?= release
BIN = .build/$(CONFIG)/runner

# Debian's OpenBLAS does not recognise this CPU and falls back to SSE3 kernels
# unless OPENBLAS_CORETYPE is set before the process starts (see README).
# A user's own choice wins; `make bench` measures with and without.
ifeq ($(OPENBLAS_CORETYPE),)
ifneq ($(shell grep -qw avx512f /proc/cpuinfo 2>/dev/null && echo yes),)
export OPENBLAS_CORETYPE := SkylakeX
endif
endif

APT_PACKAGES = libopenblas-dev libhdf5-dev hdf5-tools pkg-config
PY_MODULES = h5py jsonschema skimage safetensors numpy yaml

.PHONY: deps build run test gate bench bench-bf16 bench-nocoretype golden schema clean

deps:
	@if ! pkg-config --exists hdf5 openblas 2>/dev/null || ! command -v h5dump >/dev/null; then \
	  echo "installing system packages: $(APT_PACKAGES)"; \
	  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends $(APT_PACKAGES) >/dev/null; \
	fi
	@if ! python3 -c 'import $(subst $(space),$(comma),$(PY_MODULES))' 2>/dev/null; then \
	  echo "installing python packages for the reference checks: h5py jsonschema scikit-image safetensors numpy pyyaml"; \
	  python3 -m pip install -q h5py jsonschema scikit-image safetensors numpy pyyaml; \
	fi

build: deps
	$(SWIFT) build -c $(CONFIG)

run: build
	$(BIN) apply experiments/quickstart.yaml

# One release build of the binaries and the test bundle together (tests import modules without
# @testable and run the built `runner` as a process), then the tests without rebuilding.
test: deps
	$(SWIFT) build -c release --build-tests
	$(SWIFT) test -c release --skip-build

# The CI regression gate: train the CI-sized experiment and check its gates (exit 3 when RMSE
# regresses past its recorded baseline). The store is scratch: each CI run trains afresh.
GATE_STORE ?= .build/gate-store
gate: deps
	@test -x $(BIN) || $(SWIFT) build -c $(CONFIG)   # after `make test` the binary is there already
	rm -rf $(GATE_STORE)
	$(BIN) apply experiments/ci-regression.yaml --store $(GATE_STORE)

# `make bench` runs every benchmark group; `make bench GROUPS="tensor stage1"` a few
# (phantoms, planner, apply, store, tensor, stage1, experiments). Each prints reference figures beside ours.
GROUPS ?=
bench: deps
	$(SWIFT) build -c release --product RunnerBench
	.build/release/RunnerBench $(GROUPS)

# bf16 (own AVX512-BF16 GEMM) against fp32: GEMM, conv layers and a Stage 1 training step.
bench-bf16: deps
	$(SWIFT) build -c release --product RunnerBench
	.build/release/RunnerBench bf16

# The same, with OpenBLAS left to pick its kernels itself (SSE3 "Prescott" on this CPU).
bench-nocoretype: deps
	$(SWIFT) build -c release --product RunnerBench
	env -u OPENBLAS_CORETYPE .build/release/RunnerBench $(GROUPS)

# Regenerate the PyTorch golden files (needs torch; tests only read the committed files).
TORCH_PYTHON ?= /work/venv-torch/bin/python
golden:
	$(TORCH_PYTHON) tools/make_golden.py

# Regenerate the JSON Schema of experiment files from the loader's key tables.
schema:
	python3 schemas/generate.py

clean:
	rm -rf .build

comma := ,
space := $(empty) $(empty)
