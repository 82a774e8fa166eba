/* The TPM: the CRB interface's registers and command buffer driven as Linux's tpm_crb and
 * OVMF drive them, on a fake back end (sizes, failures, odd accesses); swtpm's control
 * protocol against a real `swtpm socket` (skipped when swtpm is not installed); the TPM2
 * table and the DSDT device (and, when IASL names acpica's iasl, how iasl reads them). */
#include <errno.h>
#include <fcntl.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include <cmocka.h>

#include "arch/x86/acpi.h"
#include "backends/swtpm.h"
#include "common/bytes.h"
#include "devices/device.h"
#include "devices/tpm_crb.h"

#define BASE TPM_CRB_BASE
#define BUF  CRB_DATA_BUFFER

/* ---- a fake back end: answers with a canned response, or fails ---- */

struct fake {
	unsigned calls;
	size_t last_len;
	uint8_t last_cmd[TPM_CRB_BUF_SIZE];
	ssize_t result; /* > 0: respond with that many bytes (size field set to it); else this */
	uint32_t size_field_delta; /* added to the size field: a lying back end */
};

static ssize_t fake_exec(void *opaque, const uint8_t *cmd, size_t len, uint8_t *rsp, size_t cap)
{
	struct fake *f = opaque;

	f->calls++;
	f->last_len = len;
	memcpy(f->last_cmd, cmd, len);
	if (f->result <= 0)
		return f->result;
	assert_true((size_t)f->result <= cap);
	memset(rsp, 0xA5, (size_t)f->result);
	put_be16(rsp, TPM2_ST_NO_SESSIONS);
	put_be32(rsp + 2, (uint32_t)f->result + f->size_field_delta);
	put_be32(rsp + 6, 0);
	return f->result;
}

static uint64_t rd(struct tpm_crb *c, uint64_t off, uint32_t len)
{
	uint8_t b[8] = {0};

	tpm_crb_mmio(c, off, b, len, false);
	return get_le64(b);
}

static void wr(struct tpm_crb *c, uint64_t off, uint64_t v, uint32_t len)
{
	uint8_t b[8];

	put_le64(b, v);
	tpm_crb_mmio(c, off, b, len, true);
}

static void put_cmd(struct tpm_crb *c, const uint8_t *cmd, size_t len)
{
	tpm_crb_mmio(c, BUF, (uint8_t *)cmd, (uint32_t)len, true);
}

/* TPM2_GetRandom(n): tag, size 12, TPM_CC_GetRandom (0x17B), bytesRequested. */
static void get_random_cmd(uint8_t cmd[12], uint16_t n)
{
	put_be16(cmd, TPM2_ST_NO_SESSIONS);
	put_be32(cmd + 2, 12);
	put_be32(cmd + 6, 0x17B);
	put_be16(cmd + 10, n);
}

/* The driver's sequence: locality, cmdReady, the command, START, poll START. */
static void ready(struct tpm_crb *c)
{
	wr(c, CRB_LOC_CTRL, CRB_LOC_CTRL_REQUEST, 4);
	wr(c, CRB_CTRL_REQ, CRB_CTRL_REQ_CMD_READY, 4);
}

