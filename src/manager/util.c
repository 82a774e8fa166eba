#include "manager/util.h"

#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "common/opts.h"

bool mgr_name_valid(const char *name)
{
	size_t n = strlen(name);

	if (n == 0 || n > MGR_NAME_MAX || !isalnum((unsigned char)name[0]))
		return false;
	for (size_t i = 1; i < n; i++) {
		unsigned char c = (unsigned char)name[i];

		if (!isalnum(c) && c != '_' && c != '.' && c != '-')
			return false;
	}
	return true;
}

bool mgr_hex_ref(const char *s)
{
	size_t n = strlen(s);

	return n >= 1 && n <= MGR_ID_LEN && strspn(s, "0123456789abcdef") == n;
}

int mgr_new_id(char out[MGR_ID_LEN + 1])
{
	uint8_t b[MGR_ID_LEN / 2];

	if (getrandom(b, sizeof(b), 0) != (ssize_t)sizeof(b))
		return -EIO;
	for (size_t i = 0; i < sizeof(b); i++)
		snprintf(out + 2 * i, 3, "%02x", b[i]);
	return 0;
}

void mgr_vm_uuid(const char *id, char out[MGR_UUID_LEN + 1])
{
	static const char tail[] = "phyllom";
	uint8_t b[8] = {0}, u[16];

	for (size_t i = 0; i < MGR_ID_LEN && id[i]; i++) {
		char c = id[i];
		unsigned v = c >= 'a' ? (unsigned)(c - 'a' + 10) : (unsigned)(c - '0');

		b[i / 2] = (uint8_t)(b[i / 2] << 4 | (v & 15));
	}
	memcpy(u, b, 6);
	u[6] = (uint8_t)(0x80 | b[6] >> 4); /* version 8 */
	u[7] = (uint8_t)(b[6] << 4 | b[7] >> 4);
	u[8] = (uint8_t)(0x80 | (b[7] & 15)); /* variant 10 */
	memcpy(u + 9, tail, 7);
	snprintf(out, MGR_UUID_LEN + 1,
		 "%02x%02x%02x%02x-%02x%02x-%02x%02x-%02x%02x-%02x%02x%02x%02x%02x%02x", u[0], u[1],
		 u[2], u[3], u[4], u[5], u[6], u[7], u[8], u[9], u[10], u[11], u[12], u[13], u[14],
		 u[15]);
}

void mgr_auto_name(const char *id, unsigned attempt, char *out, size_t len)
{
	static const char *const adj[] = {
	    "brave", "calm",  "eager", "fond",	 "gentle", "happy", "keen",  "lively",
	    "merry", "noble", "proud", "quiet",	 "rapid",  "sunny", "tidy",  "vivid",
	    "witty", "zesty", "bold",  "clever", "daring", "fresh", "jolly", "lucky",
	};
	static const char *const plant[] = {
	    "fern",  "moss",   "oak",	 "birch",  "maple", "cedar",  "ivy",	"lotus",
	    "tulip", "orchid", "clover", "willow", "aspen", "laurel", "sorrel", "thyme",
	    "basil", "mint",   "sage",	 "hazel",  "rowan", "alder",  "poppy",	"iris",
	};
	unsigned long v = strtoul(id + MGR_ID_LEN - 6, NULL, 16);
	const char *a = adj[(v >> 8) % (sizeof(adj) / sizeof(adj[0]))];
	const char *p = plant[v % (sizeof(plant) / sizeof(plant[0]))];

	if (attempt == 0)
		snprintf(out, len, "%s_%s", a, p);
	else
		snprintf(out, len, "%s_%s%u", a, p, attempt + 1);
}

int mgr_parse_size(const char *s, uint64_t max, uint64_t *out)
{
	uint64_t v;
	int rc = opts_parse_size(s, &v);

	if (rc < 0)
		return rc;
	if (v == 0 || v > max)
		return -ERANGE;
	*out = v;
	return 0;
}

