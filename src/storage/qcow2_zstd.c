/*
 * Compressed clusters of compression_type 1 (zstd), through libzstd: QEMU
 * (5.1 and later) writes one zstd frame per cluster, which must expand to
 * exactly one cluster. As with deflate, the bytes read for a cluster end at
 * a 512-byte sector, so what follows the frame belongs to the next cluster.
 */
#include <errno.h>
#include <sys/types.h>
#include <zstd.h>
#include <zstd_errors.h>

#include "storage/qcow2.h"

/*
 * One-shot decoding into the caller's cluster buffer: zstd then needs no
 * window buffer of its own, so a hostile frame header announcing a huge
 * window costs no memory, and a frame that would produce more than a
 * cluster fails with "destination too small".
 */
int
qcow2_zstd_decompress(struct qcow2 *q, const uint8_t *in, size_t inlen,
    uint8_t *out, size_t outlen)
{
	size_t flen, n;

	if (!q->q_zdctx && !(q->q_zdctx = ZSTD_createDCtx()))
		return -ENOMEM;
	flen = ZSTD_findFrameCompressedSize(in, inlen);
	if (ZSTD_isError(flen))
		return -EIO;
	n = ZSTD_decompressDCtx(q->q_zdctx, out, outlen, in, flen);
	if (ZSTD_isError(n) || n != outlen)
		return -EIO;
	return 0;
}

void
qcow2_zstd_free(struct qcow2 *q)
{
	ZSTD_freeDCtx(q->q_zdctx);
	q->q_zdctx = NULL;
}

void *
qcow2_zstd_cctx_new(void)
{
	return ZSTD_createCCtx();
}

void
qcow2_zstd_cctx_free(void *cctx)
{
	ZSTD_freeCCtx(cctx);
}

/*
 * One cluster into one frame at zstd's default level, as QEMU does; the
 * frame must save at least a byte (out holds cs - 1), else QCOW2_Z_RAW.
 */
ssize_t
qcow2_zstd_compress(void *cctx, const uint8_t *in, size_t cs, uint8_t *out)
{
	size_t n;

	ZSTD_CCtx_reset(cctx, ZSTD_reset_session_only);
	n = ZSTD_compress2(cctx, out, cs - 1, in, cs);
	if (!ZSTD_isError(n))
		return (ssize_t)n;
	if (ZSTD_getErrorCode(n) == ZSTD_error_dstSize_tooSmall)
		return QCOW2_Z_RAW;
	return -EIO;
}
