/*
 * The client side of the control protocol: vmctl commands that talk to
 * vmserviced over its control socket (PROTOCOL.md). Rows for vmctl.c's command table; each handler gets argv
 * starting at the command name.
 */
#ifndef VMS_VMCTL_CLIENT_H
#define VMS_VMCTL_CLIENT_H

#include <stdbool.h>
#include <json-c/json.h>

struct vmctl;

/* Exit statuses beyond vmctl.h's 0/1/2 (LSB-style, for scripts). */
#define VMCTL_NOT_RUNNING	3	/* status NAME: the VM is not running */
#define VMCTL_NO_DAEMON		4	/* the daemon is not running / unreachable */
#define VMCTL_TIMED_OUT		124	/* wait --timeout ran out (as timeout(1)) */

/* From vmctl.c: -c of the command, else the global -c, $VMSERVICE_CONF, default. */
const char *vmctl_conf_path(const struct vmctl *ctl, const char *opt);

int vmctl_status(struct vmctl *ctl, int argc, char **argv);
/* start, stop, restart, kill: the command name is argv[0]. */
int vmctl_lifecycle(struct vmctl *ctl, int argc, char **argv);
int vmctl_revert(struct vmctl *ctl, int argc, char **argv);
int vmctl_reset_nvram(struct vmctl *ctl, int argc, char **argv);
int vmctl_reload(struct vmctl *ctl, int argc, char **argv);
int vmctl_events(struct vmctl *ctl, int argc, char **argv);

/*
 * The control socket, found without loading the inventory: sock (-s), else
 * the -s before the command, $VMSERVICE_SOCKET, run_dir/INV_SOCKET_NAME
 * with run_dir scanned from the file conf (-c, see vmctl_conf_path) as
 * text, INV_DEFAULT_RUN_DIR/INV_SOCKET_NAME. Allocated; NULL after a
 * message when a file named by -c or $VMSERVICE_CONF cannot be read.
 */
char *vmctl_socket(struct vmctl *ctl, const char *conf, const char *sock);
/* Connected fd, or -1 after a message saying why (exit VMCTL_NO_DAEMON); sock may be NULL. */
int vmctl_connect(const char *sock);
/* One request, one response (NULL with *rc set). */
struct json_object *vmctl_request(const char *sock, struct json_object *req, int *rc);
/* The same, fd passed with the request (SCM_RIGHTS). */
struct json_object *vmctl_request_fd(const char *sock, struct json_object *req, int fd, int *rc);
/* vmctl_console.c */
int vmctl_console(struct vmctl *ctl, int argc, char **argv);
int vmctl_monitor(struct vmctl *ctl, int argc, char **argv);
int vmctl_qmp(struct vmctl *ctl, int argc, char **argv);
int vmctl_wait(struct vmctl *ctl, int argc, char **argv);
int vmctl_snapshot(struct vmctl *ctl, int argc, char **argv);
/* vmctl_attach.c */
int vmctl_attach(struct vmctl *ctl, int argc, char **argv);
/* vmctl show of an attached VM: VMCTL_OK/FAIL, or -1 when the daemon has none of that name. */
int vmctl_show_attached(struct vmctl *ctl, const char *conf, const char *name, bool want_argv,
    bool want_shell);
/* vmctl_autokill.c: start --autokill; returns when the daemon closes (the VM is down). */
int vmctl_autokill(const char *sock, const char *name, bool wait);
/* vmctl_remote.c: -H URL: argv (the command and its arguments) run by ssh URL vmctl. */
int vmctl_remote(const char *url, const char *conf, const char *sock, int argc, char **argv);
/* The ssh client: $VMCTL_SSH (a program taking ssh's arguments, e.g. a wrapper adding -F), else ssh. */
const char *vmctl_ssh_program(void);
/* vmctl_balloon.c */
int vmctl_balloon(struct vmctl *ctl, int argc, char **argv);

#define VMCTL_CLIENT_COMMANDS \
	{ "status", "[NAME] [--json] [-s SOCKET]", \
	  "show the VMs the daemon supervises (exit 3: NAME is not running)", \
	  vmctl_status }, \
	{ "start", "NAME|all [--no-wait] [--autokill] [--force] [-s SOCKET]", \
	  "start VMs (and what they are after); waits until they run; --autokill (one " \
	  "VM): vmctl stays, printing its state; the VM is killed when vmctl goes; " \
	  "--force: also a VM migrated to another host", \
	  vmctl_lifecycle }, \
	{ "stop", "NAME|all [--timeout S] [--no-wait] [-s SOCKET]", \
	  "stop VMs the safe way (halt method, SIGTERM, SIGKILL); waits", \
	  vmctl_lifecycle }, \
	{ "restart", "NAME|all [--no-wait] [-s SOCKET]", \
	  "stop then start VMs", vmctl_lifecycle }, \
	{ "kill", "NAME|all [--no-wait] [-s SOCKET]", \
	  "SIGKILL VMs now", vmctl_lifecycle }, \
	{ "save", "NAME|all [--no-wait] [-s SOCKET]", \
	  "pause VMs and save their state to state_dir; the next start restores it", \
	  vmctl_lifecycle }, \
	{ "reload", "[-s SOCKET]", \
	  "re-read the inventory; prints the changes, or every error " \
	  "(exit 1)", vmctl_reload }, \
	{ "revert", "NAME [-s SOCKET]", \
	  "stopped VM: replace each overlay disk with a fresh one on its backing", \
	  vmctl_revert }, \
	{ "reset-nvram", "NAME [-s SOCKET]", \
	  "stopped UEFI VM: remove its NVRAM (variables); the next start copies a fresh one", \
	  vmctl_reset_nvram }, \
	{ "console", "NAME [-r] [-s SOCKET]", \
	  "the VM's serial console (scrollback first; Ctrl-] leaves; -r: read-only)", \
	  vmctl_console }, \
	{ "monitor", "NAME 'HMP COMMAND' [-s SOCKET]", \
	  "run one QEMU monitor (HMP) command, e.g. 'info status'", vmctl_monitor }, \
	{ "qmp", "NAME '{\"execute\":...}' [-s SOCKET]", \
	  "send one QMP command; prints its return value as JSON", vmctl_qmp }, \
	{ "agent", "NAME '{\"execute\":...}' [-s SOCKET]", \
	  "send one command to the guest agent (agent = yes); prints its return value", \
	  vmctl_qmp }, \
	{ "snapshot", "NAME create|revert|delete TAG | NAME list [-s SOCKET]", \
	  "internal snapshots of a VM's qcow2 disks (running: with its RAM, QMP jobs, " \
	  "file systems frozen through its agent; stopped: on the disks)", vmctl_snapshot }, \
	{ "balloon", "NAME SIZE [-s SOCKET]", \
	  "move a running VM's memory balloon: the guest keeps SIZE (512M, 1G; " \
	  "balloon = yes); status shows it", vmctl_balloon }, \
	{ "wait", "NAME|all [--timeout S] [-s SOCKET]", \
	  "wait until VMs are running (ready = ...); exit 0 ready, 1 failed or down, " \
	  "124 timed out", vmctl_wait }, \
	{ "events", "[NAME] [--json] [-s SOCKET]", \
	  "print every state change and stop reason as it happens, until interrupted", \
	  vmctl_events }, \
	{ "attach", "NAME PID", \
	  "supervise a QEMU started by hand (its QMP on a unix socket) as VM NAME " \
	  "until it stops (root)", vmctl_attach }
#endif
