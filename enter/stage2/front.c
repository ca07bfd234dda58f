// The front of cnsenter: the program users run as cnsenter, and the one
// the docker CLI runs as its docker-nsenter plugin.
//
// cnsenter is written in Go (cmd/cnsenter, installed as cnsenter-go), and a
// Go program takes about 1 ms to start, most of what a whole entry by
// util-linux nsenter takes. So the commonest entry, a PID target with
// namespace options only ("cnsenter -t PID -a prog"), is prepared here, as
// the Go side would prepare it (enter/prepare_linux.go: pin the target with
// a pidfd, choose the kinds, enter them through the pidfd), and run() carries
// it out in this very process. Every other command line, and anything that
// fails before a namespace is entered, is handed to cnsenter-go unchanged:
// it gives every answer and every error message, so this file has none of
// its own and the two cannot disagree about bad input.
//
// As docker-nsenter, it answers the docker CLI's metadata question itself
// (the CLI asks before every run: a Go program would start once more just
// to print a constant) and hands everything else to docker-nsenter-go.
// The answer is the Go plugin's own, built in (PLUGIN_METADATA, written by
// make build from docker-nsenter-go docker-cli-plugin-metadata).
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/utsname.h>
#include <unistd.h>

#include "stage2.h"

#ifndef LIBEXECDIR
#define LIBEXECDIR DEFAULT_LIBEXECDIR
#endif

// kind_of gives the CLONE_NEW* flag of a namespace option, short (-m) or
// long (--mount), 0 for any other option.
static int kind_of(char letter, const char *option)
{
	for (size_t i = 0; i < NKINDS; i++)
		if (option ? !strcmp(option, kinds[i].option) : letter == kinds[i].letter)
			return kinds[i].flag;
	return 0;
}

// pid_of reads --target's value as the Go side does: digits only, 1 or more.
static long pid_of(const char *s)
{
	if (!s || !*s || strspn(s, "0123456789") != strlen(s))
		return 0;
	errno = 0;
	long v = strtol(s, NULL, 10);
	return errno || v > INT_MAX ? 0 : v;
}

struct command_line {
	long target;
	int all, no_fork, kinds; // kinds: the CLONE_NEW* flags named one by one
	char **program;          // NULL: the shell
};

// parse reads the command lines the front takes: --target with a PID,
// --all, --no-fork and namespace options without a file, each spelled in
// full, then the program. It returns 0 for anything else (an abbreviated
// long option, "-mFILE", any other option), which cnsenter-go reads. As
// nsenter's getopt ("+" in its option string), the first operand ends the
// options.
static int parse(int argc, char **argv, struct command_line *c)
{
	memset(c, 0, sizeof(*c));
	int i;
	for (i = 1; i < argc; i++) {
		const char *a = argv[i];
		if (a[0] != '-' || a[1] == '\0')
			break; // the program ("-" is an operand too)
		if (!strcmp(a, "--")) {
			i++;
			break;
		}
		if (a[1] == '-') {
			const char *name = a + 2;
			if (!strcmp(name, "target")) {
				if (++i == argc || !(c->target = pid_of(argv[i])))
					return 0;
			} else if (!strncmp(name, "target=", 7)) {
				if (!(c->target = pid_of(name + 7)))
					return 0;
			} else if (!strcmp(name, "all"))
				c->all = 1;
			else if (!strcmp(name, "no-fork"))
				c->no_fork = 1;
			else {
				int flag = kind_of(0, name);
				if (!flag)
					return 0;
				c->kinds |= flag;
			}
			continue;
		}
		for (const char *o = a + 1; *o; o++) {
			if (*o == 'a')
				c->all = 1;
			else if (*o == 'F')
				c->no_fork = 1;
			else if (*o == 't') {
				// -tPID, or -t PID
				if (!(c->target = pid_of(o[1] ? o + 1 : ++i < argc ? argv[i] : NULL)))
					return 0;
				break;
			} else {
				// A namespace option takes what follows it in the same
				// word as its file ("-mp" is --mount=p): only last.
				int flag = kind_of(*o, NULL);
				if (!flag || o[1])
					return 0;
				c->kinds |= flag;
			}
		}
	}
	c->program = i < argc ? argv + i : NULL;
	return c->target > 0;
}

static int alive(int pidfd)
{
	return syscall(SYS_pidfd_send_signal, pidfd, 0, NULL, 0) == 0 || errno == EPERM;
}

static int same_file(const struct stat *a, const struct stat *b)
{
	return a->st_dev == b->st_dev && a->st_ino == b->st_ino;
}

