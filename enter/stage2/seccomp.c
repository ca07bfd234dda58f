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
//
// Compiling Docker's default profile costs libseccomp about 12 ms of CPU
// (some 330 system calls on three architectures), on every session, where
// reading the result back costs microseconds. So when stage 1 passes a cache
// directory (seccompcache=FD:KEY, only for a caller with euid 0, only a
// directory owned by root with mode 0700 in one likewise: see
// enter/confine_linux.go) the BPF program is kept there, in a file named by
// the SHA-256 of the exact profile text, the native architecture, the
// libseccomp version and kernel API level, and CACHE_FORMAT. Nothing of the
// container decides a path; only root can write there; a file is used only
// when it is a regular file of root's, mode 0600, holding a whole number of
// instructions, at most BPF_MAXINSNS; it is written under no name (O_TMPFILE)
// and linked in whole, so that a concurrent session never reads half of one
// and a failure leaves nothing behind. Any doubt means: compile, as before.
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <linux/filter.h>
#include <seccomp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
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

// CACHE_FORMAT is part of every cached file's name: raise it whenever this
// file changes what a given profile text compiles to.
#define CACHE_FORMAT 1

static int compile_seccomp(int fd)
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

// filter holds a filter on its way into or out of the cache.
static struct sock_filter filter[BPF_MAXINSNS];

// read_filter reads at most size bytes at fd's offset 0 into filter and
// returns how many, or 0 when that is no filter: nothing, a partial
// instruction, more than BPF_MAXINSNS, or a read error.
static size_t read_filter(int fd, size_t size)
{
	size_t len = 0;
	ssize_t r = 0;
	while (len < size && (r = pread(fd, (char *)filter + len, size - len, (off_t)len)) > 0)
		len += (size_t)r;
	if (r < 0 || len == 0 || len % sizeof(filter[0]) != 0 || len > sizeof(filter))
		return 0;
	return len;
}

// cache_load reads the filter cached as name into filter and returns its
// size, 0 when there is none to trust; *unfit tells that something else is
// there under that name, to be replaced.
static size_t cache_load(int dir, const char *name, int *unfit)
{
	// O_NOFOLLOW: never a link; O_NONBLOCK: a FIFO does not hang us.
	int fd = openat(dir, name, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC);
	*unfit = fd < 0 && errno != ENOENT;
	if (fd < 0)
		return 0;
	struct stat st;
	size_t len = 0;
	if (fstat(fd, &st) == 0 && S_ISREG(st.st_mode) && st.st_uid == 0 && (st.st_mode & 07777) == 0600 &&
	    st.st_size > 0 && (size_t)st.st_size <= sizeof(filter)) {
		len = read_filter(fd, (size_t)st.st_size);
		if (len != (size_t)st.st_size) // it is shorter than it says: not ours
			len = 0;
	}
	*unfit = len == 0;
	close(fd);
	return len;
}

// cache_store keeps the compiled filter at fd (a memfd, left at offset 0)
// as name, if it can; it fails silently.
static void cache_store(int dir, const char *name, int fd, int unfit)
{
	struct stat st;
	if (fstat(fd, &st) != 0 || st.st_size <= 0 || (size_t)st.st_size > sizeof(filter))
		return; // too long for the kernel: installing it will say so
	size_t len = read_filter(fd, (size_t)st.st_size);
	if (len != (size_t)st.st_size)
		return;
	// A file with no name yet: a concurrent session cannot see it half
	// written, and if anything fails it is gone with its descriptor.
	int tmp = openat(dir, ".", O_TMPFILE | O_WRONLY | O_CLOEXEC, 0600);
	if (tmp < 0)
		return;
	size_t done = 0;
	ssize_t w = 0;
	while (done < len && (w = write(tmp, (char *)filter + done, len - done)) > 0)
		done += (size_t)w;
	// fchmod: the umask may have taken bits of 0600, and the file would
	// then never be trusted.
	if (done == len && fchmod(tmp, 0600) == 0) {
		if (unfit)
			unlinkat(dir, name, 0);
		// Fails with EEXIST when a concurrent session linked the same
		// filter first; either is the same.
		linkat(tmp, "", dir, name, AT_EMPTY_PATH);
	}
	close(tmp);
}

int seccomp_filter(int profile, int cache_dir, const char *key)
{
	if (cache_dir < 0)
		return compile_seccomp(profile);
	const struct scmp_version *v = seccomp_version();
	char name[128];
	snprintf(name, sizeof(name), "%s-%08x-%u.%u.%u-%u-%d", key, seccomp_arch_native(), v->major, v->minor, v->micro,
		 seccomp_api_get(), CACHE_FORMAT);
	int unfit, out;
	size_t len = cache_load(cache_dir, name, &unfit);
	if (len > 0) {
		close(profile);
		out = memfd_create("cnsenter-seccomp", MFD_CLOEXEC);
		if (out < 0)
			die(errno, "--confine: cannot hold the seccomp filter");
		if (write(out, filter, len) != (ssize_t)len || lseek(out, 0, SEEK_SET) != 0)
			die(errno, "--confine: cannot hold the seccomp filter");
	} else {
		out = compile_seccomp(profile);
		cache_store(cache_dir, name, out, unfit);
	}
	// Not carried into the container's namespaces.
	close(cache_dir);
	return out;
}
