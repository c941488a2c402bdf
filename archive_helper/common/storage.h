/*-------------------------------------------------------------------------
 *
 * storage.h
 *		The one storage driver interface of dbops_archive.
 *
 * A repository is a flat namespace of objects ("wal/0000000100000000/
 * 000000010000000000000003") under a URL:
 *
 *		file:///var/lib/dbops/archive		a local or mounted directory
 *		s3://bucket/prefix					S3 and S3-compatible stores
 *		azure://container/prefix			Azure Blob Storage
 *
 * Each backend is one driver: a `static const ArchStorageDriver` table in
 * storage_<scheme>.c, listed once in the registry in storage.c.  Commands
 * never call a driver directly; they go through the arch_storage_*()
 * functions below, which check arguments and dispatch.
 *
 * What a driver promises (PostgreSQL relies on it through exit codes):
 * - Durability: arch_storage_write_end() returns ARCH_OK only when the
 *   object is durably stored and complete (posix: temp file, fsync, rename,
 *   fsync directory; object stores: a completed PUT or multipart upload whose
 *   payload checksum the store verified).  Until then no reader can see a
 *   partial object under the final name.
 * - If-absent writes never overwrite.  With ArchWriteOptions.if_absent, a
 *   write to a name that exists ends with ARCH_EXISTS and leaves the stored
 *   object as it was.  (The file driver returns ARCH_OK instead when the
 *   existing file has exactly the bytes written, after syncing it, so a
 *   crash between storing and PostgreSQL's bookkeeping is harmless.)
 *   The caller then decides by the plaintext checksum whether the existing
 *   object is the same segment.
 * - ARCH_NOT_FOUND means the store answered that the object does not exist,
 *   and nothing else (status.h).  An unreachable store, a timeout, a refused
 *   credential, a missing bucket, container or repository root is never
 *   NOT_FOUND: wal-fetch turns NOT_FOUND into "not in the archive", which
 *   can end a recovery.
 * - ARCH_TRANSIENT is returned only after the driver's own bounded retries
 *   (with backoff) failed; every network call has connect and low-speed
 *   timeouts, so no call hangs.
 * - Error text (ArchError) names the object and the repository URL, and
 *   never contains a secret (keys, SAS tokens, signatures, Authorization
 *   headers).
 *
 * Threads: one ArchStorage, and any writer it made, is used by one thread
 * at a time.  Code that works in parallel opens one repository per thread
 * (drivers may keep connections in it and reuse them between calls).
 *
 * Memory: everything comes from the shim (arch_shim.h).  Handles are freed
 * by arch_storage_close() and by write_end/write_abort, on every path.
 *
 * archive_helper/common/storage.h
 *
 *-------------------------------------------------------------------------
 */
#ifndef ARCH_STORAGE_H
#define ARCH_STORAGE_H

#include <time.h>

#include "status.h"

/*
 * A parsed repository URL (url.c).  For file://, path is the absolute
 * directory and container is NULL.  For s3:// and azure://, container is
 * the bucket or container and prefix the key prefix without leading or
 * trailing slash ("" when none).  text is the URL as given, for messages
 * (a URL never holds secrets: arch_url_parse refuses userinfo and query).
 */
typedef struct ArchUrl
{
	char	   *text;
	char	   *scheme;
	char	   *container;
	char	   *prefix;
	char	   *path;
} ArchUrl;

extern ArchStatus arch_url_parse(const char *text, ArchUrl *url, ArchError *err);
extern void arch_url_free(ArchUrl *url);

/*
 * Split the endpoint URL of an object store, given by setting (named in
 * messages), into origin ("http(s)://host[:port]") and path ("" or
 * "/a/b", without a trailing slash; only with allow_path).  Userinfo, a
 * query or a fragment is refused without quoting the URL.
 */
extern ArchStatus arch_endpoint_parse(const char *setting, const char *text,
									  bool allow_path, char **origin,
									  char **path, ArchError *err);

/*
 * A setting a driver (or the core) reads through the configuration
 * (config.c): its name in the config file, the environment variables that
 * set it (first found wins), and whether it is a secret (a config file that
 * holds a secret must not be group- or world-readable).
 */
