/*
 * A reader of bash assignments (rcword.h). It follows bash's own rules for
 * the parts it knows (bash(1), QUOTING and Parameter Expansion) and refuses
 * what it cannot know without running the file: $(...), `...`, $((...)),
 * ${NAME:-...} and friends, positional and special parameters.
 */
#include <ctype.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "lib/util.h"
#include "config/rcword.h"

struct rcp {
	const char	*s;
	size_t		 n, i;
	int		 line;
	const char	*file;
	struct diag	*d;
	struct rcw_file	*f;
	int		 err;
};

/* A value being built. */
struct wbuf {
	char	*s;
	int	*ln;
	size_t	 n, cap;
};

static void
wb_put(struct wbuf *b, char c, int line)
{
	if (b->n + 2 > b->cap) {
		b->cap = b->cap ? 2 * b->cap : 64;
		b->s = xrealloc(b->s, b->cap);
		b->ln = xrealloc(b->ln, b->cap * sizeof(int));
	}
	b->s[b->n] = c;
	b->ln[b->n++] = line;
	b->s[b->n] = '\0';
}

static struct rcw_word
wb_take(struct wbuf *b)
{
	struct rcw_word w;

	if (!b->s) {
		b->s = xstrdup("");
		b->ln = xmalloc(sizeof(int));
	}
	w.w_s = b->s;
	w.w_ln = b->ln;
	w.w_len = b->n;
	memset(b, 0, sizeof(*b));
	return w;
}

static void
word_free(struct rcw_word *w)
{
	free(w->w_s);
	free(w->w_ln);
}

static void
fail(struct rcp *p, int line, const char *fmt, const char *arg)
{
	if (p->err)
		return;
	diag_add(p->d, DIAG_ERROR, p->file, line, NULL, DC_SYNTAX, fmt, arg);
	p->err = -EINVAL;
}

static int
cur(const struct rcp *p)
{
	return p->i < p->n ? (unsigned char)p->s[p->i] : -1;
}

static int
peek(const struct rcp *p, size_t k)
{
	return p->i + k < p->n ? (unsigned char)p->s[p->i + k] : -1;
}

static int
take(struct rcp *p)
{
	int c = cur(p);

	if (c < 0)
		return c;
	p->i++;
	if (c == '\n')
		p->line++;
	return c;
}

static bool
is_name_start(int c)
{
	return c == '_' || (c >= 0 && c < 128 && isalpha(c));
}

static bool
is_name_char(int c)
{
	return c == '_' || (c >= 0 && c < 128 && isalnum(c));
}

/* Blanks and `\`-newline continuations. */
static void
skip_blank(struct rcp *p)
{
	for (;;) {
		if (cur(p) == ' ' || cur(p) == '\t' || cur(p) == '\r')
			take(p);
		else if (cur(p) == '\\' && peek(p, 1) == '\n')
			take(p), take(p);
		else
			return;
	}
}

static bool
ends_word(int c)
{
	return c < 0 || strchr(" \t\r\n;&|<>()", c);
}

static const struct rcw_var *
find(const struct rcw_file *f, const char *name, size_t len)
{
	for (size_t i = 0; i < f->rf_n; i++)
		if (strlen(f->rf_vars[i].rv_name) == len &&
		    strncmp(f->rf_vars[i].rv_name, name, len) == 0)
			return &f->rf_vars[i];
	return NULL;
}

