// Command cnsenter runs a program in the namespaces of another process or
// of a container: util-linux nsenter, whose --target also takes container
// references.
package main

import (
	"errors"
	"fmt"
	"os"
	"os/signal"
	"runtime"
	"strconv"
	"strings"

	"github.com/cnsenter/cnsenter/enter"
	"github.com/cnsenter/cnsenter/internal/evidence"
	"github.com/cnsenter/cnsenter/internal/freeze"
	"github.com/cnsenter/cnsenter/internal/getopt"
	"github.com/cnsenter/cnsenter/internal/printable"
	"github.com/cnsenter/cnsenter/internal/relay"
	"github.com/cnsenter/cnsenter/internal/setuid"
	"github.com/cnsenter/cnsenter/runtime/ref"
	"golang.org/x/sys/unix"
)

// Set at build time (see the Makefile).
var (
	version = "dev"
	commit  = "unknown"
)

const name = "cnsenter"

// A watchdog that thaws a frozen container when we die is this program
// started again (internal/freeze).
func init() { freeze.Watchdog() }

func main() {
	code := run(os.Args[1:])
	thaw()
	os.Exit(code)
}

// frozen is the container --freeze froze, thawed on our way out.
var frozen *freeze.Freezer

// thaw thaws what --freeze froze (not what someone else had frozen).
func thaw() {
	if err := frozen.Thaw(); err != nil {
		fmt.Fprintf(os.Stderr, "%s: %s\n", name, printable.String(err.Error()))
	}
}

func run(args []string) int {
	if err := setuid.Check(); err != nil {
		return fail(err)
	}
	ignored := ignoredSignals()
	inv, err := parseArgs(args)
	var usage *getopt.Error
	if errors.As(err, &usage) {
		fmt.Fprintf(os.Stderr, "%s: %s\nTry '%s --help' for more information.\n", name, usage.Msg, name)
		return 1
	}
	if err != nil {
		return fail(err)
	}
	switch {
	case inv.help:
		fmt.Print(help())
		return 0
	case inv.version:
		fmt.Printf("%s %s (commit %s, %s), options of nsenter from util-linux 2.42\n", name, version, commit, runtime.Version())
		return 0
	case inv.list:
		return fail(listContainers(inv))
	}
	if inv.auditLog == "" {
		inv.auditLog = os.Getenv("CNSENTER_AUDIT_LOG")
	}
	if inv.auditLog != "" {
		target := inv.targetRef
		if inv.image != "" {
			target = inv.image
		}
		inv.req.Audit = &enter.Audit{Path: inv.auditLog, Target: target}
	}
	if inv.evidence != "" {
		// Before anything is looked up, or frozen.
		if err := evidence.Check(inv.evidence); err != nil {
			return fail(err)
		}
	}
	if inv.image != "" {
		if err := imageFiles(inv); err != nil {
			return fail(err)
		}
	} else if inv.targetRef != "" {
		pid, err := targetPID(inv)
		if err != nil {
			return fail(err)
		}
		inv.req.Target = pid
		// A container has no other sensible meaning than all of its
		// namespaces; a PID keeps util-linux's error.
		if r := &inv.req; r.Container != "" && len(r.Namespaces) == 0 && r.NetSocket == nil {
			r.All = true
		}
	}
	if inv.confine {
		if err := confine(inv); err != nil {
			return fail(err)
		}
	}
	if inv.freeze {
		if err := freezeContainer(inv); err != nil {
			return fail(err)
		}
	}
	if inv.evidence != "" {
		return fail(captureEvidence(inv))
	}
	inv.req.Name = name
	inv.req.IgnoredSignals = ignored
	if inv.req.HostTools && inv.req.Files == nil && relay.IsTerminal(0) { // Files: enter says what they are
		fmt.Fprintln(os.Stderr, printable.String(enter.HostToolsBanner(name, inv.targetRef, inv.req.ContainerRoot)))
	}
	if inv.req.Container != "" {
		// A container gets what docker exec would give it: descriptors 0,
		// 1 and 2 only. A PID target gets ours, as with nsenter.
		inv.req.OnlyStdio = true
		inv.req.GuardHint = "run it as root with every capability (no -S, -G, --confine), enter the mount namespace too (-m) with --env, or leave out -p"
		// And never our terminal or a file of ours: from a terminal, a
		// pseudo-terminal of its own (docker exec -it); else each of 0, 1
		// and 2 that is not a pipe, a socket or /dev/null is relayed
		// through a pipe, and it cannot open our controlling terminal.
		if relay.IsTerminal(0) {
			return relayed(inv.req, relay.Options{TTY: true, Stdin: true})
		}
		if inv.freeze {
			// We stay, as the entry's parent, to thaw the container when
			// the program ends.
			return relayed(inv.req, relay.Options{Stdin: true})
		}
		if !relay.Passable(0) || !relay.Passable(1) || !relay.Passable(2) || !relay.DropControllingTerminal() {
			return relayed(inv.req, relay.Options{Stdin: true})
		}
	}
	return fail(enter.Run(inv.req))
}