static void test_reset_values(void **state)
{
	struct fake f = {0};
	struct tpm_crb c;
	uint64_t id;

	(void)state;
	tpm_crb_init(&c, BASE, (struct tpm_backend){fake_exec, &f});
	assert_int_equal(rd(&c, CRB_LOC_STATE, 4), CRB_LOC_STATE_REG_VALID);
	assert_int_equal(rd(&c, CRB_LOC_STS, 4), 0);
	id = rd(&c, CRB_INTF_ID, 8);
	assert_int_equal(id & 0xF, 1);					/* InterfaceType: CRB */
	assert_int_equal((id >> 4) & 0xF, 1);				/* InterfaceVersion: CRB */
	assert_int_equal((id >> 8) & 1, 0);				/* locality 0 only */
	assert_int_equal((id >> 9) & 1, 0);				/* no idle bypass */
	assert_int_equal((id >> 11) & 3, 3);				/* 64-byte transfers */
	assert_int_equal((id >> 13) & 1, 0);				/* no FIFO */
	assert_int_equal((id >> 14) & 1, 1);				/* CRB */
	assert_int_equal((id >> 17) & 3, 1);				/* CRB selected */
	assert_int_equal(rd(&c, CRB_INTF_ID + 1, 1), (id >> 8) & 0xFF); /* bytes agree */
	assert_int_equal(rd(&c, CRB_CTRL_STS, 4), CRB_CTRL_STS_IDLE);
	assert_int_equal(rd(&c, CRB_CTRL_START, 4), 0);
	assert_int_equal(rd(&c, CRB_CTRL_CMD_SIZE, 4), TPM_CRB_BUF_SIZE);
	assert_int_equal(rd(&c, CRB_CTRL_RSP_SIZE, 4), TPM_CRB_BUF_SIZE);
	assert_int_equal(rd(&c, CRB_CTRL_CMD_LADDR, 4), (uint32_t)(BASE + BUF));
	assert_int_equal(rd(&c, CRB_CTRL_CMD_HADDR, 4), 0);
	assert_int_equal(rd(&c, CRB_CTRL_CMD_LADDR, 8), BASE + BUF); /* LADDR:HADDR as a qword */
	assert_int_equal(rd(&c, CRB_CTRL_RSP_ADDR, 8), BASE + BUF);
	/* The buffer address registers are the TPM's: a guest cannot move them. */
	wr(&c, CRB_CTRL_CMD_LADDR, 0x1000, 4);
	wr(&c, CRB_CTRL_RSP_ADDR, 0xDEAD0000, 8);
	wr(&c, CRB_CTRL_CMD_SIZE, 0xFFFFFFFF, 4);
	assert_int_equal(rd(&c, CRB_CTRL_CMD_LADDR, 8), BASE + BUF);
	assert_int_equal(rd(&c, CRB_CTRL_RSP_ADDR, 8), BASE + BUF);
	assert_int_equal(rd(&c, CRB_CTRL_CMD_SIZE, 4), TPM_CRB_BUF_SIZE);
	tpm_crb_destroy(&c);
}

static void test_locality_and_idle(void **state)
{
	struct fake f = {0};
	struct tpm_crb c;

	(void)state;
	tpm_crb_init(&c, BASE, (struct tpm_backend){fake_exec, &f});
	wr(&c, CRB_LOC_CTRL, CRB_LOC_CTRL_REQUEST, 4);
	assert_int_equal(rd(&c, CRB_LOC_STATE, 4),
			 CRB_LOC_STATE_REG_VALID | CRB_LOC_STATE_ASSIGNED);
	assert_int_equal(rd(&c, CRB_LOC_STS, 4), CRB_LOC_STS_GRANTED);
	assert_int_equal(rd(&c, CRB_LOC_CTRL, 4), 0);
	wr(&c, CRB_LOC_CTRL, CRB_LOC_CTRL_RELINQUISH, 1);
	assert_int_equal(rd(&c, CRB_LOC_STATE, 4), CRB_LOC_STATE_REG_VALID);
	assert_int_equal(rd(&c, CRB_LOC_STS, 4), 0);
	wr(&c, CRB_LOC_CTRL, CRB_LOC_CTRL_SEIZE, 4);
	assert_int_equal(rd(&c, CRB_LOC_STS, 4), CRB_LOC_STS_GRANTED);

	wr(&c, CRB_CTRL_REQ, CRB_CTRL_REQ_CMD_READY, 4);
	assert_int_equal(rd(&c, CRB_CTRL_REQ, 4), 0); /* done at once */
	assert_int_equal(rd(&c, CRB_CTRL_STS, 4), 0);
	wr(&c, CRB_CTRL_REQ, CRB_CTRL_REQ_GO_IDLE, 4);
	assert_int_equal(rd(&c, CRB_CTRL_STS, 4), CRB_CTRL_STS_IDLE);

	wr(&c, CRB_CTRL_CANCEL, 1, 4);
	assert_int_equal(rd(&c, CRB_CTRL_CANCEL, 4), 1);
	wr(&c, CRB_CTRL_CANCEL, 0, 4);
	assert_int_equal(rd(&c, CRB_CTRL_CANCEL, 4), 0);
	wr(&c, CRB_INT_ENABLE, 0x80000001, 4);
	assert_int_equal(rd(&c, CRB_INT_ENABLE, 4), 0x80000001);
	assert_int_equal(rd(&c, CRB_INT_STS, 4), 0);

	/* Other localities are not implemented: they read 0 and ignore writes. */
	wr(&c, TPM_CRB_LOC_SIZE + CRB_LOC_CTRL, CRB_LOC_CTRL_REQUEST, 4);
	assert_int_equal(rd(&c, TPM_CRB_LOC_SIZE + CRB_LOC_STATE, 4), 0);
	assert_int_equal(rd(&c, 4 * TPM_CRB_LOC_SIZE + CRB_INTF_ID, 8), 0);
	assert_int_equal(rd(&c, TPM_CRB_SIZE - 8, 8), 0);
	tpm_crb_destroy(&c);
}

