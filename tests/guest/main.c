/* main.c — test guest body: greets on COM1, writes the boot timer, obeys command-line switches, exits. */

/*
 * Command line: space-separated words; unknown words are ignored, so a VMM
 * may add its own (console=..., virtio_mmio.device=...).
 *
 *   exit=N          exit status N (low 8 bits) through the exit device; default 0
 *   counter         print "tick N" (N from 0) every interval until a byte
 *                   arrives on COM1, then print "stop" and exit; meanwhile
 *                   poll the i8042 (status 0x64 bit 0, data 0x60) and once
 *                   the set-2 make codes of Ctrl (14, or E0 14), Alt (11, or
 *                   E0 11) and Delete (E0 71) have all come, in any order
 *                   and among any break codes, print "ctrl-alt-del" and exit
 *                   with cad_exit's status (the VMM's SendCtrlAltDel)
 *   ticks=N         counter that also ends, printing "done", after N ticks
 *   cad_exit=N      exit status after "ctrl-alt-del" (low 8 bits); default 0
 *   interval_ms=N   tick interval in ms, default 20 (TSC-timed, approximate)
 *   fault=triple    triple fault (empty IDT + ud2): the VMM must reset
 *   fault=hang      cli; hlt forever: for timeout tests
 *   reboot          end through the i8042 (0xFE to port 0x64), not the exit device
 *   write2=1        also print a line on COM2
 *   timer=port|mmio|both|none  which boot-timer write(s) to make; default both
 *
 * Output lines end in "\n" only.
 */

#include <stdint.h>

/* Entry ids, as passed by entry.S. */
enum { ENTRY_LINUX64 = 0, ENTRY_PVH = 1 };

#define COM1		0x3f8
#define COM2		0x2f8
#define UART_LSR	5
#define LSR_DR		0x01	/* receiver has a byte */
#define LSR_THRE	0x20	/* transmit holding register empty */

#define BOOT_TIMER_PORT	0x3f0
#define BOOT_TIMER_MMIO	0xc0000000ul
#define BOOT_TIMER_MAGIC 123
#define EXIT_PORT	0x501	/* brisk's exit device = QEMU isa-debug-exit */
#define I8042_DATA	0x60
#define I8042_CMD	0x64	/* write: command; read: status */
#define I8042_STS_OBF	0x01	/* output buffer full: a byte waits on 0x60 */
#define I8042_RESET	0xfe
/* The i8042 is polled every this many ms of a tick (and at each tick), so
 * that it costs a VM exit per 8 ms, not one per ms like COM1. */
#define I8042_POLL_MS	8

/* The command line is read in place; entry.S maps 0..1 GiB (and the
 * boot-timer page), so it must lie below 1 GiB. */
#define CMDLINE_MAX	4096
#define MAPPED_LIMIT	(1ull << 30)

/* Linux boot_params (zero page), only the fields we read; offsets from
 * Documentation/arch/x86/zero-page.rst and boot.rst. */
struct boot_params {
	uint8_t pad0[0x0c8];
	uint32_t ext_cmd_line_ptr;	/* 0x0c8: high 32 bits of cmd_line_ptr */
	uint8_t pad1[0x228 - 0x0cc];
	uint32_t cmd_line_ptr;		/* 0x228: hdr.cmd_line_ptr */
} __attribute__((packed));
_Static_assert(__builtin_offsetof(struct boot_params, cmd_line_ptr) == 0x228,
	       "boot_params layout");

/* Xen public/arch-x86/hvm/start_info.h, struct hvm_start_info (version 1). */
#define HVM_START_MAGIC	0x336ec578
struct hvm_start_info {
	uint32_t magic;
	uint32_t version;
	uint32_t flags;
	uint32_t nr_modules;
	uint64_t modlist_paddr;
	uint64_t cmdline_paddr;		/* 0 if none */
	uint64_t rsdp_paddr;
	uint64_t memmap_paddr;		/* version >= 1 */
	uint32_t memmap_entries;
	uint32_t reserved;
};
_Static_assert(__builtin_offsetof(struct hvm_start_info, cmdline_paddr) == 24,
	       "hvm_start_info layout");

enum fault { FAULT_NONE, FAULT_TRIPLE, FAULT_HANG };

