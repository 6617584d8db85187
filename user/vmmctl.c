// SPDX-License-Identifier: GPL-2.0
/* The VMM's control socket (see vmmctl.h). */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/un.h>
#include <unistd.h>

#include <linux/pcmig.h>

#include "net.h"
#include "units.h"
#include "vmmctl.h"

/* Words of a reply line are separated by blanks. */
static bool is_word(const char *line, const char *word)
{
	size_t n = strlen(word);

	return !strncmp(line, word, n) &&
	       (line[n] == '\0' || line[n] == ' ' || line[n] == '\t');
}

enum vmm_reply vmm_reply_kind(const char *line)
{
	if (is_word(line, "ok"))
		return VMM_REPLY_OK;
	if (is_word(line, "error"))
		return VMM_REPLY_ERROR;
	return VMM_REPLY_BAD;
}

/* Decimal, no sign, within [min, max]. */
static bool parse_num(const char *s, size_t len, long long min,
		      long long max, long long *out)
{
	long long v = 0;

	if (!len || len > 12)
		return false;
	for (size_t i = 0; i < len; i++) {
		if (s[i] < '0' || s[i] > '9')
			return false;
		v = v * 10 + (s[i] - '0');
	}
	if (v < min || v > max)
		return false;
	*out = v;
	return true;
}

int vmm_parse_vmfd(const char *line, pid_t *pid, int *fd, char *err,
		   size_t errlen)
{
	static const char *const want[] = { "ok", "pid", NULL, "fd", NULL };
	const char *w[5];
	size_t wl[5];
	long long p, f;
	const char *s = line;
	int n = 0;

	/* The first five words; what follows is for later versions. */
	while (n < 5) {
		s += strspn(s, " \t");
		if (!*s)
			break;
		w[n] = s;
		wl[n] = strcspn(s, " \t");
		s += wl[n];
		n++;
	}
	for (int i = 0; i < n; i++)
		if (want[i] && (wl[i] != strlen(want[i]) ||
				strncmp(w[i], want[i], wl[i])))
			n = -1;
	if (n != 5) {
		snprintf(err, errlen, "expected 'ok pid PID fd FD', got '%.200s'",
			 line);
		return -EINVAL;
	}
	if (!parse_num(w[2], wl[2], 1, INT_MAX, &p)) {
		snprintf(err, errlen, "bad pid '%.*s' in '%.200s'", (int)wl[2],
			 w[2], line);
		return -EINVAL;
	}
	if (!parse_num(w[4], wl[4], 0, INT_MAX, &f)) {
		snprintf(err, errlen, "bad fd '%.*s' in '%.200s'", (int)wl[4],
			 w[4], line);
		return -EINVAL;
	}
	*pid = (pid_t)p;
	*fd = (int)f;
	return 0;
}

bool vmm_path_ok(const char *path)
{
	if (!*path)
		return false;
	for (const unsigned char *p = (const unsigned char *)path; *p; p++)
		if (*p <= ' ' || *p == 0x7f)
			return false;
	return true;
}

int vmm_check_socket(const char *path, char *err, size_t errlen)
{
	struct sockaddr_un a;

	if (!*path) {
		snprintf(err, errlen, "empty socket path");
		return -EINVAL;
	}
	if (strlen(path) >= sizeof(a.sun_path)) {
		snprintf(err, errlen, "socket path of %zu bytes, longer than %zu",
			 strlen(path), sizeof(a.sun_path) - 1);
		return -EINVAL;
	}
	return 0;
}

int vmm_connect(struct vmm *v, const char *path, char *err, size_t errlen)
{
	struct sockaddr_un a = { .sun_family = AF_UNIX };
	struct ucred cred;
	socklen_t clen = sizeof(cred);
	int fd, ret;

	v->path = path;
	v->fd = -1;
	if (strlen(path) >= sizeof(a.sun_path)) {
		snprintf(err, errlen, "%s: socket path longer than %zu bytes",
			 path, sizeof(a.sun_path) - 1);
		return -ENAMETOOLONG;
	}
	strcpy(a.sun_path, path);
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0 || connect(fd, (struct sockaddr *)&a, sizeof(a)) < 0) {
		ret = -errno;
		snprintf(err, errlen, "%s: %s%s", path, strerror(errno),
			 errno == ENOENT || errno == ECONNREFUSED ?
			 " (is the VMM running with --control on it?)" : "");
		if (fd >= 0)
			close(fd);
		return ret;
	}
	/* Who listens: the VMM itself, seen from our pid namespace. */
	if (!getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cred, &clen) &&
	    cred.pid > 0) {
		v->peer_pid = cred.pid;
		v->peer_uid = cred.uid;
		v->peer_gid = cred.gid;
		v->have_peer = true;
	}
	v->fd = fd;
	return 0;
}

