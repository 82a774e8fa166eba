/* A VM as the manager knows it: its definition (config.json, what the user asked for) and
 * its run state (state.json), each to and from JSON. Pure: no files, no processes. */
#pragma once
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "manager/util.h"

#define VMDEF_MAX_DISKS	 8
#define VMDEF_MAX_PORTS	 16
#define VMDEF_PATH	 1024
#define VMDEF_MAX_SHARES 4  /* phyllome-vmm's --fs limit */
#define VMDEF_TAG_MAX	 36 /* virtio-fs's tag field */
#define VMDEF_GUEST_PATH 256

enum vmdef_net { VMDEF_NET_NONE, VMDEF_NET_USER, VMDEF_NET_TAP };
/* The bus of the --disk disks: virtio-blk, or NVMe (Windows' inbox stornvme, every OS). */
enum vmdef_disk_bus { VMDEF_BUS_VIRTIO, VMDEF_BUS_NVME };
/* The NIC (--net-model): virtio-net, or the Intel 82574L guests without virtio drivers use. */
enum vmdef_nic { VMDEF_NIC_VIRTIO, VMDEF_NIC_E1000E };

struct vmdef_disk {
	char path[VMDEF_PATH]; /* absolute; for a disk made from SIZE, the image in the VM's folder
				*/
	uint64_t size;	       /* from --disk SIZE: the image is made at create time; 0: a file */
	bool readonly;
	bool owned;		  /* made by phyllome: removed with the VM */
	bool qcow2;		  /* format=qcow2 (else raw) */
	char backing[VMDEF_PATH]; /* a qcow2 overlay's backing image (an image of the store) */
};

/* A shared folder (-v HOST:GUEST[:ro]): phyllome-vmm --fs tag=TAG,path=HOST[,readonly=on]. */
struct vmdef_share {
	char host[VMDEF_PATH];	      /* absolute, an existing folder */
	char guest[VMDEF_GUEST_PATH]; /* where a cloud-init guest mounts it */
	char tag[VMDEF_TAG_MAX + 1];  /* derived from guest, unique in the VM */
	bool readonly;
};

struct vm_def {
	char id[MGR_ID_LEN + 1];
	char name[MGR_NAME_MAX + 1];
	unsigned cpus;
	uint64_t memory;
	char kernel[VMDEF_PATH], initramfs[VMDEF_PATH], firmware[VMDEF_PATH];
	char cmdline[4096];
	bool cmdline_set;
	char display[256];
	char sound[VMDEF_PATH + 8]; /* --sound for the VMM: pulse, wav=PATH ("": none) */
	char cdrom[VMDEF_PATH];
	char cloud_init[VMDEF_PATH]; /* user-data given with --cloud-init (its copy is in the seed)
				      */
	struct vmdef_disk disks[VMDEF_MAX_DISKS];
	unsigned ndisks;
	enum vmdef_disk_bus disk_bus;
	enum vmdef_net net;
	enum vmdef_nic nic;
	char tap[16];
	struct port_map ports[VMDEF_MAX_PORTS];
	unsigned nports;
	bool auto_remove;      /* --rm */
	bool usb;	       /* --usb: the xHCI controller with a USB tablet and keyboard */
	bool no_jail;	       /* --no-jail: the VMM runs as the user, not in phyllome-jail */
	char os[16];	       /* the --os preset it was made with ("" if none) */
	bool tpm;	       /* a TPM 2.0 on the VM's own swtpm (state in tpm/ in its folder) */
	bool hyperv;	       /* Hyper-V enlightenments (--cpus ...,hyperv=on) */
	bool rtc_local;	       /* the CMOS clock in local time (--rtc base=localtime) */
	char vars[VMDEF_PATH]; /* the VM's own UEFI variable store ("" if none): firmware is then
				* the code image (--firmware code=FIRMWARE,vars=VARS) */
	int64_t created;       /* seconds since the epoch */
	char image[128];       /* NAME:TAG of the image `run NAME` made the VM from ("" if none) */
	char ssh_user[64];     /* the cloud-init user `phyllome ssh` logs in as ("" if none) */
	struct vmdef_share shares[VMDEF_MAX_SHARES];
	unsigned nshares;
};

/* The run state. status: "created", "running" or "exited" as last written; whether the
 * processes still live is checked by the reader (store.c). */
struct vm_state {
	char status[16];
	pid_t sup_pid, vmm_pid, passt_pid, swtpm_pid;
	unsigned long long sup_start, vmm_start; /* /proc start times (pid reuse) */
	int64_t started, finished;
	int exit_code; /* -1: unknown (the supervisor died with the VMM) */
	bool has_exit;
	unsigned restarts;
};

void vmdef_init(struct vm_def *d);
/* JSON text (malloc'd, NULL on allocation failure). */
char *vmdef_dump(const struct vm_def *d);
/* Fills d from JSON; refuses what a dump never holds (bad names, sizes out of range,
 * unknown net kinds, too many disks). 0 or -EINVAL with a reason in err. */
int vmdef_load(struct vm_def *d, const char *json, size_t len, char *err, size_t errlen);

void vmstate_init(struct vm_state *s);
char *vmstate_dump(const struct vm_state *s);
/* The JSON readers every manager file uses (jansson's json_t is struct json_t): copies a string
 * value into dst (size n); -EINVAL if v is not a string, is too long or holds a NUL. */
struct json_t;
int mgr_json_copy_str(struct json_t *v, char *dst, size_t n);
/* Member key of o as an integer within [min, max] into *out; -EINVAL otherwise. */
int mgr_json_int(struct json_t *o, const char *key, int64_t min, int64_t max, int64_t *out);

int vmstate_load(struct vm_state *s, const char *json, size_t len, char *err, size_t errlen);