struct opts {
	uint8_t exit_code;
	uint8_t cad_exit;
	int counter;
	uint64_t ticks;			/* 0: until input */
	uint64_t interval_ms;
	enum fault fault;
	int reboot;
	int write2;
	int timer_port, timer_mmio;
};

void guest_main(unsigned int entry, uint64_t info) __attribute__((noreturn));

static inline void outb(uint16_t port, uint8_t v)
{
	__asm__ volatile("outb %0, %1" : : "a"(v), "Nd"(port));
}

static inline uint8_t inb(uint16_t port)
{
	uint8_t v;

	__asm__ volatile("inb %1, %0" : "=a"(v) : "Nd"(port));
	return v;
}

static void serial_putc(uint16_t base, char c)
{
	/* Bounded wait: a VMM whose LSR never shows THRE still gets the byte
	 * (and the test sees output) rather than a silent hang. */
	for (int i = 0; i < 100000; i++)
		if (inb(base + UART_LSR) & LSR_THRE)
			break;
	outb(base, (uint8_t)c);
}

static void serial_write(uint16_t base, const char *s, uint64_t n)
{
	for (uint64_t i = 0; i < n; i++)
		serial_putc(base, s[i]);
}

static void serial_puts(uint16_t base, const char *s)
{
	while (*s)
		serial_putc(base, *s++);
}

static void serial_putu(uint16_t base, uint64_t v)
{
	char buf[20];
	int i = sizeof(buf);

	do {
		buf[--i] = (char)('0' + v % 10);
		v /= 10;
	} while (v);
	serial_write(base, buf + i, sizeof(buf) - i);
}

static void puts1(const char *s)
{
	serial_puts(COM1, s);
}

static __attribute__((noreturn)) void halt_forever(void)
{
	for (;;)
		__asm__ volatile("cli; hlt");
}

/*
 * Empty IDT: #UD, then #GP, then #DF find no gate, so the CPU shuts down.
 * ud2 rather than int3: this host's kvm_pvm fails to emulate int3 (internal
 * error) instead of delivering it, while #UD shuts down as it should.
 */
static __attribute__((noreturn)) void triple_fault(void)
{
	static const struct {
		uint16_t limit;
		uint64_t base;
	} __attribute__((packed)) empty_idt = { 0, 0 };

	__asm__ volatile("lidt %0; ud2" : : "m"(empty_idt));
	halt_forever();
}

static void cpuid(uint32_t leaf, uint32_t r[4])
{
	__asm__ volatile("cpuid"
			 : "=a"(r[0]), "=b"(r[1]), "=c"(r[2]), "=d"(r[3])
			 : "a"(leaf), "c"(0));
}

static uint64_t rdtsc(void)
{
	uint32_t lo, hi;

	__asm__ volatile("rdtsc" : "=a"(lo), "=d"(hi));
	return (uint64_t)hi << 32 | lo;
}

/*
 * TSC ticks per millisecond. There is no timer device to calibrate against
 * (brisk has no PIT), so take what CPUID says: the hypervisor timing leaf
 * (TSC kHz), else the TSC/crystal ratio, else the nominal frequency, else
 * guess 2 GHz. Tick intervals only need to be roughly right.
 */
static uint64_t tsc_per_ms(void)
{
	uint32_t r[4], max;

	cpuid(1, r);
	if (r[2] & (1u << 31)) {	/* hypervisor present */
		cpuid(0x40000000, r);
		if (r[0] >= 0x40000010) {
			cpuid(0x40000010, r);
			if (r[0])
				return r[0];
		}
	}
	cpuid(0, r);
	max = r[0];
	if (max >= 0x15) {
		cpuid(0x15, r);		/* TSC = crystal * EBX / EAX */
		if (r[0] && r[1] && r[2])
			return (uint64_t)r[2] * r[1] / r[0] / 1000;
	}
	if (max >= 0x16) {
		cpuid(0x16, r);		/* base MHz */
		if (r[0] & 0xffff)
			return (uint64_t)(r[0] & 0xffff) * 1000;
	}
	return 2000000;
}

/* Word w (n bytes) is "key=VALUE": return VALUE's start, else 0. */
static const char *word_value(const char *w, uint64_t n, const char *key)
{
	uint64_t i = 0;

	for (; key[i]; i++)
		if (i >= n || w[i] != key[i])
			return 0;
	return i < n && w[i] == '=' ? w + i + 1 : 0;
}

