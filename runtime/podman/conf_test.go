package podman

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestParseStorageConf(t *testing.T) {
	c, err := parseStorageConf(strings.NewReader(`# containers-storage.conf
[storage]
driver = "overlay"
runroot = "/run/x" # comment
graphroot = '/var/lib/x'
rootless_storage_path = "$HOME/.local/share/\"q\""

[storage.options]
graphroot = "/not/this"
`), "f")
	if err != nil || c.GraphRoot != "/var/lib/x" || c.RunRoot != "/run/x" || c.RootlessStoragePath != `$HOME/.local/share/"q"` {
		t.Errorf("parseStorageConf = %+v, %v", c, err)
	}
	for _, bad := range []string{"[storage]\ngraphroot = [1]\n", "[storage]\ngraphroot = \"x\n", "[storage]\ngraphroot = \"x\" y\n", "[storage]\ngraphroot\n"} {
		if _, err := parseStorageConf(strings.NewReader(bad), "f"); err == nil {
			t.Errorf("parseStorageConf(%q) took it", bad)
		}
	}
}

func TestStoreFor(t *testing.T) {
	dir := t.TempDir()
	vars := map[string]string{"HOME": filepath.Join(dir, "home"), "TMPDIR": dir}
	e := env{uid: 4242, getenv: func(k string) string { return vars[k] }}
	root, run, err := storeFor(e, "", "")
	if err != nil || root != filepath.Join(dir, "home/.local/share/containers/storage") || run != filepath.Join(dir, "podman-run-4242/containers") {
		t.Errorf("rootless defaults: %s %s %v", root, run, err)
	}
	vars["XDG_RUNTIME_DIR"], vars["XDG_DATA_HOME"] = "/run/user/4242", "/data"
	if root, run, _ := storeFor(e, "", ""); root != "/data/containers/storage" || run != "/run/user/4242/containers" {
		t.Errorf("XDG: %s %s", root, run)
	}
	conf := filepath.Join(dir, "home/.config/containers/storage.conf")
	os.MkdirAll(filepath.Dir(conf), 0o755)
	os.WriteFile(conf, []byte("[storage]\ngraphroot = \"/g\"\n"), 0o644)
	if root, run, _ := storeFor(e, "", ""); root != "/g" || run != "/run/user/4242/containers" {
		t.Errorf("the user's storage.conf: %s %s", root, run)
	}
	delete(vars, "XDG_RUNTIME_DIR")
	if _, run, _ := storeFor(e, "", ""); run != filepath.Join(dir, "containers-user-4242/containers") {
		t.Errorf("the user's storage.conf without a runroot: %s", run)
	}
	vars["XDG_RUNTIME_DIR"] = "/run/user/4242"
	if root, run, _ := storeFor(e, "/opt/r", ""); root != "/opt/r" || run != "/run/user/4242/containers" {
		t.Errorf("an explicit root: %s %s", root, run)
	}
	own := filepath.Join(dir, "own.conf")
	os.WriteFile(own, []byte("[storage]\ngraphroot = \"/a\"\nrunroot = \"/b\"\n"), 0o644)
	vars["CONTAINERS_STORAGE_CONF"] = own
	e.uid = 0
	if root, run, _ := storeFor(e, "", ""); root != "/a" || run != "/b" {
		t.Errorf("CONTAINERS_STORAGE_CONF for root: %s %s", root, run)
	}
	os.WriteFile(own, []byte("[storage]\ngraphroot = 3\n"), 0o644)
	if _, _, err := storeFor(e, "", ""); err == nil || !strings.Contains(err.Error(), "own.conf:2") {
		t.Errorf("a bad storage.conf: %v", err)
	}
}

func TestConmonStore(t *testing.T) {
	id := idWeb
	c := conmon{id: id, bundle: "/home/u/.local/share/containers/storage/overlay-containers/" + id + "/userdata",
		pidfile: "/run/user/1000/containers/overlay-containers/" + id + "/userdata/pidfile"}
	root, run, ok := c.store()
	if !ok || root != "/home/u/.local/share/containers/storage" || run != "/run/user/1000/containers" {
		t.Errorf("store = %s %s %v", root, run, ok)
	}
	c.bundle = "/etc/" + id + "/userdata"
	if _, _, ok := c.store(); ok {
		t.Error("a bundle outside DRIVER-containers was taken")
	}
}

func TestServiceAnswer(t *testing.T) {
	status, version, body, err := parseAnswer([]byte("HTTP/1.0 200 OK\r\nApi-Version: 1.41\r\nLibpod-Api-Version: 4.3.1\r\n\r\n[]"))
	if err != nil || status != 200 || version != "4.3.1" || string(body) != "[]" {
		t.Errorf("parseAnswer = %d %q %q %v", status, version, body, err)
	}
	for _, v := range []string{"4.3.1/../x", "4", "4..1", "a.b", "1.2.3.4"} {
		if isVersion(v) {
			t.Errorf("isVersion(%q)", v)
		}
	}
	if _, err := newService("tcp://127.0.0.1:8080", 0); err == nil {
		t.Error("a tcp:// service was taken")
	}
	if _, err := newService("unix://relative.sock", 0); err == nil {
		t.Error("a relative socket was taken")
	}
}
