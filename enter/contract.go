//go:build linux

package enter

import (
	"fmt"
	"strings"
	"syscall"

	"github.com/cnsenter/cnsenter/internal/libexec"
	"github.com/cnsenter/cnsenter/internal/setuid"
)

//go:generate go run ./contractgen

// The contract between the two stages of an entry. Stage 1 (Go, Prepare)
// opens everything and writes a plan; stage 2 (C, enter/stage2, the
// program cnsenter-enter) carries it out before anything else runs. What
// both must agree on is defined here, once: the plan's entries, the
// namespace kinds (kind.go), the signals the waiting parent passes on, and
// the kernel that setns(2) takes a pidfd from, where the helpers are
// installed by default, the refusal of a set-user-ID install. `go generate ./enter` writes
// enter/stage2/contract.h from it; TestContractHeader fails when that file
// is not what this one says, and TestPlanThroughStage2 has stage 2 parse
// the plans Prepare makes, both without root. A C switch over the
// generated enum, compiled with -Werror, fails the build when stage 2 does
// not handle an entry.

// planEntry is one kind of entry of the plan, which stage 2 gets as its
// arguments before "--" (the program's argv follows): key=VALUE, or the
// key alone for a flag. FD is a descriptor number in stage 2.
type planEntry struct {
	key  string
	form string // VALUE's form; "" for a flag
	doc  string
}

var planEntries = []planEntry{
	{"name", "NAME", `our name in messages ("cnsenter")`},
	{"hint", "TEXT", `said after "not found" when the program does not exist`},
	{"cloexec", "FD,FD,...", "every descriptor of the plan, closed on exec"},
	{"onlystdio", "", "close every descriptor but 0, 1 and 2 on exec"},
	{"audit", "FD:PREFIX", "append the session's end record to FD: PREFIX, the record's start, then the time and how it ended"},
	{"caps", "B:E:P:I:A", "confined: bounding, effective, permitted, inheritable and ambient capabilities (hex masks)"},
	{"nnp", "", "confined: no_new_privileges"},
	{"apparmor", "PROFILE", "confined: the AppArmor profile to exec into"},
	{"seccomp", "FD", "confined: the container's seccomp profile, as seccomp.c reads it; compiled before anything else"},
	{"seccompcache", "FD:KEY", "with seccomp=: the directory FD (root's, mode 0700, checked by stage 1) caches compiled filters; KEY is the SHA-256 of the profile text, 64 hex digits"},
	{"target", "PID", "the target PID, for messages only"},
	{"container", "REF", "the container it is the init of, for messages only"},
	{"pidfd", "FD:MASK", "enter the target's namespaces in MASK (CLONE_NEW* bits) through its pidfd"},
	{"ns", "FD:KIND:PATH", "enter the namespace file FD of KIND (PATH is for messages)"},
	{"root", "FD:PATH", "change root to the directory FD (PATH is for messages)"},
	{"wd", "FD:PATH", "change the working directory to FD"},
	{"wdns", "PATH", "the working directory, looked up after entering"},
	{"env", "FD", "replace the environment with FD's NUL-separated list"},
	{"envafter", "FD", "the target's environment, read from its /proc/PID directory FD once the user namespace is entered (an unprivileged --env that could not read it before), within MAX_PROC_FILE"},
	{"ids", "FD", `fstat(FD) after entering gives the uid and gid for "follow"`},
	{"uid", "N|follow", "switch to this uid"},
	{"gid", "N|follow", "switch to this gid"},
	{"groups", "G,G,...", "supplementary groups set with gid= (default: none)"},
	{"preserve", "", "--preserve-credentials: leave the groups alone"},
	{"keepcaps", "", "raise the permitted capabilities into the ambient set"},
	{"cgroup", "FD:PATH", `a cgroup file (v1 tasks, v2 cgroup.procs) to join by writing "0", after the fork`},
	{"cgroup2", "FD:DIR:PATH", "the v2 one, with its directory DIR: the fork creates the child in it (clone3 CLONE_INTO_CGROUP), else FD"},
	{"fork", "", "fork after entering; this process waits"},
	{"signalstatus", "", "when the program dies of signal N, exit 128+N (as docker exec) instead of dying of it too"},
	{"cancel", "FD", "a socket that reads end-of-file when the caller cancels the session: the program then gets SIGTERM"},
	{"sigign", "MASK", "signals the program starts with ignored (hex, bit N-1 for signal N), as the caller had them"},
	{"label", "CTX", "SELinux exec context, written through proc="},
	{"proc", "FD", "the host's /proc, for label= and apparmor="},
	{"hosttools", "MNT:ROOT:PATH", "host tools: a private copy of our mount namespace with a private copy of the tree of mount namespace MNT (from directory ROOT, -1 for its root) at PATH, and a fresh /proc"},
	{"readonly", "", "every mount the program sees of the container is read-only (in a private copy), and it may write no file but a few devices (Landlock)"},
	{"nosymfollow", "", "with hosttools=: no link on the container's mounts is followed (they would resolve in the host's tree)"},
}

