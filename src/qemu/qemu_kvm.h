/*
 * Whether KVM can run a VM's QEMU, decided for the user QEMU runs as (its
 * runas user, without capabilities), not for the root daemon: udev makes
 * /dev/kvm root:kvm 0660, and a QEMU user outside group kvm cannot use it.
 *
 * The probe only opens /dev/kvm and asks its API version. A host whose KVM
 * opens but cannot run guests (nested virtualization that half-works) passes
 * it; the daemon learns that from the first guest (qkvm_says_kvm_failed on
 * QEMU's output, or run state internal-error) and falls back to TCG.
 */
#ifndef VMS_QEMU_KVM_H
#define VMS_QEMU_KVM_H
#include <stdbool.h>
#include <stddef.h>

struct qpriv;

/* The device QEMU opens (kvm-all.c): fixed, not configurable. */
#define QKVM_DEVICE	"/dev/kvm"

/*
 * The probe child's deadline: it takes a few milliseconds, and the
 * daemon's loop waits for it (at each start of an accel = kvm or auto VM).
 */
#define QKVM_PROBE_TIMEOUT_MS	2000

/*
 * 0 when p's user can open /dev/kvm read-write and it answers the KVM API
 * version; else -errno with why filled for a status line ("/dev/kvm not
 * accessible to vmservice", "no /dev/kvm"). Forks a child that drops to
 * p's user (a root daemon) or opens it in-process (p == NULL, or no switch);
 * a child still running after QKVM_PROBE_TIMEOUT_MS is killed: -ETIMEDOUT.
 */
int qkvm_probe(const struct qpriv *p, char *why, size_t len);

/* Does QEMU's output (its stderr) report that KVM failed? */
bool qkvm_says_kvm_failed(const char *text);
#endif
