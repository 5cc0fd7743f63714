# keyward — build, test and run. `make test` and `make run` install what they
# need themselves (Go modules, DynamoDB Local from npm under scripts/).

GO          ?= go
FUNCTIONS   := create list edit revoke audit auditstream authorizer verify flush tenants events policy leaks reminders console
STATICCHECK := honnef.co/go/tools/cmd/staticcheck@v0.8.2
DDB_LOCAL   := scripts/node_modules/.package-lock.json
GOFLAGS_LAMBDA := -trimpath -tags lambda.norpc -ldflags="-s -w"
# Every platform request waits on the authorizer, and verify answers the
# platforms' own checks: those two are built for speed. The other functions
# spend their time in DynamoDB, KMS and EventBridge round trips, so they are
# built without inlining (-l), which makes each about 0.7 MiB smaller and
# costs microseconds beside milliseconds of round trips (README, "Performance").
SPEED_FUNCTIONS := authorizer verify
GCFLAGS_SIZE    := -gcflags=all=-l
lambda_goflags   = $(GOFLAGS_LAMBDA) $(if $(filter $(1),$(SPEED_FUNCTIONS)),,$(GCFLAGS_SIZE))
# The functions' architecture (template.yaml: arm64). The local stack runs a
# protected API's build-<LogicalId> target with LAMBDA_GOARCH set to this
# machine's, so the binary runs here; make bench sets LAMBDA_GOOS too.
LAMBDA_GOARCH ?= arm64
LAMBDA_GOOS   ?= linux

.PHONY: all build cli test unit lint bootstrap pepper-rotate deps clean run deploy bench load

all: build

## deps: Go modules and DynamoDB Local (pinned in scripts/package-lock.json)
deps: $(DDB_LOCAL)
	$(GO) mod download

$(DDB_LOCAL): scripts/package.json scripts/package-lock.json
	npm ci --prefix scripts --no-audit --no-fund --loglevel=error
	@touch $@

## build: one arm64 Lambda bootstrap per function under bin/<name>/, and the
## keyward CLI for this machine as bin/keyward
build: cli $(addprefix function-,$(FUNCTIONS))

## function-<name>: functions/<name> as a Lambda bootstrap, OUT/bootstrap (default bin/<name>/)
function-%:
	@echo "build $*"
	@CGO_ENABLED=0 GOOS=$(LAMBDA_GOOS) GOARCH=$(LAMBDA_GOARCH) $(GO) build $(call lambda_goflags,$*) -o $(or $(OUT),bin/$*)/bootstrap ./functions/$*

## cli: the keyward command line for this machine (GOOS/GOARCH of the host) as bin/keyward;
## `go install github.com/keyward/keyward/pkg/cmd/keyward@latest` installs the same
cli:
	$(GO) build -trimpath -o bin/keyward ./pkg/cmd/keyward

# sam build (BuildMethod: makefile) runs build-<LogicalId> with ARTIFACTS_DIR set.
define lambda_target
build-$(1):
	CGO_ENABLED=0 GOOS=linux GOARCH=$$(LAMBDA_GOARCH) $(GO) build $(call lambda_goflags,$(2)) -o $$(ARTIFACTS_DIR)/bootstrap ./functions/$(2)
endef
$(eval $(call lambda_target,CreateFunction,create))
$(eval $(call lambda_target,ListFunction,list))
$(eval $(call lambda_target,EditFunction,edit))
$(eval $(call lambda_target,RevokeFunction,revoke))
$(eval $(call lambda_target,AuditFunction,audit))
$(eval $(call lambda_target,AuditStreamFunction,auditstream))
$(eval $(call lambda_target,AuthorizerFunction,authorizer))
$(eval $(call lambda_target,VerifyFunction,verify))
$(eval $(call lambda_target,TenantsFunction,tenants))
$(eval $(call lambda_target,ConsoleFunction,console))
$(eval $(call lambda_target,FlushFunction,flush))
$(eval $(call lambda_target,EventsFunction,events))
$(eval $(call lambda_target,PolicyFunction,policy))
$(eval $(call lambda_target,LeaksFunction,leaks))
$(eval $(call lambda_target,RemindersFunction,reminders))

# The sample protected API (scripts/examples/recordings/template.yaml).
build-RecordingsFunction:
	CGO_ENABLED=0 GOOS=linux GOARCH=$(LAMBDA_GOARCH) $(GO) build $(GOFLAGS_LAMBDA) -o $(ARTIFACTS_DIR)/bootstrap ./scripts/examples/recordings

