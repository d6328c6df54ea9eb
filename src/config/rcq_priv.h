/*
 * Inside rcqemu*.c (vmctl import-rc's QEMU options): an option string split
 * QEMU's way, what one option handler gets, and the helpers and handlers
 * the files share. Nothing outside src/config/rcqemu*.c includes this.
 */
#ifndef VMS_RCQ_PRIV_H
#define VMS_RCQ_PRIV_H
#include <stdbool.h>
#include "config/rc_priv.h"

/* An option string split QEMU's way. */
#define KV_MAX	64
struct kv {
	char	*k[KV_MAX], *v[KV_MAX];
	size_t	 n;
};

/* What one handler gets. */
struct rq {
	struct rci_vm	*vm;
	const char	*opt;	/* "-m" */
	const char	*arg;	/* NULL for an option without one */
	int		 line;
};

/* rcqemu_opt.c */
void rcq_kv_split(const char *s, const char *implied, struct kv *kv);
void rcq_kv_free(struct kv *kv);
/* The value of key, marking it used; NULL when absent. */
const char *rcq_kv_get(struct kv *kv, const char *key);
/* The keys not used, "a, b", or NULL. */
char *rcq_kv_rest(const struct kv *kv);
bool rcq_kv_unused(const struct kv *kv);
/* The option whole into extra_args, with a warning saying why. */
void rcq_to_extra(struct rq *q, const char *why);
/* The option not translated: a warning saying why. */
void rcq_dropped(struct rq *q, const char *why);
/* Keys of kv nobody used: a warning naming them. */
void rcq_rest_dropped(struct rq *q, const struct kv *kv);
bool rcq_is_word(const char *s);
bool rcq_is_uint(const char *s);
/* 1, 0, or RCI_UNSET for a word that is neither. */
int rcq_parse_onoff(const char *s);
bool rcq_in_list(const char *s, const char *const *l);

/* rcqemu_net.c */
/* A NIC (front) for key with model and mac (each may be NULL). */
void rcq_nic_front(struct rq *q, const char *key, const char *model, const char *mac);
/* A backend (tap, user, bridge) for key; false for another type. */
bool rcq_nic_back(struct rq *q, const char *key, const char *type, struct kv *kv);
void rcq_h_net(struct rq *q);
void rcq_h_netdev(struct rq *q);
void rcq_h_nic(struct rq *q);
void rcq_h_redir(struct rq *q);

/* rcqemu_con.c */
void rcq_h_chardev(struct rq *q);
void rcq_h_mon(struct rq *q);
void rcq_h_serial(struct rq *q);
void rcq_h_monitor(struct rq *q);
void rcq_h_vnc(struct rq *q);
void rcq_h_k(struct rq *q);
void rcq_h_std_vga(struct rq *q);
void rcq_h_vga(struct rq *q);
void rcq_h_usbdevice(struct rq *q);
void rcq_h_balloon(struct rq *q);
void rcq_h_localtime(struct rq *q);
#endif
