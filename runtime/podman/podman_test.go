package podman

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/cnsenter/cnsenter/runtime"
)

const (
	idWeb  = "31ad31249401f1accd5e898881f5006af3af7b757d11dd0387736b5f4172fa7b"
	idOld  = "31b0000000000000000000000000000000000000000000000000000000000001"
	idStop = "9900000000000000000000000000000000000000000000000000000000000002"
	idIce  = "7700000000000000000000000000000000000000000000000000000000000003"
)

// fixture is a store as Podman 4.3 leaves it (containers.json copied from
// one it wrote), with a /proc and a cgroup tree of its own.
func fixture(t *testing.T) *Adapter {
	t.Helper()
	dir := t.TempDir()
	a := New(filepath.Join(dir, "root"), filepath.Join(dir, "run"))
	a.proc, a.cgroupFS = filepath.Join(dir, "proc"), filepath.Join(dir, "cgroup")
	a.own.uid = 0 // root's store, whoever runs the test
	write := func(path, content string) {
		t.Helper()
		if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	write(filepath.Join(a.own.root, "overlay-containers/containers.json"), `[
{"id":"`+idWeb+`","names":["web1"],"image":"466d97b6","layer":"2a0b","metadata":"{\"image-name\":\"localhost/bb:l\",\"image-id\":\"466d97b6\",\"name\":\"web1\",\"created-at\":1796108345}","created":"2026-12-01T06:59:05.914949337Z","flags":{"MountLabel":"","ProcessLabel":""}},
{"id":"`+idOld+`","names":["old"],"image":"466d97b6","metadata":"{}"},
{"id":"`+idStop+`","names":["stopped"],"image":"466d97b6","metadata":"{}"},
{"id":"`+idIce+`","names":["ice"],"image":"466d97b6","metadata":"{}"},
{"id":"../../etc","names":["evil"],"image":"x","metadata":"{}"}
]`)
	cg := func(id string) string {
		var b strings.Builder
		for i, c := range []string{"name=systemd", "pids", "freezer", "memory"} {
			b.WriteString(string(rune('4'-i)) + ":" + c + ":/libpod_parent/libpod-" + id + "\n")
		}
		return b.String() + "0::/libpod_parent/libpod-" + id + "\n"
	}
	pidfile := func(id, pid string) string {
		return filepath.Join(a.own.runRoot, "overlay-containers", id, "userdata/pidfile")
	}
	write(pidfile(idWeb, ""), "14636")
	write(filepath.Join(a.proc, "14636/cgroup"), cg(idWeb))
	write(pidfile(idOld, ""), "200") // PID 200 is another container's now
	write(filepath.Join(a.proc, "200/cgroup"), cg(idWeb))
	write(pidfile(idStop, ""), "300") // gone
	write(pidfile(idIce, ""), "400")
	write(filepath.Join(a.proc, "400/cgroup"), cg(idIce))
	write(filepath.Join(a.cgroupFS, "freezer/libpod_parent/libpod-"+idIce, "freezer.state"), "FROZEN\n")
	write(filepath.Join(a.cgroupFS, "freezer/libpod_parent/libpod-"+idWeb, "freezer.state"), "THAWED\n")
	return a
}

func TestResolve(t *testing.T) {
	a := fixture(t)
	for _, name := range []string{"web1", idWeb, "31ad", "31a"[:3] + "d3"} {
		c, err := a.Resolve(context.Background(), name)
		if err != nil || c.ID != idWeb || c.PID != 14636 || c.Name != "web1" || c.Image != "localhost/bb:l" || c.Runtime != "podman" {
			t.Errorf("Resolve(%s) = %+v, %v", name, c, err)
		}
	}
	for name, want := range map[string]string{
		"nothing":  "podman://nothing: no such container in Podman's store",
		"31":       "podman://31: the ID prefix matches several containers",
		"old":      "podman://old: container old is not running",
		"stopped":  "podman://stopped: container stopped is not running",
		"ice":      "podman://ice: container ice is paused",
		"../x":     `"../x" is not a container reference: a name starts with a letter or a digit`,
		"evil":     "podman://evil: no such container in Podman's store",
		"web1/../": `"web1/../" is not a container reference: '/' cannot be in a container name`,
	} {
		_, err := a.Resolve(context.Background(), name)
		if err == nil || err.Error() != want {
			t.Errorf("Resolve(%s): %v, want %s", name, err, want)
		}
	}
	if _, err := a.Resolve(context.Background(), "nothing"); !errors.Is(err, runtime.ErrNotFound) {
		t.Errorf("not found does not wrap ErrNotFound: %v", err)
	}
}

func TestList(t *testing.T) {
	list, err := fixture(t).List(context.Background())
	if err != nil || len(list) != 1 || list[0].ID != idWeb || list[0].Status != "running" {
		t.Fatalf("List = %+v, %v", list, err)
	}
}

// No store (Podman not installed) is no container, not an error.
func TestNoStore(t *testing.T) {
	a := New(filepath.Join(t.TempDir(), "none"), "/nonexistent")
	if list, err := a.List(context.Background()); err != nil || len(list) != 0 {
		t.Errorf("List = %v, %v", list, err)
	}
	if _, err := a.Resolve(context.Background(), "web"); !errors.Is(err, runtime.ErrNotFound) {
		t.Errorf("Resolve = %v", err)
	}
}

func TestBrokenStore(t *testing.T) {
	a := fixture(t)
	if err := os.WriteFile(filepath.Join(a.own.root, "overlay-containers/containers.json"), []byte("{"), 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := a.Resolve(context.Background(), "web1"); err == nil || !strings.Contains(err.Error(), "is not what containers/storage writes") {
		t.Errorf("Resolve = %v", err)
	}
}

func TestSpecFile(t *testing.T) {
	a := fixture(t)
	c, err := a.Resolve(context.Background(), idWeb)
	if err != nil || c.SpecFile != filepath.Join(a.own.root, "overlay-containers", idWeb, "userdata/config.json") {
		t.Errorf("SpecFile = %s, %v", c.SpecFile, err)
	}
}

func TestLibpodCgroups(t *testing.T) {
	for cgroups, want := range map[string]bool{
		"0::/libpod_parent/libpod-" + idWeb:                      true,
		"0::/machine.slice/libpod-" + idWeb + ".scope":           true,
		"0::/machine.slice/libpod-" + idWeb + ".scope/container": true,
		"0::/libpod_parent/libpod-" + idWeb + "x":                false,
		"0::/libpod_parent/libpod-conmon-" + idWeb:               false,
		"0::/docker/" + idWeb:                                    false,
	} {
		if got := libpodCgroups(cgroups, idWeb) != nil; got != want {
			t.Errorf("libpodCgroups(%s) = %v", cgroups, got)
		}
	}
}

func TestRoots(t *testing.T) {
	t.Setenv("CNSENTER_PODMAN_ROOT", "/env/root")
	t.Setenv("CNSENTER_PODMAN_RUNROOT", "")
	if Root("") != "/env/root" || Root("/opt") != "/opt" || RunRoot("") != DefaultRunRoot {
		t.Errorf("Root %s %s RunRoot %s", Root(""), Root("/opt"), RunRoot(""))
	}
}

// conmonFixture adds to the fixture's /proc a conmon process, owned by
// whoever runs the test, for container id named name in the store at
// root and runRoot.
func conmonFixture(t *testing.T, a *Adapter, pid, id, name, root, runRoot string) {
	t.Helper()
	dir := filepath.Join(a.proc, pid)
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	args := []string{"/usr/bin/conmon", "--api-version", "1", "-c", id, "-u", id, "-r", "/usr/bin/runc",
		"-b", filepath.Join(root, "overlay-containers", id, "userdata"), "-p", filepath.Join(runRoot, "overlay-containers", id, "userdata/pidfile"), "-n", name}
	os.WriteFile(filepath.Join(dir, "comm"), []byte("conmon\n"), 0o644)
	os.WriteFile(filepath.Join(dir, "cmdline"), []byte(strings.Join(args, "\x00")+"\x00"), 0o644)
}

// Another user's conmon names a container: a caller that is not that
// user is told whose it is, by name and by ID prefix.
func TestAnotherUsers(t *testing.T) {
	a := fixture(t)
	conmonFixture(t, a, "900", idStop[:8]+strings.Repeat("5", 56), "theirs", "/home/x/store", "/run/user/7/containers")
	a.euid = os.Geteuid() + 1 // the conmon is another user's
	for _, name := range []string{"theirs", idStop[:8] + "55"} {
		_, err := a.Resolve(context.Background(), name)
		if !errors.Is(err, runtime.ErrDenied) || !strings.Contains(err.Error(), "container theirs is ") || !strings.Contains(err.Error(), "not in your rootless store") {
			t.Errorf("Resolve(%s) = %v", name, err)
		}
	}
}

// Root also searches the stores other users' conmons name: one match is
// entered; a name in two users' stores is ambiguous.
func TestOtherStores(t *testing.T) {
	a := fixture(t)
	a.others, a.euid = true, os.Geteuid()+1
	dir := t.TempDir()
	for i, id := range []string{idOld[:60] + "aaaa", idOld[:60] + "bbbb"} {
		root, run := filepath.Join(dir, "user"+string(rune('a'+i)), "root"), filepath.Join(dir, "user"+string(rune('a'+i)), "run")
		os.MkdirAll(filepath.Join(root, "overlay-containers"), 0o755)
		os.WriteFile(filepath.Join(root, "overlay-containers/containers.json"), []byte(`[{"id":"`+id+`","names":["shared","only`+string(rune('a'+i))+`"]}]`), 0o644)
		os.MkdirAll(filepath.Join(run, "overlay-containers", id, "userdata"), 0o755)
		pid := strconv.Itoa(1000 + i)
		os.WriteFile(filepath.Join(run, "overlay-containers", id, "userdata/pidfile"), []byte(pid), 0o644)
		os.MkdirAll(filepath.Join(a.proc, pid), 0o755)
		os.WriteFile(filepath.Join(a.proc, pid, "cgroup"), []byte("0::/libpod_parent/libpod-"+id+"\n"), 0o644)
		conmonFixture(t, a, strconv.Itoa(900+i), id, "only"+string(rune('a'+i)), root, run)
	}
	if os.Geteuid() != 0 {
		t.Skip("the stores must be root's for the cgroup alone to prove their PIDs")
	}
	if c, err := a.Resolve(context.Background(), "onlyb"); err != nil || c.PID != 1001 || c.SpecFile != filepath.Join(dir, "userb/root/overlay-containers", idOld[:60]+"bbbb", "userdata/config.json") {
		t.Errorf("Resolve(onlyb) = %+v, %v", c, err)
	}
	if _, err := a.Resolve(context.Background(), "shared"); !errors.Is(err, runtime.ErrAmbiguous) || !strings.Contains(err.Error(), "podman://"+idOld[:60]+"aaaa") {
		t.Errorf("Resolve(shared) = %v", err)
	}
	if list, err := a.List(context.Background()); err != nil || len(list) != 3 {
		t.Errorf("List = %v, %v", list, err)
	}
}