## test: every test (unit and integration against real DynamoDB Local), with -race, plus lint
test: deps lint unit

unit:
	$(GO) test -race -count=1 ./...

## lint: gofmt, go vet, staticcheck
lint:
	@out=$$(gofmt -l $$(git ls-files '*.go' 2>/dev/null || find . -name '*.go' -not -path './scripts/node_modules/*')); \
	  if [ -n "$$out" ]; then echo "gofmt needed:"; echo "$$out"; exit 1; fi
	$(GO) vet ./...
	$(GO) run $(STATICCHECK) ./...

## run: the whole service on this machine, from template.yaml (README: "Run it locally");
## Ctrl-C stops everything. APIS: other SAM templates to serve beside keyward's
## (space-separated); PARAMS: a JSON file of parameters (another template's as
## "<stack>.Name", its stack being its directory's name); other flags
## in RUN_FLAGS, e.g. RUN_FLAGS="-param AuthorizerCacheTtl=0"
APIS   ?=
PARAMS ?=
run: deps
	@mkdir -p .local/bin
	$(GO) build -o .local/bin/keyward-local ./scripts/localstack
	@exec .local/bin/keyward-local $(foreach a,$(APIS),-api $(a)) $(if $(PARAMS),-param-file $(PARAMS)) $(RUN_FLAGS)

## load: the local stack under load (README: "Load run"), minutes long, never part of
## `make test`: LOAD_CLIENTS concurrent clients for LOAD_DURATION or LOAD_OPS operations,
## then the checks (no 5xx, every key listed, revoked keys refused, one audit record per write)
LOAD_CLIENTS  ?= 200
LOAD_DURATION ?= 60s
LOAD_OPS      ?= 50000
LOAD_FLAGS    ?=
load: deps
	@mkdir -p .local/bin
	$(GO) build -o .local/bin/keyward-load ./scripts/load
	@exec .local/bin/keyward-load -clients $(LOAD_CLIENTS) -duration $(LOAD_DURATION) -ops $(LOAD_OPS) $(LOAD_FLAGS)

## fuzz: every fuzz target under pkg/ (found by its `func FuzzXxx`), one at a time,
## each for FUZZTIME; their seed corpora (f.Add and testdata/fuzz) run in `make test`.
## A failing input is written under the package's testdata/fuzz/<target>/.
FUZZTIME ?= 60s
.PHONY: fuzz
fuzz:
	@failed=; \
	for dir in $$(grep -rl --include='*_test.go' '^func Fuzz' pkg | xargs -n1 dirname | sort -u); do \
	  for t in $$(sed -n 's/^func \(Fuzz[A-Za-z0-9_]*\)(.*/\1/p' $$dir/*_test.go); do \
	    echo "== ./$$dir $$t ($(FUZZTIME))"; \
	    $(GO) test -run '^$$' -fuzz "^$$t\$$" -fuzztime $(FUZZTIME) ./$$dir || failed="$$failed ./$$dir:$$t"; \
	  done; \
	done; \
	if [ -n "$$failed" ]; then echo "fuzz failures:$$failed"; exit 1; fi

## bench: performance beside floors measured in the same run (README "Performance"), never
## part of `make test`: the authorizer's warm-path benchmarks, then scripts/bench (binary
## sizes, cold starts, memory, admin paths at scale, audit lag), ending with one summary
## table. Flags go in BENCH_FLAGS, e.g. BENCH_FLAGS="-only cold -cold-runs 25"
BENCH_FLAGS ?=
bench: deps
	$(GO) test -run '^$$' -bench . -benchtime 2s -count 1 ./pkg/authorizer/...
	$(GO) run ./scripts/bench $(BENCH_FLAGS)

## bootstrap: create TENANT (default: the operator tenant and its platform key) with its default key
## and print its token once; break-glass: make bootstrap TENANT=acme ROTATE_DEFAULT=1 rotates the default key
bootstrap:
	@test -z "$(ROTATE_DEFAULT)" || test -n "$(TENANT)" || { echo "usage: make bootstrap TENANT=acme ROTATE_DEFAULT=1"; exit 2; }
	$(GO) run ./scripts/bootstrap $(if $(TENANT),-tenant "$(TENANT)") $(if $(ROTATE_DEFAULT),-rotate-default)

## pepper-rotate: add the next pepper version (old hashes keep verifying); same targets as bootstrap
pepper-rotate:
	$(GO) run ./scripts/bootstrap -add-pepper-version

## deploy: the real AWS path (needs the SAM CLI and credentials)
deploy:
	sam build && sam deploy --guided

clean:
	rm -rf bin .aws-sam