typedef struct ArchSetting
{
	const char *name;			/* config file key, e.g. "s3-region" */
	const char *env;			/* environment variable, or NULL */
	const char *env_alt;		/* a second accepted variable, or NULL */
	const char *default_value;	/* or NULL */
	bool		secret;
	const char *description;	/* a phrase, for --help and the README */
} ArchSetting;

typedef struct ArchConfig ArchConfig;

/* Value of a setting (option > environment > file > default), or NULL */
extern const char *arch_config_get(const ArchConfig *cfg, const char *name);

/*
 * What a driver knows about a stored object.  (Store metadata may hold the
 * plaintext SHA-256 too, but readers never depend on it: object.h.)
 */
typedef struct ArchObjectInfo
{
	uint64_t	size;			/* stored bytes */
} ArchObjectInfo;

typedef struct ArchWriteOptions
{
	bool		if_absent;		/* never replace an existing object */
	int64_t		size;			/* total bytes that will be written, -1 if
								 * unknown (a driver may then go multipart) */
	const char *sha256;			/* plaintext SHA-256 (hex) to keep as object
								 * metadata where the backend can, or NULL */
	size_t		head_len;		/* the first head_len bytes written will be
								 * rewritten by write_head before write_end
								 * (at most ARCH_STORAGE_HEAD_MAX) */
} ArchWriteOptions;

/* The most bytes write_head may rewrite: an object header (object.h) */
#define ARCH_STORAGE_HEAD_MAX 4096

/*
 * Callbacks.  A sink or list callback returns ARCH_OK to go on; any other
 * status stops the operation, which then returns that status (the callback
 * has set err).
 */
typedef ArchStatus (*ArchSink) (void *arg, const void *data, size_t len,
								ArchError *err);
typedef ArchStatus (*ArchListCallback) (void *arg, const char *name,
										uint64_t size, ArchError *err);

/*
 * The driver table.  Object names are relative to the repository root and
 * use '/' as separator; drivers add their prefix or directory.  Every
 * function gets the driver state returned by open (or the writer state
 * returned by write_begin).
 */
typedef struct ArchStorageDriver
{
	const char *scheme;			/* "file", "s3", "azure" */
	const ArchSetting *settings;	/* settings it reads; ends with a NULL
									 * name; may be NULL */

	/* connect nothing yet: validate configuration, make the state */
	ArchStatus	(*open) (const ArchUrl *url, const ArchConfig *cfg,
						 void **state, ArchError *err);
	void		(*close) (void *state);

	/*
	 * Streaming writer.  write_end returns only when the object is durable
	 * (see the header comment); write_end and write_abort free the writer,
	 * whatever they return.  write_abort leaves no object under the name.
	 */
	ArchStatus	(*write_begin) (void *state, const char *name,
								const ArchWriteOptions *opts, void **writer,
								ArchError *err);
	ArchStatus	(*write) (void *writer, const void *data, size_t len,
						  ArchError *err);
	ArchStatus	(*write_end) (void *writer, ArchError *err);
	void		(*write_abort) (void *writer);

	/*
	 * Rewrite the first len bytes written (len at most the head_len given
	 * to write_begin), before write_end: what a streaming writer learns
	 * last, such as an object header's digest, goes at the start.  file://
	 * writes in place before the fsync; S3 and Azure keep their first part
	 * or block back and send it last, so nothing with the old bytes is
	 * ever stored under the name.  sha256 (hex, or NULL) is the plaintext
	 * digest, now known: kept as metadata where the upload has not begun.
	 */
	ArchStatus	(*write_head) (void *writer, const void *data, size_t len,
							   const char *sha256, ArchError *err);

	/*
	 * Stream the object's bytes to sink, from the start; limit > 0 reads at
	 * most that many bytes (a ranged GET), 0 reads it all.  Data already
	 * handed to the sink is not retracted when a later retry restarts the
	 * transfer, so drivers retry only before the first byte reached the sink
	 * and otherwise return ARCH_TRANSIENT.
	 */
	ArchStatus	(*read) (void *state, const char *name, uint64_t limit,
						 ArchSink sink, void *arg, ArchError *err);
	ArchStatus	(*info) (void *state, const char *name, ArchObjectInfo *info,
						 ArchError *err);

	/* every object whose name starts with prefix, in any order, paged */
	ArchStatus	(*list) (void *state, const char *prefix,
						 ArchListCallback callback, void *arg, ArchError *err);
	/* a missing object is ARCH_NOT_FOUND */
	ArchStatus	(*remove) (void *state, const char *name, ArchError *err);

	/*
	 * Optional: remove what interrupted writes left under prefix (their
	 * temporary files, unfinished multipart uploads) that was started at
	 * the time "before" or earlier, and count it in *removed.  Only the
	 * repository's own names are touched.  NULL when a backend leaves
	 * nothing behind that would not expire by itself.
	 */
	ArchStatus	(*cleanup) (void *state, const char *prefix, time_t before,
							int *removed, ArchError *err);
} ArchStorageDriver;

