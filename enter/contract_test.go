package enter

import (
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

// TestContractHeader: stage 2's contract.h is what contract.go says.
func TestContractHeader(t *testing.T) {
	data, err := os.ReadFile("stage2/contract.h")
	if err != nil {
		t.Fatal(err)
	}
	if string(data) != ContractHeader() {
		t.Errorf("enter/stage2/contract.h is not what enter/contract.go says: run go generate ./enter")
	}
}

// TestPlanThroughStage2: the plans Prepare makes, for a spread of requests,
// hold only entries of the contract, and stage 2 parses them (in its
// --check-plan mode, which enters nothing: no root needed).
func TestPlanThroughStage2(t *testing.T) {
	dir := t.TempDir()
	audit := filepath.Join(dir, "audit.log")
	known := map[string]bool{}
	for _, e := range planEntries {
		known[e.key] = true
	}
	self := os.Getpid()
	for name, req := range map[string]Request{
		"namespaces":           {Target: self, Namespaces: map[Kind]string{Net: "", UTS: ""}, NoFork: true},
		"all":                  {Target: self, All: true},
		"namespace file":       {Namespaces: map[Kind]string{Net: "/proc/self/ns/net"}},
		"directories":          {Target: self, Namespaces: map[Kind]string{Net: ""}, Root: Dir{Set: true, Path: "/"}, WorkDir: Dir{Set: true}},
		"wdns":                 {Target: self, Namespaces: map[Kind]string{Net: ""}, WorkDirInNS: "/tmp"},
		"environment":          {Target: self, Namespaces: map[Kind]string{Net: ""}, Env: true},
		"explicit environment": {Target: self, Namespaces: map[Kind]string{Net: ""}, Environ: []string{"A=1"}},
		"credentials": {Target: self, Namespaces: map[Kind]string{Net: ""}, UID: ID{Set: true, Value: 1}, GID: ID{Set: true, Value: 2},
			Groups: []uint32{3, 4}, KeepCaps: true},
		"follow": {Target: self, Namespaces: map[Kind]string{Net: ""}, UID: ID{Set: true, Follow: true}, GID: ID{Set: true, Follow: true}, PreserveCredentials: true},
		"docker exec's way": {Name: "docker nsenter", Target: self, Namespaces: map[Kind]string{PID: ""}, NotFoundHint: "hint", OnlyStdio: true,
			StatusForSignal: true, IgnoredSignals: 1 << 12, Cancel: os.Stdin, Audit: &Audit{Path: audit, Target: "x"}},
		"confined": {Target: self, Namespaces: map[Kind]string{Net: ""}, Confine: &Confinement{NoNewPrivileges: true}},
	} {
		p, err := Prepare(req)
		if err != nil {
			t.Errorf("%s: %v", name, err)
			continue
		}
		cmd, err := p.Command()
		if err != nil {
			t.Fatal(err)
		}
		for _, arg := range cmd.Args[1:] {
			if arg == "--" {
				break
			}
			key, _, _ := strings.Cut(arg, "=")
			if !known[key] {
				t.Errorf("%s: plan entry %q is not in the contract (contract.go)", name, arg)
			}
		}
		cmd.Args = append([]string{cmd.Args[0], "--check-plan"}, cmd.Args[1:]...)
		out, err := cmd.CombinedOutput()
		p.Close()
		if err != nil || string(out) != "plan ok\n" {
			t.Errorf("%s: stage 2 does not take the plan %q: %v %s", name, cmd.Args, err, out)
		}
	}
}

// TestEveryEntryWritten: each entry of the contract is written somewhere
// by the Go side (a key no one writes is a key stage 2 keeps for nothing).
func TestEveryEntryWritten(t *testing.T) {
	files, _ := filepath.Glob("*.go")
	var src strings.Builder
	for _, f := range files {
		if strings.HasSuffix(f, "_test.go") || f == "contract.go" {
			continue
		}
		data, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		src.Write(data)
	}
	for _, e := range planEntries {
		if !regexp.MustCompile(`"` + e.key + `(=|")`).MatchString(src.String()) {
			t.Errorf("plan entry %q of the contract is written nowhere by the Go side", e.key)
		}
	}
}
