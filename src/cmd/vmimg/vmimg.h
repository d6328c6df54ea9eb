/* vmimg: what the subcommands kept in their own files share with vmimg.c. */
#ifndef VMS_CMD_VMIMG_H
#define VMS_CMD_VMIMG_H
#include "storage/img.h"

/* The current subcommand's usage line on stderr (exit status 1), its help. */
int vmimg_usage(void);
int vmimg_help(void);
/* "vmimg CMD: msg" on stderr; 1. fail_r adds the --force hint for devices. */
int vmimg_fail(const char *msg);
int vmimg_fail_r(int r, const char *msg);
int vmimg_parse_fmt(const char *s, enum img_fmt *f);

/* vmimg_snapshot.c */
int vmimg_snapshot(int argc, char **argv);
/* For vmimg info: the snapshot list as qemu-img info shows it (nothing
 * without snapshots), and its "snapshots" array for --output=json. */
void vmimg_snapshot_print(const struct img *im);
struct json_object;
void vmimg_snapshot_json(const struct img *im, struct json_object *o);
#endif
