// benchrun: runs one VMM, times its guest's serial marker and measures its memory.
//
// Built static on the host (by bench/run-boot-bench.sh) and run inside the rig's L1, where
// busybox's `date` has no nanoseconds and `time` only gives ru_maxrss without the guest's share.
//
//   benchrun -n NAME -m MARKER [-r READY] [-s LINE] [-k] [-g MIB] [-t SEC] [-o FILE] [-e FILE]
//            -- VMM ARGS...
//   benchrun -c      prints "BENCH-CLOCK l1_mono_us=N" (L1's CLOCK_MONOTONIC, for the host)
//
// 1. t0 = CLOCK_MONOTONIC, then fork + exec VMM with stdin and stdout on pipes (the guest's
//    serial port) and stderr to FILE (-e, default /dev/null).
// 2. Reads the serial output (copied to -o FILE) until MARKER appears: marker_us.
// 3. Waits for READY (default: MARKER), then samples /proc/PID/status (VmHWM, VmRSS, RssAnon,
//    RssFile, RssShmem, Threads) and /proc/PID/smaps: the summed Rss of the mappings at least
//    half of the guest RAM size (-g MIB) big is the guest RAM the VMM has resident (guest_kb).
//    This is the same rule for every VMM: phyllome-vmm's memfd mapping, QEMU's anonymous
//    "pc.ram"/"microvm.ram" mapping. smaps_rss_kb is the Rss of all mappings, from the same
//    page-table walk (exact; VmRSS/VmHWM come from counters that may lag by a few pages per
//    thread on Linux 6.1); anon_huge_kb and shmem_pmd_kb sum AnonHugePages and ShmemPmdMapped
//    (memory in transparent huge pages).
// 4. Then: -s LINE writes LINE and a newline to the guest's serial input (e.g. "poweroff -f") and
//    waits for the VMM to exit (LINE is sent again every 10 s); -k kills it (SIGKILL); neither:
//    waits for it to exit by itself.
// 5. Reaps it with wait4: maxrss_kb is ru_maxrss, the process's peak RSS over its life (the
//    pre-exec child is a copy of this small program, far below any VMM's peak, so the maximum
//    is the VMM's); utime_ms and stime_ms its CPU time.
// Also, when the marker arrives: KVM's counters for the VM from debugfs (kvm_exits,
// kvm_io_exits, kvm_mmio_exits, kvm_pf_taken, kvm_pages_2m...: kvm_stat_names below; needs
// debugfs mounted).
// Prints one line: "BENCH name=NAME status=... start_mono_us=(t0) marker_us=... ready_us=...
// end_us=... maxrss_kb=... hwm_kb=... rss_kb=... anon_kb=... file_kb=... shmem_kb=... guest_kb=...
// smaps_rss_kb=... threads=... utime_ms=... stime_ms=... kvm_exits=...", -1 for
// what could not be measured (e.g. the VMM exited before the sample). Exit status 0 if the
// marker was seen, else 1.
#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/time.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static long long now_us(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000000LL + ts.tv_nsec / 1000;
}

struct sample {
	long hwm, rss, anon, file, shmem, guest, threads, smaps, anon_huge, shmem_pmd;
};

static long status_field(const char *buf, const char *name)
{
	const char *p = buf;
	size_t n = strlen(name);
	while ((p = strstr(p, name)) != NULL) {
		if ((p == buf || p[-1] == '\n') && p[n] == ':')
			return strtol(p + n + 1, NULL, 10);
		p += n;
	}
	return -1;
}

