/*
 * metrics_file (issue 17): the VMs' state for Prometheus, in the text
 * format node_exporter's textfile collector reads (name the file *.prom in
 * its directory): per VM its state, whether its QEMU runs, uptime, restarts,
 * last stop reason, QEMU's CPU time and RSS (from /proc/PID); the daemon's
 * RSS. Written whole to a temporary file beside it, then renamed over it,
 * so a reader never sees half a file; within METRICS_COALESCE_MS of any
 * change of the table, and every metrics_interval seconds for the
 * counters. A write is a few kilobytes to a local file: never waited on
 * anything a guest or client controls.
 */
#ifndef VMS_VMD_METRICS_H
#define VMS_VMD_METRICS_H

struct daemon;

#define METRICS_COALESCE_MS	1000

/* Something changed: write within METRICS_COALESCE_MS (no-op without metrics_file). */
void metrics_changed(struct daemon *d);
/* Write now (the daemon's exit: every VM's last state). */
void metrics_write(struct daemon *d);
void metrics_stop(struct daemon *d);
#endif
