/*
 * The qcow2 snapshot table: read and validated when an image is opened,
 * encoded when a new one is written (spec: "Snapshots").
 *
 * The table is untrusted input like the rest of the file: every entry must
 * lie inside the file, its extra data be at most QEMU's 1 KiB (and at least
 * the 16 bytes version 3 requires), its L1 table be aligned, bounded and
 * inside the file, IDs be unique, and no two of the header, the active L1
 * table, the refcount table, the snapshot table and the snapshots' L1 tables
 * share a cluster. Anything else is refused with a message naming it.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "lib/util.h"
#include "storage/io.h"
#include "storage/qcow2_snapshot.h"

#define ERR(q, ...)	img_seterr((q)->q_img, __VA_ARGS__)

void
qcow2_sn_free(struct qcow2_snap *v, uint32_t n)
{
	for (uint32_t i = 0; v && i < n; i++) {
		free(v[i].sn_id);
		free(v[i].sn_name);
		free(v[i].sn_unknown);
	}
	free(v);
}

struct qcow2_snap *
qcow2_sn_dup(const struct qcow2_snap *v, uint32_t n)
{
	struct qcow2_snap *d = xcalloc(n ? n : 1, sizeof(*d));

	for (uint32_t i = 0; i < n; i++) {
		d[i] = v[i];
		d[i].sn_id = xstrdup(v[i].sn_id);
		d[i].sn_name = xstrdup(v[i].sn_name);
		if (v[i].sn_unknown_len) {
			d[i].sn_unknown = xmalloc(v[i].sn_unknown_len);
			memcpy(d[i].sn_unknown, v[i].sn_unknown, v[i].sn_unknown_len);
		}
	}
	return d;
}

/* One entry at pos; *len is its size with padding. */
static int
read_entry(struct qcow2 *q, uint32_t i, uint64_t pos, struct qcow2_snap *sn,
    uint64_t *len)
{
	uint8_t h[QCOW2_SN_HDR_LEN], *var;
	uint32_t extra, idlen, namelen;
	uint64_t n;
	int r;

	if (pos > q->q_file_size || q->q_file_size - pos < QCOW2_SN_HDR_LEN) {
		ERR(q, "snapshot table entry %u (at 0x%llx) lies past the end of the "
		    "file", i, ULL(pos));
		return -EINVAL;
	}
	if ((r = io_pread(q->q_fd, h, sizeof(h), pos)) < 0) {
		ERR(q, "reading snapshot table entry %u: %s", i, strerror(-r));
		return r;
	}
	sn->sn_l1_off = qcow2_be64(h);
	sn->sn_l1_size = qcow2_be32(h + 8);
	idlen = (uint32_t)h[12] << 8 | h[13];
	namelen = (uint32_t)h[14] << 8 | h[15];
	sn->sn_date_sec = qcow2_be32(h + 16);
	sn->sn_date_nsec = qcow2_be32(h + 20);
	sn->sn_vm_clock = qcow2_be64(h + 24);
	sn->sn_vm_state = qcow2_be32(h + 32);
	extra = qcow2_be32(h + 36);
	if (extra > QCOW2_SN_MAX_EXTRA) {
		ERR(q, "snapshot table entry %u: extra_data_size %u exceeds %d bytes",
		    i, extra, QCOW2_SN_MAX_EXTRA);
		return -EINVAL;
	}
	if (q->q_version >= 3 && extra < 16) {
		ERR(q, "snapshot table entry %u: extra_data_size %u is below the 16 "
		    "bytes version 3 requires", i, extra);
		return -EINVAL;
	}
	n = (uint64_t)extra + idlen + namelen;
	if (q->q_file_size - pos - QCOW2_SN_HDR_LEN < n) {
		ERR(q, "snapshot table entry %u (%llu bytes at 0x%llx) runs past the "
		    "end of the file", i, ULL(QCOW2_SN_HDR_LEN + n), ULL(pos));
		return -EINVAL;
	}
	var = xmalloc(n ? n : 1);
	if (n && (r = io_pread(q->q_fd, var, n, pos + QCOW2_SN_HDR_LEN)) < 0) {
		ERR(q, "reading snapshot table entry %u: %s", i, strerror(-r));
		free(var);
		return r;
	}
	if (memchr(var + extra, 0, (size_t)idlen + namelen)) {
		ERR(q, "snapshot table entry %u: its ID or name contains a NUL byte", i);
		free(var);
		return -EINVAL;
	}
	if (extra >= 8)
		sn->sn_vm_state = qcow2_be64(var);
	sn->sn_disk_size = extra >= 16 ? qcow2_be64(var + 8) : q->q_size;
	sn->sn_icount = extra >= 24 ? qcow2_be64(var + 16) : QCOW2_SN_NO_ICOUNT;
	if (extra > QCOW2_SN_EXTRA_LEN) {
		sn->sn_unknown_len = extra - QCOW2_SN_EXTRA_LEN;
		sn->sn_unknown = xmalloc(sn->sn_unknown_len);
		memcpy(sn->sn_unknown, var + QCOW2_SN_EXTRA_LEN, sn->sn_unknown_len);
	}
	sn->sn_id = xstrndup((const char *)var + extra, idlen);
	sn->sn_name = xstrndup((const char *)var + extra + idlen, namelen);
	free(var);
	*len = (QCOW2_SN_HDR_LEN + n + 7) & ~7ULL;
	return 0;
}

