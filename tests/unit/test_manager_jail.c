/* The manager's phyllome-jail command line (src/manager/jail_argv.c): what a VM is handed
 * (its folder, shares, files, the display's socket folder and files), each once and never
 * inside a folder already handed in, symbolic links resolved to SRC:DEST, raw disks and the
 * CD by descriptor (--fd[-ro] REAL:N, the VMM's argv naming /dev/fd/N), --host-net and --tun
 * for a tap or a VNC port on TCP, the VMM's argv after "--" unchanged; and which VMs cannot be
 * jailed yet, as inspect says it. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>
#include <cmocka.h>

#include "manager/supervise.h"
#include "manager/vmdef.h"

#define DIR "/st/vms/0123456789abcdef"

static struct vm_entry *new_vm(void)
{
	struct vm_entry *e = calloc(1, sizeof(*e));

	assert_non_null(e);
	vmdef_init(&e->def);
	strcpy(e->def.id, "0123456789abcdef");
	strcpy(e->def.name, "vm1");
	strcpy(e->dir, DIR);
	return e;
}

static void add_disk(struct vm_def *d, const char *path, bool ro, const char *backing)
{
	struct vmdef_disk *k = &d->disks[d->ndisks++];

	snprintf(k->path, sizeof(k->path), "%s", path);
	k->readonly = ro;
	snprintf(k->backing, sizeof(k->backing), "%s", backing ? backing : "");
	k->qcow2 = backing != NULL;
}

static void add_share(struct vm_def *d, const char *host, bool ro)
{
	struct vmdef_share *s = &d->shares[d->nshares++];

	snprintf(s->host, sizeof(s->host), "%s", host);
	snprintf(s->guest, sizeof(s->guest), "/mnt/s%u", d->nshares);
	snprintf(s->tag, sizeof(s->tag), "mnt-s%u", d->nshares);
	s->readonly = ro;
}

/* The jail's options (argv up to "--") as one line: "--userns --id jail ...". */
static void options(char **argv, char *out, size_t len)
{
	size_t o = 0;

	out[0] = 0;
	for (size_t i = 1; argv[i] && strcmp(argv[i], "--") && o < len; i++)
		o += (size_t)snprintf(out + o, len - o, "%s%s", i > 1 ? " " : "", argv[i]);
}

static size_t count(char **argv, const char *word)
{
	size_t n = 0;

	for (size_t i = 0; argv[i]; i++)
		n += !strcmp(argv[i], word);
	return n;
}

/* Pretends /link is a symbolic link to /real. */
static const char *fake_resolve(const char *path, char *buf, size_t len)
{
	if (strncmp(path, "/link/", 6))
		return path;
	snprintf(buf, len, "/real/%s", path + 6);
	return buf;
}

