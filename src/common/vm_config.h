/* The VM's configuration: what phyllome-vmm's command line asked for (parsed by machine/config.c),
 * read by every layer that builds the machine. Types only. */
#pragma once
#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>

#include <stdint.h>

enum seccomp_mode { SECCOMP_ON, SECCOMP_LOG, SECCOMP_OFF };

#define VM_MAX_CPUS    64
#define VM_MIN_MEM     (32ull << 20)
#define VM_MAX_MEM     (1ull << 40)
#define VM_DEFAULT_MEM (512ull << 20)
#define VM_CMDLINE_MAX 4096

#define VM_MAX_DISKS 8
#define VM_MAX_NETS  4
#define VM_PATH_MAX  4096

enum serial_mode { SERIAL_TTY, SERIAL_FILE, SERIAL_SOCKET, SERIAL_OFF };

enum disk_bus { DISK_BUS_VIRTIO, DISK_BUS_NVME };

struct disk_config {
	char path[VM_PATH_MAX];
	enum disk_bus bus; /* virtio-blk (the default) or an NVMe controller of its own */
	bool readonly;
	bool direct;	 /* O_DIRECT: past the host's page cache (aligned requests) */
	bool qcow2;	 /* format=qcow2 (else raw: never probed) */
	bool backing;	 /* backing=on: a qcow2 image's backing file may be opened */
	char serial[21]; /* VIRTIO_BLK_T_GET_ID answer / NVMe serial; empty: from the index */
	int bootindex;	 /* --firmware boot order: lower boots first; -1: not listed */
};

#define VM_BOOTINDEX_MAX 9999

enum net_backend { NET_TAP, NET_PASST };
/* The NIC the guest sees: virtio-net, or an Intel 82574L for drivers operating systems ship. */
enum net_model { NET_VIRTIO, NET_E1000E };

struct net_config {
	enum net_backend backend;
	char target[VM_PATH_MAX]; /* tap interface name, or passt's socket path */
	uint8_t mac[6];
	bool mac_set; /* else a stable locally administered MAC from the index */
	enum net_model model;
};

/* --fs: a host folder shared with the guest over virtio-fs (docs/shared-folders.md). */
#define VM_MAX_FS     4
#define VM_FS_TAG_MAX 36 /* virtio-fs's tag field; the guest mounts it by this name */

struct fs_config {
	char tag[VM_FS_TAG_MAX + 1];
	char path[VM_PATH_MAX];
	bool readonly;
	bool cache_none; /* cache=none: no guest page cache for file data (FOPEN_DIRECT_IO) */
	/* The VMM's end of the socket to the folder's file server, which main forks before
	 * anything else runs (it lives across reboots); -1 until then. */
	int server_fd;
	uint8_t *shm; /* the request and reply buffer shared with it (fs_server.h) */
};

/* --display: DISPLAY_OFF has no display device at all; NONE has the device with no front end
 * (screenshots through the API); VNC serves it; WINDOW shows it in an SDL2 window. */
enum display_kind { DISPLAY_OFF, DISPLAY_NONE, DISPLAY_VNC, DISPLAY_WINDOW };

struct display_config {
	enum display_kind kind;
	char vnc_host[256]; /* TCP: address to listen on */
	unsigned vnc_port;
	char vnc_unix[108]; /* or a Unix socket path */
	char password_file[VM_PATH_MAX];
	char web_dir[VM_PATH_MAX];  /* noVNC's files: the browser console on the VNC port */
	char tls_cert[VM_PATH_MAX]; /* PEM: TLS for the browser console (https, wss) */
	char tls_key[VM_PATH_MAX];
};

/* --sound: the HD Audio device's host end (none: no sound device). */
enum sound_kind { SOUND_NONE, SOUND_WAV, SOUND_PULSE };
struct sound_config {
	enum sound_kind kind;
	char out[VM_PATH_MAX];	  /* wav=: the guest's output as a RIFF WAV file */
	char in[VM_PATH_MAX];	  /* in=: a WAV file played (looped) into the guest's capture */
	char server[VM_PATH_MAX]; /* pulse,server=PATH: the sound server's socket ("": libpulse's
				   * own search, through the environment) */
};

struct vm_config {
	const char *kernel;
	/* --firmware: UEFI code image (read-only) and optional variable store (read-write). */
	char fw_code[VM_PATH_MAX];
	char fw_vars[VM_PATH_MAX];
	bool firmware;
	/* --firmware ...,smm=: System Management Mode (Q35's SMRAM, SMIs; the flash SMM's alone
	 * once the firmware uses SMRAM). 0: when KVM has it (the default), 1: on, -1: off. */
	signed char fw_smm;
	const char *initramfs;
	const char *cmdline;
	/* --uuid: the machine's UUID (SMBIOS type 1), in the string's (RFC 4122) byte order. */
	uint8_t uuid[16];
	bool uuid_set;
	unsigned ncpus;
	bool hyperv;	 /* --cpus ...,hyperv=on: Hyper-V enlightenments (arch/x86/hyperv.h) */
	bool kvm_leaves; /* --cpus ...,kvm=off hides KVM's paravirt leaves (default: shown) */
	uint64_t mem_size;
	enum serial_mode serial;
	char serial_path[VM_PATH_MAX];
	enum serial_mode console; /* virtio-console (hvc0); SERIAL_OFF: no device */
	char console_path[VM_PATH_MAX];
	struct disk_config disks[VM_MAX_DISKS];
	unsigned ndisks;
	struct net_config nets[VM_MAX_NETS];
	unsigned nnets;
	struct fs_config fs[VM_MAX_FS];
	unsigned nfs;
	bool rng;
	bool rtc_localtime; /* --rtc base=localtime: the CMOS clock keeps the host's local time */
	bool usb;	    /* --usb: xHCI controller, USB tablet and keyboard */
	char cdrom[VM_PATH_MAX];      /* --cdrom: ISO image on an AHCI ATAPI drive; empty: none */
	int cdrom_bootindex;	      /* its place in the firmware boot order; -1: not listed */
	char tpm_socket[VM_PATH_MAX]; /* --tpm socket=: swtpm's control socket; empty: no TPM */
	struct sound_config sound;    /* --sound */
	const char *api_socket;	      /* --api-socket PATH, or NULL */
	const char *log_file;	      /* --log-file PATH, or NULL: stderr */
	uint64_t log_max;	      /* --log-max: cap of the log and file= outputs; 0: none */
	struct display_config display;
	enum seccomp_mode seccomp;
	int verbose;
	int action; /* CONFIG_RUN, CONFIG_HELP, CONFIG_VERSION */
};
