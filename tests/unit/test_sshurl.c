/*
 * Unit tests for lib/sshurl.c (vmctl -H, vmctl migrate): URLs taken apart,
 * URLs refused (with the URL in the message), words quoted so that the
 * remote shell gives them back unchanged (checked with a real /bin/sh).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "lib/sshurl.h"
#include "tap.h"

static void
good(const char *url, const char *user, const char *host, const char *port)
{
	struct sshurl u;
	char err[256] = "";
	int rc = sshurl_parse(url, &u, err, sizeof(err));

	OK(rc == 0, "%s parses (%s)", url, err);
	OK_STREQ(u.su_user, user, "%s: user", url);
	OK_STREQ(u.su_host, host, "%s: host", url);
	OK_STREQ(u.su_port, port, "%s: port", url);
}

static void
bad(const char *url, const char *want)
{
	struct sshurl u;
	char err[256] = "";
	int rc = sshurl_parse(url, &u, err, sizeof(err));

	OK(rc < 0 && strstr(err, want) && strstr(err, url), "%s refused: %s", url, err);
}

/* The quoted words through a real sh: printf '%s\n' WORDS gives them back. */
static void
roundtrip(const char *const *words, size_t n)
{
	char *q = sshurl_quote(words, n), *all, buf[4096] = "", want[4096] = "";
	int p[2];
	size_t got = 0;
	ssize_t r;
	pid_t pid;

	OK(q != NULL, "quote");
	if (!q)
		return;
	if (asprintf(&all, "printf '%%s\\n' %s", q) < 0)
		return;
	if (pipe(p) < 0)
		return;
	pid = fork();
	if (pid == 0) {
		dup2(p[1], 1);
		execl("/bin/sh", "sh", "-c", all, (char *)NULL);
		_exit(127);
	}
	close(p[1]);
	while ((r = read(p[0], buf + got, sizeof(buf) - 1 - got)) > 0)
		got += (size_t)r;
	close(p[0]);
	waitpid(pid, NULL, 0);
	for (size_t i = 0; i < n; i++) {
		strcat(want, words[i]);
		strcat(want, "\n");
	}
	OK_STREQ(buf, want, "sh gives back %zu words from %s", n, q);
	free(all);
	free(q);
}

int
main(void)
{
	good("ssh://host", "", "host", "");
	good("ssh://root@host.example:2222", "root", "host.example", "2222");
	good("ssh://admin@10.0.0.2/", "admin", "10.0.0.2", "");
	good("ssh://[fd00::2]:22", "", "fd00::2", "22");
	good("ssh://u@[::1]", "u", "::1", "");
	bad("http://host", "not an ssh://");
	bad("host", "not an ssh://");
	bad("ssh://", "no host");
	bad("ssh://@host", "no user");
	bad("ssh://-oProxyCommand=x", "must not begin with '-'");
	bad("ssh://-l@host", "must not begin with '-'");
	bad("ssh://ho st", "not allowed");
	bad("ssh://a;b", "not allowed");
	bad("ssh://host:0", "port must be");
	bad("ssh://host:65536", "port must be");
	bad("ssh://host:22x", "port must be");
	bad("ssh://host:", "port must be");
	bad("ssh://[fd00::2", "without ']'");
	bad("ssh://[fd00::2]x", "text after");
	bad("ssh://[$(id)]", "not an IPv6");

	const char *w1[] = { "vmctl", "status", "--json" };
	roundtrip(w1, 3);
	const char *w2[] = { "vmctl", "monitor", "web", "info status; rm -rf /", "it's", "$(id)",
	    "`id`", "a\"b", "\\", "'", "", " spaced  " };
	roundtrip(w2, 12);

	struct sshurl u;
	char err[64];
	const char *words[] = { "vmctl", "status" };
	const char *opts[] = { "-o", "BatchMode=yes", NULL };
	sshurl_parse("ssh://root@h:2200", &u, err, sizeof(err));
	char **av = sshurl_argv(&u, false, opts, words, 2);
	const char *want[] = { "ssh", "-p", "2200", "-l", "root", "-T", "-o", "BatchMode=yes",
	    "--", "h", "'vmctl' 'status'", NULL };
	int same = av != NULL;
	for (size_t i = 0; same && want[i]; i++)
		same = av[i] && strcmp(av[i], want[i]) == 0;
	OK(same && av[11] == NULL, "argv: ssh -p -l -T opts -- host 'cmd'");
	free(av);
	sshurl_parse("ssh://h", &u, err, sizeof(err));
	av = sshurl_argv(&u, true, NULL, words, 1);
	OK(av && strcmp(av[1], "-t") == 0 && strcmp(av[2], "--") == 0 &&
	    strcmp(av[3], "h") == 0 && av[5] == NULL, "argv: -t, no port, no user");
	free(av);
	return TAP_DONE();
}
