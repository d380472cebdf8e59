/* virtqueue.c — split virtqueue walking and used-ring updates (virtio 1.2 §2.7). */
#include "virtio/virtqueue.h"
#include "vmm/util.h"

#include <string.h>

/* Ring sizes in bytes for a queue of @n entries, incl. the event fields. */
#define DESC_BYTES(n) ((uint64_t)(n) * sizeof(struct vring_desc))
#define AVAIL_BYTES(n) (4 + 2 * (uint64_t)(n) + 2)
#define USED_BYTES(n) (4 + 8 * (uint64_t)(n) + 2)

int virtq_enable(struct virtq *vq, const struct guest_mem *mem)
{
	uint16_t n = vq->size;

	if (n == 0 || n > VIRTQ_MAX_SIZE || (n & (n - 1)))
		return -EINVAL;
	/* §2.7: descriptor table 16-byte, avail 2-byte, used 4-byte aligned. */
	if ((vq->desc_gpa & 15) || (vq->avail_gpa & 1) || (vq->used_gpa & 3))
		return -EINVAL;
	vq->desc = guest_mem_ptr(mem, vq->desc_gpa, DESC_BYTES(n));
	vq->avail = guest_mem_ptr(mem, vq->avail_gpa, AVAIL_BYTES(n));
	vq->used = guest_mem_ptr(mem, vq->used_gpa, USED_BYTES(n));
	if (!vq->desc || !vq->avail || !vq->used) {
		vq->desc = NULL;
		vq->avail = NULL;
		vq->used = NULL;
		return -EFAULT;
	}
	vq->mem = mem;
	vq->last_avail = 0;
	vq->used_idx = 0;
	vq->signalled_valid = false;
	vq->broken = false;
	return 0;
}

void virtq_reset(struct virtq *vq)
{
	memset(vq, 0, sizeof(*vq));
}

static uint16_t *avail_used_event(struct virtq *vq)
{
	return &vq->avail->ring[vq->size];
}

static uint16_t *used_avail_event(struct virtq *vq)
{
	return (uint16_t *)&vq->used->ring[vq->size];
}

/* Add one descriptor's buffer to the chain. 0, or -1 for a bad buffer. */
static int chain_add(struct virtq *vq, struct virtq_chain *c, const struct vring_desc *d)
{
	struct virtq_seg *s;
	bool write = d->flags & VRING_DESC_F_WRITE;

	if (c->nr == VIRTQ_MAX_SEGS)
		return -1;
	/*
	 * §2.7.4.2: readable buffers come before writable ones — any writable
	 * one, even empty (in_len alone would miss a zero-length one).
	 */
	if (!write && c->nr > 0 && c->segs[c->nr - 1].write)
		return -1;
	s = &c->segs[c->nr];
	s->len = d->len;
	s->write = write;
	s->hva = guest_mem_ptr(vq->mem, d->addr, d->len);
	if (!s->hva)
		return -1;
	c->nr++;
	if (write)
		c->in_len += d->len;
	else
		c->out_len += d->len;
	return 0;
}

/* Walk an indirect table (§2.7.5.3). 0, or -1 for a bad table. */
static int chain_indirect(struct virtq *vq, struct virtq_chain *c, const struct vring_desc *d,
			  unsigned int *ttl)
{
	const struct vring_desc *table;
	uint32_t n, i = 0;

	/* No chaining after, no nesting, whole entries, non-empty. */
	if (!vq->indirect || (d->flags & VRING_DESC_F_NEXT) || d->len == 0 ||
	    d->len % sizeof(struct vring_desc))
		return -1;
	n = d->len / sizeof(struct vring_desc);
	if (n > *ttl)
		return -1;
	table = guest_mem_ptr(vq->mem, d->addr, d->len);
	if (!table)
		return -1;
	for (unsigned int left = n;; left--) {
		struct vring_desc e;

		if (left == 0 || i >= n)
			return -1; /* loop inside the table */
		memcpy(&e, &table[i], sizeof(e));
		if ((e.flags & VRING_DESC_F_INDIRECT) || chain_add(vq, c, &e) < 0)
			return -1;
		(*ttl)--;
		if (!(e.flags & VRING_DESC_F_NEXT))
			return 0;
		i = e.next;
	}
}

