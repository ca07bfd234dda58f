package e2e

import (
	"bufio"
	"context"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/cnsenter/cnsenter/test/engines"
)

// session is a program entered in a container that runs on while the test
// changes things around it: it prints "ready", then waits for the test.
type session struct {
	cmd    *exec.Cmd
	cancel context.CancelFunc
	out    *bufio.Reader
	errb   strings.Builder
}

// startSession starts argv (cnsenter, or docker with the plugin) and waits
// for its program's "ready".
func startSession(t *testing.T, env []string, argv ...string) *session {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	s := &session{cmd: exec.CommandContext(ctx, argv[0], argv[1:]...), cancel: cancel}
	s.cmd.Env = append(os.Environ(), env...)
	s.cmd.Stderr = &s.errb
	s.cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	out, err := s.cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := s.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cancel(); s.cmd.Wait() })
	s.out = bufio.NewReader(out)
	if line, err := s.out.ReadString('\n'); line != "ready\n" {
		cancel()
		s.cmd.Wait()
		t.Fatalf("%q: the program did not start: %q %v, stderr %q", argv, line, err, s.errb.String())
	}
	return s
}

// wait reads the rest of its output and waits for it to end.
func (s *session) wait(t *testing.T) result {
	t.Helper()
	rest, _ := io.ReadAll(s.out)
	s.cmd.Wait()
	s.cancel()
	return result{stdout: string(rest), stderr: s.errb.String(), code: s.cmd.ProcessState.ExitCode()}
}

