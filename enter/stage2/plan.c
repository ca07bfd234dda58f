// The plan: stage 2's arguments up to "--", as the Go side writes them.
// Their definition is enter/contract.go; contract.h, generated from it,
// gives the keys as an enum, so that the switch below (compiled with
// -Wall -Werror) names every one of them. Every parsing error is the Go
// side's fault, hence "internal error".
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>

#include "stage2.h"

// kind_flag is the CLONE_NEW* flag of a namespace kind's /proc name.
static int kind_flag(const char *name)
{
	for (size_t i = 0; i < NKINDS; i++)
		if (strcmp(kinds[i].name, name) == 0)
			return kinds[i].flag;
	die(0, "internal error: unknown namespace kind %s in the plan", name);
}

// number parses a decimal at s; *end gets what follows it.
static long number(const char *s, char **end)
{
	char *e;
	errno = 0;
	long v = strtol(s, &e, 10);
	if (errno || e == s || v < 0)
		die(0, "internal error: bad number in plan entry %s", s);
	if (end)
		*end = e;
	else if (*e)
		die(0, "internal error: bad plan entry %s", s);
	return v;
}

// fd_and_path parses "FD:REST", marks FD close-on-exec so that the program
// never inherits it, and returns REST. Not inlined: gcc 12 then takes what
// it returns for a pointer to a local of number's (-Wdangling-pointer).
static const char *__attribute__((noinline)) fd_and_path(const char *v, int *fd)
{
	char *e;
	*fd = (int)number(v, &e);
	if (*e != ':')
		die(0, "internal error: bad plan entry %s", v);
	fcntl(*fd, F_SETFD, FD_CLOEXEC);
	return e + 1;
}

static int plain_fd(const char *v)
{
	int fd = (int)number(v, NULL);
	fcntl(fd, F_SETFD, FD_CLOEXEC);
	return fd;
}

// list parses "N,N,..." into at most max numbers.
static int list(const char *v, unsigned long long *out, int max, int base, const char *what)
{
	int n = 0;
	for (const char *f = v; *f; n++) {
		char *e;
		if (n == max)
			die(0, "internal error: too many numbers in the %s entry", what);
		errno = 0;
		out[n] = strtoull(f, &e, base);
		if (errno || e == f || (*e && *e != ','))
			die(0, "internal error: bad %s entry", what);
		f = *e ? e + 1 : e;
	}
	return n;
}

static enum plan_key key_of(const char *k)
{
	for (int i = 0; i < PLAN_UNKNOWN; i++)
		if (!strcmp(plan_keys[i], k))
			return (enum plan_key)i;
	return PLAN_UNKNOWN;
}

void plan_init(struct plan *p)
{
	memset(p, 0, sizeof(*p));
	p->pidfd = p->root.fd = p->wd.fd = p->env_fd = p->ids_fd = p->proc_fd = -1;
	p->envafter_dir = -1;
	p->tools_mnt = p->tools_root = p->seccomp_fd = p->seccomp_cache = -1;
	p->cgroup2 = p->cgroup2_dir = p->cancel_fd = -1;
}

static struct file *one_more(struct file *files, int *n, const char *what)
{
	if (*n == MAX_FILES)
		die(0, "internal error: more than %d %s entries", MAX_FILES, what);
	return &files[(*n)++];
}

