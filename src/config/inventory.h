/*
 * The inventory: /etc/vmservice.conf (and its includes) read with
 * libconfuse into global settings plus one struct hw_vm per `vm` section,
 * then validated. Loading never exits and never touches a running VM: the
 * caller gets either a complete valid inventory or the list of errors.
 */
#ifndef VMS_INVENTORY_H
#define VMS_INVENTORY_H
#include <stdint.h>
#include <sys/types.h>
#include "lib/diag.h"
#include "hw/hw.h"

#define INV_DEFAULT_PATH	"/etc/vmservice.conf"
/*
 * run_dir when the file sets none, and the control socket's name in it:
 * the daemon listens at run_dir/INV_SOCKET_NAME and vmctl finds it there
 * (vmctl without loading the inventory, so one definition for both).
 */
#define INV_DEFAULT_RUN_DIR	"/run/vmservice"
#define INV_SOCKET_NAME		"vmservice.sock"

struct inventory {
	char		*inv_path;	/* the main file */
	char		**inv_files;	/* every file read; hw_loc.file points here */
	size_t		 inv_n_files;

	char		*inv_run_dir;		/* /run/vmservice */
	char		*inv_state_dir;		/* /var/lib/vmservice */
	char		*inv_log_dir;		/* /var/log/vmservice */
	char		*inv_emulator_dir;	/* /usr/bin */
	char		*inv_listen;		/* 127.0.0.1 */
	unsigned	 inv_halt_timeout;	/* 30 s */
	unsigned	 inv_term_timeout;	/* 10 s */
	int		 inv_on_host_shutdown;	/* enum hw_host_shutdown, poweroff */
	unsigned	 inv_save_timeout;	/* 300 s */
	struct hw_limits inv_limits;	/* every VM's, unless it sets its own */
	char		*inv_notify_command;	/* run on events that need a human; NULL: none */
	unsigned	 inv_notify_timeout;	/* 30 s: then it is killed */
	char		*inv_metrics_file;	/* Prometheus text file; NULL: none */
	unsigned	 inv_metrics_interval;	/* 15 s between refreshes of its counters */
	unsigned	 inv_start_parallel;	/* 0: unlimited */
	unsigned	 inv_start_delay;	/* s between starts */
	unsigned	 inv_restart_delay;	/* 1 s: first restart backoff */
	unsigned	 inv_restart_max_delay;	/* 60 s: backoff cap */
	unsigned	 inv_restart_burst;	/* 5 restarts ... */
	unsigned	 inv_restart_interval;	/* ... within 60 s, then failed */
	uint64_t	 inv_console_scrollback;	/* 64 KiB per console, 0: none */
	uint64_t	 inv_console_log_size;	/* 1 MiB, rotate at; 0: never */
	unsigned	 inv_console_log_keep;	/* 5 rotated logs kept */
	unsigned	 inv_console_idle_timeout; /* 3600 s: telnet clients; 0: never */
	char		*inv_monitor_listen;	/* NULL: 127.0.0.1 (see man page) */
	char		*inv_runas;	/* default runas of every VM; NULL: dynamic */
	uid_t		 inv_uid_lo;	/* uid_range: per-VM uids (uidmap.h) */
	uid_t		 inv_uid_hi;
	int		 inv_accel;	/* enum hw_accel: default accel of every VM */
	int		 inv_firmware;	/* enum hw_firmware: default of every VM (bios) */
	char		*inv_console_password_file; /* default of every VM; NULL: none */

	struct hw_vm	*inv_vms;	/* in declaration order */
	size_t		 inv_n_vms;
};

/*
 * Read and validate path. On success returns 0 and fills inv (warnings may
 * still be in d). On any error returns -EINVAL (or -errno if the file cannot
 * be read), leaves inv empty and puts every error found in d.
 */
int inv_load(const char *path, struct inventory *inv, struct diag *d);
/*
 * inv_load with options. The NIC models of an emulator, for a card's
 * `model` outside the common ones, come from io_models; without it, from
 * running `EMULATOR -device help` (vmctl check-config), or with INV_NO_EXEC
 * from nowhere: not judged (vmctl finding the daemon's socket). The daemon
 * passes io_models (nicmodels.h): it never runs the emulator in its loop
 * (issue 12). io_models returns 0 with *models, -EAGAIN when the answer is
 * not in yet (io_pending is then set: the load is incomplete), or another
 * -errno when the emulator cannot say (not judged).
 */
#define INV_NO_EXEC	0x1
struct strv;
struct inv_opts {
	unsigned	 io_flags;
	int		(*io_models)(void *arg, const char *emulator, const struct strv **models);
	void		*io_arg;
	bool		 io_pending;	/* out */
};
int inv_load_opts(const char *path, struct inventory *inv, struct diag *d, struct inv_opts *o);
void inv_free(struct inventory *inv);
struct hw_vm *inv_find_vm(const struct inventory *inv, const char *name);
/* A VM name: letters, digits, '.', '_', '-', starting with a letter or digit, at most 64. */
bool inv_valid_vm_name(const char *s);
/* Where the daemon keeps VM vm's generated VNC password (state_dir/VM.vncpass). */
char *inv_vnc_password_path(const char *state_dir, const char *vm);
#endif
