# The README's two commands (`make run`, `make test`) and the developer targets around them.
# Thin on purpose: CMakePresets.json holds the build modes, ctest the test suite.

CMAKE ?= cmake
CTEST ?= ctest
FUZZ_SECONDS ?= 600
FUZZ_LONG_SECONDS ?= 3600

.PHONY: deps build run test test-release test-asan test-tsan test-fuzz bench bench-compare soak fuzz fuzz-long format \
        format-check \
        check-headers clean

deps:
	@tools/install-deps

build/%/build.ninja: | deps
	@$(CMAKE) --preset $* >/dev/null

build: build/release/build.ninja
	@$(CMAKE) --build --preset release

# Only the programs: tests and benchmarks are built by `make build` and `make test`.
run: build/release/build.ninja
	@$(CMAKE) --build --preset release --target mxringd mxring
	@mkdir -p var/spool
	exec build/release/bin/mxringd

test: format-check test-release test-asan test-tsan test-fuzz

test-release: build check-headers
	$(CTEST) --preset release

check-headers: build/release/build.ninja
	@$(CMAKE) --build --preset release --target check-headers

test-asan: build/asan-ubsan/build.ninja
	@$(CMAKE) --build --preset asan-ubsan
	$(CTEST) --preset asan-ubsan

# The rings, the storage writer, the reactor and the whole server's threads under
# ThreadSanitizer (label tsan).
test-tsan: build/tsan/build.ninja
	@$(CMAKE) --build --preset tsan --target ring_test storage_test server_threads_test reactor_test
	$(CTEST) --preset tsan

test-fuzz: build/fuzz/build.ninja
	@$(CMAKE) --build --preset fuzz --target fuzz_targets
	$(CTEST) --preset fuzz

bench: build
	bench/run-micro
	/usr/bin/python3 bench/e2e/sink_compare.py
	/usr/bin/python3 bench/e2e/idle_connections.py 20000 --churn 60000
	taskset -c 0 /usr/bin/python3 bench/e2e/tls_sessions.py
	/usr/bin/python3 bench/e2e/spool_consumers.py
	/usr/bin/python3 bench/e2e/kafka_sink.py
	/usr/bin/python3 bench/e2e/observability_cost.py

# mxringd beside Postfix smtp-sink, Postfix smtpd, Haraka (npm), aiosmtpd, Exim and OpenSMTPD
# under the same load; the table, build/bench-compare/results.json and compare.png.
bench-compare: deps build
	/usr/bin/python3 bench/e2e/compare.py

# Long-running proofs kept out of `make test`: kill -9 under load at twenty points, and
# 10,000 connections held for 60 s (with SIGHUP and SIGTERM under load).
soak: build
	MXRING_SOAK=1 MXRINGD=build/release/bin/mxringd /usr/bin/python3 -m pytest -q -rP \
	  -p no:cacheprovider tests/integration/test_storage.py::test_acknowledged_messages_survive_kill_9 \
	  tests/integration/test_load.py

# Fuzzing sessions on the committed corpora (new findings land in build/fuzz/findings):
# `make fuzz` ten minutes a target, `make fuzz-long` hours (FUZZ_LONG_SECONDS a target).
fuzz: build/fuzz/build.ninja
	@$(CMAKE) --build --preset fuzz
	tests/fuzz/run-all build/fuzz/bin $(FUZZ_SECONDS)

fuzz-long: build/fuzz/build.ninja
	@$(CMAKE) --build --preset fuzz
	tests/fuzz/run-all build/fuzz/bin $(FUZZ_LONG_SECONDS)

format:
	@git ls-files --cached --others --exclude-standard '*.cpp' '*.h' '*.inc' | xargs clang-format -i

format-check: deps
	@git ls-files --cached --others --exclude-standard '*.cpp' '*.h' '*.inc' | xargs clang-format --dry-run --Werror

clean:
	rm -rf build
