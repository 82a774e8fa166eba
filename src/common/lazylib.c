#include "common/lazylib.h"

#include <dlfcn.h>
#include <errno.h>
#include <stdio.h>

int lazylib_load(void **handle, const char *soname, const char *what, const char *pkg,
		 const struct lazy_sym *syms, char *err, size_t errlen)
{
	void *lib = dlopen(soname, RTLD_NOW | RTLD_LOCAL);

	if (!lib) {
		snprintf(err, errlen, "%s: cannot load %s (Debian: %s): %s", what, soname, pkg,
			 dlerror());
		return -ENOENT;
	}
	for (const struct lazy_sym *s = syms; s->name; s++) {
		*s->slot = dlsym(lib, s->name);
		if (!*s->slot) {
			snprintf(err, errlen, "%s: %s lacks %s", what, soname, s->name);
			dlclose(lib);
			return -ENOENT;
		}
	}
	*handle = lib;
	return 0;
}
