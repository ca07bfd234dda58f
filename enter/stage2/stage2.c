// cnsenter-enter, stage 2 of an entry: the part that must run in a
// single-threaded process.
//
// The kernel refuses setns(2) into a user, mount or time namespace from a
// process with more than one thread, and a Go program always has several
// threads by the time main runs. So the Go side (stage 1, package enter)
// resolves and opens everything, then execs this small C program with the
// opened file descriptors and a textual plan. It enters the namespaces,
// changes root, directory and credentials, forks when a PID namespace needs
// it, and execs the program.
//
// It is a program of its own, not a constructor in the Go binaries: a Go
// binary that links any C starts about 0.6 ms slower (its threads come from
// pthreads, it carries a C runtime), on every run; a static C program is
// started in about 0.3 ms. As cnsenter-enter it is not meant to be run by
// hand; under the names cnsenter and docker-nsenter it is their front
// (front.c).
//
// It only joins existing namespaces, never creates any. The plan it
// carries out is its arguments up to "--" (the program's argv follows),
// entries defined in enter/contract.go, with contract.h generated from it,
// and parsed in plan.c.
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <libgen.h>
#include <limits.h>
#include <linux/capability.h>
#include <linux/sched.h>
#include <linux/filter.h>
#include <linux/openat2.h>
#include <linux/seccomp.h>
#include <sched.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <poll.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/signalfd.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/sysmacros.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "stage2.h"

extern char **environ;

// The namespace kinds, in the order they are entered (enter/kind.go says
// why), from contract.h.
const struct kind kinds[NKINDS] = KINDS;

const char *me = "cnsenter";
const char *hint; // hint=
int onlystdio;    // onlystdio
int signalstatus; // signalstatus

int audit_fd = -1; // audit=: only the process that reports the end holds it
const char *audit_prefix;

// audit_end appends the end record, in one write so that O_APPEND keeps
// records whole: the exit status, the signal, or the error that stopped
// the entry before the program ran.
void audit_end(int status, const char *error)
{
	if (audit_fd < 0)
		return;
	char line[4096], when[32], esc[1024];
	size_t j = 0;
	struct timespec ts;
	struct tm tm;
	clock_gettime(CLOCK_REALTIME, &ts);
	gmtime_r(&ts.tv_sec, &tm);
	strftime(when, sizeof(when), "%Y-%m-%dT%H:%M:%S", &tm);
	int n;
	if (error) {
		for (const char *s = error; *s && j + 7 < sizeof(esc); s++) {
			unsigned char ch = (unsigned char)*s;
			if (ch == '"' || ch == '\\')
				j += (size_t)snprintf(esc + j, sizeof(esc) - j, "\\%c", ch);
			else if (ch < 0x20)
				j += (size_t)snprintf(esc + j, sizeof(esc) - j, "\\u%04x", ch);
			else
				esc[j++] = (char)ch;
		}
		esc[j] = '\0';
		n = snprintf(line, sizeof(line), "%s\"time\":\"%s.%03ldZ\",\"exit_status\":1,\"error\":\"%s\"}\n", audit_prefix, when,
			     ts.tv_nsec / 1000000, esc);
	} else if (WIFSIGNALED(status)) {
		n = snprintf(line, sizeof(line), "%s\"time\":\"%s.%03ldZ\",\"exit_status\":%d,\"signal\":%d}\n", audit_prefix, when,
			     ts.tv_nsec / 1000000, 128 + WTERMSIG(status), WTERMSIG(status));
	} else {
		n = snprintf(line, sizeof(line), "%s\"time\":\"%s.%03ldZ\",\"exit_status\":%d}\n", audit_prefix, when,
			     ts.tv_nsec / 1000000, WEXITSTATUS(status));
	}
	if (n > 0 && (size_t)n < sizeof(line) && write(audit_fd, line, (size_t)n) != n)
		fprintf(stderr, "%s: cannot write the audit log: %s\n", me, strerror(errno));
	audit_fd = -1;
}

