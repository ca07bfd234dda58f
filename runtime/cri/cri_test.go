package cri

import (
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"net"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/cnsenter/cnsenter/internal/grpc"
	"github.com/cnsenter/cnsenter/internal/grpc/grpctest"
	"github.com/cnsenter/cnsenter/runtime"
)

// The requests, byte for byte, as protoc-generated code writes them
// (checked against api.proto's field numbers by hand).
func TestEncode(t *testing.T) {
	for _, c := range []struct {
		name      string
		got, want []byte
	}{
		// VersionRequest{version: "v1"}
		{"Version", encodeVersion(), []byte{0x0a, 2, 'v', '1'}},
		// ListPodSandboxRequest{filter: {state: {state: SANDBOX_READY}}}
		{"ListPodSandbox", encodeListPodSandbox(), []byte{0x0a, 4, 0x12, 2, 0x08, 0}},
		// ListContainersRequest{filter: {state: {state: CONTAINER_RUNNING}, pod_sandbox_id: "p1"}}
		{"ListContainers running of p1", encodeListContainers("p1", containerRunning), []byte{0x0a, 8, 0x12, 2, 0x08, 1, 0x1a, 2, 'p', '1'}},
		// ListContainersRequest{filter: {}}
		{"ListContainers all", encodeListContainers("", noStateFilter), []byte{0x0a, 0}},
		// ContainerStatusRequest{container_id: "c1", verbose: true}
		{"ContainerStatus", encodeContainerStatus("c1"), []byte{0x0a, 2, 'c', '1', 0x10, 1}},
	} {
		if !bytes.Equal(c.got, c.want) {
			t.Errorf("%s: % x, want % x", c.name, c.got, c.want)
		}
	}
}

// Messages as a CRI runtime writes them, field by field, with fields that
// cnsenter skips among them.
func mapEntry(field int, k, v string) []byte {
	return grpc.AppendBytes(nil, field, grpc.AppendString(grpc.AppendString(nil, 1, k), 2, v))
}

func fixed64(b []byte, field int) []byte {
	b = binary.AppendUvarint(b, uint64(field)<<3|grpc.Wire64)
	return binary.LittleEndian.AppendUint64(b, 7)
}

func sandboxMessage(id, ns, name string, state uint64) []byte {
	meta := grpc.AppendString(grpc.AppendString(grpc.AppendString(nil, 1, name), 2, "uid-"+name), 3, ns)
	meta = grpc.AppendVarint(meta, 4, 0)
	m := grpc.AppendString(nil, 1, id)
	m = grpc.AppendBytes(m, 2, meta)
	if state != 0 {
		m = grpc.AppendVarint(m, 3, state)
	}
	m = grpc.AppendVarint(m, 4, 1700000000000000000) // created_at
	m = append(m, mapEntry(5, labelPod, name)...)
	m = append(m, mapEntry(5, labelNamespace, ns)...)
	m = append(m, mapEntry(6, "annotation", "x")...)
	return grpc.AppendString(m, 7, "runc")
}

func containerMessage(id, sandbox, name string, attempt, state uint64) []byte {
	m := grpc.AppendString(nil, 1, id)
	m = grpc.AppendString(m, 2, sandbox)
	m = grpc.AppendBytes(m, 3, grpc.AppendVarint(grpc.AppendString(nil, 1, name), 2, attempt))
	m = grpc.AppendBytes(m, 4, append(grpc.AppendString(nil, 1, "busybox:latest"), mapEntry(2, "a", "b")...))
	m = grpc.AppendString(m, 5, "sha256:1234")
	if state != 0 {
		m = grpc.AppendVarint(m, 6, state)
	}
	m = fixed64(m, 7)
	m = append(m, mapEntry(8, labelContainer, name)...)
	return m
}