/* The drivers (storage_<scheme>.c); the registry in storage.c lists them */
extern const ArchStorageDriver arch_storage_file_driver;
extern const ArchStorageDriver arch_storage_s3_driver;
extern const ArchStorageDriver arch_storage_azure_driver;

/* Registry: the driver for a scheme, or NULL; the NULL-terminated list */
extern const ArchStorageDriver *arch_storage_driver_find(const char *scheme);
extern const ArchStorageDriver *const *arch_storage_drivers(void);

/* An open repository and an open writer */
typedef struct ArchStorage
{
	const ArchStorageDriver *driver;
	void	   *state;
	ArchUrl		url;
} ArchStorage;

typedef struct ArchStorageWrite
{
	ArchStorage *storage;
	void	   *writer;
	char	   *name;
	size_t		head_len;		/* as given to write_begin */
} ArchStorageWrite;

extern ArchStatus arch_storage_open(const char *url, const ArchConfig *cfg,
									ArchStorage **storage, ArchError *err);
extern void arch_storage_close(ArchStorage *storage);

extern ArchStatus arch_storage_write_begin(ArchStorage *storage,
										   const char *name,
										   const ArchWriteOptions *opts,
										   ArchStorageWrite **write,
										   ArchError *err);
extern ArchStatus arch_storage_write(ArchStorageWrite *write,
									 const void *data, size_t len,
									 ArchError *err);
extern ArchStatus arch_storage_write_end(ArchStorageWrite *write,
										 ArchError *err);
extern void arch_storage_write_abort(ArchStorageWrite *write);
extern ArchStatus arch_storage_write_head(ArchStorageWrite *write,
										  const void *data, size_t len,
										  const char *sha256, ArchError *err);

/* An ArchSink whose arg is an ArchStorageWrite */
extern ArchStatus arch_storage_write_sink(void *write, const void *data,
										  size_t len, ArchError *err);

/* Whole-object convenience: write_begin + write + write_end */
extern ArchStatus arch_storage_put(ArchStorage *storage, const char *name,
								   const ArchWriteOptions *opts,
								   const void *data, size_t len,
								   ArchError *err);

extern ArchStatus arch_storage_read(ArchStorage *storage, const char *name,
									uint64_t limit, ArchSink sink, void *arg,
									ArchError *err);
extern ArchStatus arch_storage_info(ArchStorage *storage, const char *name,
									ArchObjectInfo *info, ArchError *err);
extern ArchStatus arch_storage_list(ArchStorage *storage, const char *prefix,
									ArchListCallback callback, void *arg,
									ArchError *err);
extern ArchStatus arch_storage_remove(ArchStorage *storage, const char *name,
									  ArchError *err);
/* Every object name under prefix, in no order: list's results kept */
typedef struct ArchNameList
{
	int			n;
	char	  **names;
} ArchNameList;

extern ArchStatus arch_storage_list_names(ArchStorage *storage,
										  const char *prefix,
										  ArchNameList *list, ArchError *err);
extern void arch_name_list_free(ArchNameList *list);

/* The driver's cleanup, or nothing to do (*removed 0) */
extern ArchStatus arch_storage_cleanup(ArchStorage *storage, const char *prefix,
									   time_t before, int *removed,
									   ArchError *err);

#endif							/* ARCH_STORAGE_H */
