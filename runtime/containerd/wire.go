package containerd

import (
	"errors"

	"github.com/cnsenter/cnsenter/internal/grpc"
)

// The few protobuf messages of containerd's API that cnsenter reads, by the
// field numbers of containerd/api's .proto files (internal/grpc has the
// wire format).

// process is containerd.v1.types.Process.
type process struct {
	id     string // 2
	pid    uint32 // 3
	status string // 4, the enum's name in lower case
}

// The names of containerd.v1.types.Status.
var statusNames = []string{"unknown", "created", "running", "stopped", "paused", "pausing"}

func decodeProcess(m []byte) (process, error) {
	p := process{status: "unknown"}
	err := grpc.Fields(m, func(f int, v uint64, b []byte) {
		switch f {
		case 2:
			p.id = string(b)
		case 3:
			p.pid = uint32(v)
		case 4:
			if v < uint64(len(statusNames)) {
				p.status = statusNames[v]
			}
		}
	})
	return p, err
}

// record is containerd.services.containers.v1.Container.
type record struct {
	id    string // 1
	image string // 3
	spec  []byte // 5, a google.protobuf.Any: its value (2)
}

func decodeRecord(m []byte) (record, error) {
	var r record
	var anySpec []byte
	err := grpc.Fields(m, func(f int, _ uint64, b []byte) {
		switch f {
		case 1:
			r.id = string(b)
		case 3:
			r.image = string(b)
		case 5:
			anySpec = b
		}
	})
	if err == nil && anySpec != nil {
		r.spec, err = grpc.Embedded(anySpec, 2)
	}
	return r, err
}

// names returns the name (1) of each namespace (1) of a
// ListNamespacesResponse.
func decodeNamespaces(m []byte) ([]string, error) {
	list, err := grpc.Repeated(m, 1)
	var names []string
	for _, ns := range list {
		name, e := grpc.Embedded(ns, 1)
		err = errors.Join(err, e)
		names = append(names, string(name))
	}
	return names, err
}