func statusMessage(id string, state uint64, info string) []byte {
	s := grpc.AppendString(nil, 1, id)
	s = grpc.AppendBytes(s, 2, grpc.AppendString(nil, 1, "app"))
	s = grpc.AppendVarint(s, 3, state)
	s = grpc.AppendVarint(s, 7, 1<<64-1) // exit_code -1, an int32 as protobuf writes it
	s = grpc.AppendBytes(s, 8, grpc.AppendString(nil, 1, "docker.io/library/busybox:latest"))
	s = grpc.AppendString(s, 15, "/var/log/pods/x.log")
	m := grpc.AppendBytes(nil, 1, s)
	if info != "" {
		m = append(m, mapEntry(2, "info", info)...)
	}
	return m
}

func TestDecode(t *testing.T) {
	v, err := decodeVersion(grpc.AppendString(grpc.AppendString(grpc.AppendString(grpc.AppendString(nil, 1, "0.1.0"), 2, "containerd"), 3, "v2.4.2"), 4, "v1"))
	if err != nil || v != (version{"containerd", "v2.4.2", "v1"}) {
		t.Errorf("decodeVersion = %+v, %v", v, err)
	}
	res := grpc.AppendBytes(grpc.AppendBytes(nil, 1, sandboxMessage("s1", "default", "web", 0)), 1, sandboxMessage("s2", "kube-system", "dns", 1))
	pods, err := decodeSandboxes(res)
	want := []sandbox{
		{id: "s1", name: "web", uid: "uid-web", namespace: "default", ready: true, labels: map[string]string{labelPod: "web", labelNamespace: "default"}},
		{id: "s2", name: "dns", uid: "uid-dns", namespace: "kube-system", ready: false, labels: map[string]string{labelPod: "dns", labelNamespace: "kube-system"}},
	}
	if err != nil || len(pods) != 2 || pods[0].id != want[0].id || pods[0].name != "web" || pods[0].namespace != "default" || !pods[0].ready ||
		pods[0].uid != "uid-web" || pods[0].labels[labelPod] != "web" || pods[1].ready || pods[1].namespace != "kube-system" {
		t.Errorf("decodeSandboxes = %+v, %v", pods, err)
	}
	res = grpc.AppendBytes(nil, 1, containerMessage("c1", "s1", "app", 2, 1))
	ctrs, err := decodeContainers(res)
	if err != nil || len(ctrs) != 1 || ctrs[0].id != "c1" || ctrs[0].sandboxID != "s1" || ctrs[0].name != "app" || ctrs[0].attempt != 2 ||
		ctrs[0].image != "busybox:latest" || ctrs[0].state != containerRunning || ctrs[0].labels[labelContainer] != "app" {
		t.Errorf("decodeContainers = %+v, %v", ctrs, err)
	}
	// containerd's verbose info, and CRI-O's: both JSON with "pid" under "info".
	for info, spec := range map[string]string{
		`{"sandboxID":"s1","pid":4242,"removing":false,"snapshotKey":"c1","runtimeSpec":{"ociVersion":"1.2.0"}}`: `{"ociVersion":"1.2.0"}`,
		`{"sandboxID":"s1","pid":4242,"runtimeSpec":{"ociVersion":"1.0.2"},"privileged":false}`:                  `{"ociVersion":"1.0.2"}`,
		`{"sandboxID":"s1","pid":4242}`: "",
	} {
		st, err := decodeStatus(statusMessage("c1", 1, info))
		if err != nil || string(st.spec) != spec {
			t.Errorf("decodeStatus(%s) = %+v, %v", info, st, err)
		}
		if st.id != "c1" || st.state != containerRunning || st.image != "docker.io/library/busybox:latest" || st.pid != 4242 {
			t.Errorf("decodeStatus(%s) = %+v, %v", info, st, err)
		}
	}
	for info, want := range map[string]string{"": "no verbose", `{"sandboxID":"s1"}`: "no verbose", `{"pid":-3}`: "PID -3", `{"pid":"x"}`: "verbose info", `not json`: "verbose info"} {
		if _, err := decodeStatus(statusMessage("c1", 1, info)); err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("decodeStatus with info %q: %v, want %q", info, err, want)
		}
	}
	// Broken at the top, and inside an embedded message (which a
	// VersionResponse, all strings, does not have).
	for j, m := range [][]byte{{0x0a}, {0x0a, 5, 'a'}, {0x0a, 2, 0x0a, 9}} {
		_, e1 := decodeSandboxes(m)
		_, e2 := decodeContainers(m)
		_, e3 := decodeStatus(m)
		_, e4 := decodeVersion(m)
		if j == 2 {
			e4 = grpc.ErrMalformed
		}
		for i, err := range []error{e1, e2, e3, e4} {
			if err == nil {
				t.Errorf("decoder %d accepted % x", i, m)
			}
		}
	}
}

