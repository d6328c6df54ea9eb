/*
 * The configuration text before libconfuse sees it.
 *
 * Comments are replaced by blanks here (newlines kept) because libconfuse
 * 3.3's lexer counts the newline ending a comment twice, which puts every
 * line number after the first comment off. The rules follow its lexer:
 * outside quotes, `#` and `//` run to the end of the line and `/` `*` to
 * `*` `/`; "..." and '...' strings may contain backslash escapes.
 *
 * inv_text_blank_option() removes one option that libconfuse rejected as
 * unknown, so that parsing can go on and report every error in one pass.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "lib/util.h"
#include "config/inv_priv.h"

/*
 * Far more than any inventory needs; a bound so that `include = "/dev/zero"`
 * (or a huge file named by mistake) fails instead of eating all memory.
 */
#define INV_TEXT_MAX	(4 * 1024 * 1024)

static void
strip_comments(char *s, size_t n)
{
	size_t i = 0;

	while (i < n) {
		char c = s[i];

		if (c == '"' || c == '\'') {
			for (i++; i < n && s[i] != c; i++)
				if (s[i] == '\\' && i + 1 < n)
					i++;
			i++;
		} else if (c == '#' || (c == '/' && i + 1 < n && s[i + 1] == '/')) {
			for (; i < n && s[i] != '\n'; i++)
				s[i] = ' ';
		} else if (c == '/' && i + 1 < n && s[i + 1] == '*') {
			s[i++] = ' ';
			s[i++] = ' ';
			for (; i < n && !(s[i] == '*' && i + 1 < n && s[i + 1] == '/'); i++)
				if (s[i] != '\n')
					s[i] = ' ';
			for (int k = 0; k < 2 && i < n; k++)
				s[i++] = ' ';
		} else {
			i++;
		}
	}
}

char *
inv_text_read(const char *path, size_t *len, int *err, struct stat *st)
{
	size_t cap = 4096, n = 0;
	char *buf;
	int fd;

	/* O_NONBLOCK: a FIFO without a writer must not hang a reload. */
	fd = open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK);
	/* The very file read is the one whose owner and mode are judged. */
	if (fd < 0 || fcntl(fd, F_SETFL, 0) == -1 || fstat(fd, st) == -1) {
		*err = errno;
		if (fd >= 0)
			close(fd);
		return NULL;
	}
	buf = xmalloc(cap);
	for (;;) {
		ssize_t r;

		if (n > INV_TEXT_MAX) {
			*err = EFBIG;
			close(fd);
			free(buf);
			return NULL;
		}
		if (n + 2 >= cap)
			buf = xrealloc(buf, cap *= 2);
		r = read(fd, buf + n, cap - n - 2);
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0) {
			*err = errno;
			close(fd);
			free(buf);
			return NULL;
		}
		if (r == 0)
			break;
		n += (size_t)r;
	}
	close(fd);
	if (memchr(buf, '\0', n)) {
		*err = EILSEQ;
		free(buf);
		return NULL;
	}
	/* A final newline: fmemopen() refuses empty buffers. */
	buf[n++] = '\n';
	buf[n] = '\0';
	strip_comments(buf, n);
	*len = n;
	return buf;
}

/* Length of the token at s (a word or a quoted string), 0 for a symbol. */
static size_t
token_len(const char *s)
{
	size_t i = 0;

	if (*s == '"' || *s == '\'') {
		for (i = 1; s[i] && s[i] != *s; i++)
			if (s[i] == '\\' && s[i + 1])
				i++;
		return s[i] ? i + 1 : i;
	}
	while (s[i] && !strchr(" \t\r\n={}()+,\"'", s[i]))
		i++;
	return i;
}

static size_t
skip_space(const char *s, size_t i)
{
	while (s[i] == ' ' || s[i] == '\t' || s[i] == '\r' || s[i] == '\n')
		i++;
	return i;
}

/* Index just past the brace (or paren) group starting at s[i]. */
static size_t
skip_group(const char *s, size_t i)
{
	char open = s[i], close = open == '(' ? ')' : '}';
	int depth = 0;

	while (s[i]) {
		size_t t = token_len(s + i);

		if (t) {
			i += t;
			continue;
		}
		if (s[i] == open)
			depth++;
		else if (s[i] == close && --depth == 0)
			return i + 1;
		i++;
	}
	return i;
}

static void
blank(char *s, size_t from, size_t to)
{
	for (size_t i = from; i < to; i++)
		if (s[i] != '\n')
			s[i] = ' ';
}

/*
 * Blank the first option called name that starts on line: the name and
 * what belongs to it (= value, = { list }, { section }, title { section }).
 * Returns false when it is not there, so the caller stops retrying.
 */
bool
inv_text_blank_option(char *buf, int line, const char *name)
{
	size_t i = 0, nlen = strlen(name);
	int l = 1;

	while (buf[i] && l < line)
		if (buf[i++] == '\n')
			l++;
	while (buf[i] && buf[i] != '\n') {
		size_t t = token_len(buf + i), start = i, j;
		bool match;

		if (!t) {
			i++;
			continue;
		}
		match = (t == nlen && memcmp(buf + i, name, nlen) == 0) ||
		    (t == nlen + 2 && buf[i] == '"' && memcmp(buf + i + 1, name, nlen) == 0);
		i += t;
		if (!match)
			continue;
		j = skip_space(buf, i);
		if (buf[j] == '+' && buf[j + 1] == '=')
			j++;
		if (buf[j] == '=') {
			j = skip_space(buf, j + 1);
			j = buf[j] == '{' ? skip_group(buf, j) : j + token_len(buf + j);
		} else if (buf[j] == '{' || buf[j] == '(') {
			j = skip_group(buf, j);
		} else if (token_len(buf + j)) {
			j = skip_space(buf, j + token_len(buf + j));
			if (buf[j] == '{')
				j = skip_group(buf, j);
		}
		blank(buf, start, j);
		return true;
	}
	return false;
}

/*
 * The line of the first `{` never closed, or 0. libconfuse 3.3 accepts a
 * file that ends inside a section, silently closing it.
 */
int
inv_text_unclosed(const char *buf)
{
	int line = 1, stack[64], depth = 0;

	for (size_t i = 0; buf[i];) {
		size_t t = token_len(buf + i);

		for (size_t k = 0; k < t; k++)
			line += buf[i + k] == '\n';
		if (t) {
			i += t;
			continue;
		}
		if (buf[i] == '{' && depth < 64)
			stack[depth] = line;
		if (buf[i] == '{')
			depth++;
		else if (buf[i] == '}' && depth > 0)
			depth--;
		else if (buf[i] == '\n')
			line++;
		i++;
	}
	return depth > 0 ? stack[0] : 0;
}
