// What the files of cnsenter-enter share.
#ifndef CNSENTER_STAGE2_H
#define CNSENTER_STAGE2_H

#include <sched.h>
#include <sys/types.h>

#include "contract.h"

#ifndef CLONE_NEWTIME
#define CLONE_NEWTIME 0x00000080
#endif

#define MAX_FILES 16
#define MAX_GROUPS 64

// kinds are the namespace kinds, in the order they are entered.
extern const struct kind {
	const char *name; // as in /proc/PID/ns
	int flag;
	char letter;        // nsenter's option: -m
	const char *option; // and its long name: --mount
} kinds[NKINDS];

struct file {
	int fd;
	int flag; // namespace kind, for ns= entries
	const char *path;
};

// plan is an entry, prepared: what stage2.c's header comment lists as plan
// entries, parsed.
struct plan {
	long target;
	const char *container;
	int pidfd, pidfd_mask;
	struct file ns[MAX_FILES];
	int nns;
	struct file root, wd, cgroups[MAX_FILES];
	int ncgroups;
	int cgroup2;     // index in cgroups of the v2 one, -1 if none
	int cgroup2_dir; // its directory, for clone3, -1 if none
	const char *wdns;
	int env_fd, ids_fd, proc_fd;
	int envafter_dir; // envafter=: the target's /proc/PID, -1 if none
	int uid_mode, gid_mode; // 0: leave, 1: set to uid/gid, 2: follow the target
	uid_t uid;
	gid_t gid;
	gid_t groups[MAX_GROUPS];
	int ngroups;
	int preserve, keepcaps, fork;
	int cancel_fd; // cancel=, -1 if none
	unsigned long long ignored; // sigign=: bit N-1 for signal N
	const char *label;
	int tools_mnt, tools_root; // hosttools=: -1 when not in host-tools mode
	const char *tools_path;
	int readonly;
	int nosymfollow; // nosymfollow: links in the host-tools view are not followed
	int confine_caps; // caps= given
	unsigned long long caps[5]; // bounding, effective, permitted, inheritable, ambient
	int nnp, seccomp_fd;
	int seccomp_cache; // seccompcache=: the cache directory, -1 if none
	const char *seccomp_key;
	const char *apparmor;
	char **argv; // NULL: run the shell
};

// plan_init makes an empty plan: nothing to enter, no descriptors.
void plan_init(struct plan *p);

// parse_plan reads the plan from stage 2's arguments (plan.c).
void parse_plan(struct plan *p, int argc, char **argv);

// What parse sets for run and die, outside the plan (stage2.c): our name,
// the hint for a program not found, whether the program gets only 0, 1 and
// 2, whether a death by signal N is exit 128+N, and the audit log.
extern const char *me, *hint, *audit_prefix;
extern int onlystdio, signalstatus, audit_fd;

// run carries a plan out: enters, forks when asked, execs the program.
void __attribute__((noreturn)) run(const struct plan *p);

// front is main() when we are run as cnsenter, plugin_front when we are run
// as docker-nsenter (front.c).
int front(int argc, char **argv);
int plugin_front(int argc, char **argv);

// die reports an error as "cnsenter: MESSAGE[: strerror(err)]", records it
// in the audit log when there is one, and exits with status 1.
void __attribute__((noreturn, format(printf, 2, 3))) die(int err, const char *fmt, ...);

// printable writes s into out (size bytes) with control bytes, and every
// byte of 128 or more, escaped as \xHH, for the caller's terminal.
const char *printable(const char *s, char *out, size_t size);

// audit_end appends the session's end record to the audit log, if any:
// how the program ended (status), or the error that stopped the entry.
void audit_end(int status, const char *error);

// The views of the container's files (mounts.c): host tools' private
// copy of the container's tree at hosttools='s path; a private read-only
// copy of the mount namespace we are in; the container's /dev/null in
// place of ours on 0, 1 and 2.
void mount_container_tree(const struct plan *p);
void make_readonly(void);
void container_devnull(void);

// Credentials and confinement (creds.c): the permitted capabilities into
// the ambient set (--keep-caps); the container's seccomp filter, bounding
// set and other capability sets (confined).
void permitted_to_ambient(void);
void install_seccomp(int fd);
void drop_bounding(unsigned long long keep);
void set_capabilities(const unsigned long long *caps);

// The waiting parent (wait.c): fork_into_cgroup forks, the child in the
// target's v2 cgroup when it can (*joined then says so); wait_for waits
// for it, passing set's signals on and watching cancel; exit_like ends as
// a status says.
#include <signal.h>
pid_t fork_into_cgroup(const struct plan *p, int *joined);
void __attribute__((noreturn)) wait_for(pid_t child, const sigset_t *set, int cancel);
void __attribute__((noreturn)) exit_like(int status);

// restrict_writes lets this process and its children write no file but a
// few devices (host_root 0) or those beneath our root (host_root 1), with
// Landlock, so that no magic link of /proc takes a --read-only session to
// the container's writable files (landlock.c).
void restrict_writes(int host_root);

// seccomp_filter reads the profile description at profile (see seccomp.c)
// and returns a memfd holding its BPF program, at offset 0: compiled, or
// from the cache directory cache_dir (-1: none) where it is kept under key,
// the profile's SHA-256 in hex. It closes profile and cache_dir.
int seccomp_filter(int profile, int cache_dir, const char *key);

#endif
