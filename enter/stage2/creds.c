// Credentials and confinement: what run() (stage2.c) does to the program's
// capabilities and seccomp filter before it execs.
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

// permitted_to_ambient keeps, across execve, the capabilities that entering a
// user namespace granted us: a capability must be permitted and inheritable
// before PR_CAP_AMBIENT_RAISE accepts it.
void permitted_to_ambient(void)
{
	struct __user_cap_header_struct h = {_LINUX_CAPABILITY_VERSION_3, 0};
	struct __user_cap_data_struct d[2];
	if (syscall(SYS_capget, &h, d) != 0)
		die(errno, "--keep-caps: cannot read capabilities");
	d[0].inheritable = d[0].permitted;
	d[1].inheritable = d[1].permitted;
	if (syscall(SYS_capset, &h, d) != 0)
		die(errno, "--keep-caps: cannot set inheritable capabilities");
	for (int cap = 0; cap < 64; cap++) {
		if (!(d[cap / 32].permitted & (1u << (cap % 32))))
			continue;
		if (prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_RAISE, cap, 0, 0) != 0 && errno != EINVAL)
			die(errno, "--keep-caps: cannot raise capability %d to the ambient set", cap);
	}
}

// install_seccomp installs the container's filter, compiled by compile_seccomp.
void install_seccomp(int fd)
{
	static struct sock_filter prog[BPF_MAXINSNS];
	size_t len = 0;
	ssize_t r;
	while ((r = read(fd, (char *)prog + len, sizeof(prog) - len)) > 0)
		len += (size_t)r;
	if (r < 0 || len == 0 || len % sizeof(prog[0]) != 0)
		die(r < 0 ? errno : 0, "--confine: cannot read the seccomp filter");
	struct sock_fprog fprog = {.len = (unsigned short)(len / sizeof(prog[0])), .filter = prog};
	if (syscall(SYS_seccomp, SECCOMP_SET_MODE_FILTER, 0, &fprog) != 0)
		die(errno, "--confine: cannot install the container's seccomp filter");
}

// drop_bounding leaves in the bounding set only what the container has.
// It needs CAP_SETPCAP, so it comes before the uid changes.
void drop_bounding(unsigned long long keep)
{
	for (int cap = 0; cap < 64; cap++) {
		if (keep & (1ULL << cap))
			continue;
		if (prctl(PR_CAPBSET_DROP, cap, 0, 0, 0) != 0 && errno != EINVAL)
			die(errno, "--confine: cannot drop capability %d from the bounding set", cap);
	}
}

// set_capabilities gives the effective, permitted and inheritable sets,
// then the ambient one, as the container's processes have them.
void set_capabilities(const unsigned long long *caps)
{
	struct __user_cap_header_struct h = {_LINUX_CAPABILITY_VERSION_3, 0};
	struct __user_cap_data_struct d[2];
	for (int i = 0; i < 2; i++) {
		d[i].effective = (unsigned)(caps[1] >> (32 * i));
		d[i].permitted = (unsigned)(caps[2] >> (32 * i));
		d[i].inheritable = (unsigned)(caps[3] >> (32 * i));
	}
	if (syscall(SYS_capset, &h, d) != 0)
		die(errno, "--confine: cannot set the container's capabilities");
	if (prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL, 0, 0, 0) != 0)
		die(errno, "--confine: cannot clear the ambient capabilities");
	for (int cap = 0; cap < 64; cap++)
		if ((caps[4] & (1ULL << cap)) && prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_RAISE, cap, 0, 0) != 0)
			die(errno, "--confine: cannot raise ambient capability %d", cap);
}
