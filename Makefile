# MiniLlmPipeline — `make` runs the default pipeline end to end, `make test` runs the test suite.
#
#   make <stage>...                 run stages in order; their upstream stages run first and are
#                                   skipped when up to date (same spec, same inputs)
#   make sft FORCE=1                rerun the named stage(s) even if up to date
#   make sft SET="sft.data=my.parquet sft.lr=5e-5"   override spec keys without editing YAML
#   make pretrain PIPELINE=pipelines/tiny.yaml        use another pipeline spec
#   make generate PROMPT="以《春望》为题写一首五言律诗" FROM=sft
#   make export FROM=sft [FORMAT=gguf|hf] [QUANT=f32|f16|q8_0]   runs/<pipeline>/export/<stage>/ (README: Use your model elsewhere)
#   make explain FROM="sft grpo" [PROMPT="…"]   runs/<pipeline>/explain/<stages>/index.html (README: See inside the model)
#   make eval PIPELINE=pipelines/tang-poetry-distill.yaml   a half-width student distilled from sft (README: Distillation)
#   make data                       rebuild data/tang from the chinese-poetry npm package
SHELL := /bin/bash
.SHELLFLAGS := -eo pipefail -c
PIPELINE ?= pipelines/tang-poetry.yaml
SET ?=
FORCE ?=
DEVICE ?=
FROM ?= pretrain
BENCH ?=
PROMPT ?=
FORMAT ?= gguf
QUANT ?=
CONFIG := Release
# The .NET artifacts layout names the output folder after the configuration in lower case (artifacts/bin/<Project>/release).
CONFIG_DIR := $(shell echo '$(CONFIG)' | tr '[:upper:]' '[:lower:]')
BIN := artifacts/bin
DOTNET ?= dotnet
# Stages, tools and the bench run with tcmalloc as their malloc (installed on first use; MINILLM_ALLOCATOR=glibc to
# compare): build/tcmalloc/with-tcmalloc.sh says why.
RUN := build/tcmalloc/with-tcmalloc.sh $(DOTNET)
export DOTNET_CLI_TELEMETRY_OPTOUT := 1
export DOTNET_NOLOGO := 1
export DOTNET_SKIP_FIRST_TIME_EXPERIENCE := 1

.PHONY: all build test clean data bench report generate export explain serve chromium

# The default target: the whole default pipeline, skipping stages that are up to date.
all: eval

build:
	$(DOTNET) build MiniLlmPipeline.sln -c $(CONFIG) -nologo -v:q -clp:NoSummary

# Build everything first: the integration tests run the stage programs, which `dotnet test` alone does not build.
# The serve tests drive Debian's chromium (Playwright's own browser download is unreachable): installed when missing.
test: build chromium
	$(DOTNET) test MiniLlmPipeline.sln -c $(CONFIG) --no-build -nologo -v:q

clean:
	rm -rf artifacts runs

# $(call run_stage,Project,name): a stage program; --force only for stages named on the command line, and the others
# (upstream stages) skipped when the spec leaves them out (pipelines/tang-poetry-distill.yaml has no reward model).
run_stage = $(RUN) $(BIN)/$(1)/$(CONFIG_DIR)/$(2).dll --pipeline $(PIPELINE) \
	$(foreach s,$(SET),--set $(s)) $(if $(DEVICE),--device $(DEVICE)) \
	$(if $(and $(FORCE),$(filter $(2),$(MAKECMDGOALS))),--force) \
	$(if $(filter $(2),$(MAKECMDGOALS)),,--skip-undefined)

# $(eval $(call stage,name,Project,upstream stages...)): `make <name>` runs the stage after its upstream stages.
define stage
STAGES += $(1)
$(1): $(or $(3),build)
	$$(call run_stage,$(2),$(1))
endef

# One line per entry of src/Common/Pipeline/StageCatalog.cs, in its order, with the upstream stages the default spec
# names (tests/MiniLlmPipeline.Tests/Pipeline/StageCatalogTests.cs checks both, so the two cannot drift).
$(eval $(call stage,tokenize,Tokenize,))
$(eval $(call stage,pretrain,Pretrain,tokenize))
$(eval $(call stage,sft,Sft,pretrain))
$(eval $(call stage,reward_model,RewardModel,sft))
$(eval $(call stage,dpo,Dpo,sft))
$(eval $(call stage,ppo,Ppo,sft reward_model))
$(eval $(call stage,grpo,Grpo,sft))
$(eval $(call stage,distill,Distill,tokenize sft))
$(eval $(call stage,eval,Eval,pretrain sft reward_model dpo ppo grpo distill))
.PHONY: $(STAGES)

# Re-evaluates every completed stage and copies report.md, report.json and the figures to
# pipelines/reports/<pipeline>/ (committed, so the README can embed them).
report: build
	$(call run_stage,Eval,eval) --force --set eval.publish_dir=pipelines/reports/$(basename $(notdir $(PIPELINE)))

generate: build
	$(RUN) $(BIN)/Generate/$(CONFIG_DIR)/generate.dll --pipeline $(PIPELINE) --from $(FROM) \
		$(if $(PROMPT),--prompt "$(PROMPT)") $(if $(DEVICE),--device $(DEVICE))

export: build
	$(RUN) $(BIN)/Export/$(CONFIG_DIR)/export.dll --pipeline $(PIPELINE) --from $(FROM) --format $(FORMAT) $(if $(QUANT),--quant $(QUANT)) \
		$(foreach s,$(SET),--set $(s))

# One page per run of it: attention heat-maps, next-token distributions, sampling strategies measured, anatomy, training curves.
explain: build
	$(RUN) $(BIN)/Explain/$(CONFIG_DIR)/explain.dll --pipeline $(PIPELINE) --from "$(FROM)" $(if $(PROMPT),--prompt "$(PROMPT)") \
		$(foreach s,$(SET),--set $(s)) $(if $(DEVICE),--device $(DEVICE))

# make serve FROM=sft [PORT=8080] [SERVE="--api-key KEY --host 0.0.0.0"]: an OpenAI-compatible server and a chat page
# at http://127.0.0.1:8080/ over a completed stage's checkpoint (see README.md, "Serving the model").
PORT ?= 8080
SERVE ?=
serve: build
	$(RUN) $(BIN)/Serve/$(CONFIG_DIR)/serve.dll --pipeline $(PIPELINE) --from $(FROM) --port $(PORT) \
		$(foreach s,$(SET),--set $(s)) $(if $(DEVICE),--device $(DEVICE)) $(SERVE)

chromium:
	build/chromium/ensure-chromium.sh

# make bench [BENCH="--quick" | BENCH="--only pretrain"]: see bench/README.md.
bench: build
	$(RUN) run --project bench/Bench -c $(CONFIG) --no-build -- --out bench/results.json $(BENCH)

data:
	$(DOTNET) run --project data/TangDataBuilder -c $(CONFIG) -- --out data