/* After a `$`: $NAME or ${NAME} from earlier assignments. */
static void
expand(struct rcp *p, struct wbuf *b)
{
	int line = p->line, braced = cur(p) == '{';
	const struct rcw_var *v;
	size_t start, len;
	char name[80];

	if (cur(p) == '(') {
		fail(p, line, "$(...) would run a command; the file is read, never run%s", "");
		return;
	}
	if (!braced && !is_name_start(cur(p))) {
		if (cur(p) >= 0 && !ends_word(cur(p)) && !strchr("\"'", cur(p))) {
			char what[3] = { '$', (char)cur(p), 0 };
			fail(p, line, "%s cannot be known without running the file", what);
			return;
		}
		wb_put(b, '$', line);	/* a lone $ is itself */
		return;
	}
	if (braced)
		take(p);
	start = p->i;
	while (is_name_char(cur(p)))
		take(p);
	len = p->i - start;
	if (braced && (cur(p) != '}' || len == 0)) {
		fail(p, line, "${...} with an operator cannot be evaluated without running "
		    "the file%s", "");
		return;
	}
	if (braced)
		take(p);
	v = find(p->f, p->s + start, len);
	if (!v) {
		snprintf(name, sizeof(name), "%.*s", (int)(len < 64 ? len : 64), p->s + start);
		diag_add(p->d, DIAG_WARNING, p->file, line, NULL, DC_UNKNOWN,
		    "$%s is not set in this file (the environment is not read): taken as empty",
		    name);
		return;
	}
	/* An array's $NAME is its first element, as in bash. */
	if (v->rv_n)
		for (size_t k = 0; k < v->rv_words[0].w_len; k++)
			wb_put(b, v->rv_words[0].w_s[k], line);
}

static int
hexval(int c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	c = tolower(c);
	return c >= 'a' && c <= 'f' ? c - 'a' + 10 : -1;
}

/* $'...': bash's ANSI-C quoting, the common escapes. */
static void
ansi_c(struct rcp *p, struct wbuf *b, int open)
{
	static const char from[] = "ntrabefv\\'\"?", to[] = "\n\t\r\a\b\033\f\v\\'\"?";

	for (;;) {
		int c = take(p), line = p->line;
		const char *k;

		if (c < 0) {
			fail(p, open, "unterminated $' quote (opened here)%s", "");
			return;
		}
		if (c == '\'')
			return;
		if (c != '\\') {
			wb_put(b, (char)c, line);
			continue;
		}
		c = take(p);
		if (c == 'x' && hexval(cur(p)) >= 0) {
			int v = hexval(take(p));
			if (hexval(cur(p)) >= 0)
				v = v * 16 + hexval(take(p));
			if (v)
				wb_put(b, (char)v, line);
		} else if (c >= 0 && (k = strchr(from, c)) != NULL) {
			wb_put(b, to[k - from], line);
		} else if (c >= 0) {
			wb_put(b, '\\', line);
			wb_put(b, (char)c, line);
		}
	}
}

static void
dquote(struct rcp *p, struct wbuf *b, int open)
{
	for (;;) {
		int line = p->line, c = take(p);

		if (c < 0) {
			fail(p, open, "unterminated \" quote (opened here)%s", "");
			return;
		}
		if (c == '"')
			return;
		if (c == '\\' && cur(p) == '\n') {
			take(p);
		} else if (c == '\\' && cur(p) >= 0 && strchr("$`\"\\", cur(p))) {
			wb_put(b, (char)take(p), line);
		} else if (c == '$') {
			expand(p, b);
		} else if (c == '`') {
			fail(p, line, "`...` would run a command; the file is read, never run%s", "");
		} else {
			wb_put(b, (char)c, line);
		}
		if (p->err)
			return;
	}
}

/* One shell word, quotes removed, at the cursor (which is not a blank). */
static void
read_word(struct rcp *p, struct wbuf *b)
{
	while (!p->err && !ends_word(cur(p))) {
		int line = p->line, c = take(p);

		if (c == '\\') {
			if (cur(p) == '\n')
				take(p);	/* continuation */
			else if (cur(p) >= 0)
				wb_put(b, (char)take(p), line);
		} else if (c == '\'') {
			for (;;) {
				int q = take(p);
				if (q < 0) {
					fail(p, line, "unterminated ' quote (opened here)%s", "");
					break;
				}
				if (q == '\'')
					break;
				wb_put(b, (char)q, p->line - (q == '\n'));
			}
		} else if (c == '"') {
			dquote(p, b, line);
		} else if (c == '$' && cur(p) == '\'') {
			take(p);
			ansi_c(p, b, line);
		} else if (c == '$' && cur(p) == '"') {
			take(p);
			dquote(p, b, line);
		} else if (c == '$') {
			expand(p, b);
		} else if (c == '`') {
			fail(p, line, "`...` would run a command; the file is read, never run%s", "");
		} else {
			wb_put(b, (char)c, line);
		}
	}
}

