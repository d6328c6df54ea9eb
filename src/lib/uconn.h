/*
 * A protocol client's unix stream connection in the loop, to a socket a
 * starting server is about to serve (QEMU's QMP and guest agent chardevs):
 * connect with usock_retry (peer check, no symlinks), watch for input,
 * write the protocol's output queue as the peer takes it, and report the
 * end once. The protocol keeps its own framing and parsing; QMP and QGA
 * share this socket side instead of two copies of it.
 */
#ifndef VMS_UCONN_H
#define VMS_UCONN_H
#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

#include "lib/usock_retry.h"

struct loop;
struct outbuf;

struct uconn_cb {
	/* Connected: output queued so far is being written. */
	void	(*connected)(void *arg);
	/*
	 * After each readiness event that did not end the connection: n
	 * bytes read (0 when the event only moved output). The last thing
	 * uconn does for the event, so the owner may free itself here.
	 */
	void	(*io)(void *arg, const char *in, size_t n);
	/*
	 * Connect refused or out of attempts, EOF, or a read or write error;
	 * why names the protocol (what) and the cause. The fd is closed
	 * already; the owner may free itself here.
	 */
	void	(*failed)(void *arg, const char *why);
};

struct uconn {
	const char	*uc_what;	/* "QMP", "QGA": for messages */
	const char	*uc_name;	/* the VM, for the log */
	struct outbuf	*uc_out;	/* the protocol's output queue */
	const struct uconn_cb *uc_cb;
	void		*uc_arg;
	struct loop	*uc_lp;
	char		*uc_path;
	int		 uc_fd;		/* -1: not connected */
	bool		 uc_watching_out;
	bool		 uc_in_paused;	/* not reading: the server's end fills up and waits */
	struct usock_retry uc_retry;	/* connecting, until the server listens */
};

/* Not connected yet; name and what must outlive uc. */
void uconn_init(struct uconn *uc, const char *what, const char *name, struct outbuf *out,
    const struct uconn_cb *cb, void *arg);
/*
 * Connect to path from the loop (never inside the caller), retrying every
 * interval_ms up to attempts times while the server is not listening yet;
 * only to a listener whose SO_PEERCRED pid is peer (0: any), never through
 * a symlink (usock_connect). A refusal is logged and fails at once.
 */
void uconn_connect(struct uconn *uc, struct loop *lp, const char *path, pid_t peer,
    unsigned attempts, unsigned interval_ms);
/*
 * Take fd, a socket the caller connected itself (with its own checks:
 * usock_connect_owned), as if uconn_connect had; path is for messages.
 * 0, or -errno with fd closed and no callback.
 */
int uconn_adopt(struct uconn *uc, struct loop *lp, const char *path, int fd);
/* After the protocol queued output: watch for EPOLLOUT while some is pending. */
void uconn_want_out(struct uconn *uc);
/*
 * Stop (or resume) reading: a peer sending what the protocol only throws
 * away (a guest flooding its agent channel) then waits on a full socket
 * instead of costing the daemon a core. EOF and errors are still seen.
 */
void uconn_pause_in(struct uconn *uc, bool pause);
bool uconn_is_open(const struct uconn *uc);
/*
 * Write buf now with fd attached (SCM_RIGHTS), for a command that takes a
 * descriptor (QMP getfd): only when no other output is pending, so the fd
 * travels with the first byte of that command. Returns the bytes written
 * (the caller queues the rest), or -EBUSY (output pending), -ENOTCONN,
 * -EAGAIN (the socket is full), -errno.
 */
ssize_t uconn_send_fd(struct uconn *uc, const char *buf, size_t len, int fd);
/* Stop connecting, close the fd; no callback. The struct stays usable. */
void uconn_close(struct uconn *uc);
/* uconn_close and the memory it holds. */
void uconn_free(struct uconn *uc);
#endif
