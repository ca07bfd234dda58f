package e2e

import (
	"net"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/cnsenter/cnsenter/test/engines"
)

func itoa(n int) string { return strconv.Itoa(n) }

func readFile(path string) (string, error) {
	data, err := os.ReadFile(path)
	return string(data), err
}

func TestReferenceErrors(t *testing.T) {
	requireEngines(t)
	for _, c := range []struct {
		target, want string
	}{
		{"docker://nope", "docker://nope: no such container"},
		{"containerd://" + engines.Namespace + "/nope", "containerd://" + engines.Namespace + "/nope: no such container"},
		{"nope", "nope: no running container found (asked docker, cri, containerd, podman, cgroup) (see 'cnsenter --list')"},
		{"docker://created", "container created is not running (created): start it first"},
		{"docker://exited", "container exited is not running (exited): start it first"},
		{"created", "container created is not running"},
		{"docker://", "give a container after docker://"},
		{"containerd://", "give a container after containerd://"},
		{"containerd://a/b/c", "give containerd://NAMESPACE/ID"},
		{"foo://x", "foo://x: foo:// is not a runtime here: use docker://NAME|ID, cri://NAMESPACE/POD/CONTAINER|NAMESPACE/POD|POD, containerd://"},
		{"we b", "cannot be in a container name"},
	} {
		t.Run(c.target, func(t *testing.T) {
			oneLineError(t, cnsenter(t, nil, "-t", c.target, "-n", "true"), c.want)
		})
	}
}

func TestAmbiguousPrefix(t *testing.T) {
	requireEngines(t)
	// Among 17 containers two IDs share their first hex digit.
	seen := map[byte]bool{}
	for _, name := range []string{"web", "webuser", "dup", "noshell", "created", "exited"} {
		seen[dockerInspect(t, name, "{{.Id}}")[0]] = true
	}
	var prefix string
	for i := 0; prefix == "" && i < 17; i++ {
		id, err := eng.Docker("create", engines.BusyboxImage, "true")
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { eng.Docker("rm", id) })
		if seen[id[0]] {
			prefix = id[:1]
		}
		seen[id[0]] = true
	}
	oneLineError(t, cnsenter(t, nil, "-t", "docker://"+prefix, "-n", "true"), "docker://"+prefix+": the ID prefix matches several containers")
}

func TestEngineFaults(t *testing.T) {
	requireEngines(t)
	r := cnsenter(t, nil, "--docker-host", "unix:///nonexistent/docker.sock", "-t", "docker://web", "-n", "true")
	oneLineError(t, r, "docker://web: cannot reach Docker at unix:///nonexistent/docker.sock")
	oneLineError(t, r, "(is it running? --docker-host names another)")
	oneLineError(t, cnsenter(t, []string{"DOCKER_HOST=unix:///nonexistent/env.sock"}, "-t", "docker://web", "-n", "true"),
		"cannot reach Docker at unix:///nonexistent/env.sock")
	oneLineError(t, cnsenter(t, nil, "--docker-host", "tcp://127.0.0.1:2375", "-t", "docker://web", "-n", "true"),
		"is not a local unix socket")
	oneLineError(t, cnsenter(t, nil, "--containerd-address", "/nonexistent/containerd.sock", "-t", "containerd://"+engines.Namespace+"/task1", "-n", "true"),
		"cannot reach containerd at /nonexistent/containerd.sock")
	// A socket nobody listens on refuses.
	refusing := filepath.Join(t.TempDir(), "refusing.sock")
	l, err := net.ListenUnix("unix", &net.UnixAddr{Name: refusing, Net: "unix"})
	if err != nil {
		t.Fatal(err)
	}
	l.SetUnlinkOnClose(false)
	l.Close()
	oneLineError(t, cnsenter(t, nil, "--docker-host", "unix://"+refusing, "-t", "docker://web", "-n", "true"),
		"cannot reach Docker at unix://"+refusing)
	oneLineError(t, cnsenter(t, nil, "--containerd-address", refusing, "-t", "containerd://"+engines.Namespace+"/task1", "-n", "true"),
		"cannot reach containerd at "+refusing)
	// A socket that takes the connection and never answers: the deadline.
	silent := filepath.Join(t.TempDir(), "silent.sock")
	hung, err := net.Listen("unix", silent)
	if err != nil {
		t.Fatal(err)
	}
	defer hung.Close()
	go func() {
		var held []net.Conn
		for {
			c, err := hung.Accept()
			if err != nil {
				for _, c := range held {
					c.Close()
				}
				return
			}
			held = append(held, c)
		}
	}()
	oneLineError(t, cnsenter(t, nil, "--containerd-address", silent, "--timeout", "300ms", "-t", "containerd://"+engines.Namespace+"/task1", "-n", "true"),
		"containerd at "+silent+" did not answer within 300ms")
	oneLineError(t, cnsenter(t, nil, "--timeout", "never", "-t", "web", "-n", "true"), "'never' is not a positive duration")
	oneLineError(t, cnsenter(t, []string{"CNSENTER_TIMEOUT=never"}, "-t", "web", "-n", "true"), "CNSENTER_TIMEOUT: 'never' is not a positive duration")

	// Permission denied: uid 1000 on the root-owned sockets.
	sock := strings.TrimPrefix(eng.DockerHost, "unix://")
	os.Chmod(filepath.Dir(sock), 0o755)
	asUser := []string{"--reuid=1000", "--regid=1000", "--clear-groups", filepath.Join(bin, "cnsenter")}
	r = runBinary(t, eng.Env(), "setpriv", append(asUser, "-t", "docker://web", "-n", "true")...)
	oneLineError(t, r, "permission denied on the Docker socket "+eng.DockerHost)
	r = runBinary(t, eng.Env(), "setpriv", append(asUser, "-t", "containerd://"+engines.Namespace+"/task1", "-n", "true")...)
	oneLineError(t, r, "permission denied on the containerd socket "+eng.ContainerdAddress)
}
