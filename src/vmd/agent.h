/*
 * The QEMU guest agent of a VM with agent = yes (issue 14): the daemon's
 * end of the virtio-serial port org.qemu.guest_agent.0, whose chardev
 * socket run_dir/NAME.qga the daemon binds and hands to QEMU like the
 * others (vmsock.h). The protocol is qemu/qga.h; this file is the glue:
 * connect at spawn and adoption, guest-ping, guest-shutdown for the halt
 * ladder, what the guest says about itself for status, guest-set-time
 * after a pause, and `vmctl agent` pass-through.
 */
#ifndef VMS_VMD_AGENT_H
#define VMS_VMD_AGENT_H
#include <stdbool.h>
#include <json-c/json.h>

struct daemon;
struct vm;

/* Start talking to the VM's agent (QEMU's pid known). No-op without agent = yes. */
void agent_open(struct daemon *d, struct vm *vm);
void agent_close(struct daemon *d, struct vm *vm);
/* The halt step (sup_ops agent_halt): 0 sent, -ENOTCONN no synced agent. */
int agent_halt(struct daemon *d, struct vm *vm);
/* The guest's CPUs ran again after a pause: set its clock if it has an agent. */
void agent_resumed(struct daemon *d, struct vm *vm);
/* status: "agent", "guest_os", "guest_ips" members. */
void agent_json(const struct vm *vm, struct json_object *o);

/* Its agent answered its last guest-ping or command. */
bool agent_answering(const struct vm *vm);
/* The agent connection's identity (never dereferenced by callers), or NULL. */
const void *agent_conn(const struct vm *vm);

typedef void (*agent_reply_fn)(void *arg, struct json_object *ret, const char *error);
/* One command through (vmctl agent). -ENOTCONN, -ENOBUFS, or 0 (fn called later). */
int agent_command(struct daemon *d, struct vm *vm, const char *cmd, struct json_object *args,
    unsigned timeout_ms, agent_reply_fn fn, void *arg);
#endif