static void test_command(void **state)
{
	struct fake f = {.result = 30};
	struct tpm_crb c;
	uint8_t cmd[12], rsp[30];

	(void)state;
	tpm_crb_init(&c, BASE, (struct tpm_backend){fake_exec, &f});
	get_random_cmd(cmd, 20);
	put_cmd(&c, cmd, sizeof(cmd));
	/* START from Idle is ignored (no idle bypass). */
	wr(&c, CRB_CTRL_START, CRB_START, 4);
	assert_int_equal(f.calls, 0);
	ready(&c);
	wr(&c, CRB_CTRL_START, CRB_START, 4);
	assert_int_equal(f.calls, 1);
	assert_int_equal(f.last_len, 12);
	assert_memory_equal(f.last_cmd, cmd, 12);
	assert_int_equal(rd(&c, CRB_CTRL_START, 4), 0); /* done */
	assert_int_equal(rd(&c, CRB_CTRL_STS, 4), 0);
	/* Linux reads the header's first 8 bytes, then the rest. */
	tpm_crb_mmio(&c, BUF, rsp, 8, false);
	tpm_crb_mmio(&c, BUF + 8, rsp + 8, 22, false);
	assert_int_equal(get_be16(rsp), TPM2_ST_NO_SESSIONS);
	assert_int_equal(get_be32(rsp + 2), 30);
	assert_int_equal(get_be32(rsp + 6), 0);
	assert_int_equal(rsp[29], 0xA5);
	assert_int_equal(c.commands, 1);

	/* Another command in Ready state, written 4 bytes at a time; START as a byte. */
	for (unsigned i = 0; i < 12; i += 4)
		tpm_crb_mmio(&c, BUF + i, cmd + i, 4, true);
	wr(&c, CRB_CTRL_START, CRB_START, 1);
	assert_int_equal(f.calls, 2);
	/* CANCEL and START in one 8-byte write: cancel kept, command run. */
	tpm_crb_mmio(&c, BUF, cmd, 12, true);
	wr(&c, CRB_CTRL_CANCEL, (uint64_t)CRB_START << 32, 8);
	assert_int_equal(f.calls, 3);
	tpm_crb_destroy(&c);
}

static void check_error_rsp(struct tpm_crb *c, uint32_t rc)
{
	uint8_t r[TPM_HDR_LEN];

	tpm_crb_mmio(c, BUF, r, sizeof(r), false);
	assert_int_equal(get_be16(r), TPM2_ST_NO_SESSIONS);
	assert_int_equal(get_be32(r + 2), TPM_HDR_LEN);
	assert_int_equal(get_be32(r + 6), rc);
}

/* A size in the header outside 10..buffer fails that command; the device goes on. */
static void test_bad_sizes(void **state)
{
	static const uint32_t bad[] = {0, 1, 9, TPM_CRB_BUF_SIZE + 1, 0x7FFFFFFF, 0xFFFFFFFF};
	struct fake f = {.result = 12};
	struct tpm_crb c;
	uint8_t cmd[12];

	(void)state;
	tpm_crb_init(&c, BASE, (struct tpm_backend){fake_exec, &f});
	ready(&c);
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		get_random_cmd(cmd, 8);
		put_be32(cmd + 2, bad[i]);
		put_cmd(&c, cmd, sizeof(cmd));
		wr(&c, CRB_CTRL_START, CRB_START, 4);
		assert_int_equal(f.calls, 0);
		check_error_rsp(&c, TPM2_RC_COMMAND_SIZE);
		assert_int_equal(rd(&c, CRB_CTRL_STS, 4), 0); /* not a TPM failure */
	}
	assert_int_equal(c.bad_commands, sizeof(bad) / sizeof(bad[0]));
	/* The largest command the buffer holds goes through. */
	memset(c.buf, 0, sizeof(c.buf));
	get_random_cmd(cmd, 8);
	put_be32(cmd + 2, TPM_CRB_BUF_SIZE);
	put_cmd(&c, cmd, sizeof(cmd));
	wr(&c, CRB_CTRL_START, CRB_START, 4);
	assert_int_equal(f.calls, 1);
	assert_int_equal(f.last_len, TPM_CRB_BUF_SIZE);
	tpm_crb_destroy(&c);
}