// ForwardedSignals are passed on to the program by whichever of our
// processes waits for it: stage 2's waiting parent, or the relay.
var ForwardedSignals = []syscall.Signal{syscall.SIGINT, syscall.SIGTERM, syscall.SIGHUP, syscall.SIGQUIT, syscall.SIGUSR1, syscall.SIGUSR2, syscall.SIGWINCH}

// setns(2) takes a pidfd from this kernel on (both stages check it).
const pidfdSetnsMajor, pidfdSetnsMinor = 5, 8

// maxProcFile is how much of a /proc/PID file is read, by either stage. A
// process can point its own environment at any mapping of its own (prctl
// PR_SET_MM_MAP needs no privilege), a gigabyte of it if it likes: a larger
// file is refused, never read into a process that runs as root on the host.
const maxProcFile = 1 << 20

// envTooLarge is the refusal of an environment over maxProcFile, with the
// target's PID (a printf format both stages use).
const envTooLarge = "--env: the environment of process %d is larger than 1 MiB, which no real program's is: it is not read; leave --env out"

// ContractHeader is enter/stage2/contract.h, as go generate writes it.
func ContractHeader() string {
	var b strings.Builder
	b.WriteString("// Generated from enter/contract.go by `go generate ./enter`: do not edit.\n")
	b.WriteString("// What stage 2 and the Go side agree on; see contract.go for why.\n")
	b.WriteString("#ifndef CNSENTER_CONTRACT_H\n#define CNSENTER_CONTRACT_H\n\n")
	b.WriteString("// The plan's entries: key=VALUE, or the key alone for a flag.\nenum plan_key {\n")
	for _, e := range planEntries {
		form := e.key
		if e.form != "" {
			form += "=" + e.form
		}
		fmt.Fprintf(&b, "\tPLAN_%s, // %s: %s\n", strings.ToUpper(e.key), form, e.doc)
	}
	b.WriteString("\tPLAN_UNKNOWN,\n};\n\nstatic const char *const plan_keys[PLAN_UNKNOWN] = {\n")
	for _, e := range planEntries {
		fmt.Fprintf(&b, "\t[PLAN_%s] = %q,\n", strings.ToUpper(e.key), e.key)
	}
	b.WriteString("};\n\n// The namespace kinds, in the order they are entered:\n")
	b.WriteString("// {/proc name, CLONE_NEW* flag, nsenter's short option, its long option}.\n")
	fmt.Fprintf(&b, "#define NKINDS %d\n#define KINDS { \\\n", len(kinds))
	for _, k := range kinds {
		fmt.Fprintf(&b, "\t{%q, %#x, '%c', %q}, \\\n", string(k.kind), k.flag, k.letter, k.option)
	}
	b.WriteString("}\n\n// The signals the waiting parent passes on to the program.\n#define FORWARDED_SIGNALS {")
	for i, s := range ForwardedSignals {
		if i > 0 {
			b.WriteString(", ")
		}
		fmt.Fprintf(&b, "%d", int(s))
	}
	fmt.Fprintf(&b, "}\n\n// setns(2) takes a pidfd from Linux %d.%d on.\n#define PIDFD_SETNS_MAJOR %d\n#define PIDFD_SETNS_MINOR %d\n",
		pidfdSetnsMajor, pidfdSetnsMinor, pidfdSetnsMajor, pidfdSetnsMinor)
	fmt.Fprintf(&b, "\n// How much of a /proc/PID file is read, and the refusal of a larger environment.\n#define MAX_PROC_FILE %d\n#define ENV_TOO_LARGE %q\n", maxProcFile, envTooLarge)
	fmt.Fprintf(&b, "\n// Where the helpers are installed when the build says nothing else.\n#define DEFAULT_LIBEXECDIR %q\n", libexec.DefaultDir)
	fmt.Fprintf(&b, "\n// The refusal of a set-user-ID install, after our name.\n#define SETUID_REFUSAL %q\n\n#endif\n", setuid.ErrInstall.Error())
	return b.String()
}
