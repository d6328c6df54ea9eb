/* Refcount block entries of every width qcow2 allows (1 to 64 bits). */
#include <stdio.h>
#include <string.h>

#include "storage/qcow2.h"
#include "tap.h"

int
main(void)
{
	for (uint32_t order = 0; order <= 6; order++) {
		uint32_t w = 1U << order;
		uint64_t max = w == 64 ? UINT64_MAX : (1ULL << w) - 1;
		uint64_t n = 512 * 8 / w, bad = 0;
		uint8_t b[512];

		memset(b, 0, sizeof(b));
		qcow2_rb_write(b, 5, order, max);
		for (uint64_t i = 0; i < n; i++)
			if (qcow2_rb_read(b, i, order) != (i == 5 ? max : 0))
				bad++;
		OK(bad == 0, "%u-bit entries: one maximal entry leaves its neighbours "
		    "alone", w);
		for (uint64_t i = 0; i < n; i++)
			qcow2_rb_write(b, i, order, (i * 2654435761ULL) & max);
		bad = 0;
		for (uint64_t i = 0; i < n; i++)
			if (qcow2_rb_read(b, i, order) != ((i * 2654435761ULL) & max))
				bad++;
		OK(bad == 0, "%u-bit entries: %llu values round-trip", w,
		    (unsigned long long)n);
	}
	/* Byte order: 16-bit counts are big-endian, sub-byte ones LSB first. */
	{
		uint8_t b[4] = { 0 };

		qcow2_rb_write(b, 0, 4, 0x0102);
		OK(b[0] == 0x01 && b[1] == 0x02, "16-bit entries are big-endian");
		memset(b, 0, sizeof(b));
		qcow2_rb_write(b, 1, 0, 1);
		OK(b[0] == 0x02, "1-bit entry 1 is bit 1 of byte 0");
	}
	return TAP_DONE();
}
