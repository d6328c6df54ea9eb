/*
 * The hardware a live migration must find identical on the destination
 * (vmctl migrate, vmd/migrate.c): one "key: value" line each, never paths,
 * ports or policy, and the difference of two such texts.
 */
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "hw/migtext.h"
#include "lib/util.h"

static void
add(char **s, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static void
add(char **s, const char *fmt, ...)
{
	va_list ap;
	char *l, *t;

	va_start(ap, fmt);
	if (vasprintf(&l, fmt, ap) < 0)
		abort();
	va_end(ap);
	t = xasprintf("%s%s\n", *s, l);
	free(*s);
	free(l);
	*s = t;
}

static const char *
s_or(const char *s)
{
	return s ? s : "-";
}

char *
hw_migration_text(const struct hw_vm *hw)
{
	char *s = xstrdup("");

	add(&s, "type: %s", s_or(hw->vm_type));
	add(&s, "machine: %s", s_or(hw->vm_machine));
	add(&s, "cpu: %s", s_or(hw->vm_cpu));
	add(&s, "smp: %u cpus, %u sockets, %u cores, %u threads, %u maxcpus", hw->vm_smp.cpus,
	    hw->vm_smp.sockets, hw->vm_smp.cores, hw->vm_smp.threads, hw->vm_smp.maxcpus);
	add(&s, "memory: %lluM", (unsigned long long)(hw->vm_memory >> 20));
	add(&s, "firmware: %s", hw_name_of(hw_firmware_names, hw->vm_firmware));
	add(&s, "kernel boot: %s", hw->vm_kernel ? "yes" : "no");
	for (size_t i = 0; i < hw->vm_n_disks; i++) {
		const struct hw_disk *dk = &hw->vm_disks[i];

		add(&s, "disk%zu: if %s, format %s, media %s, index %d%s%s", i,
		    hw_name_of(hw_if_names, dk->dk_if), hw_name_of(hw_fmt_names, dk->dk_format),
		    hw_name_of(hw_media_names, dk->dk_media), dk->dk_index,
		    dk->dk_readonly ? ", readonly" : "", dk->dk_snapshot ? ", snapshot" : "");
	}
	add(&s, "cdrom: %s", hw->vm_cdrom ? "yes" : "no");
	for (size_t i = 0; i < hw->vm_n_nics; i++) {
		const uint8_t *m = hw->vm_nics[i].nic_mac;

		add(&s, "nic%zu: %s, mac %02x:%02x:%02x:%02x:%02x:%02x", i,
		    s_or(hw->vm_nics[i].nic_model), m[0], m[1], m[2], m[3], m[4], m[5]);
	}
	add(&s, "serial: %s", hw->vm_serial != HW_PORT_NONE ? "yes" : "no");
	add(&s, "vga: %s", s_or(hw->vm_vga));
	add(&s, "balloon: %s", hw->vm_balloon ? "yes" : "no");
	add(&s, "agent: %s", hw->vm_agent ? "yes" : "no");
	add(&s, "usb_tablet: %s", hw->vm_usb_tablet ? "yes" : "no");
	add(&s, "tpm: %s", hw->vm_tpm ? "yes" : "no");
	add(&s, "cloud_init: %s", hw->vm_cloud_init.ci_on ? "yes" : "no");
	add(&s, "extra_args: %zu", hw->vm_n_extra_args);
	return s;
}

/* Is line (n bytes) one of text's lines? */
static bool
has_line(const char *text, const char *line, size_t n)
{
	for (const char *p = text; *p;) {
		const char *e = strchr(p, '\n');
		size_t l = e ? (size_t)(e - p) : strlen(p);

		if (l == n && memcmp(p, line, n) == 0)
			return true;
		p += l + (e ? 1 : 0);
	}
	return false;
}

static void
only_in(char **out, const char *a, const char *b, char sign)
{
	for (const char *p = a; *p;) {
		const char *e = strchr(p, '\n');
		size_t l = e ? (size_t)(e - p) : strlen(p);

		if (l && !has_line(b, p, l))
			add(out, "%c %.*s", sign, (int)l, p);
		p += l + (e ? 1 : 0);
	}
}

char *
hw_migration_diff(const char *a, const char *b)
{
	char *out = xstrdup("");

	only_in(&out, a, b, '-');
	only_in(&out, b, a, '+');
	if (!*out) {
		free(out);
		return NULL;
	}
	return out;
}