int mgr_parse_memory(const char *s, uint64_t *out, char *err, size_t errlen)
{
	uint64_t v;
	int rc = mgr_parse_size(s, UINT64_MAX, &v);

	if (rc == -EINVAL) {
		snprintf(err, errlen, "invalid memory size \"%s\" (e.g. 512M, 4G)", s);
		return rc;
	}
	if (rc < 0 || v < MGR_MIN_MEM || v > MGR_MAX_MEM) {
		snprintf(err, errlen, "memory size \"%s\" is out of range (32M to 1T)", s);
		return -ERANGE;
	}
	if (v & ((1u << 20) - 1)) {
		snprintf(err, errlen, "memory size \"%s\" is not a whole number of MiB", s);
		return -EINVAL;
	}
	*out = v;
	return 0;
}

int mgr_parse_cpus(const char *s, unsigned *out, char *err, size_t errlen)
{
	uint64_t v;

	if (opts_parse_u64(s, UINT64_MAX, &v) < 0 || v < 1 || v > MGR_MAX_CPUS) {
		snprintf(err, errlen, "invalid CPU count \"%s\" (1 to %d)", s, MGR_MAX_CPUS);
		return -EINVAL;
	}
	*out = (unsigned)v;
	return 0;
}

static int parse_port_num(const char *s, size_t n, uint16_t *out)
{
	char buf[8];
	uint64_t v;

	if (n == 0 || n >= sizeof(buf))
		return -EINVAL;
	memcpy(buf, s, n);
	buf[n] = 0;
	if (opts_parse_u64(buf, 65535, &v) < 0 || v == 0)
		return -EINVAL;
	*out = (uint16_t)v;
	return 0;
}

int mgr_parse_port(const char *s, struct port_map *p, char *err, size_t errlen)
{
	const char *slash = strchr(s, '/');
	const char *colon = strchr(s, ':');
	size_t end = slash ? (size_t)(slash - s) : strlen(s);

	memset(p, 0, sizeof(*p));
	if (slash && strcmp(slash, "/tcp") && strcmp(slash, "/udp"))
		goto bad;
	p->udp = slash && !strcmp(slash, "/udp");
	if (colon && colon < s + end) {
		if (parse_port_num(s, (size_t)(colon - s), &p->host) < 0 ||
		    parse_port_num(colon + 1, end - (size_t)(colon - s) - 1, &p->guest) < 0)
			goto bad;
	} else {
		if (parse_port_num(s, end, &p->host) < 0)
			goto bad;
		p->guest = p->host;
	}
	return 0;
bad:
	snprintf(err, errlen,
		 "invalid port forward \"%s\" (HOST:GUEST or PORT, 1 to 65535, optional /tcp "
		 "or /udp)",
		 s);
	return -EINVAL;
}

void mgr_human_duration(int64_t secs, char *out, size_t len)
{
	if (secs < 1)
		snprintf(out, len, "Less than a second");
	else if (secs == 1)
		snprintf(out, len, "1 second");
	else if (secs < 60)
		snprintf(out, len, "%" PRId64 " seconds", secs);
	else if (secs < 120)
		snprintf(out, len, "About a minute");
	else if (secs < 3600)
		snprintf(out, len, "%" PRId64 " minutes", secs / 60);
	else if (secs < 7200)
		snprintf(out, len, "About an hour");
	else if (secs < 48 * 3600)
		snprintf(out, len, "%" PRId64 " hours", secs / 3600);
	else
		snprintf(out, len, "%" PRId64 " days", secs / 86400);
}

void mgr_human_size(uint64_t bytes, char *out, size_t len)
{
	static const char *const unit[] = {"B", "KiB", "MiB", "GiB", "TiB", "PiB"};
	unsigned u = 0;
	uint64_t whole = bytes, rem = 0;

	while (whole >= 1024 && u + 1 < sizeof(unit) / sizeof(unit[0])) {
		rem = whole % 1024;
		whole /= 1024;
		u++;
	}
	if (rem)
		snprintf(out, len, "%" PRIu64 ".%" PRIu64 "%s", whole, rem * 10 / 1024, unit[u]);
	else
		snprintf(out, len, "%" PRIu64 "%s", whole, unit[u]);
}

