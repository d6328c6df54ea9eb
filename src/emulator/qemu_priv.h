/*
 * Privileges QEMU does not get. The daemon creates taps and passes their
 * fds (issue 7), so QEMU never needs CAP_NET_ADMIN: it is taken from the
 * child before exec, which also keeps a compromised QEMU from reconfiguring
 * the host's network.
 */
#ifndef VMS_QEMU_PRIV_H
#define VMS_QEMU_PRIV_H

/*
 * In a forked child before execve: drop CAP_NET_ADMIN from the bounding,
 * ambient and inheritable sets, so the exec'd program (even as root) cannot
 * hold it. Async-signal-safe (raw prctl/capget/capset). Best effort: a
 * daemon without CAP_SETPCAP cannot shrink the bounding set, but then it is
 * not root-with-everything either. Returns 0 or -errno of the first failure.
 */
int qpriv_drop_net_admin(void);
#endif
