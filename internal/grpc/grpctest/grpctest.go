// Package grpctest serves fake gRPC services for the clients' tests, with
// Go's own HTTP/2 server over a unix socket: an implementation independent
// of internal/grpc's.
package grpctest

import (
	"encoding/binary"
	"io"
	"net"
	"net/http"
	"path/filepath"
	"strconv"
	"testing"

	"golang.org/x/net/http2"
	"golang.org/x/net/http2/h2c"
)

// Call is one unary call as the server received it.
type Call struct {
	Method  string      // "/package.Service/Method"
	Header  http.Header // its metadata
	Request []byte      // the serialized request message
}

// Answer is what the service answers: a message with status 0, or a gRPC
// status code and its message.
type Answer struct {
	Message []byte
	Code    int
	Status  string
}

// Serve serves handle on a unix socket until the test ends, and returns
// the socket's path. A call without the gRPC essentials (te: trailers, a
// grpc-timeout, a framed message) is answered INVALID_ARGUMENT without
// reaching handle.
func Serve(t *testing.T, handle func(Call) Answer) string {
	t.Helper()
	sock := filepath.Join(t.TempDir(), "grpc.sock")
	l, err := net.Listen("unix", sock)
	if err != nil {
		t.Fatal(err)
	}
	h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		a := Answer{Code: 3, Status: "bad request"}
		if r.Header.Get("Te") == "trailers" && r.Header.Get("Grpc-Timeout") != "" && len(body) >= 5 {
			a = handle(Call{Method: r.URL.Path, Header: r.Header, Request: body[5:]})
		}
		w.Header().Set("Content-Type", "application/grpc")
		w.Header().Set("Trailer", "Grpc-Status, Grpc-Message")
		w.WriteHeader(http.StatusOK)
		if a.Code == 0 {
			w.Write(append([]byte{0}, binary.BigEndian.AppendUint32(nil, uint32(len(a.Message)))...))
			w.Write(a.Message)
		}
		w.Header().Set("Grpc-Status", strconv.Itoa(a.Code))
		w.Header().Set("Grpc-Message", a.Status)
	})
	srv := &http.Server{Handler: h2c.NewHandler(h, &http2.Server{})}
	go srv.Serve(l)
	t.Cleanup(func() { srv.Close() })
	return sock
}

// OK answers a message.
func OK(m []byte) Answer { return Answer{Message: m} }

// Fail answers a gRPC status.
func Fail(code int, status string) Answer { return Answer{Code: code, Status: status} }
