package e2e

import (
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"testing"

	"github.com/cnsenter/cnsenter/test/engines"
)

// TestStoppedAndImageFiles: --host-tools on a container that runs no
// process shows its files as it left them, read-only at $CONTAINER_ROOT, in
// the host's namespaces: one that exited with files changed in its
// writable layer and volumes (a bind mount, a named volume), one that
// crashed (exit 139), one created and never started, and an image never
// run; each with dockerd up, then dead (its state on disk, the data root
// from CNSENTER_DOCKER_ROOT). A hostile container's links (an absolute one
// to a host file, one to a host file to write, a volume's mount point made
// a link to /) lead nowhere on the host. No session leaves a mount in ours,
// even one killed with SIGKILL. Engines of the test's own: their dockerd is
// killed.
func TestStoppedAndImageFiles(t *testing.T) {
	e := ownEngines(t)
	defer e.Stop()
	testStoppedDocker(t, e)
}

// TestStoppedOverlay2Today: the same with today's dockerd on its overlay2
// graph driver (its containerd image store turned off), so that each
// generation's dockerd is tested with both stores: TestStoppedAndImageFiles
// has dockerd 20.10 on overlay2 and today's on containerd's snapshots.
func TestStoppedOverlay2Today(t *testing.T) {
	requireEngines(t)
	if eng.Generation == engines.Debian {
		t.Skip("dockerd 20.10 has no containerd image store: TestStoppedAndImageFiles is its overlay2")
	}
	e, err := engines.StartWith(engines.Options{Overlay2: true})
	if err != nil {
		t.Fatal(err)
	}
	defer e.Stop()
	if driver, err := e.Docker("info", "-f", "{{.Driver}}"); err != nil || driver != "overlay2" {
		t.Fatalf("dockerd's storage is %q (%v), not overlay2", driver, err)
	}
	testStoppedDocker(t, e)
}

