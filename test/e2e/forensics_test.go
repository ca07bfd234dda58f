package e2e

import (
	"bufio"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"maps"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/cnsenter/cnsenter/test/engines"
)

// freezerState is the freezer cgroup of a container's init, from the host:
// v1's freezer.state, else v2's cgroup.freeze ("FROZEN"/"THAWED" either
// way), with the file.
func freezerState(t *testing.T, pid string) (state, file string) {
	t.Helper()
	data, err := os.ReadFile("/proc/" + pid + "/cgroup")
	if err != nil {
		t.Fatal(err)
	}
	var v1, v2 string
	for _, line := range strings.Split(string(data), "\n") {
		parts := strings.SplitN(line, ":", 3)
		if len(parts) != 3 {
			continue
		}
		if slices.Contains(strings.Split(parts[1], ","), "freezer") {
			v1 = parts[2]
		}
		if parts[0] == "0" {
			v2 = parts[2]
		}
	}
	if v1 != "" && v1 != "/" {
		file = filepath.Join("/sys/fs/cgroup/freezer", v1, "freezer.state")
		s, err := os.ReadFile(file)
		if err != nil {
			t.Fatal(err)
		}
		return strings.TrimSpace(string(s)), file
	}
	file = filepath.Join("/sys/fs/cgroup/unified", v2, "cgroup.freeze")
	s, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	if strings.TrimSpace(string(s)) == "1" {
		return "FROZEN", file
	}
	return "THAWED", file
}

// thawOnCleanup thaws a container's freezer cgroup when the test ends,
// before the container is removed (cleanups run last first), whatever
// happened: a frozen container could not be removed.
func thawOnCleanup(t *testing.T, pid string) {
	t.Helper()
	_, file := freezerState(t, pid)
	t.Cleanup(func() {
		value := "THAWED"
		if strings.HasSuffix(file, "cgroup.freeze") {
			value = "0"
		}
		os.WriteFile(file, []byte(value), 0)
	})
}

// frozenContainer runs a container for a freeze test; whatever happens,
// it is thawed (and unpaused) and removed when the test ends.
func frozenContainer(t *testing.T, name string) string {
	t.Helper()
	requireEngines(t)
	eng.Docker("rm", "-f", name)
	if _, err := eng.Docker("run", "-d", "--name", name, engines.BusyboxImage, "sh", "-c", "while :; do date > /tmp/tick; usleep 20000; done"); err != nil {
		t.Fatal(err)
	}
	pid := strings.TrimSpace(dockerInspect(t, name, "{{.State.Pid}}"))
	_, file := freezerState(t, pid)
	t.Cleanup(func() {
		value := "THAWED"
		if strings.HasSuffix(file, "cgroup.freeze") {
			value = "0"
		}
		os.WriteFile(file, []byte(value), 0)
		eng.Docker("unpause", name)
		eng.Docker("rm", "-f", name)
	})
	return pid
}

// frozenSession starts cnsenter --read-only --freeze on a container with a
// program that says ready and waits for a line on its stdin.
func frozenSession(t *testing.T, name string, extra ...string) (*exec.Cmd, io.WriteCloser, *bufio.Reader) {
	t.Helper()
	args := append([]string{"-t", "docker://" + name, "-a", "--read-only", "--freeze"}, extra...)
	args = append(args, "sh", "-c", "echo ready; read x; echo done")
	cmd := exec.Command(filepath.Join(bin, "cnsenter"), args...)
	cmd.Env = append(os.Environ(), eng.Env()...)
	in, _ := cmd.StdinPipe()
	out, _ := cmd.StdoutPipe()
	cmd.Stderr = os.Stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cmd.Process.Kill(); cmd.Wait() })
	lines := bufio.NewReader(out)
	if l, err := lines.ReadString('\n'); err != nil || l != "ready\n" {
		t.Fatalf("no ready: %q %v", l, err)
	}
	return cmd, in, lines
}

