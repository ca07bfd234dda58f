package e2e

import (
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
)

// repo is the repository's root, for files the tests read.
var repo, _ = filepath.Abs("../..")

// complete runs the bash completion of cnsenter on a command line whose
// last word is being completed.
func complete(t *testing.T, words ...string) []string {
	t.Helper()
	script := `source "$1"; shift; COMP_WORDS=("$@"); COMP_CWORD=$(($# - 1)); __cnsenter_bash; printf '%s\n' "${COMPREPLY[@]}"`
	cmd := exec.Command("bash", append([]string{"-c", script, "bash", filepath.Join(repo, "completions/cnsenter.bash")}, words...)...)
	cmd.Env = append(os.Environ(), append(eng.Env(), "PATH="+bin+":"+os.Getenv("PATH"))...)
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("completion of %q: %v", words, err)
	}
	return strings.Fields(string(out))
}

func TestBashCompletion(t *testing.T) {
	requireEngines(t)
	for _, c := range []struct {
		words []string
		want  []string
	}{
		{[]string{"cnsenter", "--targ"}, []string{"--target"}},
		{[]string{"cnsenter", "-S", ""}, []string{"follow"}},
		{[]string{"cnsenter", "-t", "docker://we"}, []string{"docker://web", "docker://webuser"}},
		{[]string{"cnsenter", "-t", "containerd://"}, []string{"containerd://cnsenter-test/dup", "containerd://cnsenter-test/task1"}},
	} {
		got := complete(t, c.words...)
		slices.Sort(got)
		if !slices.Equal(got, c.want) {
			t.Errorf("%q: got %q, want %q", c.words, got, c.want)
		}
	}
	// Every option --help shows is completed: the two cannot drift apart.
	help := cnsenter(t, nil, "--help").stdout
	options := complete(t, "cnsenter", "-")
	for _, opt := range regexp.MustCompile(`(?m)^ +(?:(-\w), )?(--[\w-]+)`).FindAllStringSubmatch(help, -1) {
		for _, o := range opt[1:] {
			if o != "" && !slices.Contains(options, o) {
				t.Errorf("--help has %s, the completion does not", o)
			}
		}
	}
	// zsh runs the same completion through bashcompinit.
	if _, err := exec.LookPath("zsh"); err == nil {
		out, err := exec.Command("zsh", "-fc", `autoload -U +X compinit && compinit -u && autoload -U +X bashcompinit && bashcompinit &&
			source `+filepath.Join(repo, "completions/cnsenter.bash")+` && whence -w __cnsenter_bash && zsh -n `+filepath.Join(repo, "completions/_cnsenter")).CombinedOutput()
		if err != nil || !strings.Contains(string(out), "__cnsenter_bash: function") {
			t.Errorf("zsh cannot load the completion: %v %s", err, out)
		}
	}
}

func TestDockerCompletion(t *testing.T) {
	d := newDockerCLI(t)
	// The CLI passes no global flag on to a plugin's completion: the
	// engine comes from the environment (or the current context).
	env := []string{"DOCKER_HOST=" + eng.DockerHost}
	r := d.runRaw(t, "", env, "__complete", "nsenter", "")
	for _, name := range []string{"web", "webuser", "noshell"} {
		if !slices.Contains(strings.Split(r.stdout, "\n"), name) {
			t.Errorf("docker nsenter <TAB>: %s missing from %q", name, r.stdout)
		}
	}
	r = d.runRaw(t, "", env, "__complete", "nsenter", "--ns", "")
	if !strings.HasPrefix(r.stdout, "user\ncgroup\nipc\nuts\nnet\npid\nmnt\ntime\n") {
		t.Errorf("--ns <TAB>: %q", r.stdout)
	}
}

// TestManPages: the pages render without a warning from groff.
func TestManPages(t *testing.T) {
	if _, err := exec.LookPath("groff"); err != nil {
		t.Skip("groff is not installed")
	}
	for _, page := range []string{"docs/cnsenter.1", "docs/docker-nsenter.1"} {
		out, err := exec.Command("groff", "-man", "-Tutf8", "-ww", "-z", filepath.Join(repo, page)).CombinedOutput()
		if err != nil || len(out) > 0 {
			t.Errorf("%s: %v %s", page, err, out)
		}
	}
}

// TestDebianPackage installs the package make deb built (CNSENTER_DEB), uses
// both programs from it, and removes it again.
func TestDebianPackage(t *testing.T) {
	requireEngines(t)
	deb := os.Getenv("CNSENTER_DEB")
	if deb == "" {
		t.Skip("CNSENTER_DEB names no package (make integration builds one)")
	}
	if out, err := exec.Command("dpkg", "-i", deb).CombinedOutput(); err != nil {
		t.Fatalf("dpkg -i: %v\n%s", err, out)
	}
	defer func() {
		if out, err := exec.Command("dpkg", "-r", "cnsenter").CombinedOutput(); err != nil {
			t.Errorf("dpkg -r: %v\n%s", err, out)
		}
		for _, f := range []string{"/usr/bin/cnsenter", "/usr/libexec/cnsenter/cnsenter-go", "/usr/libexec/cnsenter/docker-nsenter-go", "/usr/libexec/cnsenter/cnsenter-enter", "/usr/libexec/docker/cli-plugins/docker-nsenter", "/usr/share/man/man1/cnsenter.1.gz"} {
			if _, err := os.Stat(f); err == nil {
				t.Errorf("%s is still there after dpkg -r", f)
			}
		}
	}()
	if r := runBinary(t, eng.Env(), "/usr/bin/cnsenter", "--list"); r.code != 0 || !strings.Contains(r.stdout, "task1") {
		t.Errorf("cnsenter --list from the package: %v", r)
	}
	// The plugin from the system-wide directory: an empty DOCKER_CONFIG.
	cmd := exec.Command("docker", "-H", eng.DockerHost, "nsenter", "web", "hostname")
	cmd.Env = append(os.Environ(), "DOCKER_CONFIG="+t.TempDir(), "CONTAINERD_ADDRESS="+eng.ContainerdAddress)
	if out, err := cmd.CombinedOutput(); err != nil || string(out) != "webhost\n" {
		t.Errorf("docker nsenter from the package: %v %q", err, out)
	}
	if out, err := exec.Command("man", "-w", "cnsenter").CombinedOutput(); err != nil || !strings.Contains(string(out), "/usr/share/man/man1/cnsenter.1.gz") {
		t.Errorf("man -w cnsenter: %v %s", err, out)
	}
}
