#include "jail/elf.h"

#include <elf.h>
#include <errno.h>
#include <fcntl.h>
#include <glob.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "jail/jail.h"

#define ELF_MAX_PHDRS 512
#define ELF_MAX_LOADS 16
#define ELF_MAX_FILE  (1ull << 30)

/* --- parsing (pure) ------------------------------------------------------------------------ */

struct elf_loads {
	Elf64_Phdr ph[ELF_MAX_LOADS];
	unsigned n;
};

static bool in_file(uint64_t off, uint64_t size, size_t len)
{
	return off <= len && size <= len - off;
}

/* A NUL-terminated string of at most outlen - 1 bytes at img[off], all inside img[..end]. */
static int copy_str(const uint8_t *img, uint64_t off, uint64_t end, char *out, size_t outlen)
{
	const uint8_t *nul;

	if (off >= end)
		return -EINVAL;
	nul = memchr(img + off, 0, end - off);
	if (!nul || (size_t)(nul - (img + off)) >= outlen)
		return -EINVAL;
	memcpy(out, img + off, (size_t)(nul - (img + off)) + 1);
	return 0;
}

/* The file offset of a virtual address, through the PT_LOAD that maps it from the file. */
static int vaddr_to_off(const struct elf_loads *l, uint64_t vaddr, uint64_t *off)
{
	for (unsigned i = 0; i < l->n; i++) {
		const Elf64_Phdr *p = &l->ph[i];

		if (vaddr >= p->p_vaddr && vaddr - p->p_vaddr < p->p_filesz) {
			*off = p->p_offset + (vaddr - p->p_vaddr);
			return 0;
		}
	}
	return -EINVAL;
}

struct dyn_refs {
	uint64_t strtab, strsz, rpath, runpath;
	bool has_rpath, has_runpath;
	uint64_t needed[ELF_MAX_NEEDED];
	unsigned nneeded;
};

static int read_dynamic(const uint8_t *img, size_t len, const Elf64_Phdr *dyn, struct dyn_refs *r,
			char *err, size_t errlen)
{
	if (!in_file(dyn->p_offset, dyn->p_filesz, len)) {
		snprintf(err, errlen, "dynamic section outside the file");
		return -EINVAL;
	}
	for (uint64_t o = 0; o + sizeof(Elf64_Dyn) <= dyn->p_filesz; o += sizeof(Elf64_Dyn)) {
		Elf64_Dyn d;

		memcpy(&d, img + dyn->p_offset + o, sizeof(d));
		if (d.d_tag == DT_NULL)
			break;
		if (d.d_tag == DT_STRTAB)
			r->strtab = d.d_un.d_ptr;
		else if (d.d_tag == DT_STRSZ)
			r->strsz = d.d_un.d_val;
		else if (d.d_tag == DT_RPATH)
			r->rpath = d.d_un.d_val, r->has_rpath = true;
		else if (d.d_tag == DT_RUNPATH)
			r->runpath = d.d_un.d_val, r->has_runpath = true;
		else if (d.d_tag == DT_NEEDED && r->nneeded >= ELF_MAX_NEEDED) {
			snprintf(err, errlen, "more than %d DT_NEEDED entries", ELF_MAX_NEEDED);
			return -E2BIG;
		} else if (d.d_tag == DT_NEEDED) {
			r->needed[r->nneeded++] = d.d_un.d_val;
		}
	}
	return 0;
}

/* DT_NEEDED, DT_RPATH and DT_RUNPATH strings, from the string table. */
static int read_strings(const uint8_t *img, size_t len, const struct elf_loads *loads,
			const struct dyn_refs *r, struct elf_info *info, char *err, size_t errlen)
{
	uint64_t off, end;

	if (!r->nneeded && !r->has_rpath && !r->has_runpath)
		return 0;
	if (vaddr_to_off(loads, r->strtab, &off) < 0 || !in_file(off, r->strsz, len)) {
		snprintf(err, errlen, "string table outside the file");
		return -EINVAL;
	}
	end = off + r->strsz;
	for (unsigned i = 0; i < r->nneeded; i++) {
		if (r->needed[i] >= r->strsz ||
		    copy_str(img, off + r->needed[i], end, info->needed[i], ELF_NAME_MAX) < 0 ||
		    !info->needed[i][0]) {
			snprintf(err, errlen, "bad DT_NEEDED string");
			return -EINVAL;
		}
	}
	info->nneeded = r->nneeded;
	if ((r->has_rpath && (r->rpath >= r->strsz ||
			      copy_str(img, off + r->rpath, end, info->rpath, ELF_PATH_MAX) < 0)) ||
	    (r->has_runpath &&
	     (r->runpath >= r->strsz ||
	      copy_str(img, off + r->runpath, end, info->runpath, ELF_PATH_MAX) < 0))) {
		snprintf(err, errlen, "bad DT_RPATH or DT_RUNPATH string");
		return -EINVAL;
	}
	return 0;
}

