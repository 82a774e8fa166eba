/* Small pure helpers of the phyllome manager: VM names and ids, sizes, port forwards, and
 * Docker-style durations. No state, no I/O except the id's random bytes. */
#pragma once
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>
#include <time.h>

#define MGR_ID_LEN   16 /* hex digits of a VM's id (64 random bits) */
#define MGR_SHORT_ID 12 /* hex digits shown by ps, as Docker does */
#define MGR_NAME_MAX 63
#define MGR_MIN_MEM  (32ull << 20)
#define MGR_MAX_MEM  (1ull << 40)
#define MGR_MAX_CPUS 64
#define MGR_MAX_DISK (1ull << 50) /* 1 PiB: far beyond any sparse image one means */

/* Docker's rule: [a-zA-Z0-9][a-zA-Z0-9_.-]*, here at most 63 characters. */
bool mgr_name_valid(const char *name);
/* True if s is 1..MGR_ID_LEN lowercase hex digits (a full id or a prefix of one). */
bool mgr_hex_ref(const char *s);
/* A new random id (MGR_ID_LEN hex digits). 0 or a negative errno. */
int mgr_new_id(char out[MGR_ID_LEN + 1]);
#define MGR_UUID_LEN 36
/* The VM's machine UUID (SMBIOS system UUID, phyllome-vmm --uuid), derived from its id so that
 * it stays the same across starts: an RFC 9562 version 8 UUID whose first 12 hex digits are the
 * id's, the id's other 16 bits around the version and variant, then "phyllom" in ASCII, e.g.
 * 0123456789abcdef -> 01234567-89ab-8cde-8f70-68796c6c6f6d. id: MGR_ID_LEN hex digits. */
void mgr_vm_uuid(const char *id, char out[MGR_UUID_LEN + 1]);
/* A name like "brave_fern" from the id's bits (adjective_plant). */
void mgr_auto_name(const char *id, unsigned attempt, char *out, size_t len);

/* A size for RAM or disks: "512M", "4G", "10GiB", "1048576". Returns 0, -EINVAL (not a
 * size) or -ERANGE (zero or over max). */
int mgr_parse_size(const char *s, uint64_t max, uint64_t *out);
/* RAM: a size of whole MiB in 32M..1T. Writes a one-line reason into err on failure. */
int mgr_parse_memory(const char *s, uint64_t *out, char *err, size_t errlen);
/* "1".."64". */
int mgr_parse_cpus(const char *s, unsigned *out, char *err, size_t errlen);

struct port_map {
	uint16_t host, guest;
	bool udp;
};
/* "HOST:GUEST", "PORT" (same on both sides), with an optional "/tcp" or "/udp". */
int mgr_parse_port(const char *s, struct port_map *p, char *err, size_t errlen);

/* "5 seconds", "About a minute", "3 minutes", "About an hour", "2 hours", "3 days"... */
void mgr_human_duration(int64_t secs, char *out, size_t len);
/* "512MiB", "4GiB", "1.5GiB" */
void mgr_human_size(uint64_t bytes, char *out, size_t len);

/* The start time of process pid (field 22 of /proc/PID/stat, in clock ticks since boot), or
 * 0 if there is no such process. Lets us tell our VMM from a later process with its pid. */
unsigned long long mgr_proc_start(pid_t pid);
/* True if pid runs and started at start (start 0: any start time). */
bool mgr_proc_alive(pid_t pid, unsigned long long start);
/* The source tree's data beside the binary that runs (build/phyllome -> data/REL) into out:
 * true if it is there (readable), so a build runs with its own catalogue and app files. */
bool mgr_beside_exe(const char *rel, char *out, size_t len);
/* Connects a stream socket to the Unix socket at path; flags are added to socket()'s type
 * (SOCK_NONBLOCK). Returns the fd, or -errno with "cannot <what> PATH: reason" in err. */
int mgr_connect_unix(const char *path, int flags, const char *what, char *err, size_t errlen);
/* Whether the desktop has a sound server for --sound pulse: $PULSE_SERVER is set, or
 * $XDG_RUNTIME_DIR/pulse/native is a socket (PulseAudio's, or PipeWire's pipewire-pulse). */
bool mgr_sound_server(void);
/* Its socket as libpulse would find it, for a jailed VMM: $PULSE_SERVER if it names one socket
 * ("unix:/PATH" or "/PATH"), else $XDG_RUNTIME_DIR/pulse/native; into buf, or NULL if that is
 * not an existing socket (a server on TCP, a list, nothing set). */
const char *mgr_sound_socket(char *buf, size_t len);