// printable copies s to out with every byte that a terminal could act on
// (C0 controls, DEL, and any byte of 128 or more, which is how C1 controls
// are spelled) written as \xHH: messages carry names, paths and working
// directories that come from the container, and they go to the caller's
// terminal.
const char *printable(const char *s, char *out, size_t size)
{
	static const char hex[] = "0123456789abcdef";
	size_t j = 0;
	for (; *s && j + 5 < size; s++) {
		unsigned char ch = (unsigned char)*s;
		if (ch >= 0x20 && ch < 0x7f) {
			out[j++] = (char)ch;
			continue;
		}
		out[j++] = '\\';
		out[j++] = 'x';
		out[j++] = hex[ch >> 4];
		out[j++] = hex[ch & 15];
	}
	out[j] = '\0';
	return out;
}

void die(int err, const char *fmt, ...)
{
	char msg[1024], shown[4096];
	va_list ap;
	va_start(ap, fmt);
	int n = vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	if (err && n >= 0 && (size_t)n < sizeof(msg))
		snprintf(msg + n, sizeof(msg) - (size_t)n, ": %s", strerror(err));
	fprintf(stderr, "%s: %s\n", me, printable(msg, shown, sizeof(shown)));
	audit_end(0, msg);
	_exit(1);
}

static int wanted(const struct plan *p)
{
	int mask = p->pidfd_mask;
	for (int i = 0; i < p->nns; i++)
		mask |= p->ns[i].flag;
	return mask;
}

static void __attribute__((noreturn)) die_setns(const struct plan *p, int err, int mask, const char *path)
{
	char names[96] = "";
	for (size_t i = 0; i < NKINDS; i++) {
		if (!(mask & kinds[i].flag))
			continue;
		if (names[0])
			strcat(names, ",");
		strcat(names, kinds[i].name);
	}
	if (path)
		die(err, "cannot enter the %s namespace %s", names, path);
	if (err == ESRCH && p->container)
		die(0, "%s stopped while entering: its init, process %ld, exited", p->container, p->target);
	if (err == ESRCH)
		die(0, "process %ld exited before its namespaces could be entered", p->target);
	die(err, "cannot enter the %s namespace%s of process %ld", names, strchr(names, ',') ? "s" : "",
	    p->target);
}

// enter joins the namespaces in mask not joined yet (*done). With the pidfd,
// setns(2) enters several kinds at once, all or nothing, and cannot reach
// another process that took over the PID. When ignore_errors is set a
// failure leaves the kind for the next pass.
static void enter(const struct plan *p, int mask, int *done, int ignore_errors)
{
	int m = p->pidfd_mask & mask & ~*done;
	if (p->pidfd >= 0 && m) {
		if (setns(p->pidfd, m) == 0)
			*done |= m;
		else if (!ignore_errors)
			die_setns(p, errno, m, NULL);
	}
	for (int i = 0; i < p->nns; i++) {
		const struct file *f = &p->ns[i];
		if (!(f->flag & mask) || (f->flag & *done))
			continue;
		if (setns(f->fd, f->flag) == 0)
			*done |= f->flag;
		else if (!ignore_errors)
			die_setns(p, errno, f->flag, f->path);
	}
}

// read_env reads a NUL-separated environment, as in /proc/PID/environ;
// with a limit, one longer than that is refused (ENV_TOO_LARGE, target).
static char **read_env(int fd, size_t limit, long target)
{
	size_t len = 0, cap = 4096, n = 0;
	char *buf = malloc(cap);
	ssize_t r;
	if (!buf)
		die(ENOMEM, "cannot read the target's environment");
	while ((r = read(fd, buf + len, cap - len - 1)) != 0) {
		if (r < 0) {
			if (errno == EINTR)
				continue;
			die(errno, "cannot read the target's environment");
		}
		len += (size_t)r;
		if (limit && len > limit)
			die(0, ENV_TOO_LARGE, (int)target);
		if (cap - len < 2) {
			char *b = realloc(buf, cap *= 2);
			if (!b)
				die(ENOMEM, "cannot read the target's environment");
			buf = b;
		}
	}
	buf[len] = '\0';
	for (size_t i = 0; i < len; i++)
		n += buf[i] == '\0';
	char **env = calloc(n + 2, sizeof(char *));
	if (!env)
		die(ENOMEM, "cannot read the target's environment");
	n = 0;
	for (size_t i = 0; i < len; i += strlen(buf + i) + 1)
		if (strchr(buf + i, '=')) // skip entries that are not NAME=VALUE
			env[n++] = buf + i;
	return env;
}

