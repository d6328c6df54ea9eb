# Benchmarks: run by hand, never by `make check`.
#   make bench-lifecycle [BENCH_ARGS="-n 6 -t 10 --idle-secs 60"]
#   make bench-scale [BENCH_ARGS="-n 1000 -m 300 -r 3"]   (needs root, socat, jq)
#   make bench-saverestore [BENCH_ARGS="-n 4"]              (save/restore against poweroff/boot)
#   make bench-latency [BENCH_ARGS="-r 3"]                   (root status during floods, tests/run)
.PHONY: bench-lifecycle
bench-lifecycle: all
	bench/lifecycle $(BENCH_ARGS)

.PHONY: bench-scale
bench-scale: all
	bench/scale $(BENCH_ARGS)
.PHONY: bench-saverestore
bench-saverestore: all
	bench/saverestore $(BENCH_ARGS)
.PHONY: bench-latency
bench-latency: all
	bench/latency $(BENCH_ARGS)
