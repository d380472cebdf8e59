/*
 * fuzz_virtqueue.c — libFuzzer target for the split virtqueue, device side
 * (virtio/virtqueue.c).
 *
 * The input is a few control bytes followed by a raw image of guest RAM:
 * the descriptor table, the avail ring and any indirect tables come from
 * the fuzzer as they are. The device then pops, pushes, ends batches and
 * decides on interrupts for a few rounds while the "driver" moves avail.idx
 * and the suppression fields. Guest RAM sits between PROT_NONE guard pages,
 * so any access outside it faults; besides crashes, a chain whose segments
 * leave RAM or break the chain rules traps.
 *
 * Layout: [0] queue size selector, [1] flags, [2] rounds, [3..10] per-round
 * control, then RAM from GPA 0 (desc table at 0, avail ring at 0x1000, used
 * ring at 0x2000 unless the flags move them).
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

#include "tests/fuzz/fuzz_util.h"
#include "virtio/virtqueue.h"

#define RAM_SIZE (64 * 1024)
#define HDR 11

static struct guest_mem mem;
static uint8_t *ram;

#define check(cond)                                                            \
	do {                                                                   \
		if (!(cond)) {                                                 \
			fprintf(stderr, "fuzz_virtqueue: %s:%d: %s\n", __FILE__, \
				__LINE__, #cond);                              \
			__builtin_trap();                                      \
		}                                                              \
	} while (0)

static void fuzz_init(void)
{
	ram = map_ram(RAM_SIZE);
	guest_mem_init_static(&mem, ram, RAM_SIZE);
}

/* Sizes a transport can hand in: powers of two up to the max, and bad ones. */
static uint16_t pick_size(uint8_t sel)
{
	static const uint16_t odd[] = { 0, 3, 24, 257, 512, 0xffff, 255 };

	sel &= 15;
	return sel <= 8 ? (uint16_t)(1u << sel) : odd[(sel - 9) % 7];
}

/* Every segment host range inside RAM; readable before writable; sums right. */
static void check_chain(const struct virtq *vq, const struct virtq_chain *c)
{
	uint64_t out = 0, in = 0;
	bool seen_write = false;

	check(c->head < vq->size);
	check(c->nr >= 1 && c->nr <= VIRTQ_MAX_SEGS);
	for (unsigned int i = 0; i < c->nr; i++) {
		const struct virtq_seg *s = &c->segs[i];

		check(s->hva >= ram && s->hva <= ram + RAM_SIZE);
		check((uint64_t)(s->hva - ram) + s->len <= RAM_SIZE);
		if (s->write) {
			seen_write = true;
			in += s->len;
		} else {
			check(!seen_write);
			out += s->len;
		}
	}
	check(out == c->out_len && in == c->in_len);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t len)
{
	static struct virtq_chain chain;
	static uint8_t scratch[256];
	struct virtq vq;
	uint8_t flags, rounds;
	const uint8_t *ctl;
	struct vring_avail *avail;

	if (!ram)
		fuzz_init();
	if (len < HDR)
		return 0;
	memset(ram, 0, RAM_SIZE);
	memcpy(ram, data + HDR, len - HDR < RAM_SIZE ? len - HDR : RAM_SIZE);

	memset(&vq, 0, sizeof(vq));
	flags = data[1];
	rounds = (uint8_t)(1 + data[2] % 8);
	ctl = data + 3;
	vq.size = pick_size(data[0]);
	vq.desc_gpa = 0;
	vq.avail_gpa = 0x1000;
	vq.used_gpa = 0x2000;
	vq.indirect = flags & 1;
	vq.event_idx = flags & 2;
	switch ((flags >> 2) & 3) {
	case 1: /* misaligned rings */
		vq.avail_gpa += flags >> 7;
		vq.used_gpa += 2 * (flags >> 6 & 1);
		break;
	case 2: /* used ring at the very end of RAM, or just past it */
		vq.used_gpa = RAM_SIZE - 4 - 8ULL * vq.size - 2 + 4 * (flags >> 7);
		break;
	case 3: /* rings anywhere the input says */
		vq.desc_gpa = (uint64_t)data[0] << 12 | (uint64_t)(flags & 0xf0) << 56;
		vq.avail_gpa = (uint64_t)data[2] << 8;
		break;
	}
	vq.ready = true;
	if (virtq_enable(&vq, &mem) < 0) {
		check(virtq_pop(&vq, &chain) == VIRTQ_EMPTY);
		return 0;
	}
	check(vq.size && vq.size <= VIRTQ_MAX_SIZE && !(vq.size & (vq.size - 1)));
	avail = vq.avail;

	for (unsigned int r = 0; r < rounds; r++) {
		uint8_t c = ctl[r];
		unsigned int budget = 2u * vq.size + 2, batches = 4;
		bool more;

		if (c & 0x80) { /* device reset and re-enable, as after a driver reset */
			struct virtq fresh = { .size = vq.size, .desc_gpa = vq.desc_gpa,
					       .avail_gpa = vq.avail_gpa, .used_gpa = vq.used_gpa,
					       .ready = true, .indirect = vq.indirect,
					       .event_idx = vq.event_idx };

			virtq_reset(&vq);
			check(virtq_pop(&vq, &chain) == VIRTQ_EMPTY);
			vq = fresh;
			check(virtq_enable(&vq, &mem) == 0);
		}
		/* The driver publishes more (entries are whatever RAM holds). */
		avail->idx = (uint16_t)(avail->idx + (c & 0x1f));
		if (c & 0x20)
			avail->flags ^= VRING_AVAIL_F_NO_INTERRUPT;
		if (c & 0x40)
			avail->ring[vq.size] = (uint16_t)(avail->ring[vq.size] + c);
		do {
			for (unsigned int n = 0; n < budget; n++) {
				int p = virtq_pop(&vq, &chain);

				if (p == VIRTQ_EMPTY)
					break;
				if (p < 0) {
					check(vq.broken);
					check(virtq_pop(&vq, &chain) == VIRTQ_EMPTY);
					break;
				}
				if (p == VIRTQ_BAD_CHAIN) {
					check(chain.head < vq.size);
					virtq_push(&vq, chain.head, 0);
					continue;
				}
				check(p == VIRTQ_CHAIN);
				check_chain(&vq, &chain);
				/* Touch the buffers the way a device does. */
				virtq_copy_from_chain(&chain, c, scratch, sizeof(scratch));
				memset(scratch, c, sizeof(scratch));
				check(virtq_copy_to_chain(&chain, c & 7, scratch, sizeof(scratch)) <=
				      chain.in_len);
				virtq_push(&vq, chain.head,
					   (uint32_t)(chain.in_len < 300 ? chain.in_len : 300));
			}
			more = virtq_end_batch(&vq);
		} while (more && --batches > 0 && !vq.broken);
		(void)virtq_should_notify(&vq);
		if (vq.event_idx && !vq.broken) {
			uint16_t avail_event;

			/* §2.7.10: avail_event tells the driver where we stopped. */
			memcpy(&avail_event, &vq.used->ring[vq.size], sizeof(avail_event));
			check(avail_event == vq.last_avail);
		}
	}
	return 0;
}