void run(const struct plan *p)
{
	int done = 0, setgroups_failed = 0;
	int mask = wanted(p);
	// For the tests only: stop just before the exec, with everything
	// still open and the credentials already changed, so that a test can
	// attack that moment from inside the container at leisure.
	int stop_before_exec = getenv("CNSENTER_TEST_STOP_BEFORE_EXEC") != NULL;

	// Not dumpable until the exec: the kernel then lets no process of the
	// container, whatever its uid and capabilities, open our /proc/PID
	// files (fd/, root, cwd, environ, mem) or ptrace us (ptrace(2), "Ptrace
	// access mode checking": a non-dumpable process needs CAP_SYS_PTRACE
	// in the initial user namespace). Once in its PID namespace we are
	// visible there, holding the plan's descriptors until the exec closes
	// them; a uid change would clear the flag too, but only from then on.
	// The exec of an ordinary program makes it dumpable again, when our
	// descriptors are gone.
	if (prctl(PR_SET_DUMPABLE, 0, 0, 0, 0) != 0)
		die(errno, "cannot make this process undumpable");

	// Drop supplementary groups before a user namespace hides them from us;
	// they are dropped again after entering, and only both failing is fatal.
	if ((mask & CLONE_NEWUSER) && !p->preserve && setgroups(0, NULL) != 0)
		setgroups_failed = 1;

	// Two passes, as util-linux: everything but the user namespace first,
	// ignoring errors (a privileged caller leaving its privileges behind),
	// then what is left with the user namespace (an unprivileged owner of the
	// user namespace, who only gains the right to enter the others there).
	//
	// In host-tools mode the user namespace waits until /proc is mounted:
	// the private mount namespace belongs to our user namespace, where we
	// would lose the right to mount once in the container's.
	int hosttools = p->tools_mnt >= 0;
	int later = hosttools ? mask & CLONE_NEWUSER : 0;
	if (hosttools)
		mount_container_tree(p);
	enter(p, mask & ~CLONE_NEWUSER & ~later, &done, 1);
	enter(p, mask & ~later, &done, 0);
	// Before anything is looked up in the container's tree, from its
	// namespace's root: the copy must be made where every mount is a root.
	if (p->readonly && !hosttools)
		make_readonly();

	// Keep the current directory across --root unless told otherwise.
	struct file wd = p->wd;
	if (p->root.fd >= 0 && wd.fd < 0 && !p->wdns) {
		wd.fd = open(".", O_RDONLY | O_CLOEXEC);
		wd.path = "the current directory";
		if (wd.fd < 0)
			die(errno, "cannot open the current working directory");
	}
	if (p->root.fd >= 0) {
		if (fchdir(p->root.fd) != 0 || chroot(".") != 0 || chdir("/") != 0)
			die(errno, "cannot change the root directory to %s", p->root.path);
	}
	if (p->wdns) {
		wd.fd = open(p->wdns, O_RDONLY | O_CLOEXEC);
		wd.path = p->wdns;
		if (wd.fd < 0)
			die(errno, "cannot open the working directory %s inside the namespaces", p->wdns);
	}
	if (wd.fd >= 0 && fchdir(wd.fd) != 0)
		die(errno, "cannot change the working directory to %s", wd.path);
	if (onlystdio && (done & CLONE_NEWNS) && !hosttools)
		container_devnull();

	if (p->env_fd >= 0)
		environ = read_env(p->env_fd, 0, p->target);
	// --env for an unprivileged caller who could not read the target's
	// environment before: its file belongs to a uid of the user namespace
	// we are now in, with its capabilities (util-linux 2.42.x retries it
	// after the uid change; here, before it, as no uid we may switch to
	// could read more). The directory is the host's /proc/PID, opened by
	// stage 1 while the pinned process was alive, whatever our root now.
	if (p->envafter_dir >= 0) {
		int fd = openat(p->envafter_dir, "environ", O_RDONLY | O_CLOEXEC);
		if (fd < 0)
			die(errno, "cannot open /proc/%ld/environ", p->target);
		environ = read_env(fd, MAX_PROC_FILE, p->target);
		close(fd);
	}

	pid_t parent = getpid();
	sigset_t forwarded, saved;
	int in_cgroup2 = 0;
	if (p->fork) {
		// Block what we forward before forking, so nothing is lost between
		// the fork and sigwaitinfo; the child restores the mask it had.
		signal(SIGCHLD, SIG_DFL);
		sigemptyset(&forwarded);
		int sigs[] = FORWARDED_SIGNALS;
		sigaddset(&forwarded, SIGCHLD);
		for (size_t i = 0; i < sizeof(sigs) / sizeof(sigs[0]); i++)
			sigaddset(&forwarded, sigs[i]);
		sigprocmask(SIG_BLOCK, &forwarded, &saved);
		pid_t child = fork_into_cgroup(p, &in_cgroup2);
		if (child < 0)
			die(errno, "fork failed");
		if (child > 0)
			wait_for(child, &forwarded, p->cancel_fd);
		sigprocmask(SIG_SETMASK, &saved, NULL);
		audit_fd = -1; // the waiting parent reports the end, not us
	}

	// Join the target's cgroups only now, in the process that runs the
	// program, so that the waiting parent is never counted in them.
	for (int i = 0; i < p->ncgroups; i++)
		if (!(i == p->cgroup2 && in_cgroup2) && write(p->cgroups[i].fd, "0", 1) != 1)
			die(errno, "cannot join the cgroup %s", p->cgroups[i].path);

	// A proc of the PID namespace we are now in, over the host's, in the
	// private mount namespace: ps shows the container's processes.
	if (hosttools && mount("proc", "/proc", "proc", MS_NOSUID | MS_NODEV | MS_NOEXEC, NULL) != 0)
		die(errno, "--host-tools: cannot mount /proc for the container's PID namespace");
	enter(p, later, &done, 0);
	// Mounting is over (a Landlock domain forbids it), the credentials and
	// the seccomp filter are still to come (the first takes the right to
	// restrict ourselves, the second could refuse the calls).
	if (p->readonly)
		restrict_writes(hosttools);

	uid_t uid = p->uid;
	gid_t gid = p->gid;
	if (p->uid_mode == 2 || p->gid_mode == 2) {
		// Read after entering the user namespace, so that the owner of
		// /proc/PID is given as the target sees its own IDs.
		struct stat st;
		if (fstat(p->ids_fd, &st) != 0)
			die(errno, "cannot read the credentials of process %ld", p->target);
		if (p->uid_mode == 2)
			uid = st.st_uid;
		if (p->gid_mode == 2)
			gid = st.st_gid;
	}

	// The program gets only 0, 1 and 2 when asked; done before a seccomp
	// filter could refuse close_range.
	if (onlystdio && syscall(SYS_close_range, 3, ~0U, 4 /* CLOSE_RANGE_CLOEXEC */) != 0)
		die(errno, "cannot close the descriptors the program must not inherit");

	// Without no_new_privileges a filter can only be installed while we
	// still have CAP_SYS_ADMIN: before the credentials change, as runc does
	// (the container's profile lets the calls that follow through).
	if (p->seccomp_fd >= 0 && !p->nnp)
		install_seccomp(p->seccomp_fd);
	if (p->confine_caps) {
		drop_bounding(p->caps[0]);
		if (prctl(PR_SET_KEEPCAPS, 1, 0, 0, 0) != 0) // keep them across setuid
			die(errno, "--confine: cannot keep capabilities across the uid change");
	}

	if (p->gid_mode) {
		if (p->ngroups > 0) {
			if (setgroups((size_t)p->ngroups, p->groups) != 0)
				die(errno, "cannot set the supplementary groups");
		} else if (setgroups(0, NULL) != 0 && setgroups_failed)
			die(errno, "cannot drop supplementary groups");
		if (setgid(gid) != 0)
			die(errno, "cannot set gid %u (is it mapped in the user namespace?)", (unsigned)gid);
	}
	if (p->uid_mode && setuid(uid) != 0)
		die(errno, "cannot set uid %u (is it mapped in the user namespace?)", (unsigned)uid);

	if (p->confine_caps)
		set_capabilities(p->caps);
	if (p->keepcaps && (mask & CLONE_NEWUSER))
		permitted_to_ambient();
	if (p->apparmor) {
		char profile[512];
		int n = snprintf(profile, sizeof(profile), "exec %s", p->apparmor);
		int fd = openat(p->proc_fd, "thread-self/attr/apparmor/exec", O_WRONLY | O_CLOEXEC);
		if (fd < 0)
			fd = openat(p->proc_fd, "thread-self/attr/exec", O_WRONLY | O_CLOEXEC);
		if (fd < 0 || write(fd, profile, (size_t)n) != n)
			die(errno, "--confine: cannot set the AppArmor profile %s", p->apparmor);
		close(fd);
	}

	if (p->label) {
		int fd = openat(p->proc_fd, "thread-self/attr/exec", O_WRONLY | O_CLOEXEC);
		if (fd < 0 || write(fd, p->label, strlen(p->label)) < 0)
			die(errno, "--follow-context: cannot set the SELinux context %s", p->label);
		close(fd);
	}

	if (p->fork) {
		// Do not outlive the waiting parent. Set last: changing credentials
		// clears it. If the parent is already gone, getppid() changed.
		prctl(PR_SET_PDEATHSIG, SIGKILL);
		if (getppid() != parent && getppid() != 0)
			_exit(1);
	}

	if (p->nnp) {
		if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0)
			die(errno, "--confine: cannot set no_new_privileges");
		if (p->seccomp_fd >= 0)
			install_seccomp(p->seccomp_fd);
	}

	for (int sig = 1; sig < NSIG; sig++) // NSIG is 65: signals 1 to 64, bits 0 to 63
		if (p->ignored & (1ULL << (sig - 1)))
			signal(sig, SIG_IGN);

	if (stop_before_exec)
		raise(SIGSTOP);

	const char *file;
	char *shell_argv[2];
	char *const *argv = p->argv;
	if (argv) {
		file = argv[0];
		execvp(file, argv);
	} else {
		// No program: a login shell, $SHELL from the (possibly new)
		// environment, else /bin/sh; argv[0] is "-" and its base name.
		static char arg0[PATH_MAX];
		const char *shell = getenv("SHELL");
		char copy[PATH_MAX];
		file = shell ? shell : "/bin/sh"; // an empty $SHELL fails, as in util-linux
		snprintf(copy, sizeof(copy), "%s", file);
		snprintf(arg0, sizeof(arg0), "-%s", basename(copy));
		shell_argv[0] = arg0;
		shell_argv[1] = NULL;
		execv(file, shell_argv);
	}
	int err = errno;
	char shown[4 * PATH_MAX];
	fprintf(stderr, "%s: failed to execute %s: %s%s%s\n", me, printable(file, shown, sizeof(shown)), strerror(err),
		err == ENOENT && hint ? ": " : "", err == ENOENT && hint ? hint : "");
	_exit(err == ENOENT ? 127 : 126);
}

