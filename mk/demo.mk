# `make demo`: the README's main command. Installs missing packages (make
# deps), builds, builds the test guest, then runs vmserviced in the
# foreground on etc/demo.conf (two small VMs, files under ./demo/) until
# Ctrl-C, which stops them the safe way. `make demo-clean` removes ./demo/.
.PHONY: demo demo-clean
demo: deps
	@$(MAKE) --no-print-directory all
	@bash scripts/demo.sh

demo-clean:
	rm -rf demo
