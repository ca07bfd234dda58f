package podman

import (
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

// userStore is a store of a user other than root, as a root caller finds
// one: owned by uid 4242 when the test runs as root, else by the test's
// own user. chown gives what the test wrote under it to that user.
func userStore(t *testing.T) (st *store, chown func()) {
	t.Helper()
	dir := t.TempDir()
	st = &store{root: filepath.Join(dir, "root"), runRoot: filepath.Join(dir, "run"), uid: os.Geteuid()}
	if st.uid == 0 {
		st.uid = 4242
	}
	for _, d := range []string{st.root, st.runRoot} {
		if err := os.MkdirAll(d, 0o700); err != nil {
			t.Fatal(err)
		}
	}
	chown = func() {
		t.Helper()
		if os.Geteuid() != 0 {
			return
		}
		for _, d := range []string{st.root, st.runRoot} {
			err := filepath.Walk(d, func(p string, _ os.FileInfo, err error) error {
				if err != nil {
					return err
				}
				return os.Lchown(p, st.uid, st.uid)
			})
			if err != nil {
				t.Fatal(err)
			}
		}
	}
	chown()
	return st, chown
}

// within runs f, and fails the test if f has not returned in 10 s: a hang
// detector, not a timing assertion.
func within(t *testing.T, what string, f func()) {
	t.Helper()
	done := make(chan struct{})
	go func() {
		defer close(done)
		f()
	}()
	select {
	case <-done:
	case <-time.After(10 * time.Second):
		t.Fatalf("%s: still blocked after 10 s", what)
	}
}

// TestUserStoreFIFO: a FIFO as another user's containers.json (or
// pidfile) is an error, not an open that waits for a writer forever.
func TestUserStoreFIFO(t *testing.T) {
	st, chown := userStore(t)
	os.MkdirAll(filepath.Join(st.root, "overlay-containers"), 0o700)
	if err := syscall.Mkfifo(filepath.Join(st.root, "overlay-containers", "containers.json"), 0o600); err != nil {
		t.Fatal(err)
	}
	chown()
	a := New("", "")
	var err error
	within(t, "reading a store whose containers.json is a FIFO", func() { _, err = a.records(st) })
	if err == nil || !strings.Contains(err.Error(), "not a regular file") {
		t.Errorf("records: %v, want a FIFO refused", err)
	}
	os.MkdirAll(filepath.Join(st.runRoot, "overlay-containers", idWeb, "userdata"), 0o700)
	if err := syscall.Mkfifo(filepath.Join(st.runRoot, "overlay-containers", idWeb, "userdata", "pidfile"), 0o600); err != nil {
		t.Fatal(err)
	}
	chown()
	within(t, "reading a pidfile that is a FIFO", func() {
		if pid, _ := a.running(record{ID: idWeb, driver: "overlay", store: st}); pid != 0 {
			t.Errorf("running: PID %d from a FIFO", pid)
		}
	})
	// conmon.pid, as the store has it or a service names it.
	conmonPid := filepath.Join(st.runRoot, "overlay-containers", idWeb, "userdata", "conmon.pid")
	if err := syscall.Mkfifo(conmonPid, 0o600); err != nil {
		t.Fatal(err)
	}
	chown()
	within(t, "reading a conmon.pid that is a FIFO", func() {
		if childOfConmon("/proc", os.Getpid(), conmonPid, idWeb, st.uid) {
			t.Error("childOfConmon: true from a FIFO")
		}
	})
}

// TestUserStoreLinks: another user's store's files that are links (to
// /dev/zero, whose reading would never end; to a file elsewhere) are not
// followed, and a file of a third user's, or larger than the limit, is
// not read.
func TestUserStoreLinks(t *testing.T) {
	st, chown := userStore(t)
	dir := filepath.Join(st.root, "overlay-containers")
	os.MkdirAll(dir, 0o700)
	if err := os.Symlink("/dev/zero", filepath.Join(dir, "containers.json")); err != nil {
		t.Fatal(err)
	}
	chown()
	a := New("", "")
	var err error
	within(t, "reading a store whose containers.json is a link to /dev/zero", func() { _, err = a.records(st) })
	if err == nil || !strings.Contains(err.Error(), "symbolic link") {
		t.Errorf("records: %v, want a link refused", err)
	}
	// A link to a file of root's, elsewhere, holding a container.
	elsewhere := filepath.Join(t.TempDir(), "containers.json")
	os.WriteFile(elsewhere, []byte(`[{"id":"`+idWeb+`","names":["web1"]}]`), 0o644)
	os.Remove(filepath.Join(dir, "containers.json"))
	os.Symlink(elsewhere, filepath.Join(dir, "containers.json"))
	chown()
	if records, err := a.records(st); err == nil || len(records) > 0 {
		t.Errorf("records %v %v through a link out of the store", records, err)
	}
	// The directory on the way a link: no driver's directory.
	os.Remove(filepath.Join(dir, "containers.json"))
	os.Remove(dir)
	os.Symlink(filepath.Dir(elsewhere), dir)
	chown()
	if records, err := a.records(st); len(records) > 0 {
		t.Errorf("records %v %v through a linked directory", records, err)
	}
	os.Remove(dir)
	os.MkdirAll(dir, 0o700)
	// Larger than 64 MiB (sparse): refused, not read whole.
	big := filepath.Join(dir, "containers.json")
	if err := os.WriteFile(big, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	os.Truncate(big, 1<<40)
	chown()
	if _, err := a.records(st); err == nil || !strings.Contains(err.Error(), "larger than") {
		t.Errorf("records of a 1 TiB containers.json: %v", err)
	}
	if os.Geteuid() == 0 {
		// A third user's file.
		os.Truncate(big, 0)
		os.WriteFile(big, []byte(`[]`), 0o600)
		os.Lchown(big, st.uid+1, st.uid+1)
		if _, err := a.records(st); err == nil || !strings.Contains(err.Error(), "uid 4243's") {
			t.Errorf("records of a third user's containers.json: %v", err)
		}
	}
}
