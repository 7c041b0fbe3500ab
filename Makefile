# make demo : the kit's main job on the embedded synthetic data (no network, a few minutes on 2 CPU cores)
# make test : the test suite (what CI runs)
PY      ?= python3
VENV    ?= .venv
BIN     := $(VENV)/bin
STAMP   := $(VENV)/.installed
# torch/torchvision pinned to releases that install without a download on the kit's CPU machines; override
# with `make TORCH_SPEC="torch torchvision"` to take whatever your index offers.
TORCH_SPEC ?= torch==2.14.1 torchvision==0.29.1

.PHONY: venv demo test clean-demo

venv: $(STAMP)

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PY) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet $(TORCH_SPEC)
	$(BIN)/python -m pip install --quiet -e ".[notebooks,test,export,tracking,cluster]"
	touch $(STAMP)

demo: venv
	rm -rf runs/demo
	$(BIN)/python -m mosaic_kit train --preset cpu-tiny --out runs/demo
	$(BIN)/python -m mosaic_kit report runs/demo

test: venv
	$(BIN)/python -m pytest -q
