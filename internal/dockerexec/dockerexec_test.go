package dockerexec

import (
	"context"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"golang.org/x/sys/unix"

	"github.com/cnsenter/cnsenter/enter"
	cruntime "github.com/cnsenter/cnsenter/runtime"
	"github.com/cnsenter/cnsenter/runtime/spec"
)

// fake is a container without a process: its spec, which of its
// namespaces differ from ours, and a root directory made by the test.
type fake struct {
	spec      *spec.Spec
	specReads int
	ownUser   bool // its user namespace is ours
	root      string
}

func (f *fake) sources(t *testing.T) sources {
	return sources{
		readSpec: func(_ context.Context, src spec.Source) (*spec.Spec, error) {
			f.specReads++
			if src.Name != "web" || src.Namespace != "moby" || src.ID != "0123abcd" {
				t.Errorf("spec asked for %+v", src)
			}
			return f.spec, nil
		},
		usable: func(k enter.Kind) (bool, error) {
			if k != enter.User {
				t.Errorf("usable(%s) asked", k)
			}
			return !f.ownUser, nil
		},
		openRoot: func() (int, error) {
			if f.root == "" {
				return -1, errors.New("no root in this test")
			}
			return unix.Open(f.root, unix.O_PATH|unix.O_DIRECTORY|unix.O_CLOEXEC, 0)
		},
	}
}

var web = cruntime.Container{Name: "web", ID: "0123abcd", Task: "moby", PID: 4321, GroupAdd: []string{"audio"}}

// containerSpec is a spec as Docker writes it, for a container running as
// uid 1000 with capability CAP_CHOWN and a seccomp filter.
func containerSpec() *spec.Spec {
	var s spec.Spec
	if err := json.Unmarshal([]byte(`{
		"process": {
			"env": ["PATH=/usr/bin", "A=from-image", "HOME=/home/app"],
			"cwd": "/srv",
			"user": {"uid": 1000, "gid": 1000, "additionalGids": [1000, 20]},
			"capabilities": {"effective": ["CAP_CHOWN"]},
			"apparmorProfile": "docker-default"
		},
		"linux": {"seccomp": {"defaultAction": "SCMP_ACT_ERRNO"}}
	}`), &s); err != nil {
		panic(err)
	}
	return &s
}

func build1(t *testing.T, o Options, f *fake, program ...string) (enter.Request, error) {
	t.Helper()
	return build(context.Background(), o, web, nil, program, f.sources(t))
}

