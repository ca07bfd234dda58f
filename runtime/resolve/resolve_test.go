package resolve

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/cnsenter/cnsenter/runtime"
)

// fake is a runtime that knows some containers, or fails.
type fake struct {
	name       string
	containers []runtime.Container
	err        error
	// wait, when set, makes Find wait for it (or the deadline) first.
	wait <-chan struct{}
	// saw says whether wait was closed before the deadline.
	saw bool
	// called is closed when Find is first called.
	called   chan struct{}
	once     sync.Once
	finds    int
	findsMu  sync.Mutex
	fallback bool
}

func (f *fake) Name() string     { return f.name }
func (f *fake) Endpoint() string { return "/run/" + f.name + ".sock" }
func (f *fake) Close() error     { return nil }

func (f *fake) Resolve(ctx context.Context, ref string) (runtime.Container, error) {
	for _, c := range f.containers {
		if c.Name == ref || c.ID == ref {
			return c, nil
		}
	}
	return runtime.Container{}, &runtime.Error{Kind: runtime.NotFound, Runtime: f.name, Ref: f.name + "://" + ref}
}

func (f *fake) Find(ctx context.Context, name string) ([]runtime.Container, error) {
	f.findsMu.Lock()
	f.finds++
	f.findsMu.Unlock()
	f.once.Do(func() { close(f.called) })
	if f.wait != nil {
		ctx, cancel := context.WithTimeout(ctx, 5*time.Second)
		defer cancel()
		select {
		case <-f.wait:
			f.saw = true
		case <-ctx.Done():
		}
	}
	if f.err != nil {
		return nil, f.err
	}
	var found []runtime.Container
	for _, c := range f.containers {
		if c.Name == name || c.ID == name {
			if c.Status != "running" {
				return nil, &runtime.Error{Kind: runtime.NotRunning, Runtime: f.name, Ref: name, Container: c}
			}
			found = append(found, c)
		}
	}
	return found, nil
}

func (f *fake) List(ctx context.Context) ([]runtime.Container, error) { return f.containers, f.err }

var (
	registerOnce sync.Once
	fakes        = map[string]*fake{}
)

// engines registers the fakes once, by rank in the order given, and makes
// engines limited to those named.
func engines(t *testing.T, use ...*fake) *Engines {
	registerOnce.Do(func() {
		for i, name := range []string{"fa", "fb", "fc", "fd", "fscan"} {
			runtime.Register(runtime.Runtime{Name: name, Rank: i, Syntax: "NAME", Fallback: name == "fscan",
				New: func(runtime.Config) (runtime.Adapter, error) { return fakes[name], nil }})
		}
	})
	var only []string
	for name := range fakes {
		delete(fakes, name)
	}
	for _, f := range use {
		f.called = make(chan struct{})
		fakes[f.name] = f
		only = append(only, f.name)
	}
	return New(Options{Only: only, Timeout: time.Second})
}

func running(rt, id, name string) runtime.Container {
	return runtime.Container{Runtime: rt, ID: id, Name: name, Status: "running", PID: 42, Reference: rt + "://" + id}
}

// A runtime that has not answered yet does not hold the others back: the
// first (by rank) waits until the second has been asked, which only
// happens at once if they are asked concurrently.
func TestFindAsksAtOnce(t *testing.T) {
	b := &fake{name: "fb", containers: []runtime.Container{running("fb", "id2", "web")}}
	a := &fake{name: "fa"}
	e := engines(t, a, b)
	a.wait = b.called
	c, err := e.Resolve(context.Background(), "web")
	if err != nil || c.ID != "id2" {
		t.Fatalf("Resolve(web) = %+v, %v", c, err)
	}
	if !a.saw {
		t.Error("the runtimes were asked one after another")
	}
}

// One container known to two runtimes (Docker's are containerd's too) is
// one match, named by the lower rank.
func TestFindDedupe(t *testing.T) {
	e := engines(t,
		&fake{name: "fa", containers: []runtime.Container{running("fa", "abc", "web")}},
		&fake{name: "fc", containers: []runtime.Container{running("fc", "abc", "abc"), running("fc", "def", "web")}})
	_, err := e.Resolve(context.Background(), "web")
	var re *runtime.Error
	if !errors.As(err, &re) || re.Kind != runtime.Ambiguous || strings.Join(re.Matches, " ") != "fa://abc fc://def" {
		t.Errorf("two containers named web: %v", err)
	}
	c, err := e.Resolve(context.Background(), "abc")
	if err != nil || c.Runtime != "fa" {
		t.Errorf("the same container in two runtimes: %+v, %v", c, err)
	}
}

