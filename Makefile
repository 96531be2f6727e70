# Libertum platform GitOps: render, verify and test the platform in process.
GO        ?= go
BIN       := bin/gitops
PKGS      := ./...
# argo-cd's repo-server (used by a test proving Argo CD reads rendered/) needs
# this tag with Kubernetes 0.35; see shared notes on dependencies.
TAGS      := kubernetes_protomessage_one_more_release

# Packages that start goroutines (a go statement or an errgroup's Go, in
# code or tests), found rather than listed: their tests run under the race
# detector (which needs cgo; only that run enables it).
GO_STMT   := ^[[:space:]]+go [a-zA-Z(]|[a-z]+[.]Go[(]
RACE_PKGS := $(shell grep -rlE --include='*.go' '$(GO_STMT)' generator internal cmd | xargs -n1 dirname | sort -u | sed 's|^|./|;s|$$|/|')

# Fuzz targets of the parsers of user input: go test runs their seed
# corpora; make fuzz runs each for FUZZTIME.
FUZZ      := FuzzEmit:./generator/manifest/ FuzzParse:./generator/spec/ FuzzParse:./generator/nginxconf/ FuzzScan:./generator/credential/ FuzzSetImages:./generator/specedit/ FuzzParseExceptions:./generator/policy/ FuzzDecodeInput:./generator/manifest/ FuzzDecodeIsTheLibrary:./generator/manifest/ FuzzDocumentsAsTheLibrary:./generator/manifest/ FuzzParseDocuments:./generator/kustomize/ FuzzUnitEntry:./generator/check/ FuzzBundle:./generator/check/
FUZZTIME  ?= 30s

.PHONY: help build render test race fuzz golden cross lint bench e2e argocd promtool programs azurite scale

help: ## list targets
	@grep -E '^[a-z0-9-]+:.*## ' $(MAKEFILE_LIST) | awk 'BEGIN {FS = ":.*## "} {printf "  %-8s %s\n", $$1, $$2}'

build: ## build bin/gitops
	$(GO) build -o $(BIN) ./cmd/gitops

render: ## render every environment to rendered/ (a first build compiles for several minutes)
	@echo "building gitops (the first build compiles Helm, kustomize, OPA and Argo CD types: several minutes)..."
	$(GO) build -o $(BIN) ./cmd/gitops
	$(BIN) render

test: ## run every test (unit, golden, CLI); the golden test again with every fast path off (GITOPS_EXACT=1)
	$(GO) test -tags $(TAGS) $(PKGS)
	GITOPS_EXACT=1 $(GO) test -tags $(TAGS) -count=1 -run Golden ./generator/render/

race: ## the tests of every package that starts goroutines, under the race detector (-short: long sequential checks, such as the cache-key proof, skip)
	CGO_ENABLED=1 $(GO) test -race -short -tags $(TAGS) $(RACE_PKGS)

fuzz: ## run every fuzz target for FUZZTIME (default 30s) each
	@for t in $(FUZZ); do \
	  echo "fuzz $${t%%:*} ($${t#*:}) for $(FUZZTIME)"; \
	  $(GO) test -run '^$$' -fuzz "^$${t%%:*}$$" -fuzztime $(FUZZTIME) $${t#*:} || exit 1; \
	done

golden: ## rewrite golden files and rendered/ from the current sources
	$(GO) test -tags $(TAGS) ./generator/render/ -run Golden -update

cross: ## build gitops for the other supported systems (macOS, Windows); Linux is where every test runs
	GOOS=darwin GOARCH=arm64 $(GO) build -o /dev/null ./cmd/gitops
	GOOS=windows GOARCH=amd64 $(GO) build -o /dev/null ./cmd/gitops

lint: ## gofmt, go vet, go mod tidy check
	@test -z "$$(gofmt -l $$(git ls-files '*.go'))" || { gofmt -l $$(git ls-files '*.go'); exit 1; }
	$(GO) vet -tags $(TAGS) $(PKGS)
	$(GO) mod tidy -diff

bench: ## benchmarks (not part of test), then gitops side by side with helm, kustomize, conftest and kubeconform
	$(GO) test -tags $(TAGS) -run '^$$' -bench . -benchmem ./generator/render/ ./generator/policy/ ./generator/action/ ./generator/layout/ ./generator/check/
	bash scripts/bench-cli.sh

e2e: ## prove every rendered object on a real kube-apiserver (installs etcd, builds the apiserver once)
	bash scripts/e2e.sh

argocd: ## a real Argo CD syncs the published platform into one kube-apiserver per stamp, then proves HPA scale-out, AppProject limits and rollback (builds Argo CD once)
	bash scripts/argocd.sh

promtool: ## promtool checks the rendered Prometheus configuration, alert rules and dashboard queries, and runs the rule tests (builds promtool once)
	bash scripts/promtool.sh

programs: ## the stamp in a box: staging's and prod's programs run from the rendered objects, every flow judged by the NetworkPolicy engine (builds Prometheus, Alertmanager, kube-state-metrics once)
	bash scripts/programs.sh

azurite: ## the remote render cache against Azure Blob's emulator: two runners, one container (installs Azurite from npm once)
	bash scripts/azurite.sh

scale: ## time and peak RSS of render and verify for synthetic platforms of 10, 100, 1000 services x 3 environments
	bash scripts/scale.sh
