// SPDX-License-Identifier: GPL-2.0
/* The control socket (see control.h). */
#include <errno.h>
#include <inttypes.h>
#include <poll.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/socket.h>
#include <sys/un.h>

#include "control.h"
#include "snapshot.h"
#include "vcpu_state.h"
#include "vmm.h"

int ctl_listen(struct ctl_server *s, const char *path, char *err, size_t errlen)
{
	struct sockaddr_un a = { .sun_family = AF_UNIX };

	memset(s, 0, sizeof(*s));
	for (int i = 0; i < CTL_MAX_CLIENTS; i++)
		s->cl[i].fd = -1;
	s->path = path;
	if (strlen(path) >= sizeof(a.sun_path)) {
		snprintf(err, errlen, "--control path too long");
		s->fd = -1;
		return -1;
	}
	strcpy(a.sun_path, path);
	s->fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (s->fd < 0)
		goto fail;
	unlink(path);	/* a stale socket of an earlier run */
	if (bind(s->fd, (struct sockaddr *)&a, sizeof(a)) < 0 || listen(s->fd, 4) < 0)
		goto fail;
	return 0;
fail:
	snprintf(err, errlen, "control socket %s: %s", path, strerror(errno));
	if (s->fd >= 0)
		close(s->fd);
	s->fd = -1;
	return -1;
}

void ctl_close(struct ctl_server *s)
{
	for (int i = 0; i < CTL_MAX_CLIENTS; i++)
		if (s->cl[i].fd >= 0)
			close(s->cl[i].fd);
	if (s->fd >= 0) {
		close(s->fd);
		unlink(s->path);
	}
	s->fd = -1;
}

int ctl_pollfds(struct ctl_server *s, struct pollfd *fds)
{
	int n = 0;

	if (s->fd < 0)
		return 0;
	fds[n++] = (struct pollfd){ .fd = s->fd, .events = POLLIN };
	for (int i = 0; i < CTL_MAX_CLIENTS; i++)
		if (s->cl[i].fd >= 0)
			fds[n++] = (struct pollfd){ .fd = s->cl[i].fd, .events = POLLIN };
	return n;
}

struct out {
	char *buf;
	size_t len, off;
};

