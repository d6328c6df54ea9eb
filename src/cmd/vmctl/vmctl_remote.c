/*
 * vmctl -H ssh://[USER@]HOST[:PORT] COMMAND...: the same command run by the
 * vmctl of another host, through the system's OpenSSH client (its config,
 * keys, known_hosts). No listener of ours on the network: the remote side
 * is sshd, then vmctl talking to its own daemon's control socket as the
 * user ssh logged in as. stdin, stdout and stderr are ssh's own, so
 * `status --json`, `console` and `import-rc -` work as they do locally.
 */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "lib/sshurl.h"
#include "cmd/vmctl/vmctl.h"
#include "cmd/vmctl/client.h"

/* The remote program: $VMCTL_REMOTE, else vmctl on the remote user's PATH. */
static const char *
remote_program(void)
{
	const char *p = getenv("VMCTL_REMOTE");

	return p && *p ? p : "vmctl";
}

const char *
vmctl_ssh_program(void)
{
	const char *p = getenv("VMCTL_SSH");

	return p && *p ? p : "ssh";
}

int
vmctl_remote(const char *url, const char *conf, const char *sock, int argc, char **argv)
{
	struct sshurl u;
	char err[512];
	const char **words;
	char **sargv;
	size_t n = 0;
	struct sigaction ign = { .sa_handler = SIG_IGN }, oint, oquit;
	pid_t pid;
	int status;
	bool tty;

	if (sshurl_parse(url, &u, err, sizeof(err)) < 0) {
		fprintf(stderr, "vmctl: -H %s\n", err);
		return VMCTL_USAGE;
	}
	if (!(words = calloc((size_t)argc + 6, sizeof(*words)))) {
		fprintf(stderr, "vmctl: out of memory\n");
		return VMCTL_FAIL;
	}
	words[n++] = remote_program();
	if (conf) {
		words[n++] = "-c";
		words[n++] = conf;
	}
	if (sock) {
		words[n++] = "-s";
		words[n++] = sock;
	}
	for (int i = 0; i < argc; i++)
		words[n++] = argv[i];
	/* A terminal on the far side only for the interactive console. */
	tty = strcmp(argv[0], "console") == 0 && isatty(STDIN_FILENO);
	sargv = sshurl_argv(&u, tty, NULL, words, n);
	free(words);
	if (!sargv) {
		fprintf(stderr, "vmctl: out of memory\n");
		return VMCTL_FAIL;
	}
	sargv[0] = (char *)vmctl_ssh_program();
	/*
	 * As a shell does for its foreground job: ^C reaches ssh (same process
	 * group), vmctl ignores it meanwhile and reports how ssh ended.
	 */
	if (sigaction(SIGINT, &ign, &oint) < 0 || sigaction(SIGQUIT, &ign, &oquit) < 0) {
		fprintf(stderr, "vmctl: sigaction: %s\n", strerror(errno));
		free(sargv);
		return VMCTL_FAIL;
	}
	pid = fork();
	if (pid < 0) {
		fprintf(stderr, "vmctl: fork: %s\n", strerror(errno));
		free(sargv);
		return VMCTL_FAIL;
	}
	if (pid == 0) {
		sigaction(SIGINT, &oint, NULL);
		sigaction(SIGQUIT, &oquit, NULL);
		execvp(sargv[0], sargv);
		fprintf(stderr, "vmctl: -H: cannot run %s: %s (package openssh-client)\n",
		    sargv[0], strerror(errno));
		_exit(255);
	}
	free(sargv);
	while (waitpid(pid, &status, 0) < 0)
		if (errno != EINTR) {
			fprintf(stderr, "vmctl: waitpid: %s\n", strerror(errno));
			return VMCTL_FAIL;
		}
	sigaction(SIGINT, &oint, NULL);
	sigaction(SIGQUIT, &oquit, NULL);
	if (WIFSIGNALED(status)) {
		fprintf(stderr, "vmctl: -H %s: ssh killed by signal %d\n", url, WTERMSIG(status));
		return VMCTL_FAIL;
	}
	/* 255: ssh's own failure (vmctl never exits 255): the host is unreachable. */
	if (WEXITSTATUS(status) == 255) {
		fprintf(stderr, "vmctl: -H %s: ssh failed (exit 255: see its message above)\n",
		    url);
		return VMCTL_NO_DAEMON;
	}
	if (WEXITSTATUS(status) == 127)
		fprintf(stderr, "vmctl: -H %s: '%s' not found on the remote host "
		    "($VMCTL_REMOTE names it)\n", url, remote_program());
	return WEXITSTATUS(status);
}
