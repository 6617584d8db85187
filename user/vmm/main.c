// SPDX-License-Identifier: GPL-2.0
/*
 * pcmig-vmm: the reference KVM VMM of pcmig.  Options and the main loop;
 * the VM fd is in kvm.c, the memslots in memslots.c, the vCPU state and
 * device-state blob in vcpu_state.c, the save file in snapshot.c.
 */
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <sys/eventfd.h>
#include <sys/signalfd.h>
#include <sys/uio.h>

#include "control.h"
#include "multiboot.h"
#include "ports.h"
#include "snapshot.h"
#include "vcpu_state.h"
#include "vmm.h"

static const char usage_text[] =
"Usage: pcmig-vmm [OPTION]... --kernel IMAGE [--append CMDLINE]\n"
"       pcmig-vmm [OPTION]... --restore FILE\n"
"       pcmig-vmm [OPTION]... --incoming --control SOCKET\n"
"       pcmig-vmm --ctl SOCKET [--json] COMMAND [ARG]\n"
"\n"
"The reference KVM VMM of pcmig.  Boots a Multiboot v1 kernel the way\n"
"qemu-system-x86_64 -kernel IMAGE -append CMDLINE does (32-bit protected\n"
"mode, EAX=0x2BADB002, EBX=multiboot info with mem_lower/mem_upper, a\n"
"memory map of the slots and the command line), or restores a VM saved\n"
"by the control command \"save\".  Runs until every vCPU has finished.\n"
"\n"
"VM:\n"
"  --vcpus N           vCPUs, 1..16 (default 1).  vCPU 0 boots as Multiboot\n"
"                      says; vCPU i>0 starts at the same entry with\n"
"                      EAX=0x50434D47 (\"PCMG\"), EBX=multiboot info, ECX=i,\n"
"                      EDX=N (vCPU 0 gets ECX=0, EDX=N too)\n"
"  --mem MIB           guest RAM in MiB, 2..3072 (default 32)\n"
"  --slots K           split RAM into K memslots, 1..32 (default 1); slot\n"
"                      i>0 starts where slot i-1 ends, plus a 1 MiB hole\n"
"                      before every odd-numbered slot; every slot >= 2 MiB\n"
"  --kernel IMAGE      Multiboot v1 kernel (ELF32, or a.out kludge)\n"
"  --append CMDLINE    its command line (the project guest reads e.g.\n"
"                      \"seed=1 pages=2048 write_pct=50 iters=100000\")\n"
"  --restore FILE      start from a save file instead of a kernel; --vcpus,\n"
"                      --mem and --slots must give the file's layout, else\n"
"                      the restore is refused showing both layouts\n"
"  --paused            create the VM stopped; \"resume\" starts it\n"
"  --incoming          the destination of a migration: create the VM with\n"
"                      this layout, stopped, with nothing loaded; its RAM\n"
"                      comes from pcmig, its device state with\n"
"                      \"load-devstate FILE\", then \"resume\" runs it to its\n"
"                      end (needs --control)\n"
"\n"
"Dirty logging (a migration's is pcmig's: never with --dirty-log):\n"
"  --dirty-ring N      enable KVM's dirty ring, N entries per vCPU (power\n"
"                      of two, >= 256 for 4 KiB pages); without it KVM's\n"
"                      dirty bitmap is used\n"
"  --dirty-log         log dirty pages on every slot from the start and\n"
"                      harvest them (ring or bitmap) every 100 ms; a full\n"
"                      ring makes that vCPU harvest and retry.  Without it\n"
"                      the VMM never harvests: a full ring (pcmig is\n"
"                      logging) makes that vCPU wait 1 ms and retry\n"
"  --dirty-test-rounds N  rounds of the dirty-log test (guest mode=dirtytest,\n"
"                      default 16)\n"
"\n"
"Control and output:\n"
"  --control SOCKET    listen for commands on a unix stream socket:\n"
"                      stop, resume, status, peek ADDR, save FILE, finish,\n"
"                      dirty, vmfd, devstate FILE, load-devstate FILE,\n"
"                      load-ram FILE, quit, help; \"json CMD\" replies in JSON\n"
"  --save-on-stop FILE on \"stop\", SIGINT or SIGTERM: stop, save to FILE, exit 5\n"
"  --linger            keep serving the control socket after the guest\n"
"                      finished, until \"quit\"\n"
"  --timeout SEC       give up after SEC seconds (exit 5)\n"
"  --json              print the result as one JSON object (guest console\n"
"                      output then goes to stderr)\n"
"  --ctl SOCKET CMD    client: send CMD to a running pcmig-vmm, print the\n"
"                      reply; exit 0 when it starts with \"ok\"\n"
"  -h, --help          this text\n"
"\n"
"Guest program (pcmig-guest.elf), key=value words of CMDLINE:\n"
"  mode=work|echo|dirtytest  workload (default), print cmdline and memory map,\n"
"                      or the dirty-log test driven by the VMM\n"
"  seed=N pages=N write_pct=N iters=N burst=N pace=US console=port|com1\n"
"                      PRNG seed (1), working set in 4 KiB pages (1024),\n"
"                      percentage of writes (50), operations per vCPU\n"
"                      (100000; 0 = until \"finish\"), operations between\n"
"                      pacing points (256), microseconds slept at each (0)\n"
"  ballast=N           pages after the working set filled once with data\n"
"                      and never touched again (0)\n"
"  The digest (FNV-1a over the working set) depends only on these and the\n"
"  number of vCPUs.\n"
"\n"
"Output: guest console lines (port 0x500, or COM1), then\n"
"  result finished|failed|stopped status N\n"
"  cpu I iters N writes N reads N readsum 0x.. sleeps N exits N ring_full N\n"
"  digest 0x<16 hex digits> pages N vcpus N seed N   (project guest)\n"
"\n"
"Exit status:\n"
"  0  the guest finished with status 0\n"
"  1  guest error (non-zero guest status, triple fault, access outside RAM,\n"
"     dirty-log test failure)\n"
"  2  usage error\n"
"  3  KVM or environment error (no /dev/kvm, an ioctl failed, socket)\n"
"  4  bad input: kernel image or save file unreadable or invalid, or the\n"
"     save file's layout does not match\n"
"  5  stopped before the guest finished (quit, signal, --save-on-stop,\n"
"     --timeout)\n"
"\n"
"Documentation/pcmig/vmm.rst has the guest program, the ports, the\n"
"control protocol and the save format.\n";

