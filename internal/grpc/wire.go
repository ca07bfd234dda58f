package grpc

import (
	"encoding/binary"
	"errors"
	"fmt"
)

// The protobuf wire format (protobuf.dev/programming-guides/encoding), as
// much of it as the callers' few messages need: they write and read their
// fields by number, and skip the fields they do not use, as any protobuf
// reader skips unknown ones.

// Wire types.
const (
	WireVarint = 0
	Wire64     = 1
	WireBytes  = 2
	Wire32     = 5
)

// ErrMalformed is a message that is not protobuf.
var ErrMalformed = errors.New("malformed protobuf message")

// AppendString appends a string (or bytes, or message) field.
func AppendString(b []byte, field int, s string) []byte {
	return AppendBytes(b, field, []byte(s))
}

// AppendBytes appends a length-delimited field: bytes or a message.
func AppendBytes(b []byte, field int, v []byte) []byte {
	b = binary.AppendUvarint(b, uint64(field)<<3|WireBytes)
	b = binary.AppendUvarint(b, uint64(len(v)))
	return append(b, v...)
}

// AppendVarint appends a varint field: an integer, a bool, an enum.
func AppendVarint(b []byte, field int, v uint64) []byte {
	b = binary.AppendUvarint(b, uint64(field)<<3|WireVarint)
	return binary.AppendUvarint(b, v)
}

// Fields calls fn with each field of a message: its number, and its value,
// a varint in v or the bytes of a length-delimited field in b.
func Fields(m []byte, fn func(field int, v uint64, b []byte)) error {
	for len(m) > 0 {
		tag, n := binary.Uvarint(m)
		if n <= 0 {
			return ErrMalformed
		}
		m = m[n:]
		field := int(tag >> 3)
		switch tag & 7 {
		case WireVarint:
			v, n := binary.Uvarint(m)
			if n <= 0 {
				return ErrMalformed
			}
			fn(field, v, nil)
			m = m[n:]
		case Wire64, Wire32:
			size := 8
			if tag&7 == Wire32 {
				size = 4
			}
			if len(m) < size {
				return ErrMalformed
			}
			m = m[size:] // no fixed-size field is read by cnsenter
		case WireBytes:
			l, n := binary.Uvarint(m)
			if n <= 0 || l > uint64(len(m)-n) {
				return ErrMalformed
			}
			fn(field, 0, m[n:n+int(l)])
			m = m[n+int(l):]
		default: // groups: proto2 only
			return fmt.Errorf("%w: wire type %d", ErrMalformed, tag&7)
		}
	}
	return nil
}

// Repeated returns the values of a repeated length-delimited field.
func Repeated(m []byte, field int) ([][]byte, error) {
	var list [][]byte
	err := Fields(m, func(f int, _ uint64, b []byte) {
		if f == field && b != nil {
			list = append(list, b)
		}
	})
	return list, err
}

// Embedded returns one length-delimited field (empty if absent).
func Embedded(m []byte, field int) ([]byte, error) {
	list, err := Repeated(m, field)
	if err != nil || len(list) == 0 {
		return nil, err
	}
	return list[len(list)-1], nil // the last one wins, as in protobuf
}
