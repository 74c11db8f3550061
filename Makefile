# MiniLlmPipeline — `make` runs the default pipeline end to end, `make test` runs the test suite.
#   make <stage>...            run stages in order (upstream stages run first; up-to-date ones are skipped)
#   make sft FORCE=1           rerun the named stage(s) even if up to date
#   make sft SET="sft.data=my.parquet sft.lr=5e-5"   override spec keys
#   make pretrain PIPELINE=pipelines/tiny.yaml        use another pipeline spec
SHELL := /bin/bash
PIPELINE ?= pipelines/tang-poetry.yaml
SET ?=
FORCE ?=
DEVICE ?=
CONFIG := Release
BIN := artifacts/bin
DOTNET ?= dotnet
export DOTNET_CLI_TELEMETRY_OPTOUT := 1
export DOTNET_NOLOGO := 1
export DOTNET_SKIP_FIRST_TIME_EXPERIENCE := 1

STAGES := tokenize pretrain sft reward-model dpo ppo eval

.PHONY: all build test clean data bench report $(STAGES) generate

all: eval

build:
	$(DOTNET) build MiniLlmPipeline.sln -c $(CONFIG) -nologo -clp:ErrorsOnly -v:q

test:
	$(DOTNET) test MiniLlmPipeline.sln -c $(CONFIG) -nologo -v:q

clean:
	rm -rf artifacts runs

# Runs one stage's program: --force only for stages named on the command line.
run_stage = $(DOTNET) $(BIN)/$(1)/release/$(2).dll --pipeline $(PIPELINE) \
	$(foreach s,$(SET),--set $(s)) $(if $(DEVICE),--device $(DEVICE)) \
	$(if $(and $(FORCE),$(filter $(2),$(MAKECMDGOALS))),--force)

tokenize: build
	$(call run_stage,Tokenize,tokenize)
