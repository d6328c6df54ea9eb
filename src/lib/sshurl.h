/*
 * ssh://[USER@]HOST[:PORT] (vmctl -H, vmctl migrate): the URL taken apart,
 * and the argv of the system's OpenSSH client running one command on that
 * host. No shell on our side; the remote side's is unavoidable (ssh hands
 * the command to the user's login shell as one string), so every word is
 * single-quoted there.
 */
#ifndef VMS_SSHURL_H
#define VMS_SSHURL_H

#include <stdbool.h>
#include <stddef.h>

struct sshurl {
	char	su_user[64];	/* "" = ssh's own choice (ssh_config, login name) */
	char	su_host[256];	/* a name or address; IPv6 without its brackets */
	char	su_port[6];	/* "" = ssh's own choice */
};

/*
 * Parse url. Refused with a message naming url: another scheme, an empty
 * host, a host or user beginning with '-' (ssh would read an option) or
 * holding whitespace, control characters, '/', quotes; a port outside 1-65535.
 */
int sshurl_parse(const char *url, struct sshurl *u, char *err, size_t len);

/*
 * The command line quoted for a POSIX shell: each word in single quotes
 * ('\'' for a quote inside). Allocated; NULL on ENOMEM.
 */
char *sshurl_quote(const char *const *words, size_t n);

/*
 * argv (NULL-terminated, allocated as one block: free() it) for
 *   ssh [-p PORT] [-l USER] -T|-t [opts...] -- HOST 'word' 'word'...
 * tty: -t (a terminal for an interactive command), else -T. opts: extra ssh
 * options (each "-o", "X=Y" pairs...), may be NULL. NULL on ENOMEM.
 */
char **sshurl_argv(const struct sshurl *u, bool tty, const char *const *opts,
    const char *const *words, size_t n);
#endif
