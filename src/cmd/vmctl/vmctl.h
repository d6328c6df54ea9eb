/*
 * vmctl: one row per command in vmctl.c's table; each handler lives in the
 * file of its area (vmctl_config.c: check-config, show). `vmctl --help` and
 * `vmctl CMD --help` are generated from the table.
 */
#ifndef VMS_VMCTL_H
#define VMS_VMCTL_H
#include <stdio.h>
#include <json-c/json.h>

/* Exit statuses. */
#define VMCTL_OK	0
#define VMCTL_FAIL	1	/* the command ran and found errors */
#define VMCTL_USAGE	2	/* bad command line */

struct vmctl;

struct vmctl_cmd {
	const char	*name;
	const char	*usage;		/* arguments after the name */
	const char	*summary;	/* one line */
	int		(*handler)(struct vmctl *ctl, int argc, char **argv);
};

/* What every handler gets besides its arguments. */
struct vmctl {
	const struct vmctl_cmd	*ctl_cmd;	/* the command running */
	const char		*ctl_conf;	/* -c before the command, or NULL */
	const char		*ctl_sock;	/* -s before the command, or NULL */
};

/*
 * The configuration file: opt (a command's -c) if given, else the -c given
 * before the command, else $VMSERVICE_CONF, else INV_DEFAULT_PATH.
 */
const char *vmctl_conf_path(const struct vmctl *ctl, const char *opt);
void vmctl_usage(const struct vmctl_cmd *cmd, FILE *fp);
/*
 * Parse the common command options: -c FILE and -h/--help, plus the flags
 * in flags[] ("--argv", ...; each sets *set[i]). Positional arguments are
 * moved to the front of argv; returns their count, or -1 after a usage
 * error was printed, or -2 when help was printed.
 */
int vmctl_args(struct vmctl *ctl, int argc, char **argv, const char **conf,
    const char *const *flags, int *const *set);

struct inventory;
/* Load path into inv; on errors print them with a count and return -1. */
int vmctl_load(const char *path, struct inventory *inv);
/*
 * vmctl snapshot for a machine no QEMU runs: each disk QEMU would write,
 * directly, under QEMU's image locks. disks: the daemon's list of them
 * (its answer), or NULL when no daemon runs: then from conf. op: list,
 * create, revert, delete. An exit status.
 */
int vmctl_snapshot_offline(const char *conf, struct json_object *disks, const char *name,
    const char *op, const char *tag);
/* The rows of vmctl snapshot NAME list from QEMU's snapshot objects. */
void vmctl_snapshot_print(struct json_object *list);

int vmctl_check_config(struct vmctl *ctl, int argc, char **argv);
int vmctl_show(struct vmctl *ctl, int argc, char **argv);
int vmctl_vnc_password(struct vmctl *ctl, int argc, char **argv);
/* vmctl_import.c */
int vmctl_import_rc(struct vmctl *ctl, int argc, char **argv);
#endif
