package containerd

import (
	"encoding/binary"
	"errors"
	"fmt"
)

// The few protobuf messages of containerd's API that cnsenter sends and
// reads, in the wire format (protobuf.dev/programming-guides/encoding):
// the field numbers are those of containerd/api's .proto files. Fields we
// do not use are skipped, as any protobuf reader skips unknown ones.

// appendString appends a string field.
func appendString(b []byte, field int, s string) []byte {
	b = binary.AppendUvarint(b, uint64(field)<<3|wireBytes)
	b = binary.AppendUvarint(b, uint64(len(s)))
	return append(b, s...)
}

const (
	wireVarint = 0
	wire64     = 1
	wireBytes  = 2
	wire32     = 5
)

var errMalformed = errors.New("malformed protobuf message")

// fields calls fn with each field of a message: its number, and its value,
// a varint in v or the bytes of a length-delimited field in b.
func fields(m []byte, fn func(field int, v uint64, b []byte)) error {
	for len(m) > 0 {
		tag, n := binary.Uvarint(m)
		if n <= 0 {
			return errMalformed
		}
		m = m[n:]
		field := int(tag >> 3)
		switch tag & 7 {
		case wireVarint:
			v, n := binary.Uvarint(m)
			if n <= 0 {
				return errMalformed
			}
			fn(field, v, nil)
			m = m[n:]
		case wire64, wire32:
			size := 8
			if tag&7 == wire32 {
				size = 4
			}
			if len(m) < size {
				return errMalformed
			}
			m = m[size:] // no fixed-size field is read here
		case wireBytes:
			l, n := binary.Uvarint(m)
			if n <= 0 || l > uint64(len(m)-n) {
				return errMalformed
			}
			fn(field, 0, m[n:n+int(l)])
			m = m[n+int(l):]
		default: // groups: proto2 only, not in containerd's API
			return fmt.Errorf("%w: wire type %d", errMalformed, tag&7)
		}
	}
	return nil
}

// repeated returns the messages of a repeated message field.
func repeated(m []byte, field int) ([][]byte, error) {
	var list [][]byte
	err := fields(m, func(f int, _ uint64, b []byte) {
		if f == field && b != nil {
			list = append(list, b)
		}
	})
	return list, err
}

// embedded returns one message field (empty if absent).
func embedded(m []byte, field int) ([]byte, error) {
	list, err := repeated(m, field)
	if err != nil || len(list) == 0 {
		return nil, err
	}
	return list[len(list)-1], nil // the last one wins, as in protobuf
}

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
	err := fields(m, func(f int, v uint64, b []byte) {
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
	err := fields(m, func(f int, _ uint64, b []byte) {
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
		r.spec, err = embedded(anySpec, 2)
	}
	return r, err
}

// names returns the name (1) of each namespace (1) of a
// ListNamespacesResponse.
func decodeNamespaces(m []byte) ([]string, error) {
	list, err := repeated(m, 1)
	var names []string
	for _, ns := range list {
		name, e := embedded(ns, 1)
		err = errors.Join(err, e)
		names = append(names, string(name))
	}
	return names, err
}