// FuzzDecode: whatever a CRI runtime sends, decoding gives values or an
// error, never a crash.
func FuzzDecode(f *testing.F) {
	f.Add(sandboxMessage("s1", "default", "web", 0))
	f.Add(grpc.AppendBytes(nil, 1, containerMessage("c1", "s1", "app", 0, 1)))
	f.Add(statusMessage("c1", 1, `{"pid":1}`))
	f.Fuzz(func(t *testing.T, m []byte) {
		decodeVersion(m)
		decodeSandboxes(m)
		decodeContainers(m)
		decodeStatus(m)
	})
}

// fakeCRI serves the four calls over HTTP/2 without TLS on a unix socket,
// with Go's own HTTP/2 server (an implementation independent of ours): a
// node with pods default/web (one container, app), default/multi (two:
// one, two), prod/api (app, and an exited sidecar), a pod that is not
// ready (default/gone) and a container whose status is gone (default/racy).
// unimplemented makes it a containerd without CRI.
func fakeCRI(t *testing.T, runtimeName string, unimplemented bool) string {
	t.Helper()
	sandboxes := [][]byte{
		sandboxMessage("sweb", "default", "web", 0), sandboxMessage("smulti", "default", "multi", 0),
		sandboxMessage("sapi", "prod", "api", 0), sandboxMessage("sgone", "default", "gone", 1),
		sandboxMessage("sracy", "default", "racy", 0),
	}
	containers := [][]byte{
		containerMessage("aaa111", "sweb", "app", 0, 1), containerMessage("bbb222", "smulti", "one", 0, 1),
		containerMessage("bbb333", "smulti", "two", 0, 1), containerMessage("ccc444", "sapi", "app", 0, 1),
		containerMessage("ccc555", "sapi", "sidecar", 3, 2), containerMessage("ddd666", "sgone", "app", 0, 1),
		containerMessage("eee777", "sracy", "app", 0, 1),
	}
	pids := map[string]int{"aaa111": 101, "bbb222": 102, "bbb333": 103, "ccc444": 104, "ddd666": 106}
	return grpctest.Serve(t, func(c grpctest.Call) grpctest.Answer {
		if unimplemented {
			return grpctest.Fail(12, "unknown service runtime.v1.RuntimeService")
		}
		req := c.Request
		switch c.Method {
		case methodVersion:
			return grpctest.OK(grpc.AppendString(grpc.AppendString(nil, 2, runtimeName), 4, "v1"))
		case methodSandboxes:
			if !bytes.Equal(req, encodeListPodSandbox()) {
				return grpctest.Fail(3, "unexpected filter")
			}
			var m []byte
			for _, s := range sandboxes {
				m = grpc.AppendBytes(m, 1, s)
			}
			return grpctest.OK(m)
		case methodContainers:
			var filter []byte
			grpc.Fields(req, func(f int, _ uint64, b []byte) { filter = b })
			var sandbox string
			grpc.Fields(filter, func(f int, _ uint64, b []byte) {
				if f == 3 {
					sandbox = string(b)
				}
			})
			var m []byte
			for _, ctr := range containers {
				list, _ := decodeContainers(grpc.AppendBytes(nil, 1, ctr))
				if sandbox == "" || list[0].sandboxID == sandbox {
					m = grpc.AppendBytes(m, 1, ctr)
				}
			}
			return grpctest.OK(m)
		case methodStatus:
			var id string
			verbose := false
			grpc.Fields(req, func(f int, v uint64, b []byte) {
				switch f {
				case 1:
					id = string(b)
				case 2:
					verbose = v == 1
				}
			})
			pid, ok := pids[id]
			if !ok || !verbose {
				return grpctest.Fail(5, "an error occurred when try to find container "+id+": not found")
			}
			return grpctest.OK(statusMessage(id, 1, `{"runtimeSpec":{"ociVersion":"1.2.0"},"pid":`+strings.Repeat(" ", 20<<10)+strconv.Itoa(pid)+`}`))
		}
		return grpctest.Fail(12, "unknown method")
	})
}

