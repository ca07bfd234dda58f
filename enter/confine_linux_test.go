package enter

import (
	"bytes"
	"encoding/json"
	"os"
	"os/exec"
	"regexp"
	"strings"
	"testing"

	specs "github.com/opencontainers/runtime-spec/specs-go"
)

func TestSeccompProfile(t *testing.T) {
	two := uint(2)
	got, err := seccompProfile(&specs.LinuxSeccomp{
		DefaultAction: specs.ActErrno,
		Architectures: []specs.Arch{specs.ArchX86_64, specs.ArchX86, "SCMP_ARCH_BAD NAME"},
		Syscalls: []specs.LinuxSyscall{
			{Names: []string{"read", "write", "two words"}, Action: specs.ActAllow},
			{Names: []string{"personality"}, Action: specs.ActAllow, Args: []specs.LinuxSeccompArg{
				{Index: 0, Value: 0, Op: specs.OpEqualTo}, {Index: 0, Value: 8, Op: specs.OpEqualTo}}},
			{Names: []string{"clone"}, Action: specs.ActAllow, Args: []specs.LinuxSeccompArg{
				{Index: 0, Value: 0x7e020000, Op: specs.OpMaskedEqual}, {Index: 1, Value: 3, ValueTwo: 4, Op: specs.OpGreaterThan}}},
			{Names: []string{"ptrace"}, Action: specs.ActErrno, ErrnoRet: &two},
			{Names: []string{"mount"}, Action: specs.ActErrno}, // the default: left out
		},
	})
	if err != nil {
		t.Fatal(err)
	}
	want := `default 327681
arch x86_64
arch x86
rule 2147418112 read
rule 2147418112 write
rule 2147418112 personality 0:4:0:0
rule 2147418112 personality 0:4:8:0
rule 2147418112 clone 0:7:2114060288:0 1:6:3:4
rule 327682 ptrace
`
	if got != want {
		t.Errorf("profile:\n%s\nwant:\n%s", got, want)
	}
	for _, bad := range []specs.LinuxSeccomp{
		{DefaultAction: "SCMP_ACT_BOGUS"},
		{DefaultAction: specs.ActAllow, Syscalls: []specs.LinuxSyscall{{Names: []string{"read"}, Action: "SCMP_ACT_BOGUS"}}},
		{DefaultAction: specs.ActAllow, Syscalls: []specs.LinuxSyscall{{Names: []string{"read"}, Action: specs.ActErrno,
			Args: []specs.LinuxSeccompArg{{Index: 0, Op: "SCMP_CMP_BOGUS"}}}}},
		{DefaultAction: specs.ActAllow, Syscalls: []specs.LinuxSyscall{{Names: []string{"read"}, Action: specs.ActErrno,
			Args: []specs.LinuxSeccompArg{{Index: 6, Op: specs.OpEqualTo}}}}},
	} {
		if _, err := seccompProfile(&bad); err == nil {
			t.Errorf("%+v: want an error", bad)
		}
	}
}