static struct vm the_vm;

void vm_notify(struct vm *vm)
{
	uint64_t one = 1;

	if (write(vm->notify_fd, &one, sizeof(one)) < 0) {
		/* the counter cannot overflow here */
	}
}

void vm_fail(struct vm *vm, int code, const char *fmt, ...)
{
	va_list ap;

	pthread_mutex_lock(&vm->lock);
	if (!vm->fatal) {
		vm->fatal = code;
		va_start(ap, fmt);
		vsnprintf(vm->fatal_msg, sizeof(vm->fatal_msg), fmt, ap);
		va_end(ap);
	}
	pthread_cond_broadcast(&vm->cond);
	pthread_mutex_unlock(&vm->lock);
	vm_notify(vm);
}

static pthread_mutex_t con_lock = PTHREAD_MUTEX_INITIALIZER;

void vm_console(struct vm *vm, char c)
{
	pthread_mutex_lock(&con_lock);
	if (c != '\r')
		vm->con[vm->con_len++] = c;
	if (c == '\n' || vm->con_len == sizeof(vm->con) - 1) {
		FILE *f = vm->console_stderr ? stderr : stdout;

		fwrite(vm->con, 1, vm->con_len, f);
		if (c != '\n')
			fputc('\n', f);
		fflush(f);
		vm->con_len = 0;
	}
	pthread_mutex_unlock(&con_lock);
}

static void flush_console(struct vm *vm)
{
	if (vm->con_len)
		vm_console(vm, '\n');
}

