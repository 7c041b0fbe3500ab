# make demo : the kit's main job on the embedded synthetic data (no network; time: README.md)
# make test : the test suite (what CI runs)
# make lab  : JupyterLab on the notebooks (also as root, as in a container)
PY      ?= python3
VENV    ?= .venv
BIN     := $(VENV)/bin
STAMP   := $(VENV)/.installed
# torch/torchvision pinned to releases that install without a download on the kit's CPU machines; override
# with `make TORCH_SPEC="torch torchvision"` to take whatever your index offers.
TORCH_SPEC ?= torch==2.14.1 torchvision==0.29.1

# requirements.lock: the exact versions the tests passed with, used as constraints (regenerate: make lock)
LOCK    := requirements.lock
EXTRAS  := notebooks,test,export,tracking,cluster,docs

.PHONY: venv demo test lab lock docs clean-demo

venv: $(STAMP)

$(STAMP): pyproject.toml $(LOCK)
	test -x $(BIN)/python || $(PY) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet $(TORCH_SPEC)
	$(BIN)/python -m pip install --quiet -c $(LOCK) -e ".[$(EXTRAS)]"
	touch $(STAMP)

demo: venv
	rm -rf runs/demo
	$(BIN)/python -m mosaic_kit train --preset cpu-tiny --out runs/demo  # ends with the table and the figures

test: venv
	$(BIN)/python -m pytest -q

# Jupyter refuses to start as root unless told; containers often run as root
ALLOW_ROOT := $(if $(filter 0,$(shell id -u)),--allow-root,)
lab: venv
	$(BIN)/jupyter lab notebooks/ $(ALLOW_ROOT) $(LAB_ARGS)

docs: venv
	$(BIN)/mkdocs build --strict

lock: venv
	{ sed -n '1,3p' $(LOCK); $(BIN)/python -m pip list --format=freeze --exclude-editable | \
	  grep -v -i -E '^(torch|torchvision|triton|nvidia-|cuda-|mosaic.kit|pip)=='; } > $(LOCK).new && mv $(LOCK).new $(LOCK)
