# sipswitch — see README.md.
GO      ?= go
PREFIX  ?= /usr/local
DESTDIR ?=
VERSION ?= $(shell git describe --tags --always --dirty 2>/dev/null || echo dev)
COMMIT  ?= $(shell git rev-parse HEAD 2>/dev/null)
LDFLAGS := -X main.version=$(VERSION) -X main.commit=$(COMMIT)
DB      ?= ./sipswitch.db

.PHONY: all build run test test-short vet lint fmt bench fuzz clean install loadtest loadtest-smoke loadtest-cluster loadtest-kamailio pgo

all: build

build:
	$(GO) build -ldflags "$(LDFLAGS)" -o bin/sipswitch ./cmd/sipswitch

# Starts the daemon on an embedded SQLite database in the current directory.
run: build
	./bin/sipswitch serve --db $(DB)

# The test command CI runs: format, vet, the whole suite with the race
# detector, and every fuzz target's seed corpus.
test: vet
	@test -z "$$(gofmt -l $$(git ls-files '*.go' 2>/dev/null || find . -name '*.go'))" || { echo "gofmt needed:"; gofmt -l .; exit 1; }
	$(GO) test -race -count=1 -timeout 20m ./...

test-short:
	$(GO) test -short -count=1 ./...

vet:
	$(GO) vet ./...

# staticcheck at a pinned version, fetched from the Go module proxy.
STATICCHECK ?= honnef.co/go/tools/cmd/staticcheck@v0.8.2
lint: vet
	$(GO) run $(STATICCHECK) ./...

fmt:
	gofmt -w $$(git ls-files '*.go')

bench:
	$(GO) test -run '^$$' -bench . -benchmem ./...

# Runs each fuzz target for FUZZTIME (default 30s).
FUZZTIME ?= 30s
fuzz:
	@for pkg in $$($(GO) list ./...); do \
		for f in $$($(GO) test -list '^Fuzz' $$pkg | grep '^Fuzz'); do \
			echo "== $$pkg $$f"; \
			$(GO) test -run '^$$' -fuzz "^$$f\$$" -fuzztime $(FUZZTIME) $$pkg || exit 1; \
		done; \
	done

# SIPp load test of the SIP core on loopback (needs sipp): see
# scripts/loadtest.sh for MODE (answer, failover, concurrent), RATE,
# DURATION, CALLS, CALL_MS, LIMIT.
loadtest:
	scripts/loadtest.sh

# SIPp load on three hosts sharing PostgreSQL and Redis (loopback
# 127.0.0.1-3): CPS and CPU per call per host, propagation time, lease
# expiry after kill -9. See scripts/loadtest-cluster.sh for HOSTS,
# BACKEND (sqlite: the single-host figure), SHARED, RATE, DURATION.
loadtest-cluster:
	scripts/loadtest-cluster.sh

# The yardstick: the same SIPp load through Kamailio (a stateful proxy
# that challenges every INVITE) instead of the switch (needs kamailio and
# sipp): RATE, DURATION, CHILDREN.
loadtest-kamailio:
	scripts/loadtest-kamailio.sh

# Refreshes cmd/sipswitch/default.pgo from a load test (needs sipp).
pgo:
	scripts/pgo.sh

# The short load test CI runs: fails if any call fails.
loadtest-smoke:
	MODE=answer RATE=50 DURATION=10 AFTER_S=2 scripts/loadtest.sh
	MODE=failover RATE=50 DURATION=4 AFTER_S=2 scripts/loadtest.sh

# Installs the binary, the systemd unit and the example configuration;
# PREFIX and DESTDIR are honoured (DESTDIR for packaging).
install: build
	install -D -m 0755 bin/sipswitch $(DESTDIR)$(PREFIX)/bin/sipswitch
	install -D -m 0644 dist/sipswitch.service $(DESTDIR)/etc/systemd/system/sipswitch.service
	sed -i 's|/usr/local/bin/sipswitch|$(PREFIX)/bin/sipswitch|' $(DESTDIR)/etc/systemd/system/sipswitch.service
	install -D -m 0644 dist/sipswitch.example.yaml $(DESTDIR)/etc/sipswitch/sipswitch.example.yaml
	install -D -m 0644 README.md $(DESTDIR)$(PREFIX)/share/doc/sipswitch/README.md

clean:
	rm -rf bin