static struct rcw_var *
var_slot(struct rcp *p, const char *name, size_t len)
{
	struct rcw_var *v = (struct rcw_var *)find(p->f, name, len);

	if (v)
		return v;
	xgrow(&p->f->rf_vars, &p->f->rf_cap, p->f->rf_n + 1, sizeof(*v));
	v = &p->f->rf_vars[p->f->rf_n++];
	memset(v, 0, sizeof(*v));
	v->rv_name = xstrndup(name, len);
	return v;
}

static void
var_clear(struct rcw_var *v)
{
	for (size_t k = 0; k < v->rv_n; k++)
		word_free(&v->rv_words[k]);
	free(v->rv_words);
	v->rv_words = NULL;
	v->rv_n = 0;
}

static void
var_push(struct rcw_var *v, struct rcw_word w)
{
	v->rv_words = xrealloc(v->rv_words, (v->rv_n + 1) * sizeof(w));
	v->rv_words[v->rv_n++] = w;
}

/* NAME=( word ... ), the cursor after `(`; newlines and comments inside. */
static void
read_array(struct rcp *p, struct rcw_var *v, int open)
{
	for (;;) {
		struct wbuf b = { 0 };

		skip_blank(p);
		if (cur(p) == '\n') {
			take(p);
			continue;
		}
		if (cur(p) == '#') {
			while (cur(p) >= 0 && cur(p) != '\n')
				take(p);
			continue;
		}
		if (cur(p) == ')') {
			take(p);
			return;
		}
		if (cur(p) < 0) {
			fail(p, open, "unterminated ( array (opened here)%s", "");
			return;
		}
		if (ends_word(cur(p))) {
			char what[2] = { (char)cur(p), 0 };
			fail(p, p->line, "unexpected '%s' in an array", what);
			return;
		}
		read_word(p, &b);
		if (p->err) {
			free(b.s);
			free(b.ln);
			return;
		}
		var_push(v, wb_take(&b));
	}
}

/* The length of NAME= or NAME+= at the cursor (0: not an assignment). */
static size_t
assignment_len(const struct rcp *p, size_t *name_len, bool *append)
{
	size_t k = 0;

	if (!is_name_start(peek(p, 0)))
		return 0;
	while (is_name_char(peek(p, k)))
		k++;
	*name_len = k;
	*append = peek(p, k) == '+';
	if (*append)
		k++;
	return peek(p, k) == '=' ? k + 1 : 0;
}

static void
assign(struct rcp *p, size_t name_len, bool append, size_t skip)
{
	struct rcw_var *v = var_slot(p, p->s + p->i, name_len);
	int line = p->line;

	for (size_t k = 0; k < skip; k++)
		take(p);
	if (cur(p) == '(') {
		/* Read into a fresh array first: A=($A x) sees the old A. */
		struct rcw_var nv = { 0 };

		take(p);
		read_array(p, &nv, line);
		if (!append)
			var_clear(v);
		for (size_t k = 0; k < nv.rv_n; k++)
			var_push(v, nv.rv_words[k]);
		free(nv.rv_words);
		v->rv_array = true;
	} else {
		struct wbuf b = { 0 };

		if (append && v->rv_n) {
			struct rcw_word *old = &v->rv_words[0];
			for (size_t k = 0; k < old->w_len; k++)
				wb_put(&b, old->w_s[k], old->w_ln[k]);
		}
		read_word(p, &b);
		/* NAME=x sets element 0 of an array and keeps the rest, as bash does. */
		if (v->rv_n)
			word_free(&v->rv_words[0]);
		else
			var_push(v, (struct rcw_word){ 0 });
		v->rv_words[0] = wb_take(&b);
	}
	v->rv_line = line;
}

/* Anything that is not an assignment: skipped to its end, quotes respected. */
static void
skip_statement(struct rcp *p)
{
	int line = p->line;

	diag_add(p->d, DIAG_WARNING, p->file, line, NULL, DC_UNKNOWN,
	    "not a variable assignment: ignored (the file is read, never run)");
	while (!p->err && cur(p) >= 0 && cur(p) != '\n' && cur(p) != ';') {
		struct wbuf b = { 0 };

		if (ends_word(cur(p)) || cur(p) == '$' || cur(p) == '`') {
			/* Operators, and what would run: only their quotes matter. */
			int c = take(p), q = 0, open = p->line;
			if (c == '`' || (c == '$' && cur(p) == '('))
				q = c == '`' ? '`' : ')';
			while (q && cur(p) >= 0 && cur(p) != q)
				take(p);
			if (q && take(p) < 0)
				fail(p, open, "unterminated %s (opened here)", q == '`' ? "`" : "$(");
			continue;
		}
		read_word(p, &b);
		free(b.s);
		free(b.ln);
	}
}

