package enter

import (
	"bytes"
	"os"
	"os/exec"
	"slices"
	"strconv"
	"strings"
	"testing"
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
