# tracebot developer targets.
#   make test   the README's test command (race detector on)
#   make ci     the CI script: gofmt, vet, the Dockerfile's build, tests, brief fuzzing
#   make bench  the SPEC §10 benchmarks, about 2 minutes; not part of CI. Every
#               benchmark runs even if an earlier one misses its target; the target
#               fails at the end. Run it on an otherwise idle machine.
# (CommandAck (bot/slack) gets a fixed 3000 requests: under the default 1s benchtime it
# grows to ~14k queued traces and spends ~100 s draining them.)

GO ?= go

.PHONY: test ci bench

test:
	$(GO) test -race ./...

ci:
	bash .ci/run

bench:
	@status=0; \
	run() { echo "--- $$*"; "$$@" || status=1; }; \
	run $(GO) test ./lookup -run '^$$' -bench TraceCriticalPath -benchtime 8x; \
	run $(GO) test ./lookup -run '^$$' -bench 'BenchmarkReport$$' -benchtime 8x; \
	run $(GO) test ./bot/slack -run '^$$' -bench CommandAck -benchtime 3000x; \
	run $(GO) test ./cmd/tracebot -run '^$$' -bench ServeAck -benchtime 1x; \
	run $(GO) test ./cmd/tracebot -run '^$$' -bench ServeConcurrentTraces -benchtime 1x; \
	run $(GO) test ./cmd/tracebot -run '^$$' -bench ServeBurst -benchtime 1x; \
	exit $$status