static void test_everything_handed_in(void **state)
{
	struct vm_entry *e = new_vm();
	struct vm_def *d = &e->def;
	char **vmm, **argv, opts[4096];
	size_t i;

	(void)state;
	strcpy(d->kernel, "/boot/vmlinuz");
	strcpy(d->initramfs, "/boot/initrd.img");
	strcpy(d->firmware, "/usr/share/OVMF/OVMF_CODE_4M.fd");
	strcpy(d->vars, DIR "/vars.fd"); /* in the folder */
	strcpy(d->cdrom, "/iso/debian.iso");
	add_disk(d, DIR "/disk0.img", false, NULL);			    /* in the folder */
	add_disk(d, "/data/vm1.qcow2", false, "/st/images/deb/disk.qcow2"); /* its backing too */
	add_disk(d, "/data/ro.img", true, NULL);
	add_disk(d, "/data/ro.img", true, NULL);	  /* the same file twice: handed once */
	add_disk(d, "/srv/work/inside.img", false, NULL); /* inside a share: not again */
	add_share(d, "/srv/work", false);
	add_share(d, "/srv/ro", true);
	strcpy(d->display, "vnc=unix:/run/app/vnc/0123.sock,password=/etc/vnc.pw");
	d->net = VMDEF_NET_USER;
	vmm = sup_vmm_argv_jailed(e, "/usr/bin/phyllome-vmm");
	assert_non_null(vmm);
	argv = sup_jail_argv(e, "/usr/bin/phyllome-jail", vmm, NULL);
	assert_non_null(argv);
	assert_string_equal(argv[0], "/usr/bin/phyllome-jail");
	options(argv, opts, sizeof(opts));
	/* raw disks (in the folder, read-only, twice, inside a share: each its own descriptor)
	 * and the CD by descriptor; the qcow2 overlay and its backing by path */
	assert_string_equal(opts, "--userns --id jail --chroot-base " DIR " --file " DIR
				  " --file /srv/work --file-ro /srv/ro --file /run/app/vnc"
				  " --file-ro /etc/vnc.pw --file-ro /boot/vmlinuz"
				  " --file-ro /boot/initrd.img"
				  " --file-ro /usr/share/OVMF/OVMF_CODE_4M.fd"
				  " --file /data/vm1.qcow2 --file-ro /st/images/deb/disk.qcow2"
				  " --fd " DIR
				  "/disk0.img:3 --fd-ro /data/ro.img:4 --fd-ro /data/ro.img:5"
				  " --fd /srv/work/inside.img:6 --fd-ro /iso/debian.iso:7 --proc");
	/* the VMM finds them at /dev/fd/N; no path of theirs is in its argv */
	assert_int_equal(count(vmm, "path=/dev/fd/3"), 1);
	assert_int_equal(count(vmm, "path=/dev/fd/4,readonly=on"), 1);
	assert_int_equal(count(vmm, "path=/dev/fd/5,readonly=on"), 1);
	assert_int_equal(count(vmm, "path=/dev/fd/6"), 1);
	assert_int_equal(count(vmm, "path=/data/vm1.qcow2,format=qcow2,backing=on"), 1);
	assert_int_equal(count(vmm, "/dev/fd/7"), 1);
	for (i = 0; vmm[i]; i++) {
		assert_null(strstr(vmm[i], "debian.iso"));
		assert_null(strstr(vmm[i], "ro.img"));
		assert_null(strstr(vmm[i], "disk0.img"));
		assert_null(strstr(vmm[i], "inside.img"));
	}
	/* passt is reached by its socket: a new network namespace, no tun */
	assert_int_equal(count(argv, "--host-net"), 0);
	assert_int_equal(count(argv, "--tun"), 0);
	/* after "--": the VMM's argv, word for word */
	for (i = 0; argv[i] && strcmp(argv[i], "--"); i++)
		;
	assert_non_null(argv[i]);
	for (size_t k = 0; vmm[k]; k++)
		assert_string_equal(argv[i + 1 + k], vmm[k]);
	sup_free_argv(argv);
	sup_free_argv(vmm);
	free(e);
}

static void test_network_and_links(void **state)
{
	struct vm_entry *e = new_vm();
	struct vm_def *d = &e->def;
	char *vmm[] = {(char *)"/v", NULL}, **argv, opts[2048];

	(void)state;
	/* a VNC port on TCP: the host's network, no tun */
	strcpy(d->display, "vnc=127.0.0.1:5901,web=on,tls-cert=/link/c.pem,tls-key=/k.pem");
	strcpy(d->kernel, "/link/vmlinuz");
	argv = sup_jail_argv(e, "/j", vmm, fake_resolve);
	assert_non_null(argv);
	options(argv, opts, sizeof(opts));
	assert_string_equal(opts,
			    "--userns --id jail --chroot-base " DIR " --file " DIR
			    " --file-ro /usr/share/novnc --file-ro /real/c.pem:/link/c.pem"
			    " --file-ro /k.pem --file-ro /real/vmlinuz:/link/vmlinuz --host-net");
	sup_free_argv(argv);

	/* a tap: the host's network and /dev/net/tun */
	d->display[0] = 0;
	d->kernel[0] = 0;
	d->net = VMDEF_NET_TAP;
	strcpy(d->tap, "tap0");
	argv = sup_jail_argv(e, "/j", vmm, NULL);
	options(argv, opts, sizeof(opts));
	assert_string_equal(opts, "--userns --id jail --chroot-base " DIR " --file " DIR
				  " --host-net --tun");
	assert_string_equal(argv[10], "--");
	assert_string_equal(argv[11], "/v");
	sup_free_argv(argv);

	/* a socket folder holding the VM's folder (the rig's work folder): the outer one only;
	 * a file as a disk and as the CD: two descriptors, read-write and read-only; a disk
	 * through a symbolic link: the jail opens the real path (and refuses a link on it) */
	d->net = VMDEF_NET_NONE;
	d->tap[0] = 0;
	strcpy(d->display, "vnc=unix:/st/vm1-vnc.sock");
	strcpy(d->cdrom, "/data/x.img");
	add_disk(d, "/data/x.img", false, NULL);
	add_disk(d, "/link/y.img", true, NULL);
	argv = sup_jail_argv(e, "/j", vmm, fake_resolve);
	options(argv, opts, sizeof(opts));
	assert_string_equal(opts,
			    "--userns --id jail --chroot-base " DIR " --file /st"
			    " --fd /data/x.img:3 --fd-ro /real/y.img:4 --fd-ro /data/x.img:5");
	sup_free_argv(argv);
	free(e);
}