// TestFreeze: --freeze freezes the container's cgroup for the session, as
// the host sees it, and thaws it when the program exits, when cnsenter
// gets a signal, and when cnsenter is killed (the watchdog); a container
// docker paused stays paused; bad combinations are one line each.
func TestFreeze(t *testing.T) {
	pid := frozenContainer(t, "freezeme")
	waitState := func(want string) {
		t.Helper()
		for deadline := time.Now().Add(20 * time.Second); ; time.Sleep(10 * time.Millisecond) {
			if s, _ := freezerState(t, pid); s == want {
				return
			}
			if time.Now().After(deadline) {
				s, file := freezerState(t, pid)
				t.Fatalf("%s is %s, want %s", file, s, want)
			}
		}
	}
	t.Run("exit", func(t *testing.T) {
		log := filepath.Join(t.TempDir(), "audit.log")
		cmd, in, lines := frozenSession(t, "freezeme", "--audit-log", log)
		if s, file := freezerState(t, pid); s != "FROZEN" {
			t.Fatalf("during the session %s is %s", file, s)
		}
		// The container's processes do not run: its tick file stays.
		before, _ := os.ReadFile("/proc/" + pid + "/root/tmp/tick")
		time.Sleep(1100 * time.Millisecond)
		if after, _ := os.ReadFile("/proc/" + pid + "/root/tmp/tick"); string(after) != string(before) {
			t.Errorf("the container ran while frozen: %q then %q", before, after)
		}
		fmt.Fprintln(in, "go")
		rest, _ := io.ReadAll(lines)
		if err := cmd.Wait(); err != nil || string(rest) != "done\n" {
			t.Fatalf("session: %v %q", err, rest)
		}
		if s, _ := freezerState(t, pid); s != "THAWED" {
			t.Errorf("after the session: %s", s)
		}
		if data, _ := os.ReadFile(log); !strings.Contains(string(data), `"event":"start"`) || !strings.Contains(string(data), `"freeze":"frozen"`) {
			t.Errorf("the audit log does not record the freeze: %s", data)
		}
	})
	t.Run("host tools", func(t *testing.T) {
		// The host's ps lists the frozen processes: reading them needs
		// nothing of theirs to run.
		r := cnsenter(t, nil, "-t", "docker://freezeme", "--host-tools", "--read-only", "--freeze", "sh", "-c", "ps -o pid,stat,args; cat $CONTAINER_ROOT/proc/1/cgroup >/dev/null")
		if r.code != 0 || !strings.Contains(r.stdout, "while :; do date") {
			t.Errorf("host tools on a frozen container: %v", r)
		}
		if s, _ := freezerState(t, pid); s != "THAWED" {
			t.Errorf("after the session: %s", s)
		}
	})
	t.Run("signal", func(t *testing.T) {
		cmd, _, _ := frozenSession(t, "freezeme")
		// The front execs cnsenter-go, which stays as the relay: our
		// child's PID (the other cnsenter-go is the watchdog).
		syscall.Kill(cmd.Process.Pid, syscall.SIGTERM)
		cmd.Wait()
		if s, _ := freezerState(t, pid); s != "THAWED" {
			t.Errorf("after SIGTERM: %s", s)
		}
		if left := processesOf(filepath.Join(bin, "cnsenter-go")); len(left) > 0 {
			t.Errorf("left running: %v", left)
		}
	})
	t.Run("SIGKILL", func(t *testing.T) {
		cmd, _, _ := frozenSession(t, "freezeme")
		if s, _ := freezerState(t, pid); s != "FROZEN" {
			t.Fatalf("during the session: %s", s)
		}
		cmd.Process.Kill()
		cmd.Wait()
		waitState("THAWED") // the watchdog's doing
		for deadline := time.Now().Add(10 * time.Second); len(processesOf(filepath.Join(bin, "cnsenter-go"))) > 0; time.Sleep(10 * time.Millisecond) {
			if time.Now().After(deadline) {
				t.Fatalf("left running: %v", processesOf(filepath.Join(bin, "cnsenter-go")))
			}
		}
	})
	t.Run("paused", func(t *testing.T) {
		// docker pause froze it: --freeze and --evidence take it as it is,
		// and it stays paused.
		if _, err := eng.Docker("pause", "freezeme"); err != nil {
			t.Fatal(err)
		}
		r := cnsenter(t, nil, "-t", "docker://freezeme", "-a", "--read-only", "--freeze", "echo", "in")
		if r.code != 0 || r.stdout != "in\n" || !strings.Contains(r.stderr, "was frozen already") {
			t.Errorf("session: %v", r)
		}
		dir := filepath.Join(t.TempDir(), "bundle")
		if r := cnsenter(t, nil, "-t", "docker://freezeme", "--evidence", dir, "--freeze"); r.code != 0 {
			t.Errorf("evidence: %v", r)
		}
		var meta struct{ Freeze string }
		readJSON(t, filepath.Join(dir, "evidence.json"), &meta)
		if meta.Freeze != "already frozen" {
			t.Errorf("evidence.json freeze: %q", meta.Freeze)
		}
		oneLineError(t, cnsenter(t, nil, "-t", "docker://freezeme", "-a", "true"), "unpause it first")
		if s, _ := freezerState(t, pid); s != "FROZEN" {
			t.Errorf("a paused container was thawed: %s", s)
		}
		if _, err := eng.Docker("unpause", "freezeme"); err != nil {
			t.Fatal(err)
		}
	})
	t.Run("frozen by someone else", func(t *testing.T) {
		_, file := freezerState(t, pid)
		frozen, thawed := "FROZEN", "THAWED"
		if strings.HasSuffix(file, "cgroup.freeze") {
			frozen, thawed = "1", "0"
		}
		if err := os.WriteFile(file, []byte(frozen), 0); err != nil {
			t.Fatal(err)
		}
		defer os.WriteFile(file, []byte(thawed), 0)
		waitState("FROZEN")
		r := cnsenter(t, nil, "-t", "docker://freezeme", "-a", "--read-only", "--freeze", "echo", "in")
		if r.code != 0 || r.stdout != "in\n" || !strings.Contains(r.stderr, "was frozen already") {
			t.Errorf("session: %v", r)
		}
		if s, _ := freezerState(t, pid); s != "FROZEN" {
			t.Errorf("a container frozen by someone else was thawed: %s", s)
		}
	})
	t.Run("errors", func(t *testing.T) {
		oneLineError(t, cnsenter(t, nil, "-t", "docker://freezeme", "-a", "--freeze", "true"), "--freeze goes with --read-only")
		oneLineError(t, cnsenter(t, nil, "-t", "docker://freezeme", "-a", "-c", "--read-only", "--freeze", "true"), "--join-cgroup")
		oneLineError(t, cnsenter(t, nil, "-t", pid, "-a", "--read-only", "--freeze", "true"), "needs a container --target")
		if s, _ := freezerState(t, pid); s != "THAWED" {
			t.Errorf("after refused sessions: %s", s)
		}
	})
}