// A rootless engine's entry is its user's word, who can give a container
// any ID: it hides no other user's container, nor root's, with that ID
// (in --list, or as a bare name's match). Root's engines' entries of one
// ID are one container; so are two entries of the same process.
func TestDedupeRootless(t *testing.T) {
	const x, y, z = "x1", "y1", "z1"
	list := []runtime.Container{
		{Runtime: "docker", ID: z, PID: 50},
		{Runtime: "containerd", ID: z, PID: 50},                // Docker's, seen by containerd
		{Runtime: "podman", ID: y, PID: 30},                    // root's store
		{Runtime: "podman", ID: y, PID: 40, RootlessUID: 1000}, // alice's record taking root's ID
		{Runtime: "podman", ID: x, PID: 10, RootlessUID: 1000}, // alice's
		{Runtime: "podman", ID: x, PID: 20, RootlessUID: 1001}, // bob's, with alice's ID
		{Runtime: "podman", ID: x, PID: 10, RootlessUID: 1000}, // alice's again
		{Runtime: "cgroup", ID: x, PID: 10},                    // the scan's entry of alice's
		{Runtime: "cgroup", ID: z, PID: 50},                    // the scan's entry of Docker's
	}
	var got []string
	for _, c := range Dedupe(list) {
		got = append(got, fmt.Sprintf("%s:%s:%d:%d", c.Runtime, c.ID, c.RootlessUID, c.PID))
	}
	want := "docker:z1:0:50 podman:y1:0:30 podman:y1:1000:40 podman:x1:1000:10 podman:x1:1001:20"
	if strings.Join(got, " ") != want {
		t.Errorf("Dedupe = %s, want %s", strings.Join(got, " "), want)
	}
}

// A container that exists but does not run says so; the fallback is not
// asked then. Failures of other runtimes are named when nothing is found.
func TestFindNotRunningAndFailures(t *testing.T) {
	stopped := running("fa", "s1", "old")
	stopped.Status = "exited"
	scan := &fake{name: "fscan", containers: []runtime.Container{running("fscan", "s1", "old")}}
	down := &fake{name: "fb", err: &runtime.Error{Kind: runtime.Unreachable, Runtime: "fb", Ref: "fb", Detail: "cannot reach fb"}}
	e := engines(t, &fake{name: "fa", containers: []runtime.Container{stopped}}, down, scan)
	if _, err := e.Resolve(context.Background(), "old"); !errors.Is(err, runtime.ErrNotRunning) {
		t.Errorf("a stopped container: %v", err)
	}
	if scan.finds != 0 {
		t.Error("the fallback was asked although a runtime knows the container")
	}
	_, err := e.Resolve(context.Background(), "nothing")
	if !errors.Is(err, runtime.ErrNotFound) || !strings.Contains(err.Error(), "not every runtime answered: fb: cannot reach fb") || scan.finds != 1 {
		t.Errorf("nothing found, one runtime down: %v (fallback asked %d times)", err, scan.finds)
	}
	// Found by the fallback only.
	scan.containers = append(scan.containers, running("fscan", "x1", "lxcbox"))
	if c, err := e.Resolve(context.Background(), "lxcbox"); err != nil || c.Runtime != "fscan" {
		t.Errorf("found by the fallback: %+v, %v", c, err)
	}
}

func TestSchemes(t *testing.T) {
	e := engines(t, &fake{name: "fa", containers: []runtime.Container{running("fa", "abc", "web")}})
	if c, err := e.Resolve(context.Background(), "fa://web"); err != nil || c.ID != "abc" {
		t.Errorf("fa://web = %+v, %v", c, err)
	}
	for ref, want := range map[string]string{
		"nosuch://web": "nosuch://web: nosuch:// is not a runtime here: use fa://NAME, a container name or a PID",
		"fb://web":     "fb://web: fb:// is not a runtime here", // registered, but not among those used
		"42":           "42 is a PID, not a container",
	} {
		if _, err := e.Resolve(context.Background(), ref); err == nil || !strings.HasPrefix(err.Error(), want) {
			t.Errorf("%s: %v, want %q", ref, err, want)
		}
	}
}

func TestList(t *testing.T) {
	e := engines(t,
		&fake{name: "fa", containers: []runtime.Container{running("fa", "abc", "web")}},
		&fake{name: "fb", err: errors.New("fb is down")},
		&fake{name: "fscan", containers: []runtime.Container{running("fscan", "abc", "abc"), running("fscan", "lxc1", "box")}})
	list, errs := e.List(context.Background())
	if len(list) != 2 || list[0].Runtime != "fa" || list[1].ID != "lxc1" || len(errs) != 1 || errs[0].Error() != "fb is down" {
		t.Errorf("List = %+v, %v", list, errs)
	}
}
