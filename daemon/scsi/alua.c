// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * The node-wide ALUA target port group table (alua.h) and its borrowers.
 *
 * A table lists the targets that borrow it, so a change reaches every LU of
 * every target on this node (2A/06, our reading of SPC-4 5.15.2.5 in
 * alua.h). Every target also embeds a private table holding only its own
 * group: it uses it when created without the daemon's table, and falls back
 * to it on scsi_target_destroy() (sessions may still drain on a destroyed
 * target after the daemon freed its table) and when the table is destroyed
 * under it, keeping the own group's last state.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "daemon/scsi/scsi_int.h"

static bool alua_state_valid(uint8_t state)
{
	return state == SCSI_ALUA_ACTIVE_OPTIMIZED || state == SCSI_ALUA_UNAVAILABLE;
}

static bool alua_group_valid(const struct scsi_alua_group *g)
{
	if (!alua_state_valid(g->state) || g->port_count == 0 ||
	    g->port_count > SCSI_ALUA_GROUP_PORTS_MAX) {
		return false;
	}
	for (unsigned int i = 0; i < g->port_count; i++) {
		/* SPC-4 7.8.6.7: relative target port 0 is reserved. */
		if (g->rel_port_ids[i] == 0) {
			return false;
		}
	}
	return true;
}

/* Field by field: the struct has padding, which memcmp() would compare. */
static bool alua_group_equal(const struct scsi_alua_group *a, const struct scsi_alua_group *b)
{
	return a->tpg_id == b->tpg_id && a->state == b->state && a->preferred == b->preferred &&
	       a->port_count == b->port_count &&
	       memcmp(a->rel_port_ids, b->rel_port_ids,
		      a->port_count * sizeof(a->rel_port_ids[0])) == 0;
}

/* Index of @tpg_id, or of the slot it would take (ascending order) when absent. */
static unsigned int alua_find(const struct scsi_alua_table *t, uint16_t tpg_id, bool *found)
{
	unsigned int i = 0;

	while (i < t->count && t->groups[i].tpg_id < tpg_id) {
		i++;
	}
	*found = i < t->count && t->groups[i].tpg_id == tpg_id;
	return i;
}

static void alua_table_init(struct scsi_alua_table *t, const struct scsi_alua_group *local)
{
	memset(t, 0, sizeof(*t));
	t->groups[0] = *local;
	t->count = 1;
	t->local_tpg = local->tpg_id;
	t->local_state = local->state;
}

/* The RTPG data changed: 2A/06 to every nexus of every LU of every borrower. */
static void alua_changed(struct scsi_alua_table *t)
{
	for (struct scsi_target *target = t->targets; target; target = target->alua_next) {
		for (unsigned int i = 0; i < target->lu_end; i++) {
			if (target->lu_index[i]) {
				scsi_ua_raise(target->lu_index[i], NULL, SCSI_UA_ALUA_CHANGED);
			}
		}
	}
}

int scsi_alua_table_create(const struct scsi_alua_group *local, struct scsi_alua_table **out)
{
	struct scsi_alua_table *t;

	if (!local || !out || !alua_group_valid(local)) {
		return -EINVAL;
	}
	t = malloc(sizeof(*t));
	if (!t) {
		return -ENOMEM;
	}
	alua_table_init(t, local);
	*out = t;
	return 0;
}

void scsi_alua_table_destroy(struct scsi_alua_table *table)
{
	if (!table) {
		return;
	}
	while (table->targets) {
		scsi_alua_detach(table->targets);
	}
	free(table);
}

int scsi_alua_group_set(struct scsi_alua_table *table, const struct scsi_alua_group *g)
{
	bool found;
	unsigned int i;

	if (!g || !alua_group_valid(g)) {
		return -EINVAL;
	}
	i = alua_find(table, g->tpg_id, &found);
	if (found) {
		if (alua_group_equal(&table->groups[i], g)) {
			return 0;
		}
	} else {
		if (table->count == SCSI_ALUA_GROUPS_MAX) {
			return -ENOSPC;
		}
		memmove(&table->groups[i + 1], &table->groups[i],
			(table->count - i) * sizeof(table->groups[0]));
		table->count++;
	}
	table->groups[i] = *g;
	if (g->tpg_id == table->local_tpg) {
		table->local_state = g->state;
	}
	alua_changed(table);
	return 0;
}

