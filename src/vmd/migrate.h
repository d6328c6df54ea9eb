/*
 * Live migration between vmservice hosts (issue 19), the daemon's side.
 * The stream never touches the network unencrypted and the daemon opens no
 * listener: `vmctl migrate NAME ssh://HOST` runs `ssh HOST vmctl
 * migrate-incoming NAME`; each vmctl hands its end of that ssh channel to
 * its own daemon over the control socket (SCM_RIGHTS, root only), and each
 * daemon gives it to its QEMU (QMP getfd): the source QEMU writes the
 * stream into ssh's stdin, the destination QEMU reads it from the remote
 * vmctl's stdin. The table's states: incoming (destination), migrating and
 * handed-over (source); ARCHITECTURE.md.
 */
#ifndef VMS_MIGRATE_H
#define VMS_MIGRATE_H
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <json-c/json.h>

struct daemon;
struct vm;
struct hw_vm;

struct vm_mig {
	bool		 mg_incoming;	/* destination */
	int		 mg_fd;		/* the stream, until QEMU has it; -1 after */
	char		 mg_host[256];	/* source: where to */
	bool		 mg_copy;	/* --copy-storage: NBD + mirror (both sides) */
	/* Source: the NBD connections to the destination (one per written
	 * disk, by drive id), the mirror jobs begun, ready, ended. */
	char		**mg_nbd_dev;
	int		*mg_nbd_fd;
	size_t		 mg_n_nbd;
	unsigned	 mg_jobs, mg_ready, mg_ended;
	unsigned	 mg_tag;	/* in the node and job names of this attempt */
	bool		 mg_completed;	/* source: QEMU said completed (mirrors ending) */
	/* Destination: the guest arrived (paused: -S) and waits for "go". */
	bool		 mg_arrived;
	char		*mg_nbd_path;	/* run_dir/NAME.nbd, the NBD listener */
	uint64_t	 mg_timer;	/* the next query-migrate */
	uint64_t	 mg_start_ms;
	/* Progress (query-migrate), for status. */
	int		 mg_pct;	/* -1: unknown */
	int64_t		 mg_remaining;	/* bytes of RAM still to send; -1: unknown */
	int64_t		 mg_expected_ms;	/* QEMU's expected downtime; -1 */
	int64_t		 mg_downtime_ms;	/* at completion: QEMU's measured downtime; -1 */
	int64_t		 mg_total_ms;	/* at completion: QEMU's total time; -1 */
};

/*
 * Destination: a VM that is down begins an incoming migration from fd
 * (taken, closed on failure). 0, or -errno with err.
 */
int migrate_in_begin(struct daemon *d, struct vm *vm, int fd, bool copy, char *err,
    size_t errlen);
/* Source of --copy-storage, before migrate_out_begin: the NBD connection for drive dev. */
int migrate_disk_fd(struct daemon *d, struct vm *vm, const char *dev, int fd, char *err,
    size_t errlen);
/* Destination of --copy-storage: the source is done with the disks: run. */
int migrate_go(struct daemon *d, struct vm *vm, char *err, size_t errlen);
/* QMP BLOCK_JOB_* events (the source's mirror jobs). */
void migrate_block_event(struct daemon *d, struct vm *vm, const char *name,
    struct json_object *data);
/* Source: a running VM begins streaming to fd (taken). 0 or -errno with err. */
int migrate_out_begin(struct daemon *d, struct vm *vm, int fd, const char *host, bool copy,
    char *err, size_t errlen);
/*
 * Destination of --copy-storage: each disk the guest writes must exist
 * here (QEMU writes into it, whatever its format, at the same size). 0, or
 * -ENOENT with err naming the first missing one and how to make it.
 */
int migrate_disks_ready(const struct vm *vm, char *err, size_t errlen);

/* sup_ops: QMP getfd + migrate / migrate-incoming. */
int migrate_out(struct daemon *d, struct vm *vm, char *err, size_t errlen);
int migrate_in(struct daemon *d, struct vm *vm, char *err, size_t errlen);
/* QMP MIGRATION event (status) for a VM in incoming or migrating. */
void migrate_event(struct daemon *d, struct vm *vm, const char *status);
/* status --json members while a migration is under way or just done. */
void migrate_status(const struct vm *vm, struct json_object *o);
/* A source runs on here (failed, cancelled, resumed): its migration is forgotten. */
void migrate_resumed(struct daemon *d, struct vm *vm);
/* The VM's QEMU is gone, or the VM is freed. */
void migrate_forget(struct daemon *d, struct vm *vm);
#endif
