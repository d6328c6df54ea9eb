/* The capabilities vmserviced keeps, and the dropping of all others. */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/capability.h>
#include <sys/prctl.h>

#include "vmd/dcaps.h"

/* Every capability kept says why (STYLE.md, privilege is explicit). */
static const cap_value_t kept[] = {
	CAP_CHOWN,		/* disks, sockets, logs become the runas user's;
				   the control socket group vmservice-status's */
	CAP_DAC_OVERRIDE,	/* read and write what now belongs to a runas user:
				   disks (checks, overlays, revert), spools, logs */
	CAP_FOWNER,		/* chmod of those files and of run_dir, log_dir */
	CAP_KILL,		/* SIGTERM/SIGKILL to QEMUs running as runas users */
	CAP_SETGID,		/* the QEMU child takes the runas groups ... */
	CAP_SETUID,		/* ... and uid; setfsuid to read /proc/PID/exe of
				   such a QEMU when adopting it (no CAP_SYS_PTRACE) */
	CAP_SETPCAP,		/* the QEMU child empties its bounding set */
	CAP_NET_ADMIN,		/* taps, bridge ports; ifup/ifdown scripts */
	CAP_NET_BIND_SERVICE,	/* serial/monitor telnet ports below 1024 */
};
#define N_KEPT	(sizeof(kept) / sizeof(kept[0]))

static int
is_kept(cap_value_t c)
{
	size_t i;

	for (i = 0; i < N_KEPT; i++)
		if (kept[i] == c)
			return 1;
	return 0;
}

int
dcaps_limit(char *err, size_t errlen)
{
	cap_flag_value_t v, setpcap = CAP_CLEAR;
	cap_t now, want;
	cap_value_t c, last;
	size_t i;
	int e;

	if (!(now = cap_get_proc()) || !(want = cap_init())) {
		e = errno;
		cap_free(now);
		snprintf(err, errlen, "cannot read capabilities: %s", strerror(e));
		return -e;
	}
	cap_get_flag(now, CAP_SETPCAP, CAP_EFFECTIVE, &setpcap);
	for (i = 0; i < N_KEPT; i++) {
		if (cap_get_flag(now, kept[i], CAP_PERMITTED, &v) == 0 && v == CAP_SET &&
		    (cap_set_flag(want, CAP_PERMITTED, 1, &kept[i], CAP_SET) == -1 ||
		    cap_set_flag(want, CAP_EFFECTIVE, 1, &kept[i], CAP_SET) == -1)) {
			e = errno;
			snprintf(err, errlen, "cap_set_flag: %s", strerror(e));
			goto fail;
		}
	}
	/* The bounding set first: dropping from it needs CAP_SETPCAP in effect. */
	last = (cap_value_t)cap_max_bits() - 1;
	for (c = 0; setpcap == CAP_SET && c <= last; c++) {
		if (is_kept(c) || prctl(PR_CAPBSET_READ, c, 0, 0, 0) != 1)
			continue;
		if (cap_drop_bound(c) == -1) {
			e = errno;
			snprintf(err, errlen, "cannot drop %s from the bounding set: %s",
			    cap_to_name(c), strerror(e));
			goto fail;
		}
	}
	if (prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL, 0, 0, 0) == -1 && errno != EINVAL) {
		e = errno;
		snprintf(err, errlen, "cannot clear ambient capabilities: %s", strerror(e));
		goto fail;
	}
	if (cap_set_proc(want) == -1) {
		e = errno;
		snprintf(err, errlen, "cannot drop capabilities: %s", strerror(e));
		goto fail;
	}
	cap_free(now);
	cap_free(want);
	return 0;
fail:
	cap_free(now);
	cap_free(want);
	return -e;
}