/* A back end that fails (or answers with a size that is not its length) fails the
 * command and sets tpmSts; later commands fail without reaching it. */
static void test_backend_failure(void **state)
{
	static const struct fake cases[] = {{.result = -EPIPE},
					    {.result = 0},
					    {.result = 5},
					    {.result = 20, .size_field_delta = 1}};
	uint8_t cmd[12];

	(void)state;
	get_random_cmd(cmd, 8);
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct fake f = cases[i];
		struct tpm_crb c;

		tpm_crb_init(&c, BASE, (struct tpm_backend){fake_exec, &f});
		ready(&c);
		put_cmd(&c, cmd, sizeof(cmd));
		wr(&c, CRB_CTRL_START, CRB_START, 4);
		assert_int_equal(f.calls, 1);
		check_error_rsp(&c, TPM2_RC_FAILURE);
		assert_int_equal(rd(&c, CRB_CTRL_STS, 4) & CRB_CTRL_STS_ERROR, CRB_CTRL_STS_ERROR);
		put_cmd(&c, cmd, sizeof(cmd));
		wr(&c, CRB_CTRL_START, CRB_START, 4);
		assert_int_equal(f.calls, 1);
		check_error_rsp(&c, TPM2_RC_FAILURE);
		tpm_crb_destroy(&c);
	}
}

/* Accesses that straddle the registers and the buffer, or the buffer's end. */
static void test_odd_accesses(void **state)
{
	struct fake f = {.result = 12};
	struct tpm_crb c;
	uint8_t b[8];

	(void)state;
	tpm_crb_init(&c, BASE, (struct tpm_backend){fake_exec, &f});
	/* 0x7C..0x83: 4 reserved register bytes, then the buffer's first 4. */
	memset(b, 0x5A, sizeof(b));
	tpm_crb_mmio(&c, BUF - 4, b, 8, true);
	assert_int_equal(rd(&c, BUF - 4, 4), 0);
	assert_int_equal(rd(&c, BUF, 4), 0x5A5A5A5A);
	/* The buffer's last bytes and locality 1's first ones. */
	tpm_crb_mmio(&c, TPM_CRB_LOC_SIZE - 4, b, 8, true);
	assert_int_equal(rd(&c, TPM_CRB_LOC_SIZE - 4, 8), 0x5A5A5A5A);
	assert_int_equal(c.buf[TPM_CRB_BUF_SIZE - 1], 0x5A);
	/* Unaligned byte writes to a register: the dword is merged. */
	wr(&c, CRB_INT_ENABLE + 3, 0x80, 1);
	wr(&c, CRB_INT_ENABLE, 0x01, 1);
	assert_int_equal(rd(&c, CRB_INT_ENABLE, 4), 0x80000001);
	assert_int_equal(rd(&c, CRB_INT_ENABLE + 2, 2), 0x8000);
	tpm_crb_destroy(&c);
}

/* ---- ACPI: the TPM2 table and the DSDT device ---- */

static void tpm_sb(void *opaque, struct aml *a)
{
	(void)opaque;
	tpm_crb_device.dsdt(NULL, a);
}

static const uint8_t *find_table(const uint8_t *buf, const char sig[4])
{
	const uint8_t *xsdt = buf + get_le64(buf + 24);
	uint32_t n = (get_le32(xsdt + 4) - 36) / 8;

	for (uint32_t i = 0; i < n; i++) {
		const uint8_t *t = buf + get_le64(xsdt + 36 + 8 * i);

		if (!memcmp(t, sig, 4))
			return t;
	}
	return NULL;
}

static long build_tables(uint8_t *buf, size_t len, bool tpm)
{
	struct acpi_vm vm = {.ncpus = 1, .sb_devices = tpm_sb};

	vm.tpm_crb_ctrl = tpm ? TPM_CRB_BASE + CRB_CTRL_REQ : 0;
	return acpi_build(&vm, buf, len, 0);
}

