# Two commands on a fresh machine:  make demo  and  make test.
# Both create .venv and install everything first (torch pinned to the CPU build on disk).
PY ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
TORCH := torch==2.13.0

.PHONY: demo test setup system clean bench gallery fuzz

setup: $(STAMP)

$(STAMP): pyproject.toml
	$(MAKE) system
	$(PY) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip
	$(BIN)/pip install -q "$(TORCH)"
	$(BIN)/pip install -q -e ".[torch,onnx,render,search,dev]"
	touch $(STAMP)

# graphviz's `dot` for diagrams; PostgreSQL for the shared-study tests. Best effort: the
# suite skips what needs a missing system binary and says so.
system:
	@command -v dot >/dev/null 2>&1 || { (apt-get update -qq && apt-get install -y -qq graphviz >/dev/null) || echo "warning: could not install graphviz"; }
	@ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1 || { (apt-get update -qq && apt-get install -y -qq postgresql >/dev/null) || echo "warning: could not install postgresql (the shared-study test will be skipped)"; }

demo: setup
	$(BIN)/python -m archlang.cli.demo

test: setup
	$(BIN)/python -m pytest tests

# The fuzzers (tests/test_fuzz.py mutates the zoo's specs, tests/test_fuzz_grammar.py generates
# specs) for FUZZ_SECONDS each, new seeds every round; `make test` runs a fixed sample of both.
FUZZ_SECONDS ?= 600
fuzz: setup
	ARCHLANG_FUZZ_SECONDS=$(FUZZ_SECONDS) $(BIN)/python -m pytest tests/test_fuzz.py tests/test_fuzz_grammar.py -q -x -s

bench: setup
	$(BIN)/python benchmarks/run_all.py

# docs/gallery/*.svg (shown by docs/gallery.md): the zoo drawn by `archlang render`.
GALLERY ?= docs/gallery
RENDER = $(BIN)/archlang render
IMAGE = --input x=Bx3x224x224
gallery: setup
	@mkdir -p $(GALLERY)
	$(RENDER) specs/vision/resnet.arch -m ResNet50 $(IMAGE) -o $(GALLERY)/resnet50.svg
	$(RENDER) specs/vision/resnet.arch -m ResNet18 $(IMAGE) --depth 1 --direction LR -o $(GALLERY)/resnet18_overview.svg
	$(RENDER) specs/vision/vit.arch -m ViT_B_16 -o $(GALLERY)/vit_b_16.svg
	$(RENDER) specs/text/gpt2.arch -m GPT2 -o $(GALLERY)/gpt2.svg
	$(RENDER) specs/vision/mobilenet.arch -m MobileNetV2 $(IMAGE) --depth 2 -o $(GALLERY)/mobilenet_v2.svg
	$(RENDER) specs/vision/efficientnet.arch -m EfficientNetB0 $(IMAGE) --depth 3 -o $(GALLERY)/efficientnet_b0.svg
	$(RENDER) specs/vision/convnext.arch -m ConvNeXtTiny $(IMAGE) -o $(GALLERY)/convnext_tiny.svg
	$(RENDER) specs/vision/unet.arch -m UNet_Original --depth 2 -o $(GALLERY)/unet.svg
	$(RENDER) specs/vision/mlp_mixer.arch -m Mixer_B16 -o $(GALLERY)/mixer_b16.svg
	$(RENDER) specs/vision/hybrid.arch -m CoAtNet_0 --depth 3 -o $(GALLERY)/coatnet_0.svg
	$(RENDER) specs/text/mamba.arch -m Mamba_130M -o $(GALLERY)/mamba_130m.svg
	$(RENDER) specs/text/moe.arch -m MoE_GPT_8x --depth 2 -o $(GALLERY)/moe_gpt_8x.svg
	$(RENDER) specs/spaces/tiny_cnn.arch -m TinyCNN -o $(GALLERY)/tiny_cnn.svg
	$(RENDER) specs/spaces/nasbench201.arch -m NASBench201 --depth 2 -o $(GALLERY)/nasbench201.svg
	$(RENDER) specs/spaces/darts.arch -m DARTS --depth 2 -o $(GALLERY)/darts.svg

clean:
	rm -rf $(VENV) build *.egg-info

# editors/vscode/archlang-<version>.vsix: the VS Code extension.  The TextMate grammar is
# copied in from editors/textmate/ (vsce packs only the extension's folder), and vsce bundles
# the production node_modules (vscode-languageclient).  Needs node >= 20 and npm.
.PHONY: vsix
vsix:
	cd editors/vscode && npm ci --no-audit --no-fund
	mkdir -p editors/vscode/syntaxes
	cp editors/textmate/arch.tmLanguage.json editors/vscode/syntaxes/arch.tmLanguage.json
	cd editors/vscode && npx --no-install vsce package --allow-missing-repository