void vmm_close(struct vmm *v)
{
	if (v->fd >= 0)
		close(v->fd);
	v->fd = -1;
}

/* A connection the VMM closed meanwhile (it reads EOF): drop it. */
static void drop_if_closed(struct vmm *v)
{
	struct pollfd pfd = { .fd = v->fd, .events = POLLIN };
	char c;

	while (v->fd >= 0 && poll(&pfd, 1, 0) == 1) {
		ssize_t n = recv(v->fd, &c, 1, MSG_DONTWAIT);

		if (n == 1)
			continue;	/* stray bytes: no command is pending */
		if (n == 0 || (errno != EAGAIN && errno != EINTR))
			vmm_close(v);
		break;
	}
}

static int send_all(int fd, const char *buf, size_t len)
{
	while (len) {
		ssize_t n = send(fd, buf, len, MSG_NOSIGNAL);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return -errno;
		buf += n;
		len -= (size_t)n;
	}
	return 0;
}

/*
 * One reply line into v->reply.  0, -ETIMEDOUT, -ECONNRESET (closed
 * before a whole line; *got says whether any byte came), -EPROTO (too
 * long) or another -errno.
 */
static int read_line(struct vmm *v, int timeout_ms, bool *got)
{
	int64_t deadline = now_ms() + timeout_ms;
	size_t len = 0;

	*got = false;
	for (;;) {
		struct pollfd pfd = { .fd = v->fd, .events = POLLIN };
		int64_t left = deadline - now_ms();
		ssize_t n;
		char *nl;
		int r;

		if (left <= 0)
			return -ETIMEDOUT;
		r = poll(&pfd, 1, (int)left);
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0)
			return -errno;
		if (!r)
			return -ETIMEDOUT;
		n = recv(v->fd, v->reply + len, sizeof(v->reply) - 1 - len, 0);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return -errno;
		if (!n)
			return -ECONNRESET;
		*got = true;
		len += (size_t)n;
		v->reply[len] = '\0';
		nl = memchr(v->reply, '\n', len);
		if (nl) {
			*nl = '\0';
			len = (size_t)(nl - v->reply);
			break;
		}
		if (len == sizeof(v->reply) - 1)
			return -EPROTO;
	}
	if (len && v->reply[len - 1] == '\r')
		v->reply[--len] = '\0';
	/* Shown to the user: no terminal control sequences from a peer. */
	for (size_t i = 0; i < len; i++)
		if ((unsigned char)v->reply[i] < ' ' ||
		    (unsigned char)v->reply[i] == 0x7f)
			v->reply[i] = '?';
	return 0;
}

int vmm_command(struct vmm *v, const char *cmd, int timeout_ms, char *err,
		size_t errlen)
{
	char line[PATH_MAX + 64], ms[UNITS_LEN];
	bool got = false;
	int ret = -ECONNRESET;

	v->reply[0] = '\0';
	if ((size_t)snprintf(line, sizeof(line), "%s\n", cmd) >= sizeof(line)) {
		snprintf(err, errlen, "command too long");
		return -E2BIG;
	}
	for (int attempt = 0; attempt < 2; attempt++) {
		if (v->fd >= 0)
			drop_if_closed(v);
		if (v->fd < 0) {
			ret = vmm_connect(v, v->path, err, errlen);
			if (ret)
				return ret;
		}
		ret = send_all(v->fd, line, strlen(line));
		if (!ret)
			ret = read_line(v, timeout_ms, &got);
		/*
		 * Closed under us before any reply: once more on a new
		 * connection (every command pcmigd sends may be repeated).
		 */
		if ((ret == -EPIPE || ret == -ECONNRESET) && !got) {
			vmm_close(v);
			continue;
		}
		break;
	}
	switch (ret) {
	case 0:
		break;
	case -ETIMEDOUT:
		snprintf(err, errlen, "no reply from the VMM within %s",
			 fmt_ms((uint64_t)timeout_ms, ms));
		vmm_close(v);	/* a late reply must not answer the next one */
		return ret;
	case -EPROTO:
		snprintf(err, errlen, "reply longer than %d bytes",
			 VMM_REPLY_MAX - 1);
		vmm_close(v);
		return ret;
	case -ECONNRESET:
		snprintf(err, errlen, "the VMM closed the connection without a reply");
		vmm_close(v);
		return ret;
	default:
		snprintf(err, errlen, "%s: %s", v->path, strerror(-ret));
		vmm_close(v);
		return ret;
	}
	switch (vmm_reply_kind(v->reply)) {
	case VMM_REPLY_OK:
		return VMM_REPLY_OK;
	case VMM_REPLY_ERROR:
		return VMM_REPLY_ERROR;
	default:
		snprintf(err, errlen, "not a VMM control reply: '%.200s'",
			 v->reply);
		return -EPROTO;
	}
}