// TestContainerProgram: without --host-tools and with the mount namespace,
// the program is the container's, run as its processes are: its spec's
// environment (with -e applied), working directory, user and confinement;
// /bin/sh without a COMMAND; every namespace that differs from ours.
func TestContainerProgram(t *testing.T) {
	f := &fake{spec: containerSpec()}
	req, err := build1(t, Options{Env: []string{"A=1", "B=2"}}, f)
	if err != nil {
		t.Fatal(err)
	}
	if !req.All || req.Namespaces != nil {
		t.Errorf("namespaces: All %v, %v; want every one that differs from ours", req.All, req.Namespaces)
	}
	if want := []string{"PATH=/usr/bin", "HOME=/home/app", "A=1", "B=2"}; !slices.Equal(req.Environ, want) {
		t.Errorf("Environ %q, want %q", req.Environ, want)
	}
	if req.WorkDirInNS != "/srv" || !slices.Equal(req.Program, []string{"/bin/sh"}) {
		t.Errorf("WorkDirInNS %q, Program %q", req.WorkDirInNS, req.Program)
	}
	if req.UID != (enter.ID{Set: true, Value: 1000}) || req.GID != (enter.ID{Set: true, Value: 1000}) || !slices.Equal(req.Groups, []uint32{1000, 20}) {
		t.Errorf("user %+v %+v %v, want the spec's", req.UID, req.GID, req.Groups)
	}
	if c := req.Confine; c == nil || !slices.Equal(c.Capabilities.Effective, []string{"CAP_CHOWN"}) || c.Seccomp == nil || c.AppArmorProfile != "docker-default" {
		t.Errorf("Confine %+v, want the spec's", c)
	}
	if f.specReads != 1 {
		t.Errorf("spec read %d times, want once", f.specReads)
	}
	if req.Target != 4321 || req.Container != "web" || req.ContainerID != "0123abcd" || !req.JoinCgroup || !req.OnlyStdio || req.Audit != nil || req.Name != "docker nsenter" {
		t.Errorf("request %+v", req)
	}

	// -w, a COMMAND, --no-cgroup, --audit-log.
	req, err = build1(t, Options{WorkDir: "/tmp", NoCgroup: true, AuditLog: "/var/log/a"}, &fake{spec: containerSpec()}, "id", "-u")
	if err != nil {
		t.Fatal(err)
	}
	if req.WorkDirInNS != "/tmp" || !slices.Equal(req.Program, []string{"id", "-u"}) || req.JoinCgroup {
		t.Errorf("WorkDirInNS %q, Program %q, JoinCgroup %v", req.WorkDirInNS, req.Program, req.JoinCgroup)
	}
	if a := req.Audit; a == nil || *a != (enter.Audit{Path: "/var/log/a", Target: "web", Runtime: "docker", ContainerID: "0123abcd"}) {
		t.Errorf("Audit %+v", a)
	}

	// A spec without a process: nothing of it, the root directory, and
	// no capability (Confinement's safe reading).
	req, err = build1(t, Options{}, &fake{spec: &spec.Spec{}})
	if err != nil {
		t.Fatal(err)
	}
	if req.WorkDirInNS != "/" || len(req.Environ) != 0 || req.UID.Set || req.Confine == nil || len(req.Confine.Capabilities.Effective) != 0 {
		t.Errorf("spec without a process: %+v", req)
	}
}

// TestHostProgram: with the host's files (--host-tools, or --ns without
// mnt) the program is the host's: root, no confinement, the spec not even
// read; our environment, and only when -e asks for a change.
func TestHostProgram(t *testing.T) {
	t.Setenv("OURS", "ours")
	for _, o := range []Options{{HostTools: true}, {NS: "net,pid"}, {HostTools: true, NS: "mnt"}} {
		f := &fake{spec: containerSpec()}
		req, err := build1(t, o, f)
		if err != nil {
			t.Fatal(err)
		}
		if f.specReads != 0 || req.Confine != nil || req.Environ != nil || req.WorkDirInNS != "" || req.Program != nil {
			t.Errorf("%+v: spec read %d times, Confine %+v, Environ %q, WorkDirInNS %q, Program %q", o, f.specReads, req.Confine, req.Environ, req.WorkDirInNS, req.Program)
		}
		if req.UID != (enter.ID{Set: true}) || req.GID != (enter.ID{Set: true}) || req.Groups != nil {
			t.Errorf("%+v: user %+v %+v %v, want root", o, req.UID, req.GID, req.Groups)
		}
		o.Env = []string{"X=1"}
		req, err = build1(t, o, f)
		if err != nil {
			t.Fatal(err)
		}
		if !slices.Contains(req.Environ, "OURS=ours") || req.Environ[len(req.Environ)-1] != "X=1" || slices.Contains(req.Environ, "A=from-image") {
			t.Errorf("%+v: Environ %q, want ours with X=1", o, req.Environ)
		}
	}
}

