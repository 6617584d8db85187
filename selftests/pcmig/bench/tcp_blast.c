// SPDX-License-Identifier: GPL-2.0
/*
 * The plain TCP sender/receiver pair pcmig's precopy throughput is
 * compared with (bench/ram_migrate.sh): one connection, 64 KiB writes,
 * the receiver prints "BYTES SECONDS" once the sender closes.
 *
 *   tcp_blast recv ADDR PORT
 *   tcp_blast send ADDR PORT BYTES
 */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

static double now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

static int die(const char *what)
{
	perror(what);
	return 1;
}

int main(int argc, char **argv)
{
	static char buf[64 << 10];
	struct sockaddr_in a = { .sin_family = AF_INET };
	unsigned long long total = 0, want;
	int fd, c, one = 1;
	double t0;
	ssize_t n;

	if (argc < 4 || inet_pton(AF_INET, argv[2], &a.sin_addr) != 1) {
		fprintf(stderr, "usage: tcp_blast recv ADDR PORT | send ADDR PORT BYTES\n");
		return 2;
	}
	a.sin_port = htons(atoi(argv[3]));
	fd = socket(AF_INET, SOCK_STREAM, 0);
	if (fd < 0)
		return die("socket");
	if (!strcmp(argv[1], "recv")) {
		setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
		if (bind(fd, (struct sockaddr *)&a, sizeof(a)) || listen(fd, 1))
			return die("bind/listen");
		c = accept(fd, NULL, NULL);
		if (c < 0)
			return die("accept");
		t0 = now();
		while ((n = read(c, buf, sizeof(buf))) > 0)
			total += n;
		printf("%llu %.3f\n", total, now() - t0);
		return n < 0 ? die("read") : 0;
	}
	if (strcmp(argv[1], "send") || argc != 5)
		return 2;
	want = strtoull(argv[4], NULL, 0);
	memset(buf, 0x5a, sizeof(buf));
	if (connect(fd, (struct sockaddr *)&a, sizeof(a)))
		return die("connect");
	while (total < want) {
		n = write(fd, buf, want - total < sizeof(buf) ?
			  want - total : sizeof(buf));
		if (n <= 0)
			return die("write");
		total += n;
	}
	return close(fd) ? die("close") : 0;
}