static int check_header(const uint8_t *img, size_t len, Elf64_Ehdr *eh, char *err, size_t errlen)
{
	if (len < sizeof(*eh) || memcmp(img, ELFMAG, SELFMAG)) {
		snprintf(err, errlen, "not an ELF file");
		return -ENOEXEC;
	}
	memcpy(eh, img, sizeof(*eh));
	if (eh->e_ident[EI_CLASS] != ELFCLASS64 || eh->e_ident[EI_DATA] != ELFDATA2LSB) {
		snprintf(err, errlen, "not a 64-bit little-endian ELF file");
		return -ENOEXEC;
	}
	if (eh->e_type != ET_EXEC && eh->e_type != ET_DYN) {
		snprintf(err, errlen, "ELF file is neither a program nor a shared library");
		return -ENOEXEC;
	}
	if (eh->e_phentsize != sizeof(Elf64_Phdr) || eh->e_phnum > ELF_MAX_PHDRS ||
	    !in_file(eh->e_phoff, (uint64_t)eh->e_phnum * sizeof(Elf64_Phdr), len)) {
		snprintf(err, errlen, "bad ELF program headers");
		return -ENOEXEC;
	}
	return 0;
}

int elf_parse(const uint8_t *img, size_t len, struct elf_info *info, char *err, size_t errlen)
{
	struct elf_loads loads = {.n = 0};
	struct dyn_refs refs;
	Elf64_Phdr dyn = {.p_type = PT_NULL};
	Elf64_Ehdr eh;
	int rc = check_header(img, len, &eh, err, errlen);

	if (rc < 0)
		return rc;
	memset(info, 0, sizeof(*info));
	memset(&refs, 0, sizeof(refs));
	info->machine = eh.e_machine;
	for (unsigned i = 0; i < eh.e_phnum; i++) {
		Elf64_Phdr ph;

		memcpy(&ph, img + eh.e_phoff + (uint64_t)i * sizeof(ph), sizeof(ph));
		if (ph.p_type == PT_LOAD && loads.n < ELF_MAX_LOADS) {
			loads.ph[loads.n++] = ph;
		} else if (ph.p_type == PT_DYNAMIC) {
			dyn = ph;
			info->dynamic = true;
		} else if (ph.p_type == PT_INTERP) {
			if (!in_file(ph.p_offset, ph.p_filesz, len) ||
			    copy_str(img, ph.p_offset, ph.p_offset + ph.p_filesz, info->interp,
				     ELF_PATH_MAX) < 0 ||
			    info->interp[0] != '/') {
				snprintf(err, errlen, "bad PT_INTERP");
				return -ENOEXEC;
			}
		}
	}
	if (!info->dynamic)
		return 0;
	rc = read_dynamic(img, len, &dyn, &refs, err, errlen);
	return rc < 0 ? rc : read_strings(img, len, &loads, &refs, info, err, errlen);
}

/* --- finding the libraries ------------------------------------------------------------------ */

#define MAX_DIRS 64

struct search {
	char *dirs[MAX_DIRS];
	unsigned n;
};

static void search_add(struct search *s, const char *dir, size_t n)
{
	if (s->n >= MAX_DIRS || n == 0 || dir[0] != '/')
		return;
	s->dirs[s->n] = strndup(dir, n);
	if (s->dirs[s->n])
		s->n++;
}

static void search_free(struct search *s)
{
	for (unsigned i = 0; i < s->n; i++)
		free(s->dirs[i]);
	s->n = 0;
}

static void ldconf_read(const char *path, struct search *s, int depth);

/* "include PATTERN": relative patterns are relative to the including file's folder. */
static void ldconf_include(const char *conf, const char *pattern, struct search *s, int depth)
{
	char full[ELF_PATH_MAX];
	const char *slash = strrchr(conf, '/');
	glob_t g;

	if (pattern[0] == '/' || !slash)
		snprintf(full, sizeof(full), "%s", pattern);
	else
		snprintf(full, sizeof(full), "%.*s/%s", (int)(slash - conf), conf, pattern);
	if (glob(full, 0, NULL, &g) != 0)
		return;
	for (size_t i = 0; i < g.gl_pathc; i++)
		ldconf_read(g.gl_pathv[i], s, depth + 1);
	globfree(&g);
}