static void test_blockers(void **state)
{
	struct vm_entry *e = new_vm();
	struct vm_def *d = &e->def;
	char out[200];

	(void)state;
	assert_null(sup_jail_blocker(d));
	sup_jail_describe(d, out, sizeof(out));
	assert_string_equal(out, "on");
	strcpy(d->display, "vnc=127.0.0.1:5900");
	assert_null(sup_jail_blocker(d));
	strcpy(d->display, "window");
	assert_non_null(strstr(sup_jail_blocker(d), "window"));
	sup_jail_describe(d, out, sizeof(out));
	assert_true(!strncmp(out, "off: its window", 15));
	d->display[0] = 0;
	/* sound: pulse with no server socket to hand in; a WAV file the VMM would create */
	unsetenv("PULSE_SERVER");
	unsetenv("XDG_RUNTIME_DIR");
	strcpy(d->sound, "pulse");
	assert_non_null(strstr(sup_jail_blocker(d), "no"));
	strcpy(d->sound, "wav=/tmp/out.wav");
	assert_non_null(strstr(sup_jail_blocker(d), "wav="));
	d->sound[0] = 0;
	/* A raw disk or a CD that is a device node goes in by descriptor: jailed. Only a qcow2
	 * disk that is one (by its path under /dev, or by what stat says) would need binding. */
	assert_null(sup_jail_blocker(d));
	d->ndisks = 1;
	strcpy(d->disks[0].path, "/dev/vda");
	assert_null(sup_jail_blocker(d));
	strcpy(d->cdrom, "/dev/sr0");
	assert_null(sup_jail_blocker(d));
	d->disks[0].qcow2 = true;
	assert_non_null(strstr(sup_jail_blocker(d), "device node"));
	strcpy(d->disks[0].path, "/tmp/not-there.img");
	assert_null(sup_jail_blocker(d));
	d->ndisks = 0;
	d->cdrom[0] = 0;
	d->no_jail = true;
	sup_jail_describe(d, out, sizeof(out));
	assert_string_equal(out, "off (--no-jail)");
	free(e);
}

/* The descriptor numbers: raw disks from 3 in order, then the CD; qcow2 disks none. The VMM's
 * argv names them only when jailed. */
static void test_fd_numbers(void **state)
{
	struct vm_entry *e = new_vm();
	struct vm_def *d = &e->def;
	char **vmm;

	(void)state;
	assert_int_equal(sup_jail_fd(d, 0), -1); /* no disk, no CD */
	add_disk(d, "/a.qcow2", false, "/base.qcow2");
	add_disk(d, "/dev/vdb", false, NULL);
	add_disk(d, "/b.img", true, NULL);
	assert_int_equal(sup_jail_fd(d, 0), -1);
	assert_int_equal(sup_jail_fd(d, 1), 3);
	assert_int_equal(sup_jail_fd(d, 2), 4);
	assert_int_equal(sup_jail_fd(d, 3), -1); /* no CD */
	strcpy(d->cdrom, "/c.iso");
	assert_int_equal(sup_jail_fd(d, 3), 5);
	assert_int_equal(sup_jail_fd(d, 4), -1);
	for (unsigned i = d->ndisks; i < VMDEF_MAX_DISKS; i++)
		add_disk(d, "/many.img", false, NULL);
	/* the CD after seven raw disks; at most eight and a CD: 3 to 11, within the jail's 3 to 18
	 */
	assert_int_equal(sup_jail_fd(d, VMDEF_MAX_DISKS), 3 + VMDEF_MAX_DISKS - 1);
	vmm = sup_vmm_argv(e, "vmm");
	assert_int_equal(count(vmm, "path=/dev/vdb"), 1);
	assert_int_equal(count(vmm, "/c.iso"), 1);
	sup_free_argv(vmm);
	vmm = sup_vmm_argv_jailed(e, "vmm");
	assert_int_equal(count(vmm, "path=/dev/fd/3"), 1);
	assert_int_equal(count(vmm, "path=/dev/fd/4,readonly=on"), 1);
	assert_int_equal(count(vmm, "/dev/fd/10"), 1); /* the CD after 8 disks, one qcow2 */
	assert_int_equal(count(vmm, "path=/dev/vdb"), 0);
	sup_free_argv(vmm);
	free(e);
}

/* --sound pulse, jailed: the server's socket as libpulse finds it ($PULSE_SERVER naming one
 * socket, else $XDG_RUNTIME_DIR/pulse/native), bound into the jail, the VMM told its path;
 * a TCP server, a list or a file that is no socket: not found, so the VM runs unjailed. */
