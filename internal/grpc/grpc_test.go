package grpc

import (
	"errors"
	"testing"
	"time"
)

func TestGRPCTimeout(t *testing.T) {
	for d, want := range map[time.Duration]string{0: "1m", 5 * time.Second: "5000m", 1000 * time.Hour: "1000H", 1 << 62: "1281023H"} {
		if got := grpcTimeout(d); got != want {
			t.Errorf("grpcTimeout(%v) = %q, want %q", d, got, want)
		}
	}
}

func TestWireMalformed(t *testing.T) {
	for _, m := range [][]byte{{0x0a}, {0x0a, 0x05, 'a'}, {0x08}, {0x0b}, {0x09, 1, 2}, {0x80}} {
		if err := Fields(m, func(int, uint64, []byte) {}); !errors.Is(err, ErrMalformed) {
			t.Errorf("%x: %v", m, err)
		}
	}
}

func TestWireRoundTrip(t *testing.T) {
	m := AppendVarint(AppendString(nil, 1, "web"), 3, 300)
	m = AppendBytes(m, 4, AppendString(nil, 1, "inner"))
	var s string
	var v uint64
	err := Fields(m, func(f int, n uint64, b []byte) {
		switch f {
		case 1:
			s = string(b)
		case 3:
			v = n
		}
	})
	inner, _ := Embedded(m, 4)
	if err != nil || s != "web" || v != 300 || string(inner) != string(AppendString(nil, 1, "inner")) {
		t.Errorf("round trip: %q %d %x %v", s, v, inner, err)
	}
}

// FuzzAnswer: whatever a server sends, reading it gives a message or an
// error, never a crash.
func FuzzAnswer(f *testing.F) {
	f.Add([]byte{0, 0, 0, 0, 2, 8, 1})
	f.Fuzz(func(t *testing.T, m []byte) {
		result(map[string]string{"grpc-status": "0"}, m)
		Fields(m, func(int, uint64, []byte) {})
		if b, err := unpad(m, flagPadded); err == nil && len(b) > len(m) {
			t.Fatal("unpad grew")
		}
	})
}
