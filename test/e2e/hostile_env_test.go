package e2e

import (
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/cnsenter/cnsenter/test/engines"
)

// TestContainerEnvironmentRunsNoHostCode: --env copies the container's
// environment, which is the container's to write. A program from the
// host's files (--host-tools, or the mount namespace not entered) runs as
// root on the host: the container's LD_PRELOAD, LD_LIBRARY_PATH and
// BASH_ENV never reach it, nor what an interactive bash acts on
// (PROMPT_COMMAND, HISTFILE), and its PATH and SHELL are ours, so neither
// the container's library, nor its script, nor its shell run in our
// session, and no host file is written where it says; its other variables
// (FOO) pass. With the mount namespace entered the
// program is the container's own and gets the environment unchanged.
//
// The container's library, built by the test, creates a file of the host
// when it is loaded, and so do its BASH_ENV script, its PROMPT_COMMAND and
// its HISTFILE. The container sees
// itself at /mnt in a host-tools session; it also has a volume, a host
// directory, where its library is at a host path, for a session that does
// not enter its mount namespace.
func TestContainerEnvironmentRunsNoHostCode(t *testing.T) {
	requireEngines(t)
	dir := t.TempDir()
	vol := filepath.Join(dir, "vol")
	marker := filepath.Join(dir, "ran")
	if err := os.Mkdir(vol, 0o755); err != nil {
		t.Fatal(err)
	}
	src := filepath.Join(dir, "evil.c")
	os.WriteFile(src, []byte(`#include <fcntl.h>
#include <string.h>
#include <unistd.h>
__attribute__((constructor)) static void evil(void)
{
	char exe[4096] = "?";
	ssize_t n = readlink("/proc/self/exe", exe, sizeof(exe) - 1);
	if (n > 0)
		exe[n] = 0;
	int fd = open(MARKER, O_WRONLY | O_CREAT | O_APPEND, 0644);
	if (fd >= 0) {
		write(fd, "LD_PRELOAD loaded in ", 21);
		write(fd, exe, strlen(exe));
		write(fd, "\n", 1);
		close(fd);
	}
}
`), 0o644)
	lib := filepath.Join(vol, "evil.so")
	if out, err := exec.Command("gcc", "-shared", "-fPIC", "-o", lib, fmt.Sprintf("-DMARKER=%q", marker), src).CombinedOutput(); err != nil {
		t.Fatalf("gcc: %v\n%s", err, out)
	}
	script := fmt.Sprintf("echo \"BASH_ENV ran in $(readlink /proc/$$/exe)\" >> %s\n", marker)
	image := hostileImage(t, "envhost", func(root string) {
		data, _ := os.ReadFile(lib)
		os.WriteFile(filepath.Join(root, "evil.so"), data, 0o755)
		os.WriteFile(filepath.Join(root, "evil.sh"), []byte(script), 0o755)
	})
	theirs := []string{
		"LD_PRELOAD=/mnt/evil.so:" + lib, "LD_LIBRARY_PATH=/mnt/lib", "PATH=/mnt/bin:/bin",
		"SHELL=/mnt/bin/sh", "BASH_ENV=/mnt/evil.sh", "FOO=bar",
		"PROMPT_COMMAND=echo PROMPT_COMMAND ran >> " + marker, "HISTFILE=" + marker,
	}
	run := []string{"-v", vol + ":/vol"}
	for _, kv := range theirs {
		run = append(run, "-e", kv)
	}
	runHostile(t, "envhost", append(run, image, "/bin/sleep", "100000")...)

	ours := []string{"PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin", "SHELL=/bin/bash"}
	show := `readlink /proc/$$/exe; env`
	for _, c := range []struct {
		name  string
		args  []string
		stdin string
		host  bool // the program is the host's
	}{
		{"host tools, sh from PATH", []string{"--host-tools", "-e", "sh", "-c", show}, "", true},
		{"host tools, bash", []string{"--host-tools", "-e", "bash", "-c", show}, "", true},
		{"host tools, login shell from SHELL", []string{"--host-tools", "-e"}, show, true},
		{"host tools, interactive bash", []string{"--host-tools", "-e", "bash", "-i"}, show, true},
		{"net only, the host's env", []string{"-n", "-e", "/usr/bin/env"}, "", true},
		{"every namespace, the container's env", []string{"-a", "-e", "/bin/env"}, "", false},
	} {
		t.Run(c.name, func(t *testing.T) {
			os.Remove(marker)
			r := runStdin(t, strings.NewReader(c.stdin), append(eng.Env(), ours...), filepath.Join(bin, "cnsenter"), append([]string{"-t", "docker://envhost"}, c.args...)...)
			if ran, err := os.ReadFile(marker); err == nil {
				t.Errorf("the container's code ran in the session, as root on the host: %s", ran)
			}
			if r.code != 0 {
				t.Fatalf("the session failed: %v", r)
			}
			lines := strings.Split(strings.TrimSuffix(r.stdout, "\n"), "\n")
			if strings.HasPrefix(c.args[len(c.args)-1], "readlink") || c.stdin != "" {
				if exe := lines[0]; !strings.HasPrefix(exe, "/usr/bin/") && !strings.HasPrefix(exe, "/bin/") {
					t.Errorf("the shell that ran is %s, not the host's", exe)
				}
				lines = lines[1:]
			}
			env := map[string]string{}
			for _, kv := range lines {
				k, v, _ := strings.Cut(kv, "=")
				env[k] = v
			}
			if env["FOO"] != "bar" {
				t.Errorf("FOO=bar of the container did not pass: %v", r)
			}
			if !c.host {
				for _, kv := range theirs {
					if k, v, _ := strings.Cut(kv, "="); env[k] != v {
						t.Errorf("%s: the container's own program got %q, not its own %q", k, env[k], v)
					}
				}
				return
			}
			for k := range env {
				// (The host's own startup files may set PROMPT_COMMAND.)
				if strings.HasPrefix(k, "LD_") || k == "BASH_ENV" || strings.Contains(env[k], marker) {
					t.Errorf("the host's program got the container's %s=%s", k, env[k])
				}
			}
			for _, kv := range ours {
				k, v, _ := strings.Cut(kv, "=")
				// A shell's startup files (the host's) may set a PATH of their own.
				if env[k] != v && (k != "PATH" || c.stdin == "" || strings.Contains(env[k], "/mnt")) {
					t.Errorf("%s is %q, not ours (%q)", k, env[k], v)
				}
			}
		})
	}
}