unsigned long long mgr_proc_start(pid_t pid)
{
	char path[64], buf[1024];
	unsigned long long start = 0;
	ssize_t n;
	int fd;
	char *p;

	if (pid <= 0)
		return 0;
	snprintf(path, sizeof(path), "/proc/%d/stat", (int)pid);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return 0;
	n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	if (n <= 0)
		return 0;
	buf[n] = 0;
	/* The command name may hold spaces and ')': fields count from the last ')'. */
	p = strrchr(buf, ')');
	if (!p || p[1] != ' ')
		return 0;
	p += 2;
	/* p is at field 3 (state); a zombie has exited. Field 22 is the start time. */
	if (*p == 'Z' || *p == 'X')
		return 0;
	for (int field = 3; field < 22 && p; field++) {
		p = strchr(p, ' ');
		if (p)
			p++;
	}
	if (!p || sscanf(p, "%llu", &start) != 1)
		return 0;
	return start;
}

bool mgr_proc_alive(pid_t pid, unsigned long long start)
{
	unsigned long long now = mgr_proc_start(pid);

	return now != 0 && (start == 0 || now == start);
}

int mgr_connect_unix(const char *path, int flags, const char *what, char *err, size_t errlen)
{
	struct sockaddr_un sa = {.sun_family = AF_UNIX};
	int fd, rc = 0;

	if (strlen(path) >= sizeof(sa.sun_path)) {
		snprintf(err, errlen, "cannot %s %s: the socket path is too long", what, path);
		return -ENAMETOOLONG;
	}
	strcpy(sa.sun_path, path);
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | flags, 0);
	if (fd < 0)
		rc = -errno;
	/* A non-blocking connect to a listener whose backlog is full fails with EAGAIN at once
	 * (a blocking one would wait): retry for up to 5 s before giving up. */
	for (int tries = 0; fd >= 0; tries++) {
		if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) == 0) {
			rc = 0;
			break;
		}
		rc = -errno;
		if (rc != -EAGAIN || tries == 500)
			break;
		usleep(10000);
	}
	if (rc < 0) {
		snprintf(err, errlen, "cannot %s %s: %s", what, path, strerror(-rc));
		if (fd >= 0)
			close(fd);
		return rc;
	}
	return fd;
}

bool mgr_beside_exe(const char *rel, char *out, size_t len)
{
	char exe[PATH_MAX];
	ssize_t n = readlink("/proc/self/exe", exe, sizeof(exe) - 1);
	char *slash;

	if (n <= 0)
		return false;
	exe[n] = 0;
	slash = strrchr(exe, '/');
	if (!slash)
		return false;
	*slash = 0;
	return snprintf(out, len, "%s/../data/%s", exe, rel) < (int)len && access(out, R_OK) == 0;
}

const char *mgr_sound_socket(char *buf, size_t len)
{
	const char *env = getenv("PULSE_SERVER"), *xdg = getenv("XDG_RUNTIME_DIR");
	struct stat st;
	int n;

	if (env && env[0]) {
		if (!strncmp(env, "unix:", 5))
			env += 5;
		/* a list of servers, or one on TCP: nothing to hand in */
		if (env[0] != '/' || strpbrk(env, " ,"))
			return NULL;
		n = snprintf(buf, len, "%s", env);
	} else if (xdg && xdg[0] == '/') {
		n = snprintf(buf, len, "%s/pulse/native", xdg);
	} else {
		return NULL;
	}
	if (n < 0 || (size_t)n >= len)
		return NULL;
	return stat(buf, &st) == 0 && S_ISSOCK(st.st_mode) ? buf : NULL;
}

bool mgr_sound_server(void)
{
	const char *env = getenv("PULSE_SERVER");
	char path[PATH_MAX];

	return (env && *env) || mgr_sound_socket(path, sizeof(path));
}
