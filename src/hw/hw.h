/*
 * The typed virtual hardware model.
 *
 * The inventory parser fills these structs, hw_validate() checks them, the
 * QEMU driver turns them into an argv. Nothing here knows QEMU's syntax:
 * names are ours, enums are closed sets, numbers are in base units.
 * Every element remembers where it was declared (file:line) so that any
 * later check can name the place.
 */
#ifndef VMS_HW_H
#define VMS_HW_H
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <net/if.h>

struct hw_loc {
	const char	*file;		/* borrowed: owned by the inventory */
	int		 line;
};

enum hw_accel	{ HW_ACCEL_AUTO, HW_ACCEL_KVM, HW_ACCEL_TCG };
enum hw_halt	{ HW_HALT_ACPI, HW_HALT_COMMAND, HW_HALT_QUIT, HW_HALT_AGENT };
/* What makes a started VM "running" (issue 14): see vm_policy.po_ready. */
enum hw_ready	{ HW_READY_QMP, HW_READY_AGENT, HW_READY_SERIAL, HW_READY_TCP };
enum hw_ready_fail { HW_READY_PROCEED, HW_READY_HOLD };
/* What stopping the service does to a VM (issue 15). */
enum hw_host_shutdown { HW_SHUTDOWN_POWEROFF, HW_SHUTDOWN_SAVE };
enum hw_disk_fmt { HW_FMT_AUTO, HW_FMT_RAW, HW_FMT_QCOW2 };
enum hw_disk_if	{ HW_IF_VIRTIO, HW_IF_IDE, HW_IF_SCSI, HW_IF_NVME };
enum hw_cache	{ HW_CACHE_WRITEBACK, HW_CACHE_NONE, HW_CACHE_WRITETHROUGH,
		  HW_CACHE_DIRECTSYNC, HW_CACHE_UNSAFE };
enum hw_media	{ HW_MEDIA_DISK, HW_MEDIA_CDROM };
enum hw_net	{ HW_NET_USER, HW_NET_TAP, HW_NET_BRIDGE, HW_NET_NONE };
enum hw_restart	{ HW_RESTART_NO, HW_RESTART_ON_FAILURE, HW_RESTART_ALWAYS };
enum hw_panic	{ HW_PANIC_RESTART, HW_PANIC_POWEROFF, HW_PANIC_PAUSE };
/* What the machine boots: SeaBIOS (QEMU's default), OVMF, OVMF with Secure Boot. */
enum hw_firmware { HW_FW_BIOS, HW_FW_UEFI, HW_FW_UEFI_SECURE };

#define HW_HALT_MAX	4	/* steps in a halt ladder: agent, acpi, command, quit */
#define HW_PORT_NONE	(-1)	/* serial/monitor: no telnet endpoint */
#define HW_VNC_NONE	(-1)
#define HW_INDEX_AUTO	(-1)
/* Taps the service creates are named so (tap.c finds its leftovers by it). */
#define HW_TAP_PREFIX	"vms-"

/*
 * Where one option was set, keyed "memory", "disk1.file", "nic0.hostfwd"
 * (section kind, index among its kind, option), so that checks running
 * after the parse can name the line of the option rather than the section.
 */
struct hw_optloc {
	char		*ol_key;
	struct hw_loc	 ol_loc;
};

struct hw_disk {
	struct hw_loc	 dk_loc;
	char		*dk_file;
	enum hw_disk_fmt dk_format;
	enum hw_disk_if	 dk_if;
	enum hw_cache	 dk_cache;
	int		 dk_index;	/* boot/bus index, HW_INDEX_AUTO */
	enum hw_media	 dk_media;
	bool		 dk_readonly;
	bool		 dk_snapshot;	/* throwaway overlay per boot */
	uint64_t	 dk_size;	/* bytes; nonzero: create if missing */
	char		*dk_backing;	/* create as an overlay of this */
};

struct hw_nic {
	struct hw_loc	 nic_loc;
	char		*nic_model;	/* "virtio-net-pci", "e1000", ... */
	uint8_t		 nic_mac[6];
	bool		 nic_mac_set;	/* false: derived (see hw_derive_mac) */
	enum hw_net	 nic_net;
	char		*nic_ifname;	/* tap: interface name */
	char		*nic_bridge;	/* bridge: bridge to attach to */
	char		**nic_hostfwd;	/* user: "tcp::5555-:22", ... */
	size_t		 nic_n_hostfwd;
	char		*nic_script;	/* tap: run by the daemon, not QEMU */
	char		*nic_downscript;
	bool		 nic_vhost;
	char		*nic_tftp;	/* user: directory QEMU's TFTP server serves */
	char		*nic_bootfile;	/* user: file name its DHCP offers (PXE) */
	char		*nic_smb;	/* user: parsed only to be refused (netboot.c) */
};

