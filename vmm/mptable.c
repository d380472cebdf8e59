/* mptable.c — MP spec 1.4 floating pointer and configuration table. */
#include "vmm/mptable.h"
#include "vmm/util.h"

#include <string.h>

#define MP_SPEC_REV 4
#define MP_PROCESSOR 0
#define MP_BUS 1
#define MP_IOAPIC 2
#define MP_INTSRC 3
#define MP_LINTSRC 4
#define MP_IRQ_INT 0
#define MP_IRQ_NMI 1
#define MP_IRQ_EXTINT 3
#define MP_CPU_ENABLED 1
#define MP_CPU_BSP 2
#define MP_APIC_VERSION 0x14
#define MP_IOAPIC_VERSION 0x11
#define MP_BIOS_END 0xa0000ULL

struct mpf_intel {
	char signature[4]; /* "_MP_" */
	uint32_t physptr;
	uint8_t length;    /* in 16-byte units */
	uint8_t specification;
	uint8_t checksum;
	uint8_t feature[5];
} __attribute__((packed));

struct mpc_table {
	char signature[4]; /* "PCMP" */
	uint16_t length;
	uint8_t spec;
	uint8_t checksum;
	char oem[8];
	char productid[12];
	uint32_t oemptr;
	uint16_t oemsize;
	uint16_t oemcount; /* entry count */
	uint32_t lapic;
	uint16_t exttbl_len;
	uint8_t exttbl_checksum;
	uint8_t reserved;
} __attribute__((packed));

struct mpc_cpu {
	uint8_t type, apicid, apicver, cpuflag;
	uint32_t cpufeature, featureflag;
	uint32_t reserved[2];
} __attribute__((packed));

struct mpc_bus {
	uint8_t type, busid;
	char bustype[6];
} __attribute__((packed));

struct mpc_ioapic {
	uint8_t type, apicid, apicver, flags;
	uint32_t apicaddr;
} __attribute__((packed));

struct mpc_intsrc {
	uint8_t type, irqtype;
	uint16_t irqflag;
	uint8_t srcbus, srcbusirq, dstapic, dstirq;
} __attribute__((packed));

uint8_t mptable_checksum(const void *buf, size_t len)
{
	const uint8_t *p = buf;
	uint8_t sum = 0;

	while (len--)
		sum = (uint8_t)(sum + *p++);
	return sum;
}

static size_t mptable_size(unsigned int nr_cpus)
{
	return sizeof(struct mpf_intel) + sizeof(struct mpc_table) +
	       nr_cpus * sizeof(struct mpc_cpu) + sizeof(struct mpc_bus) +
	       sizeof(struct mpc_ioapic) + (MPTABLE_NR_IRQS + 2) * sizeof(struct mpc_intsrc);
}

int mptable_setup(struct guest_mem *mem, unsigned int nr_cpus)
{
	size_t size = mptable_size(nr_cpus);
	uint8_t *base, *p;
	struct mpf_intel *mpf;
	struct mpc_table *mpc;
	uint8_t ioapic_id = (uint8_t)(nr_cpus + 1);
	uint16_t count = 0;

	if (nr_cpus == 0 || nr_cpus > MPTABLE_MAX_CPUS)
		return -EINVAL;
	if (MPTABLE_START + size > MP_BIOS_END)
		return -E2BIG;
	base = guest_mem_ptr(mem, MPTABLE_START, size);
	if (!base)
		return -E2BIG;
	memset(base, 0, size);

	mpf = (struct mpf_intel *)base;
	memcpy(mpf->signature, "_MP_", 4);
	mpf->physptr = (uint32_t)(MPTABLE_START + sizeof(*mpf));
	mpf->length = 1;
	mpf->specification = MP_SPEC_REV;

	mpc = (struct mpc_table *)(base + sizeof(*mpf));
	p = (uint8_t *)(mpc + 1);
	for (unsigned int i = 0; i < nr_cpus; i++, count++) {
		struct mpc_cpu *c = (struct mpc_cpu *)p;

		c->type = MP_PROCESSOR;
		c->apicid = (uint8_t)i;
		c->apicver = MP_APIC_VERSION;
		c->cpuflag = MP_CPU_ENABLED | (i == 0 ? MP_CPU_BSP : 0);
		c->cpufeature = 0x600;      /* family 6 */
		c->featureflag = 0x201;     /* FPU, APIC */
		p += sizeof(*c);
	}
	{
		struct mpc_bus *b = (struct mpc_bus *)p;

		b->type = MP_BUS;
		b->busid = 0;
		memcpy(b->bustype, "ISA   ", 6);
		p += sizeof(*b);
		count++;
	}
	{
		struct mpc_ioapic *io = (struct mpc_ioapic *)p;

		io->type = MP_IOAPIC;
		io->apicid = ioapic_id;
		io->apicver = MP_IOAPIC_VERSION;
		io->flags = 1;
		io->apicaddr = MPTABLE_IOAPIC_ADDR;
		p += sizeof(*io);
		count++;
	}
	for (unsigned int irq = 0; irq < MPTABLE_NR_IRQS; irq++, count++) {
		struct mpc_intsrc *is = (struct mpc_intsrc *)p;

		*is = (struct mpc_intsrc){ MP_INTSRC, MP_IRQ_INT, 0, 0, (uint8_t)irq,
					   ioapic_id, (uint8_t)irq };
		p += sizeof(*is);
	}
	/* LINT0 = ExtINT (legacy PIC), LINT1 = NMI, on every local APIC. */
	*(struct mpc_intsrc *)p = (struct mpc_intsrc){ MP_LINTSRC, MP_IRQ_EXTINT, 0, 0, 0, 0xff, 0 };
	p += sizeof(struct mpc_intsrc);
	*(struct mpc_intsrc *)p = (struct mpc_intsrc){ MP_LINTSRC, MP_IRQ_NMI, 0, 0, 0, 0xff, 1 };
	p += sizeof(struct mpc_intsrc);
	count += 2;

	memcpy(mpc->signature, "PCMP", 4);
	mpc->length = (uint16_t)(p - (uint8_t *)mpc);
	mpc->spec = MP_SPEC_REV;
	memcpy(mpc->oem, "BRISK   ", 8);
	memcpy(mpc->productid, "MICROVM     ", 12);
	mpc->oemcount = count;
	mpc->lapic = MPTABLE_LAPIC_ADDR;
	mpc->checksum = (uint8_t)-mptable_checksum(mpc, mpc->length);
	mpf->checksum = (uint8_t)-mptable_checksum(mpf, sizeof(*mpf));
	return 0;
}
