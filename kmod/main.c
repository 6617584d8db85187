// SPDX-License-Identifier: GPL-2.0
/*
 * pcmig: live migration of KVM virtual machines as a kernel service.
 *
 * Module entry points.  See Documentation/pcmig/ for the design, the
 * netlink interface and the stream protocol.
 */
#include <linux/module.h>
#include <linux/moduleparam.h>
#include <net/genetlink.h>

#include "dm_target.h"
#include "netlink.h"
#include "session.h"

unsigned int pcmig_sessions_max = 64;
module_param_named(sessions_max, pcmig_sessions_max, uint, 0644);
MODULE_PARM_DESC(sessions_max, "Sessions allowed per network namespace (default 64)");

static int __init pcmig_init(void)
{
	int err = pcmig_dm_init();

	if (err)
		return err;
	err = pcmig_nl_init();
	if (err) {
		pcmig_dm_exit();
		return err;
	}
	pr_info("pcmig: loaded, netlink family \"%s\" version %u\n",
		PCMIG_GENL_NAME, PCMIG_GENL_VERSION);
	return 0;
}

/*
 * Unload mid-migration is allowed: the control plane goes first so no new
 * session can appear, then every session is cancelled (its worker stops
 * within a second, the peer sees the connection close) and freed.
 */
static void __exit pcmig_exit(void)
{
	pcmig_nl_exit();
	pcmig_session_destroy_all();
	pcmig_dm_exit();
}

module_init(pcmig_init);
module_exit(pcmig_exit);

MODULE_DESCRIPTION("Live migration of KVM virtual machines");
MODULE_AUTHOR("pcmig developers");
MODULE_LICENSE("GPL");
MODULE_ALIAS_GENL_FAMILY(PCMIG_GENL_NAME);
