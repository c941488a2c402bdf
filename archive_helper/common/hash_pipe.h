/*-------------------------------------------------------------------------
 *
 * hash_pipe.h
 *		SHA-256 in a thread of its own, fed slot by slot.
 *
 * Verifying a fetched object needs the SHA-256 of all of its plaintext,
 * which costs about half as much CPU as decompressing it.  A hash pipe
 * lets the decoder hand each filled slot to a hashing thread and go on
 * decompressing into the next one, so both run at once on two cores.
 *
 * Usage: fill arch_hash_pipe_slot() (ARCH_HASH_PIPE_SLOT bytes at most),
 * pass it with arch_hash_pipe_push(); the slot stays readable until the
 * next arch_hash_pipe_slot() call returns a new one.  arch_hash_pipe_end()
 * waits for the thread and gives the digest.  If no thread can be started,
 * hashing happens inline, with the same results.
 *
 * archive_helper/common/hash_pipe.h
 *
 *-------------------------------------------------------------------------
 */
#ifndef ARCH_HASH_PIPE_H
#define ARCH_HASH_PIPE_H

#include "arch_shim.h"

#define ARCH_HASH_PIPE_SLOT (1024 * 1024)

typedef struct ArchHashPipe ArchHashPipe;

/* threaded false: hash inline (a small input, where a thread costs more) */
extern ArchHashPipe *arch_hash_pipe_begin(bool threaded);
extern uint8_t *arch_hash_pipe_slot(ArchHashPipe *pipe);
extern void arch_hash_pipe_push(ArchHashPipe *pipe, size_t len);
/* Wait for the hashing to finish, give the digest, free the pipe */
extern void arch_hash_pipe_end(ArchHashPipe *pipe, uint8_t sha256[32]);

#endif							/* ARCH_HASH_PIPE_H */
