/*
 * The per-VM life cycle as an explicit state x event table of small named
 * actions (s6-supervise style). The supervisor never touches a process, a
 * socket or a clock itself: every effect goes through struct sup_ops, so
 * the table can be driven by a recorder in unit tests.
 */
#ifndef VMS_SUPERVISOR_H
#define VMS_SUPERVISOR_H
#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>
#include <json-c/json.h>
#include "hw/hw.h"
#include "vmd/intent.h"

enum vm_state {
	VS_STOPPED,
	VS_WAITING,	/* wants to start: waits for `after` VMs, a slot, a delay */
	VS_STARTING,	/* spawned, QMP not ready yet */
	VS_RUNNING,
	VS_HALTING,	/* halt method sent, halt_timeout armed */
	VS_TERMINATING,	/* SIGTERM sent, term_timeout armed */
	VS_KILLING,	/* SIGKILL sent */
	VS_FAILED,	/* start failed */
	VS_BACKOFF,	/* waiting to restart (restart policy: issue 6) */
	VS_ADOPTING,	/* at daemon start: its lock is held, its QEMU not identified yet */
	VS_PANICKED,	/* the guest panicked and is left frozen (on_panic = pause) */
	VS_REMOVED,	/* out of the inventory and down: the daemon drops it */
	VS_BOOTING,	/* QMP ready; waits for the guest's readiness (ready = ...) */
	VS_NOT_READY,	/* ready_timeout expired under on_ready_timeout = hold */
	VS_SAVING,	/* paused, its state streaming to state_dir/NAME.vmstate */
	VS_RESTORING,	/* spawned with -incoming: loading its saved state */
	VS_ATTACHING,	/* vmctl attach: a QEMU we did not start, its QMP answering yet */
	VS_INCOMING,	/* live migration, destination: spawned with -incoming, the stream
			   coming through vmctl's ssh channel (vmd/migrate.c) */
	VS_MIGRATING,	/* live migration, source: the guest runs, its state streaming */
	VS_HANDED_OVER,	/* source: migration completed, the guest paused here until the
			   destination says it runs (then quit) or failed (then cont) */
	VS_N
};

enum vm_event {
	VE_START,		/* start requested */
	VE_STOP,		/* stop requested */
	VE_KILL,		/* kill requested */
	VE_RESTART,		/* restart requested */
	VE_DEPS_READY,		/* the scheduler lets a waiting VM go */
	VE_QMP_READY,		/* QMP handshake done */
	VE_QMP_LOST,		/* QMP connect gave up or connection dropped */
	VE_SHUTDOWN_GUEST,	/* QMP SHUTDOWN, "guest": true */
	VE_SHUTDOWN_HOST,	/* QMP SHUTDOWN, "guest": false */
	VE_EXITED,		/* process gone; arg = wait status or -1 */
	VE_TIMER,		/* the VM's timer fired */
	VE_DEPS_FAILED,		/* an `after` VM failed: give up (vm_detail set) */
	VE_ADOPT,		/* a live QEMU found at daemon start (pid, pidfd set) */
	VE_PANICKED,		/* QMP GUEST_PANICKED (pvpanic): apply on_panic */
	VE_RUN_STATE,		/* QEMU's run state changed (vm_run_state set) */
	VE_WIND_DOWN,		/* stop once no VM after it runs (stop all, reload, intent) */
	VE_ADOPT_WAIT,		/* its lock is held by a QEMU not identified yet */
	VE_ADOPT_NONE,		/* adopting: the lock came free, no QEMU of it runs */
	VE_REMOVE,		/* reload: out of the inventory; stop it and drop it */
	VE_UNREMOVE,		/* reload: back in the inventory before it was dropped */
	VE_GUEST_READY,		/* the readiness probe succeeded (ready = agent, serial, tcp) */
	VE_AGENT_FAILED,	/* the agent halt step got no answer to guest-ping */
	VE_SAVE,		/* save requested (vmctl save, or stop with on_host_shutdown = save) */
	VE_SAVED,		/* QMP MIGRATION completed while saving */
	VE_SAVE_FAILED,		/* the save could not finish (vm_detail set) */
	VE_RESTORED,		/* the saved state is loaded (MIGRATION completed, incoming) */
	VE_RESTORE_FAILED,	/* QEMU refused the saved state (vm_detail set) */
	VE_ATTACH,		/* vmctl attach: a QEMU we did not start (pid, pidfd, QMP set) */
	VE_AUTOKILL,		/* the control connection of `start --autokill` closed */
	VE_MIGRATE_IN,		/* vmctl migrate, destination: start to receive (vm_mig set) */
	VE_MIGRATE,		/* vmctl migrate, source: stream to the destination (vm_mig set) */
	VE_MIGRATED,		/* QMP MIGRATION completed (either side) */
	VE_MIGRATE_FAILED,	/* the migration failed or was cancelled (vm_detail set) */
	VE_MIGRATE_CONFIRM,	/* source: the destination runs the guest: quit here */
	VE_MIGRATE_ABORT,	/* source: the destination failed (or an admin says so): run here */
	VE_N
};

