/*
 * A VM's consoles inside the daemon: the serial console (always, for the
 * log, the scrollback and `vmctl console`; a telnet endpoint when `serial`
 * is set), the HMP monitor endpoint (when `monitor` is set), and the VNC
 * password. effects.c and adopt.c call these at the matching points of a VM's life.
 */
#ifndef VMS_VMCON_H
#define VMS_VMCON_H

struct daemon;
struct vm;

/* Create the VM's consoles (at daemon start). Failures are logged, not fatal. */
void vmcon_open(struct daemon *d, struct vm *vm);
/* QEMU was spawned or adopted: connect to its chardev sockets. */
void vmcon_up(struct daemon *d, struct vm *vm);
/*
 * QMP is ready: set the VNC password from vnc_password_file, or a generated
 * one kept in inv_vnc_password_path() (QEMU always runs with password=on).
 */
void vmcon_qmp_ready(struct daemon *d, struct vm *vm);
#define VMCON_VNC_PW_LEN	8
/* state_dir/VM.vncpass, newly allocated. */
/* QEMU is gone: clients stay connected and are told. */
void vmcon_down(struct vm *vm, const char *why);
void vmcon_close(struct vm *vm);
#endif
