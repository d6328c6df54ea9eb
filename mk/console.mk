# Console area: a standalone driver for console.c, used by tests/console/.
$(B)/tests/console_driver: $(B)/tests/console/console_driver.o $(LIB)
	@mkdir -p $(dir $@)
	$(CC) $(LDFLAGS) -o $@ $< $(LIB) $(PKG_LIBS) $(LDLIBS)

check-build: $(B)/tests/console_driver