static int word_is(const char *w, uint64_t n, const char *s)
{
	uint64_t i = 0;

	for (; s[i]; i++)
		if (i >= n || w[i] != s[i])
			return 0;
	return i == n;
}

/* Decimal digits from v up to end; stops at the first non-digit. */
static uint64_t parse_u64(const char *v, const char *end)
{
	uint64_t x = 0;

	for (; v < end && *v >= '0' && *v <= '9'; v++)
		x = x * 10 + (uint64_t)(*v - '0');
	return x;
}

static void parse_word(struct opts *o, const char *w, uint64_t n)
{
	const char *end = w + n, *v;

	if ((v = word_value(w, n, "exit"))) {
		o->exit_code = (uint8_t)parse_u64(v, end);
	} else if ((v = word_value(w, n, "cad_exit"))) {
		o->cad_exit = (uint8_t)parse_u64(v, end);
	} else if (word_is(w, n, "counter")) {
		o->counter = 1;
	} else if ((v = word_value(w, n, "ticks"))) {
		o->counter = 1;
		o->ticks = parse_u64(v, end);
	} else if ((v = word_value(w, n, "interval_ms"))) {
		o->interval_ms = parse_u64(v, end);
		if (o->interval_ms > 60000)	/* keep a typo from freezing a test */
			o->interval_ms = 60000;
	} else if ((v = word_value(w, n, "fault"))) {
		if (word_is(v, (uint64_t)(end - v), "triple"))
			o->fault = FAULT_TRIPLE;
		else if (word_is(v, (uint64_t)(end - v), "hang"))
			o->fault = FAULT_HANG;
	} else if (word_is(w, n, "reboot")) {
		o->reboot = 1;
	} else if ((v = word_value(w, n, "write2"))) {
		o->write2 = *v == '1';
	} else if ((v = word_value(w, n, "timer"))) {
		uint64_t vn = (uint64_t)(end - v);

		o->timer_port = word_is(v, vn, "port") || word_is(v, vn, "both");
		o->timer_mmio = word_is(v, vn, "mmio") || word_is(v, vn, "both");
	}
}

static void parse_cmdline(struct opts *o, const char *s, uint64_t len)
{
	uint64_t i = 0;

	while (i < len) {
		uint64_t start;

		while (i < len && s[i] == ' ')
			i++;
		start = i;
		while (i < len && s[i] != ' ')
			i++;
		if (i > start)
			parse_word(o, s + start, i - start);
	}
}

/*
 * Find the command line the boot path handed over; *len excludes the NUL.
 * Pointers outside what entry.S maps would fault, so they are refused with
 * a message in *warn (printed after the greeting) instead.
 */
static const char *find_cmdline(unsigned int entry, uint64_t info,
				uint64_t *len, const char **warn)
{
	uint64_t pa = 0;

	*len = 0;
	if (info >= MAPPED_LIMIT - 4096) {
		*warn = "warning: boot info pointer above 1 GiB, ignored\n";
		return "";
	}
	if (entry == ENTRY_PVH) {
		const struct hvm_start_info *si = (const void *)info;

		if (si->magic != HVM_START_MAGIC) {
			*warn = "warning: hvm_start_info magic is wrong\n";
			return "";
		}
		pa = si->cmdline_paddr;
	} else {
		const struct boot_params *bp = (const void *)info;

		pa = (uint64_t)bp->ext_cmd_line_ptr << 32 | bp->cmd_line_ptr;
	}
	if (!pa)
		return "";
	if (pa >= MAPPED_LIMIT - CMDLINE_MAX) {
		*warn = "warning: command line above 1 GiB, ignored\n";
		return "";
	}
	const char *s = (const char *)pa;

	while (*len < CMDLINE_MAX && s[*len])
		(*len)++;
	return s;
}

/* Busy-wait about one millisecond on the TSC. */
static void delay_ms(uint64_t tsc_per_ms)
{
	uint64_t t0 = rdtsc();

	while (rdtsc() - t0 < tsc_per_ms)
		__asm__ volatile("pause");
}

/* Set-2 scan codes seen so far: E0 starts an extended key, F0 a release. */
struct cad_watch {
	int e0, release;
	int ctrl, alt, del;
};

