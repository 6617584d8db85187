// SPDX-License-Identifier: GPL-2.0
/*
 * pcmig guest program: a deterministic memory workload for pcmig-vmm.
 *
 * Parameters come from the Multiboot command line ("key=value" words):
 *
 *   mode=work|echo|dirtytest   (default work)
 *   seed=N        PRNG seed (default 1)
 *   pages=N       working set, 4 KiB pages (default 1024)
 *   write_pct=N   percentage of operations that write (default 50)
 *   iters=N       operations per vCPU; 0 = until the VMM says finish
 *                 (default 100000)
 *   burst=N       operations between pacing points (default 256)
 *   pace=N        microseconds to sleep at each pacing point (default 0)
 *   ballast=N     pages after the working set that vCPU 0 fills with data
 *                 at the start and never touches again (default 0): memory
 *                 a migration must move that the workload never asks for
 *   console=port|com1  where text goes (default port)
 *
 * Every vCPU works on its own contiguous part of the working set; the
 * working set is laid out over the RAM regions of the Multiboot memory
 * map above the program's own image, so it spans all memslots.  The
 * digest (FNV-1a over the 64-bit words of the working set) is a pure
 * function of the parameters and the number of vCPUs.
 */
#include <stdint.h>
#include "../ports.h"

#define MAX_CPUS	16
#define MAX_REGIONS	32
#define PAGE_SIZE	4096u
#define WORDS_PER_PAGE	(PAGE_SIZE / 8)
#define DT_LIST_CAP	1024

extern char _end[];

struct mb_info {
	uint32_t flags;
	uint32_t mem_lower, mem_upper;
	uint32_t boot_device;
	uint32_t cmdline;
	uint32_t mods_count, mods_addr;
	uint32_t syms[4];
	uint32_t mmap_length, mmap_addr;
} __attribute__((packed));

struct mb_mmap {
	uint32_t size;
	uint64_t addr, len;
	uint32_t type;
} __attribute__((packed));

struct params {
	int mode;		/* 0 work, 1 echo, 2 dirtytest */
	uint64_t seed;
	uint32_t pages, write_pct, iters, burst, pace, ballast;
	int com1;
	int bad;
};

struct region {
	uint32_t base, pages;
};

static volatile uint32_t done_count;
static struct pcmig_live live[MAX_CPUS];
static struct pcmig_report reports[MAX_CPUS];
static volatile uint32_t dt_list[DT_LIST_CAP];
static int use_com1;

static inline void outb(uint16_t port, uint8_t v)
{
	__asm__ volatile("outb %0, %1" : : "a"(v), "Nd"(port));
}

static inline void outl(uint16_t port, uint32_t v)
{
	__asm__ volatile("outl %0, %1" : : "a"(v), "Nd"(port) : "memory");
}

static inline uint8_t inb(uint16_t port)
{
	uint8_t v;

	__asm__ volatile("inb %1, %0" : "=a"(v) : "Nd"(port));
	return v;
}

static inline uint32_t inl(uint16_t port)
{
	uint32_t v;

	__asm__ volatile("inl %1, %0" : "=a"(v) : "Nd"(port) : "memory");
	return v;
}

static void putc(char c)
{
	if (use_com1) {
		while (!(inb(PORT_COM1 + 5) & 0x20))
			;
		outb(PORT_COM1, c);
	} else {
		outb(PORT_CONSOLE, c);
	}
}

static void puts(const char *s)
{
	while (*s)
		putc(*s++);
}

static void putu(uint64_t v)
{
	char buf[24];
	int i = 0;

	/* 64-bit division needs libgcc: divide in 32-bit halves instead. */
	do {
		uint32_t hi = v >> 32, lo = v, rem;

		rem = hi % 10;
		hi /= 10;
		uint64_t t = ((uint64_t)rem << 32) | lo;
		uint32_t q = 0;

		/* t < 10 << 32: long division by 10, 4 bits at a time */
		uint32_t r = 0;

		for (int b = 36; b >= 0; b -= 4) {
			r = (r << 4) | (uint32_t)((t >> b) & 0xf);
			q = (q << 4) | (r / 10);
			r %= 10;
		}
		buf[i++] = '0' + r;
		v = ((uint64_t)hi << 32) | q;
	} while (v);
	while (i)
		putc(buf[--i]);
}

static void putx(uint64_t v)
{
	puts("0x");
	for (int s = 60; s >= 0; s -= 4)
		putc("0123456789abcdef"[(v >> s) & 0xf]);
}