struct hw_smp {
	unsigned	 cpus;		/* 0: not given (QEMU default 1) */
	unsigned	 sockets, cores, threads, maxcpus;	/* 0: not given */
};

struct hw_boot {
	char		*order;		/* e.g. "cd"; NULL: QEMU default */
	char		*once;
	bool		 menu;
};

/*
 * Resource limits of a VM's QEMU (vmd/machine.c): on its systemd scope, or
 * on a cgroup v2 group of its own. 0: not limited.
 */
struct hw_limits {
	unsigned	 lim_cpu_weight;	/* 1..10000 (cgroup cpu.weight) */
	unsigned	 lim_cpu_quota;		/* percent of one CPU, may pass 100 */
	uint64_t	 lim_memory_max;	/* bytes */
	unsigned	 lim_io_weight;		/* 1..10000 (cgroup io.weight) */
};

/*
 * How the service treats the machine, not the machine itself: read by the
 * daemon's table and scheduler, never by the QEMU driver. A reload applies
 * it to a running QEMU at once (the whole section: vm_policy_differs and a
 * struct copy, no hand-kept field lists).
 */
struct vm_policy {
	bool		 po_enable;	/* false: ignored by the service */
	bool		 po_autostart;	/* started when the daemon starts */
	char		*po_console_password_file; /* telnet login (conguard.c); NULL: none */
	/* The halt ladder: steps tried in order within halt_timeout. */
	enum hw_halt	 po_halt[HW_HALT_MAX];
	unsigned	 po_n_halt;
	char		*po_halt_command;	/* for HW_HALT_COMMAND: HMP command */
	unsigned	 po_acpi_repeat;	/* s between ACPI presses while halting; 0: once */
	enum hw_ready	 po_ready;
	char		*po_ready_arg;	/* serial: the regex; tcp: "HOST:PORT" */
	unsigned	 po_ready_timeout;	/* s; 0: wait for ever */
	enum hw_ready_fail po_on_ready_timeout;
	enum hw_host_shutdown po_on_host_shutdown;	/* poweroff, or save its state */
	unsigned	 po_save_timeout;	/* s a save may take before the halt ladder */
	unsigned	 po_halt_timeout;	/* seconds */
	unsigned	 po_term_timeout;	/* seconds */
	char		**po_after;	/* names of VMs that must run first */
	size_t		 po_n_after;
	unsigned	 po_start_delay;	/* seconds to wait after starting */
	enum hw_restart	 po_restart;	/* when QEMU stops unasked */
	unsigned	 po_restart_delay;	/* s, first backoff delay */
	unsigned	 po_restart_max_delay;	/* s, backoff cap */
	unsigned	 po_restart_burst;	/* restarts allowed per interval */
	unsigned	 po_restart_interval;	/* s, burst window; resets the backoff */
	enum hw_panic	 po_on_panic;	/* what a guest panic (pvpanic) leads to */
	uint64_t	 po_balloon_target;	/* bytes the balloon leaves the guest at start; 0: all */
	struct hw_limits po_limits;	/* changed live by a reload */
};

/*
 * A cloud_init section: the daemon writes a NoCloud seed (label cidata)
 * from these files at each start (vmd/cidata.c). NULL: not given (a
 * missing meta_data gets "instance-id: NAME", user_data an empty file).
 */
struct hw_cloud_init {
	bool		 ci_on;		/* the section is there */
	char		*ci_user_data;
	char		*ci_meta_data;
	char		*ci_network_config;
};

