# sipswitch — see README.md.
GO      ?= go
PREFIX  ?= /usr/local
DESTDIR ?=
VERSION ?= $(shell git describe --tags --always --dirty 2>/dev/null || echo dev)
COMMIT  ?= $(shell git rev-parse HEAD 2>/dev/null)
LDFLAGS := -X main.version=$(VERSION) -X main.commit=$(COMMIT)
DB      ?= ./sipswitch.db

.PHONY: all build run test test-short vet lint fmt bench fuzz clean install deb deb-check loadtest loadtest-smoke loadtest-cluster loadtest-kamailio loadtest-overload loadtest-tls loadtest-tls-smoke loadtest-observe loadtest-rtpengine pgo

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
# DURATION, CALLS, CALL_MS, LIMIT. TRANSPORT=tls (MODE=answer) runs
# loadtest-tls instead.
loadtest:
	scripts/loadtest.sh

# The cost of watching the switch (issue 30): 20 live event stream
# clients and HEP capture against neither, interleaved, CPU per call of
# each. See scripts/loadtest-observe.sh for OBSERVE (both, sse, capture),
# CLIENTS, ROUNDS, RATE, DURATION.
loadtest-observe:
	RATE=$${RATE:-1000} DURATION=$${DURATION:-10} ROUNDS=$${ROUNDS:-3} scripts/loadtest-observe.sh

# The SIP core over TLS beside UDP (cmd/sipload, no SIPp): CPS, CPU per
# call, per registration (full handshake) and per resumed reconnection,
# UDP and TLS rounds interleaved; then 1,000 and 10,000 idle
# registrations and the switch's memory per connection. See
# scripts/loadtest-tls.sh for RATE, DURATION, CALL_MS, PHONES, ROUNDS,
# IDLE, HOLD_S.
loadtest-tls:
	scripts/loadtest-tls.sh

# The short TLS load test CI runs (no SIPp needed): fails if any call or
# registration fails or an idle connection drops.
loadtest-tls-smoke:
	RATE=50 DURATION=4 PHONES=100 ROUNDS=1 IDLE=500 HOLD_S=2 scripts/loadtest-tls.sh

# SIPp load on three hosts sharing PostgreSQL and Redis (loopback
# 127.0.0.1-3): CPS and CPU per call per host, propagation time, lease
# expiry after kill -9. See scripts/loadtest-cluster.sh for HOSTS,
# BACKEND (sqlite: the single-host figure), SHARED, RATE, DURATION.
loadtest-cluster:
	scripts/loadtest-cluster.sh

# The yardstick: the same SIPp load through Kamailio (a stateful proxy
# that challenges every INVITE) instead of the switch (needs kamailio and
# sipp): RATE, DURATION, CHILDREN, KAM_MEM.
loadtest-kamailio:
	scripts/loadtest-kamailio.sh

# Twice the box's capacity, overload shedding on and off: the share of
# capacity still answered (needs sipp): LADDER, CAPACITY, DURATION, ROUNDS.
loadtest-overload:
	scripts/loadtest-overload.sh

# The relay's yardstick: sipswitch's RTP relay and rtpengine (userspace,
# installed with apt-get when missing and run as root) relaying the same
# G.711 load (cmd/relayload), run by run: loss, latency, jitter, CPU per
# 1,000 streams side by side. See scripts/loadtest-rtpengine.sh for
# MEDIA_CALLS, DURATION, ROUNDS.
loadtest-rtpengine:
	scripts/loadtest-rtpengine.sh

# Refreshes cmd/sipswitch/default.pgo from a load test (needs sipp).
pgo:
	scripts/pgo.sh

# The short load test CI runs: fails if any call fails.
loadtest-smoke:
	MODE=answer RATE=50 DURATION=10 AFTER_S=2 scripts/loadtest.sh
	MODE=failover RATE=50 DURATION=4 AFTER_S=2 scripts/loadtest.sh

