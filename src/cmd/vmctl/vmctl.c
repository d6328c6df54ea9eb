/*
 * vmctl: the command line front of vmservice. The table below is the whole
 * list of commands; help is generated from it.
 */
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config/inventory.h"
#include "cmd/vmctl/vmctl.h"
#include "cmd/vmctl/client.h"
#include "cmd/vmctl/vmctl_migrate.h"

static const struct vmctl_cmd vmctl_commands[] = {
	{ "check-config", "[-c FILE]",
	  "check the configuration; print every error, or ok: N VMs",
	  vmctl_check_config },
	{ "show", "NAME [--argv [--shell]] [-c FILE]",
	  "print a VM's resolved settings, or with --argv its QEMU command line",
	  vmctl_show },
	{ "vnc-password", "NAME [-c FILE]",
	  "print a VM's VNC password (generated when no vnc_password_file; root)",
	  vmctl_vnc_password },
	{ "import-rc", "FILE|-",
	  "print the classic rc-script's /etc/conf.d/qemu.conf as vmservice.conf",
	  vmctl_import_rc },
	/* Commands talking to the daemon (client.c). */
	VMCTL_CLIENT_COMMANDS,
	{ "migrate", "NAME ssh://[USER@]HOST[:PORT] [--copy-storage] | NAME --done|--resume [-s SOCKET]",
	  "live-migrate a running VM to the vmservice of another host through ssh "
	  "(shared storage, or --copy-storage); --done/--resume end one left handed-over", vmctl_migrate },
	{ "migrate-incoming", "NAME",
	  "the destination's side of vmctl migrate (run by it through ssh)", vmctl_migrate },
	{ "migrate-nbd", "NAME DISK",
	  "one disk's copy for vmctl migrate --copy-storage (run by it through ssh)",
	  vmctl_migrate },
};
#define N_COMMANDS	(sizeof(vmctl_commands) / sizeof(vmctl_commands[0]))

void
vmctl_usage(const struct vmctl_cmd *cmd, FILE *fp)
{
	fprintf(fp, "usage: vmctl %s %s\n  %s\n", cmd->name, cmd->usage, cmd->summary);
	/* import-rc reads an rc-script file, never the configuration. */
	if (cmd->handler != vmctl_import_rc)
		fprintf(fp, "  -c FILE  configuration file (default $VMSERVICE_CONF or %s)\n",
		    INV_DEFAULT_PATH);
	if (strstr(cmd->usage, "-s SOCKET"))
		fprintf(fp, "  -s SOCKET  the daemon's control socket (default $VMSERVICE_SOCKET,\n"
		    "           else run_dir/%s, run_dir read from FILE as text,\n"
		    "           else %s/%s)\n", INV_SOCKET_NAME, INV_DEFAULT_RUN_DIR,
		    INV_SOCKET_NAME);
}

static void
help(FILE *fp)
{
	fprintf(fp, "usage: vmctl [-H ssh://[USER@]HOST[:PORT]] [-c FILE] [-s SOCKET] COMMAND "
	    "[ARGS]\n\ncommands:\n");
	for (size_t i = 0; i < N_COMMANDS; i++)
		fprintf(fp, "  %s %s\n      %s\n", vmctl_commands[i].name,
		    vmctl_commands[i].usage, vmctl_commands[i].summary);
	fprintf(fp, "\n-c FILE: configuration file (default $VMSERVICE_CONF, else %s)\n"
	    "-s SOCKET: the daemon's control socket, for the commands that talk to it:\n"
	    "  default $VMSERVICE_SOCKET, else run_dir/%s with run_dir read from\n"
	    "  FILE as plain text (FILE need not be valid), else %s/%s\n"
	    "-H ssh://[USER@]HOST[:PORT]: run the command on that host's vmctl through\n"
	    "  ssh (OpenSSH's config and keys; $VMCTL_SSH: the ssh program, $VMCTL_REMOTE:\n"
	    "  the remote program, default vmctl); -c and -s are then paths on that host\n"
	    "vmctl COMMAND --help: help on one command\n", INV_DEFAULT_PATH, INV_SOCKET_NAME,
	    INV_DEFAULT_RUN_DIR, INV_SOCKET_NAME);
}

const char *
vmctl_conf_path(const struct vmctl *ctl, const char *opt)
{
	const char *env = getenv("VMSERVICE_CONF");

	if (opt)
		return opt;
	if (ctl->ctl_conf)
		return ctl->ctl_conf;
	return env && *env ? env : INV_DEFAULT_PATH;
}

int
vmctl_args(struct vmctl *ctl, int argc, char **argv, const char **conf,
    const char *const *flags, int *const *set)
{
	int npos = 0;
	bool opts = true;

	for (int i = 1; i < argc; i++) {
		const char *a = argv[i];
		bool known = false;

		if (!opts || a[0] != '-' || a[1] == '\0') {
			argv[npos++] = argv[i];
			continue;
		}
		if (strcmp(a, "--") == 0) {
			opts = false;
			continue;
		}
		if (strcmp(a, "-h") == 0 || strcmp(a, "--help") == 0) {
			vmctl_usage(ctl->ctl_cmd, stdout);
			return -2;
		}
		if (strcmp(a, "-c") == 0) {
			if (i + 1 >= argc) {
				fprintf(stderr, "vmctl %s: -c needs a file\n", ctl->ctl_cmd->name);
				return -1;
			}
			*conf = argv[++i];
			continue;
		}
		for (size_t f = 0; flags && flags[f]; f++)
			if (strcmp(a, flags[f]) == 0) {
				*set[f] = 1;
				known = true;
			}
		if (!known) {
			fprintf(stderr, "vmctl %s: unknown option %s\n", ctl->ctl_cmd->name, a);
			vmctl_usage(ctl->ctl_cmd, stderr);
			return -1;
		}
	}
	return npos;
}

int
main(int argc, char **argv)
{
	struct vmctl ctl = { NULL, NULL, NULL };
	const char *remote = NULL;
	int i = 1;

	for (; i < argc && argv[i][0] == '-'; i++) {
		if (strcmp(argv[i], "-h") == 0 || strcmp(argv[i], "--help") == 0) {
			help(stdout);
			return VMCTL_OK;
		}
		if (strcmp(argv[i], "-c") == 0 && i + 1 < argc) {
			ctl.ctl_conf = argv[++i];
			continue;
		}
		if (strcmp(argv[i], "-s") == 0 && i + 1 < argc) {
			ctl.ctl_sock = argv[++i];
			continue;
		}
		if (strcmp(argv[i], "-H") == 0 && i + 1 < argc) {
			remote = argv[++i];
			continue;
		}
		fprintf(stderr, "vmctl: bad option %s\n", argv[i]);
		help(stderr);
		return VMCTL_USAGE;
	}
	if (i >= argc) {
		help(stderr);
		return VMCTL_USAGE;
	}
	/* -H: the remote vmctl checks the command and its arguments. */
	if (remote)
		return vmctl_remote(remote, ctl.ctl_conf, ctl.ctl_sock, argc - i, argv + i);
	for (size_t c = 0; c < N_COMMANDS; c++)
		if (strcmp(argv[i], vmctl_commands[c].name) == 0) {
			ctl.ctl_cmd = &vmctl_commands[c];
			return vmctl_commands[c].handler(&ctl, argc - i, argv + i);
		}
	fprintf(stderr, "vmctl: unknown command '%s' (vmctl --help lists them)\n", argv[i]);
	return VMCTL_USAGE;
}