struct hw_vm {
	struct hw_loc	 vm_loc;
	char		*vm_name;
	char		*vm_type;	/* "system-x86_64" -> qemu-system-x86_64 */
	char		*vm_machine;	/* "pc", "q35", NULL: QEMU default */
	char		*vm_cpu;	/* "host", "max", NULL: default */
	struct hw_smp	 vm_smp;
	uint64_t	 vm_memory;	/* bytes */
	enum hw_accel	 vm_accel;
	enum hw_firmware vm_firmware;	/* uefi: OVMF + state_dir/NAME.nvram.fd */
	char		*vm_kernel, *vm_initrd, *vm_append;
	struct hw_boot	 vm_boot;
	struct hw_disk	*vm_disks;
	size_t		 vm_n_disks;
	char		*vm_cdrom;	/* shorthand for a read-only cdrom disk */
	struct hw_nic	*vm_nics;
	size_t		 vm_n_nics;
	int		 vm_serial;	/* telnet port, HW_PORT_NONE */
	int		 vm_monitor;	/* telnet port, HW_PORT_NONE */
	int		 vm_vnc;	/* display number, HW_VNC_NONE */
	char		*vm_vnc_password_file;	/* set via QMP, never in argv */
	char		*vm_vga;	/* "std", "virtio", "qxl", "cirrus", "none" */
	bool		 vm_balloon;
	bool		 vm_agent;	/* QEMU guest agent port org.qemu.guest_agent.0 */
	bool		 vm_usb_tablet;
	bool		 vm_tpm;	/* a TPM 2.0: swtpm per VM (vmd/tpm.c) */
	struct hw_cloud_init vm_cloud_init;
	char		*vm_keymap;
	char		*vm_loadvm;	/* start from this internal snapshot (-loadvm) */
	char		*vm_runas;	/* user QEMU runs as; NULL: default */
	char		**vm_extra_args;	/* already split, never via a shell */
	size_t		 vm_n_extra_args;
	struct vm_policy vm_policy;	/* the service's, see above */
	uint8_t		 vm_uuid[16];	/* derived from the name */
	struct hw_optloc *vm_optlocs;	/* options as given, see hw_optloc */
	size_t		 vm_n_optlocs, vm_cap_optlocs;
};

/* Closed-set names <-> enums, for the parser, messages and status output. */
struct hw_name {
	const char	*name;
	int		 value;
};
extern const struct hw_name hw_firmware_names[];
extern const struct hw_name hw_accel_names[], hw_halt_names[], hw_fmt_names[],
    hw_if_names[], hw_cache_names[], hw_media_names[], hw_net_names[],
    hw_restart_names[], hw_panic_names[], hw_ready_fail_names[], hw_host_shutdown_names[];
/* Returns the value for name, or -1. */
int hw_lookup(const struct hw_name *tab, const char *name);
/* Returns the name for value, or "?". */
const char *hw_name_of(const struct hw_name *tab, int value);

/* 52:54:00:xx:xx:xx from a hash of the VM name and the NIC index. */
void hw_derive_mac(const char *vm, unsigned index, uint8_t mac[6]);
/* A name-based (version 5 style) UUID, stable across restarts. */
void hw_derive_uuid(const char *vm, uint8_t uuid[16]);
/*
 * The tap name of NIC index of VM vm: HW_TAP_PREFIX "VM-N" when that fits in
 * IFNAMSIZ - 1, else HW_TAP_PREFIX "" + the start of VM + 4 hex digits of a hash of the
 * whole name + "-N". Deterministic, so a restarted daemon knows the names
 * of its adopted VMs' taps.
 */
void hw_derive_ifname(const char *vm, unsigned index, char name[IF_NAMESIZE]);
/* The interface name of NIC i: its ifname, or hw_derive_ifname(). */
void hw_nic_ifname(const struct hw_vm *hw, unsigned i, char name[IF_NAMESIZE]);
void hw_format_mac(const uint8_t mac[6], char buf[18]);
int hw_parse_mac(const char *s, uint8_t mac[6]);
void hw_format_uuid(const uint8_t uuid[16], char buf[37]);

/* Remember where key (see struct hw_optloc) was set; a later set wins. */
void hw_vm_set_optloc(struct hw_vm *vm, const char *key, struct hw_loc loc);
/* Where key was set, or the VM section itself when it was not given. */
struct hw_loc hw_vm_optloc(const struct hw_vm *vm, const char *key);

/*
 * Does QEMU write this disk's file (not read-only, no cdrom, not a
 * snapshot = yes overlay)? The disks an internal snapshot covers.
 */
bool hw_disk_written(const struct hw_disk *dk);
/* Is step a step of the VM's halt ladder? */
bool hw_halt_has(const struct vm_policy *po, enum hw_halt step);
/*
 * ready = "tcp:HOST:PORT" split: HOST a numeric IPv4 address or an IPv6 one
 * in brackets, PORT 1..65535. 0, or -EINVAL with why filled.
 */
int hw_ready_tcp_parse(const char *arg, char *host, size_t hostlen, int *port,
    char *why, size_t whylen);

/* Does any field of the policy section differ (strings and lists by value)? */
bool vm_policy_differs(const struct vm_policy *a, const struct vm_policy *b);
bool hw_limits_differ(const struct hw_limits *a, const struct hw_limits *b);
bool hw_limits_set(const struct hw_limits *l);
void hw_vm_free(struct hw_vm *vm);

#endif
