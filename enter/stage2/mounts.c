// The session's views of the container's files: host tools' private copy
// of the container's tree, the read-only copy, and the container's own
// /dev/null in place of ours. run() (stage2.c) calls them in its order.
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <linux/capability.h>
#include <linux/filter.h>
#include <linux/openat2.h>
#include <linux/sched.h>
#include <linux/seccomp.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/signalfd.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/sysmacros.h>
#include <sys/wait.h>
#include <unistd.h>

#include "stage2.h"

// setattr_tree sets attr on every mount of the tree at dirfd/path; what is
// the option that wants it, for messages.
static void setattr_tree(int dirfd, const char *path, unsigned flags, struct mount_attr *attr, const char *what)
{
	if (mount_setattr(dirfd, path, flags | AT_RECURSIVE, attr, sizeof(*attr)) == 0)
		return;
	if (errno == ENOSYS)
		die(0, "%s needs Linux 5.12 or later (mount_setattr)", what);
	if (errno == EINVAL && (attr->attr_set & MOUNT_ATTR_NOSYMFOLLOW))
		die(0, "%s needs Linux 5.14 or later (mount_setattr with MOUNT_ATTR_NOSYMFOLLOW)", what);
	die(errno, "%s: cannot set the attributes of the container's mounts", what);
}

// mount_container_tree gives host-tools mode its filesystem: a private copy
// of our own mount namespace (so nothing mounted here reaches the host) with
// a detached, private copy of the container's whole tree (volumes, /proc,
// all its mounts) at tools_path. The tree can only be cloned from inside the
// container's mount namespace: a bind of /proc/PID/root made from ours would
// show our own root. Neither mount table changes.
void mount_container_tree(const struct plan *p)
{
	int cwd = open(".", O_PATH | O_CLOEXEC); // setns(CLONE_NEWNS) resets it
	if (unshare(CLONE_NEWNS) != 0)
		die(errno, "--host-tools: cannot make a private mount namespace");
	if (mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) != 0)
		die(errno, "--host-tools: cannot make the private mount namespace private");
	int private = open("/proc/self/ns/mnt", O_RDONLY | O_CLOEXEC);
	if (private < 0)
		die(errno, "--host-tools: cannot hold the private mount namespace");
	if (setns(p->tools_mnt, CLONE_NEWNS) != 0)
		die(errno, "--host-tools: cannot enter the container's mount namespace");
	int tree = p->tools_root >= 0
			   ? open_tree(p->tools_root, "", OPEN_TREE_CLONE | OPEN_TREE_CLOEXEC | AT_RECURSIVE | AT_EMPTY_PATH)
			   : open_tree(AT_FDCWD, "/", OPEN_TREE_CLONE | OPEN_TREE_CLOEXEC | AT_RECURSIVE);
	if (tree < 0)
		die(errno, "--host-tools: cannot copy the container's mount tree");
	if (p->readonly || p->nosymfollow) {
		const char *what = p->readonly ? "--read-only" : "--nosymfollow";
		// The copy is in the container's peer groups: a mount made later in
		// one of its shared mounts (a volume with rshared propagation) would
		// appear in the view without the attributes below. Private first,
		// so that nothing arrives after them.
		struct mount_attr unshared = {.propagation = MS_PRIVATE};
		setattr_tree(tree, "", AT_EMPTY_PATH, &unshared, what);
		// The session's root is the host's: an absolute link in the
		// container (/etc/os-release -> /root/secret), a relative one
		// with enough "..", or a magic link of the container's /proc
		// would resolve in the host's tree or reach the container's
		// writable one. No link on the container's mounts is followed,
		// whoever makes it and whenever; readlink still shows them.
		struct mount_attr attr = {.attr_set = MOUNT_ATTR_NOSYMFOLLOW | (p->readonly ? MOUNT_ATTR_RDONLY : 0)};
		setattr_tree(tree, "", AT_EMPTY_PATH, &attr, what);
	}
	if (setns(private, CLONE_NEWNS) != 0)
		die(errno, "--host-tools: cannot return to the private mount namespace");
	if (move_mount(tree, "", AT_FDCWD, p->tools_path, MOVE_MOUNT_F_EMPTY_PATH) != 0)
		die(errno, "--host-tools: cannot mount the container's root at %s", p->tools_path);
	// A plain view is private too (mount(2): no mount_setattr needed), or a
	// mount the session makes in a shared volume would reach the container
	// and the host. The program has not started: nothing of ours crossed.
	if (!p->readonly && !p->nosymfollow && mount(NULL, p->tools_path, NULL, MS_REC | MS_PRIVATE, NULL) != 0)
		die(errno, "--host-tools: cannot make the container's tree private at %s", p->tools_path);
	close(tree);
	close(private);
	if (cwd >= 0 && fchdir(cwd) != 0)
		chdir("/");
	if (cwd >= 0)
		close(cwd);
}

// make_readonly makes everything the program sees read-only, in a private
// copy of the mount namespace it is in: the container keeps writing.
void make_readonly(void)
{
	struct mount_attr ro = {.attr_set = MOUNT_ATTR_RDONLY};
	if (unshare(CLONE_NEWNS) != 0)
		die(errno, "--read-only: cannot make a private mount namespace");
	if (mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) != 0)
		die(errno, "--read-only: cannot make the private mount namespace private");
	setattr_tree(AT_FDCWD, "/", 0, &ro, "--read-only");
}

// container_devnull gives the program the container's /dev/null in place of
// ours on 0, 1 and 2: a descriptor of the host's /dev/null would let a
// process with CAP_FOWNER or CAP_CHOWN in the container (its root, by
// default) fchmod or fchown the host's device node, for every program on
// the host. Looked up without following links; a container whose
// /dev/null is not the null device stops the entry.
void container_devnull(void)
{
	int own = -1;
	for (int i = 0; i < 3; i++) {
		struct stat st;
		if (fstat(i, &st) != 0 || !S_ISCHR(st.st_mode) || st.st_rdev != makedev(1, 3))
			continue;
		if (own < 0) {
			struct open_how how = {.flags = O_RDWR | O_NOCTTY | O_NONBLOCK | O_CLOEXEC, .resolve = RESOLVE_NO_SYMLINKS};
			struct stat theirs;
			own = (int)syscall(SYS_openat2, AT_FDCWD, "/dev/null", &how, sizeof(how));
			if (own < 0 || fstat(own, &theirs) != 0 || !S_ISCHR(theirs.st_mode) || theirs.st_rdev != makedev(1, 3))
				die(0, "the container has no /dev/null to give the program in place of ours (which would let it "
				       "change the host's): use a pipe for the program's input and output");
			fcntl(own, F_SETFL, O_RDWR);
		}
		if (dup2(own, i) != i)
			die(errno, "cannot give the program the container's /dev/null");
	}
	if (own >= 0)
		close(own);
}
