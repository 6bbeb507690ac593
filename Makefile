# Lumen: `make demo` (set up, build, run the main job) and `make test` (every test).
SWIFT ?= swift
CONFIG ?= debug
JOBS ?= $(shell nproc)
BUILD_FLAGS = -c $(CONFIG) -j $(JOBS)
LUMEN = $(shell $(SWIFT) build $(BUILD_FLAGS) --show-bin-path)/lumen

.PHONY: setup build test unit interop interop-pipelines bench bench-elpv interop-torch demo clean

setup:
	@bash scripts/setup.sh

# `lumen` loads its native bridges (libLumenTorchBridge.so, libLumenImagingBridge.so, built next to it) on first use.
build: setup
	$(SWIFT) build $(BUILD_FLAGS) --product lumen
	$(SWIFT) build $(BUILD_FLAGS) --product LumenTorchBridge
	$(SWIFT) build $(BUILD_FLAGS) --product LumenImagingBridge

PG_DIR ?= /tmp/lumen-test-postgres-$(shell id -u)
PG_PORT ?= 55432

# Store tests run on SQLite and on a private PostgreSQL server started here and stopped afterwards.
# MemoryTests (process RSS), SeedTests and TrainerTests (the process-wide generator and thread count) each run alone in a process of their own;
# the end-to-end tests run after the others (their lumen subprocesses are waited for on threads of Swift's cooperative pool,
# 2 here, which other tests' servers need), and the pipeline end-to-end suites each alone.
unit: setup
	$(SWIFT) build $(BUILD_FLAGS) --build-tests
	$(SWIFT) build $(BUILD_FLAGS) --product LumenTorchBridge
	$(SWIFT) build $(BUILD_FLAGS) --product LumenImagingBridge
	@url=$$(bash scripts/postgres.sh start $(PG_DIR) $(PG_PORT)) || exit 1; \
	  trap 'bash scripts/postgres.sh stop $(PG_DIR)' EXIT; \
	  LUMEN_TEST_POSTGRES_URL="$$url" LUMEN_REQUIRE_POSTGRES=1 $(SWIFT) test $(BUILD_FLAGS) --skip-build --skip MemoryTests --skip SeedTests --skip TrainerTests --skip EndToEndTests && \
	  LUMEN_TEST_POSTGRES_URL="$$url" LUMEN_REQUIRE_POSTGRES=1 $(SWIFT) test $(BUILD_FLAGS) --skip-build --filter EndToEndTests \
	    --skip PipelineCLITests --skip BatchPredictCLITests --skip SchedulerCLITests --skip RetrainingLoopCLITests
	for suite in PipelineCLITests BatchPredictCLITests SchedulerCLITests RetrainingLoopCLITests; do \
	  $(SWIFT) test $(BUILD_FLAGS) --skip-build --filter "EndToEndTests.$$suite" || exit 1; done
	$(SWIFT) test $(BUILD_FLAGS) --skip-build --filter MemoryTests
	$(SWIFT) test $(BUILD_FLAGS) --skip-build --filter SeedTests
	$(SWIFT) test $(BUILD_FLAGS) --skip-build --filter TrainerTests

test: unit interop

# Interop: the official mlflow client against `lumen serve` (venv made on first use).
interop: setup
	$(SWIFT) build $(BUILD_FLAGS) --product lumen
	$(SWIFT) build $(BUILD_FLAGS) --product LumenTorchBridge
	$(SWIFT) build $(BUILD_FLAGS) --product LumenImagingBridge
	LUMEN_BIN="$$($(SWIFT) build $(BUILD_FLAGS) --show-bin-path)/lumen" bash interop/run.sh

# Pipeline export interop: the Airflow DAG, Prefect flow and Argo Workflow that `lumen pipeline export` writes,
# against Airflow's DagBag and dag.test(), a Prefect flow run and Argo's models (own venv; not part of `make test`).
interop-pipelines: setup
	$(SWIFT) build $(BUILD_FLAGS) --product lumen
	$(SWIFT) build $(BUILD_FLAGS) --product LumenTorchBridge
	$(SWIFT) build $(BUILD_FLAGS) --product LumenImagingBridge
	LUMEN_BIN="$$($(SWIFT) build $(BUILD_FLAGS) --show-bin-path)/lumen" bash interop/pipelines/run.sh

bench: setup
	bash Benchmarks/run.sh

# Long: the ELPV demo configuration trained by Lumen and by PyTorch on the same split (accuracy, AUC, time).
bench-elpv: setup
	bash Benchmarks/elpv_bench.sh

# Heavy interop: checkpoints and outputs against torchvision (downloads PyTorch; not part of `make test`).
interop-torch: setup
	bash interop/torch/run.sh

demo: setup
	$(SWIFT) build -c release --product lumen
	$(SWIFT) build -c release --product LumenTorchBridge
	$(SWIFT) build -c release --product LumenImagingBridge
	bash scripts/demo.sh "$$($(SWIFT) build -c release --show-bin-path)/lumen"

clean:
	rm -rf .build .lumen
