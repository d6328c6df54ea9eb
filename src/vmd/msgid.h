/*
 * Journal MESSAGE_IDs, one per kind of event (issue 17), stable across
 * releases so that `journalctl MESSAGE_ID=...` and catalog entries keep
 * working: a state change of the table, and each event notify_command is
 * told of (alert.h). Never change one; add new ones (random 128 bits).
 */
#ifndef VMS_VMD_MSGID_H
#define VMS_VMD_MSGID_H

#define MSGID_STATE		"3dd339f766f046ceb12dceb5c89a99fd"
#define MSGID_START_FAILED	"ed374000fbdc410e83f8f0ff241dd389"
#define MSGID_RESTART_EXHAUSTED	"df5beb2bd7f84865930fb2c4d6e4f9f7"
#define MSGID_KILLED		"a6d5af4cd10e46d8ac2b6c7fdf5398a6"
#define MSGID_CRASHED		"3865a2f352d04e02971e5d114aa49c51"
#define MSGID_PANICKED		"e0d88b9c7ee749d1a9e36f768120aeca"
#define MSGID_RESTORE_FAILED	"4365eb12a4844258a7dcfd410519b009"
#define MSGID_KVM_FALLBACK	"20e12a93501042b1a9f9bd37777d5709"
#endif