static void die(int code, const char *fmt, ...) __attribute__((format(printf, 2, 3), noreturn));
static void die(int code, const char *fmt, ...)
{
	va_list ap;

	fprintf(stderr, "pcmig-vmm: ");
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	if (code == EXIT_USAGE)
		fprintf(stderr, "Try 'pcmig-vmm --help'.\n");
	exit(code);
}

static unsigned long num(const char *opt, const char *s, unsigned long lo, unsigned long hi)
{
	unsigned long v;
	char *end;

	errno = 0;
	v = strtoul(s, &end, 0);
	if (!*s || *end || errno || *s == '-' || v < lo || v > hi)
		die(EXIT_USAGE, "%s: '%s' is not a number in %lu..%lu", opt, s, lo, hi);
	return v;
}

struct opts {
	unsigned int vcpus, mem, slots, ring, dt_rounds, timeout;
	const char *kernel, *append, *restore, *control, *save_on_stop;
	bool dirty_log, paused, linger, json, incoming;
};

enum {
	O_VCPUS = 256, O_MEM, O_SLOTS, O_KERNEL, O_APPEND, O_RESTORE, O_PAUSED,
	O_RING, O_DLOG, O_DTR, O_CONTROL, O_SOS, O_LINGER, O_TIMEOUT, O_JSON, O_CTL,
	O_INCOMING,
};

static const struct option longopts[] = {
	{ "vcpus", required_argument, NULL, O_VCPUS },
	{ "mem", required_argument, NULL, O_MEM },
	{ "slots", required_argument, NULL, O_SLOTS },
	{ "kernel", required_argument, NULL, O_KERNEL },
	{ "append", required_argument, NULL, O_APPEND },
	{ "restore", required_argument, NULL, O_RESTORE },
	{ "paused", no_argument, NULL, O_PAUSED },
	{ "incoming", no_argument, NULL, O_INCOMING },
	{ "dirty-ring", required_argument, NULL, O_RING },
	{ "dirty-log", no_argument, NULL, O_DLOG },
	{ "dirty-test-rounds", required_argument, NULL, O_DTR },
	{ "control", required_argument, NULL, O_CONTROL },
	{ "save-on-stop", required_argument, NULL, O_SOS },
	{ "linger", no_argument, NULL, O_LINGER },
	{ "timeout", required_argument, NULL, O_TIMEOUT },
	{ "json", no_argument, NULL, O_JSON },
	{ "ctl", required_argument, NULL, O_CTL },
	{ "help", no_argument, NULL, 'h' },
	{ NULL, 0, NULL, 0 },
};