// sha256Hex is a file's SHA-256, hex.
func sha256Hex(t *testing.T, path string) string {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	sum := sha256.Sum256(data)
	return hex.EncodeToString(sum[:])
}

func readJSON(t *testing.T, path string, v any) {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(data, v); err != nil {
		t.Fatalf("%s: %v", path, err)
	}
}

func rawChanges(t *testing.T, dir string) []map[string]any {
	t.Helper()
	var list []map[string]any
	readJSON(t, filepath.Join(dir, "filesystem/changes.json"), &list)
	return list
}

type change struct {
	Path, Change, Type, SHA256, Content, Link string
	Opaque                                    bool
}

type process struct {
	PID        int                     `json:"pid"`
	Cmdline    []string                `json:"cmdline"`
	Environ    []string                `json:"environ"`
	Cwd        string                  `json:"cwd"`
	Exe        struct{ SHA256 string } `json:"exe"`
	Namespaces map[string]string       `json:"namespaces"`
	Seccomp    string                  `json:"seccomp"`
	FDs        []struct {
		FD     int
		Target string
	} `json:"fds"`
	Capabilities map[string]string `json:"capabilities"`
}

// TestEvidence: the bundle of a container whose files, processes and
// sockets the test made, checked field by field, its manifest verified,
// written 0700/0600, with --freeze thawed after; and what a bad DIR gives.
func TestEvidence(t *testing.T) {
	requireEngines(t)
	image := hostileImage(t, "evidence", func(root string) {
		os.WriteFile(filepath.Join(root, "etc/tochange"), []byte("old\n"), 0o644)
		os.WriteFile(filepath.Join(root, "etc/todelete"), []byte("bye\n"), 0o644)
		os.MkdirAll(filepath.Join(root, "data/dir"), 0o755)
		os.WriteFile(filepath.Join(root, "data/dir/old"), []byte("hidden\n"), 0o644)
	})
	script := "echo new > /etc/tochange; rm /etc/todelete; echo added > /added.txt; ln -s /etc/shadow /planted-link; " +
		"rm -rf /data/dir; mkdir /data/dir; echo x > /data/dir/new; ln -s /root /dirlink; touch \"/evil$(printf '\\033[31m')\"; " +
		"dd if=/dev/zero of=/big bs=1048576 count=17 2>/dev/null; cd /tmp; httpd -f -p 127.0.0.1:8080 & sleep 100001 & touch /ready; exec sleep 100000"
	runHostile(t, "evidence", "-e", "FOO=bar", image, "sh", "-c", script)
	for deadline := time.Now().Add(20 * time.Second); ; time.Sleep(20 * time.Millisecond) {
		if _, err := eng.Docker("exec", "evidence", "test", "-e", "/ready"); err == nil {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("the container did not get ready")
		}
	}
	pid := strings.TrimSpace(dockerInspect(t, "evidence", "{{.State.Pid}}"))
	thawOnCleanup(t, pid)
	id := strings.TrimSpace(dockerInspect(t, "evidence", "{{.Id}}"))
	imageID := strings.TrimSpace(dockerInspect(t, "evidence", "{{.Image}}"))
	dir := filepath.Join(t.TempDir(), "bundle")
	log := filepath.Join(t.TempDir(), "audit.log")
	r := cnsenter(t, nil, "-t", "docker://evidence", "--evidence", dir, "--freeze", "--audit-log", log)
	if r.code != 0 || strings.Count(r.stderr, "\n") != 1 || !strings.Contains(r.stderr, "evidence of docker://evidence written to") {
		t.Fatalf("capture: %v", r)
	}
	if s, _ := freezerState(t, pid); s != "THAWED" {
		t.Errorf("after the capture: %s", s)
	}

	// Every file is listed in the manifest, which sha256sum verifies; 0600
	// files in 0700 directories.
	check := exec.Command("sha256sum", "--strict", "-c", "MANIFEST.sha256")
	check.Dir = dir
	if out, err := check.CombinedOutput(); err != nil {
		t.Errorf("the manifest does not verify: %v\n%s", err, out)
	}
	manifest, _ := os.ReadFile(filepath.Join(dir, "MANIFEST.sha256"))
	filepath.Walk(dir, func(p string, info os.FileInfo, err error) error {
		rel, _ := filepath.Rel(dir, p)
		switch {
		case info.IsDir() && info.Mode().Perm() != 0o700, !info.IsDir() && info.Mode().Perm() != 0o600:
			t.Errorf("%s: mode %v", rel, info.Mode())
		case !info.IsDir() && !info.Mode().IsRegular():
			t.Errorf("%s is not a regular file: %v", rel, info.Mode())
		case !info.IsDir() && rel != "MANIFEST.sha256" && !strings.Contains(string(manifest), "  "+rel+"\n"):
			t.Errorf("%s is not in the manifest", rel)
		}
		return nil
	})

	var meta struct {
		Version     int
		ContainerID string `json:"container_id"`
		PID         int
		Runtime     string
		State       string
		Freeze      string
		Errors      []string
	}
	readJSON(t, filepath.Join(dir, "evidence.json"), &meta)
	if meta.Version != 1 || meta.ContainerID != id || strconv.Itoa(meta.PID) != pid || meta.Runtime != "docker" || meta.State != "running" || meta.Freeze != "frozen" || len(meta.Errors) != 0 {
		t.Errorf("evidence.json: %+v", meta)
	}
	var inspect struct{ Id string }
	readJSON(t, filepath.Join(dir, "engine/inspect.json"), &inspect)
	var spec struct{ Process struct{ Args []string } }
	readJSON(t, filepath.Join(dir, "engine/config.json"), &spec)
	if inspect.Id != id || len(spec.Process.Args) != 3 || spec.Process.Args[2] != script {
		t.Errorf("engine records: %q %q", inspect.Id, spec.Process.Args)
	}
	var img struct{ Reference, ID string }
	readJSON(t, filepath.Join(dir, "image.json"), &img)
	if img.Reference != image || img.ID != imageID {
		t.Errorf("image.json: %+v, want %s %s", img, image, imageID)
	}

	// Processes: the init, httpd and the sleeps, with their environment,
	// executable's hash, namespaces, seccomp mode; the listening socket.
	var procs []process
	readJSON(t, filepath.Join(dir, "processes.json"), &procs)
	busybox := sha256Hex(t, "/bin/busybox")
	byArgs := map[string]process{}
	for _, p := range procs {
		byArgs[strings.Join(p.Cmdline, " ")] = p
		if p.Exe.SHA256 != busybox || p.Seccomp != "filter" || p.Namespaces["net"] != nsLink(t, pid, "net") || !slices.Contains(p.Environ, "FOO=bar") || p.Capabilities["bounding"] == "" {
			t.Errorf("process %d: %+v", p.PID, p)
		}
	}
	initP, httpd := byArgs["sleep 100000"], byArgs["httpd -f -p 127.0.0.1:8080"]
	if strconv.Itoa(initP.PID) != pid || httpd.PID == 0 || byArgs["sleep 100001"].PID == 0 || httpd.Cwd != "/tmp" || len(procs) != 3 {
		t.Errorf("processes: %+v", procs)
	}
	var sockets []struct {
		Proto, Local, State string
		PIDs                []int
	}
	readJSON(t, filepath.Join(dir, "network/sockets.json"), &sockets)
	found := false
	for _, s := range sockets {
		found = found || s.Proto == "tcp" && s.Local == "127.0.0.1:8080" && s.State == "LISTEN" && slices.Equal(s.PIDs, []int{httpd.PID})
	}
	if !found {
		t.Errorf("no listening socket of httpd in %+v", sockets)
	}
	for _, f := range []string{"network/route", "network/tcp", "network/unix", "processes/" + pid + "/status", "processes/" + pid + "/environ"} {
		if _, err := os.Stat(filepath.Join(dir, f)); err != nil {
			t.Error(err)
		}
	}
	if m, _ := os.ReadFile(filepath.Join(dir, "mounts/mountinfo")); !strings.Contains(string(m), " / / ") || !strings.Contains(string(m), " - overlay ") {
		t.Errorf("mounts/mountinfo: %s", m)
	}

	// The writable layer against the image.
	var changes []change
	readJSON(t, filepath.Join(dir, "filesystem/changes.json"), &changes)
	byPath := map[string]change{}
	for _, c := range changes {
		byPath[c.Path] = c
	}
	sum := func(s string) string { h := sha256.Sum256([]byte(s)); return hex.EncodeToString(h[:]) }
	for path, want := range map[string]change{
		"/etc/tochange": {Path: "/etc/tochange", Change: "changed", Type: "file", SHA256: sum("new\n"), Content: "files/sha256/" + sum("new\n")},
		"/etc/todelete": {Path: "/etc/todelete", Change: "deleted", Type: "file"},
		"/added.txt":    {Path: "/added.txt", Change: "added", Type: "file", SHA256: sum("added\n"), Content: "files/sha256/" + sum("added\n")},
		"/planted-link": {Path: "/planted-link", Change: "added", Type: "symlink", Link: "/etc/shadow"},
		"/data/dir":     {Path: "/data/dir", Change: "changed", Type: "dir", Opaque: true},
		"/data/dir/new": {Path: "/data/dir/new", Change: "added", Type: "file", SHA256: sum("x\n"), Content: "files/sha256/" + sum("x\n")},
	} {
		if got := byPath[path]; got != want {
			t.Errorf("%s: got %+v, want %+v", path, got, want)
		}
	}
	for path, c := range byPath {
		if strings.HasPrefix(path, "/dirlink/") {
			t.Errorf("the walk followed a link of the container: %+v", c)
		}
	}
	if c := byPath["/dirlink"]; c.Type != "symlink" || c.Link != "/root" {
		t.Errorf("/dirlink: %+v", c)
	}
	if c, ok := byPath[`/evil\x1b[31m`]; !ok || c.Change != "added" {
		t.Errorf("a name with an escape sequence is not listed escaped: %v", slices.Collect(maps.Keys(byPath)))
	}
	var big struct {
		SHA256, Content, Note string
	}
	for _, raw := range rawChanges(t, dir) {
		if raw["path"] == "/big" {
			big.SHA256, _ = raw["sha256"].(string)
			big.Content, _ = raw["content"].(string)
			big.Note, _ = raw["note"].(string)
		}
	}
	if big.SHA256 == "" || big.Content != "" || !strings.Contains(big.Note, "not kept") {
		t.Errorf("a 17 MiB file: %+v", big)
	}
	if _, ok := byPath["/data/dir/old"]; ok {
		t.Errorf("an image file under an opaque directory is listed: %+v", byPath["/data/dir/old"])
	}
	if kept, _ := os.ReadFile(filepath.Join(dir, "files/sha256", sum("new\n"))); string(kept) != "new\n" {
		t.Errorf("kept content: %q", kept)
	}
	// The planted link to the host's /etc/shadow was read as a link only.
	if _, err := os.Stat(filepath.Join(dir, "files/sha256", sha256Hex(t, "/etc/shadow"))); err == nil {
		t.Errorf("the host's /etc/shadow was kept through the container's link")
	}

	// The audit record, in the bundle and in the log.
	audit, _ := os.ReadFile(filepath.Join(dir, "audit.json"))
	logged, _ := os.ReadFile(log)
	var rec map[string]any
	if json.Unmarshal(audit, &rec) != nil || rec["event"] != "evidence" || rec["container_id"] != id || rec["freeze"] != "frozen" || string(logged) != string(audit) {
		t.Errorf("audit: %s, log: %s", audit, logged)
	}

	t.Run("bad DIR", func(t *testing.T) {
		oneLineError(t, cnsenter(t, nil, "-t", "docker://evidence", "--evidence", dir), "exists and is not empty")
		oneLineError(t, cnsenter(t, nil, "-t", "docker://evidence", "--evidence", "/nonexistent/x"), "does not exist")
		oneLineError(t, cnsenter(t, nil, "-t", "docker://evidence", "--evidence", filepath.Join(t.TempDir(), "new"), "ls"), "runs no program")
		link := filepath.Join(t.TempDir(), "link")
		os.Symlink(t.TempDir(), link)
		oneLineError(t, cnsenter(t, nil, "-t", "docker://evidence", "--evidence", link), "is not a directory")
		theirs := filepath.Join(t.TempDir(), "theirs")
		os.Mkdir(theirs, 0o777)
		os.Chown(theirs, 1000, 1000)
		oneLineError(t, cnsenter(t, nil, "-t", "docker://evidence", "--evidence", theirs), "is not ours")
		if names, _ := os.ReadDir(theirs); len(names) != 0 {
			t.Errorf("written into a directory of another user's: %v", names)
		}
		// Ours, but others may write to it (/dev/shm): they could plant
		// links in it before it is filled.
		shared := filepath.Join(t.TempDir(), "shared")
		os.Mkdir(shared, 0o700)
		os.Chmod(shared, 0o777|os.ModeSticky)
		oneLineError(t, cnsenter(t, nil, "-t", "docker://evidence", "--evidence", shared), "writable by others")
		if names, _ := os.ReadDir(shared); len(names) != 0 {
			t.Errorf("written into a directory others may write to: %v", names)
		}
	})
}

