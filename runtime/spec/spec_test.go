package spec

import (
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"slices"
	"testing"

	"github.com/cnsenter/cnsenter/enter"
)

const dockerLike = `{"process":{"user":{"uid":1234,"gid":2345,"additionalGids":[2345,3456]},
	"capabilities":{"bounding":["CAP_CHOWN"],"effective":["CAP_CHOWN"],"permitted":["CAP_CHOWN"]},
	"noNewPrivileges":true,"apparmorProfile":"docker-default"},
	"linux":{"seccomp":{"defaultAction":"SCMP_ACT_ERRNO","syscalls":[{"names":["read"],"action":"SCMP_ACT_ALLOW"}]}}}`

func parse(t *testing.T, data string) *Spec {
	t.Helper()
	var s Spec
	if err := json.Unmarshal([]byte(data), &s); err != nil {
		t.Fatal(err)
	}
	return &s
}

func TestConfinement(t *testing.T) {
	c, err := parse(t, dockerLike).Confinement("web")
	if err != nil || !slices.Equal(c.Capabilities.Bounding, []string{"CAP_CHOWN"}) || !c.NoNewPrivileges ||
		c.AppArmorProfile != "docker-default" || c.Seccomp == nil || len(c.Seccomp.Syscalls) != 1 {
		t.Errorf("Confinement = %+v, %v", c, err)
	}
	// No capabilities, or no process, in the spec: none, never root's.
	for _, data := range []string{`{"process":{"user":{"uid":0,"gid":0}}}`, `{}`} {
		c, err := parse(t, data).Confinement("x")
		if err != nil || c.Capabilities == nil || len(c.Capabilities.Bounding)+len(c.Capabilities.Effective) != 0 || c.Seccomp != nil {
			t.Errorf("%s: Confinement = %+v, %v", data, c, err)
		}
	}
	if _, err := parse(t, `{"linux":{"seccomp":{"defaultAction":7}}}`).Confinement("web"); err == nil {
		t.Errorf("a malformed seccomp profile was accepted")
	}
}

func TestSetUser(t *testing.T) {
	s := parse(t, dockerLike)
	var req enter.Request
	s.SetUser(&req)
	if req.UID != (enter.ID{Set: true, Value: 1234}) || req.GID != (enter.ID{Set: true, Value: 2345}) || !slices.Equal(req.Groups, []uint32{2345, 3456}) {
		t.Errorf("the container's user: %+v %+v %v", req.UID, req.GID, req.Groups)
	}
	// -S 0: the uid given, the container's gid and groups.
	req = enter.Request{UID: enter.ID{Set: true}}
	s.SetUser(&req)
	if req.UID.Value != 0 || req.GID.Value != 2345 || len(req.Groups) != 2 {
		t.Errorf("-S 0: %+v %+v %v", req.UID, req.GID, req.Groups)
	}
	// -G 0: the gid given, no supplementary groups.
	req = enter.Request{GID: enter.ID{Set: true}}
	s.SetUser(&req)
	if req.UID.Value != 1234 || req.GID.Value != 0 || req.Groups != nil {
		t.Errorf("-G 0: %+v %+v %v", req.UID, req.GID, req.Groups)
	}
}

func TestPrivileged(t *testing.T) {
	c := parse(t, dockerLike).Privileged()
	caps := c.Capabilities
	if len(caps.Bounding) == 0 || !slices.Equal(caps.Bounding, caps.Permitted) || len(caps.Inheritable) != 0 ||
		!slices.Equal(caps.Bounding, caps.Effective) || len(caps.Ambient) != 0 || c.Seccomp != nil || c.AppArmorProfile != "unconfined" || !c.NoNewPrivileges {
		t.Errorf("Privileged = %+v %+v", c, caps)
	}
}

// A spec file named by the engine's state (Podman's bundle) is read as
// such, with no bundle nor containerd to ask.
func TestReadFile(t *testing.T) {
	dir := t.TempDir()
	file := filepath.Join(dir, "config.json")
	if err := os.WriteFile(file, []byte(dockerLike), 0o600); err != nil {
		t.Fatal(err)
	}
	s, err := Read(context.Background(), Source{Name: "podman://web", File: file})
	if err != nil || !slices.Equal(s.Limits().Bounding, []string{"CAP_CHOWN"}) {
		t.Fatalf("Read = %+v, %v", s, err)
	}
	if err := os.WriteFile(file, []byte("{"), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := Read(context.Background(), Source{Name: "podman://web", File: file}); err == nil {
		t.Error("a spec that is not JSON was read")
	}
	if _, err := Read(context.Background(), Source{Name: "podman://web", File: filepath.Join(dir, "none")}); err == nil {
		t.Error("a missing spec was read")
	}
	// As the runtime gave it with the container (CRI-O's status).
	if s, err := Read(context.Background(), Source{Name: "cri://a/b/c", Data: []byte(dockerLike)}); err != nil || len(s.Limits().Bounding) != 1 {
		t.Errorf("Read(Data) = %+v, %v", s, err)
	}
	if _, err := Read(context.Background(), Source{Name: "cri://a/b/c", Data: []byte("{")}); err == nil {
		t.Error("a given spec that is not JSON was read")
	}
}