static void parse(int argc, char **argv, struct opts *o)
{
	const char *ctl = NULL;
	int c;

	*o = (struct opts){ .vcpus = 1, .mem = 32, .slots = 1, .dt_rounds = 16, .append = "" };
	while ((c = getopt_long(argc, argv, "+h", longopts, NULL)) != -1) {
		switch (c) {
		case O_VCPUS: o->vcpus = num("--vcpus", optarg, 1, VMM_MAX_VCPUS); break;
		case O_MEM: o->mem = num("--mem", optarg, 2, VMM_MAX_MEM_MIB); break;
		case O_SLOTS: o->slots = num("--slots", optarg, 1, VMM_MAX_SLOTS); break;
		case O_KERNEL: o->kernel = optarg; break;
		case O_APPEND: o->append = optarg; break;
		case O_RESTORE: o->restore = optarg; break;
		case O_PAUSED: o->paused = true; break;
		case O_INCOMING: o->incoming = true; break;
		case O_RING:
			o->ring = num("--dirty-ring", optarg, 1, 1u << 24);
			if (o->ring & (o->ring - 1))
				die(EXIT_USAGE, "--dirty-ring: %u is not a power of two", o->ring);
			break;
		case O_DLOG: o->dirty_log = true; break;
		case O_DTR: o->dt_rounds = num("--dirty-test-rounds", optarg, 1, 100000); break;
		case O_CONTROL: o->control = optarg; break;
		case O_SOS: o->save_on_stop = optarg; break;
		case O_LINGER: o->linger = true; break;
		case O_TIMEOUT: o->timeout = num("--timeout", optarg, 1, 86400); break;
		case O_JSON: o->json = true; break;
		case O_CTL: ctl = optarg; break;
		case 'h':
			fputs(usage_text, stdout);
			exit(EXIT_OK);
		default:
			die(EXIT_USAGE, "bad option");
		}
	}
	if (ctl) {
		char cmd[CTL_LINE_MAX] = "";

		if (optind >= argc)
			die(EXIT_USAGE, "--ctl %s: which command?", ctl);
		if (o->json)
			strcat(cmd, "json ");
		for (int i = optind; i < argc; i++) {
			if (strlen(cmd) + strlen(argv[i]) + 2 >= sizeof(cmd))
				die(EXIT_USAGE, "--ctl: command too long");
			if (i > optind)
				strcat(cmd, " ");
			strcat(cmd, argv[i]);
		}
		exit(ctl_client(ctl, cmd));
	}
	if (optind < argc)
		die(EXIT_USAGE, "unexpected argument '%s'", argv[optind]);
	if (o->incoming) {
		if (o->kernel || o->restore)
			die(EXIT_USAGE, "--incoming takes its state from a migration, not from --%s",
			    o->kernel ? "kernel" : "restore");
		if (*o->append)
			die(EXIT_USAGE, "--append goes with --kernel, not --incoming");
		if (!o->control)
			die(EXIT_USAGE, "--incoming needs --control (load-devstate, resume)");
		if (o->dirty_log)
			die(EXIT_USAGE, "--dirty-log and --incoming: a migrated VM's dirty log is pcmig's");
		if (o->save_on_stop)
			die(EXIT_USAGE, "--save-on-stop and --incoming: nothing to save before load-devstate");
	} else if (!o->kernel == !o->restore) {
		die(EXIT_USAGE, "give exactly one of --kernel IMAGE and --restore FILE");
	}
	if (o->restore && *o->append)
		die(EXIT_USAGE, "--append goes with --kernel, not --restore");
	if (o->linger && !o->control)
		die(EXIT_USAGE, "--linger needs --control");
}

/* A vCPU that did not report its final counters (stopped, failed): take
 * the live ones from guest memory.  Read through process_vm_readv(): after
 * a failed RAM postcopy the module has made guest memory inaccessible, and
 * a plain read would kill the VMM instead of failing. */
static void live_counters(struct vm *vm)
{
	for (unsigned int i = 0; i < vm->nvcpus; i++) {
		struct vcpu_guest *g = &vm->vcpu[i].g;
		void *p = g->live_gpa ? mem_hva(&vm->mem, g->live_gpa, 24) : NULL;
		uint64_t c[3];
		struct iovec local = { .iov_base = c, .iov_len = sizeof(c) };
		struct iovec remote = { .iov_base = p, .iov_len = sizeof(c) };

		if (g->progress_valid || !p ||
		    process_vm_readv(getpid(), &local, 1, &remote, 1, 0) !=
		    (ssize_t)sizeof(c))
			continue;
		g->iters = c[0];
		g->writes = c[1];
		g->reads = c[2];
	}
}