// TestSeccompThroughStage2: stage 2 compiles the profile with libseccomp
// and installs it; a profile libseccomp refuses stops the entry before the
// program runs.
func TestSeccompThroughStage2(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("needs root to enter a namespace")
	}
	target := exec.Command("sleep", "1000")
	if err := target.Start(); err != nil {
		t.Fatal(err)
	}
	defer func() { target.Process.Kill(); target.Wait() }()
	dir := t.TempDir()
	enosys := uint(38)
	run := func(s *specs.LinuxSeccomp) (string, error) {
		return runEntry(t, Request{
			Target:     target.Process.Pid,
			Namespaces: map[Kind]string{UTS: ""},
			Confine:    &Confinement{Seccomp: s},
			Program:    []string{"mkdir", dir + "/made"},
		})
	}
	// Twice: compiled, then installed from the cache (a private one, as
	// root's /run/cnsenter/seccomp would be).
	cache := t.TempDir()
	os.Chmod(cache, 0o700)
	t.Setenv("CNSENTER_SECCOMP_CACHE", cache+"/seccomp")
	for _, how := range []string{"compiled", "from the cache"} {
		msg, err := run(&specs.LinuxSeccomp{DefaultAction: specs.ActAllow, Architectures: []specs.Arch{specs.ArchX86_64, "SCMP_ARCH_NOSUCH"},
			Syscalls: []specs.LinuxSyscall{{Names: []string{"mkdir", "mkdirat", "no_such_call"}, Action: specs.ActErrno, ErrnoRet: &enosys}}})
		if err == nil || !strings.Contains(msg, "not implemented") {
			t.Errorf("mkdir under a filter that answers ENOSYS, %s: %v, %q", how, err, msg)
		}
	}
	if files, err := os.ReadDir(cache + "/seccomp"); err != nil || len(files) != 1 {
		t.Errorf("the cache holds %v, %v; want the one filter", files, err)
	}
	// Two conditions on one argument in one rule: libseccomp says EINVAL
	// (seccompProfile never writes such a rule; stage 2 must still stop).
	fd, err := memfd("profile", "default 2147418112\nrule 327681 mkdir 0:4:1:0 0:4:2:0\n")
	if err != nil {
		t.Fatal(err)
	}
	stage2 := exec.Command(Stage2, "seccomp=3", "--", "mkdir", dir+"/made")
	stage2.ExtraFiles = []*os.File{os.NewFile(uintptr(fd), "profile")}
	out, err := stage2.CombinedOutput()
	if err == nil || string(out) != "cnsenter: --confine: the container's seccomp profile: mkdir: Invalid argument\n" {
		t.Errorf("a rule libseccomp refuses: %v, %q", err, out)
	}
	// What stage 1 never writes still ends in one line, not a crash.
	for _, profile := range []string{"", "rule 1 read\n", "default 2147418112\nrule \n", "default 2147418112\nrule 1\n",
		"default 2147418112\nrule 1 read 0:4\n", "default x\n", "default 2147418112\nbogus\n"} {
		fd, err := memfd("profile", profile)
		if err != nil {
			t.Fatal(err)
		}
		stage2 := exec.Command(Stage2, "seccomp=3", "--", "mkdir", dir+"/made")
		stage2.ExtraFiles = []*os.File{os.NewFile(uintptr(fd), "profile")}
		out, err := stage2.CombinedOutput()
		if stage2.ProcessState == nil || stage2.ProcessState.ExitCode() != 1 || !strings.HasPrefix(string(out), "cnsenter: internal error: ") || strings.Count(string(out), "\n") != 1 {
			t.Errorf("profile %q: %v, %q", profile, err, out)
		}
	}
	if _, err := os.Stat(dir + "/made"); !os.IsNotExist(err) {
		t.Errorf("the program ran: %v", err)
	}
}

// FuzzSeccompProfile: whatever a container's spec says, its profile is
// rendered as lines stage 2 can read, or refused, never a crash.
func FuzzSeccompProfile(f *testing.F) {
	f.Add(`{"defaultAction":"SCMP_ACT_ERRNO","syscalls":[{"names":["read"],"action":"SCMP_ACT_ALLOW"}]}`)
	f.Add(`{"defaultAction":"SCMP_ACT_ALLOW","architectures":["SCMP_ARCH_X86"],"syscalls":[{"names":["clone"],"action":"SCMP_ACT_ERRNO","args":[{"index":0,"value":1,"op":"SCMP_CMP_MASKED_EQ"}]}]}`)
	line := regexp.MustCompile(`^(default \d+|arch \S+|rule \d+ \S+( \d+:\d+:\d+:\d+){0,6})$`)
	f.Fuzz(func(t *testing.T, data string) {
		var s specs.LinuxSeccomp
		if json.Unmarshal([]byte(data), &s) != nil {
			return
		}
		profile, err := seccompProfile(&s)
		if err != nil {
			return
		}
		for _, l := range strings.Split(strings.TrimSuffix(profile, "\n"), "\n") {
			if !line.MatchString(l) {
				t.Fatalf("line %q of\n%s", l, profile)
			}
		}
	})
}

// runEntry prepares a request and runs stage 2 as a child, to its end: what
// it said on stderr, and how it ended.
func runEntry(t *testing.T, req Request) (string, error) {
	t.Helper()
	p, err := Prepare(req)
	if err != nil {
		t.Fatal(err)
	}
	cmd, err := p.Command()
	if err != nil {
		t.Fatal(err)
	}
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	err = cmd.Start()
	p.Close()
	if err == nil {
		err = cmd.Wait()
	}
	return stderr.String(), err
}