// TestEvidenceHostileRoot: a container with CAP_SYS_ADMIN mounts an overlay of its
// own over its root, whose upperdir names a directory that also exists on
// the host, holding a host secret. The capture must not take the
// container's word for where its writable layer is (its mount table is its
// own to write): the host's directory is never read.
func TestEvidenceHostileRoot(t *testing.T) {
	requireEngines(t)
	host := filepath.Join(t.TempDir(), "hostsecret")
	secret := fmt.Sprintf("host secret %d\n", time.Now().UnixNano())
	os.MkdirAll(filepath.Join(host, "upper"), 0o700)
	if err := os.WriteFile(filepath.Join(host, "upper", "secret"), []byte(secret), 0o600); err != nil {
		t.Fatal(err)
	}
	script := fmt.Sprintf("mkdir -p %[1]s && mount -t tmpfs tmpfs %[1]s && mkdir %[1]s/upper %[1]s/work %[1]s/lower && mount -t overlay overlay -o lowerdir=%[1]s/lower,upperdir=%[1]s/upper,workdir=%[1]s/work / ; exec sleep 100000", host)
	runHostile(t, "hostileroot", "--cap-add", "SYS_ADMIN", "--security-opt", "seccomp=unconfined", engines.BusyboxImage, "sh", "-c", script)
	pid := strings.TrimSpace(dockerInspect(t, "hostileroot", "{{.State.Pid}}"))
	for deadline := time.Now().Add(20 * time.Second); ; time.Sleep(20 * time.Millisecond) {
		if m, _ := os.ReadFile("/proc/" + pid + "/mountinfo"); strings.Contains(string(m), "upperdir="+host+"/upper") {
			break
		}
		if time.Now().After(deadline) {
			logs, _ := eng.Docker("logs", "hostileroot")
			m, _ := os.ReadFile("/proc/" + pid + "/mountinfo")
			t.Fatalf("the container's own root mount is not in its table: %s\n%s", logs, m)
		}
	}
	dir := filepath.Join(t.TempDir(), "bundle")
	r := cnsenter(t, nil, "-t", "docker://hostileroot", "--evidence", dir)
	if r.code != 0 {
		t.Fatalf("capture: %v", r)
	}
	sum := sha256.Sum256([]byte(secret))
	filepath.Walk(dir, func(p string, info os.FileInfo, err error) error {
		if info.Mode().IsRegular() {
			data, _ := os.ReadFile(p)
			if strings.Contains(string(data), strings.TrimSpace(secret)) || strings.Contains(string(data), hex.EncodeToString(sum[:])) {
				t.Errorf("%s holds the host's secret, or its hash", p)
			}
		}
		return nil
	})
	if layers, err := os.ReadFile(filepath.Join(dir, "filesystem/layers.json")); err == nil && strings.Contains(string(layers), host) {
		t.Errorf("layers.json names the container's choice: %s", layers)
	}
}