func newAdapter(t *testing.T, endpoint string) *Adapter {
	t.Helper()
	a, err := New(endpoint, 2*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { a.Close() })
	return a
}

func kindOf(err error) runtime.Kind { return runtime.KindOf(err) }

func TestResolve(t *testing.T) {
	t.Setenv("CONTAINER_RUNTIME_ENDPOINT", "")
	sock := fakeCRI(t, "containerd", false)
	a := newAdapter(t, "unix://"+sock)
	ctx := context.Background()
	for ref, want := range map[string]string{
		"default/web/app": "aaa111", "default/web": "aaa111", "web": "aaa111",
		"prod/api/app": "ccc444", "prod/api": "ccc444", // the exited sidecar is not a candidate
		"default/multi/two": "bbb333",
	} {
		c, err := a.Resolve(ctx, ref)
		if err != nil || c.ID != want || c.PID == 0 || c.Runtime != "cri" || c.Task != "k8s.io" || c.Status != "running" ||
			c.Image != "docker.io/library/busybox:latest" || !strings.HasPrefix(c.Reference, "cri://"+c.Namespace+"/") || c.Name != strings.TrimPrefix(c.Reference, "cri://"+c.Namespace+"/") {
			t.Errorf("Resolve(%s) = %+v, %v; want %s", ref, c, err, want)
		}
	}
	// cri-dockerd's containers are Docker's: containerd's moby.
	if c, err := newAdapter(t, fakeCRI(t, "docker", false)).Resolve(ctx, "web"); err != nil || c.Task != "moby" {
		t.Errorf("Resolve(web) on cri-dockerd = %+v, %v", c, err)
	}
	if a.Endpoint() != sock {
		t.Errorf("Endpoint() = %q, want %q", a.Endpoint(), sock)
	}
	for ref, want := range map[string]struct {
		kind    runtime.Kind
		message string
	}{
		"default/multi":          {runtime.Ambiguous, "cri://default/multi: names several containers: cri://default/multi/one, cri://default/multi/two"},
		"nosuch":                 {runtime.NotFound, "cri://nosuch: no running pod nosuch in namespace default"},
		"prod/web":               {runtime.NotFound, "cri://prod/web: no running pod web in namespace prod"},
		"default/gone":           {runtime.NotFound, "no running pod gone"}, // its sandbox is not ready
		"default/web/nosuch":     {runtime.NotFound, "cri://default/web: has no container nosuch"},
		"prod/api/sidecar":       {runtime.NotRunning, "cri://prod/api/sidecar: container cri://prod/api/sidecar is not running (exited)"},
		"default/racy":           {runtime.NotFound, "cri://default/racy: container cri://default/racy/app was removed"},
		"a/b/c/d":                {runtime.Failed, "cri://a/b/c/d: not a reference: give cri://NAMESPACE/POD/CONTAINER"},
		"default//app":           {runtime.Failed, "cri://default//app: not a reference: the pod name is empty"},
		"":                       {runtime.Failed, "cri://: not a reference: the pod name is empty"},
		"default/we b":           {runtime.Failed, `the pod name "we b" has ' '`},
		"-x":                     {runtime.Failed, `the pod name "-x" does not start with a letter or a digit`},
		"default/web/a\nb":       {runtime.Failed, `the container name "a\nb" has '\n'`},
		strings.Repeat("a", 254): {runtime.Failed, "longer than 253"},
	} {
		_, err := a.Resolve(ctx, ref)
		if kindOf(err) != want.kind || err == nil || !strings.Contains(err.Error(), strings.TrimPrefix(want.message, "cri://default/web: ")) || strings.Contains(err.Error(), "\n") {
			t.Errorf("Resolve(%q) = %v (%v), want %v %q", ref, err, kindOf(err), want.kind, want.message)
		}
		var e *runtime.Error
		if errors.As(err, &e) && e.Kind == runtime.Ambiguous && !slices.Equal(e.Matches, []string{"cri://default/multi/one", "cri://default/multi/two"}) {
			t.Errorf("Matches = %q", e.Matches)
		}
	}
}