// prepare turns the command line into a plan, as enter.Prepare does for
// the same request, or returns 0 when cnsenter-go must: the PID is not a
// process, setns(2) takes no pidfd here (before Linux 5.8), and the like.
static int prepare(const struct command_line *c, struct plan *p)
{
	struct utsname u;
	int major = 0, minor = 0;
	if (uname(&u) != 0 || sscanf(u.release, "%d.%d", &major, &minor) != 2 || major < PIDFD_SETNS_MAJOR || (major == PIDFD_SETNS_MAJOR && minor < PIDFD_SETNS_MINOR))
		return 0;

	// Pin the target, then check that /proc/PID is the pinned process:
	// a PID is not reused before its process has been reaped.
	int pidfd = (int)syscall(SYS_pidfd_open, (pid_t)c->target, 0); // close-on-exec
	if (pidfd < 0)
		return 0;
	char dir[32];
	snprintf(dir, sizeof(dir), "/proc/%ld", c->target);
	int dirfd = open(dir, O_PATH | O_DIRECTORY | O_CLOEXEC);
	if (dirfd < 0 || !alive(pidfd))
		goto fail;

	int mask = c->kinds;
	if (c->all) {
		// Every kind the kernel has, but our own user namespace: setns(2)
		// refuses to re-enter it, and it would give back dropped
		// capabilities.
		for (size_t i = 0; i < NKINDS; i++) {
			char mine[64];
			struct stat m, theirs;
			snprintf(mine, sizeof(mine), "/proc/self/ns/%s", kinds[i].name);
			if (stat(mine, &m) != 0) {
				if (errno == ENOENT)
					continue;
				goto fail;
			}
			if (kinds[i].flag == CLONE_NEWUSER) {
				if (fstatat(dirfd, "ns/user", &theirs, 0) != 0)
					goto fail;
				if (same_file(&m, &theirs))
					continue;
			}
			mask |= kinds[i].flag;
		}
	}
	// What was read through /proc/PID is the pinned process's only if that
	// process is still there now.
	if (!mask || !alive(pidfd))
		goto fail;
	close(dirfd);

	plan_init(p);
	p->target = c->target;
	p->pidfd = pidfd;
	p->pidfd_mask = mask;
	if (mask & CLONE_NEWUSER) {
		// root of the user namespace entered, as nsenter does
		p->uid_mode = p->gid_mode = 1;
		p->uid = 0;
		p->gid = 0;
	}
	p->fork = (mask & CLONE_NEWPID) && !c->no_fork;
	p->argv = c->program;
	return 1;
fail:
	if (dirfd >= 0)
		close(dirfd);
	close(pidfd);
	return 0;
}

// go_side execs NAME-go with our command line: beside us, else where make
// install puts it.
static int go_side(const char *name, char **argv)
{
	char self[PATH_MAX], go[64], path[PATH_MAX + sizeof(go)];
	snprintf(go, sizeof(go), "%s-go", name);
	ssize_t n = readlink("/proc/self/exe", self, sizeof(self) - 1);
	if (n > 0) {
		self[n] = '\0';
		char *slash = strrchr(self, '/');
		if (slash) {
			*slash = '\0';
			snprintf(path, sizeof(path), "%s/%s", self, go);
			execv(path, argv);
		}
	}
	snprintf(path, sizeof(path), "%s/%s", LIBEXECDIR, go);
	execv(path, argv);
	fprintf(stderr, "%s: cannot run %s, beside this program or in %s: %s: install cnsenter as a whole (make install)\n",
		name, go, LIBEXECDIR, strerror(errno));
	return 1;
}

// pass_ignored_signals tells cnsenter-go which signals we were started with
// ignored: the program starts with them ignored too, as nsenter passes its
// own on, but a Go program installs its handlers over them before main and
// cannot know (it keeps only SIGHUP's and SIGINT's). A hex mask, bit N-1
// for signal N, in CNSENTER_IGNORED_SIGNALS, which cnsenter-go removes.
static void pass_ignored_signals(void)
{
	unsigned long long mask = 0;
	for (int sig = 1; sig < NSIG; sig++) { // NSIG is 65: signals 1 to 64, bits 0 to 63
		struct sigaction sa;
		if (sigaction(sig, NULL, &sa) == 0 && sa.sa_handler == SIG_IGN)
			mask |= 1ULL << (sig - 1);
	}
	char value[32];
	snprintf(value, sizeof(value), "%llx", mask);
	setenv("CNSENTER_IGNORED_SIGNALS", value, 1);
}

int plugin_front(int argc, char **argv)
{
#ifdef PLUGIN_METADATA
	if (argc == 2 && !strcmp(argv[1], "docker-cli-plugin-metadata")) {
		fputs(PLUGIN_METADATA, stdout);
		return fflush(stdout) == 0 ? 0 : 1;
	}
#endif
	return go_side("docker-nsenter", argv);
}

int front(int argc, char **argv)
{
	struct command_line c;
	struct plan p;
	// As the Go commands (internal/setuid), before anything else.
	if (getuid() != geteuid()) {
		fprintf(stderr, "cnsenter: %s\n", SETUID_REFUSAL);
		return 1;
	}
	// Audit records and the tests' switches are the Go side's.
	const char *audit = getenv("CNSENTER_AUDIT_LOG");
	if (!(audit && *audit) && !getenv("CNSENTER_NO_PIDFD_SETNS") && !getenv("CNSENTER_NO_FAST_PATH") &&
	    parse(argc, argv, &c) && prepare(&c, &p))
		run(&p);
	pass_ignored_signals();
	return go_side("cnsenter", argv);
}
