/*
 * Compressed clusters: raw deflate (no zlib header), window 2^12, as QEMU's
 * qcow2 writes them. Decompression stops once a whole cluster is produced:
 * the data read for a compressed cluster ends at a 512-byte sector, so
 * trailing bytes belong to the next compressed cluster.
 */
#include <errno.h>
#include <stdlib.h>
#include <zlib.h>

#include "common/util.h"
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

ssize_t
qcow2_deflate(struct qcow2 *q, const uint8_t *in, size_t inlen, uint8_t *out,
    size_t outlen)
{
	z_stream *zs = q->q_zs;
	int r;

	if (!zs) {
		zs = xcalloc(1, sizeof(*zs));
		if (deflateInit2(zs, Z_DEFAULT_COMPRESSION, Z_DEFLATED, -12, 9,
		    Z_DEFAULT_STRATEGY) != Z_OK) {
			free(zs);
			return -ENOMEM;
		}
		q->q_zs = zs;
	} else if (deflateReset(zs) != Z_OK) {
		return -EIO;
	}
	zs->next_in = (Bytef *)in;
	zs->avail_in = (uInt)inlen;
	zs->next_out = out;
	zs->avail_out = (uInt)outlen;
	r = deflate(zs, Z_FINISH);
	if (r != Z_STREAM_END)
		return -ENOSPC;
	return (ssize_t)(outlen - zs->avail_out);
}

void
qcow2_zfree(struct qcow2 *q)
{
	if (q->q_zs) {
		deflateEnd(q->q_zs);
		free(q->q_zs);
		q->q_zs = NULL;
	}
}