/*
 * The process behind the socket (peer) and the pid the VMM reports
 * (said) differ when the VMM runs in another pid namespace: then the
 * last NSpid of peer, its pid in its own namespace, must be said.
 */
static bool same_process(pid_t peer, pid_t said)
{
	char path[64], line[256];
	bool same = false;
	FILE *f;

	snprintf(path, sizeof(path), "/proc/%d/status", (int)peer);
	f = fopen(path, "re");
	if (!f)
		return false;
	while (fgets(line, sizeof(line), f)) {
		char *last, *end;

		if (strncmp(line, "NSpid:", 6))
			continue;
		line[strcspn(line, "\n")] = '\0';
		last = strrchr(line, '\t');
		last = last ? last + 1 : line + 6;
		same = strtol(last, &end, 10) == said && !*end;
		break;
	}
	fclose(f);
	return same;
}

int vmm_take_vm_fd(struct vmm *v, pid_t *pidp, char *err, size_t errlen)
{
	char e[512], link[128], path[64];
	pid_t said, pid;
	int remote, pidfd, fd, ret;
	ssize_t n;

	ret = vmm_command(v, "vmfd", VMM_SHORT_TIMEOUT_MS, e, sizeof(e));
	if (ret == VMM_REPLY_ERROR) {
		snprintf(err, errlen, "'vmfd' refused by the VMM: %s", v->reply);
		return -1;
	}
	if (ret < 0) {
		snprintf(err, errlen, "'vmfd': %s", e);
		return -1;
	}
	if (vmm_parse_vmfd(v->reply, &said, &remote, e, sizeof(e))) {
		snprintf(err, errlen, "'vmfd': %s", e);
		return -1;
	}
	pid = said;
	if (v->have_peer && v->peer_pid != said) {
		if (!same_process(v->peer_pid, said)) {
			snprintf(err, errlen,
				 "'vmfd': the VMM says it is pid %d, but pid %d listens on %s",
				 (int)said, (int)v->peer_pid, v->path);
			return -1;
		}
		pid = v->peer_pid;	/* the same process, seen from here */
	}
	pidfd = (int)syscall(SYS_pidfd_open, pid, 0);
	if (pidfd < 0) {
		snprintf(err, errlen, "pidfd_open(%d): %s", (int)pid,
			 errno == ESRCH ? "no such process (the VMM exited?)" :
			 errno == ENOSYS ? "not supported by this kernel (needs Linux 5.6)" :
			 strerror(errno));
		return -1;
	}
	fd = (int)syscall(SYS_pidfd_getfd, pidfd, remote, 0);
	if (fd < 0) {
		int e2 = errno;

		close(pidfd);
		if (e2 == EPERM)
			snprintf(err, errlen,
				 "pidfd_getfd: permission denied: taking fd %d of the VMM (pid %d) needs ptrace access to it: run pcmigd as root, or as the VMM's user where kernel.yama.ptrace_scope allows it",
				 remote, (int)pid);
		else if (e2 == EBADF)
			snprintf(err, errlen,
				 "pidfd_getfd: the VMM (pid %d) has no fd %d",
				 (int)pid, remote);
		else
			snprintf(err, errlen, "pidfd_getfd(pid %d, fd %d): %s",
				 (int)pid, remote,
				 e2 == ENOSYS ? "not supported by this kernel (needs Linux 5.6)" :
				 strerror(e2));
		return -1;
	}
	close(pidfd);
	/* The module checks too; this names the file when it is not a VM. */
	snprintf(path, sizeof(path), "/proc/self/fd/%d", fd);
	n = readlink(path, link, sizeof(link) - 1);
	if (n > 0) {
		link[n] = '\0';
		if (strcmp(link, "anon_inode:kvm-vm")) {
			for (ssize_t i = 0; i < n; i++)
				if ((unsigned char)link[i] < ' ')
					link[i] = '?';
			snprintf(err, errlen,
				 "fd %d of the VMM (pid %d) is %s, not a KVM VM (anon_inode:kvm-vm)",
				 remote, (int)pid, link);
			close(fd);
			return -1;
		}
	}
	*pidp = pid;
	return fd;
}