static void test_pulse_socket(void **state)
{
	struct vm_entry *e = new_vm();
	struct vm_def *d = &e->def;
	struct sockaddr_un sa = {.sun_family = AF_UNIX};
	char dir[] = "/tmp/phyllome-pulse-XXXXXX", sock[96], env[160], buf[256], opts[1024];
	char **vmm, **argv;
	int fd;

	(void)state;
	assert_non_null(mkdtemp(dir));
	snprintf(sock, sizeof(sock), "%s/pulse", dir);
	assert_int_equal(mkdir(sock, 0700), 0);
	snprintf(sock, sizeof(sock), "%s/pulse/native", dir);
	snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", sock);
	fd = socket(AF_UNIX, SOCK_STREAM, 0);
	assert_true(fd >= 0);
	assert_int_equal(bind(fd, (struct sockaddr *)&sa, sizeof(sa)), 0);

	unsetenv("PULSE_SERVER");
	unsetenv("XDG_RUNTIME_DIR");
	assert_null(mgr_sound_socket(buf, sizeof(buf)));
	setenv("XDG_RUNTIME_DIR", dir, 1);
	assert_string_equal(mgr_sound_socket(buf, sizeof(buf)), sock);
	snprintf(env, sizeof(env), "unix:%s", sock);
	setenv("PULSE_SERVER", env, 1);
	assert_string_equal(mgr_sound_socket(buf, sizeof(buf)), sock);
	setenv("PULSE_SERVER", sock, 1);
	assert_string_equal(mgr_sound_socket(buf, sizeof(buf)), sock);
	setenv("PULSE_SERVER", "tcp:localhost:4713", 1);
	assert_null(mgr_sound_socket(buf, sizeof(buf)));
	snprintf(env, sizeof(env), "unix:%s unix:/other", sock);
	setenv("PULSE_SERVER", env, 1);
	assert_null(mgr_sound_socket(buf, sizeof(buf)));
	setenv("PULSE_SERVER", "/etc/passwd", 1); /* not a socket */
	assert_null(mgr_sound_socket(buf, sizeof(buf)));
	unsetenv("PULSE_SERVER");

	strcpy(d->sound, "pulse");
	assert_null(sup_jail_blocker(d));
	vmm = sup_vmm_argv(e, "vmm");
	assert_int_equal(count(vmm, "pulse"), 1);
	sup_free_argv(vmm);
	vmm = sup_vmm_argv_jailed(e, "vmm");
	snprintf(env, sizeof(env), "pulse,server=%s", sock);
	assert_int_equal(count(vmm, env), 1);
	argv = sup_jail_argv(e, "/j", vmm, NULL);
	assert_non_null(argv);
	options(argv, opts, sizeof(opts));
	snprintf(buf, sizeof(buf),
		 "--userns --id jail --chroot-base " DIR " --file " DIR " --file %s", sock);
	assert_string_equal(opts, buf);
	sup_free_argv(argv);
	sup_free_argv(vmm);

	unsetenv("XDG_RUNTIME_DIR");
	close(fd);
	unlink(sock);
	snprintf(sock, sizeof(sock), "%s/pulse", dir);
	rmdir(sock);
	rmdir(dir);
	free(e);
}

/* config.json: "jail" false for --no-jail; absent (a VM made before the jail) means jailed. */
static void test_config_json(void **state)
{
	struct vm_def *d = malloc(sizeof(*d)), *back = malloc(sizeof(*back));
	char err[256], *json, *p;

	(void)state;
	vmdef_init(d);
	strcpy(d->id, "0123456789abcdef");
	strcpy(d->name, "vm1");
	d->cpus = 1;
	d->memory = 256 << 20;
	d->no_jail = true;
	json = vmdef_dump(d);
	assert_non_null(json);
	assert_non_null(strstr(json, "\"jail\": false"));
	assert_int_equal(vmdef_load(back, json, strlen(json), err, sizeof(err)), 0);
	assert_true(back->no_jail);
	p = strstr(json, "\"jail\": false,");
	assert_non_null(p);
	memmove(p, p + strlen("\"jail\": false,"), strlen(p + strlen("\"jail\": false,")) + 1);
	assert_int_equal(vmdef_load(back, json, strlen(json), err, sizeof(err)), 0);
	assert_false(back->no_jail);
	free(json);
	d->no_jail = false;
	json = vmdef_dump(d);
	assert_non_null(strstr(json, "\"jail\": true"));
	p = strstr(json, "\"jail\": true");
	memcpy(p + 8, "1234", 4); /* "jail": 1234 */
	assert_int_equal(vmdef_load(back, json, strlen(json), err, sizeof(err)), -EINVAL);
	free(json);
	free(d);
	free(back);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_everything_handed_in),
	    cmocka_unit_test(test_network_and_links),
	    cmocka_unit_test(test_blockers),
	    cmocka_unit_test(test_fd_numbers),
	    cmocka_unit_test(test_pulse_socket),
	    cmocka_unit_test(test_config_json),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
