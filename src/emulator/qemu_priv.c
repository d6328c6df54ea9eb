/* Dropping CAP_NET_ADMIN before exec: see qemu_priv.h. */
#include <errno.h>
#include <linux/capability.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "emulator/qemu_priv.h"

int
qpriv_drop_net_admin(void)
{
	struct __user_cap_header_struct h = { _LINUX_CAPABILITY_VERSION_3, 0 };
	struct __user_cap_data_struct d[_LINUX_CAPABILITY_U32S_3];
	int rc = 0;

	/*
	 * execve gives root P'(permitted) = bounding | inheritable | ambient
	 * (file capabilities of root are "all"): clear the bit in all three.
	 */
	if (prctl(PR_CAPBSET_DROP, CAP_NET_ADMIN, 0, 0, 0) == -1)
		rc = -errno;
	if (prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_LOWER, CAP_NET_ADMIN, 0, 0) == -1 &&
	    errno != EINVAL && !rc)
		rc = -errno;
	if (syscall(SYS_capget, &h, d) == -1)
		return rc ? rc : -errno;
	d[CAP_TO_INDEX(CAP_NET_ADMIN)].inheritable &= ~CAP_TO_MASK(CAP_NET_ADMIN);
	if (syscall(SYS_capset, &h, d) == -1 && !rc)
		rc = -errno;
	return rc;
}
