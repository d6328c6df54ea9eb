/*
 * The classic Arch rc-script's /etc/conf.d/qemu.conf read as text: bash
 * variable assignments (scalars and `NAME=( ... )` arrays), with bash's
 * quoting ('...', "...", $'...', backslashes, `\` line continuations),
 * comments, and $NAME / ${NAME} taken from assignments earlier in the same
 * file. Nothing is ever run: a command substitution or an expansion with
 * an operator is an error, any other statement a warning.
 *
 * Every byte of a value remembers its line, so that what is made of it
 * later (a QEMU option in the middle of a continued string) can be
 * reported at FILE:LINE.
 */
#ifndef VMS_RCWORD_H
#define VMS_RCWORD_H
#include <stdbool.h>
#include <stddef.h>

#include "lib/diag.h"

struct strv;

/* A value: its bytes and the source line of each. */
struct rcw_word {
	char	*w_s;		/* NUL-terminated */
	int	*w_ln;		/* w_len entries */
	size_t	 w_len;
};

struct rcw_var {
	char		*rv_name;
	int		 rv_line;	/* where it was (last) assigned */
	bool		 rv_array;
	struct rcw_word	*rv_words;	/* a scalar has exactly one */
	size_t		 rv_n;
};

struct rcw_file {
	const char	*rf_name;	/* for messages */
	struct rcw_var	*rf_vars;	/* one per name, in order of first assignment */
	size_t		 rf_n, rf_cap;
};

/*
 * Parse text (len bytes, any content) into f. Errors and warnings go to d
 * as FILE:LINE (file names it). Returns 0, or -EINVAL after an error: the
 * first error stops the parse.
 */
int rcw_parse(const char *text, size_t len, const char *file, struct rcw_file *f,
    struct diag *d);
const struct rcw_var *rcw_find(const struct rcw_file *f, const char *name);
void rcw_free(struct rcw_file *f);
/*
 * What the rc-script's unquoted ${qemu_VM} does to a value: split at
 * blanks and newlines, quotes left as they are. Each word is pushed on
 * words and its first byte's line on *lines (grown; caller frees).
 */
void rcw_ifs_split(const struct rcw_word *w, struct strv *words, int **lines);
#endif