// TestHostToolsLinks: in a host-tools session the session's root is the
// host's, so an absolute link in the container's tree, a relative one with
// enough "..", and the magic links of the container's /proc would lead out
// of it: to a host file the container names (read, created or
// overwritten), or, past --read-only, to the container's writable tree.
// With --read-only, and with --nosymfollow, no link the container
// controls is followed, whether in the image or made while the session
// runs; ordinary files and readlink still work. Without either, links are
// followed (as the README says).
func TestHostToolsLinks(t *testing.T) {
	d := newDockerCLI(t)
	host := t.TempDir() // 0700, as a place only root may read
	secret, victim := filepath.Join(host, "secret"), filepath.Join(host, "victim")
	created := []string{filepath.Join(host, "created"), filepath.Join(host, "created-rel"), filepath.Join(host, "created-late")}
	const secretText = "host-secret-4f1c9e"

	root := filepath.Join(t.TempDir(), "links")
	if err := engines.BusyboxRoot(root); err != nil {
		t.Fatal(err)
	}
	up := strings.Repeat("../", 12)
	for link, to := range map[string]string{
		"etc/os-release":  secret,
		"etc/rel-secret":  up + secret[1:],
		"hostdir":         host,
		"etc/motd":        created[0],
		"etc/rel-created": up + created[1][1:],
		"etc/victim":      victim,
	} {
		os.Remove(filepath.Join(root, link))
		if err := os.Symlink(to, filepath.Join(root, link)); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.WriteFile(filepath.Join(root, "etc/marker"), []byte("inside\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := eng.ImportDir(root, "cnsenter-test/links"); err != nil {
		t.Fatal(err)
	}
	if _, err := eng.Docker("run", "-d", "--name", "hostlinks", "cnsenter-test/links", "sleep", "100000"); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { eng.Docker("rm", "-f", "hostlinks") })

	// Reads, then writes, through every kind of link, once the container
	// has made two more links while the session runs; then what must
	// still work: readlink, and an ordinary file.
	script := `R=$CONTAINER_ROOT; echo ready
i=0; while [ ! -L $R/etc/late-w ] && [ $i -lt 200 ]; do sleep 0.05; i=$((i+1)); done
for f in etc/os-release etc/rel-secret hostdir/secret etc/late proc/1/root/etc/marker; do cat $R/$f; done
for f in etc/motd etc/rel-created etc/late-w etc/victim proc/1/root/tmp/pwned; do echo pwned >$R/$f; done
readlink $R/etc/os-release; cat $R/etc/marker`
	cns := filepath.Join(bin, "cnsenter")
	docker := []string{"docker", "-H", eng.DockerHost, "nsenter", "-u", "0"}
	for _, c := range []struct {
		name      string
		argv      []string
		protected bool
	}{
		{"cnsenter --read-only", []string{cns, "-t", "docker://hostlinks", "--host-tools", "--read-only"}, true},
		{"docker nsenter --read-only", append(docker, "--host-tools", "--read-only", "hostlinks"), true},
		{"cnsenter --nosymfollow", []string{cns, "-t", "docker://hostlinks", "--host-tools", "--nosymfollow"}, true},
		{"docker nsenter --nosymfollow", append(docker, "--host-tools", "--nosymfollow", "hostlinks"), true},
		{"cnsenter, links followed", []string{cns, "-t", "docker://hostlinks", "--host-tools"}, false},
	} {
		t.Run(c.name, func(t *testing.T) {
			if err := os.WriteFile(secret, []byte(secretText+"\n"), 0o600); err != nil {
				t.Fatal(err)
			}
			if err := os.WriteFile(victim, []byte("host file\n"), 0o600); err != nil {
				t.Fatal(err)
			}
			for _, f := range created {
				os.Remove(f)
			}
			if _, err := eng.Docker("exec", "hostlinks", "rm", "-f", "/etc/late", "/etc/late-w", "/tmp/pwned"); err != nil {
				t.Fatal(err)
			}
			s := startSession(t, append(eng.Env(), d.env...), append(c.argv, "sh", "-c", script)...)
			if _, err := eng.Docker("exec", "hostlinks", "sh", "-c", "ln -s "+secret+" /etc/late && ln -s "+created[2]+" /etc/late-w"); err != nil {
				t.Fatal(err)
			}
			r := s.wait(t)
			victimNow, _ := os.ReadFile(victim)
			var made []string
			for _, f := range created {
				if _, err := os.Lstat(f); err == nil {
					made = append(made, f)
				}
			}
			_, err := eng.Docker("exec", "hostlinks", "test", "-e", "/tmp/pwned")
			pwned := err == nil
			if !c.protected {
				if !strings.Contains(r.stdout, secretText) || len(made) != len(created) {
					t.Errorf("without --read-only or --nosymfollow links are followed into the host, got %v, host files made %q", r, made)
				}
				return
			}
			if strings.Contains(r.stdout+r.stderr, secretText) {
				t.Errorf("the host's secret was read through a link: %v", r)
			}
			if len(made) > 0 || string(victimNow) != "host file\n" {
				t.Errorf("host files written through links: made %q, the victim now %q; %v", made, victimNow, r)
			}
			if pwned {
				t.Errorf("a write reached the container's tree through its /proc/1/root")
			}
			if r.stdout != secret+"\ninside\n" || !strings.Contains(r.stderr, "symbolic links") {
				t.Errorf("want the links refused (ELOOP), readlink and ordinary files working, got %v", r)
			}
		})
	}

	// Without host tools the container's links resolve in its own root.
	r := cnsenter(t, nil, "-t", "docker://hostlinks", "-a", "--nosymfollow", "true")
	oneLineError(t, r, "--nosymfollow goes with --host-tools")
}

// mountShared makes dir a mount point of its own with shared propagation,
// as a volume with rshared propagation needs, and unmounts it (and what
// was mounted below it) when the test ends.
func mountShared(t *testing.T, dir string) {
	t.Helper()
	if out, err := exec.Command("mount", "--bind", dir, dir).CombinedOutput(); err != nil {
		t.Fatalf("mount --bind %s: %v %s", dir, err, out)
	}
	t.Cleanup(func() { exec.Command("umount", "-R", "-l", dir).Run() })
	if out, err := exec.Command("mount", "--make-shared", dir).CombinedOutput(); err != nil {
		t.Fatalf("mount --make-shared %s: %v %s", dir, err, out)
	}
}

// TestSessionViewIsASnapshot: a read-only session's view of the
// container is a private copy. A mount made later in one of the
// container's shared mounts (here by the host, in a volume with rshared
// propagation) reaches the container but not the session, which neither
// sees it nor can write to it; with or without host tools. A host-tools
// view without --read-only is private as well, both ways: a mount the
// session makes there reaches neither the container nor the host.
func TestSessionViewIsASnapshot(t *testing.T) {
	d := newDockerCLI(t)
	vol := filepath.Join(t.TempDir(), "vol")
	sub := filepath.Join(vol, "sub")
	if err := os.MkdirAll(sub, 0o755); err != nil {
		t.Fatal(err)
	}
	mountShared(t, vol)
	if _, err := eng.Docker("run", "-d", "--name", "sharedvol", "-v", vol+":/data:rshared", engines.BusyboxImage, "sleep", "100000"); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { eng.Docker("rm", "-f", "sharedvol") })

	// The session waits for the test's "go", then looks.
	script := func(root string) string {
		return `echo ready; i=0; while [ ! -e ` + root + `/data/go ] && [ $i -lt 200 ]; do sleep 0.05; i=$((i+1)); done
cat ` + root + `/data/sub/marker; echo x >` + root + `/data/sub/written && echo wrote`
	}
	cns := filepath.Join(bin, "cnsenter")
	docker := []string{"docker", "-H", eng.DockerHost, "nsenter", "-u", "0"}
	for _, c := range []struct {
		name     string
		argv     []string
		writable bool
	}{
		{"cnsenter --host-tools", []string{cns, "-t", "docker://sharedvol", "--host-tools", "--read-only", "sh", "-c", script("$CONTAINER_ROOT")}, false},
		{"docker nsenter --host-tools", append(docker, "--host-tools", "--read-only", "sharedvol", "sh", "-c", script("$CONTAINER_ROOT")), false},
		{"cnsenter", []string{cns, "-t", "docker://sharedvol", "-a", "--read-only", "sh", "-c", script("")}, false},
		{"docker nsenter", append(docker, "--read-only", "sharedvol", "sh", "-c", script("")), false},
		// Without --read-only the view is a snapshot too (its writes go
		// to the directory below the later mount).
		{"cnsenter --host-tools, writable", []string{cns, "-t", "docker://sharedvol", "--host-tools", "sh", "-c", script("$CONTAINER_ROOT")}, true},
	} {
		t.Run(c.name, func(t *testing.T) {
			os.Remove(filepath.Join(vol, "go"))
			s := startSession(t, append(eng.Env(), d.env...), c.argv...)
			if out, err := exec.Command("mount", "-t", "tmpfs", "-o", "size=1m", "later", sub).CombinedOutput(); err != nil {
				t.Fatalf("mount: %v %s", err, out)
			}
			defer exec.Command("umount", "-l", sub).Run()
			if err := os.WriteFile(filepath.Join(sub, "marker"), []byte("mounted later\n"), 0o644); err != nil {
				t.Fatal(err)
			}
			if out, err := eng.Docker("exec", "sharedvol", "cat", "/data/sub/marker"); err != nil || strings.TrimSpace(out) != "mounted later" {
				t.Fatalf("the mount did not reach the container (the test proves nothing): %q %v", out, err)
			}
			if err := os.WriteFile(filepath.Join(vol, "go"), nil, 0o644); err != nil {
				t.Fatal(err)
			}
			r := s.wait(t)
			_, err := os.Stat(filepath.Join(sub, "written"))
			if strings.Contains(r.stdout, "mounted later") || !c.writable && strings.Contains(r.stdout, "wrote") || err == nil {
				t.Errorf("the session saw the mount made after it started: %v", r)
			}
			if exec.Command("umount", sub).Run() != nil {
				t.Errorf("cannot unmount %s", sub)
			}
		})
	}
	os.Remove(filepath.Join(vol, "go"))

	// Nor does a mount the session makes reach the container or the host,
	// with or without --read-only (where Landlock refuses it anyway).
	for _, ro := range []bool{false, true} {
		argv := []string{"-t", "docker://sharedvol", "--host-tools"}
		if ro {
			argv = append(argv, "--read-only")
		}
		r := cnsenter(t, nil, append(argv, "sh", "-c", "mount -t tmpfs -o size=1m session $CONTAINER_ROOT/data/sub && echo mounted")...)
		container, _ := eng.Docker("exec", "sharedvol", "grep", "-c", " /data/sub ", "/proc/self/mountinfo")
		host, _ := os.ReadFile("/proc/self/mountinfo")
		exec.Command("umount", "-l", sub).Run() // if it leaked
		mounted := r.stdout == "mounted\n"
		if mounted == ro || strings.TrimSpace(container) != "0" || strings.Contains(string(host), " "+sub+" ") {
			t.Errorf("--host-tools (read-only %v): a mount of the session reached the container (%s) or the host (%v): %v", ro, container, strings.Contains(string(host), " "+sub+" "), r)
		}
	}
}