static void print_result(struct vm *vm, const struct opts *o, const char *what, int code)
{
	FILE *f = stdout;
	uint64_t status = 0;

	live_counters(vm);
	for (unsigned int i = 0; i < vm->nvcpus; i++)
		if (vm->vcpu[i].g.status)
			status = vm->vcpu[i].g.status;
	if (!o->json) {
		fprintf(f, "result %s status %" PRIu64 "%s%s\n", what, status,
			vm->fatal ? ": " : "", vm->fatal ? vm->fatal_msg : "");
		for (unsigned int i = 0; i < vm->nvcpus; i++) {
			struct vcpu_guest *g = &vm->vcpu[i].g;

			fprintf(f, "cpu %u iters %" PRIu64 " writes %" PRIu64 " reads %" PRIu64
				" readsum 0x%016" PRIx64 " sleeps %" PRIu64 " exits %" PRIu64
				" ring_full %" PRIu64 "\n", i, g->iters, g->writes, g->reads,
				g->readsum, g->sleeps, g->exits, g->ring_full);
		}
		if (vm->result.valid)
			fprintf(f, "digest 0x%016" PRIx64 " pages %" PRIu64 " vcpus %" PRIu64
				" seed %" PRIu64 "\n", vm->result.digest, vm->result.pages,
				vm->result.vcpus, vm->result.seed);
		if (vm->dirty.logging)
			fprintf(f, "dirty harvests %" PRIu64 " pages %" PRIu64 " distinct %" PRIu64
				" ring_full %" PRIu64 "\n", vm->dirty.harvests, vm->dirty.harvested,
				dirty_count(vm), vm->dirty.ring_full);
		if (vm->dirty.dt_active)
			fprintf(f, "dirtytest rounds %u pages %" PRIu64 " missed %" PRIu64
				" spurious %" PRIu64 " badval %" PRIu64 " private %" PRIu64 "\n",
				vm->dirty.dt_round, vm->dirty.dt_pages, vm->dirty.dt_missed,
				vm->dirty.dt_spurious, vm->dirty.dt_badval, vm->dirty.dt_private);
	} else {
		char st[4096];

		vm_status(vm, true, true, st, sizeof(st));
		fprintf(f, "{\"result\":\"%s\",\"exit_code\":%d,\"status\":%" PRIu64 ",", what,
			code, status);
		if (vm->fatal) {
			fprintf(f, "\"error\":\"");
			for (const char *p = vm->fatal_msg; *p; p++)
				fprintf(f, *p == '"' || *p == '\\' ? "\\%c" : "%c", *p);
			fprintf(f, "\",");
		}
		if (vm->result.valid)
			fprintf(f, "\"digest\":\"0x%016" PRIx64 "\",\"pages\":%" PRIu64
				",\"seed\":%" PRIu64 ",", vm->result.digest, vm->result.pages,
				vm->result.seed);
		fprintf(f, "\"dirty_pages\":%" PRIu64 ",", dirty_count(vm));
		if (vm->dirty.dt_active)
			fprintf(f, "\"dirtytest\":{\"rounds\":%u,\"pages\":%" PRIu64
				",\"missed\":%" PRIu64 ",\"spurious\":%" PRIu64 ",\"badval\":%" PRIu64
				",\"private\":%" PRIu64 "},", vm->dirty.dt_round, vm->dirty.dt_pages,
				vm->dirty.dt_missed, vm->dirty.dt_spurious, vm->dirty.dt_badval,
				vm->dirty.dt_private);
		fprintf(f, "%s", st);
		/* per-vCPU results of the guest */
		fprintf(f, ",\"progress\":[");
		for (unsigned int i = 0; i < vm->nvcpus; i++) {
			struct vcpu_guest *g = &vm->vcpu[i].g;

			fprintf(f, "%s{\"cpu\":%u,\"iters\":%" PRIu64 ",\"writes\":%" PRIu64
				",\"reads\":%" PRIu64 ",\"readsum\":\"0x%016" PRIx64 "\",\"sleeps\":%"
				PRIu64 "}", i ? "," : "", i, g->iters, g->writes, g->reads,
				g->readsum, g->sleeps);
		}
		fprintf(f, "]}\n");
	}
	fflush(f);
}

static int finish_code(struct vm *vm)
{
	if (vm->fatal)
		return vm->fatal;
	for (unsigned int i = 0; i < vm->nvcpus; i++)
		if (vm->vcpu[i].g.status)
			return EXIT_GUEST;
	if (vm->dirty.dt_active &&
	    (vm->dirty.dt_missed || vm->dirty.dt_spurious || vm->dirty.dt_badval ||
	     !vm->dirty.dt_done))
		return EXIT_GUEST;
	return EXIT_OK;
}

