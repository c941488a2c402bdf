/*-------------------------------------------------------------------------
 *
 * dl_loader.c
 *		Load a shared library on first use (see dl_loader.h).
 *
 * archive_helper/common/dl_loader.c
 *
 *-------------------------------------------------------------------------
 */
#include <dlfcn.h>
#include <stdio.h>

#include "dl_loader.h"

/* dlopen() the library and fill every slot; false with the reason in failure */
static bool
arch_dl_open(ArchDlLibrary *lib)
{
	void	   *handle = dlopen(lib->soname, RTLD_NOW | RTLD_LOCAL);

	if (handle == NULL)
	{
		snprintf(lib->failure, sizeof(lib->failure), "%s", dlerror());
		return false;
	}
	/* the library stays loaded for the life of the process */
	for (int i = 0; i < lib->nsymbols; i++)
	{
		void	   *fn = dlsym(handle, lib->symbols[i].name);

		if (fn == NULL)
		{
			snprintf(lib->failure, sizeof(lib->failure), "symbol \"%s\" not found in %s",
					 lib->symbols[i].name, lib->soname);
			return false;
		}

		/*
		 * POSIX returns functions from dlsym() as void *; copying through a
		 * void ** is its documented way to store them in a function pointer.
		 */
		*(void **) lib->symbols[i].slot = fn;
	}
	return true;
}

ArchStatus
arch_dl_load(ArchDlLibrary *lib, ArchError *err)
{
	bool		loaded;

	pthread_mutex_lock(&lib->lock);
	if (!lib->tried)
	{
		lib->loaded = arch_dl_open(lib);
		lib->tried = true;
	}
	loaded = lib->loaded;
	pthread_mutex_unlock(&lib->lock);
	if (loaded)
		return ARCH_OK;
	arch_error(err, ARCH_FATAL, "could not load %s: %s", lib->what, lib->failure);
	return arch_error_detail(err, ARCH_FATAL, "%s", lib->hint);
}
