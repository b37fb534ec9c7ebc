# srt-runc — build, demo, tests, benchmarks.
#
#   make run     build, then run config.json.example as a demo bundle
#   make test    everything: unit + integration tests (root and unprivileged), lint
#   make bench   start-up, proxy and scaling benchmarks against bwrap, runc, srt and rg; library overhead
#   make fuzz    every cargo-fuzz target for FUZZ_SECONDS each (nightly toolchain)
#   make attack  the attack suite alone (also part of make test), printing its table
#
# Missing Debian packages are installed with apt-get when running as root (and the
# Makefile says so); crates come from crates.io through cargo.

CARGO        ?= cargo
# Release builds (make run, make bench) are static-pie on glibc hosts: no dynamic loader
# resolving libc symbols at every start (about a quarter of a millisecond of a five
# millisecond sandbox start), while keeping ASLR. They are built for the explicit host
# triple so that RUSTFLAGS reach only the target, never the proc-macros and build scripts.
HOST_TRIPLE  := $(shell rustc -vV 2>/dev/null | sed -n 's/^host: //p')
ifneq (,$(findstring -linux-gnu,$(HOST_TRIPLE)))
RELEASE_RUSTFLAGS := -C target-feature=+crt-static
endif
RELEASE_CARGO = RUSTFLAGS="$(RELEASE_RUSTFLAGS)" $(CARGO)
RELEASE_BIN  := target/$(HOST_TRIPLE)/release/srt-runc
DEBUG_BIN    := target/debug/srt-runc
TEST_USER    := srt-runc-test
# How many subordinate ids the test user's rootless podman containers get; the start is
# chosen by `make deps` above every range already in /etc/subuid and /etc/subgid.
SUBID_COUNT  := 65536
DEB_PKGS     := bubblewrap busybox-static runc podman conmon containerd uidmap hyperfine curl git iproute2 python3 procps util-linux wget openssl openssh-client openssh-server iputils-ping socat ripgrep
SRT_ANCHOR   := /opt/srt-anchor
SRT_VERSION  := 0.0.83
DEMO         := target/demo

.PHONY: all build run test attack deps lint macos-check bench bench-deps fuzz clean

all: build

build:
	$(RELEASE_CARGO) build --release --target $(HOST_TRIPLE)

# Debian packages the tests and benchmarks use, and the unprivileged test user.
deps:
	@missing=""; for p in $(DEB_PKGS); do dpkg -s $$p >/dev/null 2>&1 || missing="$$missing $$p"; done; \
	if [ -n "$$missing" ]; then \
	  if [ "$$(id -u)" = 0 ]; then \
	    echo "make: installing Debian packages:$$missing"; \
	    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $$missing >/dev/null; \
	  else echo "make: missing Debian packages:$$missing (run as root to install them)"; fi; \
	fi
	@if [ "$$(id -u)" = 0 ] && ! id $(TEST_USER) >/dev/null 2>&1; then \
	  echo "make: creating the unprivileged test user $(TEST_USER)"; \
	  useradd --system --no-create-home --shell /usr/sbin/nologin $(TEST_USER); \
	fi
	@# Rootless podman (tests/podman.rs) maps the test user's containers onto a range of
	@# subordinate ids. An existing entry for the user is left as it is; otherwise the
	@# first free range above every entry in both files (and at least 100000) is taken,
	@# so it cannot overlap another user's range, and usermod adds it under the files'
	@# locks without touching other lines (a missing trailing newline included).
	@if [ "$$(id -u)" = 0 ]; then \
	  start=$$(cat /etc/subuid /etc/subgid 2>/dev/null | \
	    awk -F: 'BEGIN { m = 100000 } NF >= 3 && $$2 + $$3 > m { m = $$2 + $$3 } END { printf "%d\n", m }'); \
	  range=$$start-$$((start + $(SUBID_COUNT) - 1)); add=""; \
	  grep -qE "^($(TEST_USER)|$$(id -u $(TEST_USER))):" /etc/subuid 2>/dev/null || add="--add-subuids $$range"; \
	  grep -qE "^($(TEST_USER)|$$(id -g $(TEST_USER))):" /etc/subgid 2>/dev/null || add="$$add --add-subgids $$range"; \
	  if [ -n "$$add" ]; then \
	    echo "make: usermod $$add $(TEST_USER)"; \
	    usermod $$add $(TEST_USER); \
	  fi; \
	else \
	  grep -qE "^$(TEST_USER):" /etc/subuid 2>/dev/null || \
	    echo "make: $(TEST_USER) has no /etc/subuid entry: rootless podman tests need one (run make deps as root)"; \
	fi
	@# The real srt, for tests/srt_side_by_side.rs (it needs bwrap, socat and ripgrep).
	@if [ ! -x $(SRT_ANCHOR)/node_modules/.bin/srt ]; then \
	  if [ "$$(id -u)" = 0 ]; then \
	    echo "make: installing the reference srt: npm install --prefix $(SRT_ANCHOR) @anthropic-ai/sandbox-runtime@$(SRT_VERSION)"; \
	    mkdir -p $(SRT_ANCHOR) && npm install --prefix $(SRT_ANCHOR) --no-audit --no-fund @anthropic-ai/sandbox-runtime@$(SRT_VERSION) >/dev/null; \
	  else echo "make: the reference srt is missing at $(SRT_ANCHOR) (run as root to install it)"; fi; \
	fi

