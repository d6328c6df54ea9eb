/*
 * Descriptors passed with a control request (SCM_RIGHTS): `vmctl migrate`
 * hands the daemon its end of the ssh channel that carries a live
 * migration's stream (vmd/migrate.h). Only an admin client's descriptor is
 * kept; any other is closed at once.
 */
#ifndef VMS_CTL_FD_H
#define VMS_CTL_FD_H
#include <stddef.h>
#include <sys/types.h>

/*
 * recv() of up to len bytes from sock (MSG_DONTWAIT), and a descriptor
 * sent with them: stored in *fd when *fd is -1 (else closed: one a
 * request). Returns what recv() does.
 */
ssize_t ctl_recv_fd(int sock, void *buf, size_t len, int *fd);
#endif
