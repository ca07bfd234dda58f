package docker

import (
	"crypto/sha256"
	"encoding/hex"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func writeContext(t *testing.T, dir, name, host string) {
	sum := sha256.Sum256([]byte(name))
	meta := filepath.Join(dir, "contexts", "meta", hex.EncodeToString(sum[:]))
	if err := os.MkdirAll(meta, 0o755); err != nil {
		t.Fatal(err)
	}
	data := `{"Name":"` + name + `","Endpoints":{"docker":{"Host":"` + host + `","SkipTLSVerify":false}}}`
	if err := os.WriteFile(filepath.Join(meta, "meta.json"), []byte(data), 0o644); err != nil {
		t.Fatal(err)
	}
}

func TestEndpointPrecedence(t *testing.T) {
	dir := t.TempDir()
	writeContext(t, dir, "ctx", "unix:///ctx.sock")
	writeContext(t, dir, "current", "unix:///current.sock")
	writeContext(t, dir, "remote", "tcp://10.0.0.1:2375")
	os.WriteFile(filepath.Join(dir, "config.json"), []byte(`{"currentContext":"current"}`), 0o644)
	t.Setenv("DOCKER_CONFIG", dir)
	t.Setenv("DOCKER_HOST", "")
	t.Setenv("DOCKER_CONTEXT", "")

	check := func(o EndpointOptions, want string) {
		t.Helper()
		got, err := Endpoint(o)
		if err != nil && !strings.Contains(err.Error(), want) || err == nil && got != want {
			t.Errorf("Endpoint(%+v) = %q, %v; want %q", o, got, err, want)
		}
	}
	check(EndpointOptions{}, "unix:///current.sock")
	t.Setenv("DOCKER_CONTEXT", "ctx")
	check(EndpointOptions{}, "unix:///ctx.sock")
	t.Setenv("DOCKER_HOST", "unix:///env.sock")
	check(EndpointOptions{}, "unix:///env.sock")
	check(EndpointOptions{Context: "ctx"}, "unix:///ctx.sock")
	check(EndpointOptions{Host: "unix:///flag.sock", Context: "ctx"}, "unix:///flag.sock")
	check(EndpointOptions{Context: "remote"}, "is not a local unix socket")
	check(EndpointOptions{Context: "missing"}, `docker context "missing"`)
	check(EndpointOptions{Host: "tcp://127.0.0.1:2375"}, "is not a local unix socket")
	t.Setenv("DOCKER_HOST", "")
	t.Setenv("DOCKER_CONTEXT", "")
	check(EndpointOptions{ConfigDir: t.TempDir()}, DefaultHost)
}