// relayed enters a container and stays, as the program's parent, to relay
// its standard streams (internal/relay): a pseudo-terminal of its own when
// we have a terminal, else pipes where ours may not be passed on, so that
// a process in the container can neither inject keystrokes into our
// terminal nor reopen a file of ours. A PID target keeps nsenter's
// behaviour (the program gets our descriptors). We end as the program
// did: its status, or its signal.
func relayed(req enter.Request, o relay.Options) int {
	p, err := enter.Prepare(req)
	if err != nil {
		return fail(err)
	}
	o.ContainerRoot = -1
	if o.TTY {
		if o.ContainerRoot, err = relay.ContainerRoot(req); err != nil {
			p.Close()
			return fail(err)
		}
		if o.ContainerRoot >= 0 {
			defer unix.Close(o.ContainerRoot)
		}
	}
	ws, err := relay.Run(p, o)
	if err != nil {
		return fail(err)
	}
	thaw()
	if ws.Signaled() {
		unix.Setrlimit(unix.RLIMIT_CORE, &unix.Rlimit{}) // the program dumped its own
		signal.Reset(ws.Signal())
		// To this thread, not the process: kill(2) lets another thread
		// take the signal, whose handler (the runtime's, dying of it)
		// then races our exit with status 1. Sent to the calling thread
		// it is handled before tgkill returns.
		runtime.LockOSThread()
		unix.Tgkill(os.Getpid(), unix.Gettid(), ws.Signal())
		return 1
	}
	return ws.ExitStatus()
}

// targetPID turns --target into a PID: a number is a PID, as in util-linux;
// anything else names a container.
func targetPID(inv *invocation) (int, error) {
	if pid, ino, ok := strings.Cut(inv.targetRef, ":"); ok && ref.IsNumber(pid) {
		return pidAndInode(inv, pid, ino)
	}
	if ref.IsNumber(inv.targetRef) {
		pid, err := strconv.Atoi(inv.targetRef)
		if err != nil || pid <= 0 {
			return 0, fmt.Errorf("--target: '%s' is not a valid PID", getopt.Printable(inv.targetRef))
		}
		return pid, nil
	}
	return resolveContainer(inv)
}

// pidAndInode reads --target PID:INODE (util-linux 2.42): the process
// with this PID only if its pidfs inode, as stat on its pidfd and getino
// show it, is INODE. No container name has a colon after digits.
func pidAndInode(inv *invocation, pidText, inoText string) (int, error) {
	pid, err := strconv.Atoi(pidText)
	ino, ierr := strconv.ParseUint(inoText, 10, 64)
	if err != nil || pid <= 0 || ierr != nil || ino == 0 || !ref.IsNumber(inoText) {
		return 0, fmt.Errorf("--target: '%s' is not PID or PID:INODE (INODE is the process's pidfs inode, as getino prints it)", getopt.Printable(inv.targetRef))
	}
	inv.req.TargetInode = ino
	return pid, nil
}

// ignoredSignals are the signals we were started with ignored, which the
// program must start with ignored too, as nsenter's does. The Go runtime
// installs its handlers over them before main, so the C front that runs
// first (enter/stage2/front.c) says which they were, in
// CNSENTER_IGNORED_SIGNALS; it is removed, so that the program never sees
// it. Run without the front, the program starts with none ignored.
func ignoredSignals() uint64 {
	v, ok := os.LookupEnv("CNSENTER_IGNORED_SIGNALS")
	if !ok {
		return 0
	}
	os.Unsetenv("CNSENTER_IGNORED_SIGNALS")
	mask, _ := strconv.ParseUint(v, 16, 64)
	return mask
}

// fail prints an error as our one line and gives the exit status.
func fail(err error) int {
	if err == nil {
		return 0
	}
	if errors.Is(err, errReported) {
		return 1
	}
	fmt.Fprintf(os.Stderr, "%s: %s\n", name, printable.String(err.Error()))
	return 1
}
