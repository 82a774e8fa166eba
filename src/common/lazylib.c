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

int lazylib_load_mask(struct lazy_set *set, const lazy_loader *load, unsigned n, unsigned mask,
		      char *err, size_t errlen)
{
	int rc = 0;

	if ((__atomic_load_n(&set->loaded, __ATOMIC_ACQUIRE) & mask) == mask)
		return 0;
	pthread_mutex_lock(&set->lock);
	for (unsigned i = 0; i < n && rc == 0; i++)
		if ((mask & (1u << i)) && !(set->loaded & (1u << i))) {
			rc = load[i](err, errlen);
			if (rc == 0)
				__atomic_or_fetch(&set->loaded, 1u << i, __ATOMIC_RELEASE);
		}
	pthread_mutex_unlock(&set->lock);
	return rc;
}
