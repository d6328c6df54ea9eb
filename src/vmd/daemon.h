/*
 * The daemon's one owner of state: the inventory, the VMs, the loop and the
 * listening socket. The vmd files drive the VMs (ARCHITECTURE.md: effects,
 * adoption, requests, scheduling, status, reload); control/ serves vmctl
 * above it; cmd/vmserviced is main().
 */
#ifndef VMS_DAEMON_H
#define VMS_DAEMON_H
#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <json-c/json.h>

#include "lib/log.h"
#include "qemu/qemu_argv.h"
#include "config/inventory.h"
#include "vmd/supervisor.h"

struct loop;
struct console;
struct reload;
struct scripts;
struct nicm;
struct alerts;
struct machines;

struct daemon {
	struct loop	*lp;
	char		*conf_path;
	struct inventory inv;
	struct vm	**vms;		/* one per inventory VM, same order; each
				   allocated alone: callbacks hold vm pointers */
	size_t		 n_vms;
	struct sup	 sup;
	struct qemu_env	 env;
	sigset_t	 child_mask;	/* the mask before we blocked signals */

	int		 sig_fd;
	int		 pid_fd;	/* run_dir/vmserviced.pid, flocked */
	int		 ready_fd;	/* -D: readiness pipe to the parent, or -1 */
	char		*sock_path;
	/*
	 * Called at the end of every idle pass, after scheduling: the
	 * control socket (a layer above) answers its deferred requests
	 * there. The daemon never names what is above it.
	 */
	void		(*idle_hook)(void *arg);
	void		*idle_arg;
	/*
	 * Called after every transition of the table (effects.c, op_changed):
	 * the control socket streams it to `vmctl events` subscribers.
	 */
	void		(*event_hook)(void *arg, const struct vm *vm, int old_state,
			    const char *why);
	void		*event_arg;

	bool		 exiting;	/* SIGTERM: stop all, then exit */
	bool		 dirty;		/* something changed since the last idle pass */
	uint64_t	 next_start_ms;	/* start_delay spacing */
	uint64_t	 sched_timer;
	uint64_t	 extend_timer;	/* EXTEND_TIMEOUT_USEC while stopping */
	uint64_t	 adopt_timer;	/* retries adoption of VMs whose lock is held */
	char		 last_status[128];
	/*
	 * KVM failed a guest on this host (QEMU's first words): accel = auto
	 * means TCG for the daemon's life. "": not seen failing.
	 */
	char		 kvm_failed[192];
	struct reload	*reload;	/* reload.c: superseded inventories */
	struct scripts	*scripts;	/* downscripts under way (scripts.h) */
	struct nicm	*nicm;		/* emulators' NIC models (nicmodels.h) */
	struct alerts	*alerts;	/* notify_command runs waiting (alert.h) */
	struct machines	*machines;	/* where VMs' limits go (machine.h) */
	uint64_t	 metrics_timer;	/* the next write of metrics_file (metrics.h) */
	uint64_t	 metrics_due_ms;	/* when it fires */
	struct log_burst fd_refused;	/* consoles refused for descriptors, this pass */
	struct log_burst fd_refused_start;	/* starts refused for descriptors, this pass */
};

/* QMP connect: QEMU creates the socket early in its start-up. */
#define QMP_CONNECT_INTERVAL_MS	100
#define QMP_CONNECT_ATTEMPTS	300

/* adopt.c */
int daemon_init_vms(struct daemon *d);
/* effects.c */
extern const struct sup_ops daemon_sup_ops;
/* run_dir/NAME.SUFFIX, newly allocated */
char *daemon_run_path(struct daemon *d, const struct vm *vm, const char *suffix);
/* Watch vm's pidfd and connect QMP. */
int daemon_watch_process(struct daemon *d, struct vm *vm);
/*
 * An attached QEMU (attach.c): watch its pidfd, talk QMP on qmp_fd (its own
 * socket at qmp_path, connected and checked). 0, or -errno with qmp_fd closed.
 */
int daemon_watch_attached(struct daemon *d, struct vm *vm, const char *qmp_path, int qmp_fd);
/* sched.c: emits the events scheduling decides, until nothing changes */
void sched_run(struct daemon *d);
/* daemon.c */
void daemon_autostart(struct daemon *d);
/* Run after every batch of events: scheduling, waiters, notify, exit. */
void daemon_idle(struct loop *lp, void *arg);
/* status.c */
struct json_object *daemon_vm_json(struct daemon *d, const struct vm *vm);
const char *daemon_accel_name(struct daemon *d, const struct vm *vm);
void daemon_free_vms(struct daemon *d);

/* vmfree.c: the one teardown (exit, reload's drop); the QEMU is left running */
void vm_release(struct daemon *d, struct vm *vm);
void vm_drop_lock(struct vm *vm);

/* request.c: what is asked of a VM, as events of the table */
struct vm *daemon_find_vm(struct daemon *d, const char *name);
/* Act on one VM (the request paths of control.c and the signal handler). */
int daemon_start_vm(struct daemon *d, struct vm *vm, char *err, size_t errlen);
/* timeout: overrides halt_timeout (seconds); -1: none */
void daemon_stop_vm(struct daemon *d, struct vm *vm, int timeout);
void daemon_stop_all(struct daemon *d, int timeout);
void daemon_kill_vm(struct daemon *d, struct vm *vm);
void daemon_save_vm(struct daemon *d, struct vm *vm);
/* vmctl revert: fresh overlays for a VM that is down; their files in done. */
int daemon_revert_vm(struct daemon *d, struct vm *vm, struct strv *done, char *err,
    size_t errlen);
int daemon_restart_vm(struct daemon *d, struct vm *vm, char *err, size_t errlen);
/* vmctl start --force: also a VM migrated away (its stop reason "migrated"). */
int daemon_force_start_vm(struct daemon *d, struct vm *vm, char *err, size_t errlen);
/* run_dir/NAME.intent follows what vm's state says is wanted (intent.h). */
void daemon_intent_sync(struct daemon *d, struct vm *vm);
/* vm leaves the daemon (reload removed it): no intent left behind. */
void daemon_intent_forget(struct daemon *d, struct vm *vm);
#endif
