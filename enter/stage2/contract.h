// Generated from enter/contract.go by `go generate ./enter`: do not edit.
// What stage 2 and the Go side agree on; see contract.go for why.
#ifndef CNSENTER_CONTRACT_H
#define CNSENTER_CONTRACT_H

// The plan's entries: key=VALUE, or the key alone for a flag.
enum plan_key {
	PLAN_NAME, // name=NAME: our name in messages ("cnsenter")
	PLAN_HINT, // hint=TEXT: said after "not found" when the program does not exist
	PLAN_CLOEXEC, // cloexec=FD,FD,...: every descriptor of the plan, closed on exec
	PLAN_ONLYSTDIO, // onlystdio: close every descriptor but 0, 1 and 2 on exec
	PLAN_AUDIT, // audit=FD:PREFIX: append the session's end record to FD: PREFIX, the record's start, then the time and how it ended
	PLAN_CAPS, // caps=B:E:P:I:A: confined: bounding, effective, permitted, inheritable and ambient capabilities (hex masks)
	PLAN_NNP, // nnp: confined: no_new_privileges
	PLAN_APPARMOR, // apparmor=PROFILE: confined: the AppArmor profile to exec into
	PLAN_SECCOMP, // seccomp=FD: confined: the container's seccomp profile, as seccomp.c reads it; compiled before anything else
	PLAN_SECCOMPCACHE, // seccompcache=FD:KEY: with seccomp=: the directory FD (root's, mode 0700, checked by stage 1) caches compiled filters; KEY is the SHA-256 of the profile text, 64 hex digits
	PLAN_TARGET, // target=PID: the target PID, for messages only
	PLAN_CONTAINER, // container=REF: the container it is the init of, for messages only
	PLAN_PIDFD, // pidfd=FD:MASK: enter the target's namespaces in MASK (CLONE_NEW* bits) through its pidfd
	PLAN_NS, // ns=FD:KIND:PATH: enter the namespace file FD of KIND (PATH is for messages)
	PLAN_ROOT, // root=FD:PATH: change root to the directory FD (PATH is for messages)
	PLAN_WD, // wd=FD:PATH: change the working directory to FD
	PLAN_WDNS, // wdns=PATH: the working directory, looked up after entering
	PLAN_ENV, // env=FD: replace the environment with FD's NUL-separated list
	PLAN_ENVAFTER, // envafter=FD: the target's environment, read from its /proc/PID directory FD once the user namespace is entered (an unprivileged --env that could not read it before), within MAX_PROC_FILE
	PLAN_IDS, // ids=FD: fstat(FD) after entering gives the uid and gid for "follow"
	PLAN_UID, // uid=N|follow: switch to this uid
	PLAN_GID, // gid=N|follow: switch to this gid
	PLAN_GROUPS, // groups=G,G,...: supplementary groups set with gid= (default: none)
	PLAN_PRESERVE, // preserve: --preserve-credentials: leave the groups alone
	PLAN_KEEPCAPS, // keepcaps: raise the permitted capabilities into the ambient set
	PLAN_CGROUP, // cgroup=FD:PATH: a cgroup file (v1 tasks, v2 cgroup.procs) to join by writing "0", after the fork
	PLAN_CGROUP2, // cgroup2=FD:DIR:PATH: the v2 one, with its directory DIR: the fork creates the child in it (clone3 CLONE_INTO_CGROUP), else FD
	PLAN_FORK, // fork: fork after entering; this process waits
	PLAN_SIGNALSTATUS, // signalstatus: when the program dies of signal N, exit 128+N (as docker exec) instead of dying of it too
	PLAN_CANCEL, // cancel=FD: a socket that reads end-of-file when the caller cancels the session: the program then gets SIGTERM
	PLAN_SIGIGN, // sigign=MASK: signals the program starts with ignored (hex, bit N-1 for signal N), as the caller had them
	PLAN_LABEL, // label=CTX: SELinux exec context, written through proc=
	PLAN_PROC, // proc=FD: the host's /proc, for label= and apparmor=
	PLAN_HOSTTOOLS, // hosttools=MNT:ROOT:PATH: host tools: a private copy of our mount namespace with a private copy of the tree of mount namespace MNT (from directory ROOT, -1 for its root) at PATH, and a fresh /proc
	PLAN_READONLY, // readonly: every mount the program sees of the container is read-only (in a private copy), and it may write no file but a few devices (Landlock)
	PLAN_NOSYMFOLLOW, // nosymfollow: with hosttools=: no link on the container's mounts is followed (they would resolve in the host's tree)
	PLAN_UNKNOWN,
};

