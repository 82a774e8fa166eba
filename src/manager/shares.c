#include "manager/shares.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

static bool tag_char(char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
	       c == '.' || c == '_' || c == '-';
}

bool shares_tag_ok(const char *tag)
{
	size_t n = strlen(tag);

	if (!n || n > VMDEF_TAG_MAX)
		return false;
	for (; *tag; tag++)
		if (!tag_char(*tag))
			return false;
	return true;
}

bool shares_guest_ok(const char *g)
{
	size_t n = strlen(g);

	if (n < 2 || n >= VMDEF_GUEST_PATH || g[0] != '/' || g[n - 1] == '/')
		return false;
	for (const char *c = g; *c; c++) {
		unsigned char u = (unsigned char)*c;

		if (!(tag_char(*c) || u >= 0x80 || *c == '/' || *c == '+' || *c == '@' ||
		      *c == '~'))
			return false;
		/* a component: "//", "/./", "/../" and their ends are refused */
		if (*c == '/' && (c[1] == '/' || (c[1] == '.' && (c[2] == '/' || !c[2])) ||
				  (c[1] == '.' && c[2] == '.' && (c[3] == '/' || !c[3]))))
			return false;
	}
	return true;
}

static bool tag_taken(const struct vm_def *d, unsigned n, const char *tag)
{
	for (unsigned i = 0; i < n; i++)
		if (!strcmp(d->shares[i].tag, tag))
			return true;
	return false;
}

/* src's tag characters (others as '_', '/' as '-') into dst, at most max bytes. */
static void tag_from(char *dst, const char *src, size_t max)
{
	size_t k = 0;

	for (; *src && k < max; src++)
		dst[k++] = *src == '/' ? '-' : tag_char(*src) ? *src : '_';
	dst[k] = 0;
}

void shares_tag(const struct vm_def *d, unsigned n, const char *guest, char tag[VMDEF_TAG_MAX + 1])
{
	char base[VMDEF_TAG_MAX + 1];

	if (strlen(guest + 1) <= VMDEF_TAG_MAX)
		tag_from(base, guest + 1, VMDEF_TAG_MAX);
	else
		tag_from(base, strrchr(guest, '/') + 1, VMDEF_TAG_MAX);
	strcpy(tag, base);
	for (unsigned k = 2; tag_taken(d, n, tag); k++) {
		char suffix[16];
		int sl = snprintf(suffix, sizeof(suffix), "-%u", k);

		snprintf(tag, VMDEF_TAG_MAX + 1, "%.*s%s", VMDEF_TAG_MAX - sl, base, suffix);
	}
}

int shares_parse(struct vm_def *d, const char *spec, char *err, size_t errlen)
{
	struct vmdef_share *s = &d->shares[d->nshares];
	size_t n = strlen(spec), hl;
	const char *sep = NULL;

	if (d->nshares == VMDEF_MAX_SHARES) {
		snprintf(err, errlen, "-v: at most %d shared folders", VMDEF_MAX_SHARES);
		return -EINVAL;
	}
	memset(s, 0, sizeof(*s));
	if (n > 3 && (!strcmp(spec + n - 3, ":ro") || !strcmp(spec + n - 3, ":rw"))) {
		s->readonly = spec[n - 1] == 'o';
		n -= 3;
	}
	/* The last ":/" splits HOST from GUEST (a host path may hold ':', GUEST is absolute). */
	for (size_t i = 0; i + 1 < n; i++)
		if (spec[i] == ':' && spec[i + 1] == '/')
			sep = spec + i;
	hl = sep ? (size_t)(sep - spec) : 0;
	if (!sep || !hl || hl >= sizeof(s->host) || n - hl - 1 >= sizeof(s->guest)) {
		snprintf(err, errlen,
			 "-v \"%.200s\": not HOST_DIR:GUEST_PATH[:ro] (GUEST_PATH absolute)", spec);
		return -EINVAL;
	}
	memcpy(s->host, spec, hl);
	memcpy(s->guest, sep + 1, n - hl - 1);
	if (!shares_guest_ok(s->guest)) {
		snprintf(err, errlen,
			 "-v: guest path \"%.200s\": absolute, not /, without . or .. or empty "
			 "components, of letters, digits and ._+@~- (at most %d bytes)",
			 s->guest, VMDEF_GUEST_PATH - 1);
		return -EINVAL;
	}
	for (unsigned i = 0; i < d->nshares; i++) {
		if (!strcmp(d->shares[i].guest, s->guest)) {
			snprintf(err, errlen, "-v: two folders at %.200s in the guest", s->guest);
			return -EINVAL;
		}
	}
	shares_tag(d, d->nshares, s->guest, s->tag);
	d->nshares++;
	return 0;
}