static void test_acpi(void **state)
{
	static const uint8_t mem32[] = {0x86, 0x09, 0x00, 0x01, 0x00, 0x00,
					0xD4, 0xFE, 0x00, 0x50, 0x00, 0x00};
	uint8_t *buf = calloc(1, 0x10000);
	const uint8_t *t, *dsdt;
	long used;

	(void)state;
	assert_non_null(buf);
	used = build_tables(buf, 0x10000, true);
	assert_true(used > 0);
	t = find_table(buf, "TPM2");
	assert_non_null(t);
	assert_int_equal(get_le32(t + 4), 76);
	assert_int_equal(t[8], 4);
	assert_int_equal(acpi_checksum(t, 76), 0);
	assert_int_equal(get_le16(t + 36), 0);
	assert_int_equal(get_le64(t + 40), 0xFED40040);
	assert_int_equal(get_le32(t + 48), 7);
	dsdt = buf + get_le32(find_table(buf, "FACP") + 40);
	assert_non_null(memmem(dsdt, get_le32(dsdt + 4), "MSFT0101", 8));
	assert_non_null(memmem(dsdt, get_le32(dsdt + 4), mem32, sizeof(mem32)));
	/* No TPM: no table. */
	used = build_tables(buf, 0x10000, false);
	assert_true(used > 0);
	assert_null(find_table(buf, "TPM2"));
	free(buf);
}

/* iasl reads both as they are meant (its disassembly names the start method). */
static void test_acpi_iasl(void **state)
{
	const char *iasl = getenv("IASL");
	char dir[] = "/tmp/phyllome-tpm-acpi-XXXXXX", path[256], cmdline[1024];
	uint8_t *buf = calloc(1, 0x10000);
	const char *names[] = {"TPM2", "DSDT"};
	FILE *fp;

	(void)state;
	if (!iasl || !*iasl) {
		free(buf);
		skip();
	}
	assert_non_null(buf);
	assert_non_null(mkdtemp(dir));
	assert_true(build_tables(buf, 0x10000, true) > 0);
	for (int i = 0; i < 2; i++) {
		const uint8_t *t =
		    i == 0 ? find_table(buf, "TPM2") : buf + get_le32(find_table(buf, "FACP") + 40);
		char text[65536];
		size_t n;

		snprintf(path, sizeof(path), "%s/%s.dat", dir, names[i]);
		fp = fopen(path, "wb");
		assert_non_null(fp);
		assert_int_equal(fwrite(t, 1, get_le32(t + 4), fp), get_le32(t + 4));
		fclose(fp);
		snprintf(cmdline, sizeof(cmdline), "cd %s && %s -d %s.dat >log 2>&1", dir, iasl,
			 names[i]);
		assert_int_equal(system(cmdline), 0);
		snprintf(path, sizeof(path), "%s/%s.dsl", dir, names[i]);
		fp = fopen(path, "r");
		assert_non_null(fp);
		n = fread(text, 1, sizeof(text) - 1, fp);
		text[n] = 0;
		fclose(fp);
		if (i == 0) {
			assert_non_null(strstr(text, "Command Response Buffer"));
			assert_non_null(strstr(text, "00000000FED40040"));
		} else {
			assert_non_null(strstr(text, "\"MSFT0101\""));
			assert_non_null(strstr(text, "Memory32Fixed (ReadWrite,"));
			assert_non_null(strstr(text, "0xFED40000"));
		}
	}
	snprintf(cmdline, sizeof(cmdline), "rm -rf %s", dir);
	assert_int_equal(system(cmdline), 0);
	free(buf);
}

/* ---- swtpm: a real one, started here ---- */

struct swtpm_proc {
	pid_t pid;
	char dir[64];
	char ctrl[128];
};

static bool have_swtpm(void)
{
	return access("/usr/bin/swtpm", X_OK) == 0;
}

