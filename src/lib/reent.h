/*
 * Freeing an object from inside its own callbacks: the QMP and guest agent
 * clients call back into the daemon, which may drop the VM and free the
 * client right there. Entry points that call back bracket the calls with
 * reent_enter/reent_leave; the free function asks reent_defer first. The
 * object is destroyed once, when the outermost bracket closes, and code
 * after a callback checks reent_doomed before touching it.
 */
#ifndef VMS_REENT_H
#define VMS_REENT_H
#include <stdbool.h>

struct reent {
	int	 re_depth;	/* brackets open */
	bool	 re_doomed;	/* freed inside one */
};

static inline void
reent_enter(struct reent *r)
{
	r->re_depth++;
}

/*
 * Close a bracket: true while the object lives on. False when it was freed
 * inside; the outermost bracket then destroys it (destroy(obj)), so the
 * caller must not touch it any more.
 */
static inline bool
reent_leave(struct reent *r, void (*destroy)(void *), void *obj)
{
	if (--r->re_depth == 0 && r->re_doomed) {
		destroy(obj);
		return false;
	}
	return !r->re_doomed;
}

/* From the free function: true (marked, destroyed later) inside a bracket; false: destroy now. */
static inline bool
reent_defer(struct reent *r)
{
	if (r->re_depth == 0)
		return false;
	r->re_doomed = true;
	return true;
}

static inline bool
reent_doomed(const struct reent *r)
{
	return r->re_doomed;
}
#endif
