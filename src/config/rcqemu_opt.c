/*
 * vmctl import-rc: QEMU option strings split QEMU's way and what every
 * option handler shares (rcq_priv.h).
 */
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config/rc_priv.h"
#include "config/rcq_priv.h"

void
rcq_kv_split(const char *s, const char *implied, struct kv *kv)
{
	char *buf = xmalloc(strlen(s) + 1);

	kv->n = 0;
	while (kv->n < KV_MAX - 1) {
		size_t n = 0;
		char *eq;

		for (; *s && !(*s == ',' && s[1] != ','); s++) {
			buf[n++] = *s;
			if (*s == ',')
				s++;	/* ",," is one literal comma */
		}
		buf[n] = '\0';
		eq = strchr(buf, '=');
		if (kv->n == 0 && implied && !eq) {
			kv->k[0] = xstrdup(implied);
			kv->v[0] = xstrdup(buf);
		} else if (eq) {
			kv->k[kv->n] = xstrndup(buf, (size_t)(eq - buf));
			kv->v[kv->n] = xstrdup(eq + 1);
		} else {
			kv->k[kv->n] = xstrdup(buf);	/* a flag: "server" */
			kv->v[kv->n] = NULL;
		}
		kv->n++;
		if (!*s)
			break;
		s++;
	}
	if (*s) {
		/* More than anyone writes: a key no handler takes, so it is reported. */
		kv->k[kv->n] = xstrdup("(the rest)");
		kv->v[kv->n++] = xstrdup(s);
	}
	free(buf);
}

void
rcq_kv_free(struct kv *kv)
{
	for (size_t i = 0; i < kv->n; i++) {
		free(kv->k[i]);
		free(kv->v[i]);
	}
	kv->n = 0;
}

/* The value of key, marking it used; NULL when absent. */
const char *
rcq_kv_get(struct kv *kv, const char *key)
{
	for (size_t i = 0; i < kv->n; i++)
		if (kv->k[i][0] && strcmp(kv->k[i], key) == 0) {
			kv->k[i][0] = '\0';
			return kv->v[i] ? kv->v[i] : "";
		}
	return NULL;
}

/* The keys not used, "a, b", or NULL. */
char *
rcq_kv_rest(const struct kv *kv)
{
	char *r = NULL;

	for (size_t i = 0; i < kv->n; i++) {
		char *t;
		if (!kv->k[i][0])
			continue;
		t = xasprintf("%s%s%s", r ? r : "", r ? ", " : "", kv->k[i]);
		free(r);
		r = t;
	}
	return r;
}

bool
rcq_kv_unused(const struct kv *kv)
{
	for (size_t i = 0; i < kv->n; i++)
		if (kv->k[i][0])
			return true;
	return false;
}


void
rcq_to_extra(struct rq *q, const char *why)
{
	strv_push(&q->vm->v_extra, q->opt);
	if (q->arg)
		strv_push(&q->vm->v_extra, q->arg);
	rci_warn(q->vm, q->line, "%s%s%s: %s: kept in extra_args", q->opt, q->arg ? " " : "",
	    q->arg ? q->arg : "", why);
}

void
rcq_dropped(struct rq *q, const char *why)
{
	rci_warn(q->vm, q->line, "%s%s%s: dropped: %s", q->opt, q->arg ? " " : "",
	    q->arg ? q->arg : "", why);
}

/* Keys of kv nobody used: a warning naming them. */
void
rcq_rest_dropped(struct rq *q, const struct kv *kv)
{
	char *r = rcq_kv_rest(kv);

	if (r)
		rci_warn(q->vm, q->line, "%s %s: %s not translated: dropped", q->opt, q->arg, r);
	free(r);
}

bool
rcq_is_word(const char *s)
{
	if (!s || !*s)
		return false;
	for (; *s; s++)
		if (!isalnum((unsigned char)*s) && !strchr("._+-", *s))
			return false;
	return true;
}

bool
rcq_is_uint(const char *s)
{
	return s && *s && strspn(s, "0123456789") == strlen(s) && strlen(s) < 9;
}

int
rcq_parse_onoff(const char *s)
{
	static const char *const on[] = { "on", "yes", "true", "1", "", NULL };
	static const char *const off[] = { "off", "no", "false", "0", NULL };

	for (size_t i = 0; on[i]; i++)
		if (strcmp(s, on[i]) == 0)
			return 1;
	for (size_t i = 0; off[i]; i++)
		if (strcmp(s, off[i]) == 0)
			return 0;
	return RCI_UNSET;
}

bool
rcq_in_list(const char *s, const char *const *l)
{
	for (; *l; l++)
		if (strcmp(s, *l) == 0)
			return true;
	return false;
}
