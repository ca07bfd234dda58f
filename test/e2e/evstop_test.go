package e2e

import (
	"crypto/sha256"
	"encoding/hex"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

// stoppedBundle is what a test knows of the evidence bundle of a container
// that runs no process.
type stoppedBundle struct {
	State    string
	ExitCode *int `json:"exit_code"`
	PID      int
	ID       string `json:"container_id"`
	Runtime  string
	Freeze   string
	Errors   []string
	changes  map[string]change
	mounts   []map[string]string
}

// readStoppedBundle checks what every bundle of a container that runs no
// process must hold: a manifest that sha256sum verifies and that lists
// every file; no processes, sockets, routes or mount table; the audit
// record with the state; and returns evidence.json, the changes and the
// recorded mounts.
func readStoppedBundle(t *testing.T, dir string) stoppedBundle {
	t.Helper()
	check := exec.Command("sha256sum", "--strict", "-c", "MANIFEST.sha256")
	check.Dir = dir
	if out, err := check.CombinedOutput(); err != nil {
		t.Errorf("%s: the manifest does not verify: %v\n%s", dir, err, out)
	}
	manifest, _ := os.ReadFile(filepath.Join(dir, "MANIFEST.sha256"))
	filepath.Walk(dir, func(p string, info os.FileInfo, err error) error {
		rel, _ := filepath.Rel(dir, p)
		if err == nil && info.Mode().IsRegular() && rel != "MANIFEST.sha256" && !strings.Contains(string(manifest), "  "+rel+"\n") {
			t.Errorf("%s is not in the manifest", rel)
		}
		return nil
	})
	for _, absent := range []string{"processes.json", "processes", "network", "mounts/mountinfo"} {
		if _, err := os.Stat(filepath.Join(dir, absent)); err == nil {
			t.Errorf("%s: %s is there, for a container that runs no process", dir, absent)
		}
	}
	var b stoppedBundle
	readJSON(t, filepath.Join(dir, "evidence.json"), &b)
	var audit map[string]any
	readJSON(t, filepath.Join(dir, "audit.json"), &audit)
	if audit["event"] != "evidence" || audit["state"] != b.State || audit["container_id"] != b.ID {
		t.Errorf("audit.json: %v, evidence.json %+v", audit, b)
	}
	var changes []change
	readJSON(t, filepath.Join(dir, "filesystem/changes.json"), &changes)
	b.changes = map[string]change{}
	for _, c := range changes {
		b.changes[c.Path] = c
	}
	readJSON(t, filepath.Join(dir, "mounts/mounts.json"), &b.mounts)
	return b
}

// wantStoppedChanges checks the three changes the test's stopped
// containers make to their image: /etc/passwd changed, /added.txt added,
// /etc/group deleted, each file's content kept under its SHA-256.
func wantStoppedChanges(t *testing.T, what string, b stoppedBundle, dir string) {
	t.Helper()
	sum := func(s string) string { h := sha256.Sum256([]byte(s)); return hex.EncodeToString(h[:]) }
	for path, want := range map[string]change{
		"/etc/passwd": {Path: "/etc/passwd", Change: "changed", Type: "file", SHA256: sum("changed-content\n"), Content: "files/sha256/" + sum("changed-content\n")},
		"/added.txt":  {Path: "/added.txt", Change: "added", Type: "file", SHA256: sum("added\n"), Content: "files/sha256/" + sum("added\n")},
		"/etc/group":  {Path: "/etc/group", Change: "deleted", Type: "file"},
	} {
		if got := b.changes[path]; got != want {
			t.Errorf("%s: %s: got %+v, want %+v (errors %q)", what, path, got, want, b.Errors)
		}
	}
	if kept, _ := os.ReadFile(filepath.Join(dir, "files/sha256", sum("added\n"))); string(kept) != "added\n" {
		t.Errorf("%s: the added file's content kept: %q", what, kept)
	}
}

// stoppedScript makes the test's changes in a container, then exits 3.
const stoppedScript = "echo changed-content > /etc/passwd && echo added > /added.txt && rm /etc/group && exit 3"

// checkStoppedEvidence is --evidence on the exited Docker container
// "evstop" (stoppedScript, a bind mount at /data) and the crashed one
// (exit 139), by cnsenter (with --host-tools and --freeze, which change
// nothing: the note says there is nothing to freeze) and docker nsenter,
// with dockerd up or not (state): its record from the API, else from its
// state on disk.
func checkStoppedEvidence(t *testing.T, state string, env []string, d *dockerCLI, dockerHost, id, hostDir string, up bool) {
	t.Helper()
	dir := filepath.Join(t.TempDir(), "bundle")
	log := filepath.Join(t.TempDir(), "audit.log")
	r := runBinary(t, env, bin+"/cnsenter", "--evidence", dir, "--host-tools", "--freeze", "--audit-log", log, "-t", "docker://evstop")
	if r.code != 0 || !strings.Contains(r.stderr, "evidence of docker://evstop (exited: no process, its files and records as it was left) written to") ||
		!strings.Contains(r.stderr, "runs no process (exited): nothing to freeze") {
		t.Fatalf("dockerd %s: capture: %v", state, r)
	}
	b := readStoppedBundle(t, dir)
	if b.State != "exited" || b.ExitCode == nil || *b.ExitCode != 3 || b.PID != 0 || b.ID != id || b.Runtime != "docker" || b.Freeze != "" {
		t.Errorf("dockerd %s: evidence.json: %+v", state, b)
	}
	wantStoppedChanges(t, "dockerd "+state, b, dir)
	if !slices.ContainsFunc(b.mounts, func(m map[string]string) bool { return m["source"] == hostDir && m["destination"] == "/data" }) {
		t.Errorf("dockerd %s: mounts.json: %v", state, b.mounts)
	}
	for _, e := range b.Errors {
		if strings.Contains(e, "layer") {
			t.Errorf("dockerd %s: errors: %q", state, b.Errors)
		}
	}
	var img struct{ Reference, ID string }
	readJSON(t, filepath.Join(dir, "image.json"), &img)
	if img.Reference == "" || !strings.HasPrefix(img.ID, "sha256:") {
		t.Errorf("dockerd %s: image.json: %+v", state, img)
	}
	record := "engine/inspect.json"
	if !up {
		record = "engine/config.v2.json"
	}
	var rec struct{ ID, Id string }
	readJSON(t, filepath.Join(dir, record), &rec)
	if rec.ID+rec.Id != id {
		t.Errorf("dockerd %s: %s names %q", state, record, rec.ID+rec.Id)
	}
	if logged, _ := os.ReadFile(log); !strings.Contains(string(logged), `"state":"exited"`) {
		t.Errorf("dockerd %s: the audit log: %s", state, logged)
	}

	// The crash's status.
	dir = filepath.Join(t.TempDir(), "bundle")
	if r := runBinary(t, env, bin+"/cnsenter", "--evidence", dir, "-t", "docker://crashed"); r.code != 0 {
		t.Errorf("dockerd %s: the crashed container: %v", state, r)
	} else if b := readStoppedBundle(t, dir); b.State != "exited" || b.ExitCode == nil || *b.ExitCode != 139 || b.changes["/crash.txt"].Change != "added" {
		t.Errorf("dockerd %s: the crashed container: %+v", state, b)
	}

	// docker nsenter, without --host-tools.
	dir = filepath.Join(t.TempDir(), "bundle")
	r = d.runRaw(t, "", env, "-H", dockerHost, "nsenter", "--evidence", dir, "evstop")
	if r.code != 0 || !strings.Contains(r.stderr, "evidence of evstop (exited: no process") {
		t.Fatalf("dockerd %s: docker nsenter: %v", state, r)
	}
	b = readStoppedBundle(t, dir)
	if b.State != "exited" || b.ExitCode == nil || *b.ExitCode != 3 || b.ID != id {
		t.Errorf("dockerd %s: docker nsenter: evidence.json: %+v", state, b)
	}
	wantStoppedChanges(t, "dockerd "+state+", docker nsenter", b, dir)
}

// checkContainerdEvidence is --evidence on a containerd container whose
// task ran stoppedScript and is gone: its changes, and its spec from
// containerd's record (asked, or read from its database on disk when
// containerd is dead).
func checkContainerdEvidence(t *testing.T, state string, env []string, ref string) {
	t.Helper()
	dir := filepath.Join(t.TempDir(), "bundle")
	r := runBinary(t, env, bin+"/cnsenter", "--evidence", dir, "-t", ref)
	if r.code != 0 || !strings.Contains(r.stderr, "no process, its files and records as it was left") {
		t.Errorf("%s: --evidence: %v", state, r)
		return
	}
	b := readStoppedBundle(t, dir)
	if b.State == "" || b.State == "running" || b.PID != 0 || b.Runtime != "containerd" || b.ExitCode != nil {
		t.Errorf("%s: evidence.json: %+v", state, b)
	}
	wantStoppedChanges(t, state, b, dir)
	var spec struct{ Process struct{ Args []string } }
	readJSON(t, filepath.Join(dir, "engine/config.json"), &spec)
	if len(spec.Process.Args) != 3 || spec.Process.Args[2] != stoppedScript {
		t.Errorf("%s: the spec's args: %q (errors %q)", state, spec.Process.Args, b.Errors)
	}
}
