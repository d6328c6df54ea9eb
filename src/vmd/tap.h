/*
 * Tap devices the daemon creates for QEMU (net = bridge, net = tap), so that
 * QEMU gets an open fd (-netdev tap,fd=N) and needs no CAP_NET_ADMIN.
 *
 * A tap is created non-persistent: it lives exactly as long as some process
 * holds its fd (the daemon while the VM runs, QEMU which inherits it), so a
 * crash of both leaves nothing behind. Every name the daemon derives starts
 * with TAP_PREFIX; tap_list() finds those left over (held by an orphaned
 * QEMU, or made persistent by someone) for the daemon to delete at start-up.
 *
 * All calls act on the calling process's network namespace.
 */
#ifndef VMS_SERVICE_TAP_H
#define VMS_SERVICE_TAP_H
#include <net/if.h>
#include <stdbool.h>
#include <stddef.h>
#include "lib/util.h"
#include "hw/hw.h"

#define TAP_PREFIX	HW_TAP_PREFIX

/* tap_open() flags */
#define TAP_VNET_HDR	0x1	/* IFF_VNET_HDR: virtio-net offloads (and vhost) */
#define TAP_EXCL	0x2	/* fail if the name exists (a tap we create ourselves) */
#define TAP_VHOST	0x4	/* also open /dev/vhost-net, if it exists */

struct tap {
	int	 tp_fd;			/* /dev/net/tun, attached; -1: none */
	int	 tp_vhost_fd;		/* /dev/vhost-net; -1: none */
	char	 tp_name[IF_NAMESIZE];
};


/*
 * Create (or, without TAP_EXCL, attach to an existing persistent) tap name,
 * set it up, and when bridge is non-NULL give it the bridge's MTU and enslave
 * it. All fds are close-on-exec. On failure nothing is left (the tap, if
 * created, vanishes with its fd) and err says why in user terms: missing
 * bridge, name in use, no CAP_NET_ADMIN. With TAP_VHOST and no
 * /dev/vhost-net, tp_vhost_fd stays -1 (not an error: QEMU's virtio-net in
 * user space still works). Returns 0 or -errno.
 */
int tap_open(struct tap *t, const char *name, const char *bridge, unsigned flags,
    char *err, size_t errlen);
/* Close the fds (the tap goes when its last holder closes). Idempotent. */
void tap_close(struct tap *t);
void tap_init(struct tap *t);

/* True when an interface called name exists. */
bool tap_exists(const char *name);
/*
 * Tun/tap devices whose name starts with prefix, appended to out.
 * Returns 0 or -errno.
 */
int tap_list(const char *prefix, struct strv *out);
/*
 * 1 when some process holds tap name open (tun turns the carrier on while
 * a queue is attached, up or down), 0 when nobody does (a persistent
 * orphan), -errno.
 */
int tap_held(const char *name);
/* Delete interface name (rtnetlink RTM_DELLINK), even while held open. */
int tap_delete(const char *name, char *err, size_t errlen);
#endif
