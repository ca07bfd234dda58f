// The waiting parent: when stage 2 forks (a PID namespace, an audit end
// record, docker exec's exit status), it forks the program, into the
// target's cgroup when it can, and waits for it, passing signals on and
// ending as the program ended.
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

void exit_like(int status)
{
	audit_end(status, NULL);
	if (WIFEXITED(status))
		_exit(WEXITSTATUS(status));
	if (WIFSIGNALED(status) && signalstatus)
		_exit(128 + WTERMSIG(status));
	if (WIFSIGNALED(status)) {
		// Die of the same signal, so our caller sees what happened, but do not
		// dump a core of our own: the program already did if it was allowed to.
		int sig = WTERMSIG(status);
		struct rlimit none = {0, 0};
		sigset_t set;
		setrlimit(RLIMIT_CORE, &none);
		signal(sig, SIG_DFL);
		sigemptyset(&set);
		sigaddset(&set, sig);
		sigprocmask(SIG_UNBLOCK, &set, NULL);
		kill(getpid(), sig);
	}
	_exit(1);
}

// wait_for waits for the program, passing on the signals sent to us. A signal
// the terminal generated (si_code SI_KERNEL) has already reached the program,
// which shares our process group; sending it again would deliver it twice.
// When cancel is a descriptor, its end-of-file sends the program SIGTERM.
void __attribute__((noreturn)) wait_for(pid_t child, const sigset_t *set, int cancel)
{
	int sfd = signalfd(-1, set, SFD_CLOEXEC);
	if (sfd < 0)
		die(errno, "waiting for the program failed");
	for (;;) {
		struct pollfd fds[2] = {{.fd = sfd, .events = POLLIN}, {.fd = cancel, .events = POLLIN}};
		struct signalfd_siginfo si;
		int status;
		if (poll(fds, 2, -1) < 0) {
			if (errno == EINTR)
				continue;
			die(errno, "waiting for the program failed");
		}
		if (fds[1].revents) {
			char b[64];
			if (read(cancel, b, sizeof(b)) <= 0) {
				kill(child, SIGTERM);
				close(cancel);
				cancel = -1; // poll ignores it from now on
			}
		}
		if (!(fds[0].revents & POLLIN))
			continue;
		if (read(sfd, &si, sizeof(si)) != sizeof(si)) {
			if (errno == EINTR || errno == EAGAIN)
				continue;
			die(errno, "waiting for the program failed");
		}
		if (si.ssi_signo != SIGCHLD) {
			if (si.ssi_code != SI_KERNEL)
				kill(child, (int)si.ssi_signo);
			continue;
		}
		for (;;) {
			pid_t r = waitpid(child, &status, WNOHANG | WUNTRACED);
			if (r == 0)
				break;
			if (r < 0) {
				if (errno == EINTR)
					continue;
				die(errno, "waiting for the program failed");
			}
			if (!WIFSTOPPED(status))
				exit_like(status);
			// The program was stopped (^Z): stop too, so the shell sees the
			// job stop, and continue it when we are continued.
			kill(getpid(), SIGSTOP);
			kill(child, SIGCONT);
		}
	}
}

// fork_into_cgroup forks, the child born in the target's cgroup v2 when
// there is one: joining it by a write to cgroup.procs takes the kernel's
// cgroup_threadgroup_rwsem for writing, and its first taker waits for an
// RCU grace period (10-20 ms measured here, on every entry after a pause);
// clone3's CLONE_INTO_CGROUP only reads it. *joined tells the child whether
// it is in. Kernels before 5.7, or a cgroup namespace entered that hides
// our own cgroup, refuse: then a plain fork, and the write.
pid_t fork_into_cgroup(const struct plan *p, int *joined)
{
	if (p->cgroup2_dir >= 0) {
		struct clone_args args = {
			.flags = CLONE_INTO_CGROUP,
			.exit_signal = SIGCHLD,
			.cgroup = (unsigned long long)p->cgroup2_dir,
		};
		// Raw clone3: glibc has no wrapper. Safe here, as this process is
		// single-threaded and the child only makes system calls and execs.
		long pid = syscall(SYS_clone3, &args, sizeof(args));
		if (pid >= 0) {
			*joined = 1;
			return (pid_t)pid;
		}
	}
	return fork();
}