// TestPrivilegedAndConfine: --privileged is docker exec's (every
// capability, AppArmor unconfined, no seccomp filter) for the container's
// program and the host's alike; --confine gives the host's program the
// container's confinement and user.
func TestPrivilegedAndConfine(t *testing.T) {
	for _, o := range []Options{{Privileged: true}, {Privileged: true, HostTools: true}} {
		f := &fake{spec: containerSpec()}
		req, err := build1(t, o, f)
		if err != nil {
			t.Fatal(err)
		}
		c := req.Confine
		if f.specReads != 1 || c == nil || c.Seccomp != nil || c.AppArmorProfile != "unconfined" || !sameSet(c.Capabilities.Bounding, enter.AllCapabilities()) {
			t.Errorf("%+v: spec read %d times, Confine %+v", o, f.specReads, c)
		}
		// The container's program keeps the container's user, the
		// host's runs as root.
		if wantUID := map[bool]uint32{false: 1000, true: 0}[o.HostTools]; req.UID != (enter.ID{Set: true, Value: wantUID}) {
			t.Errorf("%+v: UID %+v, want %d", o, req.UID, wantUID)
		}
	}
	f := &fake{spec: containerSpec()}
	req, err := build1(t, Options{Confine: true, HostTools: true}, f)
	if err != nil {
		t.Fatal(err)
	}
	if c := req.Confine; c == nil || c.Seccomp == nil || !slices.Equal(c.Capabilities.Effective, []string{"CAP_CHOWN"}) {
		t.Errorf("--confine --host-tools: Confine %+v, want the container's", c)
	}
	if req.UID != (enter.ID{Set: true, Value: 1000}) || req.Environ != nil || req.Program != nil {
		t.Errorf("--confine --host-tools: UID %+v, Environ %q, Program %q: want the container's user, the host's environment and program", req.UID, req.Environ, req.Program)
	}
}

// TestNamespaceChoice: --ns is a comma list of kinds; a user namespace
// that is ours is left out, as setns would refuse it.
func TestNamespaceChoice(t *testing.T) {
	for _, c := range []struct {
		list    string
		ownUser bool
		want    []enter.Kind
	}{
		{"mnt", false, []enter.Kind{enter.Mount}},
		{"mount,network", false, []enter.Kind{enter.Mount, enter.Net}},
		{"net, pid,uts", false, []enter.Kind{enter.Net, enter.PID, enter.UTS}},
		{"mnt,user", false, []enter.Kind{enter.Mount, enter.User}},
		{"mnt,user", true, []enter.Kind{enter.Mount}},
	} {
		f := &fake{ownUser: c.ownUser}
		req := enter.Request{}
		if err := chooseNamespaces(&req, c.list, f.sources(t).usable); err != nil {
			t.Fatalf("%q: %v", c.list, err)
		}
		var got []enter.Kind
		for k := range req.Namespaces {
			got = append(got, k)
		}
		slices.Sort(got)
		slices.Sort(c.want)
		if req.All || !slices.Equal(got, c.want) {
			t.Errorf("--ns %q (user namespace ours: %v): All %v, %v; want %v", c.list, c.ownUser, req.All, got, c.want)
		}
	}
	for _, list := range []string{"mnt,bogus", "mounts", "mnt,"} {
		req := enter.Request{}
		err := chooseNamespaces(&req, list, (&fake{}).sources(t).usable)
		if err == nil || !strings.HasPrefix(err.Error(), "--ns: unknown namespace") || !strings.Contains(err.Error(), "use a comma list") || strings.Contains(err.Error(), "\n") {
			t.Errorf("--ns %q: error %v, want one line naming it and the list", list, err)
		}
	}
	failing := func(enter.Kind) (bool, error) { return false, errors.New("process 4321 is gone") }
	if err := chooseNamespaces(&enter.Request{}, "user", failing); err == nil || err.Error() != "process 4321 is gone" {
		t.Errorf("usable failing: %v", err)
	}
	if _, err := build1(t, Options{NS: "nope"}, &fake{}); err == nil {
		t.Error("build with --ns nope: no error")
	}
}