int vmm_tmp_create(struct vmm_tmp *t, const struct vmm *v, char *err,
		   size_t errlen)
{
	const char *base = getenv("TMPDIR");
	int ret;

	/* The path goes to the VMM as one word of a command line. */
	if (!base || !vmm_path_ok(base) ||
	    strlen(base) > sizeof(t->dir) - sizeof("/pcmigd-vmm-XXXXXX"))
		base = "/tmp";
	snprintf(t->dir, sizeof(t->dir), "%s/pcmigd-vmm-XXXXXX", base);
	if (!mkdtemp(t->dir)) {
		ret = -errno;
		snprintf(err, errlen, "temporary directory in %s: %s", base,
			 strerror(errno));
		t->dir[0] = '\0';
		return ret;
	}
	snprintf(t->file, sizeof(t->file), "%s/devstate", t->dir);
	/* Mode 0700: only the VMM's user (and root) may use it. */
	if (v->have_peer && v->peer_uid != geteuid() &&
	    chown(t->dir, v->peer_uid, v->peer_gid) < 0) {
		ret = -errno;
		snprintf(err, errlen, "%s: giving it to the VMM's user (uid %u): %s",
			 t->dir, (unsigned int)v->peer_uid, strerror(errno));
		vmm_tmp_remove(t);
		return ret;
	}
	return 0;
}

void vmm_tmp_remove(struct vmm_tmp *t)
{
	struct dirent *e;
	DIR *d;

	if (!t->dir[0])
		return;
	d = opendir(t->dir);
	if (d) {
		/* The file, and whatever the VMM wrote next to it (FILE.tmp). */
		while ((e = readdir(d)))
			if (strcmp(e->d_name, ".") && strcmp(e->d_name, ".."))
				unlinkat(dirfd(d), e->d_name, 0);
		closedir(d);
	}
	rmdir(t->dir);
	t->dir[0] = '\0';
}

int read_devstate_file(const char *path, void **data, size_t *len,
		       char *err, size_t errlen)
{
	struct stat st;
	size_t done = 0;
	char *buf;
	int fd, ret;

	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0 || fstat(fd, &st) < 0) {
		ret = -errno;
		snprintf(err, errlen, "%s", strerror(errno));
		if (fd >= 0)
			close(fd);
		return ret;
	}
	if (!S_ISREG(st.st_mode) || st.st_size > (off_t)PCMIG_DEVSTATE_MAX) {
		snprintf(err, errlen, "%s", S_ISREG(st.st_mode) ?
			 "larger than the 16 MiB a session accepts" :
			 "not a regular file");
		close(fd);
		return S_ISREG(st.st_mode) ? -EFBIG : -EINVAL;
	}
	buf = malloc(st.st_size ? (size_t)st.st_size : 1);
	if (!buf) {
		close(fd);
		snprintf(err, errlen, "out of memory");
		return -ENOMEM;
	}
	while (done < (size_t)st.st_size) {
		ssize_t n = read(fd, buf + done, (size_t)st.st_size - done);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0) {
			ret = n ? -errno : -EIO;
			snprintf(err, errlen, "%s",
				 n ? strerror(errno) : "file shrank while read");
			free(buf);
			close(fd);
			return ret;
		}
		done += (size_t)n;
	}
	close(fd);
	*data = buf;
	*len = done;
	return 0;
}