static void swtpm_start(struct swtpm_proc *p)
{
	char state[128];

	snprintf(p->dir, sizeof(p->dir), "/tmp/phyllome-swtpm-XXXXXX");
	assert_non_null(mkdtemp(p->dir));
	snprintf(p->ctrl, sizeof(p->ctrl), "%s/ctrl.sock", p->dir);
	snprintf(state, sizeof(state), "dir=%s", p->dir);
	p->pid = fork();
	assert_true(p->pid >= 0);
	if (p->pid == 0) {
		char ctrl[160];
		int null = open("/dev/null", O_WRONLY);

		snprintf(ctrl, sizeof(ctrl), "type=unixio,path=%s", p->ctrl);
		if (null >= 0) {
			dup2(null, 1);
			dup2(null, 2);
		}
		execl("/usr/bin/swtpm", "swtpm", "socket", "--tpm2", "--ctrl", ctrl, "--tpmstate",
		      state, "--flags", "startup-clear", (char *)NULL);
		_exit(127);
	}
	/* Wait for its control socket (up to 10 s). */
	for (int i = 0; i < 1000 && access(p->ctrl, F_OK) != 0; i++)
		usleep(10000);
	assert_int_equal(access(p->ctrl, F_OK), 0);
}

static void swtpm_stop(struct swtpm_proc *p)
{
	char cmd[128];
	int status;

	if (p->pid <= 0)
		return;
	kill(p->pid, SIGTERM);
	waitpid(p->pid, &status, 0);
	p->pid = 0;
	snprintf(cmd, sizeof(cmd), "rm -rf %s", p->dir);
	assert_int_equal(system(cmd), 0);
}

/* A swtpm per test, stopped even when the test fails. */
static int swtpm_setup(void **state)
{
	struct swtpm_proc *p = calloc(1, sizeof(*p));

	if (!p)
		return -1;
	*state = p;
	if (have_swtpm())
		swtpm_start(p);
	return 0;
}

static int swtpm_teardown(void **state)
{
	swtpm_stop(*state);
	free(*state);
	return 0;
}

/* A power-on TPM takes nothing before TPM2_Startup, which the guest (firmware, or Linux's
 * driver) sends, as on a real machine: TPM2_Startup(SU_CLEAR). */
static void startup(struct swtpm *t)
{
	uint8_t cmd[12], rsp[16];

	put_be16(cmd, TPM2_ST_NO_SESSIONS);
	put_be32(cmd + 2, 12);
	put_be32(cmd + 6, 0x144);
	put_be16(cmd + 10, 0);
	assert_int_equal(swtpm_exec(t, cmd, sizeof(cmd), rsp, sizeof(rsp)), 10);
	assert_int_equal(get_be32(rsp + 6), 0);
}

static void get_random(struct swtpm *t, uint8_t out[16])
{
	uint8_t cmd[12], rsp[64];
	ssize_t n;

	get_random_cmd(cmd, 16);
	n = swtpm_exec(t, cmd, sizeof(cmd), rsp, sizeof(rsp));
	/* tag, size, rc 0, TPM2B: size 16, 16 bytes */
	assert_int_equal(n, 10 + 2 + 16);
	assert_int_equal(get_be16(rsp), TPM2_ST_NO_SESSIONS);
	assert_int_equal(get_be32(rsp + 2), n);
	assert_int_equal(get_be32(rsp + 6), 0);
	assert_int_equal(get_be16(rsp + 10), 16);
	memcpy(out, rsp + 12, 16);
}

static void test_swtpm(void **state)
{
	struct swtpm_proc *p = *state;
	struct swtpm t;
	uint8_t a[16], b[16], caps[8], res[4];
	char err[512];

	if (!have_swtpm())
		skip();
	assert_int_equal(swtpm_open(&t, p->ctrl, TPM_CRB_BUF_SIZE, err, sizeof(err)), 0);
	assert_true(t.buffer_size <= TPM_CRB_BUF_SIZE && t.buffer_size >= 1024);
	startup(&t);
	get_random(&t, a);
	get_random(&t, b);
	assert_memory_not_equal(a, b, 16);
	/* The control channel stays usable: capabilities, and an unknown command refused. */
	assert_int_equal(swtpm_ctrl(t.ctrl_fd, SWTPM_GET_CAPABILITY, NULL, 0, -1, caps, 8), 0);
	assert_true(get_be64(caps) & SWTPM_CAP_SET_DATAFD);
	assert_int_equal(swtpm_ctrl(t.ctrl_fd, 0x7F, NULL, 0, -1, res, 4), 0);
	assert_int_not_equal(get_be32(res), 0);
	/* A command larger than the agreed buffer never leaves. */
	{
		uint8_t big[TPM_CRB_BUF_SIZE + 16] = {0};

		assert_int_equal(swtpm_exec(&t, big, t.buffer_size + 1, big, sizeof(big)), -EINVAL);
	}
	swtpm_close(&t);

	/* A guest reboot: the next VM start connects again and gets a fresh data channel. */
	assert_int_equal(swtpm_open(&t, p->ctrl, TPM_CRB_BUF_SIZE, err, sizeof(err)), 0);
	startup(&t);
	get_random(&t, a);
	assert_memory_not_equal(a, b, 16);
	swtpm_close(&t);
}

