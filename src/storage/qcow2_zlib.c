/*
 * Compressed clusters: raw deflate (no zlib header), window 2^12, as QEMU's
 * qcow2 writes them. Decompression stops once a whole cluster is produced:
 * the data read for a compressed cluster ends at a 512-byte sector, so
 * trailing bytes belong to the next compressed cluster.
 * The batch compressor here serves zstd images too (qcow2_zstd.c).
 */
#include <errno.h>
#include <pthread.h>
#include <unistd.h>
#include <stdlib.h>
#include <zlib.h>

#include "lib/util.h"
#include "storage/qcow2.h"

int
qcow2_inflate(const uint8_t *in, size_t inlen, uint8_t *out, size_t outlen)
{
	z_stream zs = { 0 };
	int r;

	/* A 2^15 window accepts streams made with any smaller window. */
	if (inflateInit2(&zs, -15) != Z_OK)
		return -ENOMEM;
	zs.next_in = (Bytef *)in;
	zs.avail_in = (uInt)inlen;
	zs.next_out = out;
	zs.avail_out = (uInt)outlen;
	r = inflate(&zs, Z_FINISH);
	inflateEnd(&zs);
	if (zs.avail_out == 0 && (r == Z_STREAM_END || r == Z_BUF_ERROR || r == Z_OK))
		return 0;
	return -EIO;
}

struct zjob {
	int		 ctype;		/* QCOW2_COMP_* */
	const uint8_t	*in;
	uint8_t		*out;
	ssize_t		*lens;
	size_t		 first, n, step, cs;
	int		 err;
};

static ssize_t
deflate_one(z_stream *zs, const uint8_t *src, size_t cs, uint8_t *out)
{
	deflateReset(zs);
	zs->next_in = (Bytef *)src;
	zs->avail_in = (uInt)cs;
	zs->next_out = out;
	zs->avail_out = (uInt)(cs - 1);	/* must save at least a byte */
	return deflate(zs, Z_FINISH) == Z_STREAM_END ?
	    (ssize_t)(cs - 1 - zs->avail_out) : QCOW2_Z_RAW;
}

static void *
zwork(void *arg)
{
	struct zjob *j = arg;
	z_stream zs = { 0 };
	void *zc = NULL;

	/* QEMU's parameters: raw deflate, 4 KiB window, default level;
	 * zstd at its default level. */
	if (j->ctype == QCOW2_COMP_ZSTD ? !(zc = qcow2_zstd_cctx_new()) :
	    deflateInit2(&zs, Z_DEFAULT_COMPRESSION, Z_DEFLATED, -12, 9,
	    Z_DEFAULT_STRATEGY) != Z_OK) {
		j->err = -ENOMEM;
		return NULL;
	}
	for (size_t i = j->first; i < j->n; i += j->step) {
		const uint8_t *src = j->in + i * j->cs;
		uint8_t *dst = j->out + i * j->cs;

		if (img_is_zero(src, j->cs)) {
			j->lens[i] = QCOW2_Z_ZERO;
			continue;
		}
		j->lens[i] = zc ? qcow2_zstd_compress(zc, src, j->cs, dst) :
		    deflate_one(&zs, src, j->cs, dst);
		if (j->lens[i] < QCOW2_Z_RAW) {
			j->err = (int)j->lens[i];
			break;
		}
	}
	if (zc)
		qcow2_zstd_cctx_free(zc);
	else
		deflateEnd(&zs);
	return NULL;
}

int
qcow2_compress_batch(int ctype, const uint8_t *in, uint8_t *out, ssize_t *lens,
    size_t n, size_t cs)
{
	long cpus = sysconf(_SC_NPROCESSORS_ONLN);
	size_t nt = cpus < 1 ? 1 : cpus > 4 ? 4 : (size_t)cpus;
	struct zjob jobs[4];
	pthread_t tid[4];
	size_t started = 1;
	int r = 0;

	if (nt > n)
		nt = n ? n : 1;
	for (size_t t = 0; t < nt; t++)
		jobs[t] = (struct zjob){ .ctype = ctype, .in = in, .out = out,
		    .lens = lens, .first = t, .n = n, .step = nt, .cs = cs };
	/* Worker 0 runs here; if a thread cannot start, this one does more. */
	for (size_t t = 1; t < nt; t++, started++) {
		if (pthread_create(&tid[t], NULL, zwork, &jobs[t]) != 0)
			break;
	}
	if (started < nt) {
		for (size_t t = 0; t < nt; t++)
			jobs[t].step = started;
		for (size_t t = 1; t < started; t++)
			pthread_join(tid[t], NULL);
		for (size_t t = 0; t < started; t++)
			jobs[t] = (struct zjob){ .ctype = ctype, .in = in,
			    .out = out, .lens = lens, .first = t, .n = n, .step = 1, .cs = cs };
		zwork(&jobs[0]);
		return jobs[0].err;
	}
	zwork(&jobs[0]);
	for (size_t t = 1; t < nt; t++)
		pthread_join(tid[t], NULL);
	for (size_t t = 0; t < nt; t++)
		if (jobs[t].err)
			r = jobs[t].err;
	return r;
}