func TestFindAndList(t *testing.T) {
	t.Setenv("CONTAINER_RUNTIME_ENDPOINT", "")
	a := newAdapter(t, fakeCRI(t, "cri-o", false))
	ctx := context.Background()
	for name, want := range map[string][]string{
		"aaa111":  {"cri://default/web/app"},                              // an ID
		"bbb":     {"cri://default/multi/one", "cri://default/multi/two"}, // a prefix of two
		"bbb3":    {"cri://default/multi/two"},
		"app":     {"cri://default/web/app", "cri://prod/api/app"},        // a container name, in every pod (racy's is gone)
		"multi":   {"cri://default/multi/one", "cri://default/multi/two"}, // a pod name
		"web/app": nil,                                                    // not a name: cri://NAMESPACE/POD/CONTAINER says that
		"sweb":    nil,                                                    // a sandbox ID: its pause is no target
		"nosuch":  nil,
	} {
		list, err := a.Find(ctx, name)
		var got []string
		for _, c := range list {
			got = append(got, c.Ref())
			// CRI-O: no containerd namespace to read the spec from; the
			// spec comes with the status.
			if c.PID == 0 || c.Task != "" || len(c.Spec) == 0 {
				t.Errorf("Find(%s): %+v", name, c)
			}
		}
		if err != nil || !slices.Equal(got, want) {
			t.Errorf("Find(%s) = %q, %v; want %q", name, got, err, want)
		}
	}
	if _, err := a.Find(ctx, "sidecar"); kindOf(err) != runtime.NotRunning || !errors.Is(err, runtime.ErrNotRunning) {
		t.Errorf("Find(sidecar), exited: %v", err)
	}
	list, err := a.List(ctx)
	var got []string
	for _, c := range list {
		got = append(got, c.Namespace+" "+c.Name+" "+c.Ref())
	}
	want := []string{"default multi/one cri://default/multi/one", "default multi/two cri://default/multi/two",
		"default web/app cri://default/web/app", "prod api/app cri://prod/api/app"}
	if err != nil || !slices.Equal(got, want) {
		t.Errorf("List = %q, %v", got, err)
	}
}

