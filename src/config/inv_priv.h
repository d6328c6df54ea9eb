/*
 * Inside the inventory loader (inventory.c, inv_schema.c, inv_conv.c,
 * inv_text.c, inv_check.c). Nothing outside src/config/inv* includes this.
 *
 * How a file is read: inv_text cleans the text (comments become blanks, see
 * there why), libconfuse parses it into a tree whose every leaf value is a
 * struct inv_val carrying its line, each finished `vm` section is converted
 * at once into a struct hw_vm (inv_conv), and when all files are read the
 * model is checked (hw_validate_vm per VM, inv_check across VMs).
 */
#ifndef VMS_INV_PRIV_H
#define VMS_INV_PRIV_H
#include <stdbool.h>
#include <stddef.h>
#include <confuse.h>
#include <sys/stat.h>

#include "lib/diag.h"
#include "config/inventory.h"

/* A leaf value as libconfuse stores it for us (a CFGT_PTR option). */
struct inv_val {
	int	 iv_line;
	bool	 iv_done;	/* section marker: already converted */
	char	 iv_str[];
};

/* How the text of an option becomes a field of the model. */
enum inv_kind {
	IK_STR,		/* char *, any text */
	IK_WORD,	/* char *, [A-Za-z0-9._+-]; one of io_words if given */
	IK_PATH,	/* char *, relative to the file's directory */
	IK_PROGRAM,	/* IK_PATH to a program the root daemon runs (sp_trusted_program) */
	IK_ADDR,	/* char *, a numeric IPv4 or IPv6 address */
	IK_TYPE,	/* char *, "system-<arch>" */
	IK_DRIVES,	/* char *, boot drive letters a-p */
	IK_BOOL,	/* bool */
	IK_UINT,	/* unsigned, io_min..io_max */
	IK_PERCENT,	/* unsigned, "N%", N in io_min..io_max (cpu_quota) */
	IK_INDEX,	/* int, io_min..io_max (disk index) */
	IK_SIZE,	/* uint64_t bytes with a unit, io_min..io_max */
	IK_MIB,		/* IK_SIZE, but a bare number is MiB (memory, as QEMU's -m) */
	IK_PORT,	/* int, 1..65535 or none (HW_PORT_NONE) */
	IK_VNC,		/* int, 0..99 or none (HW_VNC_NONE) */
	IK_ENUM,	/* an enum, from io_names */
	IK_NAMES,	/* list: char ** at io_off, size_t count at io_noff */
	IK_HOSTFWD,	/* list like IK_NAMES, QEMU hostfwd syntax */
	IK_ARGS,	/* char ** + count, split with shell_split() */
	IK_MAC,		/* uint8_t[6] at io_off, bool "given" at io_noff */
	IK_INCLUDE,	/* a glob of further files, read after this one */
	IK_UIDS,	/* "LO-HI": uid_t at io_off and io_noff (uid_range) */
	IK_HALT,	/* list of halt steps: enum hw_halt[] at io_off, unsigned count at io_noff */
	IK_READY,	/* qmp, agent, serial:REGEX, tcp:HOST:PORT: enum at io_off, char * at io_noff */
};

struct inv_opt {
	const char		*io_name;
	enum inv_kind		 io_kind;
	size_t			 io_off, io_noff;
	long long		 io_min, io_max;
	const struct hw_name	*io_names;	/* IK_ENUM */
	const char * const	*io_words;	/* IK_WORD: allowed values */
};

/* The option tables, each ended by a NULL io_name. */
extern const struct inv_opt inv_global_opts[], inv_vm_opts[], inv_boot_opts[],
    inv_disk_opts[], inv_nic_opts[], inv_cloud_init_opts[];

/* A VM without accel takes the global one (auto unless set). */
#define INV_ACCEL_INHERIT	((enum hw_accel)-1)
/* Likewise firmware (bios unless set globally). */
#define INV_FIRMWARE_INHERIT	((enum hw_firmware)-1)
/* Per-VM timeouts and delays left at this take the global value. */
#define INV_INHERIT	(~0u)
/* on_host_shutdown not set for the VM: the global one. */
#define INV_SHUTDOWN_INHERIT	(-1)

struct inv_include {
	char	*inc_pattern;
	int	 inc_line;
};

/* One inv_load() call. */
struct inv_parse {
	void			*ip_self;	/* read by callbacks, see inv_schema.c */
	struct inventory	*ip_inv;
	struct diag		*ip_diag;
	size_t			 ip_vms_cap, ip_files_cap;

	/* The file being parsed. */
	const char		*ip_file;	/* as named in messages */
	char			*ip_dir;	/* its directory, absolute */
	bool			 ip_main;
	char			*ip_cur_vm;	/* vm section being parsed */
	struct inv_include	*ip_incs;
	size_t			 ip_n_incs, ip_cap_incs;

	/* libconfuse's own errors in this file; the last one decides a retry. */
	struct diag		 ip_cferr;
	bool			 ip_err_unknown;	/* it was an unknown option */
	int			 ip_err_line;
	char			*ip_err_name;	/* the unknown option */

	char			**ip_stack;	/* real paths of files being read */
	size_t			 ip_depth;
	bool			 ip_broken;	/* a file did not parse to its end */
	int			 ip_main_errno;	/* the main file could not be read */
	struct inv_opts		*ip_opts;	/* never NULL */
	const char		*ip_uid_file;	/* where uid_range was given, or NULL */
	int			 ip_uid_line;
};

/* inv_text.c */
char *inv_text_read(const char *path, size_t *len, int *err, struct stat *st);
bool inv_text_blank_option(char *buf, int line, const char *name);
int inv_text_unclosed(const char *buf);

/* inv_schema.c */
cfg_t *inv_cfg_new(struct inv_parse *ip, bool main_file);
struct inv_parse *inv_cfg_ctx(cfg_t *cfg);
struct inv_val *inv_cfg_val(cfg_t *cfg, const char *name, unsigned i);

/* inv_conv.c */
void inv_conv_options(struct inv_parse *ip, cfg_t *sec,
    const struct inv_opt *tab, void *base, struct hw_vm *vm, const char *key);
void inv_conv_vm(struct inv_parse *ip, cfg_t *sec);
char *inv_resolve(const struct inv_parse *ip, const char *path);
bool inv_valid_hostfwd(const char *s);

/* inv_check.c */
void inv_check(struct inv_parse *ip);
/* inv_helpers.c: swtpm, xorriso present for the VMs that need them (warnings) */
void inv_check_helpers(struct inv_parse *ip);
/* inv_firmware.c: OVMF files present, uefi-secure on q35 */
void inv_check_firmware(struct inv_parse *ip);
#endif