static void take_sample(pid_t pid, long guest_mib, struct sample *s)
{
	char path[64], buf[8192];
	s->hwm = s->rss = s->anon = s->file = s->shmem = s->guest = s->threads = s->smaps = -1;
	s->anon_huge = s->shmem_pmd = -1;

	snprintf(path, sizeof(path), "/proc/%d/status", (int)pid);
	int fd = open(path, O_RDONLY);
	if (fd < 0)
		return;
	ssize_t n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	if (n <= 0)
		return;
	buf[n] = 0;
	s->hwm = status_field(buf, "VmHWM");
	s->rss = status_field(buf, "VmRSS");
	s->anon = status_field(buf, "RssAnon");
	s->file = status_field(buf, "RssFile");
	s->shmem = status_field(buf, "RssShmem");
	s->threads = status_field(buf, "Threads");

	// smaps: a mapping header is "start-end perms offset dev inode [path]", followed by
	// "Field: value kB" lines. Guest RAM = mappings of at least half the guest's RAM size.
	snprintf(path, sizeof(path), "/proc/%d/smaps", (int)pid);
	FILE *f = fopen(path, "r");
	if (!f)
		return;
	char line[512];
	unsigned long long min_kb = (unsigned long long)guest_mib * 1024 / 2;
	int in_guest = 0;
	long guest = 0, total = 0, anon_huge = 0, shmem_pmd = 0;
	while (fgets(line, sizeof(line), f)) {
		unsigned long long start, end;
		char c;
		if (sscanf(line, "%llx-%llx %c", &start, &end, &c) == 3 && strchr(line, ' ')) {
			in_guest = guest_mib > 0 && (end - start) / 1024 >= min_kb;
		} else if (strncmp(line, "Rss:", 4) == 0) {
			long kb = strtol(line + 4, NULL, 10);
			total += kb;
			if (in_guest)
				guest += kb;
		} else if (strncmp(line, "AnonHugePages:", 14) == 0) {
			anon_huge += strtol(line + 14, NULL, 10);
		} else if (strncmp(line, "ShmemPmdMapped:", 15) == 0) {
			shmem_pmd += strtol(line + 15, NULL, 10);
		}
	}
	fclose(f);
	s->guest = guest_mib > 0 ? guest : -1;
	s->smaps = total;
	s->anon_huge = anon_huge;
	s->shmem_pmd = shmem_pmd;
}

// KVM's per-VM counters in debugfs (/sys/kernel/debug/kvm/PID-FD/, summed over vCPUs), read when
// the marker arrives: how many exits the boot took, and of which kind. In the rig each exit costs
// L1 far more than on hardware, so these explain much of the rig's times.
static const char *const kvm_stat_names[] = {
    "exits",	"io_exits", "mmio_exits", "halt_exits", "irq_exits",	  "irq_window_exits",
    "pf_taken", "pf_fixed", "pages_4k",	  "pages_2m",	"insn_emulation", "hypercalls",
};
#define N_KVM_STATS (sizeof(kvm_stat_names) / sizeof(kvm_stat_names[0]))

static void kvm_stats(pid_t pid, long long *out)
{
	char prefix[32], path[512], buf[64];
	for (size_t i = 0; i < N_KVM_STATS; i++)
		out[i] = -1;
	snprintf(prefix, sizeof(prefix), "%d-", (int)pid);
	DIR *d = opendir("/sys/kernel/debug/kvm");
	if (!d)
		return;
	struct dirent *e;
	while ((e = readdir(d)) != NULL) {
		if (strncmp(e->d_name, prefix, strlen(prefix)) != 0)
			continue;
		for (size_t i = 0; i < N_KVM_STATS; i++) {
			snprintf(path, sizeof(path), "/sys/kernel/debug/kvm/%s/%s", e->d_name,
				 kvm_stat_names[i]);
			int fd = open(path, O_RDONLY);
			if (fd < 0)
				continue;
			ssize_t n = read(fd, buf, sizeof(buf) - 1);
			close(fd);
			if (n > 0) {
				buf[n] = 0;
				out[i] = (out[i] < 0 ? 0 : out[i]) + strtoll(buf, NULL, 10);
			}
		}
	}
	closedir(d);
}

static void usage(void)
{
	fprintf(stderr, "usage: benchrun -n NAME -m MARKER [-r READY] [-s LINE] [-k] [-g MIB]"
			" [-t SEC] [-o FILE] [-e FILE] -- VMM ARGS...\n");
	exit(2);
}

