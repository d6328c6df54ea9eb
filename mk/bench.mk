# Benchmarks: run by hand, never by `make check`.
#   make bench-lifecycle [BENCH_ARGS="-n 6 -t 10 --idle-secs 60"]
.PHONY: bench-lifecycle
bench-lifecycle: all
	bench/lifecycle $(BENCH_ARGS)
