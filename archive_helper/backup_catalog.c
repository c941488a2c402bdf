/*-------------------------------------------------------------------------
 *
 * backup_catalog.c
 *		The backups in a repository (see backup_catalog.h).
 *
 * archive_helper/backup_catalog.c
 *
 *-------------------------------------------------------------------------
 */
#include "postgres_fe.h"

#include "backup_catalog.h"
#include "object_io.h"

/* ArchListCallback: count the object under its backup's label */
static ArchStatus
catalog_list_cb(void *arg, const char *name, uint64_t size, ArchError *err)
{
	BackupCatalog *cat = arg;
	const char *rest = name + strlen(BACKUP_PREFIX);
	const char *slash = strchr(rest, '/');
	char		label[BACKUP_LABEL_LEN + 1];
	BackupEntry *e = NULL;

	/* only backup/LABEL/...: anything else is not ours to count */
	if (slash == NULL || slash - rest > BACKUP_LABEL_LEN)
		return ARCH_OK;
	snprintf(label, sizeof(label), "%.*s", (int) (slash - rest), rest);
	if (!backup_label_valid(label))
		return ARCH_OK;
	for (int i = 0; i < cat->n && e == NULL; i++)
		if (strcmp(cat->entries[i].label, label) == 0)
			e = &cat->entries[i];
	if (e == NULL)
	{
		cat->entries = pg_realloc(cat->entries, sizeof(BackupEntry) * (cat->n + 1));
		e = &cat->entries[cat->n++];
		memset(e, 0, sizeof(BackupEntry));
		strcpy(e->label, label);
	}
	if (strcmp(slash + 1, "manifest") == 0)
		e->complete = true;
	e->stored += size;
	e->nobjects++;
	return ARCH_OK;
}

static int
entry_cmp(const void *a, const void *b)
{
	return strcmp(((const BackupEntry *) a)->label, ((const BackupEntry *) b)->label);
}

ArchStatus
backup_catalog_load(ArchStorage *storage, BackupCatalog *cat, ArchError *err)
{
	ArchStatus	st;

	memset(cat, 0, sizeof(BackupCatalog));
	st = arch_storage_list(storage, BACKUP_PREFIX, catalog_list_cb, cat, err);
	if (st == ARCH_OK && cat->n > 1)
		qsort(cat->entries, cat->n, sizeof(BackupEntry), entry_cmp);
	if (st != ARCH_OK)
		backup_catalog_free(cat);
	return st;
}

void
backup_catalog_free(BackupCatalog *cat)
{
	pg_free(cat->entries);
	memset(cat, 0, sizeof(BackupCatalog));
}

const BackupEntry *
backup_catalog_find(const BackupCatalog *cat, const char *name, ArchError *err)
{
	bool		latest = strcmp(name, "LATEST") == 0;

	for (int i = cat->n - 1; i >= 0; i--)
		if (cat->entries[i].complete &&
			(latest || strcmp(cat->entries[i].label, name) == 0))
			return &cat->entries[i];
	if (latest)
		arch_error(err, ARCH_FATAL, "the repository holds no complete backup");
	else
		arch_error(err, ARCH_FATAL, "backup \"%s\" is not a complete backup of the repository", name);
	return NULL;
}

ArchStatus
backup_manifest_read(ArchStorage *storage, const ArchDecodeOptions *dopts,
					 const char *label, BackupManifest *m, ArchError *err)
{
	char	   *name = backup_object(label, "manifest");
	ArchBuf		text = {0};
	ArchStatus	st = arch_object_get_buf(storage, name, dopts, &text, err);

	if (st == ARCH_OK)
		st = backup_manifest_parse(label, text.data, text.len, m, err);
	arch_buf_free(&text);
	pg_free(name);
	return st;
}