static bool
keyword(struct rcp *p)
{
	static const char *const kw[] = { "export", "declare", "typeset", "readonly",
	    "local", NULL };

	for (size_t k = 0; kw[k]; k++) {
		size_t n = strlen(kw[k]);
		if (p->n - p->i > n && strncmp(p->s + p->i, kw[k], n) == 0 &&
		    (p->s[p->i + n] == ' ' || p->s[p->i + n] == '\t'))
			return p->i += n, true;
	}
	return false;
}

static void
statement(struct rcp *p)
{
	size_t name_len, skip;
	bool append, kw = keyword(p);

	if (kw) {
		skip_blank(p);
		while (cur(p) == '-') {	/* declare -a, export -n ... */
			while (!ends_word(cur(p)))
				take(p);
			skip_blank(p);
		}
	}
	while (!p->err) {
		if ((skip = assignment_len(p, &name_len, &append)) == 0 && kw &&
		    is_name_start(cur(p))) {
			/* `export NAME`: nothing to assign. */
			while (is_name_char(cur(p)))
				take(p);
			skip_blank(p);
			if (cur(p) < 0 || cur(p) == '\n' || cur(p) == ';' || cur(p) == '#')
				return;
			continue;
		}
		if (skip == 0) {
			skip_statement(p);
			return;
		}
		assign(p, name_len, append, skip);
		skip_blank(p);
		if (cur(p) < 0 || cur(p) == '\n' || cur(p) == ';' || cur(p) == '#')
			return;
	}
}

static size_t
count_lines(const char *s, size_t n)
{
	size_t k = 0;

	for (size_t i = 0; i < n; i++)
		k += s[i] == '\n';
	return k;
}

int
rcw_parse(const char *text, size_t len, const char *file, struct rcw_file *f,
    struct diag *d)
{
	struct rcp p = { text, len, 0, 1, file, d, f, 0 };

	f->rf_name = file;
	if (memchr(text, '\0', len)) {
		/* A binary file named by mistake: bash would stop reading there. */
		fail(&p, 1 + (int)count_lines(text, (size_t)((const char *)memchr(text, '\0', len) - text)),
		    "a NUL byte: not a text file%s", "");
		return p.err;
	}
	while (!p.err) {
		skip_blank(&p);
		if (cur(&p) < 0)
			break;
		if (cur(&p) == '#') {
			while (cur(&p) >= 0 && cur(&p) != '\n')
				take(&p);
		} else if (cur(&p) == '\n' || cur(&p) == ';') {
			take(&p);
		} else {
			statement(&p);
		}
	}
	return p.err;
}

const struct rcw_var *
rcw_find(const struct rcw_file *f, const char *name)
{
	return find(f, name, strlen(name));
}

void
rcw_free(struct rcw_file *f)
{
	for (size_t i = 0; i < f->rf_n; i++) {
		var_clear(&f->rf_vars[i]);
		free(f->rf_vars[i].rv_name);
	}
	free(f->rf_vars);
	memset(f, 0, sizeof(*f));
}

void
rcw_ifs_split(const struct rcw_word *w, struct strv *words, int **lines)
{
	size_t i = 0;

	while (i < w->w_len) {
		size_t start;

		while (i < w->w_len && strchr(" \t\n", w->w_s[i]))
			i++;
		if (i >= w->w_len)
			break;
		start = i;
		while (i < w->w_len && !strchr(" \t\n", w->w_s[i]))
			i++;
		*lines = xrealloc(*lines, (words->sv_n + 1) * sizeof(int));
		(*lines)[words->sv_n] = w->w_ln[start];
		{
			char *s = xstrndup(w->w_s + start, i - start);
			strv_push(words, s);
			free(s);
		}
	}
}
