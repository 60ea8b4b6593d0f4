# Thin wrapper: every target runs the idempotent scripts/setup first.
BUILD ?= build
CTEST_LABELS ?= unit|model

.PHONY: setup build build-cuda test test-all demo clean

setup:
	@scripts/setup

build: setup

# Unit and model tests (the README's test command; CI runs it through .ci/run).
test: setup
	@cd $(BUILD) && ctest -L '$(CTEST_LABELS)' -j $$(nproc) --output-on-failure --timeout 900

# Everything, including slow tests (and gpu/real where the machine has them).
test-all: setup
	@cd $(BUILD) && ctest -j $$(nproc) --output-on-failure --timeout 1800

# Compile-and-link check against a CUDA LibTorch (no GPU needed): torch==$(CUDA_TORCH) in its
# own venv (never the repo's), configured into $(CUDA_BUILD) with nvcc from $(CUDA_HOME).
CUDA_VENV ?= /work/cuda-venv
CUDA_TORCH ?= 2.14.1
CUDA_HOME ?= /usr/local/cuda
CUDA_BUILD ?= build-cuda
CUDA_TARGETS ?= qbench qbench_torch_gpu_tests
build-cuda:
	@test -x $(CUDA_VENV)/bin/python || python3 -m venv $(CUDA_VENV)
	@$(CUDA_VENV)/bin/python -c "import torch, sys; sys.exit(torch.__version__.split('+')[0] != '$(CUDA_TORCH)' or torch.version.cuda is None)" \
		2>/dev/null || $(CUDA_VENV)/bin/pip install -q torch==$(CUDA_TORCH)
	@QBENCH_SKIP_APT=1 QBENCH_BUILD_DIR=$(CUDA_BUILD) QBENCH_JOBS=$${QBENCH_JOBS:-2} QBENCH_TARGETS="$(CUDA_TARGETS)" \
		QBENCH_LIBTORCH=$$($(CUDA_VENV)/bin/python -c 'import torch; print(torch.utils.cmake_prefix_path)') \
		QBENCH_CMAKE_ARGS="-DCMAKE_CUDA_COMPILER=$(CUDA_HOME)/bin/nvcc -DCUDAToolkit_ROOT=$(CUDA_HOME)" \
		scripts/setup

demo: setup
	@scripts/demo

clean:
	rm -rf $(BUILD)
