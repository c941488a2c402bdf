/*-------------------------------------------------------------------------
 *
 * hash_pipe.c
 *		SHA-256 in a thread of its own (see hash_pipe.h).
 *
 * A ring of slots: the producer fills slots[head]; queued slots wait from
 * tail on for the hashing thread.  The producer blocks only when every
 * slot is queued, the thread only when none is.
 *
 * archive_helper/common/hash_pipe.c
 *
 *-------------------------------------------------------------------------
 */
#include <pthread.h>
#include <string.h>

#include <openssl/evp.h>

#include "hash_pipe.h"

#define NSLOTS 3

struct ArchHashPipe
{
	pthread_t	thread;
	bool		started;		/* first push done: thread tried */
	bool		threaded;		/* ... and running */
	pthread_mutex_t lock;
	pthread_cond_t changed;
	uint8_t    *slots[NSLOTS];
	size_t		lens[NSLOTS];
	int			head;			/* slot being filled */
	int			tail;			/* next queued slot to hash */
	int			queued;
	bool		done;			/* no more slots will come */
	EVP_MD_CTX *md;
};

static void *
hash_pipe_main(void *arg)
{
	ArchHashPipe *p = arg;

	pthread_mutex_lock(&p->lock);
	for (;;)
	{
		int			slot;

		while (p->queued == 0 && !p->done)
			pthread_cond_wait(&p->changed, &p->lock);
		if (p->queued == 0)
			break;
		slot = p->tail;
		/* hash without the lock: the producer does not touch queued slots */
		pthread_mutex_unlock(&p->lock);
		EVP_DigestUpdate(p->md, p->slots[slot], p->lens[slot]);
		pthread_mutex_lock(&p->lock);
		p->tail = (p->tail + 1) % NSLOTS;
		p->queued--;
		pthread_cond_broadcast(&p->changed);
	}
	pthread_mutex_unlock(&p->lock);
	return NULL;
}

ArchHashPipe *
arch_hash_pipe_begin(bool threaded)
{
	ArchHashPipe *p = arch_alloc0(sizeof(ArchHashPipe));

	/* inline: as if the thread had failed to start */
	p->started = !threaded;

	for (int i = 0; i < NSLOTS; i++)
		p->slots[i] = arch_alloc(ARCH_HASH_PIPE_SLOT);
	p->md = EVP_MD_CTX_new();
	EVP_DigestInit_ex(p->md, EVP_sha256(), NULL);
	pthread_mutex_init(&p->lock, NULL);
	pthread_cond_init(&p->changed, NULL);
	/* the thread starts with the first push: a reader may never push */
	return p;
}

uint8_t *
arch_hash_pipe_slot(ArchHashPipe *p)
{
	return p->slots[p->head];
}

void
arch_hash_pipe_push(ArchHashPipe *p, size_t len)
{
	if (!p->started)
	{
		p->started = true;
		p->threaded = pthread_create(&p->thread, NULL, hash_pipe_main, p) == 0;
	}
	if (!p->threaded)
	{
		EVP_DigestUpdate(p->md, p->slots[p->head], len);
		return;
	}
	pthread_mutex_lock(&p->lock);
	p->lens[p->head] = len;
	p->head = (p->head + 1) % NSLOTS;
	p->queued++;
	pthread_cond_broadcast(&p->changed);
	/* the next slot to fill must not be one still queued */
	while (p->queued == NSLOTS)
		pthread_cond_wait(&p->changed, &p->lock);
	pthread_mutex_unlock(&p->lock);
}

void
arch_hash_pipe_end(ArchHashPipe *p, uint8_t sha256[32])
{
	unsigned int len = 32;

	if (p->threaded)
	{
		pthread_mutex_lock(&p->lock);
		p->done = true;
		pthread_cond_broadcast(&p->changed);
		pthread_mutex_unlock(&p->lock);
		pthread_join(p->thread, NULL);
	}
	if (sha256 != NULL)
		EVP_DigestFinal_ex(p->md, sha256, &len);
	EVP_MD_CTX_free(p->md);
	pthread_mutex_destroy(&p->lock);
	pthread_cond_destroy(&p->changed);
	for (int i = 0; i < NSLOTS; i++)
		arch_free(p->slots[i]);
	arch_free(p);
}
