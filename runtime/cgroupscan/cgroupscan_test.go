package cgroupscan

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/cnsenter/cnsenter/internal/cgroupname"
	"github.com/cnsenter/cnsenter/runtime"
)

const (
	id1 = "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"
	id2 = "0123456789abffff0123456789abcdef0123456789abcdef0123456789abcdef"
	id3 = "fedcba9876543210fedcba9876543210fedcba9876543210fedcba9876543210"
)

// The init is the oldest process of the cgroup whose parent is outside it:
// not an older process that is not the container's, not a child of the
// init, not a younger exec'd process (whose parent, the shim, is outside).
func TestInits(t *testing.T) {
	c1, c3 := []cgroupname.Key{{ID: id1, Form: "/ID"}}, []cgroupname.Key{{ID: id3, Form: "/ID"}}
	procs := []Proc{
		{PID: 900, PPID: 1, Start: 50, Keys: c3},    // id3's init
		{PID: 100, PPID: 90, Start: 100, Keys: c1},  // id1's init, its parent the shim (90, outside)
		{PID: 101, PPID: 100, Start: 90, Keys: c1},  // a child whose start is (oddly) earlier: its parent is inside
		{PID: 150, PPID: 90, Start: 300, Keys: c1},  // docker exec: parent outside, but younger
		{PID: 5, PPID: 1, Start: 100, Keys: c1},     // same start as the init, lower PID, also parent outside
		{PID: 901, PPID: 900, Start: 60, Keys: c3},  // id3's child
		{PID: 777, PPID: 776, Start: 10, Keys: nil}, // not in any container
	}
	got := Inits(procs)
	want := []Init{{Key: c1[0], PID: 5, Start: 100}, {Key: c3[0], PID: 900, Start: 50}}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("Inits = %+v, want %+v", got, want)
	}
	// Nested: the outer container's init, not the inner one's.
	both := []cgroupname.Key{{ID: id1}, {ID: id3}}
	got = Inits([]Proc{{PID: 10, PPID: 2, Start: 1, Keys: c1}, {PID: 20, PPID: 10, Start: 5, Keys: both}})
	if len(got) != 2 || got[0].PID != 10 || got[1].PID != 20 {
		t.Errorf("nested: %+v", got)
	}
}

func TestMatch(t *testing.T) {
	inits := []Init{{Key: cgroupname.Key{ID: id1}, PID: 1}, {Key: cgroupname.Key{ID: id2}, PID: 2}, {Key: cgroupname.Key{ID: id3}, PID: 3}, {Key: cgroupname.Key{ID: "web", ByName: true}, PID: 4}}
	for ref, pid := range map[string]int{id1: 1, id1[:13]: 1, id3[:12]: 3, "web": 4} {
		if got, err := Match(inits, ref); err != nil || got.PID != pid {
			t.Errorf("Match(%q) = %+v, %v, want PID %d", ref, got, err, pid)
		}
	}
	// An ambiguous prefix lists the candidates, on one line.
	_, err := Match(inits, id1[:12])
	if err == nil || !strings.Contains(err.Error(), id1) || !strings.Contains(err.Error(), id2) || !errors.Is(err, runtime.ErrAmbiguous) || strings.Contains(err.Error(), "\n") {
		t.Errorf("ambiguous prefix: %v", err)
	}
	// Too short, not hex, unknown, a prefix of a name: not found.
	for _, ref := range []string{id3[:11], "fedcba98765x", "aaaaaaaaaaaa", "we", "FEDCBA987654"} {
		if _, err := Match(inits, ref); !errors.Is(err, runtime.ErrNotFound) || strings.Contains(err.Error(), "\n") {
			t.Errorf("Match(%q): %v", ref, err)
		}
	}
}

// fakeProc writes a /proc with the given processes.
func fakeProc(t *testing.T, procs map[int][2]string) string {
	dir := t.TempDir()
	for pid, files := range procs {
		d := filepath.Join(dir, fmt.Sprint(pid))
		if err := os.MkdirAll(d, 0o755); err != nil {
			t.Fatal(err)
		}
		if files[0] != "" {
			os.WriteFile(filepath.Join(d, "cgroup"), []byte(files[0]), 0o644)
		}
		if files[1] != "" {
			os.WriteFile(filepath.Join(d, "stat"), []byte(files[1]), 0o644)
		}
	}
	os.MkdirAll(filepath.Join(dir, "self"), 0o755)
	os.WriteFile(filepath.Join(dir, "uptime"), []byte("1 1\n"), 0o644)
	return dir
}

