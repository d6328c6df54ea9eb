# vmservice — plain make, pkg-config for every library.
#   make            build bin/vmserviced, bin/vmctl, bin/vmimg
#   make deps       install missing Debian packages (idempotent, needs root)
#   make check      deps + build + the whole test suite (SANITIZE=1: ASan+UBSan)
#   make install    PREFIX, DESTDIR, sysconfdir honoured
# Pieces of the build that belong to one area live in mk/*.mk.

PREFIX     ?= /usr/local
BINDIR     ?= $(PREFIX)/bin
SBINDIR    ?= $(PREFIX)/sbin
MANDIR     ?= $(PREFIX)/share/man
sysconfdir ?= /etc
DESTDIR    ?=

CC         ?= cc
PKG_CONFIG ?= pkg-config
PKGS        = libconfuse libsystemd json-c zlib libcap libzstd

WARN       = -Wall -Wextra -Werror -Wshadow -Wstrict-prototypes -Wmissing-prototypes \
             -Wno-unused-parameter
CFLAGS    ?= -O2 -g
CFLAGS    += -std=gnu11 $(WARN) -D_GNU_SOURCE -Isrc
LDLIBS    += -lm

# A tree built with SANITIZE=1 stays so (build/.sanitize) until `make clean`:
# make does not track flags, and plain objects linked with sanitized ones
# (a `make install` inside a SANITIZE=1 test run) fail to link.
ifeq ($(origin SANITIZE),undefined)
SANITIZE  := $(shell cat build/.sanitize 2>/dev/null)
endif
ifeq ($(SANITIZE),1)
CFLAGS    += -fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=undefined
LDFLAGS   += -fsanitize=address,undefined
$(shell mkdir -p build && echo 1 >build/.sanitize)
endif

# pkg-config is only asked when compiling, so that `make deps` works before
# the -dev packages are there.
PKG_CFLAGS = $(shell $(PKG_CONFIG) --cflags $(PKGS) 2>/dev/null)
PKG_LIBS   = $(shell $(PKG_CONFIG) --libs $(PKGS) 2>/dev/null)

B          = build
# The layers, lowest first: a layer may include only the ones before it
# (ARCHITECTURE.md; `make check-layers` enforces it, scripts/check-layers).
# One archive per layer, linked highest first, so a call that points down
# is the only kind the linker resolves in one pass.
LAYERS     = lib hw qemu storage config console vmd control
LAYER_LIBS = $(foreach l,$(LAYERS),$(B)/lib$(l).a)
LIB        = $(foreach l,$(call reverse,$(LAYERS)),$(B)/lib$(l).a)
reverse    = $(if $(1),$(call reverse,$(wordlist 2,$(words $(1)),$(1))) $(firstword $(1)))
LIB_SRCS   = $(foreach l,$(LAYERS),$(wildcard src/$(l)/*.c))
LIB_OBJS   = $(LIB_SRCS:%.c=$(B)/%.o)
CMDS       = vmserviced vmctl vmimg
BINS       = $(addprefix bin/,$(CMDS))

UNIT_SRCS  = $(wildcard tests/unit/test_*.c)
UNIT_BINS  = $(UNIT_SRCS:tests/unit/%.c=$(B)/tests/%)

.PHONY: all deps check check-build check-layers clean install uninstall
all: $(BINS)

deps:
	@sh scripts/deps.sh

$(B)/%.o: %.c
	@mkdir -p $(dir $@)
	$(CC) $(CPPFLAGS) $(CFLAGS) $(PKG_CFLAGS) -MMD -MP -c -o $@ $<

# Objects are kept (not intermediate): check-layers reads them with nm.
.SECONDARY:
.SECONDEXPANSION:
$(B)/lib%.a: $$(subst .c,.o,$$(addprefix $(B)/,$$(wildcard src/$$*/*.c)))
	@mkdir -p $(dir $@)
	rm -f $@
	ar rcs $@ $^

bin/%: $$(subst .c,.o,$$(addprefix $(B)/,$$(wildcard src/cmd/$$*/*.c))) $(LIB)
	@mkdir -p bin
	$(CC) $(LDFLAGS) -o $@ $(filter %.o,$^) $(LIB) $(PKG_LIBS) $(LDLIBS)

$(B)/tests/%: $(B)/tests/unit/%.o $(LIB)
	@mkdir -p $(dir $@)
	$(CC) $(LDFLAGS) -o $@ $< $(LIB) $(PKG_LIBS) $(LDLIBS)

check-build: all $(UNIT_BINS)

check-layers:
	@sh scripts/check-layers

check: deps
	@$(MAKE) --no-print-directory check-build
	@bash tests/run

install: all
	install -d $(DESTDIR)$(SBINDIR) $(DESTDIR)$(BINDIR) $(DESTDIR)$(MANDIR)/man1 \
	    $(DESTDIR)$(MANDIR)/man5 $(DESTDIR)$(MANDIR)/man8 $(DESTDIR)$(sysconfdir)
	install -m 0755 bin/vmserviced $(DESTDIR)$(SBINDIR)/vmserviced
	install -m 0755 bin/vmctl $(DESTDIR)$(SBINDIR)/vmctl
	install -m 0755 bin/vmimg $(DESTDIR)$(BINDIR)/vmimg
	for m in man/*.1; do [ -e "$$m" ] && install -m 0644 "$$m" $(DESTDIR)$(MANDIR)/man1/ || true; done
	for m in man/*.5; do [ -e "$$m" ] && install -m 0644 "$$m" $(DESTDIR)$(MANDIR)/man5/ || true; done
	for m in man/*.8; do [ -e "$$m" ] && install -m 0644 "$$m" $(DESTDIR)$(MANDIR)/man8/ || true; done
	[ -e $(DESTDIR)$(sysconfdir)/vmservice.conf ] || \
	    install -m 0644 etc/vmservice.conf $(DESTDIR)$(sysconfdir)/vmservice.conf

uninstall:
	rm -f $(DESTDIR)$(SBINDIR)/vmserviced $(DESTDIR)$(SBINDIR)/vmctl $(DESTDIR)$(BINDIR)/vmimg
	for m in man/*.[158]; do rm -f $(DESTDIR)$(MANDIR)/man$${m##*.}/$${m##*/}; done

clean:
	rm -rf $(B) bin

-include mk/*.mk
# (not build/deb: `make deb`'s copy of the tree, mk/deb.mk)
-include $(shell find $(B) -path $(B)/deb -prune -o -name '*.d' -type f -print 2>/dev/null)