// TestPluginFreezeAndEvidence: docker nsenter --read-only --freeze freezes
// the container for the session (its program out of the frozen cgroup,
// which it would otherwise join) and thaws it after; --evidence writes a
// bundle that verifies; bad combinations are usage errors.
func TestPluginFreezeAndEvidence(t *testing.T) {
	pid := frozenContainer(t, "pluginfreeze")
	d := newDockerCLI(t)
	r := d.run(t, "", "nsenter", "--read-only", "--freeze", "pluginfreeze", "sh", "-c", "cat /sys/fs/cgroup/freezer/freezer.state 2>/dev/null; echo in")
	if r.code != 0 || !strings.HasSuffix(r.stdout, "in\n") {
		t.Errorf("session: %v", r)
	}
	if s, _ := freezerState(t, pid); s != "THAWED" {
		t.Errorf("after the session: %s", s)
	}
	// During the session, seen from the host.
	cmd := exec.Command("docker", "nsenter", "-i", "--read-only", "--freeze", "pluginfreeze", "sh", "-c", "echo ready; read x")
	cmd.Env = append(append(os.Environ(), eng.Env()...), d.env...)
	in, _ := cmd.StdinPipe()
	out, _ := cmd.StdoutPipe()
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cmd.Process.Kill(); cmd.Wait() })
	if l, err := bufio.NewReader(out).ReadString('\n'); err != nil || l != "ready\n" {
		t.Fatalf("no ready: %q %v", l, err)
	}
	if s, _ := freezerState(t, pid); s != "FROZEN" {
		t.Errorf("during the session: %s", s)
	}
	fmt.Fprintln(in, "go")
	cmd.Wait()
	if s, _ := freezerState(t, pid); s != "THAWED" {
		t.Errorf("after the session: %s", s)
	}

	dir := filepath.Join(t.TempDir(), "bundle")
	r = d.run(t, "", "nsenter", "--evidence", dir, "--freeze", "pluginfreeze")
	if r.code != 0 || !strings.Contains(r.stderr, "evidence of pluginfreeze written to") {
		t.Fatalf("evidence: %v", r)
	}
	check := exec.Command("sha256sum", "--strict", "-c", "MANIFEST.sha256")
	check.Dir = dir
	if out, err := check.CombinedOutput(); err != nil {
		t.Errorf("the manifest does not verify: %v\n%s", err, out)
	}
	var meta struct {
		ContainerID string `json:"container_id"`
		Freeze      string
	}
	readJSON(t, filepath.Join(dir, "evidence.json"), &meta)
	if meta.ContainerID != strings.TrimSpace(dockerInspect(t, "pluginfreeze", "{{.Id}}")) || meta.Freeze != "frozen" {
		t.Errorf("evidence.json: %+v", meta)
	}
	for _, bad := range [][]string{
		{"--freeze", "pluginfreeze", "true"},
		{"--freeze", "--read-only", "-d", "pluginfreeze", "true"},
		{"--evidence", filepath.Join(t.TempDir(), "x"), "pluginfreeze", "ls"},
	} {
		if r := d.run(t, "", append([]string{"nsenter"}, bad...)...); r.code != 125 || !strings.Contains(r.stderr, "--") {
			t.Errorf("%q: %v", bad, r)
		}
	}
	if r := d.run(t, "", "nsenter", "--evidence", dir, "pluginfreeze"); r.code != 1 || !strings.Contains(r.stderr, "exists and is not empty") {
		t.Errorf("an existing bundle: %v", r)
	}
	if s, _ := freezerState(t, pid); s != "THAWED" {
		t.Errorf("at the end: %s", s)
	}
}

