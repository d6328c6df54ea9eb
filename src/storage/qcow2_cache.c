/* A small write-back cache of cluster-sized tables (L2 tables, refcount blocks). */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "lib/util.h"
#include "storage/io.h"
#include "storage/qcow2.h"

void
qcow2_cache_init(struct qcow2_cache *c, size_t n, uint32_t cs, int is_l2)
{
	c->c_ent = xcalloc(n, sizeof(*c->c_ent));
	c->c_n = n;
	c->c_tick = 0;
	c->c_is_l2 = is_l2;
	for (size_t i = 0; i < n; i++)
		c->c_ent[i].ce_buf = xmalloc(cs);
}

void
qcow2_cache_free(struct qcow2_cache *c)
{
	for (size_t i = 0; c->c_ent && i < c->c_n; i++)
		free(c->c_ent[i].ce_buf);
	free(c->c_ent);
	c->c_ent = NULL;
	c->c_n = 0;
}

static int
write_ent(struct qcow2 *q, struct qcow2_cache *c, struct qcow2_cache_ent *e)
{
	int r;

	if (!e->ce_dirty)
		return 0;
	/* A new L2 entry must not reach the disk before the refcount of
	 * the cluster it points to. */
	if (c->c_is_l2 && ((r = qcow2_cache_flush(q, &q->q_rbc)) < 0 ||
	    (r = qcow2_flush_rt(q)) < 0))
		return r;
	if ((r = io_pwrite(q->q_fd, e->ce_buf, q->q_cs, e->ce_off)) < 0) {
		img_seterr(q->q_img, "writing %s at 0x%llx: %s",
		    c->c_is_l2 ? "L2 table" : "refcount block",
		    (unsigned long long)e->ce_off, strerror(-r));
		return r;
	}
	e->ce_dirty = 0;
	return 0;
}

int
qcow2_cache_get(struct qcow2 *q, struct qcow2_cache *c, uint64_t off,
    int fresh, uint8_t **buf)
{
	struct qcow2_cache_ent *victim = NULL;
	int r;

	for (size_t i = 0; i < c->c_n; i++) {
		struct qcow2_cache_ent *e = &c->c_ent[i];

		if (e->ce_off == off) {
			e->ce_used = ++c->c_tick;
			if (fresh) {
				memset(e->ce_buf, 0, q->q_cs);
				e->ce_dirty = 1;
			}
			*buf = e->ce_buf;
			return 0;
		}
		if (!victim || e->ce_used < victim->ce_used)
			victim = e;
	}
	if ((r = write_ent(q, c, victim)) < 0)
		return r;
	victim->ce_off = 0;
	if (fresh) {
		memset(victim->ce_buf, 0, q->q_cs);
		victim->ce_dirty = 1;
	} else if ((r = io_pread(q->q_fd, victim->ce_buf, q->q_cs, off)) < 0) {
		img_seterr(q->q_img, "reading %s at 0x%llx: %s",
		    c->c_is_l2 ? "L2 table" : "refcount block",
		    (unsigned long long)off,
		    r == -ENODATA ? "past the end of the file" : strerror(-r));
		return r == -ENODATA ? -EIO : r;
	}
	victim->ce_off = off;
	victim->ce_used = ++c->c_tick;
	*buf = victim->ce_buf;
	return 0;
}

void
qcow2_cache_dirty(struct qcow2_cache *c, const uint8_t *buf)
{
	for (size_t i = 0; i < c->c_n; i++)
		if (c->c_ent[i].ce_buf == buf)
			c->c_ent[i].ce_dirty = 1;
}

int
qcow2_cache_flush(struct qcow2 *q, struct qcow2_cache *c)
{
	int r;

	for (size_t i = 0; i < c->c_n; i++)
		if ((r = write_ent(q, c, &c->c_ent[i])) < 0)
			return r;
	return 0;
}

void
qcow2_cache_drop(struct qcow2_cache *c, uint64_t off)
{
	for (size_t i = 0; i < c->c_n; i++) {
		if (c->c_ent[i].ce_off == off) {
			c->c_ent[i].ce_off = 0;
			c->c_ent[i].ce_dirty = 0;
			c->c_ent[i].ce_used = 0;
		}
	}
}
