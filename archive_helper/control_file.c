/*-------------------------------------------------------------------------
 *
 * control_file.c
 *		Read pg_control (see control_file.h).
 *
 * archive_helper/control_file.c
 *
 *-------------------------------------------------------------------------
 */
#include "postgres_fe.h"

#include <fcntl.h>
#include <unistd.h>

#include "access/xlog_internal.h"
#include "catalog/pg_control.h"
#include "control_file.h"
#include "port/pg_crc32c.h"
#include "wal_name.h"

bool
control_file_read(const char *datadir, ControlInfo *info)
{
	ControlFileData data;
	char	   *path = psprintf("%s/%s", datadir, XLOG_CONTROL_FILE);
	int			fd = open(path, O_RDONLY | O_NONBLOCK | PG_BINARY, 0);
	bool		ok;
	pg_crc32c	crc;

	memset(info, 0, sizeof(ControlInfo));
	pg_free(path);
	if (fd < 0)
		return false;
	ok = read(fd, &data, sizeof(data)) == sizeof(data);
	close(fd);
	if (!ok)
		return false;
	INIT_CRC32C(crc);
	COMP_CRC32C(crc, &data, offsetof(ControlFileData, crc));
	FIN_CRC32C(crc);
	if (!EQ_CRC32C(crc, data.crc) || !arch_wal_segment_size_valid(data.xlog_seg_size))
		return false;
	info->seg_size = data.xlog_seg_size;
	info->sysid = data.system_identifier;
	return true;
}
