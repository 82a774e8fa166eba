/* Shared folders of a VM (`phyllome run -v HOST_DIR:GUEST_PATH[:ro]`): the option's parser, the
 * virtio-fs tag derived from the guest path, and the cloud-init part that mounts them in the
 * guest (docs/manager.md "Shared folders"). Pure: nothing is opened here. */
#pragma once
#include <stdbool.h>
#include <stddef.h>

#include "manager/vmdef.h"

/* Parses "HOST:GUEST[:ro|:rw]" into d's next share (the host path as given: cmd_vm.c makes it
 * absolute and checks it), its tag derived and unique in d. 0 or -EINVAL + err. */
int shares_parse(struct vm_def *d, const char *spec, char *err, size_t errlen);
/* A guest path the seed and fstab can hold as is: absolute, not "/", no "." or ".." or empty
 * component, no trailing '/', of [A-Za-z0-9._+@~-] and non-ASCII bytes, under 256 bytes. */
bool shares_guest_ok(const char *guest);
/* A tag: 1 to VMDEF_TAG_MAX bytes of [A-Za-z0-9._-]. */
bool shares_tag_ok(const char *tag);
/* The tag for guest (shares_guest_ok) not used by d's shares [0, n): the path's components joined
 * by '-' ("/home/me/work" -> "home-me-work"), else its last component, cut to fit, then "-2",
 * "-3"... while taken. */
void shares_tag(const struct vm_def *d, unsigned n, const char *guest, char tag[VMDEF_TAG_MAX + 1]);

/* The seed's user-data (malloc'd, NULL on allocation failure; *len its length): user as it is
 * when d has no shares; else a MIME multipart of user (a nested multipart if it is one already)
 * and a cloud-config part that appends each share's fstab line ("TAG GUEST virtiofs
 * defaults,nofail 0 0", ro for :ro) and mounts it, merged into the user's lists
 * (merge_how: list append, dict no_replace). -EINVAL for gzip-compressed user data with shares
 * (err says to mount by hand). */
int shares_user_data(const struct vm_def *d, const char *user, size_t ulen, char **out, size_t *len,
		     char *err, size_t errlen);
