/*
 * Reload (issue 6): `vmctl reload`, SIGHUP and `service vmservice reload`
 * re-read the inventory. An invalid one changes nothing. A valid one is
 * applied without ever restarting a running VM behind the admin's back:
 * new VMs start (autostart), removed or disabled ones stop the safe way,
 * changes that need a new QEMU wait as "restart-pending" until the VM is
 * next down, and everything else applies at once.
 */
#ifndef VMS_RELOAD_H
#define VMS_RELOAD_H
#include <stdbool.h>
#include <json-c/json.h>

struct daemon;
struct vm;

/*
 * Re-read d->conf_path and apply it. Returns the control response
 * ({"ok":...}, with "errors", "warnings" and "changes" arrays); every line
 * of it is logged too (SIGHUP drops the object). NULL when it waits for an
 * emulator's NIC models (nicmodels.h: asked in a child of the loop, at most
 * 5 s): reload_resume() then runs it again, and reload_result() is the
 * answer once reload_pending() is false. A reload asked meanwhile joins it.
 */
struct json_object *reload_run(struct daemon *d);
bool reload_pending(const struct daemon *d);
/* The last reload's response (a new reference). */
struct json_object *reload_result(struct daemon *d);
/* An emulator answered (or could not): a waiting reload runs again. */
void reload_resume(struct daemon *d);
/*
 * vm's QEMU was just adopted: when its command line is not the one the
 * current configuration gives, mark it restart-pending.
 */
void reload_check_adopted(struct daemon *d, struct vm *vm);
/* vm's QEMU is gone (op_gone): a pending configuration applies now. */
void reload_vm_gone(struct daemon *d, struct vm *vm);
/* After every batch of events: drop removed VMs that are down. */
void reload_idle(struct daemon *d);
/* "restart_pending", "pending_change", "removed" for status. */
void reload_vm_json(const struct vm *vm, struct json_object *o);
/* vm is freed (daemon exit): its reload state goes with it. */
void reload_vm_free(struct vm *vm);
/* Daemon exit, after daemon_free_vms(): superseded inventories. */
void reload_free(struct daemon *d);
#endif