static const char *const plan_keys[PLAN_UNKNOWN] = {
	[PLAN_NAME] = "name",
	[PLAN_HINT] = "hint",
	[PLAN_CLOEXEC] = "cloexec",
	[PLAN_ONLYSTDIO] = "onlystdio",
	[PLAN_AUDIT] = "audit",
	[PLAN_CAPS] = "caps",
	[PLAN_NNP] = "nnp",
	[PLAN_APPARMOR] = "apparmor",
	[PLAN_SECCOMP] = "seccomp",
	[PLAN_SECCOMPCACHE] = "seccompcache",
	[PLAN_TARGET] = "target",
	[PLAN_CONTAINER] = "container",
	[PLAN_PIDFD] = "pidfd",
	[PLAN_NS] = "ns",
	[PLAN_ROOT] = "root",
	[PLAN_WD] = "wd",
	[PLAN_WDNS] = "wdns",
	[PLAN_ENV] = "env",
	[PLAN_ENVAFTER] = "envafter",
	[PLAN_IDS] = "ids",
	[PLAN_UID] = "uid",
	[PLAN_GID] = "gid",
	[PLAN_GROUPS] = "groups",
	[PLAN_PRESERVE] = "preserve",
	[PLAN_KEEPCAPS] = "keepcaps",
	[PLAN_CGROUP] = "cgroup",
	[PLAN_CGROUP2] = "cgroup2",
	[PLAN_FORK] = "fork",
	[PLAN_SIGNALSTATUS] = "signalstatus",
	[PLAN_CANCEL] = "cancel",
	[PLAN_SIGIGN] = "sigign",
	[PLAN_LABEL] = "label",
	[PLAN_PROC] = "proc",
	[PLAN_HOSTTOOLS] = "hosttools",
	[PLAN_READONLY] = "readonly",
	[PLAN_NOSYMFOLLOW] = "nosymfollow",
};

// The namespace kinds, in the order they are entered:
// {/proc name, CLONE_NEW* flag, nsenter's short option, its long option}.
#define NKINDS 8
#define KINDS { \
	{"user", 0x10000000, 'U', "user"}, \
	{"cgroup", 0x2000000, 'C', "cgroup"}, \
	{"ipc", 0x8000000, 'i', "ipc"}, \
	{"uts", 0x4000000, 'u', "uts"}, \
	{"net", 0x40000000, 'n', "net"}, \
	{"pid", 0x20000000, 'p', "pid"}, \
	{"mnt", 0x20000, 'm', "mount"}, \
	{"time", 0x80, 'T', "time"}, \
}

// The signals the waiting parent passes on to the program.
#define FORWARDED_SIGNALS {2, 15, 1, 3, 10, 12, 28}

// setns(2) takes a pidfd from Linux 5.8 on.
#define PIDFD_SETNS_MAJOR 5
#define PIDFD_SETNS_MINOR 8

// How much of a /proc/PID file is read, and the refusal of a larger environment.
#define MAX_PROC_FILE 1048576
#define ENV_TOO_LARGE "--env: the environment of process %d is larger than 1 MiB, which no real program's is: it is not read; leave --env out"

// Where the helpers are installed when the build says nothing else.
#define DEFAULT_LIBEXECDIR "/usr/local/libexec/cnsenter"

// The refusal of a set-user-ID install, after our name.
#define SETUID_REFUSAL "refusing to run with a real uid different from the effective uid (a set-user-ID install would hand every local user every container): run it as the user you mean"

#endif