/*
 * What is wanted of a VM: the one field the requests, the scheduler and
 * the restart policy read, and the one run_dir/NAME.intent mirrors
 * (intent.h). Only the table writes it (sup_event).
 */
enum vm_want {
	WANT_NONE,	/* nothing asked yet (a fresh VM, no intent file) */
	WANT_UP,	/* started, adopted, or restarted by the policy */
	WANT_DOWN,	/* stopped, or stop once the VMs after it are down */
	WANT_RESTART,	/* stopping, then start again */
	WANT_GONE,	/* removed by a reload: stop, never restart, drop */
	WANT_N
};

/* Why a VM last stopped (PROTOCOL.md strings). */
enum stop_reason {
	SR_NONE,
	SR_GUEST_POWEROFF,
	SR_HOST_POWERDOWN,
	SR_SIGTERM,
	SR_SIGKILL,
	SR_CRASHED,
	SR_START_FAILED,
	SR_GUEST_PANICKED,
	SR_KVM_ERROR,		/* KVM could not run the guest */
	SR_SAVED,		/* its state is in state_dir/NAME.vmstate */
	SR_RESTORE_FAILED,	/* its saved state was refused: it boots cold */
	SR_AUTOKILL,		/* the connection that started it (--autokill) closed */
	SR_MIGRATED,		/* it runs on another host now (vm_detail "migrated: HOST") */
	SR_N
};

struct console;
struct conguard;
struct vm_net;
struct vm_reload;
struct vm_agent;
struct vm_probe;
struct vm_snap;
struct vm_attach;
struct vm_tpm;
struct vm_cidata;
struct vm_mig;

struct vm {
	const struct hw_vm *vm_hw;
	const char	*vm_name;	/* vm_hw->vm_name */
	enum vm_state	 vm_state;
	pid_t		 vm_pid;	/* 0: none */
	int		 vm_pidfd;	/* -1: none */
	struct qmp	*vm_qmp;
	uint64_t	 vm_timer;	/* loop timer id, owned by the ops */
	uint64_t	 vm_started_ms;	/* entered running (now_ms clock) */

	enum stop_reason vm_reason;	/* how the last run ended */
	enum stop_reason vm_pending;	/* what the stop under way will be called */
	char		*vm_detail;	/* start-failed: QEMU's stderr or why */
	char		 vm_last_exit[32];	/* "exit 0", "signal 9", "" */
	unsigned	 vm_restarts;

	enum vm_want	 vm_want;
	bool		 vm_shutdown_seen;	/* SHUTDOWN already handled this run */
	int		 vm_halt_override;	/* stop --timeout, s, instead of halt_timeout; -1: none */
	bool		 vm_adopted;	/* not our child: no wait status */

	/* restart policy (hw vm_policy.po_restart, on_panic); times on the ops' clock */
	uint64_t	 vm_run_ms;	/* entered running; 0: not this run */
	unsigned	 vm_streak;	/* restarts since the VM last ran restart_interval */
	unsigned	 vm_burst_n;	/* restarts in the window that began at: */
	uint64_t	 vm_burst_ms;
	uint64_t	 vm_next_restart_ms;	/* backoff: when the timer fires; 0: none */