/* The cloud-config part: fstab lines (every boot mounts them; nofail: a boot without the share
 * goes on) and, this first boot, the mounts. */
static void mounts_part(FILE *f, const struct vm_def *d)
{
	fprintf(f, "#cloud-config\n"
		   "# phyllome run -v: the VM's shared folders (virtio-fs), mounted at every boot\n"
		   "merge_how: \"dict(recurse_array,no_replace)+list(append)\"\n"
		   "write_files:\n"
		   "  - path: /etc/fstab\n"
		   "    append: true\n"
		   "    content: |\n");
	for (unsigned i = 0; i < d->nshares; i++)
		fprintf(f, "      %s %s virtiofs %s,nofail 0 0\n", d->shares[i].tag,
			d->shares[i].guest, d->shares[i].readonly ? "ro" : "defaults");
	fprintf(f, "runcmd:\n");
	for (unsigned i = 0; i < d->nshares; i++)
		fprintf(f, "  - [mkdir, -p, \"%s\"]\n  - [mount, \"%s\"]\n", d->shares[i].guest,
			d->shares[i].guest);
}

/* A MIME message of its own (a multipart made by cloud-init's tools, say) */
static bool is_mime(const char *u, size_t n)
{
	return (n > 13 && !strncasecmp(u, "Content-Type:", 13)) ||
	       (n > 13 && !strncasecmp(u, "MIME-Version:", 13));
}

int shares_user_data(const struct vm_def *d, const char *user, size_t ulen, char **out, size_t *len,
		     char *err, size_t errlen)
{
	char boundary[64];
	FILE *f;

	*out = NULL;
	if (!d->nshares) {
		*out = malloc(ulen + 1);
		if (!*out)
			return -ENOMEM;
		memcpy(*out, user, ulen);
		(*out)[ulen] = 0;
		*len = ulen;
		return 0;
	}
	if (ulen >= 2 && (unsigned char)user[0] == 0x1f && (unsigned char)user[1] == 0x8b) {
		snprintf(err, errlen,
			 "-v with gzip-compressed cloud-init user data: give it uncompressed, or "
			 "mount the folders in the guest yourself (docs/manager.md)");
		return -EINVAL;
	}
	/* A boundary the user's text does not hold. */
	for (unsigned k = 0;; k++) {
		snprintf(boundary, sizeof(boundary), "==phyllome-seed-%s-%u==", d->id, k);
		if (!memmem(user, ulen, boundary, strlen(boundary)))
			break;
	}
	f = open_memstream(out, len);
	if (!f)
		return -ENOMEM;
	fprintf(f, "Content-Type: multipart/mixed; boundary=\"%s\"\nMIME-Version: 1.0\n\n--%s\n",
		boundary, boundary);
	/* cloud-init tells a text/plain part's kind by its first line (#cloud-config, #!...) */
	if (!is_mime(user, ulen))
		fprintf(f, "Content-Type: text/plain; charset=\"utf-8\"\n\n");
	fwrite(user, 1, ulen, f);
	fprintf(f, "%s--%s\nContent-Type: text/cloud-config; charset=\"utf-8\"\n\n",
		ulen && user[ulen - 1] != '\n' ? "\n" : "", boundary);
	mounts_part(f, d);
	fprintf(f, "--%s--\n", boundary);
	if (fclose(f) != 0) {
		free(*out);
		*out = NULL;
		return -ENOMEM;
	}
	return 0;
}