static void outf(struct out *o, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void outf(struct out *o, const char *fmt, ...)
{
	va_list ap;
	int w;

	if (o->off >= o->len)
		return;
	va_start(ap, fmt);
	w = vsnprintf(o->buf + o->off, o->len - o->off, fmt, ap);
	va_end(ap);
	if (w > 0)
		o->off += w;
	if (o->off >= o->len)
		o->off = o->len - 1;
}

const char *vm_state_name(struct vm *vm, bool finished)
{
	if (vm->fatal)
		return "failed";
	if (vm->incoming)
		return "incoming";
	if (finished || vm_all_done(vm))
		return "finished";
	return vm_stopped(vm) ? "stopped" : "running";
}

size_t vm_status(struct vm *vm, bool json, bool finished, char *buf, size_t len)
{
	struct out o = { buf, len, 0 };
	const char *state = vm_state_name(vm, finished);

	buf[0] = 0;
	pthread_mutex_lock(&vm->lock);
	if (json)
		outf(&o, "\"state\":\"%s\",\"vcpus\":%u,\"mem_mib\":%" PRIu64 ",\"slots\":%u,"
		     "\"dirty_ring\":%u,\"dirty_logging\":%s,\"ring_full\":%" PRIu64
		     ",\"dirty_harvested\":%" PRIu64 ",\"cpus\":[",
		     state, vm->nvcpus, (uint64_t)(vm->mem.total / VMM_MIB), vm->mem.n,
		     vm->kvm.ring_entries, vm->dirty.logging ? "true" : "false",
		     vm->dirty.ring_full, vm->dirty.harvested);
	else
		outf(&o, "state %s vcpus %u ring_full %" PRIu64 " dirty_harvested %" PRIu64,
		     state, vm->nvcpus, vm->dirty.ring_full, vm->dirty.harvested);
	for (unsigned int i = 0; i < vm->nvcpus; i++) {
		struct vcpu *v = &vm->vcpu[i];
		struct pcmig_live_counters {
			uint64_t iters, writes, reads;
		} lc = { v->g.iters, v->g.writes, v->g.reads };
		const void *p = v->g.live_gpa ? mem_hva(&vm->mem, v->g.live_gpa, sizeof(lc)) : NULL;
		const char *vs = v->g.done ? "done" : v->parked ? "stopped" : "running";

		if (p && !v->g.progress_valid)
			memcpy(&lc, p, sizeof(lc));	/* racy by nature: a snapshot */
		if (json)
			outf(&o, "%s{\"cpu\":%u,\"state\":\"%s\",\"iters\":%" PRIu64
			     ",\"writes\":%" PRIu64 ",\"reads\":%" PRIu64 ",\"exits\":%" PRIu64
			     ",\"io_exits\":%" PRIu64 ",\"ring_full\":%" PRIu64
			     ",\"sleep_us\":%" PRIu64 ",\"status\":%u}",
			     i ? "," : "", i, vs, lc.iters, lc.writes, lc.reads, v->g.exits,
			     v->g.io_exits, v->g.ring_full, v->g.sleep_us, v->g.status);
		else
			outf(&o, " | cpu %u %s iters %" PRIu64 " writes %" PRIu64 " reads %" PRIu64
			     " exits %" PRIu64, i, vs, lc.iters, lc.writes, lc.reads, v->g.exits);
	}
	if (json)
		outf(&o, "]");
	pthread_mutex_unlock(&vm->lock);
	return o.off;
}

static bool parse_u64(const char *s, uint64_t *v)
{
	char *end;

	if (!s || !*s || *s == '-')
		return false;
	errno = 0;
	*v = strtoull(s, &end, 0);
	return !errno && !*end;
}

/* The JSON string of S (no control characters are expected, but escape). */
static void json_str(struct out *o, const char *s)
{
	outf(o, "\"");
	for (; *s; s++) {
		if (*s == '"' || *s == '\\')
			outf(o, "\\%c", *s);
		else if ((unsigned char)*s < 0x20)
			outf(o, "\\u%04x", *s);
		else
			outf(o, "%c", *s);
	}
	outf(o, "\"");
}

static enum ctl_action command(struct ctl_env *env, char *line, char *reply, size_t rlen)
{
	struct vm *vm = env->vm;
	enum ctl_action act = CTL_CONTINUE;
	struct out o = { reply, rlen, 0 };
	char *argv[4] = { 0 }, *save = NULL, *w;
	char msg[1200] = "", err[1024];
	bool json = false, ok = true;
	int argc = 0;

	for (w = strtok_r(line, " \t\r", &save); w && argc < 4; w = strtok_r(NULL, " \t\r", &save))
		argv[argc++] = w;
	if (argc && !strcmp(argv[0], "json")) {
		json = true;
		memmove(argv, argv + 1, sizeof(argv[0]) * 3);
		argv[3] = NULL;
		argc--;
	}
	if (!argc) {
		ok = false;
		snprintf(msg, sizeof(msg), "empty command");
	} else if (!strcmp(argv[0], "stop") && argc == 1) {
		vm_stop(vm);
		snprintf(msg, sizeof(msg), "stopped");
		if (env->save_on_stop) {
			if (snap_save(vm, env->save_on_stop, err, sizeof(err)) < 0) {
				ok = false;
				snprintf(msg, sizeof(msg), "stopped, save failed: %s", err);
			} else {
				snprintf(msg, sizeof(msg), "stopped, saved %s", env->save_on_stop);
				act = CTL_EXIT_SAVED;
			}
		}
	} else if (!strcmp(argv[0], "resume") && argc == 1) {
		if (vm->need_state) {
			ok = false;
			snprintf(msg, sizeof(msg), "resume: the VM has no %sstate: load-devstate FILE first",
				 vm->incoming ? "" : "complete ");
		} else {
			vm_resume(vm);
			snprintf(msg, sizeof(msg), "running");
		}
	} else if (!strcmp(argv[0], "vmfd") && argc == 1) {
		/* pcmig's attach: it takes the fd with pidfd_getfd(pid, fd) */
		pthread_mutex_lock(&vm->dirty.lock);
		if (vm->dirty.vmm_harvests) {
			ok = false;
			snprintf(msg, sizeof(msg), "vmfd: this VMM harvests the VM's dirty log itself "
				 "(--dirty-log or the dirty-log test); pcmig needs the log: run without --dirty-log");
		} else {
			vm->vmfd_given = true;
		}
		pthread_mutex_unlock(&vm->dirty.lock);
		if (ok) {
			if (json)
				outf(&o, "{\"ok\":true,\"pid\":%d,\"fd\":%d}\n", (int)getpid(),
				     vm->kvm.vm_fd);
			else
				outf(&o, "ok pid %d fd %d\n", (int)getpid(), vm->kvm.vm_fd);
			return act;
		}
	} else if (!strcmp(argv[0], "devstate") && argc == 2) {
		size_t len;

		if (vm->need_state) {
			ok = false;
			snprintf(msg, sizeof(msg), "devstate: the VM has no state to write (nothing loaded)");
		} else if (!vm_stopped(vm) && !vm_all_done(vm)) {
			ok = false;
			snprintf(msg, sizeof(msg), "devstate: the VM is running (stop it first)");
		} else if (devstate_write_file(vm, argv[1], &len, err, sizeof(err)) < 0) {
			ok = false;
			snprintf(msg, sizeof(msg), "devstate: %s", err);
		} else {
			snprintf(msg, sizeof(msg), "devstate %zu bytes to %s", len, argv[1]);
		}
	} else if (!strcmp(argv[0], "load-devstate") && argc == 2) {
		uint8_t *blob;
		size_t len;

		if (!vm->stop_req) {
			ok = false;
			snprintf(msg, sizeof(msg), "load-devstate: the VM is running (stop it first)");
		} else if (devstate_read_file(argv[1], &blob, &len, err, sizeof(err)) < 0) {
			ok = false;
			snprintf(msg, sizeof(msg), "load-devstate: %s", err);
		} else {
			vm_stop(vm);	/* every vCPU parked: none is in KVM_RUN */
			pthread_mutex_lock(&vm->lock);
			if (devstate_load(vm, blob, len, err, sizeof(err)) < 0) {
				ok = false;
				/* a record may have been applied: the state is not usable */
				if (!vm->incoming)
					vm->need_state = true;
				snprintf(msg, sizeof(msg), "load-devstate: %s: %s", argv[1], err);
			} else {
				vm->incoming = false;
				vm->need_state = false;
				snprintf(msg, sizeof(msg), "loaded %zu bytes of device state", len);
			}
			pthread_cond_broadcast(&vm->cond);
			pthread_mutex_unlock(&vm->lock);
			free(blob);
			vm_notify(vm);
		}
	} else if (!strcmp(argv[0], "load-ram") && argc == 2) {
		if (!vm->need_state) {
			ok = false;
			snprintf(msg, sizeof(msg), "load-ram: only into an incoming VM (--incoming)");
		} else if (snap_load_ram_file(vm, argv[1], err, sizeof(err)) < 0) {
			ok = false;
			snprintf(msg, sizeof(msg), "load-ram: %s", err);
		} else {
			snprintf(msg, sizeof(msg), "loaded the RAM of %s", argv[1]);
		}
	} else if (!strcmp(argv[0], "status") && argc == 1) {
		char st[2048];

		vm_status(vm, json, env->finished, st, sizeof(st));
		if (json)
			outf(&o, "{\"ok\":true,%s}\n", st);
		else
			outf(&o, "ok %s\n", st);
		return act;
	} else if (!strcmp(argv[0], "peek") && argc == 2) {
		uint64_t gpa, val;
		void *p;

		if (!parse_u64(argv[1], &gpa) || !(p = mem_hva(&vm->mem, gpa, 8))) {
			ok = false;
			snprintf(msg, sizeof(msg), "peek: %s is not the address of 8 bytes of guest RAM",
				 argv[1]);
		} else {
			memcpy(&val, p, 8);
			if (json)
				outf(&o, "{\"ok\":true,\"addr\":\"0x%" PRIx64 "\",\"value\":\"0x%016" PRIx64 "\"}\n",
				     gpa, val);
			else
				outf(&o, "ok 0x%016" PRIx64 "\n", val);
			return act;
		}
	} else if (!strcmp(argv[0], "save") && argc == 2) {
		if (vm->need_state) {
			ok = false;
			snprintf(msg, sizeof(msg), "save: the VM has no state to save (nothing loaded)");
		} else if (!vm_stopped(vm) && !vm_all_done(vm)) {
			ok = false;
			snprintf(msg, sizeof(msg), "save: the VM is running (stop it first)");
		} else if (snap_save(vm, argv[1], err, sizeof(err)) < 0) {
			ok = false;
			snprintf(msg, sizeof(msg), "save: %s", err);
		} else {
			snprintf(msg, sizeof(msg), "saved %s", argv[1]);
		}
	} else if (!strcmp(argv[0], "finish") && argc == 1) {
		__atomic_store_n(&vm->finish_req, 1, __ATOMIC_RELEASE);
		snprintf(msg, sizeof(msg), "finish requested");
	} else if (!strcmp(argv[0], "dirty") && argc == 1) {
		long n = dirty_harvest(vm);

		snprintf(msg, sizeof(msg), "harvested %ld pages, %" PRIu64 " distinct since start",
			 n, dirty_count(vm));
	} else if (!strcmp(argv[0], "quit") && argc == 1) {
		snprintf(msg, sizeof(msg), "quitting");
		act = CTL_QUIT;
	} else if (!strcmp(argv[0], "help") && argc == 1) {
		snprintf(msg, sizeof(msg), "commands: stop resume status peek ADDR save FILE "
			 "finish dirty vmfd devstate FILE load-devstate FILE load-ram FILE "
			 "quit help; prefix json for a JSON reply");
	} else {
		ok = false;
		snprintf(msg, sizeof(msg), "unknown command or wrong arguments: %s (try help)",
			 argv[0]);
	}
	if (json) {
		outf(&o, "{\"ok\":%s,\"%s\":", ok ? "true" : "false", ok ? "message" : "error");
		json_str(&o, msg);
		outf(&o, "}\n");
	} else {
		outf(&o, "%s %s\n", ok ? "ok" : "error", msg);
	}
	return act;
}

static void drop(struct ctl_client *c)
{
	close(c->fd);
	c->fd = -1;
	c->len = 0;
}

enum ctl_action ctl_serve(struct ctl_server *s, struct pollfd *fds, int n, struct ctl_env *env)
{
	enum ctl_action act = CTL_CONTINUE;

	if (n && (fds[0].revents & POLLIN)) {
		int fd = accept4(s->fd, NULL, NULL, SOCK_CLOEXEC);

		if (fd >= 0) {
			int i;

			for (i = 0; i < CTL_MAX_CLIENTS && s->cl[i].fd >= 0; i++)
				;
			if (i == CTL_MAX_CLIENTS) {
				static const char busy[] = "error too many clients\n";

				if (write(fd, busy, sizeof(busy) - 1) < 0) {
					/* the client goes away anyway */
				}
				close(fd);
			} else {
				s->cl[i].fd = fd;
				s->cl[i].len = 0;
			}
		}
	}
	for (int k = 1; k < n; k++) {
		struct ctl_client *c = NULL;
		ssize_t r;
		char *nl;

		if (!fds[k].revents)
			continue;
		for (int i = 0; i < CTL_MAX_CLIENTS; i++)
			if (s->cl[i].fd == fds[k].fd)
				c = &s->cl[i];
		if (!c)
			continue;
		r = read(c->fd, c->buf + c->len, sizeof(c->buf) - 1 - c->len);
		if (r <= 0) {
			drop(c);
			continue;
		}
		c->len += r;
		c->buf[c->len] = 0;
		while ((nl = strchr(c->buf, '\n'))) {
			char reply[4096];
			size_t used = nl - c->buf + 1;
			enum ctl_action a;

			*nl = 0;
			a = command(env, c->buf, reply, sizeof(reply));
			if (a != CTL_CONTINUE)
				act = a;
			if (write(c->fd, reply, strlen(reply)) < 0) {
				drop(c);
				break;
			}
			memmove(c->buf, c->buf + used, c->len - used + 1);
			c->len -= used;
		}
		if (c->fd >= 0 && c->len == sizeof(c->buf) - 1) {
			static const char big[] = "error line too long\n";

			if (write(c->fd, big, sizeof(big) - 1) < 0) {
				/* dropped below */
			}
			drop(c);
		}
	}
	return act;
}

int ctl_client(const char *path, const char *cmd)
{
	struct sockaddr_un a = { .sun_family = AF_UNIX };
	char buf[8192];
	size_t len = 0;
	int fd;

	if (strlen(path) >= sizeof(a.sun_path)) {
		fprintf(stderr, "pcmig-vmm: --ctl path too long\n");
		return EXIT_USAGE;
	}
	strcpy(a.sun_path, path);
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0 || connect(fd, (struct sockaddr *)&a, sizeof(a)) < 0) {
		fprintf(stderr, "pcmig-vmm: %s: %s\n", path, strerror(errno));
		if (fd >= 0)
			close(fd);
		return EXIT_ENV;
	}
	if (write(fd, cmd, strlen(cmd)) < 0 || write(fd, "\n", 1) < 0) {
		fprintf(stderr, "pcmig-vmm: %s: %s\n", path, strerror(errno));
		close(fd);
		return EXIT_ENV;
	}
	while (len < sizeof(buf) - 1) {
		ssize_t r = read(fd, buf + len, sizeof(buf) - 1 - len);

		if (r <= 0)
			break;
		len += r;
		if (memchr(buf, '\n', len))
			break;
	}
	close(fd);
	buf[len] = 0;
	if (!len) {
		fprintf(stderr, "pcmig-vmm: %s: no reply\n", path);
		return EXIT_ENV;
	}
	fputs(buf, stdout);
	if (buf[len - 1] != '\n')
		putchar('\n');
	return !strncmp(buf, "ok", 2) || !strncmp(buf, "{\"ok\":true", 10) ? 0 : 1;
}
