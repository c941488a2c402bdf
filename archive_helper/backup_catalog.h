/*-------------------------------------------------------------------------
 *
 * backup_catalog.h
 *		The backups in a repository: which there are, complete or not, and
 *		their manifests.
 *
 * One listing of backup/ tells every command what is there: a label with
 * a manifest is a complete backup; one without (a backup in progress, or
 * one killed) is not, and no command but cleanup and delete ever touches
 * it.
 *
 * archive_helper/backup_catalog.h
 *
 *-------------------------------------------------------------------------
 */
#ifndef ARCH_BACKUP_CATALOG_H
#define ARCH_BACKUP_CATALOG_H

#include "backup_manifest.h"
#include "object.h"

typedef struct BackupEntry
{
	char		label[BACKUP_LABEL_LEN + 1];
	bool		complete;		/* has its manifest */
	uint64_t	stored;			/* bytes of its objects */
	int			nobjects;
} BackupEntry;

typedef struct BackupCatalog
{
	int			n;
	BackupEntry *entries;		/* sorted by label: oldest first */
} BackupCatalog;

extern ArchStatus backup_catalog_load(ArchStorage *storage, BackupCatalog *cat,
									  ArchError *err);
extern void backup_catalog_free(BackupCatalog *cat);

/*
 * The complete backup called name, or with name "LATEST" the newest one;
 * NULL (and err set, ARCH_FATAL) when there is none.
 */
extern const BackupEntry *backup_catalog_find(const BackupCatalog *cat,
											  const char *name,
											  ArchError *err);

/* Read, verify and parse the manifest of label */
extern ArchStatus backup_manifest_read(ArchStorage *storage,
									   const ArchDecodeOptions *dopts,
									   const char *label, BackupManifest *m,
									   ArchError *err);

#endif							/* ARCH_BACKUP_CATALOG_H */
