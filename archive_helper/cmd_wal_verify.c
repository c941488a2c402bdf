/*-------------------------------------------------------------------------
 *
 * cmd_wal_verify.c
 *		dbops_archive wal-verify [--deep]: does every backup restore to the
 *		end of the archive?
 *
 * For each complete backup, oldest first, the WAL it needs is followed
 * from its first segment to the end of the newest timeline that descends
 * from it (wal_chain.h): a missing segment is a gap, and a backup whose
 * own range (to its stop segment) has a gap does not restore at all.  A
 * timeline with segments but no history file is a timeline break.  With
 * --deep, every WAL object and every part of every backup is also read
 * and verified (the object format's checks; parts also against the
 * manifest's size and SHA-256), each failure named.
 *
 * The exit status is the verdict: 0 every backup restores to the end of
 * the archive; 4 a gap, a timeline break or a corrupt object.
 *
 * archive_helper/cmd_wal_verify.c
 *
 *-------------------------------------------------------------------------
 */
#include "postgres_fe.h"

#include <openssl/evp.h>

#include "backup_catalog.h"
#include "cli.h"
#include "common/logging.h"
#include "object_io.h"
#include "wal_chain.h"
#include "wal_name.h"

const ArchOption cmd_wal_verify_options[] = {
	{"deep", false, "--deep                 also read and verify every WAL object and backup part"},
	{NULL}
};

void
cmd_wal_verify_help(const char *progname)
{
	printf("%s wal-verify checks that every backup restores to the end of the archive.\n\n", progname);
	printf("Usage:\n  %s wal-verify [OPTION]...\n", progname);
	cli_print_options(cmd_wal_verify_options);
	printf("\nExit status: 0 every backup restores to the end of the archive; 2 configuration;\n"
		   "3 storage failure; 4 a gap, a timeline break or (--deep) a corrupt object.\n");
}

/* ArchSink: hash what the decoder gives */
static ArchStatus
hash_sink(void *arg, const void *data, size_t len, ArchError *err)
{
	EVP_DigestUpdate(arg, data, len);
	return ARCH_OK;
}

/*
 * Read and verify one object; with want (a part), also its size and
 * SHA-256.  Returns false (and says why) when it does not verify.
 */
static bool
verify_object(ArchStorage *storage, const ArchDecodeOptions *dopts,
			  const char *name, const BackupPart *want, const char *what)
{
	EVP_MD_CTX *md = EVP_MD_CTX_new();
	ArchDecoder *decoder;
	ArchObjectHeader hdr;
	uint8_t		sha[32];
	unsigned int sha_len = 32;
	ArchError	err;
	ArchStatus	st;

	EVP_DigestInit_ex(md, EVP_sha256(), NULL);
	decoder = arch_decoder_begin(name, dopts, hash_sink, md);
	st = arch_storage_read(storage, name, 0, arch_decoder_sink, decoder, &err);
	if (st == ARCH_OK)
		st = arch_decoder_end(decoder, &hdr, &err);
	else
		arch_decoder_free(decoder);
	EVP_DigestFinal_ex(md, sha, &sha_len);
	EVP_MD_CTX_free(md);
	if (st == ARCH_OK && want && (hdr.plain_size != want->size || memcmp(sha, want->sha256, 32) != 0))
		st = arch_error(&err, ARCH_CORRUPT, "object \"%s\" does not hold what the manifest says", name);
	if (st == ARCH_OK)
		return true;
	printf("corrupt: %s \"%s\": %s\n", what, name, err.message);
	return false;
}

int
cmd_wal_verify(ArchCli *cli)
{
	ArchKeyring ring;
	ArchDecodeOptions dopts;
	ArchStorage *storage = NULL;
	BackupCatalog cat = {0};
	WalArchive	wal = {0};
	bool		deep = cli_option(cli, "deep") != NULL;
	int			complete = 0;
	int			broken = 0;
	int			corrupt = 0;
	ArchError	err;
	ArchStatus	st;

	st = cli_begin_reading(cli, &ring, &dopts, &storage, &err);
	if (st == ARCH_OK)
		st = backup_catalog_load(storage, &cat, &err);
	if (st == ARCH_OK)
		st = wal_archive_load(storage, &dopts, &wal, &err);

	/* a timeline whose segments no history file explains */
	for (int i = 0; st == ARCH_OK && i < wal.nsegs; i++)
	{
		bool		known = wal.segs[i].tli == 1;

		if (i > 0 && wal.segs[i].tli == wal.segs[i - 1].tli)
			continue;
		for (int j = 0; !known && j < wal.nhist; j++)
			known = wal.hist[j].tli == wal.segs[i].tli;
		if (!known)
		{
			printf("timeline break: timeline %u has WAL but no history file wal/%08X.history\n",
				   wal.segs[i].tli, wal.segs[i].tli);
			broken++;
		}
	}

	for (int i = 0; st == ARCH_OK && i < cat.n; i++)
	{
		BackupManifest m;
		WalReach	r;
		uint64_t	start;
		uint64_t	stop;
		char		name[ARCH_WAL_SEGMENT_NAME_LEN + 1];

		if (!cat.entries[i].complete)
			continue;
		st = backup_manifest_read(storage, &dopts, cat.entries[i].label, &m, &err);
		if (st != ARCH_OK)
			break;
		complete++;
		start = wal_name_segno(m.start_wal, m.wal_segment_size);
		stop = wal_name_segno(m.stop_wal, m.wal_segment_size);
		wal_archive_reach(&wal, m.timeline, start, m.wal_segment_size, &r);
		if (!r.any || (r.gap && r.missing.segno <= stop))
		{
			arch_wal_segment_name(name, r.gap ? r.missing.tli : m.timeline,
								  r.gap ? r.missing.segno : start, m.wal_segment_size);
			printf("backup %s: does not restore: WAL file %s, which it needs to be consistent, is missing\n",
				   m.label, name);
			broken++;
		}
		else if (r.gap)
		{
			arch_wal_segment_name(name, r.missing.tli, r.missing.segno, m.wal_segment_size);
			printf("backup %s: gap: WAL file %s is missing; recovery from it stops before, not at the end of the archive\n",
				   m.label, name);
			broken++;
		}
		else
		{
			arch_wal_segment_name(name, r.last.tli, r.last.segno, m.wal_segment_size);
			printf("backup %s: restores to the end of the archive (WAL file %s, timeline %u)\n",
				   m.label, name, r.end_tli);
		}
		for (int f = 0; deep && f < m.nfiles; f++)
			for (int p = 0; p < m.files[f].nparts; p++)
				if (!verify_object(storage, &dopts, m.files[f].parts[p].object,
								   &m.files[f].parts[p], "backup part"))
					corrupt++;
		backup_manifest_free(&m);
	}
	for (int i = 0; st == ARCH_OK && deep && i < wal.nobjects; i++)
		if (!verify_object(storage, &dopts, wal.objects[i], NULL, "WAL file"))
			corrupt++;

	if (st != ARCH_OK)
		cli_log_error(&err);
	else if (complete == 0)
		printf("no complete backup in repository \"%s\"\n", storage->url.text);
	else if (broken + corrupt == 0)
		printf("every backup (%d) restores to the end of the archive%s\n", complete,
			   deep ? "; every object verified" : "");
	wal_archive_free(&wal);
	backup_catalog_free(&cat);
	arch_storage_close(storage);
	arch_keyring_free(&ring);
	if (st != ARCH_OK)
		return cli_exit_code(st);
	return broken + corrupt > 0 ? ARCH_EXIT_DIFFERS : ARCH_EXIT_OK;
}