static int
check_l1(struct qcow2 *q, uint32_t i, const struct qcow2_snap *sn)
{
	uint64_t bytes = (uint64_t)sn->sn_l1_size * 8;

	if (sn->sn_disk_size > (1ULL << 62)) {
		ERR(q, "snapshot %u (ID '%s'): disk size %llu is too large", i,
		    sn->sn_id, ULL(sn->sn_disk_size));
		return -EINVAL;
	}
	if (bytes > QCOW2_MAX_L1_BYTES) {
		ERR(q, "snapshot %u (ID '%s'): L1 table of %u entries exceeds the %u "
		    "MiB limit", i, sn->sn_id, sn->sn_l1_size, QCOW2_MAX_L1_BYTES >> 20);
		return -EINVAL;
	}
	if (bytes == 0)
		return 0;
	if ((sn->sn_l1_off & (q->q_cs - 1)) || sn->sn_l1_off == 0) {
		ERR(q, "snapshot %u (ID '%s'): L1 table offset 0x%llx is %s", i,
		    sn->sn_id, ULL(sn->sn_l1_off), sn->sn_l1_off ?
		    "not cluster aligned" : "the header");
		return -EINVAL;
	}
	if (sn->sn_l1_off > q->q_file_size || q->q_file_size - sn->sn_l1_off < bytes) {
		ERR(q, "snapshot %u (ID '%s'): L1 table (offset 0x%llx, %u entries) "
		    "lies past the end of the file", i, sn->sn_id,
		    ULL(sn->sn_l1_off), sn->sn_l1_size);
		return -EINVAL;
	}
	return 0;
}

