# Fuzz targets for the daemon's parsers (issue 6): the inventory, QMP
# messages and control requests. libFuzzer + ASan/UBSan via clang.
#   make fuzz-harden    build build/fuzz/fuzz_{inventory,qmp,qga,ctl,control}
# The tests/fuzz/test_fuzz_*.sh scripts build them and run each for a bounded
# time (FUZZ_SECONDS). FUZZ_CC and FUZZ_CFLAGS are shared with mk/storage.mk
# (same values, so whichever file make reads last changes nothing).

FUZZ_CC     ?= clang
FUZZ_CFLAGS ?= -g -O1 -std=gnu11 -D_GNU_SOURCE -Isrc \
               -fsanitize=fuzzer,address,undefined -fno-sanitize-recover=undefined
# The library's objects for fuzzing: instrumented for coverage and the
# sanitizers, but without libFuzzer's main (-fsanitize=fuzzer-no-link).
FUZZ_OBJ_CFLAGS = $(filter-out -fsanitize=fuzzer%,$(FUZZ_CFLAGS)) \
               -fsanitize=fuzzer-no-link,address,undefined
FUZZ_LIB    = $(B)/fuzz/libvmservice-fuzz.a
FUZZ_OBJS   = $(LIB_SRCS:%.c=$(B)/fuzz/obj/%.o)
FUZZ_HARDEN = $(B)/fuzz/fuzz_inventory $(B)/fuzz/fuzz_qmp $(B)/fuzz/fuzz_qga $(B)/fuzz/fuzz_ctl \
              $(B)/fuzz/fuzz_control $(B)/fuzz/fuzz_rcimport

.PHONY: fuzz-harden
fuzz-harden: $(FUZZ_HARDEN)

$(B)/fuzz/obj/%.o: %.c
	@mkdir -p $(dir $@)
	$(FUZZ_CC) $(FUZZ_OBJ_CFLAGS) $(PKG_CFLAGS) -MMD -MP -c -o $@ $<

$(FUZZ_LIB): $(FUZZ_OBJS)
	rm -f $@
	ar rcs $@ $^

$(B)/fuzz/fuzz_%: tests/fuzz/fuzz_%.c $(FUZZ_LIB)
	@mkdir -p $(dir $@)
	$(FUZZ_CC) $(FUZZ_CFLAGS) $(PKG_CFLAGS) -o $@ $< $(FUZZ_LIB) $(PKG_LIBS) $(LDLIBS)