// TestFreezeWholeContainer: a container with writable cgroups can make a
// cgroup below its own and move its init there (the test does it from the
// host, as such a container would); --freeze still freezes the container's
// own cgroup, the one named by its ID, and so its other processes.
func TestFreezeWholeContainer(t *testing.T) {
	pid := frozenContainer(t, "freezewhole")
	_, file := freezerState(t, pid)
	if !strings.HasSuffix(file, "freezer.state") {
		t.Skip("needs the cgroup v1 freezer, which this machine does not mount")
	}
	own := filepath.Dir(file)
	below := filepath.Join(own, "escaped")
	if err := os.Mkdir(below, 0o755); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		os.WriteFile(filepath.Join(own, "cgroup.procs"), []byte(pid), 0)
		os.WriteFile(filepath.Join(below, "freezer.state"), []byte("THAWED"), 0)
		os.Remove(below)
	})
	if err := os.WriteFile(filepath.Join(below, "cgroup.procs"), []byte(pid), 0); err != nil {
		t.Fatal(err)
	}
	cmd, in, _ := frozenSession(t, "freezewhole")
	if s, _ := os.ReadFile(file); strings.TrimSpace(string(s)) != "FROZEN" {
		t.Errorf("the container's own cgroup %s is %s during the session", own, s)
	}
	fmt.Fprintln(in, "go")
	cmd.Wait()
	if s, _ := os.ReadFile(file); strings.TrimSpace(string(s)) != "THAWED" {
		t.Errorf("after the session: %s", s)
	}
}