# Where install puts the unit and the sysusers.d entry; make deb puts
# them where a package does.
UNITDIR     ?= /etc/systemd/system
SYSUSERSDIR ?= $(PREFIX)/lib/sysusers.d
DOCDIR       = $(PREFIX)/share/doc/sipswitch
# The unit as installed: its binary and documentation under PREFIX.
UNIT_SED = -e 's|/usr/local/bin/sipswitch|$(PREFIX)/bin/sipswitch|g' -e 's|/usr/local/share/doc/sipswitch|$(DOCDIR)|g'

# Installs the binary, the systemd unit (ExecStart= and Documentation=
# under PREFIX), the sysusers.d entry of the user sipswitch, the
# configuration and the documentation; PREFIX and DESTDIR are honoured
# (DESTDIR for packaging). /etc/sipswitch/sipswitch.yaml is written only
# when absent, 0640 (root:sipswitch when the group exists and this runs
# as root): it may hold a database password. Create the user with
# `systemd-sysusers` before starting the unit.
install: build
	install -D -m 0755 bin/sipswitch $(DESTDIR)$(PREFIX)/bin/sipswitch
	install -d -m 0755 $(DESTDIR)$(UNITDIR)
	sed $(UNIT_SED) dist/sipswitch.service > $(DESTDIR)$(UNITDIR)/sipswitch.service
	chmod 0644 $(DESTDIR)$(UNITDIR)/sipswitch.service
	install -D -m 0644 dist/sipswitch.sysusers $(DESTDIR)$(SYSUSERSDIR)/sipswitch.conf
	install -d -m 0755 $(DESTDIR)/etc/sipswitch
	test -e $(DESTDIR)/etc/sipswitch/sipswitch.yaml || install -m 0640 dist/sipswitch.example.yaml $(DESTDIR)/etc/sipswitch/sipswitch.yaml
	if [ "$$(id -u)" = 0 ] && getent group sipswitch >/dev/null; then chgrp sipswitch $(DESTDIR)/etc/sipswitch/sipswitch.yaml; fi
	install -D -m 0644 README.md $(DESTDIR)$(DOCDIR)/README.md
	install -D -m 0644 dist/sipswitch.example.yaml $(DESTDIR)$(DOCDIR)/sipswitch.example.yaml
	install -D -m 0644 dist/switch.example.yaml $(DESTDIR)$(DOCDIR)/switch.example.yaml
	install -D -m 0644 dist/grafana/sipswitch.json $(DESTDIR)$(DOCDIR)/grafana/sipswitch.json

# The Debian package (bin/sipswitch_VERSION_ARCH.deb): nfpm (dist/nfpm.yaml)
# at a pinned version, fetched from the Go module proxy like staticcheck,
# packs the files install writes with PREFIX=/usr, plus maintainer
# scripts (dist/deb/) that create the user from the sysusers.d entry.
# The binary is static (CGO_ENABLED=0). scripts/deb-check.sh installs,
# runs and purges it (CI does, as root).
NFPM       ?= github.com/goreleaser/nfpm/v2/cmd/nfpm@v2.48.0
DEB_ARCH   ?= $(shell $(GO) env GOARCH)
DEB_VERSION ?= $(shell v=$$(git describe --tags --abbrev=0 2>/dev/null | sed 's/^v//'); c=$$(git rev-parse --short HEAD 2>/dev/null || echo 0); echo "$${v:-0.0.0}+git$$(date -u +%Y%m%d).$$c")
deb: PREFIX := /usr
deb:
	rm -rf bin/deb && mkdir -p bin/deb
	CGO_ENABLED=0 $(GO) build -trimpath -ldflags "$(LDFLAGS)" -o bin/deb/sipswitch ./cmd/sipswitch
	sed $(UNIT_SED) dist/sipswitch.service > bin/deb/sipswitch.service
	DEB_ARCH=$(DEB_ARCH) DEB_VERSION=$(DEB_VERSION) $(GO) run $(NFPM) package --packager deb --config dist/nfpm.yaml --target bin/

# Builds the package, installs it with dpkg, runs `sipswitch serve` as
# the user sipswitch on loopback, and purges it (root, Debian).
deb-check: deb
	scripts/deb-check.sh

clean:
	rm -rf bin
