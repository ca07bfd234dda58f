// --read-only, made whole with Landlock.
//
// A read-only session sees a private copy of the container's mounts, each
// made read-only (stage2.c, make_readonly), or, with host tools, the
// container's tree read-only and without links at $CONTAINER_ROOT. Neither
// stops a magic link of /proc: /proc/PID/root, cwd and fd/N lead to a
// process's own view, the container's writable mounts, and a link the
// container plants (/etc/motd -> /proc/1/root/etc/motd) takes a write of
// the session there. Landlock (landlock(7)) judges an access by the file
// reached, whatever path led to it, so the session's process is allowed to
// write only where it may:
//   - in the container's files (no host tools): nowhere but a few devices
//     (/dev/null, /dev/tty, its pseudo-terminals...); everything else is
//     read-only anyway;
//   - with host tools: beneath the session's own root, the host's; the
//     container's writable mounts, reached through the session's /proc,
//     are not beneath it.
// The domain is inherited by the program and every process it starts.
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <linux/landlock.h>
#include <linux/openat2.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <sys/syscall.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include "stage2.h"

#ifndef LANDLOCK_ACCESS_FS_TRUNCATE
#define LANDLOCK_ACCESS_FS_TRUNCATE (1ULL << 14) // Landlock ABI 3 (Linux 6.2)
#endif
#define DEVPTS_MAGIC 0x1cd1

// What changes a file or a directory, by Landlock ABI version.
static unsigned long long write_rights(int abi)
{
	unsigned long long r = LANDLOCK_ACCESS_FS_WRITE_FILE | LANDLOCK_ACCESS_FS_REMOVE_DIR | LANDLOCK_ACCESS_FS_REMOVE_FILE |
			       LANDLOCK_ACCESS_FS_MAKE_CHAR | LANDLOCK_ACCESS_FS_MAKE_DIR | LANDLOCK_ACCESS_FS_MAKE_REG |
			       LANDLOCK_ACCESS_FS_MAKE_SOCK | LANDLOCK_ACCESS_FS_MAKE_FIFO | LANDLOCK_ACCESS_FS_MAKE_BLOCK |
			       LANDLOCK_ACCESS_FS_MAKE_SYM;
	if (abi >= 2)
		r |= LANDLOCK_ACCESS_FS_REFER;
	if (abi >= 3)
		r |= LANDLOCK_ACCESS_FS_TRUNCATE;
	return r;
}

// allow lets the session write the file at fd (and beneath it, for a
// directory). fd is closed.
static void allow(int ruleset, int fd, unsigned long long rights)
{
	struct landlock_path_beneath_attr rule = {.allowed_access = rights, .parent_fd = fd};
	if (syscall(SYS_landlock_add_rule, ruleset, LANDLOCK_RULE_PATH_BENEATH, &rule, 0) != 0)
		die(errno, "--read-only: cannot add a Landlock rule");
	close(fd);
}

// device opens one of the devices a session may write, looked up without
// following any link (the container owns /dev), and checks that it is that
// device: a planted impostor is left out, not allowed.
static int device(const char *path, unsigned major_, unsigned minor_)
{
	struct open_how how = {.flags = O_PATH | O_CLOEXEC, .resolve = RESOLVE_NO_SYMLINKS};
	int fd = (int)syscall(SYS_openat2, AT_FDCWD, path, &how, sizeof(how));
	struct stat st;
	struct statfs fs;
	if (fd < 0)
		return -1;
	if (major_ == 0 && fstatfs(fd, &fs) == 0 && fs.f_type == DEVPTS_MAGIC && fstat(fd, &st) == 0 && S_ISDIR(st.st_mode))
		return fd; // the pseudo-terminals' directory
	if (major_ != 0 && fstat(fd, &st) == 0 && S_ISCHR(st.st_mode) && major(st.st_rdev) == major_ &&
	    minor(st.st_rdev) == minor_)
		return fd;
	close(fd);
	return -1;
}

void restrict_writes(int host_root)
{
	int abi = (int)syscall(SYS_landlock_create_ruleset, NULL, 0, LANDLOCK_CREATE_RULESET_VERSION);
	if (abi < 1)
		die(0, "--read-only needs Landlock (Linux 5.13 or later, with Landlock enabled): without it a link "
		       "through /proc would reach the container's writable files");
	unsigned long long rights = write_rights(abi);
	struct landlock_ruleset_attr attr = {.handled_access_fs = rights};
	int ruleset = (int)syscall(SYS_landlock_create_ruleset, &attr, sizeof(attr), 0);
	if (ruleset < 0)
		die(errno, "--read-only: cannot make a Landlock ruleset");
	if (host_root) {
		int root = open("/", O_PATH | O_DIRECTORY | O_CLOEXEC);
		if (root < 0)
			die(errno, "--read-only: cannot open the session's root");
		allow(ruleset, root, rights);
	} else {
		static const struct {
			const char *path;
			unsigned major, minor;
		} devices[] = {
			{"/dev/null", 1, 3},   {"/dev/zero", 1, 5}, {"/dev/full", 1, 7}, {"/dev/random", 1, 8},
			{"/dev/urandom", 1, 9}, {"/dev/tty", 5, 0},  {"/dev/ptmx", 5, 2}, {"/dev/pts", 0, 0},
		};
		unsigned long long device_rights = LANDLOCK_ACCESS_FS_WRITE_FILE | (abi >= 3 ? LANDLOCK_ACCESS_FS_TRUNCATE : 0);
		for (size_t i = 0; i < sizeof(devices) / sizeof(devices[0]); i++) {
			int fd = device(devices[i].path, devices[i].major, devices[i].minor);
			if (fd >= 0)
				allow(ruleset, fd, device_rights);
		}
	}
	// Without no_new_privileges, restricting ourselves needs CAP_SYS_ADMIN,
	// which stage 2 still has: it runs before the credentials change.
	if (syscall(SYS_landlock_restrict_self, ruleset, 0) != 0)
		die(errno, "--read-only: cannot restrict the session with Landlock");
	close(ruleset);
}
