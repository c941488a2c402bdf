/*-------------------------------------------------------------------------
 *
 * storage.c
 *		Driver registry and the arch_storage_*() entry points.
 *
 * Commands reach a backend only through these functions, so argument
 * checks and the bookkeeping of handles live in one place, and a driver
 * implements nothing but its table (storage.h documents the contract).
 *
 * archive_helper/common/storage.c
 *
 *-------------------------------------------------------------------------
 */
#include <stdio.h>
#include <string.h>

#include "storage.h"

/*
 * The registry: one line per driver.  A new backend adds its table here
 * and nowhere else.
 */
static const ArchStorageDriver *const arch_storage_registry[] = {
	&arch_storage_file_driver,
	&arch_storage_s3_driver,
	&arch_storage_azure_driver,
	NULL
};

const ArchStorageDriver *const *
arch_storage_drivers(void)
{
	return arch_storage_registry;
}

const ArchStorageDriver *
arch_storage_driver_find(const char *scheme)
{
	for (int i = 0; arch_storage_registry[i] != NULL; i++)
		if (strcmp(arch_storage_registry[i]->scheme, scheme) == 0)
			return arch_storage_registry[i];
	return NULL;
}

/*
 * arch_storage_open
 *
 * Parse the URL, find its driver and let the driver validate its
 * configuration.  Nothing is contacted yet: "check" does that explicitly.
 */
ArchStatus
arch_storage_open(const char *url, const ArchConfig *cfg,
				  ArchStorage **storage, ArchError *err)
{
	ArchStorage *s;
	ArchStatus	st;

	*storage = NULL;
	s = arch_alloc0(sizeof(ArchStorage));
	st = arch_url_parse(url, &s->url, err);
	if (st != ARCH_OK)
	{
		arch_free(s);
		return st;
	}
	s->driver = arch_storage_driver_find(s->url.scheme);
	if (s->driver == NULL)
	{
		/* arch_url_parse knows the schemes; a driver may not be built in */
		st = arch_error(err, ARCH_FATAL,
						"repository \"%s\" uses scheme \"%s\", which this build does not support",
						s->url.text, s->url.scheme);
		arch_url_free(&s->url);
		arch_free(s);
		return st;
	}
	st = s->driver->open(&s->url, cfg, &s->state, err);
	if (st != ARCH_OK)
	{
		arch_url_free(&s->url);
		arch_free(s);
		return st;
	}
	*storage = s;
	return ARCH_OK;
}

void
arch_storage_close(ArchStorage *storage)
{
	if (storage == NULL)
		return;
	storage->driver->close(storage->state);
	arch_url_free(&storage->url);
	arch_free(storage);
}

ArchStatus
arch_storage_write_begin(ArchStorage *storage, const char *name,
						 const ArchWriteOptions *opts,
						 ArchStorageWrite **write, ArchError *err)
{
	void	   *writer;
	ArchStatus	st;

	*write = NULL;
	if (opts->head_len > ARCH_STORAGE_HEAD_MAX)
		return arch_error(err, ARCH_FATAL, "cannot reserve %zu bytes at the start of \"%s\"",
						  opts->head_len, name);
	st = storage->driver->write_begin(storage->state, name, opts, &writer, err);
	if (st != ARCH_OK)
		return st;
	*write = arch_alloc0(sizeof(ArchStorageWrite));
	(*write)->storage = storage;
	(*write)->writer = writer;
	(*write)->name = arch_strdup(name);
	(*write)->head_len = opts->head_len;
	return ARCH_OK;
}

ArchStatus
arch_storage_write(ArchStorageWrite *write, const void *data, size_t len,
				   ArchError *err)
{
	if (len == 0)
		return ARCH_OK;
	return write->storage->driver->write(write->writer, data, len, err);
}

ArchStatus
arch_storage_write_sink(void *write, const void *data, size_t len,
						ArchError *err)
{
	return arch_storage_write(write, data, len, err);
}

ArchStatus
arch_storage_write_head(ArchStorageWrite *write, const void *data, size_t len,
						const char *sha256, ArchError *err)
{
	/* only what was reserved: a driver may have sent the rest already */
	if (len > write->head_len)
		return arch_error(err, ARCH_FATAL,
						  "cannot rewrite %zu bytes at the start of \"%s\": %zu were reserved",
						  len, write->name, write->head_len);
	return write->storage->driver->write_head(write->writer, data, len, sha256, err);
}

ArchStatus
arch_storage_write_end(ArchStorageWrite *write, ArchError *err)
{
	ArchStatus	st;

	st = write->storage->driver->write_end(write->writer, err);
	arch_free(write->name);
	arch_free(write);
	return st;
}

void
arch_storage_write_abort(ArchStorageWrite *write)
{
	if (write == NULL)
		return;
	write->storage->driver->write_abort(write->writer);
	arch_free(write->name);
	arch_free(write);
}

ArchStatus
arch_storage_put(ArchStorage *storage, const char *name,
				 const ArchWriteOptions *opts, const void *data, size_t len,
				 ArchError *err)
{
	ArchStorageWrite *write;
	ArchStatus	st;

	st = arch_storage_write_begin(storage, name, opts, &write, err);
	if (st != ARCH_OK)
		return st;
	st = arch_storage_write(write, data, len, err);
	if (st != ARCH_OK)
	{
		arch_storage_write_abort(write);
		return st;
	}
	return arch_storage_write_end(write, err);
}

ArchStatus
arch_storage_read(ArchStorage *storage, const char *name, uint64_t limit,
				  ArchSink sink, void *arg, ArchError *err)
{
	return storage->driver->read(storage->state, name, limit, sink, arg, err);
}

ArchStatus
arch_storage_info(ArchStorage *storage, const char *name,
				  ArchObjectInfo *info, ArchError *err)
{
	memset(info, 0, sizeof(ArchObjectInfo));
	return storage->driver->info(storage->state, name, info, err);
}

ArchStatus
arch_storage_list(ArchStorage *storage, const char *prefix,
				  ArchListCallback callback, void *arg, ArchError *err)
{
	return storage->driver->list(storage->state, prefix, callback, arg, err);
}

/* ArchListCallback of arch_storage_list_names */
static ArchStatus
name_list_cb(void *arg, const char *name, uint64_t size, ArchError *err)
{
	ArchNameList *l = arg;

	l->names = arch_realloc(l->names, sizeof(char *) * (l->n + 1));
	l->names[l->n++] = arch_strdup(name);
	return ARCH_OK;
}

ArchStatus
arch_storage_list_names(ArchStorage *storage, const char *prefix,
						ArchNameList *list, ArchError *err)
{
	memset(list, 0, sizeof(ArchNameList));
	return arch_storage_list(storage, prefix, name_list_cb, list, err);
}

void
arch_name_list_free(ArchNameList *list)
{
	for (int i = 0; i < list->n; i++)
		arch_free(list->names[i]);
	arch_free(list->names);
	memset(list, 0, sizeof(ArchNameList));
}

ArchStatus
arch_storage_remove(ArchStorage *storage, const char *name, ArchError *err)
{
	return storage->driver->remove(storage->state, name, err);
}

ArchStatus
arch_storage_cleanup(ArchStorage *storage, const char *prefix, time_t before,
					 int *removed, ArchError *err)
{
	*removed = 0;
	if (storage->driver->cleanup == NULL)
		return ARCH_OK;
	return storage->driver->cleanup(storage->state, prefix, before, removed, err);
}