func testStoppedDocker(t *testing.T, e *engines.Engines) {
	hostDir := t.TempDir()
	os.WriteFile(filepath.Join(hostDir, "host.txt"), []byte("from the host\n"), 0o644)
	canary := filepath.Join(t.TempDir(), "canary")
	os.WriteFile(canary, []byte("host secret\n"), 0o600)
	written := filepath.Join(t.TempDir(), "written")
	for _, args := range [][]string{
		{"run", "--name", "changed", "-v", hostDir + ":/data", "-v", "stoppedvol:/vol", engines.BusyboxImage,
			"sh", "-c", "echo changed > /etc/changed && rm /etc/group && echo inside > /vol/v.txt"},
		{"create", "--name", "fresh", engines.BusyboxImage, "true"},
		// A volume at /a/b, whose parent the container then makes a link
		// to the host's root; links to a host file to read and to write.
		{"run", "--name", "hostile", "-v", "hostilevol:/a/b", engines.BusyboxImage, "sh", "-c",
			"echo planted > /a/b/p.txt && mv /a /a2 && ln -s / /a && ln -s " + canary + " /leak && ln -s " + written + " /leakw"},
	} {
		if _, err := e.Docker(args...); err != nil {
			t.Fatal(err)
		}
	}
	// For --evidence: a file changed, one added, one deleted, exit 3.
	if out, err := e.Docker("run", "--name", "evstop", "-v", hostDir+":/data", engines.BusyboxImage, "sh", "-c", stoppedScript); err == nil || !strings.Contains(err.Error(), "3") {
		t.Fatalf("evstop: %v %s", err, out)
	}
	evID, err := e.Docker("inspect", "-f", "{{.Id}}", "evstop")
	if err != nil {
		t.Fatal(err)
	}
	// A process that kills itself with SIGSEGV, whose status the init
	// returns (an init itself ignores signals it has no handler for): exit
	// 139, as a crash.
	if out, err := e.Docker("run", "--name", "crashed", engines.BusyboxImage, "sh", "-c", "echo before > /crash.txt; sh -c 'kill -SEGV $$'; exit $?"); err == nil || !strings.Contains(err.Error(), "139") {
		t.Fatalf("the crash: %v %s", err, out)
	}
	if code, err := e.Docker("inspect", "-f", "{{.State.ExitCode}}", "crashed"); err != nil || code != "139" {
		t.Fatalf("crashed: exit %q %v", code, err)
	}
	d := newDockerCLI(t)
	// The mount table, less the mounts of the engines' own directory,
	// which dockerd unmounts when it likes (a container's rootfs, a while
	// after it exited) and Stop removes before the cleanups: a view a
	// session left would be at /mnt, or be an overlay of layers.
	mounts := func() string { return mountsBut(t, e.Dir) }
	before := mounts()
	t.Cleanup(func() {
		if after := mounts(); after != before {
			t.Errorf("the host's mount table changed: %s", mountDiff(before, after))
		}
	})
	type session struct {
		args   []string // cnsenter's
		plugin []string // docker nsenter's
		script string
		want   []string
		what   string
	}
	hostNet, err := os.Readlink("/proc/self/ns/net")
	if err != nil {
		t.Fatal(err)
	}
	imageID, err := e.Docker("images", "-q", engines.NoShellImage)
	if err != nil || len(imageID) != 12 {
		t.Fatalf("the image's short ID: %q %v", imageID, err)
	}
	script := func(s string) string { return "cd $CONTAINER_ROOT && " + s }
	sessions := []session{
		{[]string{"-t", "docker://changed"}, []string{"changed"},
			script("cat etc/changed data/host.txt vol/v.txt; ls etc; touch etc/x 2>&1; touch data/y 2>&1; readlink /proc/self/ns/net"),
			[]string{"changed\nfrom the host\ninside\n", "etc/x': Read-only file system", "data/y': Read-only file system", hostNet}, "docker://changed (exited)"},
		{[]string{"-t", "docker://crashed"}, []string{"crashed"}, script("cat crash.txt; ls bin/busybox"),
			[]string{"before\n", "bin/busybox\n"}, "docker://crashed (exited)"},
		{[]string{"-t", "docker://fresh"}, []string{"fresh"}, script("ls bin/busybox && echo fresh-ok"),
			[]string{"fresh-ok"}, "docker://fresh (created)"},
		{[]string{"--image", "docker://" + engines.NoShellImage}, []string{"--image", engines.NoShellImage},
			script("ls; ls etc 2>&1; true"), []string{"busybox\n", "No such file"}, "image docker://" + engines.NoShellImage},
		// By a prefix of its ID, as docker images shows it.
		{[]string{"--image", "docker://" + imageID}, []string{"--image", imageID},
			script("ls"), []string{"busybox\n"}, "image docker://" + imageID},
	}
	check := func(state string, env []string) {
		t.Helper()
		env = append(append(e.Env(), "CNSENTER_TIMEOUT=1s"), env...)
		for _, s := range sessions {
			r := runBinary(t, env, bin+"/cnsenter", append(append([]string{"--host-tools"}, s.args...), "/bin/sh", "-c", s.script)...)
			for _, w := range s.want {
				if r.code != 0 || !strings.Contains(r.stdout, w) {
					t.Errorf("dockerd %s, cnsenter %q: want %q in its output, got %v", state, s.args, w, r)
				}
			}
			if !strings.Contains(r.stderr, "cnsenter: "+s.what+" runs no process: its files as they were left, read-only at /mnt ($CONTAINER_ROOT)") {
				t.Errorf("dockerd %s, cnsenter %q: no line saying these are the files of %s: %v", state, s.args, s.what, r)
			}
			if strings.Contains(r.stdout, "\nx\n") || strings.Contains(r.stdout, "\ngroup\n") {
				t.Errorf("dockerd %s, %q: a file written or deleted is there: %v", state, s.args, r)
			}
			args := append([]string{"-H", e.DockerHost, "nsenter", "--host-tools"}, s.plugin...)
			r = d.runRaw(t, "", append(env, "CONTAINERD_ADDRESS="+e.ContainerdAddress), append(args, "/bin/sh", "-c", s.script)...)
			for _, w := range s.want {
				if r.code != 0 || !strings.Contains(r.stdout, w) {
					t.Errorf("dockerd %s, docker nsenter %q: want %q in its output, got %v", state, s.plugin, w, r)
				}
			}
			if !strings.Contains(r.stderr, "runs no process: its files as they were left") {
				t.Errorf("dockerd %s, docker nsenter %q: no line saying these are not a live container's: %v", state, s.plugin, r)
			}
		}
		// By its bare name, which every runtime is asked for.
		if r := runBinary(t, env, bin+"/cnsenter", "--host-tools", "-t", "changed", "/bin/cat", "/mnt/etc/changed"); r.code != 0 || r.stdout != "changed\n" {
			t.Errorf("dockerd %s, by its bare name: %v", state, r)
		}
		// With --read-only (Landlock) and an audit log too.
		audit := filepath.Join(t.TempDir(), "audit.log")
		r := runBinary(t, env, bin+"/cnsenter", "--host-tools", "--read-only", "--audit-log", audit, "-t", "docker://changed", "/bin/sh", "-c", "cat $CONTAINER_ROOT/etc/changed")
		log, _ := os.ReadFile(audit)
		if r.code != 0 || r.stdout != "changed\n" || strings.Count(string(log), "\n") != 2 || !strings.Contains(string(log), `"target":"docker://changed"`) {
			t.Errorf("dockerd %s, --read-only --audit-log: %v\n%s", state, r, log)
		}
		// What has no meaning without a process, or is not there: one line.
		for _, bad := range []struct {
			args []string
			want string
		}{
			{[]string{"--host-tools", "-t", "docker://changed", "-n", "true"}, "runs no process: it has no namespace to enter"},
			{[]string{"--host-tools", "--image", "docker://ghost", "true"}, "docker image ghost: "},
			{[]string{"--image", "docker://" + engines.BusyboxImage, "true"}, "--image shows an image's files with --host-tools"},
			{[]string{"--host-tools", "--image", engines.BusyboxImage, "true"}, "is not RUNTIME://IMAGE"},
			{[]string{"--host-tools", "--container-root", "/nonexistent", "-t", "docker://changed", "true"}, "--container-root: /nonexistent is not an existing directory"},
			{[]string{"--host-tools", "--read-only", "--freeze", "-t", "docker://changed", "true"}, "--freeze has no meaning without one"},
		} {
			oneLineError(t, runBinary(t, env, bin+"/cnsenter", bad.args...), bad.want)
		}
		// --evidence needs no --host-tools: it runs nothing.
		checkStoppedEvidence(t, state, append(env, "CONTAINERD_ADDRESS="+e.ContainerdAddress), d, e.DockerHost, strings.TrimSpace(evID), hostDir, state == "up")
		// Without --host-tools, still an error, now suggesting it.
		r = runBinary(t, env, bin+"/cnsenter", "-t", "docker://changed", "true")
		if r.code != 1 || !strings.Contains(r.stderr, "see its files with --host-tools") {
			t.Errorf("dockerd %s, without --host-tools: %v", state, r)
		}
		r = d.runRaw(t, "", append(env, "CONTAINERD_ADDRESS="+e.ContainerdAddress), "-H", e.DockerHost, "nsenter", "changed", "true")
		if r.code != 1 || !strings.Contains(r.stderr, "see its files with --host-tools") {
			t.Errorf("dockerd %s, docker nsenter without --host-tools: %v", state, r)
		}
		// The hostile container: its links are not followed (the view is
		// nosymfollow), so neither the host file they name is read nor the
		// one named is written, and its volume is not mounted through the
		// link its mount point's parent became, over the host's root.
		r = runBinary(t, env, bin+"/cnsenter", "--host-tools", "-t", "docker://hostile", "/bin/sh", "-c",
			"cat $CONTAINER_ROOT/leak 2>&1; echo x > $CONTAINER_ROOT/leakw 2>&1; cat $CONTAINER_ROOT/a2/b/p.txt 2>&1; ls /p.txt 2>&1; readlink $CONTAINER_ROOT/a")
		if r.code != 0 || strings.Contains(r.stdout, "host secret") || !strings.Contains(r.stdout, "Too many levels of symbolic links") ||
			strings.Contains(r.stdout, "planted") || !strings.Contains(r.stdout, "/p.txt: No such file") || !strings.HasSuffix(r.stdout, "/\n") {
			t.Errorf("dockerd %s, the hostile container's links: %v", state, r)
		}
		if !strings.Contains(r.stderr, "/a/b not shown: its mount point, or a directory on the way, is a symbolic link") {
			t.Errorf("dockerd %s, the hostile container's volume: no line saying it is not shown: %v", state, r)
		}
		if _, err := os.Stat(written); err == nil {
			t.Errorf("dockerd %s: the host file a link of the container names was written", state)
		}
		// Its evidence lists its links as links: the host file one
		// names is not in the bundle.
		bundle := filepath.Join(t.TempDir(), "bundle")
		if r := runBinary(t, env, bin+"/cnsenter", "--evidence", bundle, "-t", "docker://hostile"); r.code != 0 {
			t.Errorf("dockerd %s: the hostile container's evidence: %v", state, r)
		} else if b := readStoppedBundle(t, bundle); b.changes["/leak"].Type != "symlink" || b.changes["/leak"].Link != canary || b.changes["/a"].Link != "/" {
			t.Errorf("dockerd %s: the hostile container's links: %+v", state, b.changes)
		}
		filepath.Walk(bundle, func(p string, info os.FileInfo, err error) error {
			if data, _ := os.ReadFile(p); err == nil && info.Mode().IsRegular() && strings.Contains(string(data), "host secret") {
				t.Errorf("dockerd %s: %s holds the host file a link of the container names", state, p)
			}
			return nil
		})
		if now := mounts(); now != before {
			t.Errorf("dockerd %s: the host's mount table changed: %s", state, mountDiff(before, now))
		}
	}
	check("up", nil)
	// From a terminal: docker nsenter -it gives the host's program a
	// pseudo-terminal, cnsenter gives it ours (there is no process of the
	// container to reach it).
	for _, line := range []string{
		"docker -H " + e.DockerHost + " nsenter -it --host-tools changed sh -c 'tty; cat /mnt/etc/changed'",
		bin + "/cnsenter --host-tools -t docker://changed sh -c 'tty; cat /mnt/etc/changed'",
	} {
		out := underScript(t, append(d.env, e.Env()...), line)
		if !strings.Contains(out, "/dev/pts/") || !strings.Contains(out, "\nchanged\n") || !strings.Contains(out, "runs no process") {
			t.Errorf("from a terminal, %s: %q", line, out)
		}
	}

	// A session killed with SIGKILL leaves nothing mounted either: the
	// view was only ever in its own mount namespace.
	cmd := execCommand(bin+"/cnsenter", append(e.Env(), "CNSENTER_TIMEOUT=1s"), "--host-tools", "-t", "docker://changed", "/bin/sh", "-c", "echo up; exec sleep 1000")
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	buf := make([]byte, 3)
	if _, err := out.Read(buf); err != nil || string(buf) != "up\n" {
		t.Errorf("the session to kill did not start: %q %v", buf, err)
	}
	syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
	cmd.Wait()
	if now := mounts(); now != before {
		t.Errorf("a session killed: the host's mount table changed: %s", mountDiff(before, now))
	}

	pidfile, _ := os.ReadFile(e.Dir + "/docker.pid")
	var dockerd int
	for _, c := range strings.TrimSpace(string(pidfile)) {
		dockerd = dockerd*10 + int(c-'0')
	}
	syscall.Kill(dockerd, syscall.SIGKILL)
	check("dead", []string{"CNSENTER_DOCKER_ROOT=" + e.Dir + "/docker"})
	// And containerd too, whose snapshots the containerd image store's are.
	syscall.Kill(daemonPID(t, filepath.Join(e.Dir, "containerd.toml")), syscall.SIGKILL)
	check("and containerd dead", []string{"CNSENTER_DOCKER_ROOT=" + e.Dir + "/docker", "CNSENTER_CONTAINERD_ROOT=" + e.Dir + "/containerd/root"})
}

