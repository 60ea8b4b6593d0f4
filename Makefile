# Thin wrapper: every target runs the idempotent scripts/setup first.
BUILD ?= build
CTEST_LABELS ?= unit|model|shared|llamacpp|real|slurm

.PHONY: setup build build-cuda test test-all demo fuzz clean

setup:
	@scripts/setup

build: setup

# Unit, model, shared, llamacpp, real and slurm tests (the README's test command; CI runs it through
# .ci/run); scripts/test-deps fetches and caches what the llamacpp and real labels need. Then,
# on their own so that no timing test shares the cores with it, the vllm label: a real vLLM
# server (its venv installed and cached by scripts/vllm-venv, started and stopped by ctest).
test: setup
	@scripts/test-deps
	@cd $(BUILD) && ctest -L '$(CTEST_LABELS)' -j $$(nproc) --output-on-failure --timeout 900
	@cd $(BUILD) && ctest -L vllm --output-on-failure --timeout 1500

# Everything, including slow tests (and gpu/real where the machine has them).
test-all: setup
	@cd $(BUILD) && ctest -j $$(nproc) --output-on-failure --timeout 1800

# Compile-and-link check against a CUDA LibTorch (no GPU needed); see scripts/build-cuda.
build-cuda:
	@scripts/build-cuda

# Only what the demo needs (torch and the qbench target); `make test` installs and builds the rest.
demo:
	@QBENCH_SETUP=demo scripts/setup
	@scripts/demo

# libFuzzer targets and the sanitizer (ASan + UBSan + LSan) core unit tests in build-fuzz/ (clang, no
# LibTorch); scripts/fuzz TARGET|all [SECONDS] runs them.
fuzz:
	@scripts/build-fuzz

clean:
	rm -rf $(BUILD)