// TestPodmanEvidence: a Podman container's bundle (its writable layer from
// its own root mount, as for the other engines; its spec from Podman's
// bundle) and a frozen session on it, thawed after.
func TestPodmanEvidence(t *testing.T) {
	p := newPodman(t)
	id := p.run("podevidence")
	if out, err := p.podman("exec", "podevidence", "sh", "-c", "echo changed > /data/marker; echo new > /added"); err != nil {
		t.Fatalf("podman exec: %v %s", err, out)
	}
	pidText, err := p.podman("inspect", "-f", "{{.State.Pid}}", "podevidence")
	if err != nil {
		t.Fatal(err)
	}
	thawOnCleanup(t, pidText)
	dir := filepath.Join(t.TempDir(), "bundle")
	r := cnsenter(t, p.env(), "-t", "podman://podevidence", "--evidence", dir, "--freeze")
	if r.code != 0 {
		t.Fatalf("capture: %v", r)
	}
	if s, _ := freezerState(t, pidText); s != "THAWED" {
		t.Errorf("after the capture: %s", s)
	}
	check := exec.Command("sha256sum", "--strict", "-c", "MANIFEST.sha256")
	check.Dir = dir
	if out, err := check.CombinedOutput(); err != nil {
		t.Errorf("the manifest does not verify: %v\n%s", err, out)
	}
	var meta struct {
		ContainerID string `json:"container_id"`
		Runtime     string
		Errors      []string
	}
	readJSON(t, filepath.Join(dir, "evidence.json"), &meta)
	var spec struct{ Process struct{ Args []string } }
	readJSON(t, filepath.Join(dir, "engine/config.json"), &spec)
	if meta.ContainerID != id || meta.Runtime != "podman" || !slices.Equal(spec.Process.Args, []string{"sleep", "100000"}) {
		t.Errorf("evidence.json %+v, spec %q", meta, spec.Process.Args)
	}
	var changes []change
	readJSON(t, filepath.Join(dir, "filesystem/changes.json"), &changes)
	var got []string
	for _, c := range changes {
		got = append(got, c.Change+" "+c.Path)
	}
	if !slices.Contains(got, "changed /data/marker") || !slices.Contains(got, "added /added") {
		t.Errorf("changes: %q (errors %q)", got, meta.Errors)
	}
	r = cnsenter(t, p.env(), "-t", "podman://podevidence", "-a", "--read-only", "--freeze", "cat", "/data/marker")
	if r.code != 0 || r.stdout != "changed\n" {
		t.Errorf("frozen session: %v", r)
	}
	if s, _ := freezerState(t, pidText); s != "THAWED" {
		t.Errorf("after the session: %s", s)
	}
}