// execCommand is a program of the test's, in a process group of its own,
// with env added to ours, killed if the test dies.
func execCommand(path string, env []string, args ...string) *exec.Cmd {
	cmd := exec.Command(path, args...)
	cmd.Env = append(os.Environ(), env...)
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
	return cmd
}

// mountDiff says which lines of a mount table went and came.
func mountDiff(before, after string) string {
	var b strings.Builder
	was := map[string]bool{}
	for _, l := range strings.Split(before, "\n") {
		was[l] = true
	}
	is := map[string]bool{}
	for _, l := range strings.Split(after, "\n") {
		is[l] = true
		if !was[l] {
			b.WriteString("\n+ " + l)
		}
	}
	for _, l := range strings.Split(before, "\n") {
		if !is[l] {
			b.WriteString("\n- " + l)
		}
	}
	return b.String()
}

// TestStoppedContainerdFiles: containerd's own containers with no task (one
// whose task exited after changing its files, one that crashed, one never
// started) and an image, with --host-tools: their snapshots read-only at
// $CONTAINER_ROOT, read from containerd's databases while containerd runs
// and holds them locked; the image's with containerd dead too.
func TestStoppedContainerdFiles(t *testing.T) {
	e := ownEngines(t)
	defer e.Stop()
	hostDir := t.TempDir()
	os.WriteFile(filepath.Join(hostDir, "host.txt"), []byte("from the host\n"), 0o644)
	archive := filepath.Join(t.TempDir(), "busybox.tar")
	if _, err := e.Docker("save", "-o", archive, engines.BusyboxImage); err != nil {
		t.Fatal(err)
	}
	const ns = "cnsenter-stopped"
	image := "docker.io/" + engines.BusyboxImage + ":latest"
	if _, err := e.Ctr("-n", ns, "images", "import", archive); err != nil {
		t.Fatal(err)
	}
	run := func(id string, argv ...string) error {
		args := append([]string{"-n", ns, "run", "--runc-root", filepath.Join(e.Dir, "runc"), "--cgroup", e.TaskCgroup(id),
			"--mount", "type=bind,src=" + hostDir + ",dst=/data,options=rbind:ro", image, id}, argv...)
		_, err := e.Ctr(args...)
		return err
	}
	if err := run("exited", "sh", "-c", "echo changed > /etc/changed && rm /etc/group"); err != nil {
		t.Fatal(err)
	}
	if err := run("crashed", "sh", "-c", "echo before > /crash.txt; sh -c 'kill -SEGV $$'; exit $?"); err == nil || !strings.Contains(err.Error(), "139") {
		t.Fatalf("the crash: %v", err)
	}
	if _, err := e.Ctr("-n", ns, "containers", "create", image, "fresh", "true"); err != nil {
		t.Fatal(err)
	}
	if err := run("evstop", "sh", "-c", stoppedScript); err == nil {
		t.Fatal("evstop: no exit status 3")
	}
	before := mountsBut(t, e.Dir)
	env := append(e.Env(), "CNSENTER_TIMEOUT=1s")
	for _, s := range []struct {
		args         []string
		script, want string
	}{
		{[]string{"-t", "containerd://" + ns + "/exited"}, "cat etc/changed data/host.txt; ls etc; touch etc/x 2>&1; true",
			"changed\nfrom the host\nchanged\npasswd\ntouch: cannot touch 'etc/x': Read-only file system\n"},
		{[]string{"-t", "containerd://" + ns + "/crashed"}, "cat crash.txt", "before\n"},
		{[]string{"-t", "containerd://" + ns + "/fresh"}, "ls etc", "group\npasswd\n"},
		{[]string{"--image", "containerd://" + ns + "/" + image}, "ls etc", "group\npasswd\n"},
	} {
		r := runBinary(t, env, bin+"/cnsenter", append(append([]string{"--host-tools"}, s.args...), "/bin/sh", "-c", "cd $CONTAINER_ROOT && "+s.script)...)
		if r.code != 0 || r.stdout != s.want || !strings.Contains(r.stderr, "runs no process: its files as they were left, read-only at /mnt") {
			t.Errorf("%q: want %q, got %v", s.args, s.want, r)
		}
	}
	if r := runBinary(t, env, bin+"/cnsenter", "-t", "containerd://"+ns+"/exited", "true"); r.code != 1 || !strings.Contains(r.stderr, "see its files with --host-tools") {
		t.Errorf("without --host-tools: %v", r)
	}
	checkContainerdEvidence(t, "containerd up", env, "containerd://"+ns+"/evstop")
	// A task that runs on while containerd is dead (its shim keeps it).
	if err := e.RunTask("live", "/bin/sleep", "100000"); err != nil {
		t.Fatal(err)
	}
	// containerd dead: its databases, unlocked, for an image, and for a
	// container whose cgroup has no process; one whose task runs on is
	// not shown as stopped (containerd cannot be asked for its PID).
	syscall.Kill(daemonPID(t, filepath.Join(e.Dir, "containerd.toml")), syscall.SIGKILL)
	env = append(env, "CNSENTER_CONTAINERD_ROOT="+filepath.Join(e.Dir, "containerd/root"))
	r := runBinary(t, env, bin+"/cnsenter", "--host-tools", "--image", "containerd://"+ns+"/"+image, "/bin/sh", "-c", "ls $CONTAINER_ROOT/etc")
	if r.code != 0 || r.stdout != "group\npasswd\n" {
		t.Errorf("containerd dead, the image: %v", r)
	}
	r = runBinary(t, env, bin+"/cnsenter", "--host-tools", "-t", "containerd://"+ns+"/exited", "/bin/cat", "/mnt/etc/changed")
	if r.code != 0 || r.stdout != "changed\n" || !strings.Contains(r.stderr, "found in containerd's state on disk") {
		t.Errorf("containerd dead, a container with no task: %v", r)
	}
	checkContainerdEvidence(t, "containerd dead", env, "containerd://"+ns+"/evstop")
	r = runBinary(t, env, bin+"/cnsenter", "--host-tools", "-t", "containerd://"+engines.Namespace+"/live", "true")
	if r.code != 1 || !strings.Contains(r.stderr, "cannot reach containerd") || strings.Contains(r.stderr, "runs no process") ||
		strings.Contains(r.stderr, "found in containerd's state on disk") {
		t.Errorf("containerd dead, a task running on: %v", r)
	}
	if after := mountsBut(t, e.Dir); after != before {
		t.Errorf("the host's mount table changed: %s", mountDiff(before, after))
	}
}