/* The folders /etc/ld.so.conf lists (ldconfig builds ld.so.cache from them). */
static void ldconf_read(const char *path, struct search *s, int depth)
{
	char line[1024];
	FILE *f;

	if (depth > 4)
		return;
	f = fopen(path, "re");
	if (!f)
		return;
	while (fgets(line, sizeof(line), f)) {
		char *save = NULL, *tok;

		line[strcspn(line, "#\n")] = 0;
		tok = strtok_r(line, " \t", &save);
		if (tok && !strcmp(tok, "include")) {
			while ((tok = strtok_r(NULL, " \t", &save)))
				ldconf_include(path, tok, s, depth);
			continue;
		}
		for (; tok; tok = strtok_r(NULL, " \t:,", &save))
			search_add(s, tok, strcspn(tok, "="));
	}
	fclose(f);
}

/* What ld.so searches after an object's own RPATH/RUNPATH: ld.so.cache (built from
 * ld.so.conf), then its built-in folders (Debian's multiarch ones first). */
static void search_system(struct search *s)
{
	static const char *const sys[] = {"/lib/x86_64-linux-gnu",
					  "/usr/lib/x86_64-linux-gnu",
					  "/lib",
					  "/usr/lib",
					  "/lib64",
					  "/usr/lib64"};

	ldconf_read("/etc/ld.so.conf", s, 0);
	for (size_t i = 0; i < sizeof(sys) / sizeof(sys[0]); i++)
		search_add(s, sys[i], strlen(sys[i]));
}

/* RPATH/RUNPATH folders, with $ORIGIN (the object's folder); other tokens are skipped. */
static void search_path_list(struct search *s, const char *list, const char *object)
{
	const char *slash = strrchr(object, '/');
	int olen = slash ? (int)(slash - object) : 0;

	while (*list) {
		size_t n = strcspn(list, ":");
		char dir[ELF_PATH_MAX];
		int len = -1;

		if (n > 7 && !strncmp(list, "$ORIGIN", 7) && list[7] == '/')
			len = snprintf(dir, sizeof(dir), "%.*s%.*s", olen, object, (int)(n - 7),
				       list + 7);
		else if (n == 7 && !strncmp(list, "$ORIGIN", 7))
			len = snprintf(dir, sizeof(dir), "%.*s", olen, object);
		else if (n > 9 && !strncmp(list, "${ORIGIN}", 9) && list[9] == '/')
			len = snprintf(dir, sizeof(dir), "%.*s%.*s", olen, object, (int)(n - 9),
				       list + 9);
		else if (!memchr(list, '$', n))
			len = snprintf(dir, sizeof(dir), "%.*s", (int)n, list);
		if (len > 0 && (size_t)len < sizeof(dir))
			search_add(s, dir, (size_t)len);
		list += n + (list[n] == ':');
	}
}

/* Reads path's ELF headers. */
static int load_info(const char *path, struct elf_info *info, char *err, size_t errlen)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	struct stat st;
	void *img;
	int rc;

	if (fd < 0) {
		rc = -errno;
		snprintf(err, errlen, "%s: %s", path, strerror(errno));
		return rc;
	}
	if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode) || st.st_size <= 0 ||
	    (uint64_t)st.st_size > ELF_MAX_FILE) {
		close(fd);
		snprintf(err, errlen, "%s: not a regular file of a sensible size", path);
		return -EINVAL;
	}
	img = mmap(NULL, (size_t)st.st_size, PROT_READ, MAP_PRIVATE, fd, 0);
	close(fd);
	if (img == MAP_FAILED) {
		snprintf(err, errlen, "%s: cannot map it: %s", path, strerror(errno));
		return -EIO;
	}
	rc = elf_parse(img, (size_t)st.st_size, info, err, errlen);
	munmap(img, (size_t)st.st_size);
	if (rc < 0) {
		char why[256];

		snprintf(why, sizeof(why), "%s", err);
		snprintf(err, errlen, "%s: %s", path, why);
	}
	return rc;
}

static int deps_add(struct elf_deps *d, const char *path, char *err, size_t errlen)
{
	char clean[ELF_PATH_MAX];

	if (jail_path_lexical(path, clean, sizeof(clean)) < 0) {
		snprintf(err, errlen, "library path '%.200s' is not absolute or is too long", path);
		return -EINVAL;
	}
	for (unsigned i = 0; i < d->n; i++)
		if (!strcmp(d->paths[i], clean))
			return 0;
	if (d->n >= ELF_MAX_DEPS) {
		snprintf(err, errlen, "more than %d libraries", ELF_MAX_DEPS);
		return -E2BIG;
	}
	d->paths[d->n] = strdup(clean);
	if (!d->paths[d->n]) {
		snprintf(err, errlen, "out of memory");
		return -ENOMEM;
	}
	d->n++;
	return 0;
}

