/* vmctl migrate, migrate-incoming (vmctl_migrate.c). */
#ifndef VMS_VMCTL_MIGRATE_H
#define VMS_VMCTL_MIGRATE_H
struct vmctl;
int vmctl_migrate(struct vmctl *ctl, int argc, char **argv);
#endif
