/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Moving bytes over a session's migration socket: framing, rate limits,
 * and I/O that stays responsive to cancel and teardown.
 */
#ifndef _PCMIG_STREAM_H
#define _PCMIG_STREAM_H

#include <linux/types.h>

struct pcmig_session;

void pcmig_stream_setup(struct pcmig_session *s);
int pcmig_send_frame(struct pcmig_session *s, u8 section, u8 type,
		     const void *payload, u32 len);
/* How pcmig_send_frames() paces what it sends (rule S4). */
enum pcmig_frames_pace {
	PCMIG_FRAMES_PACED,	/* by the phase's limit */
	PCMIG_FRAMES_YIELD,	/* ... giving way to a page request */
	PCMIG_FRAMES_NOW,	/* charged to the limit, not waiting for it */
};

int pcmig_send_frames(struct pcmig_session *s, const void *buf, u32 len,
		      enum pcmig_frames_pace pace);
int pcmig_send_frame_urgent(struct pcmig_session *s, u8 section, u8 type,
			    const void *payload, u32 len);
void pcmig_rate_charge(struct pcmig_session *s, u32 len);
int pcmig_stream_wait_room(struct pcmig_session *s);
int pcmig_send_preamble(struct pcmig_session *s, u32 magic);
void pcmig_send_last_word(struct pcmig_session *s, u8 section, u8 type,
			  const char *reason);
int pcmig_recv(struct pcmig_session *s, void *buf, size_t len);
int pcmig_recv_last_word(struct pcmig_session *s, void *buf, size_t len);
const char *pcmig_io_error(int err);

#endif /* _PCMIG_STREAM_H */