static void report(struct pcmig_report *r)
{
	r->magic = PCMIG_REPORT_MAGIC;
	outl(PORT_REPORT, (uint32_t)(uintptr_t)r);
}

static void __attribute__((noreturn)) finish(uint32_t status)
{
	outl(PORT_EXIT, status);
	for (;;)
		__asm__ volatile("cli; hlt");
}

static int parse_num(const char *s, uint64_t *out)
{
	uint64_t v = 0;
	int base = 10;

	if (s[0] == '0' && s[1] == 'x') {
		base = 16;
		s += 2;
	}
	if (!*s || *s == ' ')
		return -1;
	for (; *s && *s != ' '; s++) {
		uint32_t d;

		if (*s >= '0' && *s <= '9')
			d = *s - '0';
		else if (base == 16 && *s >= 'a' && *s <= 'f')
			d = *s - 'a' + 10;
		else
			return -1;
		v = (base == 16 ? v << 4 : (v << 3) + (v << 1)) + d;
	}
	*out = v;
	return 0;
}

static int key_is(const char *w, const char *key)
{
	while (*key)
		if (*w++ != *key++)
			return 0;
	return *w == '=';
}

static const char *value_of(const char *w)
{
	while (*w != '=')
		w++;
	return w + 1;
}

static int value_is(const char *v, const char *s)
{
	while (*s)
		if (*v++ != *s++)
			return 0;
	return !*v || *v == ' ';
}

static void parse_cmdline(const char *c, struct params *p, int verbose)
{
	p->mode = 0;
	p->seed = 1;
	p->pages = 1024;
	p->write_pct = 50;
	p->iters = 100000;
	p->burst = 256;
	p->pace = 0;
	p->ballast = 0;
	p->com1 = 0;
	p->bad = 0;
	if (!c)
		return;
	while (*c) {
		const char *w = c;
		uint64_t v = 0;
		int bad = 0;

		while (*c && *c != ' ')
			c++;
		while (*c == ' ')
			c++;
		if (key_is(w, "mode")) {
			const char *m = value_of(w);

			if (value_is(m, "work"))
				p->mode = 0;
			else if (value_is(m, "echo"))
				p->mode = 1;
			else if (value_is(m, "dirtytest"))
				p->mode = 2;
			else
				bad = 1;
		} else if (key_is(w, "console")) {
			const char *m = value_of(w);

			if (value_is(m, "com1"))
				p->com1 = 1;
			else if (!value_is(m, "port"))
				bad = 1;
		} else if (key_is(w, "seed")) {
			bad = parse_num(value_of(w), &p->seed);
		} else if (key_is(w, "pages") || key_is(w, "write_pct") ||
			   key_is(w, "iters") || key_is(w, "burst") ||
			   key_is(w, "pace") || key_is(w, "ballast")) {
			bad = parse_num(value_of(w), &v) || v > 0xffffffffu;
			if (key_is(w, "pages"))
				p->pages = v;
			else if (key_is(w, "write_pct"))
				p->write_pct = v, bad |= v > 100;
			else if (key_is(w, "iters"))
				p->iters = v;
			else if (key_is(w, "burst"))
				p->burst = v, bad |= v == 0;
			else if (key_is(w, "ballast"))
				p->ballast = v;
			else
				p->pace = v;
		} else if (w[0] != '-' && w != c) {
			/* Words without '=' (e.g. the image name QEMU passes
			 * first) are ignored; unknown keys are an error. */
			const char *e = w;

			while (*e && *e != ' ' && *e != '=')
				e++;
			bad = *e == '=';
		}
		if (bad) {
			p->bad = 1;
			if (verbose) {
				puts("guest: bad parameter: ");
				while (*w && *w != ' ')
					putc(*w++);
				putc('\n');
			}
		}
	}
}

static uint32_t max32(uint32_t a, uint32_t b)
{
	return a > b ? a : b;
}

static uint32_t str_end(uint32_t a)
{
	const char *s = (const char *)(uintptr_t)a;

	while (*s)
		s++;
	return (uint32_t)(uintptr_t)s + 1;
}

/*
 * Usable RAM above the program image and above everything the boot loader
 * handed over (QEMU, unlike pcmig-vmm, puts the information right after
 * the image), in whole pages, from the map.
 */
