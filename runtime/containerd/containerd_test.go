package containerd

import (
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/cnsenter/cnsenter/internal/grpc"
	"github.com/cnsenter/cnsenter/internal/grpc/grpctest"
	"github.com/cnsenter/cnsenter/runtime"
)

// The messages a fake containerd answers with, written field by field.
var (
	field        = grpc.AppendBytes
	varint       = grpc.AppendVarint
	appendString = grpc.AppendString
)

func processMessage(id string, pid uint32, status uint64) []byte {
	m := appendString(nil, 1, id)
	m = appendString(m, 2, id)
	m = varint(m, 3, uint64(pid))
	m = varint(m, 4, status)
	m = binary.AppendUvarint(m, 10<<3|grpc.Wire64) // a fixed64 we skip
	return binary.LittleEndian.AppendUint64(m, 7)
}

func recordMessage(id, image string, spec []byte) []byte {
	m := appendString(nil, 1, id)
	m = field(m, 2, field(appendString(nil, 1, "label"), 2, []byte("value"))) // a map entry we skip
	m = appendString(m, 3, image)
	return field(m, 5, field(appendString(nil, 1, "types.containerd.io/opencontainers/runtime-spec/1/Spec"), 2, spec))
}

// fakeContainerd serves containerd's calls (internal/grpc/grpctest).
func fakeContainerd(t *testing.T, spec []byte) string {
	return grpctest.Serve(t, func(c grpctest.Call) grpctest.Answer {
		ns := c.Header.Get("Containerd-Namespace")
		var id string
		grpc.Fields(c.Request, func(f int, _ uint64, b []byte) {
			if f == 1 {
				id = string(b)
			}
		})
		switch {
		case c.Method == namespacesList:
			return grpctest.OK(field(field(nil, 1, appendString(nil, 1, "ns1")), 1, appendString(nil, 1, "ns2")))
		case ns != "ns1":
			return grpctest.Fail(5, "namespace "+ns+": not found")
		case c.Method == containersGet && (id == "web" || id == "idle"):
			return grpctest.OK(field(nil, 1, recordMessage(id, "busybox", spec)))
		case c.Method == tasksGet && id == "web":
			return grpctest.OK(field(nil, 1, processMessage("web", 42, 2)))
		case c.Method == containersList:
			return grpctest.OK(field(field(nil, 1, recordMessage("web", "busybox", spec)), 1, recordMessage("idle", "busybox", nil)))
		case c.Method == tasksList:
			return grpctest.OK(field(field(nil, 1, processMessage("web", 42, 2)), 1, processMessage("idle", 43, 4)))
		case c.Method == "/slow":
			time.Sleep(time.Second)
		}
		return grpctest.Fail(5, "container \""+id+"\" in namespace \"ns1\": not found")
	})
}

func TestAdapterAgainstGoHTTP2(t *testing.T) {
	// A spec larger than HTTP/2's default window and frame: flow control
	// and DATA in many frames.
	spec := []byte(`{"ociVersion":"1.0.2","process":{"cwd":"/srv","env":["BIG=` + strings.Repeat("x", 200<<10) + `"]}}`)
	a, err := New("unix://"+fakeContainerd(t, spec), 2*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	defer a.Close()
	ctx := context.Background()
	c, err := a.Get(ctx, "ns1", "web")
	if err != nil || c.PID != 42 || c.Status != "running" || c.Image != "busybox" {
		t.Errorf("Get(ns1, web) = %+v, %v", c, err)
	}
	if _, err := a.Get(ctx, "ns1", "idle"); err == nil || err.Error() != "containerd://ns1/idle: container is not running (it has no task)" || !errors.Is(err, runtime.ErrNotRunning) {
		t.Errorf("a container without a task: %v", err)
	}
	if _, err := a.Get(ctx, "ns1", "nosuch"); !errors.Is(err, runtime.ErrNotFound) || err.Error() != "containerd://ns1/nosuch: no such container" {
		t.Errorf("an unknown container: %v", err)
	}
	if found, err := a.Find(ctx, "web"); err != nil || len(found) != 1 || found[0].Ref() != "containerd://ns1/web" || found[0].Task != "ns1" {
		t.Errorf("Find(web) = %+v, %v", found, err)
	}
	if found, err := a.Find(ctx, "idle"); !errors.Is(err, runtime.ErrNotRunning) || len(found) != 0 {
		t.Errorf("Find(idle) = %+v, %v", found, err)
	}
	if s, err := a.SpecJSON(ctx, "ns1", "web"); err != nil || !bytes.Equal(s, spec) {
		t.Errorf("SpecJSON: %d bytes, %v", len(s), err)
	}
	names, err := a.Namespaces(ctx)
	if err != nil || strings.Join(names, ",") != "ns1,ns2" {
		t.Errorf("Namespaces = %q, %v", names, err)
	}
	list, err := a.ListNamespace(ctx, "ns1")
	if err != nil || len(list) != 1 || list[0].ID != "web" || list[0].PID != 42 {
		t.Errorf("ListNamespace = %+v, %v", list, err)
	}
	if _, err := a.List(ctx); err == nil || !strings.Contains(err.Error(), "namespace ns2: not found") {
		t.Errorf("List with a namespace that fails: %v", err)
	}
	// The deadline: a call that is never answered.
	a.timeout = 100 * time.Millisecond
	cctx, cancel := a.deadline(ctx)
	defer cancel()
	if _, err := a.call(cctx, "ns1", "/slow", nil); err == nil || !strings.Contains(a.explain(cctx, "x", err).Error(), "did not answer within 100ms") {
		t.Errorf("a hung call: %v", err)
	}
	// After a failed connection, the next call connects again.
	a.timeout = 2 * time.Second
	if c, err := a.Get(ctx, "ns1", "web"); err != nil || c.PID != 42 {
		t.Errorf("Get after a timeout: %+v, %v", c, err)
	}
}

func TestAdapterUnreachable(t *testing.T) {
	a, _ := New(filepath.Join(t.TempDir(), "none.sock"), time.Second)
	_, err := a.Get(context.Background(), "ns1", "web")
	if err == nil || !strings.Contains(err.Error(), "cannot reach containerd at ") || !errors.Is(err, runtime.ErrUnreachable) {
		t.Errorf("no socket: %v", err)
	}
}

// FuzzDecode: whatever containerd sends, decoding gives values or an
// error, never a crash.
func FuzzDecode(f *testing.F) {
	f.Add(processMessage("web", 42, 2))
	f.Add(recordMessage("web", "busybox", []byte("{}")))
	f.Fuzz(func(t *testing.T, m []byte) {
		decodeProcess(m)
		decodeRecord(m)
		decodeNamespaces(m)
	})
}