// TestUser: -u is looked up in the container's own files, with the groups
// listing the user and the container's --group-add; it overrides the
// spec's user, for the container's program and the host's.
func TestUser(t *testing.T) {
	dir := t.TempDir()
	os.MkdirAll(filepath.Join(dir, "etc"), 0o755)
	os.WriteFile(filepath.Join(dir, "etc/passwd"), []byte("root:x:0:0::/:/bin/sh\napp:x:1234:2345::/:/bin/sh\n"), 0o644)
	os.WriteFile(filepath.Join(dir, "etc/group"), []byte("root:x:0:\napp:x:2345:\nextra:x:3456:app\naudio:x:29:\n"), 0o644)
	for _, o := range []Options{{User: "app"}, {User: "app", HostTools: true}, {User: "app", Privileged: true}} {
		req, err := build1(t, o, &fake{spec: containerSpec(), root: dir})
		if err != nil {
			t.Fatal(err)
		}
		if req.UID != (enter.ID{Set: true, Value: 1234}) || req.GID != (enter.ID{Set: true, Value: 2345}) || !slices.Equal(req.Groups, []uint32{2345, 3456, 29}) {
			t.Errorf("%+v: user %+v %+v %v, want app with its groups and --group-add's audio", o, req.UID, req.GID, req.Groups)
		}
	}
	req, err := build1(t, Options{User: "777:extra"}, &fake{spec: containerSpec(), root: dir})
	if err != nil || req.UID.Value != 777 || req.GID.Value != 3456 || !slices.Equal(req.Groups, []uint32{3456, 29}) {
		t.Errorf("-u 777:extra: %+v %+v %v, %v", req.UID, req.GID, req.Groups, err)
	}
	if _, err := build1(t, Options{User: "nobody-here"}, &fake{spec: containerSpec(), root: dir}); err == nil || !strings.Contains(err.Error(), "unable to find user nobody-here") {
		t.Errorf("unknown user: %v", err)
	}
	if _, err := build1(t, Options{User: "app"}, &fake{spec: containerSpec()}); err == nil || !strings.HasPrefix(err.Error(), "cannot open the container's root: ") {
		t.Errorf("no root: %v", err)
	}
}

// TestEnvOrder: --env-file files in order, then -e, later ones winning;
// -e KEY takes ours, or nothing when we have none.
func TestEnvOrder(t *testing.T) {
	t.Setenv("OURS", "from-us")
	t.Setenv("HOME", "/our/home")
	os.Unsetenv("NOT_SET_ANYWHERE")
	dir := t.TempDir()
	a, b := filepath.Join(dir, "a"), filepath.Join(dir, "b")
	os.WriteFile(a, []byte("A=file-a\nB=file-a\n"), 0o644)
	os.WriteFile(b, []byte("B=file-b\nC=file-b\n"), 0o644)
	req, err := build1(t, Options{EnvFiles: []string{a, b}, Env: []string{"C=flag", "OURS", "NOT_SET_ANYWHERE", "HOME"}}, &fake{spec: containerSpec()})
	if err != nil {
		t.Fatal(err)
	}
	// HOME: the image's is replaced by ours, as -e HOME asks.
	want := []string{"PATH=/usr/bin", "A=file-a", "B=file-b", "C=flag", "OURS=from-us", "HOME=/our/home"}
	if !slices.Equal(req.Environ, want) {
		t.Errorf("Environ %q, want %q", req.Environ, want)
	}
	if _, err := build1(t, Options{EnvFiles: []string{filepath.Join(dir, "missing")}}, &fake{spec: containerSpec()}); err == nil || !strings.HasPrefix(err.Error(), "--env-file: ") {
		t.Errorf("missing env file: %v", err)
	}
}

func TestMergeEnv(t *testing.T) {
	t.Setenv("OURS", "v")
	os.Unsetenv("NOT_SET_ANYWHERE")
	base := []string{"A=1", "B=2", "A=dup"}
	got := mergeEnv(base, []string{"B=3", "OURS", "NOT_SET_ANYWHERE", "A=", "NEW=x=y"})
	if want := []string{"B=3", "OURS=v", "A=", "NEW=x=y"}; !slices.Equal(got, want) {
		t.Errorf("mergeEnv = %q, want %q", got, want)
	}
	if !slices.Equal(base, []string{"A=1", "B=2", "A=dup"}) {
		t.Errorf("mergeEnv changed its base: %q", base)
	}
}

func sameSet(a, b []string) bool {
	a, b = slices.Clone(a), slices.Clone(b)
	slices.Sort(a)
	slices.Sort(b)
	return slices.Equal(a, b)
}
