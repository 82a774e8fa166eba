/* Waiting for a VM's processes and files without sleep loops: a process's end through a pidfd
 * (pidfd_open, Linux 5.3), a file's creation through inotify. `phyllome stop` and `run -d` wake
 * when the thing they wait for happens, not at the next tick of a poll (docs/benchmarks.md,
 * "16 VMs at once"). */
#pragma once
#include <stdbool.h>
#include <sys/types.h>

/* A pidfd for pid if it runs and started at start (0: any start time), else -1 (gone, or a
 * kernel without pidfd_open: callers then fall back to their time limit). */
int mgr_pidfd(pid_t pid, unsigned long long start);

/* Waits until one of the n pidfds in fds (entries of -1 are skipped) reports its process ended,
 * or timeout_ms pass (-1: no limit). Each pidfd that fired is closed and set to -1 (it would stay
 * readable). Returns 1 when a process ended, 0 when the time ran out (also at once when no fd
 * is open: the wait then lasts timeout_ms, capped at fallback_ms), or -errno. */
int mgr_wait_pidfds(int *fds, int n, int timeout_ms, int fallback_ms);

/* Watches folder dir for new entries (created, or renamed into it). Returns an inotify fd, or -1.
 */
int mgr_watch_create(const char *dir);
/* Waits until the watched folder (wfd, from mgr_watch_create; -1: none) has a new entry, pidfd
 * (-1: none) ended, or timeout_ms pass. Returns 1 on an event, 0 on timeout, -errno. A pidfd
 * that fired is closed and set to -1. */
int mgr_wait_create(int wfd, int *pidfd, int timeout_ms);
