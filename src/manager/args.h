/* The manager's command lines: a small option parser that, unlike phyllome-vmm's, takes
 * positional arguments and Docker's short-flag groups (-af), and the parser of the options
 * of `run` and `create` into a VM definition. Pure: nothing is opened or created here. */
#pragma once
#include <stdbool.h>
#include <stddef.h>

#include "manager/vmdef.h"

struct mgr_opt {
	const char *name; /* long name without "--" */
	char short_name;  /* 0: none */
	bool has_arg;
	int id;
};

typedef int (*mgr_opt_cb)(void *ctx, int id, const char *arg, char *err, size_t errlen);

/* Parses argv[0..argc) (the words after the verb). Options may come before, between or
 * after positional words; "--" ends the options. Positional words go to pos (at most maxpos;
 * more is an error). Returns 0 or -EINVAL with a message in err. */
int args_parse(const struct mgr_opt *defs, int argc, char *const argv[], mgr_opt_cb cb, void *ctx,
	       const char **pos, int maxpos, int *npos, char *err, size_t errlen);

/* Disks and ISOs named on the command line, before their paths are resolved and images made. */
struct run_opts {
	struct vm_def def;
	bool detach, help;
	const char *disk_specs[VMDEF_MAX_DISKS]; /* FILE or SIZE, as given */
	unsigned ndisk_specs;
	const char *net_spec;
	const char *image;   /* run/create NAME[:TAG] or URL (the positional word) */
	const char *catalog; /* --catalog FILE|URL */
	bool cpus_set, memory_set;
	/* What an --os preset must not change: set by an explicit option. */
	bool bus_set, nic_set, usb_set, tpm_set, hyperv_set, rtc_set, sound_set;
	const char *os;		   /* --os NAME (checked), or NULL */
	const char *vars_template; /* the UEFI variable store the VM's own copy is made from */
	bool want_screen;	   /* the preset wants a display and none was given */
	bool no_firmware;	   /* --firmware none */
	char *user_data; /* cloud-init user-data made for an image's VM (malloc'd), or NULL */
};

/* Parses the options of `run`/`create` (allow_detach: `run` only). Paths stay as given;
 * `--disk` words are classified later (args_disk_is_size). 0 or -EINVAL + err. */
int args_parse_run(struct run_opts *ro, bool allow_detach, int argc, char *const argv[], char *err,
		   size_t errlen);
/* A --disk word is a size ("10G") unless it names a path: anything holding a '/' or a '.' or
 * not parsing as a size is a file. Sets *size for a size. */
bool args_disk_is_size(const char *word, uint64_t *size);
/* --sound MODE into d->sound (pulse, wav=/ABSOLUTE/PATH; none clears it), for run and update.
 * 0 or -EINVAL with err set. */
int args_sound(struct vm_def *d, const char *v, char *err, size_t errlen);
/* --display MODE for update: none clears it; window or vnc=... as the VMM takes them. */
int args_display(struct vm_def *d, const char *v, char *err, size_t errlen);
