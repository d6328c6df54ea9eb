/*
 * Readiness probes (vmservice.conf(5): ready): what turns a booting VM
 * into a running one, so that the VMs `after` it start when its services
 * are up, not when its QEMU is.
 *
 *   serial:REGEX  a line of the serial console matches (fed by the console
 *                 proxy, probe_output; lines longer than PROBE_LINE_MAX are
 *                 matched on their first PROBE_LINE_MAX - 1 bytes)
 *   tcp:HOST:PORT a non-blocking TCP connect from the host succeeds (tried
 *                 every PROBE_TCP_INTERVAL_MS, each for at most that long;
 *                 the connection is closed at once)
 *   agent         the guest agent answers guest-ping (agent.c calls
 *                 probe_agent_up)
 *
 * A probe exists only while its VM is booting or not-ready: success feeds
 * VE_GUEST_READY to the table, and the daemon's change hook stops it.
 */
#ifndef VMS_VMD_PROBE_H
#define VMS_VMD_PROBE_H
#include <stddef.h>
#include <stdint.h>

struct daemon;
struct vm;

#define PROBE_LINE_MAX		1024
#define PROBE_TCP_INTERVAL_MS	500

void probe_start(struct daemon *d, struct vm *vm);
void probe_stop(struct daemon *d, struct vm *vm);
/* The serial console's output (console_cfg cc_output; arg is the vm). */
void probe_output(void *arg, const uint8_t *p, size_t n);
/* The agent answered: ready = agent is met. */
void probe_agent_up(struct daemon *d, struct vm *vm);
/* Is the VM in a state where a probe belongs (booting, not-ready)? */
int probe_wanted(const struct vm *vm);
#endif