int main(int argc, char **argv)
{
	const char *name = "run", *marker = NULL, *ready = NULL, *send = NULL;
	const char *out_path = NULL, *err_path = "/dev/null";
	int kill_after = 0, opt;
	long guest_mib = 0, timeout_s = 120;

	while ((opt = getopt(argc, argv, "+cn:m:r:s:kg:t:o:e:")) != -1) {
		switch (opt) {
		case 'c':
			// For the host's clock mapping (bench/hostcpu.py): L1's CLOCK_MONOTONIC
			// now.
			printf("BENCH-CLOCK l1_mono_us=%lld\n", now_us());
			return 0;
		case 'n':
			name = optarg;
			break;
		case 'm':
			marker = optarg;
			break;
		case 'r':
			ready = optarg;
			break;
		case 's':
			send = optarg;
			break;
		case 'k':
			kill_after = 1;
			break;
		case 'g':
			guest_mib = strtol(optarg, NULL, 10);
			break;
		case 't':
			timeout_s = strtol(optarg, NULL, 10);
			break;
		case 'o':
			out_path = optarg;
			break;
		case 'e':
			err_path = optarg;
			break;
		default:
			usage();
		}
	}
	if (!marker || optind >= argc)
		usage();
	if (!ready)
		ready = marker;
	signal(SIGPIPE, SIG_IGN);

	int in_pipe[2], out_pipe[2];
	if (pipe2(in_pipe, O_CLOEXEC) || pipe2(out_pipe, O_CLOEXEC)) {
		perror("benchrun: pipe");
		return 2;
	}
	int err_fd = open(err_path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	int copy_fd =
	    out_path ? open(out_path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644) : -1;
	if (err_fd < 0) {
		perror(err_path);
		return 2;
	}

	long long t0 = now_us();
	pid_t pid = fork();
	if (pid < 0) {
		perror("benchrun: fork");
		return 2;
	}
	if (pid == 0) {
		dup2(in_pipe[0], 0);
		dup2(out_pipe[1], 1);
		dup2(err_fd, 2);
		execvp(argv[optind], argv + optind);
		_exit(127);
	}
	close(in_pipe[0]);
	close(out_pipe[1]);

	// The serial output, kept whole (a quiet boot writes a few KiB) for the marker searches.
	size_t cap = 1 << 16, len = 0;
	char *buf = malloc(cap);
	if (!buf) {
		fprintf(stderr, "benchrun: out of memory\n");
		kill(pid, SIGKILL);
		return 2;
	}
	long long marker_us = -1, ready_us = -1, end_us = -1, sent_us = -1;
	long long deadline = t0 + timeout_s * 1000000LL;
	struct sample s = {-1, -1, -1, -1, -1, -1, -1, -1, -1, -1};
	int sampled = 0, out_open = 1, exited = 0, timed_out = 0, wstatus = 0;
	struct rusage ru;
	memset(&ru, 0, sizeof(ru));
	long long kst[N_KVM_STATS];
	for (size_t i = 0; i < N_KVM_STATS; i++)
		kst[i] = -1;

	for (;;) {
		if (!exited) {
			pid_t w = wait4(pid, &wstatus, WNOHANG, &ru);
			if (w == pid) {
				exited = 1;
				end_us = now_us() - t0;
			}
		}
		if (exited && !out_open)
			break;
		long long now = now_us();
		if (now >= deadline && !exited) {
			timed_out = 1;
			kill(pid, SIGKILL);
			wait4(pid, &wstatus, 0, &ru);
			exited = 1;
			end_us = now_us() - t0;
			break;
		}
		if (sampled && send && !exited && now - sent_us >= 10000000LL) {
			if (write(in_pipe[1], send, strlen(send)) < 0 ||
			    write(in_pipe[1], "\n", 1) < 0) {
				// the VMM closed its input: it is on its way out
			}
			sent_us = now;
		}
		// Without the output pipe (closed) we still poll, with a short timeout, for the
		// exit.
		struct pollfd p = {.fd = out_open ? out_pipe[0] : -1, .events = POLLIN};
		int wait_ms = exited ? 1000 : 50;
		if (poll(&p, 1, wait_ms) < 0 && errno != EINTR)
			break;
		if (out_open && (p.revents & (POLLIN | POLLHUP | POLLERR))) {
			if (len + 4096 > cap) {
				char *bigger = realloc(buf, cap * 2);
				if (!bigger) {
					fprintf(stderr, "benchrun: out of memory\n");
					kill(pid, SIGKILL);
					return 2;
				}
				buf = bigger;
				cap *= 2;
			}
			ssize_t n = read(out_pipe[0], buf + len, cap - len - 1);
			if (n <= 0) {
				out_open = 0;
				close(out_pipe[0]);
				if (exited)
					break;
				continue;
			}
			long long t = now_us() - t0;
			if (copy_fd >= 0 && write(copy_fd, buf + len, n) < 0) {
				close(copy_fd);
				copy_fd = -1;
			}
			size_t from = len;
			len += n;
			buf[len] = 0;
			if (marker_us < 0) {
				size_t m = strlen(marker);
				size_t back = from >= m ? from - m + 1 : 0;
				if (memmem(buf + back, len - back, marker, m)) {
					marker_us = t;
					if (!exited)
						kvm_stats(pid, kst);
				}
			}
			if (marker_us >= 0 && ready_us < 0) {
				// READY may be the marker itself, or come later: search all the
				// output.
				if (memmem(buf, len, ready, strlen(ready)))
					ready_us = t;
			}
			if (ready_us >= 0 && !sampled && !exited) {
				take_sample(pid, guest_mib, &s);
				sampled = 1;
				if (kill_after) {
					kill(pid, SIGKILL);
				} else if (send) {
					if (write(in_pipe[1], send, strlen(send)) < 0 ||
					    write(in_pipe[1], "\n", 1) < 0) {
						// see above
					}
					sent_us = now_us();
				}
			}
		}
	}
	if (!exited) {
		wait4(pid, &wstatus, 0, &ru);
		end_us = now_us() - t0;
	}

	char st[32];
	if (timed_out)
		snprintf(st, sizeof(st), "timeout");
	else if (WIFEXITED(wstatus))
		snprintf(st, sizeof(st), "exit:%d", WEXITSTATUS(wstatus));
	else if (WIFSIGNALED(wstatus))
		snprintf(st, sizeof(st), "signal:%d", WTERMSIG(wstatus));
	else
		snprintf(st, sizeof(st), "unknown");
	printf(
	    "BENCH name=%s status=%s start_mono_us=%lld marker_us=%lld ready_us=%lld end_us=%lld"
	    " maxrss_kb=%ld hwm_kb=%ld rss_kb=%ld anon_kb=%ld file_kb=%ld shmem_kb=%ld guest_kb=%ld"
	    " smaps_rss_kb=%ld threads=%ld",
	    name, st, t0, marker_us, ready_us, end_us, ru.ru_maxrss, s.hwm, s.rss, s.anon, s.file,
	    s.shmem, s.guest, s.smaps, s.threads);
	printf(" anon_huge_kb=%ld shmem_pmd_kb=%ld", s.anon_huge, s.shmem_pmd);
	printf(" utime_ms=%ld stime_ms=%ld", ru.ru_utime.tv_sec * 1000 + ru.ru_utime.tv_usec / 1000,
	       ru.ru_stime.tv_sec * 1000 + ru.ru_stime.tv_usec / 1000);
	for (size_t i = 0; i < N_KVM_STATS; i++)
		printf(" kvm_%s=%lld", kvm_stat_names[i], kst[i]);
	printf("\n");
	fflush(stdout);
	return marker_us >= 0 ? 0 : 1;
}