/* Feed one byte; returns 1 once Ctrl, Alt and Delete have all been pressed. */
static int cad_feed(struct cad_watch *w, uint8_t b)
{
	if (b == 0xe0) {
		w->e0 = 1;
		return 0;
	}
	if (b == 0xf0) {
		w->release = 1;
		return 0;
	}
	if (!w->release) {
		if (b == 0x14)
			w->ctrl = 1;		/* left Ctrl; E0 14 is right Ctrl */
		else if (b == 0x11)
			w->alt = 1;		/* left Alt; E0 11 is right Alt */
		else if (b == 0x71 && w->e0)
			w->del = 1;		/* 71 alone is keypad '.' */
	}
	w->e0 = w->release = 0;
	return w->ctrl && w->alt && w->del;
}

/* Read what the i8042 holds (bounded: a stuck OBF cannot hang us);
 * returns 1 once Ctrl-Alt-Del was seen. */
static int poll_i8042(struct cad_watch *w)
{
	for (int i = 0; i < 64 && (inb(I8042_CMD) & I8042_STS_OBF); i++)
		if (cad_feed(w, inb(I8042_DATA)))
			return 1;
	return 0;
}

enum counter_end { COUNTER_DONE, COUNTER_INPUT, COUNTER_CAD };

/*
 * Print ticks until a byte arrives on COM1, Ctrl-Alt-Del on the i8042, or
 * o->ticks ticks have passed. COM1 is polled every millisecond and at
 * least once per tick, so even interval_ms=0 notices input; the i8042 at
 * each tick and every I8042_POLL_MS ms.
 */
static enum counter_end run_counter(const struct opts *o)
{
	uint64_t per_ms = tsc_per_ms();
	struct cad_watch cad = { 0 };

	for (uint64_t n = 0; !o->ticks || n < o->ticks; n++) {
		puts1("tick ");
		serial_putu(COM1, n);
		puts1("\n");
		for (uint64_t ms = 0;; ms++) {
			if (inb(COM1 + UART_LSR) & LSR_DR) {
				inb(COM1);	/* consume the byte */
				puts1("stop\n");
				return COUNTER_INPUT;
			}
			if (ms % I8042_POLL_MS == 0 && poll_i8042(&cad)) {
				puts1("ctrl-alt-del\n");
				return COUNTER_CAD;
			}
			if (ms == o->interval_ms)
				break;
			delay_ms(per_ms);
		}
	}
	puts1("done\n");
	return COUNTER_DONE;
}

void guest_main(unsigned int entry, uint64_t info)
{
	struct opts o = {
		.interval_ms = 20,
		.timer_port = 1,
		.timer_mmio = 1,
	};
	const char *cmdline, *warn = 0;
	uint64_t len;

	cmdline = find_cmdline(entry, info, &len, &warn);
	parse_cmdline(&o, cmdline, len);

	/* Before any printing, so a VMM's boot-time log measures its own
	 * start-up rather than our serial output. */
	if (o.timer_port)
		outb(BOOT_TIMER_PORT, BOOT_TIMER_MAGIC);
	if (o.timer_mmio)	/* entry.S maps this page */
		*(volatile uint8_t *)BOOT_TIMER_MMIO = BOOT_TIMER_MAGIC;

	puts1("brisk test guest: hello (entry=");
	puts1(entry == ENTRY_PVH ? "pvh" : "linux64");
	puts1(")\n");
	if (warn)
		puts1(warn);
	puts1("cmdline: ");
	serial_write(COM1, cmdline, len);
	puts1("\n");

	if (o.write2)
		serial_puts(COM2, "brisk test guest: hello on COM2\n");

	if (o.fault == FAULT_TRIPLE) {
		puts1("fault: triple\n");
		triple_fault();
	}
	if (o.fault == FAULT_HANG) {
		puts1("fault: hang\n");
		halt_forever();
	}
	if (o.counter && run_counter(&o) == COUNTER_CAD) {
		puts1("exit ");
		serial_putu(COM1, o.cad_exit);
		puts1("\n");
		outb(EXIT_PORT, o.cad_exit);
		halt_forever();
	}

	if (o.reboot) {
		puts1("reboot\n");
		outb(I8042_CMD, I8042_RESET);
	} else {
		puts1("exit ");
		serial_putu(COM1, o.exit_code);
		puts1("\n");
		outb(EXIT_PORT, o.exit_code);
	}
	halt_forever();	/* the VMM should have ended us; don't run on */
}
