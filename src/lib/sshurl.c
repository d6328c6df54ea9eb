/*
 * ssh://[USER@]HOST[:PORT] and the ssh command line for it (sshurl.h).
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lib/sshurl.h"

/* A user or host name ssh takes as one argument and no shell can misread. */
static int
word_ok(const char *w, const char *what, const char *url, char *err, size_t len)
{
	if (*w == '\0') {
		snprintf(err, len, "%s: no %s", url, what);
		return -EINVAL;
	}
	if (*w == '-') {
		snprintf(err, len, "%s: a %s must not begin with '-'", url, what);
		return -EINVAL;
	}
	for (const unsigned char *p = (const unsigned char *)w; *p; p++)
		if (*p <= ' ' || *p == 0x7f || strchr("/'\"\\`$;&|<>()*?[]{}!#~,", *p)) {
			snprintf(err, len, "%s: character '%c' not allowed in a %s", url,
			    *p > ' ' && *p != 0x7f ? *p : '?', what);
			return -EINVAL;
		}
	return 0;
}

static int
copy(char *dst, size_t size, const char *src, size_t n, const char *what, const char *url,
    char *err, size_t len)
{
	if (n >= size) {
		snprintf(err, len, "%s: %s longer than %zu bytes", url, what, size - 1);
		return -EINVAL;
	}
	memcpy(dst, src, n);
	dst[n] = '\0';
	return 0;
}

int
sshurl_parse(const char *url, struct sshurl *u, char *err, size_t len)
{
	const char *p, *at, *end, *hs, *he, *port = NULL;
	int rc;

	memset(u, 0, sizeof(*u));
	if (strncmp(url, "ssh://", 6) != 0) {
		snprintf(err, len, "%s: not an ssh://[USER@]HOST[:PORT] URL", url);
		return -EINVAL;
	}
	p = url + 6;
	end = p + strlen(p);
	if (end > p && end[-1] == '/')		/* ssh://host/ as libvirt writes it */
		end--;
	at = memchr(p, '@', (size_t)(end - p));
	if (at) {
		if ((rc = copy(u->su_user, sizeof(u->su_user), p, (size_t)(at - p), "user", url,
		    err, len)) < 0)
			return rc;
		if ((rc = word_ok(u->su_user, "user", url, err, len)) < 0)
			return rc;
		p = at + 1;
	}
	if (*p == '[') {		/* [v6addr]:port */
		hs = p + 1;
		he = memchr(hs, ']', (size_t)(end - hs));
		if (!he) {
			snprintf(err, len, "%s: '[' without ']'", url);
			return -EINVAL;
		}
		if (he + 1 < end) {
			if (he[1] != ':') {
				snprintf(err, len, "%s: text after ']'", url);
				return -EINVAL;
			}
			port = he + 2;
		}
	} else {
		hs = p;
		he = memchr(hs, ':', (size_t)(end - hs));
		if (he)
			port = he + 1;
		else
			he = end;
	}
	if ((rc = copy(u->su_host, sizeof(u->su_host), hs, (size_t)(he - hs), "host", url, err,
	    len)) < 0)
		return rc;
	if (*p == '[') {
		for (const char *c = u->su_host; *c; c++)
			if (!strchr("0123456789abcdefABCDEF:.%", *c)) {
				snprintf(err, len, "%s: '%s' is not an IPv6 address", url, u->su_host);
				return -EINVAL;
			}
		if (!*u->su_host) {
			snprintf(err, len, "%s: no host", url);
			return -EINVAL;
		}
	} else if ((rc = word_ok(u->su_host, "host", url, err, len)) < 0)
		return rc;
	if (port) {
		unsigned long v = 0;
		size_t n = (size_t)(end - port);

		if (n == 0 || n > 5 || strspn(port, "0123456789") < n) {
			snprintf(err, len, "%s: port must be a number 1-65535", url);
			return -EINVAL;
		}
		for (size_t i = 0; i < n; i++)
			v = v * 10 + (unsigned long)(port[i] - '0');
		if (v < 1 || v > 65535) {
			snprintf(err, len, "%s: port must be a number 1-65535", url);
			return -EINVAL;
		}
		snprintf(u->su_port, sizeof(u->su_port), "%lu", v);
	}
	return 0;
}

char *
sshurl_quote(const char *const *words, size_t n)
{
	size_t need = 1;
	char *s, *o;

	for (size_t i = 0; i < n; i++) {
		need += 3;			/* two quotes and a space */
		for (const char *c = words[i]; *c; c++)
			need += *c == '\'' ? 4 : 1;
	}
	if (!(s = malloc(need)))
		return NULL;
	o = s;
	for (size_t i = 0; i < n; i++) {
		if (i)
			*o++ = ' ';
		*o++ = '\'';
		for (const char *c = words[i]; *c; c++) {
			if (*c == '\'') {
				memcpy(o, "'\\''", 4);
				o += 4;
			} else
				*o++ = *c;
		}
		*o++ = '\'';
	}
	*o = '\0';
	return s;
}

char **
sshurl_argv(const struct sshurl *u, bool tty, const char *const *opts,
    const char *const *words, size_t n)
{
	const char *head[16];
	size_t nh = 0, nopts = 0, strings = 0;
	char *cmd, **argv, *o;

	if (!(cmd = sshurl_quote(words, n)))
		return NULL;
	for (; opts && opts[nopts]; nopts++)
		;
	head[nh++] = "ssh";
	if (*u->su_port) {
		head[nh++] = "-p";
		head[nh++] = u->su_port;
	}
	if (*u->su_user) {
		head[nh++] = "-l";
		head[nh++] = u->su_user;
	}
	head[nh++] = tty ? "-t" : "-T";
	/* head, opts, "--", host, the command, NULL */
	for (size_t i = 0; i < nh; i++)
		strings += strlen(head[i]) + 1;
	for (size_t i = 0; i < nopts; i++)
		strings += strlen(opts[i]) + 1;
	strings += 3 + strlen(u->su_host) + 1 + strlen(cmd) + 1;
	argv = malloc((nh + nopts + 4) * sizeof(char *) + strings);
	if (!argv) {
		free(cmd);
		return NULL;
	}
	o = (char *)(argv + nh + nopts + 4);
	size_t k = 0;
#define PUT(s) do { size_t l_ = strlen(s) + 1; memcpy(o, (s), l_); argv[k++] = o; o += l_; } while (0)
	for (size_t i = 0; i < nh; i++)
		PUT(head[i]);
	for (size_t i = 0; i < nopts; i++)
		PUT(opts[i]);
	PUT("--");
	PUT(u->su_host);
	PUT(cmd);
#undef PUT
	argv[k] = NULL;
	free(cmd);
	return argv;
}