// TestHugeEnvironNotRead: a process of the container, as any uid, can point
// its environment at a gigabyte of memory it never touches. --env reads
// /proc/PID/environ of the container's init, that process here: the file
// is refused past 1 MiB, with one line, and never read whole into a
// program that runs as root on the host (its peak memory stays small).
func TestHugeEnvironNotRead(t *testing.T) {
	image := hostileImage(t, "hugeenv", nil, "hugeenv")
	runHostile(t, "hugeenv", "--user", "1000:1000", image, "/hugeenv")
	for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(50 * time.Millisecond) {
		out, _ := eng.Docker("logs", "hugeenv")
		if strings.HasPrefix(out, "refused:") {
			t.Skipf("this kernel does not let a container's process move its environment: %s", out)
		}
		if out == "ready" {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the attacker did not start: %q", out)
		}
	}
	environ, err := os.Open("/proc/" + dockerInspect(t, "hugeenv", "{{.State.Pid}}") + "/environ")
	if err != nil {
		t.Fatal(err)
	}
	n, _ := environ.Read(make([]byte, 2<<20))
	environ.Close()
	if n <= 1<<20 {
		t.Fatalf("the attacker's environment holds %d bytes only", n)
	}
	for _, args := range [][]string{{"-a", "-e"}, {"--host-tools", "-e"}} {
		t.Run(strings.Join(args, " "), func(t *testing.T) {
			r := runStdin(t, nil, eng.Env(), filepath.Join(bin, "cnsenter"), append(append([]string{"-t", "docker://hugeenv"}, args...), "true")...)
			rss := r.peakKiB
			oneLineError(t, r, "larger than 1 MiB")
			if !strings.Contains(r.stderr, "leave --env out") {
				t.Errorf("the error does not say what to do: %q", r.stderr)
			}
			if rss > 100<<10 {
				t.Errorf("cnsenter's peak resident set was %d MiB", rss>>10)
			}
		})
	}
}

// rawControl tells whether s, a message to the caller's terminal, holds a
// control character other than its final newline: a C0 control, DEL or
// a C1 control (U+0080 to U+009F, 0xc2 0x80-0x9f in UTF-8).
func rawControl(s string) bool {
	s = strings.TrimSuffix(s, "\n")
	for i := 0; i < len(s); i++ {
		if c := s[i]; c < 0x20 || c == 0x7f || c == 0xc2 && i+1 < len(s) && s[i+1] >= 0x80 && s[i+1] < 0xa0 {
			return true
		}
	}
	return false
}

