/*
 * The memory balloon of a VM with balloon = yes (issue 16): what the guest
 * has (QMP query-balloon when QMP is ready, then BALLOON_CHANGE events,
 * which QEMU rate-limits), what was last asked (vmctl balloon, or the
 * inventory's balloon_target, applied once when a VM the daemon started
 * has its QMP ready). Nothing polls: the guest's driver inflates or
 * deflates in its own time and QEMU tells us.
 */
#ifndef VMS_VMD_BALLOON_H
#define VMS_VMD_BALLOON_H
#include <stddef.h>
#include <stdint.h>
#include <json-c/json.h>

struct daemon;
struct vm;

/*
 * A size as the inventory's memory option takes it: K, M, G, T units,
 * a bare number is MiB. 0, or -EINVAL.
 */
int balloon_parse(const char *s, uint64_t *bytes);
/*
 * The QMP arguments of `balloon` to bytes (newly allocated; the target
 * becomes bytes), or NULL with err saying why not, naming the VM: no
 * balloon device, not running, above its memory, below 16M.
 */
struct json_object *balloon_request(struct vm *vm, uint64_t bytes, char *err, size_t errlen);
/* The VM's QMP is ready: ask what the guest has; apply balloon_target to a fresh start. */
void balloon_qmp_ready(struct daemon *d, struct vm *vm);
/* QMP BALLOON_CHANGE: {"actual": bytes}. */
void balloon_event(struct vm *vm, struct json_object *data);
/* status: "balloon": {"actual": B, "target": B or null}, or null. */
void balloon_json(const struct vm *vm, struct json_object *o);
#endif