int virtq_pop(struct virtq *vq, struct virtq_chain *c)
{
	uint16_t avail_idx, idx;
	unsigned int ttl;

	if (!vq->ready || vq->broken || !vq->avail)
		return VIRTQ_EMPTY;
	avail_idx = __atomic_load_n(&vq->avail->idx, __ATOMIC_ACQUIRE);
	if (avail_idx == vq->last_avail)
		return VIRTQ_EMPTY;
	/* §2.7.13.3: the driver never has more than the queue size outstanding. */
	if ((uint16_t)(avail_idx - vq->last_avail) > vq->size) {
		vq->broken = true;
		return -EINVAL;
	}
	idx = vq->avail->ring[vq->last_avail % vq->size];
	if (idx >= vq->size) {
		vq->broken = true;
		return -EINVAL;
	}
	vq->last_avail++;

	c->head = idx;
	c->nr = 0;
	c->out_len = c->in_len = 0;
	/* TTL: a chain has at most queue-size descriptors, so loops end. */
	for (ttl = vq->size;; ) {
		struct vring_desc d;

		if (ttl == 0)
			return VIRTQ_BAD_CHAIN;
		memcpy(&d, &vq->desc[idx], sizeof(d));
		ttl--;
		if (d.flags & VRING_DESC_F_INDIRECT)
			/* An indirect table ends the chain (it may not have NEXT). */
			return chain_indirect(vq, c, &d, &ttl) < 0 ? VIRTQ_BAD_CHAIN : VIRTQ_CHAIN;
		if (chain_add(vq, c, &d) < 0)
			return VIRTQ_BAD_CHAIN;
		if (!(d.flags & VRING_DESC_F_NEXT))
			return VIRTQ_CHAIN;
		idx = d.next;
		if (idx >= vq->size)
			return VIRTQ_BAD_CHAIN;
	}
}

void virtq_push(struct virtq *vq, uint16_t head, uint32_t len)
{
	struct vring_used_elem *e;

	if (!vq->used)
		return;
	e = &vq->used->ring[vq->used_idx % vq->size];
	e->id = head;
	e->len = len;
	vq->used_idx++;
	/* The element must be visible before the index that publishes it. */
	__atomic_store_n(&vq->used->idx, vq->used_idx, __ATOMIC_RELEASE);
}

bool virtq_end_batch(struct virtq *vq)
{
	if (!vq->avail || vq->broken)
		return false;
	if (vq->event_idx)
		__atomic_store_n(used_avail_event(vq), vq->last_avail, __ATOMIC_RELAXED);
	/* Store avail_event before re-reading avail->idx (store-load: full barrier). */
	__atomic_thread_fence(__ATOMIC_SEQ_CST);
	return __atomic_load_n(&vq->avail->idx, __ATOMIC_ACQUIRE) != vq->last_avail;
}

void virtq_unpop(struct virtq *vq, uint16_t n)
{
	vq->last_avail = (uint16_t)(vq->last_avail - n);
}

bool virtq_should_notify(struct virtq *vq)
{
	uint16_t old, event;
	bool need;

	if (!vq->avail)
		return false;
	/* Used index stores before reading the driver's suppression fields. */
	__atomic_thread_fence(__ATOMIC_SEQ_CST);
	if (!vq->event_idx)
		return !(__atomic_load_n(&vq->avail->flags, __ATOMIC_RELAXED) &
			 VRING_AVAIL_F_NO_INTERRUPT);
	old = vq->signalled_used;
	event = __atomic_load_n(avail_used_event(vq), __ATOMIC_RELAXED);
	need = !vq->signalled_valid || vring_need_event(event, vq->used_idx, old);
	vq->signalled_used = vq->used_idx;
	vq->signalled_valid = true;
	return need;
}

/* Copy between @host and @c's segments of one direction, from byte @off on. */
static size_t chain_copy(const struct virtq_chain *c, bool write, uint64_t off,
			 uint8_t *host, size_t len, bool to_chain)
{
	size_t done = 0;

	for (unsigned int i = 0; i < c->nr && done < len; i++) {
		const struct virtq_seg *s = &c->segs[i];
		size_t n;

		if (s->write != write)
			continue;
		if (off >= s->len) {
			off -= s->len;
			continue;
		}
		n = MIN((size_t)(s->len - off), len - done);
		if (to_chain)
			memcpy(s->hva + off, host + done, n);
		else
			memcpy(host + done, s->hva + off, n);
		done += n;
		off = 0;
	}
	return done;
}

size_t virtq_copy_from_chain(const struct virtq_chain *c, uint64_t off, void *dst, size_t len)
{
	return chain_copy(c, false, off, dst, len, false);
}

size_t virtq_copy_to_chain(const struct virtq_chain *c, uint64_t off, const void *src, size_t len)
{
	return chain_copy(c, true, off, (uint8_t *)src, len, true);
}
