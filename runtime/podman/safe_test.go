package podman

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/cnsenter/cnsenter/runtime"
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
	// The spec (config.json), which runtime/spec would read: given as
	// data read here, or not at all.
	config := filepath.Join(st.root, "overlay-containers", idWeb, "userdata", "config.json")
	os.MkdirAll(filepath.Dir(config), 0o700)
	if err := syscall.Mkfifo(config, 0o600); err != nil {
		t.Fatal(err)
	}
	chown()
	within(t, "taking a spec that is a FIFO", func() {
		if c := a.container(record{ID: idWeb, driver: "overlay", store: st}); c.SpecFile != "" || c.Spec != nil {
			t.Errorf("container: spec file %q, spec %q from a FIFO", c.SpecFile, c.Spec)
		}
	})
	os.Remove(config)
	os.WriteFile(config, []byte(`{"ociVersion":"1.0.2"}`), 0o600)
	chown()
	if c := a.container(record{ID: idWeb, driver: "overlay", store: st}); c.SpecFile != "" || string(c.Spec) != `{"ociVersion":"1.0.2"}` {
		t.Errorf("container: spec file %q, spec %q", c.SpecFile, c.Spec)
	}
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

// userContainer writes a stopped container of another user's store: its
// record, its layer (one, whose diff is made by diff) and its spec.
func userContainer(t *testing.T, st *store, diff func(path string), spec string) {
	t.Helper()
	layer := strings.Repeat("e", 64)
	write := func(path, content string) {
		t.Helper()
		if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, []byte(content), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	write(filepath.Join(st.root, "overlay-containers", "containers.json"), `[{"id":"`+idStop+`","names":["stopped"],"layer":"`+layer+`"}]`)
	write(filepath.Join(st.root, "overlay-layers", "layers.json"), `[{"id":"`+layer+`"}]`)
	write(filepath.Join(st.root, "overlay-containers", idStop, "userdata", "config.json"), spec)
	os.MkdirAll(filepath.Join(st.root, "overlay", layer), 0o700)
	diff(filepath.Join(st.root, "overlay", layer, "diff"))
}

// TestUserStoreLayerLink: another user's layer directory that is a link
// (to /root) is refused; a real one is named by a descriptor of the very
// directory checked.
func TestUserStoreLayerLink(t *testing.T) {
	st, chown := userStore(t)
	userContainer(t, st, func(p string) {
		if err := os.Symlink("/root", p); err != nil {
			t.Fatal(err)
		}
	}, `{}`)
	chown()
	a := New("", "")
	a.own = st
	files, err := a.ContainerFiles(context.Background(), runtime.Container{ID: idStop})
	if err == nil || !strings.Contains(err.Error(), "symbolic link") {
		t.Errorf("ContainerFiles: %+v %v, want the linked layer refused", files, err)
	}
	// The overlay directory on the way a link.
	os.Rename(filepath.Join(st.root, "overlay"), filepath.Join(st.root, "real"))
	os.Symlink("real", filepath.Join(st.root, "overlay"))
	os.Remove(filepath.Join(st.root, "real", strings.Repeat("e", 64), "diff"))
	os.Mkdir(filepath.Join(st.root, "real", strings.Repeat("e", 64), "diff"), 0o700)
	chown()
	if files, err := a.ContainerFiles(context.Background(), runtime.Container{ID: idStop}); err == nil {
		t.Errorf("ContainerFiles: %+v through a linked overlay directory", files)
	}
	os.Remove(filepath.Join(st.root, "overlay"))
	os.Rename(filepath.Join(st.root, "real"), filepath.Join(st.root, "overlay"))
	diff := filepath.Join(st.root, "overlay", strings.Repeat("e", 64), "diff")
	files, err = a.ContainerFiles(context.Background(), runtime.Container{ID: idStop})
	if err != nil || len(files.Layers) != 1 {
		t.Fatalf("ContainerFiles: %+v %v", files, err)
	}
	got, err1 := os.Stat(files.Layers[0])
	want, err2 := os.Stat(diff)
	if err1 != nil || err2 != nil || !os.SameFile(got, want) {
		t.Errorf("layer %s is not %s (%v %v)", files.Layers[0], diff, err1, err2)
	}
	if os.Geteuid() == 0 {
		// A layer of somebody else's (root's) in the user's store.
		os.Lchown(diff, 0, 0)
		if files, err := a.ContainerFiles(context.Background(), runtime.Container{ID: idStop}); err == nil {
			t.Errorf("ContainerFiles: %+v with root's directory as the user's layer", files)
		}
	}
}

// TestUserStoreBindMounts: the bind mounts another user's spec names
// (host /etc) are not shown, and a note says so; root's are.
func TestUserStoreBindMounts(t *testing.T) {
	st, chown := userStore(t)
	spec := `{"mounts":[{"destination":"/x","type":"bind","source":"/etc","options":["rbind"]}]}`
	userContainer(t, st, func(p string) { os.Mkdir(p, 0o700) }, spec)
	chown()
	a := New("", "")
	a.own = st
	files, err := a.ContainerFiles(context.Background(), runtime.Container{ID: idStop})
	if err != nil || len(files.Mounts) != 0 || !strings.Contains(files.Note, "/x") {
		t.Errorf("ContainerFiles: %+v %v, want no mount and a note", files, err)
	}
	st.uid = 0 // the same as root's store
	files, err = a.ContainerFiles(context.Background(), runtime.Container{ID: idStop})
	if err != nil || len(files.Mounts) != 1 || files.Mounts[0].Source != "/etc" {
		t.Errorf("ContainerFiles of root's store: %+v %v, want its bind mount", files, err)
	}
}