	/*
	 * What this run's QEMU was started with (HW_ACCEL_AUTO: no run yet),
	 * and why TCG when accel = auto ("" otherwise), for status.
	 */
	enum hw_accel	 vm_accel;
	char		 vm_accel_note[192];
	/* QEMU's run state (query-status, STOP/RESUME...): "" unknown. */
	char		 vm_run_state[24];

	/* daemon bookkeeping, not used by the table */
	void		*vm_ctx;	/* the owning daemon */
	struct console	*vm_con_serial;	/* console proxies (vmcon.c), or NULL */
	struct console	*vm_con_monitor;
	struct conguard	*vm_guard_serial;	/* their telnet doors (conguard.c) */
	struct conguard	*vm_guard_monitor;
	struct vm_net	*vm_net;	/* taps and scripts (vmnet.c), or NULL */
	bool		 vm_ready_notified;
	uint64_t	 vm_spawned_ms;
	off_t		 vm_log_offset;	/* NAME.qemu.log size at spawn */
	struct vm_reload *vm_reload;	/* reload.c: restart-pending or removed, or NULL */
	int		 vm_lockfd;	/* our copy of run_dir/NAME.lock, or -1 */
	struct vm_intent vm_intent;	/* run_dir/NAME.intent as last written or read */
	struct vm_agent	*vm_agent;	/* agent.c: the guest agent connection, or NULL */
	struct vm_probe	*vm_probe;	/* probe.c: the readiness probe under way, or NULL */
	struct vm_snap	*vm_snap;	/* snapshot.c: the snapshot operation under way, or NULL */
	struct vm_attach *vm_attach;	/* attach.c: not in the inventory (vmctl attach), or NULL */
	struct vm_tpm	*vm_tpm;	/* tpm.c: its swtpm (tpm = on), or NULL */
	struct vm_cidata *vm_cidata;	/* cidata.c: its cloud-init seed, or NULL */
	struct vm_machine *vm_machine;	/* machine.c: its scope or cgroup, or NULL */
	struct vm_mig	*vm_mig;	/* migrate.c: a live migration, or NULL */
	int		 vm_save_pct;	/* savestate.c: a save's progress, percent; -1: none */
	uint64_t	 vm_save_timer;	/* savestate.c: the next query-migrate */
	uint64_t	 vm_balloon_actual;	/* balloon.c: what the guest has, bytes; 0: unknown */
	uint64_t	 vm_balloon_target;	/* balloon.c: what was last asked; 0: unknown */

	/* The halt ladder (po_halt) of the stop under way; times on the ops' clock. */
	int		 vm_halt_step;	/* index into po_halt; -1: not a ladder stop */
	uint64_t	 vm_halt_end_ms;	/* halt_timeout runs out */
	uint64_t	 vm_step_end_ms;	/* the current step's share runs out */
	unsigned	 vm_presses;	/* ACPI presses in the current step */
	char		 vm_halt_log[200];	/* the steps taken, for the stop detail */
};

