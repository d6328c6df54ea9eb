/*
 * The daemon's own capabilities (issue 6, least privilege): at start-up it
 * keeps only those it uses, in its effective and permitted sets, and drops
 * every other one from its bounding set too, so that nothing it executes
 * (ifup/ifdown scripts) can regain them.
 */
#ifndef VMS_DCAPS_H
#define VMS_DCAPS_H
#include <stddef.h>

/*
 * Limit the process to the kept capabilities (those it has of them).
 * 0, or -errno with err filled. A daemon without CAP_SETPCAP (not root)
 * leaves its bounding set alone: it has nothing to drop from it that
 * matters.
 */
int dcaps_limit(char *err, size_t errlen);
#endif
