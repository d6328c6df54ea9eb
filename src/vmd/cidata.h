/*
 * A VM's cloud-init NoCloud seed (the cloud_init section): an ISO 9660
 * image labelled "cidata" holding user-data, meta-data and network-config,
 * at run_dir/NAME.cidata.img, that QEMU attaches read-only
 * (qemu/seed_argv.h).
 *
 * Written by xorriso (Debian's xorriso, GNU xorriso of libburnia), run as
 * a child of the loop with a deadline: an actively kept ISO 9660 writer
 * (Rock Ridge and Joliet), the one cloud-init's own documentation builds
 * seeds with in its mkisofs form, and one we never link (a file system
 * writer in the root daemon would be a parser of our own). The daemon
 * reads the user's files itself (sp_open: no planted symlink, no FIFO, a
 * size bound), copies them into a directory of its own for xorriso, and
 * gives the image to the VM's user alone (0600): they may hold secrets.
 *
 * The scheduler asks before a start (sched.c): the seed is rebuilt when
 * what the files hold differs from what the image was built from, and
 * the VM waits (in waiting) until it is done.
 */
#ifndef VMS_CIDATA_H
#define VMS_CIDATA_H

struct daemon;
struct vm;

/* How long xorriso may take before it is killed and the start fails. */
#define CIDATA_TIMEOUT_MS	20000
/* A bound on each file (cloud providers take 16 KiB to a few MiB of user-data). */
#define CIDATA_MAX_FILE		(4u << 20)

/*
 * 1: the seed is current (or the VM has none); 0: being built, ask again
 * (the daemon's dirty flag is set when it is done); -1: it cannot be
 * (vm_detail says why: a file, xorriso's words).
 */
int cidata_prepare(struct daemon *d, struct vm *vm);
/* The daemon lets vm go (exit, reload): a build under way is killed. */
void cidata_release(struct daemon *d, struct vm *vm);
#endif
