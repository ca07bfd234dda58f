// The container's seccomp profile, compiled to BPF with libseccomp.
//
// Stage 1 (enter/confine_linux.go) has already turned the OCI profile into
// libseccomp's terms, one line each:
//   default ACTION
//   arch NAME                         e.g. x86_64, x86, x32
//   rule ACTION SYSCALL [ARG:OP:A:B]...
// with ACTION libseccomp's number, OP a value of enum scmp_compare and every
// number in decimal. Alternatives on one argument are already separate rules
// and rules that repeat the default are already left out. Architectures and
// system calls libseccomp does not know are skipped, as runc skips them.
//
// It runs first thing, before anything is entered: a profile libseccomp
// refuses stops the entry with no side effect.
#define _GNU_SOURCE
#include <errno.h>
#include <seccomp.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "stage2.h"

#define MAX_ARGS 6 // a system call has at most six arguments

static char *read_all(int fd)
{
	size_t len = 0, size = 4096;
	char *buf = malloc(size);
	ssize_t r = 0;
	while (buf && (r = read(fd, buf + len, size - len - 1)) > 0) {
		len += (size_t)r;
		if (size - len - 1 == 0)
			buf = realloc(buf, size *= 2);
	}
	if (!buf)
		die(ENOMEM, "--confine: cannot read the seccomp profile");
	if (r < 0)
		die(errno, "--confine: cannot read the seccomp profile");
	buf[len] = '\0';
	return buf;
}

static uint64_t unsigned_number(const char *s, char **end, const char *line)
{
	if (!s)
		die(0, "internal error: a number missing in seccomp line \"%s\"", line);
	errno = 0;
	unsigned long long v = strtoull(s, end, 10);
	if (errno || *end == s)
		die(0, "internal error: bad number in seccomp line \"%s\"", line);
	return v;
}

// add_rule adds one "rule ..." line; text is what follows "rule ".
static void add_rule(scmp_filter_ctx ctx, char *text)
{
	char *save, *end;
	const char *line = text;
	uint32_t action = (uint32_t)unsigned_number(strtok_r(text, " ", &save), &end, line);
	const char *name = strtok_r(NULL, " ", &save);
	if (!name)
		die(0, "internal error: seccomp rule without a system call");
	struct scmp_arg_cmp cmp[MAX_ARGS];
	unsigned int n = 0;
	for (char *arg; (arg = strtok_r(NULL, " ", &save));) {
		if (n == MAX_ARGS)
			die(0, "internal error: seccomp rule for %s with too many conditions", name);
		uint64_t v[4];
		end = arg - 1;
		for (int i = 0; i < 4; i++) {
			v[i] = unsigned_number(end + 1, &end, name);
			if (*end != (i < 3 ? ':' : '\0'))
				die(0, "internal error: bad condition %s in the seccomp rule for %s", arg, name);
		}
		cmp[n++] = (struct scmp_arg_cmp){.arg = (unsigned int)v[0], .op = (enum scmp_compare)v[1], .datum_a = v[2], .datum_b = v[3]};
	}
	int nr = seccomp_syscall_resolve_name(name);
	if (nr == __NR_SCMP_ERROR)
		return; // not a system call of these architectures
	int rc = seccomp_rule_add_array(ctx, action, nr, n, cmp);
	if (rc != 0)
		die(-rc, "--confine: the container's seccomp profile: %s", name);
}

int compile_seccomp(int fd)
{
	char *text = read_all(fd), *save, *end;
	close(fd);
	scmp_filter_ctx ctx = NULL;
	for (char *line = strtok_r(text, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
		if (!strncmp(line, "default ", 8) && !ctx) {
			ctx = seccomp_init((uint32_t)unsigned_number(line + 8, &end, line));
			if (!ctx)
				die(0, "--confine: libseccomp refused the default action of the container's seccomp profile");
		} else if (!ctx)
			die(0, "internal error: the seccomp profile does not start with its default action");
		else if (!strncmp(line, "arch ", 5)) {
			uint32_t arch = seccomp_arch_resolve_name(line + 5);
			if (arch == 0)
				continue; // an architecture this libseccomp does not know
			int rc = seccomp_arch_add(ctx, arch);
			if (rc != 0 && rc != -EEXIST)
				die(-rc, "--confine: the container's seccomp profile: architecture %s", line + 5);
		} else if (!strncmp(line, "rule ", 5))
			add_rule(ctx, line + 5);
		else
			die(0, "internal error: bad seccomp line \"%s\"", line);
	}
	if (!ctx)
		die(0, "internal error: empty seccomp profile");
	int out = memfd_create("cnsenter-seccomp", MFD_CLOEXEC);
	if (out < 0)
		die(errno, "--confine: cannot hold the seccomp filter");
	int rc = seccomp_export_bpf(ctx, out);
	if (rc != 0)
		die(-rc, "--confine: cannot compile the container's seccomp profile");
	if (lseek(out, 0, SEEK_SET) != 0)
		die(errno, "--confine: cannot read the seccomp filter back");
	seccomp_release(ctx);
	free(text);
	return out;
}