static int
cmp_str(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

static int
unique_ids(struct qcow2 *q, const struct qcow2_snap *v, uint32_t n)
{
	char **ids = xcalloc(n ? n : 1, sizeof(*ids));
	int r = 0;

	for (uint32_t i = 0; i < n; i++)
		ids[i] = v[i].sn_id;
	qsort(ids, n, sizeof(*ids), cmp_str);
	for (uint32_t i = 1; i < n && r == 0; i++) {
		if (strcmp(ids[i - 1], ids[i]) == 0) {
			ERR(q, "snapshot table: ID '%s' appears more than once", ids[i]);
			r = -EINVAL;
		}
	}
	free(ids);
	return r;
}

/* The clusters a table occupies, for the overlap check. */
struct span {
	uint64_t	 sp_first, sp_last;
	long		 sp_sn;		/* snapshot index, or a SP_ kind */
};
#define SP_HEADER	(-1)
#define SP_L1		(-2)
#define SP_RT		(-3)
#define SP_TABLE	(-4)

static int
cmp_span(const void *a, const void *b)
{
	const struct span *x = a, *y = b;

	/* Ties in a fixed order, so that the message is the same each time. */
	if (x->sp_first != y->sp_first)
		return x->sp_first < y->sp_first ? -1 : 1;
	return x->sp_sn < y->sp_sn ? -1 : x->sp_sn > y->sp_sn;
}

static void
span_name(const struct qcow2 *q, const struct span *s, char *buf, size_t len)
{
	static const char *const kinds[] = { "the header", "the active L1 table",
	    "the refcount table", "the snapshot table" };

	if (s->sp_sn < 0)
		xsnprintf(buf, len, "%s", kinds[-s->sp_sn - 1]);
	else
		xsnprintf(buf, len, "the L1 table of snapshot %ld (ID '%s')", s->sp_sn,
		    q->q_snaps[s->sp_sn].sn_id);
}

static void
add_span(const struct qcow2 *q, struct span *v, size_t *n, uint64_t off,
    uint64_t bytes, long sn)
{
	if (bytes == 0)
		return;
	v[*n].sp_first = off >> q->q_cluster_bits;
	v[*n].sp_last = (off + bytes - 1) >> q->q_cluster_bits;
	v[*n].sp_sn = sn;
	(*n)++;
}

static int
no_overlaps(struct qcow2 *q)
{
	size_t n = 0, cap = (size_t)q->q_nb_snapshots + 4;
	struct span *v = xcalloc(cap, sizeof(*v));
	char a[160], b[160];
	int r = 0;

	add_span(q, v, &n, 0, q->q_cs, SP_HEADER);
	add_span(q, v, &n, q->q_l1_off, (uint64_t)q->q_l1_size * 8, SP_L1);
	add_span(q, v, &n, q->q_rt_off, (uint64_t)q->q_rt_clusters << q->q_cluster_bits,
	    SP_RT);
	add_span(q, v, &n, q->q_snapshots_off, q->q_snaps_len, SP_TABLE);
	for (uint32_t i = 0; i < q->q_nb_snapshots; i++)
		add_span(q, v, &n, q->q_snaps[i].sn_l1_off,
		    (uint64_t)q->q_snaps[i].sn_l1_size * 8, (long)i);
	qsort(v, n, sizeof(*v), cmp_span);
	for (size_t i = 1; i < n; i++) {
		if (v[i].sp_first > v[i - 1].sp_last)
			continue;
		span_name(q, &v[i - 1], a, sizeof(a));
		span_name(q, &v[i], b, sizeof(b));
		ERR(q, "snapshot table: %s overlaps %s (cluster %llu)", a, b,
		    ULL(v[i].sp_first));
		r = -EINVAL;
		break;
	}
	free(v);
	return r;
}

int
qcow2_sn_read(struct qcow2 *q)
{
	uint64_t pos = q->q_snapshots_off, len;
	uint32_t n = q->q_nb_snapshots;
	int r;

	q->q_snaps = xcalloc(n ? n : 1, sizeof(*q->q_snaps));
	q->q_snaps_len = 0;
	if (n == 0)
		return 0;
	if (pos == 0) {
		ERR(q, "snapshots_offset 0 overlaps the header");
		return -EINVAL;
	}
	for (uint32_t i = 0; i < n; i++) {
		if ((r = read_entry(q, i, pos, &q->q_snaps[i], &len)) < 0)
			goto fail;
		pos += len;
		if (pos - q->q_snapshots_off > QCOW2_SN_MAX_TABLE) {
			ERR(q, "snapshot table: %u entries exceed %u MiB", i + 1,
			    QCOW2_SN_MAX_TABLE >> 20);
			r = -EINVAL;
			goto fail;
		}
		if ((r = check_l1(q, i, &q->q_snaps[i])) < 0)
			goto fail;
	}
	q->q_snaps_len = pos - q->q_snapshots_off;
	if ((r = unique_ids(q, q->q_snaps, n)) < 0 || (r = no_overlaps(q)) < 0)
		goto fail;
	return 0;
fail:
	qcow2_sn_free(q->q_snaps, n);
	q->q_snaps = NULL;
	return r;
}

uint8_t *
qcow2_sn_encode(const struct qcow2_snap *v, uint32_t n, uint64_t *len)
{
	uint64_t total = 0, pos = 0;
	uint8_t *b;

	for (uint32_t i = 0; i < n; i++)
		total += (QCOW2_SN_HDR_LEN + QCOW2_SN_EXTRA_LEN + v[i].sn_unknown_len +
		    strlen(v[i].sn_id) + strlen(v[i].sn_name) + 7) & ~7ULL;
	b = xcalloc(total ? total : 1, 1);
	for (uint32_t i = 0; i < n; i++) {
		const struct qcow2_snap *s = &v[i];
		size_t il = strlen(s->sn_id), nl = strlen(s->sn_name);
		uint32_t extra = QCOW2_SN_EXTRA_LEN + s->sn_unknown_len;
		uint8_t *e = b + pos;

		qcow2_put64(e, s->sn_l1_off);
		qcow2_put32(e + 8, s->sn_l1_size);
		e[12] = (uint8_t)(il >> 8);
		e[13] = (uint8_t)il;
		e[14] = (uint8_t)(nl >> 8);
		e[15] = (uint8_t)nl;
		qcow2_put32(e + 16, s->sn_date_sec);
		qcow2_put32(e + 20, s->sn_date_nsec);
		qcow2_put64(e + 24, s->sn_vm_clock);
		/* A state too big for 32 bits reads as none to old readers
		 * rather than as a truncated one (QEMU does the same). */
		qcow2_put32(e + 32, s->sn_vm_state <= UINT32_MAX ?
		    (uint32_t)s->sn_vm_state : 0);
		qcow2_put32(e + 36, extra);
		qcow2_put64(e + 40, s->sn_vm_state);
		qcow2_put64(e + 48, s->sn_disk_size);
		qcow2_put64(e + 56, s->sn_icount);
		if (s->sn_unknown_len)
			memcpy(e + 64, s->sn_unknown, s->sn_unknown_len);
		memcpy(e + QCOW2_SN_HDR_LEN + extra, s->sn_id, il);
		memcpy(e + QCOW2_SN_HDR_LEN + extra + il, s->sn_name, nl);
		pos += (QCOW2_SN_HDR_LEN + extra + il + nl + 7) & ~7ULL;
	}
	*len = total;
	return b;
}

int
qcow2_sn_find(const struct qcow2 *q, const char *key, int by_id)
{
	for (uint32_t i = 0; i < q->q_nb_snapshots; i++)
		if (strcmp(by_id ? q->q_snaps[i].sn_id : q->q_snaps[i].sn_name,
		    key) == 0)
			return (int)i;
	return -1;
}