void parse_plan(struct plan *p, int argc, char **argv)
{
	unsigned long long numbers[MAX_GROUPS];
	int i;
	plan_init(p);
	for (i = 1; i < argc && strcmp(argv[i], "--") != 0; i++) {
		char *k = argv[i], *v = strchr(k, '=');
		if (v)
			*v++ = '\0';
		else
			v = "";
		switch (key_of(k)) {
		case PLAN_NAME:
			me = v;
			break;
		case PLAN_HINT:
			hint = v;
			break;
		case PLAN_CLOEXEC:
			for (int j = 0, n = list(v, numbers, MAX_GROUPS, 10, "cloexec"); j < n; j++)
				fcntl((int)numbers[j], F_SETFD, FD_CLOEXEC);
			break;
		case PLAN_ONLYSTDIO:
			onlystdio = 1;
			break;
		case PLAN_AUDIT:
			audit_prefix = fd_and_path(v, &audit_fd);
			break;
		case PLAN_CAPS: {
			char *s = v;
			for (int j = 0; j < 5; j++) {
				char *e;
				errno = 0;
				p->caps[j] = strtoull(s, &e, 16);
				if (errno || e == s || *e != (j < 4 ? ':' : '\0'))
					die(0, "internal error: bad caps entry");
				s = e + 1;
			}
			p->confine_caps = 1;
			break;
		}
		case PLAN_NNP:
			p->nnp = 1;
			break;
		case PLAN_APPARMOR:
			p->apparmor = v;
			break;
		case PLAN_SECCOMP:
			p->seccomp_fd = plain_fd(v);
			break;
		case PLAN_SECCOMPCACHE:
			// The key names a file: 64 hex digits and nothing else.
			p->seccomp_key = fd_and_path(v, &p->seccomp_cache);
			if (strlen(p->seccomp_key) != 64 || strspn(p->seccomp_key, "0123456789abcdef") != 64)
				die(0, "internal error: bad seccompcache entry");
			break;
		case PLAN_TARGET:
			p->target = number(v, NULL);
			break;
		case PLAN_CONTAINER:
			p->container = v;
			break;
		case PLAN_PIDFD:
			p->pidfd_mask = (int)number(fd_and_path(v, &p->pidfd), NULL);
			break;
		case PLAN_NS: {
			struct file *f = one_more(p->ns, &p->nns, "ns");
			char *kind = (char *)fd_and_path(v, &f->fd), *path = strchr(kind, ':');
			if (!path)
				die(0, "internal error: bad ns entry");
			*path++ = '\0';
			f->flag = kind_flag(kind);
			f->path = path;
			break;
		}
		case PLAN_ROOT:
			p->root.path = fd_and_path(v, &p->root.fd);
			break;
		case PLAN_WD:
			p->wd.path = fd_and_path(v, &p->wd.fd);
			break;
		case PLAN_WDNS:
			p->wdns = v;
			break;
		case PLAN_ENV:
			p->env_fd = plain_fd(v);
			break;
		case PLAN_ENVAFTER:
			p->envafter_dir = plain_fd(v);
			break;
		case PLAN_IDS:
			p->ids_fd = plain_fd(v);
			break;
		case PLAN_UID:
			p->uid_mode = strcmp(v, "follow") ? 1 : 2;
			if (p->uid_mode == 1)
				p->uid = (uid_t)number(v, NULL);
			break;
		case PLAN_GID:
			p->gid_mode = strcmp(v, "follow") ? 1 : 2;
			if (p->gid_mode == 1)
				p->gid = (gid_t)number(v, NULL);
			break;
		case PLAN_GROUPS:
			p->ngroups = list(v, numbers, MAX_GROUPS, 10, "groups");
			for (int j = 0; j < p->ngroups; j++)
				p->groups[j] = (gid_t)numbers[j];
			break;
		case PLAN_PRESERVE:
			p->preserve = 1;
			break;
		case PLAN_KEEPCAPS:
			p->keepcaps = 1;
			break;
		case PLAN_CGROUP: {
			struct file *f = one_more(p->cgroups, &p->ncgroups, "cgroup");
			f->path = fd_and_path(v, &f->fd);
			break;
		}
		case PLAN_CGROUP2: {
			struct file *f = one_more(p->cgroups, &p->ncgroups, "cgroup");
			p->cgroup2 = p->ncgroups - 1;
			f->path = fd_and_path(fd_and_path(v, &f->fd), &p->cgroup2_dir);
			break;
		}
		case PLAN_FORK:
			p->fork = 1;
			break;
		case PLAN_SIGNALSTATUS:
			signalstatus = 1;
			break;
		case PLAN_CANCEL:
			p->cancel_fd = plain_fd(v);
			break;
		case PLAN_SIGIGN: {
			char *e;
			errno = 0;
			p->ignored = strtoull(v, &e, 16);
			if (errno || e == v || *e)
				die(0, "internal error: bad sigign entry");
			break;
		}
		case PLAN_LABEL:
			p->label = v;
			break;
		case PLAN_PROC:
			p->proc_fd = plain_fd(v);
			break;
		case PLAN_HOSTTOOLS: {
			// MNT:ROOT:PATH, ROOT being -1 for the namespace's own root
			char *rest = (char *)fd_and_path(v, &p->tools_mnt);
			if (!strncmp(rest, "-1:", 3))
				p->tools_path = rest + 3;
			else
				p->tools_path = fd_and_path(rest, &p->tools_root);
			break;
		}
		case PLAN_READONLY:
			p->readonly = 1;
			break;
		case PLAN_NOSYMFOLLOW:
			p->nosymfollow = 1;
			break;
		case PLAN_UNKNOWN:
			die(0, "internal error: unknown plan entry %s", k);
		}
	}
	if (i == argc)
		die(0, "internal error: the plan has no \"--\"");
	p->argv = i + 1 < argc ? argv + i + 1 : NULL;
}