run: build
	@mkdir -p $(DEMO)
	@cp config.json.example $(DEMO)/config.json
	@echo "top secret" > $(DEMO)/secret.txt
	@echo "== srt-runc run $(DEMO)   (policy: config.json.example)"
	./$(RELEASE_BIN) run $(DEMO)
	@echo "== on the host afterwards: $$(cat $(DEMO)/demo-output.txt) (in $(DEMO)/demo-output.txt)"

lint: macos-check
	$(CARGO) fmt --check
	$(CARGO) clippy --all-targets -- -D warnings
	RUSTDOCFLAGS="-D warnings" $(CARGO) doc --no-deps -q

# The macOS backend cannot run here, but the crate must build there: type-check and lint
# it for both Mac targets (rustup adds their standard libraries when missing and says so).
MACOS_TARGETS := x86_64-apple-darwin aarch64-apple-darwin

macos-check:
	@for t in $(MACOS_TARGETS); do \
	  rustup target list --installed 2>/dev/null | grep -qx $$t || { echo "make: adding the Rust target $$t (rustup target add $$t)"; rustup target add $$t; } || exit 1; \
	done
	@for t in $(MACOS_TARGETS); do \
	  echo "== cargo clippy --target $$t (lib, bin, tests, examples)"; \
	  $(CARGO) clippy -q --lib --bins --tests --examples --target $$t -- -D warnings || exit 1; \
	done

test: deps
	$(CARGO) build --all-targets
	$(CARGO) test --all-targets
	$(CARGO) test --doc
	$(MAKE) lint

# The attack suite (tests/attack.rs; also part of `make test`): every technique in
# tests/attacks/ unsandboxed as a control, then in strong, weaker and OCI mode.
attack: deps
	$(CARGO) build --bin srt-runc --example attack --example probe
	$(CARGO) test --test attack -- --nocapture

bench: deps bench-deps build
	$(RELEASE_CARGO) build --release --target $(HOST_TRIPLE) --examples
	$(RELEASE_CARGO) bench --target $(HOST_TRIPLE) --bench start
	$(RELEASE_CARGO) bench --target $(HOST_TRIPLE) --bench podman
	$(RELEASE_CARGO) bench --target $(HOST_TRIPLE) --bench net
	$(RELEASE_CARGO) bench --target $(HOST_TRIPLE) --bench api
	$(RELEASE_CARGO) bench --target $(HOST_TRIPLE) --bench scaling
	@echo "make: combined results in target/bench/results.md and target/bench/chart.svg"

# The srt anchor for the benchmarks (Node; it runs bwrap, socat and ripgrep).
BENCH_PKGS   := nodejs socat ripgrep bubblewrap

bench-deps:
	@missing=""; for p in $(BENCH_PKGS); do dpkg -s $$p >/dev/null 2>&1 || missing="$$missing $$p"; done; \
	command -v npm >/dev/null 2>&1 || missing="$$missing npm"; \
	if [ -n "$$missing" ]; then \
	  if [ "$$(id -u)" = 0 ]; then \
	    echo "make: installing Debian packages for the srt anchor:$$missing"; \
	    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $$missing >/dev/null; \
	  else echo "make: missing Debian packages:$$missing (run as root to install them)"; fi; \
	fi
	@if [ ! -x $(SRT_ANCHOR)/node_modules/.bin/srt ]; then \
	  if [ "$$(id -u)" = 0 ]; then \
	    echo "make: installing srt $(SRT_VERSION) into $(SRT_ANCHOR)"; \
	    npm install --prefix $(SRT_ANCHOR) @anthropic-ai/sandbox-runtime@$(SRT_VERSION); \
	  else echo "make: srt missing at $(SRT_ANCHOR) (run as root to install it); the net bench will report it as NOT MEASURED"; fi; \
	fi

# cargo-fuzz targets (fuzz/, its own crate). Seeds are read from fuzz/corpus/<target>
# (committed, left unchanged); new inputs go to fuzz/target/corpus-work/<target>, crashes
# to fuzz/artifacts/<target>. FUZZ_TARGETS picks a subset.
FUZZ_SECONDS ?= 20
FUZZ_TARGETS ?= oci_config srt_settings domain_host glob_regex proxy_http proxy_socks
FUZZ_CARGO   ?= cargo +nightly

fuzz:
	@rustup toolchain list | grep -q '^nightly' || { echo "make: installing the nightly toolchain (rustup toolchain install nightly)"; rustup toolchain install nightly --profile minimal; }
	@$(FUZZ_CARGO) fuzz --version >/dev/null 2>&1 || { echo "make: installing cargo-fuzz (cargo install cargo-fuzz)"; cargo install cargo-fuzz; }
	@set -e; for t in $(FUZZ_TARGETS); do \
	  mkdir -p fuzz/target/corpus-work/$$t; \
	  echo "== fuzz $$t for $(FUZZ_SECONDS)s"; \
	  $(FUZZ_CARGO) fuzz run $$t fuzz/target/corpus-work/$$t fuzz/corpus/$$t -- -max_total_time=$(FUZZ_SECONDS) -timeout=20; \
	done

clean:
	$(CARGO) clean