/* The CRB device on a real swtpm, driven as a guest driver drives it. */
static void test_crb_on_swtpm(void **state)
{
	struct swtpm_proc *p = *state;
	struct swtpm t;
	struct tpm_crb c;
	uint8_t cmd[12], r1[28], r2[28];
	char err[512];

	if (!have_swtpm())
		skip();
	assert_int_equal(swtpm_open(&t, p->ctrl, TPM_CRB_BUF_SIZE, err, sizeof(err)), 0);
	startup(&t);
	tpm_crb_init(&c, BASE, (struct tpm_backend){swtpm_exec, &t});
	ready(&c);
	for (int i = 0; i < 2; i++) {
		get_random_cmd(cmd, 16);
		put_cmd(&c, cmd, sizeof(cmd));
		wr(&c, CRB_CTRL_START, CRB_START, 4);
		assert_int_equal(rd(&c, CRB_CTRL_START, 4), 0);
		assert_int_equal(rd(&c, CRB_CTRL_STS, 4), 0);
		tpm_crb_mmio(&c, BUF, i ? r2 : r1, 28, false);
	}
	assert_int_equal(get_be32(r1 + 6), 0);
	assert_int_equal(get_be32(r2 + 6), 0);
	assert_int_equal(get_be16(r1 + 10), 16);
	assert_memory_not_equal(r1 + 12, r2 + 12, 16);
	/* A TPM error from swtpm is the guest's to read, not a device failure: an unknown
	 * command code. */
	put_be32(cmd + 6, 0x7FF);
	put_cmd(&c, cmd, sizeof(cmd));
	wr(&c, CRB_CTRL_START, CRB_START, 4);
	tpm_crb_mmio(&c, BUF, r1, TPM_HDR_LEN, false);
	assert_int_not_equal(get_be32(r1 + 6), 0);
	assert_int_equal(rd(&c, CRB_CTRL_STS, 4), 0);
	/* swtpm gone: the command fails and the device reports tpmSts. */
	swtpm_stop(p);
	get_random_cmd(cmd, 16);
	put_cmd(&c, cmd, sizeof(cmd));
	wr(&c, CRB_CTRL_START, CRB_START, 4);
	check_error_rsp(&c, TPM2_RC_FAILURE);
	assert_true(rd(&c, CRB_CTRL_STS, 4) & CRB_CTRL_STS_ERROR);
	tpm_crb_destroy(&c);
	swtpm_close(&t);
}

static void test_swtpm_missing(void **state)
{
	struct swtpm t;
	char err[512];

	(void)state;
	assert_int_equal(swtpm_open(&t, "/nonexistent/ctrl.sock", 4096, err, sizeof(err)), -ENOENT);
	assert_non_null(strstr(err, "swtpm socket --tpm2"));
	assert_int_equal(t.ctrl_fd, -1);
	assert_int_equal(t.data_fd, -1);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_reset_values),
	    cmocka_unit_test(test_locality_and_idle),
	    cmocka_unit_test(test_command),
	    cmocka_unit_test(test_bad_sizes),
	    cmocka_unit_test(test_backend_failure),
	    cmocka_unit_test(test_odd_accesses),
	    cmocka_unit_test(test_acpi),
	    cmocka_unit_test(test_acpi_iasl),
	    cmocka_unit_test_setup_teardown(test_swtpm, swtpm_setup, swtpm_teardown),
	    cmocka_unit_test_setup_teardown(test_crb_on_swtpm, swtpm_setup, swtpm_teardown),
	    cmocka_unit_test(test_swtpm_missing),
	};

	signal(SIGPIPE, SIG_IGN);
	return cmocka_run_group_tests(tests, NULL, NULL);
}