// mountsBut is what of our mount table a session could have left: mounts
// at or below /mnt (where the sessions mount their view), and mounts of
// dir's files (the engines' layers) anywhere but below dir itself. The
// rest changes at will on a machine where other engines run.
func mountsBut(t *testing.T, dir string) string {
	t.Helper()
	data, err := os.ReadFile("/proc/self/mountinfo")
	if err != nil {
		t.Fatal(err)
	}
	var keep []string
	for _, l := range strings.Split(string(data), "\n") {
		f := strings.Fields(l)
		if len(f) < 5 {
			continue
		}
		at := f[4]
		if at == "/mnt" || strings.HasPrefix(at, "/mnt/") || strings.Contains(l, dir) && !strings.HasPrefix(at, dir) {
			keep = append(keep, l)
		}
	}
	return strings.Join(keep, "\n")
}

// TestStoppedPodmanFiles: a Podman container that exited after changing
// its files, with a bind mount, one never started, and an image, with
// --host-tools: containers/storage's layers read-only at $CONTAINER_ROOT.
func TestStoppedPodmanFiles(t *testing.T) {
	p := newPodman(t)
	hostDir := t.TempDir()
	os.WriteFile(filepath.Join(hostDir, "host.txt"), []byte("from the host\n"), 0o644)
	if out, err := p.podman("run", "--name", "pexited", "--network", "none", "--ulimit", "nofile=1024:1024", "--ulimit", "nproc=1024:1024",
		"-v", hostDir+":/hostdata", podmanImage, "sh", "-c", "echo changed > /etc/changed && rm /etc/group"); err != nil {
		t.Skipf("podman cannot run a container on this machine: %v: %s", err, out)
	}
	if out, err := p.podman("create", "--name", "pfresh", podmanImage, "true"); err != nil {
		t.Fatalf("%v: %s", err, out)
	}
	// --evidence: its writable layer against its image, its spec from
	// Podman's bundle, no processes.
	dir := filepath.Join(t.TempDir(), "bundle")
	if r := cnsenter(t, p.env(), "--evidence", dir, "-t", "podman://pexited"); r.code != 0 || !strings.Contains(r.stderr, "no process, its files and records as it was left") {
		t.Errorf("--evidence: %v", r)
	} else {
		b := readStoppedBundle(t, dir)
		if b.State != "stopped" || b.PID != 0 || b.Runtime != "podman" || b.changes["/etc/changed"].Change != "added" || b.changes["/etc/group"].Change != "deleted" ||
			b.changes["/etc/changed"].SHA256 == "" || !slices.ContainsFunc(b.mounts, func(m map[string]string) bool { return m["destination"] == "/hostdata" }) {
			t.Errorf("--evidence: %+v", b)
		}
		var spec struct{ Process struct{ Args []string } }
		readJSON(t, filepath.Join(dir, "engine/config.json"), &spec)
		if len(spec.Process.Args) != 3 || !strings.Contains(spec.Process.Args[2], "echo changed") {
			t.Errorf("--evidence: the spec's args: %q", spec.Process.Args)
		}
	}
	before := mountsBut(t, p.root)
	for _, s := range []struct {
		args         []string
		script, want string
	}{
		{[]string{"-t", "podman://pexited"}, "cat etc/changed hostdata/host.txt data/marker; ls etc; touch etc/x 2>&1; true",
			"changed\nfrom the host\npodman-marker\nchanged\nhostname\nhosts\nmtab\npasswd\ntouch: cannot touch 'etc/x': Read-only file system\n"},
		{[]string{"-t", "podman://pfresh"}, "cat data/marker; ls etc", "podman-marker\ngroup\npasswd\n"},
		{[]string{"--image", "podman://" + podmanImage}, "cat data/marker", "podman-marker\n"},
	} {
		r := cnsenter(t, p.env(), append(append([]string{"--host-tools"}, s.args...), "/bin/sh", "-c", "cd $CONTAINER_ROOT && "+s.script)...)
		if r.code != 0 || r.stdout != s.want || !strings.Contains(r.stderr, "runs no process: its files as they were left, read-only at /mnt") {
			t.Errorf("%q: want %q, got %v", s.args, s.want, r)
		}
	}
	if after := mountsBut(t, p.root); after != before {
		t.Errorf("the host's mount table changed: %s", mountDiff(before, after))
	}
}