func TestEndpoint(t *testing.T) {
	dir := t.TempDir()
	noCRI := fakeCRI(t, "containerd", true) // containerd without its CRI plugin
	crio := fakeCRI(t, "cri-o", false)
	defer func(saved []string) { DefaultEndpoints = saved }(DefaultEndpoints)
	DefaultEndpoints = []string{filepath.Join(dir, "absent.sock"), noCRI, crio}

	// The first default socket that answers as a CRI runtime, as crictl.
	t.Setenv("CONTAINER_RUNTIME_ENDPOINT", "")
	a := newAdapter(t, "")
	if a.Endpoint() != strings.Join(DefaultEndpoints, " or ") {
		t.Errorf("Endpoint() before any call = %q", a.Endpoint())
	}
	if c, err := a.Resolve(context.Background(), "web"); err != nil || c.ID != "aaa111" || a.Endpoint() != crio {
		t.Errorf("Resolve(web) on the defaults = %+v, %v; endpoint %s", c, err, a.Endpoint())
	}
	// The environment, then the option, each alone.
	t.Setenv("CONTAINER_RUNTIME_ENDPOINT", "unix://"+noCRI)
	a = newAdapter(t, "")
	_, err := a.Resolve(context.Background(), "web")
	if kindOf(err) != runtime.Unreachable || !strings.Contains(err.Error(), noCRI+" serves no CRI API") {
		t.Errorf("CONTAINER_RUNTIME_ENDPOINT without CRI: %v", err)
	}
	a = newAdapter(t, crio)
	if _, err := a.Resolve(context.Background(), "web"); err != nil || a.Endpoint() != crio {
		t.Errorf("--cri-endpoint over CONTAINER_RUNTIME_ENDPOINT: %v, %s", err, a.Endpoint())
	}
	// Nothing listens: one line naming the socket.
	down := filepath.Join(dir, "down.sock")
	a = newAdapter(t, "unix://"+down)
	_, err = a.Resolve(context.Background(), "web")
	var e *runtime.Error
	if !errors.As(err, &e) || e.Kind != runtime.Unreachable || e.Endpoint != down || !strings.Contains(err.Error(), "cannot reach the CRI runtime at "+down) || strings.Contains(err.Error(), "\n") {
		t.Errorf("a socket nothing listens on: %v", err)
	}
	// No default socket is a CRI runtime's: none exists, or containerd's
	// has no CRI. cri:// fails; a bare name and --list find nothing, as
	// on any machine without Kubernetes.
	t.Setenv("CONTAINER_RUNTIME_ENDPOINT", "")
	for _, defaults := range [][]string{{filepath.Join(dir, "a.sock"), filepath.Join(dir, "b.sock")}, {filepath.Join(dir, "a.sock"), noCRI}} {
		DefaultEndpoints = defaults
		a = newAdapter(t, "")
		if _, err := a.Resolve(context.Background(), "web"); kindOf(err) != runtime.Unreachable || !strings.Contains(err.Error(), "cri://web: no CRI runtime on this machine: none of "+strings.Join(defaults, ", ")) {
			t.Errorf("no CRI socket: %v", err)
		}
		if list, err := a.Find(context.Background(), "web"); list != nil || err != nil {
			t.Errorf("Find without a CRI socket: %v, %v", list, err)
		}
		if list, err := a.List(context.Background()); list != nil || err != nil {
			t.Errorf("List without a CRI socket: %v, %v", list, err)
		}
	}
	// A given endpoint that is down is reported by Find and List too.
	a = newAdapter(t, down)
	if _, err := a.List(context.Background()); kindOf(err) != runtime.Unreachable {
		t.Errorf("List with --cri-endpoint down: %v", err)
	}
	for _, bad := range []string{"tcp://localhost:1234", "relative.sock", "unix://"} {
		if _, err := New(bad, time.Second); err == nil {
			t.Errorf("New(%q) accepted it", bad)
		}
	}
}

// A CRI runtime that accepts the connection and never answers: the
// deadline, naming the endpoint.
func TestTimeout(t *testing.T) {
	sock := filepath.Join(t.TempDir(), "hung.sock")
	l, err := net.Listen("unix", sock)
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	go func() {
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			defer c.Close()
		}
	}()
	a, _ := New(sock, 100*time.Millisecond)
	defer a.Close()
	_, err = a.Resolve(context.Background(), "web")
	if kindOf(err) != runtime.Timeout || !strings.Contains(err.Error(), "the CRI runtime at "+sock+" did not answer within 100ms") {
		t.Errorf("a hung runtime: %v", err)
	}
}
