/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The node-wide ALUA target port group table (SPC-4 5.15): every target port
 * group of the appliance with its asymmetric access state, preferred bit and
 * relative target port ids, and which of them is this node's. The daemon
 * owns one table and every SCSI target borrows it (struct scsi_port_info
 * .alua), as LUs borrow their PR state; REPORT TARGET PORT GROUPS lists the
 * table, and the dispatcher refuses media access while this node's group is
 * Unavailable.
 *
 * DESIGN §3: node N is ALUA target port group N with relative target port N.
 * Standalone the table holds one group. The daemon keeps it equal to the
 * cluster's member table with scsi_alua_groups_set() (daemon/peers.c): one
 * group per configured node, this node's following its serving signal.
 *
 * Unit attentions (our reading of SPC-4 5.15.2.5, implicit transitions):
 * when the asymmetric access state of any group in the table changes, the
 * device server establishes ASYMMETRIC ACCESS STATE CHANGED (2A/06) for the
 * initiator port of every I_T nexus of every logical unit, not only those
 * through the group whose state changed: an initiator must re-read RTPG to
 * learn that another path became usable or unusable (Linux scsi_dh_alua and
 * the Windows MSDSM both re-read RTPG on 2A/06 on any path). A group that
 * appears, disappears or changes its ports or preferred bit changes the
 * RTPG data in the same way and raises the same UA.
 *
 * Everything runs on the main loop's thread; nothing takes a lock.
 */
#ifndef QUORATE_DAEMON_SCSI_ALUA_H
#define QUORATE_DAEMON_SCSI_ALUA_H

#include <stdbool.h>
#include <stdint.h>

#define SCSI_ALUA_GROUPS_MAX 64		/* target port groups in a table (cluster nodes) */
#define SCSI_ALUA_GROUP_PORTS_MAX 4	/* relative target ports per group */

/*
 * Asymmetric access states we report (SPC-4 5.15.2.4). A node's group is
 * Active/Optimized while the node serves and Unavailable otherwise (DESIGN
 * §3): media access then fails with NOT READY, 04h/0Ch, which MPIO (MSDSM,
 * dm-multipath) answers by re-reading RTPG and using a path of another group.
 */
enum scsi_alua_state {
	SCSI_ALUA_ACTIVE_OPTIMIZED = 0x0,
	SCSI_ALUA_UNAVAILABLE = 0x3,
};

/* One target port group as the table holds it and RTPG reports it. */
struct scsi_alua_group {
	uint16_t tpg_id;		/* TARGET PORT GROUP (non-zero) */
	uint8_t state;			/* enum scsi_alua_state */
	bool preferred;			/* PREF: identical on every node (replicated config) */
	uint8_t port_count;		/* 1..SCSI_ALUA_GROUP_PORTS_MAX */
	uint16_t rel_port_ids[SCSI_ALUA_GROUP_PORTS_MAX];	/* non-zero */
};

struct scsi_alua_table;

/**
 * Create a table holding this node's group @local (copied). Start a daemon
 * with @local->state Unavailable: media access then waits for the serving
 * signal. @return 0, -EINVAL or -ENOMEM.
 */
int scsi_alua_table_create(const struct scsi_alua_group *local, struct scsi_alua_table **out);
/**
 * Free the table. Targets still borrowing it go back to a private table
 * holding only their own group in its current state. NULL is a no-op.
 */
void scsi_alua_table_destroy(struct scsi_alua_table *table);

/**
 * Add group @g or replace the group of the same id (this node's included).
 * A change raises 2A/06 on every nexus of every target borrowing the table.
 * @return 0, -EINVAL (bad ids, state or port count), -ENOSPC (table full).
 */
int scsi_alua_group_set(struct scsi_alua_table *table, const struct scsi_alua_group *g);
/**
 * Make the table hold exactly the @n groups @groups (any order, copied):
 * groups not listed are removed, the others added or replaced, this node's
 * included (it must be listed). One 2A/06 on every nexus of every borrower
 * if the table changed, none otherwise. @return 0, -EINVAL (a bad group, an
 * id listed twice, this node's group missing) or -ENOSPC (more than
 * SCSI_ALUA_GROUPS_MAX); on error the table is unchanged.
 */
int scsi_alua_groups_set(struct scsi_alua_table *table, const struct scsi_alua_group *groups,
			 unsigned int n);
/** Remove group @tpg_id (2A/06). @return 0, -ENOENT, or -EBUSY for this node's group. */
int scsi_alua_group_remove(struct scsi_alua_table *table, uint16_t tpg_id);
/** Set the state of group @tpg_id (2A/06 if it changed). @return 0, -ENOENT or -EINVAL. */
int scsi_alua_set_state(struct scsi_alua_table *table, uint16_t tpg_id,
			enum scsi_alua_state state);
/**
 * The one place the node's serving signal (quorum/cluster.h) reaches the
 * SCSI layer: this node's group becomes Active/Optimized when @serving, else
 * Unavailable (media access NOT READY 04h/0Ch, PR OUT refused).
 */
void scsi_alua_set_serving(struct scsi_alua_table *table, bool serving);
/**
 * This node serves media access until @until_ns (CLOCK_MONOTONIC) at the
 * latest, whatever its group's state says (0: no limit, standalone): a
 * command dispatched later is refused like one on an Unavailable group
 * (the cluster's lease, quorum/cluster.h; the state follows from a timer
 * that a frozen loop runs only after the commands queued meanwhile).
 */
void scsi_alua_set_lease_end(struct scsi_alua_table *table, uint64_t until_ns);
/** This node's group's id and state. */
uint16_t scsi_alua_local_tpg(const struct scsi_alua_table *table);
enum scsi_alua_state scsi_alua_local_state(const struct scsi_alua_table *table);
/** Copy group @tpg_id into @out. @return 0 or -ENOENT. */
int scsi_alua_group_get(const struct scsi_alua_table *table, uint16_t tpg_id,
			struct scsi_alua_group *out);
/** Number of groups in the table. */
unsigned int scsi_alua_group_count(const struct scsi_alua_table *table);

#endif
