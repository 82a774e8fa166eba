#include "arch/x86/firmware.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#define FVH_SIGNATURE_OFF 0x28
#define PAGE		  4096u

const char *firmware_check(const uint8_t *img, size_t len)
{
	if (len == 0)
		return "is empty";
	if (len % PAGE)
		return "is not a whole number of 4 KiB pages";
	if (len > FW_MAX_SIZE)
		return "is larger than 16 MiB";
	if (memcmp(img + FVH_SIGNATURE_OFF, "_FVH", 4))
		return "does not start with a UEFI firmware volume (is it OVMF?)";
	return NULL;
}

/* An open file description lock, as for disks (backends/block.c): it goes away with the
 * descriptor. File systems without such locks run unprotected. */
static int lock_file(int fd)
{
	struct flock fl = {.l_type = F_WRLCK, .l_whence = SEEK_SET, .l_start = 0, .l_len = 0};

	if (fcntl(fd, F_OFD_SETLK, &fl) == 0)
		return 0;
	return errno == EAGAIN || errno == EACCES ? -EBUSY : 0;
}

/* Opens and maps one image; writable: shared and locked, else private and read-only. */
static int map_image(const char *what, const char *path, bool writable, uint8_t **mem, size_t *len,
		     int *fd_out, char *err, size_t errlen)
{
	struct stat st;
	const char *why;
	void *p;
	int fd = open(path, (writable ? O_RDWR : O_RDONLY) | O_CLOEXEC);

	if (fd < 0 || fstat(fd, &st) < 0) {
		snprintf(err, errlen, "cannot open firmware %s '%s': %s", what, path,
			 strerror(errno));
		goto fail;
	}
	if (!S_ISREG(st.st_mode) || st.st_size <= 0 || st.st_size > FW_MAX_SIZE) {
		snprintf(err, errlen, "firmware %s '%s' is not a file of 4 KiB to 16 MiB", what,
			 path);
		goto fail;
	}
	if (writable && lock_file(fd) < 0) {
		snprintf(err, errlen, "firmware %s '%s' is in use by another VM", what, path);
		goto fail;
	}
	p = mmap(NULL, (size_t)st.st_size, writable ? PROT_READ | PROT_WRITE : PROT_READ,
		 writable ? MAP_SHARED : MAP_PRIVATE, fd, 0);
	if (p == MAP_FAILED) {
		snprintf(err, errlen, "cannot map firmware %s '%s': %s", what, path,
			 strerror(errno));
		goto fail;
	}
	why = firmware_check(p, (size_t)st.st_size);
	if (why) {
		snprintf(err, errlen, "firmware %s '%s' %s", what, path, why);
		munmap(p, (size_t)st.st_size);
		goto fail;
	}
	*mem = p;
	*len = (size_t)st.st_size;
	if (fd_out)
		*fd_out = fd;
	else
		close(fd);
	return 0;
fail:
	if (fd >= 0)
		close(fd);
	return -EINVAL;
}

int firmware_open(struct firmware *fw, const char *code, const char *vars, char *err, size_t errlen)
{
	int rc;

	memset(fw, 0, sizeof(*fw));
	fw->vars_fd = -1;
	rc = map_image("code", code, false, &fw->code, &fw->code_len, NULL, err, errlen);
	if (rc == 0 && vars)
		rc = map_image("variable store", vars, true, &fw->vars, &fw->vars_len, &fw->vars_fd,
			       err, errlen);
	if (rc == 0 && fw->code_len + fw->vars_len > FW_MAX_SIZE) {
		snprintf(err, errlen, "firmware code and variable store exceed 16 MiB together");
		rc = -EINVAL;
	}
	if (rc < 0)
		firmware_close(fw);
	return rc;
}

void firmware_close(struct firmware *fw)
{
	if (fw->code)
		munmap(fw->code, fw->code_len);
	if (fw->vars)
		munmap(fw->vars, fw->vars_len);
	if (fw->vars_fd >= 0) {
		fsync(fw->vars_fd); /* the store's pages, dirtied through the shared mapping */
		close(fw->vars_fd);
	}
	memset(fw, 0, sizeof(*fw));
	fw->vars_fd = -1;
}
