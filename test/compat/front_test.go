package compat

import (
	"fmt"
	"os"
	"path/filepath"
	"testing"
)

// TestFrontTakesWhatItShould: cnsenter is a C front (enter/stage2/front.c)
// that enters by itself for a PID target with namespace options only, and
// hands every other command line to cnsenter-go. Which one ran shows in the
// process that waits for the forked program: the front stays the binary it
// was started as (cnsenter), the Go side execs cnsenter-enter in its place.
// What either path does is checked against util-linux by the differential
// tests, each command line both ways (CNSENTER_NO_PIDFD_SETNS=1 takes the
// Go side).
func TestFrontTakesWhatItShould(t *testing.T) {
	tg := fullTarget(t)
	T := tg.T()
	for _, c := range []struct {
		args []string
		env  []string
		fast bool
	}{
		{[]string{"-t", T, "-a"}, nil, true},
		{[]string{"--target", T, "--all"}, nil, true},
		{[]string{"--target=" + T, "-p"}, nil, true},
		{[]string{"-t" + T, "-p", "--"}, nil, true},
		{[]string{"-at" + T}, nil, true},
		{[]string{"-t", T, "-ap"}, nil, true},
		{[]string{"-t", T, "-m", "-u", "-i", "-n", "-p", "-C", "-T"}, nil, true},
		{[]string{"-t", T, "--mount", "--uts", "--ipc", "--net", "--pid", "--cgroup", "--time"}, nil, true},
		{[]string{"-t", "0" + T, "-a"}, nil, true},
		// Everything else is the Go side's.
		{[]string{"--targ=" + T, "-a"}, nil, false},
		{[]string{"-t", T, "--al"}, nil, false},
		{[]string{"-t", T, "-a", "-r"}, nil, false},
		{[]string{"-t", T, "-a", "-w"}, nil, false},
		{[]string{"-t", T, "-a", "-e"}, nil, false},
		{[]string{"-t", T, "-a", "-S", "0"}, nil, false},
		{[]string{"-t", T, "-a", "--preserve-credentials"}, nil, false},
		{[]string{"-t", T, "-p", "--net=/proc/" + T + "/ns/net"}, nil, false},
		{[]string{"-t", fmt.Sprintf("%s:%d", T, pidfsInode(t, tg.PID)), "-a"}, nil, false},
		{[]string{fmt.Sprintf("--target=%s:%d", T, pidfsInode(t, tg.PID)), "-p"}, nil, false},
		{[]string{"-t", T, "-a", "--timeout=5s"}, nil, false},
		{[]string{"-t", T, "-a"}, []string{"CNSENTER_AUDIT_LOG=" + filepath.Join(t.TempDir(), "audit")}, false},
		{[]string{"-t", T, "-a"}, []string{"CNSENTER_NO_FAST_PATH=1"}, false},
	} {
		t.Run(fmt.Sprint(c.args, c.env), func(t *testing.T) {
			s := startSessionEnv(t, c.env, append(c.args, "sleep", "1000")...)
			exe, err := os.Readlink(fmt.Sprintf("/proc/%d/exe", s.cmd.Process.Pid))
			if err != nil {
				t.Fatal(err)
			}
			want := map[bool]string{true: "cnsenter", false: "cnsenter-enter"}[c.fast]
			if filepath.Base(exe) != want {
				t.Errorf("the waiting process is %s, want %s", exe, want)
			}
		})
	}
	// Without a fork there is nothing to tell the paths apart by; what
	// matters is that these are read as nsenter reads them.
	for _, args := range [][]string{
		{"-Fat", T, "-p", "--pid", "hostname"},
		{"-t", T, "-muinpCT", "hostname"}, // -m with the file "uinpCT"
		{"-t", T, "-u", "-", "hostname"},  // "-" is the program
		{"-t", T, "-u", "--", "-a"},
	} {
		t.Run(fmt.Sprint(args), func(t *testing.T) { same(t, args...) })
	}
}

// TestFrontWithoutGoSide: a front installed without cnsenter-go still
// enters, and says what is missing for everything else.
func TestFrontWithoutGoSide(t *testing.T) {
	tg := fullTarget(t)
	if _, err := os.Stat("/usr/local/libexec/cnsenter/cnsenter-go"); err == nil {
		t.Skip("an installed cnsenter-go (/usr/local/libexec/cnsenter) would be found")
	}
	front := copyOf(t, t.TempDir(), 0o755)
	if r := run(t, front, "-t", tg.T(), "-u", "hostname"); r.code != 0 || r.stdout != "full-target\n" {
		t.Errorf("the front alone, -t PID -u hostname: %v", r)
	}
	oneLineError(t, run(t, front, "--version"), "cannot run cnsenter-go, beside this program or in ")
}

// TestFrontSameAsGoSide: on every command line of up to two words from a
// set of tricky ones after "-t PID", and on a fixed sample of three-word
// ones, the C front (entering by itself or handing over) and cnsenter-go
// give the same output, errors and exit status.
func TestFrontSameAsGoSide(t *testing.T) {
	tg := fullTarget(t)
	words := []string{"-a", "-F", "-m", "-u", "-p", "-U", "-ap", "-pa", "-Fa", "-am", "--all", "--pid", "--no-fork", "--al", "-", "--", "-t", "--target=" + tg.T()}
	var lines [][]string
	for _, a := range words {
		lines = append(lines, []string{a})
		for _, b := range words {
			lines = append(lines, []string{a, b})
		}
	}
	for i := 0; i < 200; i++ { // the same sample every run
		lines = append(lines, []string{words[i*7%len(words)], words[i*11%len(words)], words[i*13%len(words)]})
	}
	goSide := []string{"CNSENTER_NO_FAST_PATH=1"}
	for _, words := range lines {
		args := append(append([]string{"-t", tg.T()}, words...), "sh", "-c", probe)
		front, goes := runWith(t, "", nil, cnsenter, args...), runWith(t, "", goSide, cnsenter, args...)
		if front != goes {
			t.Errorf("%q:\nfront:       %v\ncnsenter-go: %v", args, front, goes)
		}
	}
}