// stat is a /proc/PID/stat with a hostile command name.
func stat(pid, ppid int, start uint64) string {
	fields := make([]string, 49)
	for i := range fields {
		fields[i] = "0"
	}
	fields[0], fields[1], fields[2] = "S", fmt.Sprint(ppid), "1"
	fields[19] = fmt.Sprint(start)
	return fmt.Sprintf("%d (a) 9 ) (x) %s\n", pid, strings.Join(fields, " "))
}

// The scan of a /proc: processes that vanished (no files left) or whose
// stat is garbage are left out; the init is picked; Match finds it.
func TestScan(t *testing.T) {
	in := "12:pids:/system.slice/docker-" + id1 + ".scope\n0::/system.slice/docker-" + id1 + ".scope\n"
	proc := fakeProc(t, map[int][2]string{
		1:    {"0::/init.scope\n", stat(1, 0, 1)},
		80:   {"0::/system.slice/containerd.service\n", stat(80, 1, 40)},
		100:  {in, stat(100, 80, 41)},
		101:  {in, stat(101, 100, 42)},
		102:  {in, "102 (sh) garbage"},
		103:  {"", ""}, // exited while read
		104:  {in, ""}, // exited between its two files
		200:  {"0::/lxc.payload.web\n", stat(200, 199, 10)},
		201:  {"0::/lxc.monitor.web\n", stat(199, 1, 9)},
		5000: {"0::/kubepods/besteffort/podx/crio-" + id3 + "\n", stat(5000, 4999, 70)},
	})
	inits, err := Scan(proc)
	if err != nil {
		t.Fatal(err)
	}
	want := []Init{
		{Key: cgroupname.Key{ID: id1, Form: "docker-ID.scope"}, PID: 100, Start: 41},
		{Key: cgroupname.Key{ID: id3, Form: "crio-ID"}, PID: 5000, Start: 70},
		{Key: cgroupname.Key{ID: "web", ByName: true, Form: "lxc.payload.NAME"}, PID: 200, Start: 10},
	}
	if !reflect.DeepEqual(inits, want) {
		t.Fatalf("Scan = %+v, want %+v", inits, want)
	}
	c := inits[0].Container(proc)
	if c.Runtime != "cgroup" || c.Name != id1[:12] || c.PID != 100 || c.Status != "running" || c.Namespace != "" || !strings.Contains(c.Note, "found by its cgroup (docker-ID.scope)") {
		t.Errorf("Container = %+v", c)
	}
	if c := inits[2].Container(proc); c.Name != "web" || c.ID != "web" {
		t.Errorf("LXC Container = %+v", c)
	}
	if _, err := Scan(filepath.Join(proc, "missing")); err == nil || strings.Contains(err.Error(), "\n") {
		t.Errorf("Scan of a missing /proc: %v", err)
	}
}

// A container whose cgroup file system is writable makes a cgroup below its
// own named as another container, and moves its init (older) there: the
// scan must not take it for the other's init, nor enter either.
func TestScanForgedCgroup(t *testing.T) {
	real := "0::/system.slice/docker-" + id1 + ".scope\n"
	forged := "0::/system.slice/docker-" + id3 + ".scope/" + id1 + "\n"
	proc := fakeProc(t, map[int][2]string{
		100: {forged, stat(100, 90, 10)}, // the attacker's init, older, its parent (the shim) outside
		200: {real, stat(200, 190, 20)},  // the real init
	})
	inits, err := Scan(proc)
	if err != nil {
		t.Fatal(err)
	}
	_, err = Match(inits, id1[:12])
	if err == nil || !strings.Contains(err.Error(), "several cgroups name it") || !strings.Contains(err.Error(), "give the PID") || strings.Contains(err.Error(), "\n") {
		t.Errorf("a forged cgroup: %v", err)
	}
	// The same ID in two hierarchies at different places is no forgery
	// (cgroup v1 controllers mounted apart).
	both := "4:memory:/docker/" + id1 + "\n1:name=systemd:/system.slice/docker-" + id1 + ".scope\n"
	proc = fakeProc(t, map[int][2]string{200: {both, stat(200, 190, 20)}})
	if inits, err = Scan(proc); err != nil {
		t.Fatal(err)
	}
	if i, err := Match(inits, id1[:12]); err != nil || i.PID != 200 {
		t.Errorf("one ID in two hierarchies: %+v, %v", i, err)
	}
}

// The real /proc: thousands of processes or not, it is read without error,
// and a process of ours in no container's cgroup is not found.
func TestScanProc(t *testing.T) {
	inits, err := Scan("/proc")
	if err != nil {
		t.Fatal(err)
	}
	for _, i := range inits {
		if i.PID == os.Getpid() {
			t.Errorf("our own process taken for a container's init: %+v", i)
		}
	}
}
