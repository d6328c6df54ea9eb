/*
 * Inside `vmctl import-rc` (rcimport.c, rcqemu.c): one rc-script VM as the
 * inventory's options, each kept as the text to print. Nothing outside
 * src/config/rc*.c includes this.
 */
#ifndef VMS_RC_PRIV_H
#define VMS_RC_PRIV_H
#include <stdbool.h>
#include <stddef.h>

#include "lib/diag.h"
#include "lib/util.h"

#define RCI_UNSET	(-1)

struct rci_disk {
	char	*rd_file, *rd_format, *rd_if, *rd_cache, *rd_media, *rd_index;
	int	 rd_readonly, rd_snapshot;	/* RCI_UNSET, 0, 1 */
	char	*rd_id;		/* -drive if=none,id=: waiting for its -device */
	int	 rd_order;	/* sort key: the IDE position QEMU gave it */
	int	 rd_line;
};

struct rci_nic {
	char	*rn_model, *rn_mac, *rn_net, *rn_ifname, *rn_bridge;
	char	*rn_script, *rn_downscript;
	struct strv rn_hostfwd;
	bool	 rn_vhost;
	char	*rn_key;	/* "vlan N" (-net) or "id X" (-netdev/-device) */
	bool	 rn_front, rn_back;	/* a NIC seen, a backend seen */
	bool	 rn_default_mac;	/* QEMU's 52:54:00:12:34:NN, no macaddr= */
	int	 rn_line;
};

struct rci_vm {
	const char	*v_file;	/* the rc file, for messages */
	struct diag	*v_d;
	char		*v_name;
	bool		 v_disabled;	/* !NAME in QEMU_MACHINES */
	int		 v_line;	/* of qemu_NAME= */

	char	*v_type, *v_memory, *v_machine, *v_cpu, *v_accel;
	char	*v_kernel, *v_initrd, *v_append, *v_cdrom;
	char	*v_smp[5];	/* smp sockets cores threads maxcpus */
	char	*v_boot_order, *v_boot_once;
	bool	 v_boot_menu;
	struct rci_disk	*v_disks;
	size_t		 v_n_disks;
	struct rci_nic	*v_nics;
	size_t		 v_n_nics;
	bool	 v_net_none, v_nodefaults, v_snapshot;
	int	 v_serial, v_monitor, v_vnc;	/* RCI_UNSET: none */
	int	 v_n_serials;
	char	*v_vga, *v_keymap;
	bool	 v_balloon, v_tablet;
	struct rci_chardev {	/* -chardev socket,...,port=P,server: P */
		char	*ch_id, *ch_arg;
		int	 ch_port, ch_line;
		bool	 ch_used;	/* by -serial chardev: or -mon */
	} *v_chardevs;
	size_t	 v_n_chardevs;
	struct strv v_redir;	/* -redir rules, as hostfwd */
	int	 v_redir_line;

	char	*v_halt, *v_halt_command, *v_halt_timeout;

	struct strv v_extra;	/* extra_args words */
	struct strv v_notes;	/* comment lines for the section */
};

/* rcqemu.c: the words of qemu_NAME (and each one's line) into vm. */
void rci_qemu_options(struct rci_vm *vm, const struct strv *words, const int *lines);
/* After the options: pairing, defaults (QEMU's NIC, MACs), order. */
void rci_qemu_finish(struct rci_vm *vm);

/* A comment line in the section, and the same as a warning on stderr. */
void rci_note(struct rci_vm *vm, int line, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
void rci_warn(struct rci_vm *vm, int line, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
void rci_set(char **field, const char *val);
#endif