static int find_regions(struct mb_info *mbi, struct region *r)
{
	uint32_t lo = max32((uint32_t)(uintptr_t)_end, (uint32_t)(uintptr_t)mbi + sizeof(*mbi));
	int n = 0;

	if (mbi->flags & (1u << 2))
		lo = max32(lo, str_end(mbi->cmdline));
	if (mbi->flags & (1u << 6))
		lo = max32(lo, mbi->mmap_addr + mbi->mmap_length);
	lo = (lo + PAGE_SIZE - 1) & ~(PAGE_SIZE - 1);

	if (mbi->flags & (1u << 6)) {
		uint32_t a = mbi->mmap_addr, end = a + mbi->mmap_length;

		while (a < end && n < MAX_REGIONS) {
			struct mb_mmap *e = (struct mb_mmap *)(uintptr_t)a;
			uint64_t b = e->addr, t = e->addr + e->len;

			a += e->size + 4;
			if (e->type != 1 || t <= lo || b >= 0x100000000ull)
				continue;
			if (t > 0x100000000ull)
				t = 0x100000000ull;
			if (b < lo)
				b = lo;
			b = (b + PAGE_SIZE - 1) & ~(uint64_t)(PAGE_SIZE - 1);
			t &= ~(uint64_t)(PAGE_SIZE - 1);
			if (t <= b)
				continue;
			r[n].base = b;
			r[n].pages = (t - b) / PAGE_SIZE;
			n++;
		}
	} else if (mbi->flags & 1u) {
		uint32_t t = 0x100000 + mbi->mem_upper * 1024;

		if (t > lo) {
			r[0].base = lo;
			r[0].pages = (t - lo) / PAGE_SIZE;
			n = 1;
		}
	}
	return n;
}

static uint64_t *page_ptr(const struct region *r, int n, uint32_t page)
{
	for (int i = 0; i < n; i++) {
		if (page < r[i].pages)
			return (uint64_t *)(uintptr_t)(r[i].base + page * PAGE_SIZE);
		page -= r[i].pages;
	}
	return 0;
}

static uint64_t splitmix64(uint64_t x)
{
	x += 0x9e3779b97f4a7c15ull;
	x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ull;
	x = (x ^ (x >> 27)) * 0x94d049bb133111ebull;
	return x ^ (x >> 31);
}

static uint64_t xorshift64(uint64_t *s)
{
	uint64_t x = *s;

	x ^= x << 13;
	x ^= x >> 7;
	x ^= x << 17;
	*s = x;
	return x;
}

static void echo(struct mb_info *mbi, uint32_t vcpus)
{
	puts("cmdline: ");
	puts(mbi->flags & (1u << 2) ? (const char *)(uintptr_t)mbi->cmdline : "");
	puts("\n");
	if (mbi->flags & 1u) {
		puts("mem_lower ");
		putu(mbi->mem_lower);
		puts(" KiB, mem_upper ");
		putu(mbi->mem_upper);
		puts(" KiB\n");
	}
	if (mbi->flags & (1u << 6)) {
		uint32_t a = mbi->mmap_addr, end = a + mbi->mmap_length;

		while (a < end) {
			struct mb_mmap *e = (struct mb_mmap *)(uintptr_t)a;

			puts("mmap ");
			putx(e->addr);
			puts(" ");
			putx(e->len);
			puts(" type ");
			putu(e->type);
			puts("\n");
			a += e->size + 4;
		}
	}
	puts("vcpus ");
	putu(vcpus);
	puts("\n");
}

static void dirtytest(void)
{
	struct pcmig_report *r = &reports[0];
	uint32_t round = 0, n;

	r->type = REPORT_DT_AREA;
	r->cpu = 0;
	r->v[0] = (uint32_t)(uintptr_t)dt_list;
	r->v[1] = DT_LIST_CAP;
	r->v[2] = (uint32_t)(uintptr_t)_end;
	report(r);
	while ((n = inl(PORT_DT_NEXT)) != 0) {
		round++;
		if (n > DT_LIST_CAP)
			finish(3);
		for (uint32_t i = 0; i < n; i++)
			*(volatile uint64_t *)(uintptr_t)dt_list[i] =
				((uint64_t)round << 32) | i;
	}
}

void guest_main(uint32_t magic, struct mb_info *mbi, uint32_t cpu, uint32_t vcpus);