/* The first folder in the search order holding an ELF file of the program's machine. */
static int find_lib(const char *name, const char *object, const struct elf_info *oinfo,
		    const struct search *sys, uint16_t machine, struct elf_info *scratch,
		    char *found, char *err, size_t errlen)
{
	struct search s = {.n = 0};
	char skip[256];
	int rc = -ENOENT;

	if (strchr(name, '/')) {
		snprintf(found, ELF_PATH_MAX, "%s", name);
		return name[0] == '/' ? 0 : -EINVAL;
	}
	if (!oinfo->runpath[0])
		search_path_list(&s, oinfo->rpath, object);
	search_path_list(&s, oinfo->runpath, object);
	for (unsigned i = 0; i < sys->n; i++)
		search_add(&s, sys->dirs[i], strlen(sys->dirs[i]));
	for (unsigned i = 0; i < s.n && rc < 0; i++) {
		int n = snprintf(found, ELF_PATH_MAX, "%s/%s", s.dirs[i], name);

		if (n > 0 && n < ELF_PATH_MAX && access(found, F_OK) == 0 &&
		    load_info(found, scratch, skip, sizeof(skip)) == 0 &&
		    scratch->machine == machine)
			rc = 0;
	}
	search_free(&s);
	if (rc < 0)
		snprintf(err, errlen,
			 "cannot find %s, which %s needs (searched its RUNPATH, "
			 "/etc/ld.so.conf and the system library folders)",
			 name, object);
	return rc;
}

/* Adds the libraries one object needs (deps->paths[i] or the program). */
static int add_needed(const char *object, const struct elf_info *info, const struct search *sys,
		      uint16_t machine, struct elf_deps *deps, char *err, size_t errlen)
{
	struct elf_info *scratch = malloc(sizeof(*scratch));
	char *found = malloc(ELF_PATH_MAX);
	int rc = scratch && found ? 0 : -ENOMEM;

	if (rc < 0)
		snprintf(err, errlen, "out of memory");
	for (unsigned i = 0; rc == 0 && i < info->nneeded; i++) {
		rc = find_lib(info->needed[i], object, info, sys, machine, scratch, found, err,
			      errlen);
		if (rc == 0)
			rc = deps_add(deps, found, err, errlen);
	}
	free(scratch);
	free(found);
	return rc;
}

/* Adds the optional libraries that are found in the program's search order. */
static int add_optional(const char *program, const struct elf_info *info, const char *const *names,
			const struct search *sys, uint16_t machine, struct elf_deps *deps,
			char *err, size_t errlen)
{
	struct elf_info *scratch = malloc(sizeof(*scratch));
	char *found = malloc(ELF_PATH_MAX);
	char skip[256];
	int rc = scratch && found ? 0 : -ENOMEM;

	if (rc < 0)
		snprintf(err, errlen, "out of memory");
	for (unsigned i = 0; rc == 0 && names && names[i]; i++)
		if (find_lib(names[i], program, info, sys, machine, scratch, found, skip,
			     sizeof(skip)) == 0)
			rc = deps_add(deps, found, err, errlen);
	free(scratch);
	free(found);
	return rc;
}

int elf_deps_collect(const char *program, const char *const *optional, struct elf_deps *deps,
		     char *err, size_t errlen)
{
	struct elf_info *info = malloc(sizeof(*info));
	struct search sys = {.n = 0};
	uint16_t machine;
	int rc;

	deps->n = 0;
	if (!info) {
		snprintf(err, errlen, "out of memory");
		return -ENOMEM;
	}
	rc = load_info(program, info, err, errlen);
	if (rc < 0 || !info->dynamic)
		goto out;
	machine = info->machine;
	search_system(&sys);
	if (info->interp[0])
		rc = deps_add(deps, info->interp, err, errlen);
	if (rc == 0)
		rc = add_needed(program, info, &sys, machine, deps, err, errlen);
	if (rc == 0)
		rc = add_optional(program, info, optional, &sys, machine, deps, err, errlen);
	/* deps grows as it is walked: each library's own needs are appended after it. The
	 * interpreter needs nothing; reading it anyway is harmless. */
	for (unsigned i = 0; rc == 0 && i < deps->n; i++) {
		rc = load_info(deps->paths[i], info, err, errlen);
		if (rc == 0)
			rc = add_needed(deps->paths[i], info, &sys, machine, deps, err, errlen);
	}
	search_free(&sys);
out:
	free(info);
	if (rc < 0)
		elf_deps_free(deps);
	return rc;
}

void elf_deps_free(struct elf_deps *deps)
{
	for (unsigned i = 0; i < deps->n; i++)
		free(deps->paths[i]);
	deps->n = 0;
}