static void setup_vm(struct vm *vm, const struct opts *o)
{
	char err[2048];
	struct snap snap = { .fd = -1 };
	struct vmm_mem layout;

	if (mem_layout(&layout, o->mem, o->slots, err, sizeof(err)) < 0)
		die(EXIT_USAGE, "%s", err);
	if (o->restore) {
		if (snap_open(&snap, o->restore, err, sizeof(err)) < 0)
			die(EXIT_INPUT, "%s", err);
		if (snap_check(&snap, &layout, o->vcpus, err, sizeof(err)) < 0)
			die(EXIT_INPUT, "%s: %s", o->restore, err);
	}
	pthread_mutex_init(&vm->lock, NULL);
	pthread_cond_init(&vm->cond, NULL);
	vm->nvcpus = o->vcpus;
	vm->console_stderr = o->json;
	vm->notify_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	if (vm->notify_fd < 0)
		die(EXIT_ENV, "eventfd: %s", strerror(errno));
	if (kvm_vm_create(&vm->kvm, o->ring, err, sizeof(err)) < 0)
		die(EXIT_ENV, "%s", err);
	vm->mem = layout;
	if (mem_map(&vm->mem, err, sizeof(err)) < 0)
		die(EXIT_ENV, "%s", err);
	if (o->restore && snap_load_ram(&snap, &vm->mem, err, sizeof(err)) < 0)
		die(EXIT_INPUT, "%s: %s", o->restore, err);
	if (mem_register(&vm->mem, vm->kvm.vm_fd, o->dirty_log ? KVM_MEM_LOG_DIRTY_PAGES : 0) < 0)
		die(EXIT_ENV, "KVM_SET_USER_MEMORY_REGION: %s", strerror(errno));
	if (dirty_init(vm, o->dirty_log) < 0)
		die(EXIT_ENV, "out of memory");
	vm->dirty.dt_rounds = o->dt_rounds;
	for (unsigned int i = 0; i < vm->nvcpus; i++)
		if (vcpu_create(vm, i) < 0)
			die(EXIT_ENV, "creating vCPU %u: %s", i, strerror(errno));
	if (o->incoming) {
		/* registers, RAM and all come from the migration */
		vm->incoming = vm->need_state = true;
	} else if (o->restore) {
		uint8_t *blob;
		size_t len;

		if (snap_load_blob(&snap, &blob, &len, err, sizeof(err)) < 0 ||
		    devstate_load(vm, blob, len, err, sizeof(err)) < 0)
			die(EXIT_INPUT, "%s: %s", o->restore, err);
		free(blob);
		snap_close(&snap);
	} else {
		struct mb_boot boot;

		if (mb_load(&vm->mem, o->kernel, o->append, &boot, err, sizeof(err)) < 0)
			die(EXIT_INPUT, "%s", err);
		for (unsigned int i = 0; i < vm->nvcpus; i++)
			if (vcpu_boot_state(&vm->vcpu[i], boot.entry,
					    i ? PCMIG_SECONDARY_MAGIC : MB_BOOT_MAGIC,
					    boot.mbi, i, vm->nvcpus) < 0)
				die(EXIT_ENV, "setting up vCPU %u: %s", i, strerror(errno));
	}
}

