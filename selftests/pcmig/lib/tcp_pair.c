// SPDX-License-Identifier: GPL-2.0
/* A real TCP connection over loopback (see tcp_pair.h). */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include "tcp_pair.h"

int tcp_pair(int sp[2])
{
	struct sockaddr_in a = { .sin_family = AF_INET,
				 .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	socklen_t len = sizeof(a);
	int lst = socket(AF_INET, SOCK_STREAM, 0);

	if (lst < 0 || bind(lst, (struct sockaddr *)&a, sizeof(a)) ||
	    listen(lst, 1) || getsockname(lst, (struct sockaddr *)&a, &len))
		return -1;
	sp[0] = socket(AF_INET, SOCK_STREAM, 0);
	if (sp[0] < 0 || connect(sp[0], (struct sockaddr *)&a, sizeof(a)))
		return -1;
	sp[1] = accept(lst, NULL, NULL);
	close(lst);
	return sp[1] < 0 ? -1 : 0;
}
