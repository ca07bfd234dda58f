package enter

import (
	"bytes"
	"os"
	"os/exec"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

// TestCommandWithEnvironAndGroups runs stage 2 as a child (the mode a
// terminal relay uses) with an explicit environment and supplementary
// groups, the way docker exec sets up a process.
func TestCommandWithEnvironAndGroups(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("needs root to enter namespaces and change credentials")
	}
	target := exec.Command("unshare", "--uts", "sh", "-c", "hostname command-test; exec sleep 1000")
	if err := target.Start(); err != nil {
		t.Fatal(err)
	}
	defer func() { target.Process.Kill(); target.Wait() }()
	pid := target.Process.Pid
	ours, _ := os.Readlink("/proc/self/ns/uts")
	for {
		if link, _ := os.Readlink("/proc/" + strconv.Itoa(pid) + "/ns/uts"); link != ours {
			break
		}
	}
	p, err := Prepare(Request{
		Target:     pid,
		Namespaces: map[Kind]string{UTS: ""},
		UID:        ID{Set: true, Value: 1000},
		GID:        ID{Set: true, Value: 1000},
		Groups:     []uint32{5, 6},
		Environ:    []string{"A=1", "B=two words", "PATH=/usr/bin:/bin"},
		Program:    []string{"sh", "-c", "id; cat /proc/self/environ"},
	})
	if err != nil {
		t.Fatal(err)
	}
	cmd, err := p.Command()
	if err != nil {
		t.Fatal(err)
	}
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	p.Close()
	if err := cmd.Wait(); err != nil {
		t.Fatalf("%v: %s", err, errb.String())
	}
	id, environ, _ := strings.Cut(out.String(), "\n")
	_, groups, _ := strings.Cut(id, "groups=")
	if !strings.HasPrefix(id, "uid=1000") || !strings.Contains(id, "gid=1000") || !strings.Contains(","+groups, ",5(") || !strings.Contains(","+groups, ",6(") {
		t.Errorf("credentials: %q", id)
	}
	got := strings.Split(strings.TrimSuffix(environ, "\x00"), "\x00")
	got = slices.DeleteFunc(got, func(kv string) bool { return strings.HasPrefix(kv, "PWD=") }) // sh's own
	slices.Sort(got)
	if want := []string{"A=1", "B=two words", "PATH=/usr/bin:/bin"}; !slices.Equal(got, want) {
		t.Errorf("environment: %q, want %q", got, want)
	}
	if _, err := Prepare(Request{Target: pid, Namespaces: map[Kind]string{UTS: ""}, Groups: []uint32{1}}); err == nil {
		t.Error("groups without a gid: want an error")
	}
	if _, err := Prepare(Request{Target: pid, Namespaces: map[Kind]string{UTS: ""}, Env: true, Environ: []string{}}); err == nil {
		t.Error("--env with an explicit environment: want an error")
	}
}

// TestStatusForSignalAndCancel: the docker exec way of ending. A program
// killed by signal N makes the entry exit 128+N (it forks even without a
// PID namespace, to be there to say so); the cancellation socket reading
// end-of-file sends the program SIGTERM.
func TestStatusForSignalAndCancel(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("needs root to enter namespaces")
	}
	target := exec.Command("sleep", "1000")
	if err := target.Start(); err != nil {
		t.Fatal(err)
	}
	defer func() { target.Process.Kill(); target.Wait() }()
	start := func(req Request) *exec.Cmd {
		t.Helper()
		req.Target = target.Process.Pid
		req.Namespaces = map[Kind]string{UTS: ""}
		req.StatusForSignal = true
		p, err := Prepare(req)
		if err != nil {
			t.Fatal(err)
		}
		cmd, err := p.Command()
		if err != nil {
			t.Fatal(err)
		}
		cmd.Stderr = os.Stderr
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		p.Close()
		return cmd
	}
	cmd := start(Request{Program: []string{"sh", "-c", "kill -USR1 $$"}})
	cmd.Wait()
	if cmd.ProcessState.ExitCode() != 128+10 {
		t.Errorf("a program killed by SIGUSR1: %v, want exit 138", cmd.ProcessState)
	}

	fds, err := unix.Socketpair(unix.AF_UNIX, unix.SOCK_STREAM|unix.SOCK_CLOEXEC, 0)
	if err != nil {
		t.Fatal(err)
	}
	ours, theirs := os.NewFile(uintptr(fds[0]), "ours"), os.NewFile(uintptr(fds[1]), "theirs")
	cmd = start(Request{Program: []string{"sleep", "30"}, Cancel: theirs})
	theirs.Close() // the plan holds its own copy
	done := make(chan struct{})
	go func() { cmd.Wait(); close(done) }()
	select {
	case <-done:
		t.Fatalf("the session ended before it was cancelled: %v", cmd.ProcessState)
	case <-time.After(300 * time.Millisecond):
	}
	ours.Close()
	select {
	case <-done:
	case <-time.After(10 * time.Second):
		cmd.Process.Kill()
		t.Fatal("the program still runs 10s after the cancellation")
	}
	if cmd.ProcessState.ExitCode() != 128+15 {
		t.Errorf("cancelled: %v, want exit 143 (SIGTERM)", cmd.ProcessState)
	}
}
