/*
 * A test driver: one console (src/console/console.c) on the real loop,
 * outside the daemon, so the proxy can be tried against a real QEMU and
 * real telnet clients on its own.
 *   console_driver -u SOCKET [-p PORT] [-l ADDR] [-n NAME] [-w WHAT]
 *       [-L LOG -S SIZE -K KEEP] [-P SPOOL] [-b SCROLLBACK] [-c CLIENT_MAX]
 * Prints "port N" once listening; SIGTERM or SIGINT ends it.
 */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/epoll.h>
#include <sys/signalfd.h>
#include <unistd.h>

#include "lib/log.h"
#include "lib/util.h"
#include "console/console.h"
#include "lib/loop.h"

static void
on_signal(struct loop *lp, int fd, uint32_t events, void *arg)
{
	struct signalfd_siginfo si;

	if (read(fd, &si, sizeof(si)) == sizeof(si))
		loop_stop(lp);
}

int
main(int argc, char **argv)
{
	struct console_cfg cfg = { .cc_vm = "vm", .cc_what = "serial", .cc_port = 0,
		.cc_scrollback = 65536 };
	struct console *c;
	struct loop *lp;
	sigset_t ss;
	char err[256];
	uint64_t sz;
	int opt, sfd;

	while ((opt = getopt(argc, argv, "u:p:l:n:w:L:S:K:P:b:c:")) != -1) {
		switch (opt) {
		case 'u': cfg.cc_upstream = optarg; break;
		case 'p': cfg.cc_port = atoi(optarg); break;
		case 'l': cfg.cc_listen = optarg; break;
		case 'n': cfg.cc_vm = optarg; break;
		case 'w': cfg.cc_what = optarg; break;
		case 'L': cfg.cc_log = optarg; break;
		case 'S': if (parse_size(optarg, &sz) == 0) cfg.cc_log_size = sz; break;
		case 'K': cfg.cc_log_keep = (unsigned)atoi(optarg); break;
		case 'P': cfg.cc_spool = optarg; break;
		case 'b': if (parse_size(optarg, &sz) == 0) cfg.cc_scrollback = sz; break;
		case 'c': if (parse_size(optarg, &sz) == 0) cfg.cc_client_max = sz; break;
		default:
			fprintf(stderr, "usage: see the comment at the top of console_driver.c\n");
			return 2;
		}
	}
	if (!cfg.cc_upstream) {
		fprintf(stderr, "console_driver: -u SOCKET is required\n");
		return 2;
	}
	log_init("console_driver", LOG_TO_STDERR, LOG_INFO);
	sigemptyset(&ss);
	sigaddset(&ss, SIGTERM);
	sigaddset(&ss, SIGINT);
	sigprocmask(SIG_BLOCK, &ss, NULL);
	signal(SIGPIPE, SIG_IGN);
	lp = loop_new();
	sfd = signalfd(-1, &ss, SFD_NONBLOCK | SFD_CLOEXEC);
	if (!lp || sfd == -1 || loop_add_fd(lp, sfd, EPOLLIN, on_signal, NULL)) {
		perror("console_driver: loop");
		return 1;
	}
	c = console_new(lp, &cfg, err, sizeof(err));
	if (!c) {
		fprintf(stderr, "console_driver: %s\n", err);
		return 1;
	}
	printf("port %d\n", console_port(c));
	fflush(stdout);
	console_upstream_start(c, 0);
	loop_run(lp);
	console_free(c);
	loop_free(lp);
	close(sfd);
	return 0;
}