int scsi_alua_groups_set(struct scsi_alua_table *table, const struct scsi_alua_group *groups,
			 unsigned int n)
{
	struct scsi_alua_group sorted[SCSI_ALUA_GROUPS_MAX];
	bool changed, local_seen = false;

	if (n > SCSI_ALUA_GROUPS_MAX) {
		return -ENOSPC;
	}
	if (n && !groups) {
		return -EINVAL;
	}
	/* Insertion sort by id into @sorted: at most a few dozen groups. */
	for (unsigned int i = 0; i < n; i++) {
		unsigned int j = i;

		if (!alua_group_valid(&groups[i])) {
			return -EINVAL;
		}
		while (j > 0 && sorted[j - 1].tpg_id > groups[i].tpg_id) {
			sorted[j] = sorted[j - 1];
			j--;
		}
		if (j > 0 && sorted[j - 1].tpg_id == groups[i].tpg_id) {
			return -EINVAL;
		}
		sorted[j] = groups[i];
		local_seen |= groups[i].tpg_id == table->local_tpg;
	}
	if (!local_seen) {
		return -EINVAL;
	}
	changed = n != table->count;
	for (unsigned int i = 0; i < n && !changed; i++) {
		changed = !alua_group_equal(&sorted[i], &table->groups[i]);
	}
	if (!changed) {
		return 0;
	}
	memcpy(table->groups, sorted, n * sizeof(sorted[0]));
	table->count = n;
	for (unsigned int i = 0; i < n; i++) {
		if (sorted[i].tpg_id == table->local_tpg) {
			table->local_state = sorted[i].state;
		}
	}
	alua_changed(table);
	return 0;
}

int scsi_alua_group_remove(struct scsi_alua_table *table, uint16_t tpg_id)
{
	bool found;
	unsigned int i = alua_find(table, tpg_id, &found);

	if (!found) {
		return -ENOENT;
	}
	if (tpg_id == table->local_tpg) {
		return -EBUSY;
	}
	memmove(&table->groups[i], &table->groups[i + 1],
		(table->count - i - 1) * sizeof(table->groups[0]));
	table->count--;
	alua_changed(table);
	return 0;
}

int scsi_alua_set_state(struct scsi_alua_table *table, uint16_t tpg_id,
			enum scsi_alua_state state)
{
	bool found;
	unsigned int i = alua_find(table, tpg_id, &found);
	struct scsi_alua_group g;

	if (!found) {
		return -ENOENT;
	}
	g = table->groups[i];
	g.state = (uint8_t)state;
	return scsi_alua_group_set(table, &g);
}

void scsi_alua_set_serving(struct scsi_alua_table *table, bool serving)
{
	/* The own group is always in the table: this cannot fail. */
	(void)scsi_alua_set_state(table, table->local_tpg,
				  serving ? SCSI_ALUA_ACTIVE_OPTIMIZED : SCSI_ALUA_UNAVAILABLE);
}

void scsi_alua_set_lease_end(struct scsi_alua_table *table, uint64_t until_ns)
{
	table->lease_end_ns = until_ns;
}

uint16_t scsi_alua_local_tpg(const struct scsi_alua_table *table)
{
	return table->local_tpg;
}

enum scsi_alua_state scsi_alua_local_state(const struct scsi_alua_table *table)
{
	return (enum scsi_alua_state)table->local_state;
}

int scsi_alua_group_get(const struct scsi_alua_table *table, uint16_t tpg_id,
			struct scsi_alua_group *out)
{
	bool found;
	unsigned int i = alua_find(table, tpg_id, &found);

	if (!found) {
		return -ENOENT;
	}
	*out = table->groups[i];
	return 0;
}

unsigned int scsi_alua_group_count(const struct scsi_alua_table *table)
{
	return table->count;
}

/* ---- borrowers ---- */

static void alua_unlink(struct scsi_target *target)
{
	struct scsi_target **pp = &target->alua->targets;

	while (*pp && *pp != target) {
		pp = &(*pp)->alua_next;
	}
	if (*pp) {
		*pp = target->alua_next;
	}
	target->alua_next = NULL;
}

static void alua_link(struct scsi_target *target, struct scsi_alua_table *table)
{
	target->alua = table;
	target->alua_next = table->targets;
	table->targets = target;
}

static const struct scsi_alua_group *alua_local(const struct scsi_alua_table *t)
{
	bool found;

	/* The own group is never removed (scsi_alua_group_remove: -EBUSY). */
	return &t->groups[alua_find(t, t->local_tpg, &found)];
}

int scsi_alua_attach(struct scsi_target *target, struct scsi_alua_table *table)
{
	const struct scsi_port_info *port = &target->port;
	struct scsi_alua_group local;

	if (table) {
		const struct scsi_alua_group *g = alua_local(table);
		bool ours = false;

		for (unsigned int p = 0; p < g->port_count; p++) {
			ours |= g->rel_port_ids[p] == port->rel_port_id;
		}
		if (port->tpg_id != table->local_tpg || !ours) {
			return -EINVAL;
		}
	}
	if (target->alua) {
		alua_unlink(target);
	}
	if (!table) {
		local = (struct scsi_alua_group){
			.tpg_id = port->tpg_id,
			.state = SCSI_ALUA_ACTIVE_OPTIMIZED,
			.preferred = true,
			.port_count = 1,
			.rel_port_ids = { port->rel_port_id },
		};
		alua_table_init(&target->alua_own, &local);
		table = &target->alua_own;
	}
	alua_link(target, table);
	return 0;
}

void scsi_alua_detach(struct scsi_target *target)
{
	struct scsi_alua_group local;

	if (!target->alua || target->alua == &target->alua_own) {
		return;
	}
	local = *alua_local(target->alua);
	alua_unlink(target);
	alua_table_init(&target->alua_own, &local);
	alua_link(target, &target->alua_own);
}