int main(int argc, char **argv)
{
	struct vm *vm = &the_vm;
	struct ctl_server ctl = { .fd = -1 };
	struct ctl_env env = { .vm = vm };
	struct opts o;
	struct timespec t0, now;
	sigset_t sigs;
	int sfd, code = -1;
	const char *what = "finished";
	char err[1024];

	parse(argc, argv, &o);
	env.save_on_stop = o.save_on_stop;
	setvbuf(stdout, NULL, _IOLBF, 0);

	/* SIGINT/SIGTERM go to the main loop; every thread inherits the mask */
	sigemptyset(&sigs);
	sigaddset(&sigs, SIGINT);
	sigaddset(&sigs, SIGTERM);
	sigaddset(&sigs, SIGPIPE);
	pthread_sigmask(SIG_BLOCK, &sigs, NULL);
	sigdelset(&sigs, SIGPIPE);
	sfd = signalfd(-1, &sigs, SFD_CLOEXEC);
	if (sfd < 0)
		die(EXIT_ENV, "signalfd: %s", strerror(errno));

	setup_vm(vm, &o);
	if (o.control && ctl_listen(&ctl, o.control, err, sizeof(err)) < 0)
		die(EXIT_ENV, "%s", err);
	if (o.paused || o.incoming)
		vm->stop_req = true;
	if (vcpus_start(vm) < 0)
		die(EXIT_ENV, "starting vCPU threads: %s", strerror(errno));
	clock_gettime(CLOCK_MONOTONIC, &t0);

	while (code < 0) {
		struct pollfd fds[2 + 1 + CTL_MAX_CLIENTS];
		int n = 2, nc;

		fds[0] = (struct pollfd){ .fd = vm->notify_fd, .events = POLLIN };
		fds[1] = (struct pollfd){ .fd = sfd, .events = POLLIN };
		nc = ctl_pollfds(&ctl, fds + 2);
		n += nc;
		if (poll(fds, n, 100) < 0 && errno != EINTR)
			die(EXIT_ENV, "poll: %s", strerror(errno));
		if (fds[0].revents & POLLIN) {
			uint64_t v;

			if (read(vm->notify_fd, &v, sizeof(v)) < 0) {
				/* nonblocking, may race: nothing to do */
			}
		}
		if (fds[1].revents & POLLIN) {
			struct signalfd_siginfo si;

			if (read(sfd, &si, sizeof(si)) == sizeof(si)) {
				if (o.save_on_stop) {
					vm_stop(vm);
					if (snap_save(vm, o.save_on_stop, err, sizeof(err)) < 0)
						fprintf(stderr, "pcmig-vmm: %s\n", err);
					else
						fprintf(stderr, "pcmig-vmm: stopped, saved %s\n",
							o.save_on_stop);
				}
				what = "stopped";
				code = EXIT_STOPPED;
				break;
			}
		}
		if (nc) {
			switch (ctl_serve(&ctl, fds + 2, nc, &env)) {
			case CTL_QUIT:
				if (!env.finished) {
					what = "stopped";
					code = EXIT_STOPPED;
				} else {
					code = finish_code(vm);
				}
				break;
			case CTL_EXIT_SAVED:
				what = "stopped";
				code = EXIT_STOPPED;
				break;
			default:
				break;
			}
			if (code >= 0)
				break;
		}
		if (vm->fatal) {
			what = "failed";
			code = vm->fatal;
			break;
		}
		if (!env.finished && vm_all_done(vm)) {
			env.finished = true;
			if (!o.linger)
				code = finish_code(vm);
		}
		if (vm->dirty.logging && !vm_stopped(vm) && !env.finished)
			dirty_harvest(vm);
		clock_gettime(CLOCK_MONOTONIC, &now);
		if (o.timeout && now.tv_sec - t0.tv_sec >= (time_t)o.timeout && code < 0) {
			fprintf(stderr, "pcmig-vmm: --timeout %u expired\n", o.timeout);
			what = "stopped";
			code = EXIT_STOPPED;
		}
	}
	vm_quit(vm);
	flush_console(vm);
	if (vm->fatal && code != vm->fatal && code != EXIT_STOPPED) {
		code = vm->fatal;
		what = "failed";
	}
	if (code == EXIT_GUEST && !vm->fatal)
		what = "finished";
	if (vm->fatal)
		fprintf(stderr, "pcmig-vmm: %s\n", vm->fatal_msg);
	print_result(vm, &o, what, code);
	ctl_close(&ctl);
	for (unsigned int i = 0; i < vm->nvcpus; i++)
		vcpu_destroy(&vm->vcpu[i]);
	dirty_free(vm);
	mem_unmap(&vm->mem);
	kvm_vm_destroy(&vm->kvm);
	return code;
}