void guest_main(uint32_t magic, struct mb_info *mbi, uint32_t cpu, uint32_t vcpus)
{
	struct region reg[MAX_REGIONS];
	struct pcmig_report *rep = &reports[cpu];
	struct pcmig_live *lv = &live[cpu];
	struct params p;
	uint64_t s, rsum = 0, sleeps = 0;
	uint32_t nreg, total = 0, lo, hi, len, b = 0, i;
	const char *cmdline = 0;

	if (magic == MB_BOOT_MAGIC && (vcpus == 0 || vcpus > MAX_CPUS))
		vcpus = 1;	/* not started by pcmig-vmm */
	if (mbi->flags & (1u << 2))
		cmdline = (const char *)(uintptr_t)mbi->cmdline;
	parse_cmdline(cmdline, &p, cpu == 0);
	use_com1 = p.com1;
	if (cpu == 0)
		*(volatile uint64_t *)(uintptr_t)PCMIG_MAGIC_GPA = PCMIG_MAGIC_VALUE;
	if (p.bad)
		finish(2);
	if (p.mode == 1) {
		if (cpu == 0)
			echo(mbi, vcpus);
		finish(0);
	}
	if (p.mode == 2) {
		if (cpu == 0)
			dirtytest();
		finish(0);
	}

	nreg = find_regions(mbi, reg);
	for (i = 0; i < nreg; i++)
		total += reg[i].pages;
	if (total < p.pages || p.pages < vcpus ||
	    total - p.pages < p.ballast) {
		if (cpu == 0) {
			puts("guest: pages=");
			putu(p.pages);
			puts(" does not fit: ");
			putu(total);
			puts(" pages free\n");
		}
		finish(4);
	}

	rep->cpu = cpu;
	rep->type = REPORT_LIVE;
	rep->v[0] = (uint32_t)(uintptr_t)lv;
	report(rep);

	lo = cpu * (p.pages / vcpus) + (cpu < p.pages % vcpus ? cpu : p.pages % vcpus);
	len = p.pages / vcpus + (cpu < p.pages % vcpus);
	hi = lo + len;
	/* the working set starts as zeros whatever the loader left there */
	for (i = lo; i < hi; i++) {
		uint64_t *pg = page_ptr(reg, nreg, i);

		for (uint32_t k = 0; k < WORDS_PER_PAGE; k++)
			pg[k] = 0;
	}
	/* Not in the digest: one word a page makes it a page of data. */
	for (i = 0; cpu == 0 && i < p.ballast; i++)
		*page_ptr(reg, nreg, p.pages + i) = splitmix64(p.seed ^ i) | 1;
	s = splitmix64(p.seed + cpu);
	if (!s)
		s = 1;
	for (i = 0; p.iters == 0 || i < p.iters; i++) {
		uint64_t r = xorshift64(&s);
		uint32_t page = lo + (uint32_t)(r >> 32) % len;
		uint64_t *w = page_ptr(reg, nreg, page) + ((r >> 20) & (WORDS_PER_PAGE - 1));

		if ((uint32_t)r % 100 < p.write_pct) {
			*(volatile uint64_t *)w = xorshift64(&s);
			lv->writes++;
		} else {
			rsum = rsum * 31 + *(volatile uint64_t *)w;
			lv->reads++;
		}
		lv->iters = i + 1;
		if (++b == p.burst) {
			b = 0;
			if (p.pace) {
				outl(PORT_SLEEP, p.pace);
				sleeps++;
			}
			if (p.iters == 0 && inl(PORT_FINISH))
				break;
		}
	}

	rep->type = REPORT_PROGRESS;
	rep->v[0] = lv->iters;
	rep->v[1] = lv->writes;
	rep->v[2] = lv->reads;
	rep->v[3] = rsum;
	rep->v[4] = sleeps;
	report(rep);
	__atomic_fetch_add(&done_count, 1, __ATOMIC_SEQ_CST);
	if (cpu != 0)
		finish(0);

	while (__atomic_load_n(&done_count, __ATOMIC_SEQ_CST) < vcpus)
		outl(PORT_SLEEP, 1000);

	uint64_t h = 0xcbf29ce484222325ull;

	for (uint32_t pg = 0; pg < p.pages; pg++) {
		const uint64_t *w = page_ptr(reg, nreg, pg);

		for (uint32_t k = 0; k < WORDS_PER_PAGE; k++) {
			h ^= w[k];
			h *= 0x100000001b3ull;
		}
	}
	rep->type = REPORT_DIGEST;
	rep->v[0] = h;
	rep->v[1] = p.pages;
	rep->v[2] = vcpus;
	rep->v[3] = p.seed;
	rep->v[4] = p.iters;
	rep->v[5] = p.write_pct;
	report(rep);
	if (use_com1) {
		puts("digest ");
		putx(h);
		puts("\n");
	}
	finish(0);
}