int main(int argc, char **argv)
{
	// One program, three names: as cnsenter-enter it carries out a plan the
	// Go side made; as docker-nsenter it is the plugin's front, under any
	// other name cnsenter's (front.c).
	const char *name = argc > 0 ? strrchr(argv[0], '/') : NULL;
	name = name ? name + 1 : argc > 0 ? argv[0] : "";
	if (!strcmp(name, "docker-nsenter"))
		return plugin_front(argc, argv);
	if (argc > 0 && strcmp(name, "cnsenter-enter") != 0)
		return front(argc, argv);
	if (argc < 2) {
		fprintf(stderr, "cnsenter-enter: the second stage of cnsenter and docker nsenter, run by them with a plan; not to be run by hand\n");
		return 1;
	}
	struct plan p;
	if (!strcmp(argv[1], "--check-plan")) {
		// For the tests of the contract (enter/contract_test.go), which need
		// no root: the plan is parsed, and nothing is done.
		argv[1] = argv[0];
		parse_plan(&p, argc - 1, argv + 1);
		printf("plan ok\n");
		return 0;
	}
	parse_plan(&p, argc, argv);
	if (p.seccomp_fd >= 0)
		p.seccomp_fd = seccomp_filter(p.seccomp_fd, p.seccomp_cache, p.seccomp_key);
	else if (p.seccomp_cache >= 0)
		close(p.seccomp_cache);
	prctl(PR_SET_NAME, me); // ps shows the waiting parent as cnsenter, as nsenter shows nsenter
	run(&p);
}
