# Storage area: the qcow2 fuzz target and the benchmark.
#   make fuzz-storage    build build/fuzz/fuzz_qcow2 (clang, libFuzzer + ASan/UBSan)
#   make bench-storage   vmimg vs qemu-img on 1 GiB (not part of make check)

FUZZ_CC     ?= clang
FUZZ_CFLAGS  = -g -O1 -std=gnu11 -D_GNU_SOURCE -Isrc \
               -fsanitize=fuzzer,address,undefined -fno-sanitize-recover=undefined
STORAGE_LIB_SRCS = $(wildcard src/storage/*.c) \
               src/lib/util.c src/lib/safe_path.c

.PHONY: fuzz-storage bench-storage
fuzz-storage: $(B)/fuzz/fuzz_qcow2

$(B)/fuzz/fuzz_qcow2: tests/fuzz/fuzz_qcow2.c tests/fuzz/qcow2_exercise.h $(STORAGE_LIB_SRCS) \
    $(wildcard src/storage/*.h)
	@mkdir -p $(dir $@)
	$(FUZZ_CC) $(FUZZ_CFLAGS) $(shell $(PKG_CONFIG) --cflags zlib libzstd json-c 2>/dev/null) \
	    -o $@ tests/fuzz/fuzz_qcow2.c $(STORAGE_LIB_SRCS) \
	    $(shell $(PKG_CONFIG) --libs zlib libzstd json-c 2>/dev/null)

bench-storage: bin/vmimg
	bash bench/storage
