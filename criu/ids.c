/*
 * ids-PID.img and inventory.img's root_ids, the "kernel object ids" of a dump.
 *
 * CRIU's restore reads root_ids as the ids of criu itself at dump time and compares
 * the root task's ids with them: a namespace id that differs means the task lived in
 * a namespace of its own, to be recreated from its images; an fd table id that is
 * the same means the task shared criu's fd table, which it refuses as corrupted
 * images ("Image corruption on kIDs data"). So criu's own address space, fd table,
 * fs context and signal handlers take id 1 of their kind, the dumped processes ids
 * from 2 on (nothing is shared between them yet: a shared fd table, fs or signal
 * handlers is refused, so the Nth process of the tree has id N + 2 of each kind), and every namespace of criu one id,
 * the same in root_ids and in each process's ids. CRIU numbers namespaces in the
 * order pid, net, ipc, uts, time, mnt, user, cgroup; so do we, kinds the kernel
 * lacks left out. A tree in a network namespace of its own has the next id
 * after criu's namespaces as its net_ns_id (the images of that namespace are
 * named by it: net/netns.c); any other namespace of its own is refused by the
 * dump. See Documentation/image-compat.md.
 */
#include <errno.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "ids.h"
#include "image.h"

#include "inventory.pb-c.h"

#define LOG_PREFIX "ids: "
#include "log.h"

/* A namespace field pair of task_kobj_ids_entry. */
struct ns_field {
	const char *name; /* under /proc/PID/ns/ */
	size_t has;	  /* offset of has_X_ns_id */
	size_t id;	  /* offset of X_ns_id */
};

#define NS_FIELD(n, f)                                                                \
	{                                                                             \
		n, offsetof(TaskKobjIdsEntry, has_##f), offsetof(TaskKobjIdsEntry, f) \
	}

static const struct ns_field ns_fields[] = {
	NS_FIELD("pid", pid_ns_id),   NS_FIELD("net", net_ns_id),	NS_FIELD("ipc", ipc_ns_id),
	NS_FIELD("uts", uts_ns_id),   NS_FIELD("time", time_ns_id),	NS_FIELD("mnt", mnt_ns_id),
	NS_FIELD("user", user_ns_id), NS_FIELD("cgroup", cgroup_ns_id),
};

static protobuf_c_boolean *ns_has(TaskKobjIdsEntry *ids, const struct ns_field *f)
{
	return (protobuf_c_boolean *)((char *)ids + f->has);
}

static uint32_t *ns_id(TaskKobjIdsEntry *ids, const struct ns_field *f)
{
	return (uint32_t *)((char *)ids + f->id);
}

static void fill(TaskKobjIdsEntry *ids, uint32_t own)
{
	uint32_t next = 1;

	task_kobj_ids_entry__init(ids);
	ids->vm_id = own;
	ids->files_id = own;
	ids->fs_id = own;
	ids->sighand_id = own;
	for (size_t i = 0; i < sizeof(ns_fields) / sizeof(ns_fields[0]); i++) {
		char path[32];

		snprintf(path, sizeof(path), "/proc/self/ns/%s", ns_fields[i].name);
		if (access(path, F_OK))
			continue;
		*ns_has(ids, &ns_fields[i]) = 1;
		*ns_id(ids, &ns_fields[i]) = next++;
	}
}

uint32_t ids_own_net_ns_id(void)
{
	TaskKobjIdsEntry ids;
	uint32_t last = 0;

	fill(&ids, IDS_CRIU);
	for (size_t i = 0; i < sizeof(ns_fields) / sizeof(ns_fields[0]); i++)
		if (*ns_has(&ids, &ns_fields[i]) && *ns_id(&ids, &ns_fields[i]) > last)
			last = *ns_id(&ids, &ns_fields[i]);
	return last + 1;
}

int ids_ns_id(const char *kind, bool own_net, uint32_t *id)
{
	TaskKobjIdsEntry ids;

	if (own_net && !strcmp(kind, "net")) {
		*id = ids_own_net_ns_id();
		return 0;
	}
	fill(&ids, IDS_CRIU);
	for (size_t i = 0; i < sizeof(ns_fields) / sizeof(ns_fields[0]); i++) {
		if (strcmp(ns_fields[i].name, kind))
			continue;
		if (!*ns_has(&ids, &ns_fields[i]))
			return -ENOENT;
		*id = *ns_id(&ids, &ns_fields[i]);
		return 0;
	}
	return -ENOENT;
}

void ids_fill_root(TaskKobjIdsEntry *ids)
{
	fill(ids, IDS_CRIU);
}

void ids_fill(TaskKobjIdsEntry *ids, size_t index)
{
	fill(ids, IDS_FIRST_TASK + (uint32_t)index);
}

int ids_dump(int dirfd, pid_t pid, const TaskKobjIdsEntry *ids)
{
	struct cr_img *img;
	int ret, cret;

	ret = img_open(&img, dirfd, IMG_WRITE, CR_IMG_IDS, (unsigned int)pid);
	if (ret)
		return ret;
	ret = img_write_entry(img, ids);
	cret = img_close(img);
	return ret ?: cret;
}

/*
 * The namespace kinds where @task differs from @root, or (-EINVAL) the fd table it shares with criu.
 * A network namespace of its own is allowed: its id goes to *@net_ns_id.
 */
static int compare_root(TaskKobjIdsEntry *root, TaskKobjIdsEntry *task, pid_t pid, uint32_t *net_ns_id)
{
	if (task->files_id == root->files_id) {
		pr_err("ids-%d.img: the process has criu's fd table (files_id %u, as inventory.img's root_ids): "
		       "corrupted images\n",
		       pid, task->files_id);
		return -EINVAL;
	}
	for (size_t i = 0; i < sizeof(ns_fields) / sizeof(ns_fields[0]); i++) {
		const struct ns_field *f = &ns_fields[i];

		if (*ns_has(task, f) == *ns_has(root, f) && *ns_id(task, f) == *ns_id(root, f))
			continue;
		if (!strcmp(f->name, "net") && *ns_has(task, f) && *ns_id(task, f)) {
			*net_ns_id = *ns_id(task, f);
			pr_info("ids-%d.img: the process lived in a network namespace of its own (id %u)\n", pid,
				*net_ns_id);
			continue;
		}
		pr_err("ids-%d.img: the process lived in a %s namespace of its own (id %u, criu's was %u): "
		       "namespaces are not supported yet\n",
		       pid, f->name, *ns_id(task, f), *ns_id(root, f));
		return -EOPNOTSUPP;
	}
	return 0;
}

int ids_restore_check(int dirfd, pid_t pid, uint32_t *net_ns_id)
{
	InventoryEntry *inv = NULL;
	TaskKobjIdsEntry *task = NULL;
	struct cr_img *img;
	int ret;

	*net_ns_id = 0;
	ret = img_open(&img, dirfd, IMG_READ, CR_IMG_INVENTORY);
	if (ret)
		return ret;
	ret = img_read_one(img, (void **)&inv);
	img_close(img);
	if (ret)
		return ret;
	if (!inv->root_ids) {
		/* Images without root ids (older criu-ng): nothing to compare with. */
		pr_info("inventory.img has no root_ids\n");
		goto out_free;
	}
	ret = img_open(&img, dirfd, IMG_READ, CR_IMG_IDS, (unsigned int)pid);
	if (ret)
		goto out_free;
	ret = img_read_one(img, (void **)&task);
	img_close(img);
	if (!ret)
		ret = compare_root(inv->root_ids, task, pid, net_ns_id);
	img_free_entry(task);
out_free:
	img_free_entry(inv);
	return ret;
}