// TestNoControlCharactersFromTheContainer: what a container's spec or
// environment names (its working directory, its shell) reaches the
// caller's terminal in error messages with every control character written
// as \xHH: an escape sequence there would set the terminal's title, clear
// it or rewrite what the caller sees. (cnsenter --list shows nothing the
// container could set: Docker checks names, and image names as
// references, when the container is made.)
func TestNoControlCharactersFromTheContainer(t *testing.T) {
	d := newDockerCLI(t)
	evil := "\x1b]0;pwned\x07\x1b[2J\u009b"
	shown := `\x1b]0;pwned\x07\x1b[2J\xc2\x9b`

	t.Run("working directory", func(t *testing.T) {
		wd := "/tmp/x" + evil
		runHostile(t, "ctlwd", "-w", wd, engines.BusyboxImage, "sh", "-c", `rmdir "$PWD" && exec sleep 100000`)
		root := "/proc/" + dockerInspect(t, "ctlwd", "{{.State.Pid}}") + "/root"
		for deadline := time.Now().Add(5 * time.Second); ; time.Sleep(20 * time.Millisecond) {
			if _, err := os.Lstat(root + wd); os.IsNotExist(err) {
				break
			}
			if time.Now().After(deadline) {
				t.Fatal("the container did not remove its working directory")
			}
		}
		r := d.run(t, "", "nsenter", "ctlwd", "true")
		if r.code == 0 || strings.Count(r.stderr, "\n") != 1 || rawControl(r.stderr) || !strings.Contains(r.stderr, "/tmp/x"+shown) {
			t.Errorf("want an error naming the working directory %s, without a control character, got %v", shown, r)
		}
	})

	t.Run("shell", func(t *testing.T) {
		runHostile(t, "ctlsh", "-e", "SHELL=/nonexistent/"+evil+"sh", engines.BusyboxImage, "sleep", "100000")
		r := cnsenter(t, nil, "-t", "docker://ctlsh", "-a", "-e")
		if r.code == 0 || strings.Count(r.stderr, "\n") != 1 || rawControl(r.stderr) ||
			!strings.Contains(r.stderr, "failed to execute /nonexistent/"+shown+"sh") {
			t.Errorf("want an error naming the shell /nonexistent/%ssh, without a control character, got %v", shown, r)
		}
	})
}

// TestNoRequestForAPath: a container reference with a "/" or that is "."
// or ".." would be a path in the engine's API (/containers/../json):
// refused with one line, before any request. The engine is a socket of the
// test's own that counts connections.
func TestNoRequestForAPath(t *testing.T) {
	d := newDockerCLI(t)
	sock := filepath.Join(t.TempDir(), "docker.sock")
	l, err := net.Listen("unix", sock)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { l.Close() })
	var mu sync.Mutex
	var requests []string
	go func() {
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			c.SetReadDeadline(time.Now().Add(time.Second))
			b := make([]byte, 4096)
			n, _ := c.Read(b)
			mu.Lock()
			requests = append(requests, string(b[:n]))
			mu.Unlock()
			c.Close()
		}
	}()
	for _, argv := range [][]string{
		{"docker", "nsenter", "../x", "true"},
		{"docker", "nsenter", "a/b", "true"},
		{"docker", "nsenter", "..", "true"},
		{"cnsenter", "-t", "docker://..", "true"},
		{"cnsenter", "-t", "docker://../../x", "true"},
	} {
		t.Run(strings.Join(argv, " "), func(t *testing.T) {
			var r result
			prefix := "docker nsenter: "
			if argv[0] == "docker" {
				r = d.runRaw(t, "", nil, append([]string{"-H", "unix://" + sock}, argv[1:]...)...)
			} else {
				prefix = "cnsenter: "
				r = runBinary(t, []string{"DOCKER_HOST=unix://" + sock}, filepath.Join(bin, "cnsenter"), argv[1:]...)
			}
			if r.code != 1 || !strings.HasPrefix(r.stderr, prefix) || strings.Count(r.stderr, "\n") != 1 || !strings.Contains(r.stderr, "is not a container reference") {
				t.Errorf("want exit 1 and one line saying it is not a container reference, got %v", r)
			}
			time.Sleep(100 * time.Millisecond) // a connection is accepted at once
			mu.Lock()
			defer mu.Unlock()
			if len(requests) > 0 {
				t.Errorf("the engine got %d connections: %q", len(requests), requests)
				requests = nil
			}
		})
	}
}