struct sup_ops {
	/*
	 * Fork QEMU and begin connecting QMP. 0, 1 when it was started to load
	 * a saved state (-incoming), or -errno with err filled.
	 */
	int	(*spawn)(void *ctx, struct vm *vm, char *err, size_t errlen);
	/* Send a QMP command (args owned). -ENOTCONN when QMP is not ready. */
	int	(*qmp)(void *ctx, struct vm *vm, const char *cmd, struct json_object *args);
	int	(*signal)(void *ctx, struct vm *vm, int sig);
	/* Arm the VM's one timer (replacing any) / disarm it. */
	void	(*arm)(void *ctx, struct vm *vm, unsigned ms);
	void	(*disarm)(void *ctx, struct vm *vm);
	/* The process is gone: drop QMP, pidfd, runtime files. */
	void	(*gone)(void *ctx, struct vm *vm);
	/* QEMU's last words (its stderr), newly allocated or NULL. */
	char	*(*exit_detail)(void *ctx, struct vm *vm);
	/* After every transition: persist, wake waiters, reschedule. */
	void	(*changed)(void *ctx, struct vm *vm, enum vm_state old, const char *why);
	/* The clock for backoff and burst accounting, ms (monotonic). */
	uint64_t (*now)(void *ctx);
	/* May the policy restart this VM now (not while the daemon exits)? */
	bool	(*may_restart)(void *ctx, struct vm *vm);
	/*
	 * KVM failed this VM's guest under accel = auto (QEMU's words in
	 * detail): from now on accel = auto means TCG on this host.
	 */
	void	(*kvm_failed)(void *ctx, struct vm *vm, const char *detail);
	/*
	 * The agent halt step: guest-ping, then guest-shutdown once it answers
	 * (a later VE_AGENT_FAILED if it does not). -ENOTCONN when no agent is
	 * synchronised: the step is skipped at once.
	 */
	int	(*agent_halt)(void *ctx, struct vm *vm);
	/* QMP is ready and the VM's ready = is not qmp: watch for readiness. */
	void	(*probe)(void *ctx, struct vm *vm);
	/*
	 * Pause the guest and stream its state to state_dir (MIGRATION
	 * events then feed VE_SAVED / VE_SAVE_FAILED). 0 or -errno with err.
	 */
	int	(*save)(void *ctx, struct vm *vm, char *err, size_t errlen);
	/* Spawned with -incoming and QMP ready: load the saved state. */
	int	(*restore)(void *ctx, struct vm *vm, char *err, size_t errlen);
	/* The saved state was refused (why): keep it aside, never delete it. */
	void	(*restore_failed)(void *ctx, struct vm *vm, const char *why);
	/*
	 * Live migration (vmd/migrate.c): stream the running guest to the fd
	 * in vm_mig (source), or load it from there (destination, spawned with
	 * -incoming, QMP ready). MIGRATION events feed VE_MIGRATED /
	 * VE_MIGRATE_FAILED. 0 or -errno with err.
	 */
	int	(*migrate_out)(void *ctx, struct vm *vm, char *err, size_t errlen);
	int	(*migrate_in)(void *ctx, struct vm *vm, char *err, size_t errlen);
};

struct sup {
	const struct sup_ops *ops;
	void		*ctx;
};

void sup_vm_init(struct vm *vm, const struct hw_vm *hw);
void sup_vm_clear(struct vm *vm);
/* Feed one event; arg is the wait status for VE_EXITED (-1: unknown). */
void sup_event(const struct sup *s, struct vm *vm, enum vm_event ev, int arg);

const char *sup_state_name(enum vm_state st);
const char *sup_want_name(enum vm_want w);
const char *sup_event_name(enum vm_event ev);
/* NULL for SR_NONE. */
const char *sup_reason_name(enum stop_reason r);
int sup_state_lookup(const char *name);
int sup_reason_lookup(const char *name);
/* How long an attached QEMU's QMP may take to greet and answer query-status. */
#define SUP_ATTACH_WAIT_MS	10000
/* How long QEMU gets to honour an autokill's quit before SIGKILL. */
#define SUP_AUTOKILL_QUIT_MS	50
/* How long a VM waits in adopting for the QEMU holding its lock. */
#define SUP_ADOPT_WAIT_MS	30000
/* The backoff before the next automatic restart, ms (exponential, capped). */
unsigned sup_backoff_ms(const struct hw_vm *hw, unsigned streak);
/* stopped, failed, removed: nothing runs and nothing is pending. */
bool sup_is_down(const struct vm *vm);
/* Wanted down (or gone), whatever the state. */
bool sup_wants_down(const struct vm *vm);
/*
 * A stop the scheduler still has to send: wanted down while its QEMU
 * starts or runs (it waits for the VMs that are after it).
 */
bool sup_stop_pending(const struct vm *vm);
/* a QEMU process exists */
bool sup_has_process(const struct vm *vm);
/*
 * QEMU's run state says the CPUs can never run again (internal-error,
 * shutdown...): no power button can be seen.
 */
bool sup_cpus_dead(const struct vm *vm);
/* Paused (by an admin, a debugger, an I/O error) or suspended, but able to run. */
bool sup_cpus_paused(const struct vm *vm);
/* What status calls the VM: its state, or paused/suspended for a running one. */
const char *sup_display_state(const struct vm *vm);
#endif
