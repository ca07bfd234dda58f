package unixhttp

import (
	"io"
	"net"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func TestParse(t *testing.T) {
	a, err := Parse([]byte("HTTP/1.1 404 Not Found\r\nContent-Type: application/json\r\nApi-Version: 1.56\r\n\r\n{\"message\":\"No such container: x\"}\n"))
	if err != nil || a.Status != 404 || a.Header["api-version"] != "1.56" || string(a.Body) != "{\"message\":\"No such container: x\"}\n" {
		t.Errorf("got %+v %v", a, err)
	}
	for answer, want := range map[string]string{
		"":                        io.EOF.Error(),
		"garbage":                 "not an HTTP answer",
		"HTTP/1.1 abc OK\r\n\r\n": "not an HTTP status",
		"SSH-2.0-OpenSSH\r\n\r\n": "not an HTTP answer",
		"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n0\r\n\r\n": "in chunks",
	} {
		if _, err := Parse([]byte(answer)); err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("Parse(%q) = %v, want %q", answer, err, want)
		}
	}
}

// Get against a server on a socket: the request as sent, the answer read
// to the end, the server's uid; a server that never answers, the deadline.
func TestGet(t *testing.T) {
	sock := filepath.Join(t.TempDir(), "s.sock")
	l, err := net.Listen("unix", sock)
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	got := make(chan string, 1)
	go func() {
		c, err := l.Accept()
		if err != nil {
			return
		}
		buf := make([]byte, 512)
		n, _ := c.Read(buf)
		got <- string(buf[:n])
		c.Write([]byte("HTTP/1.0 200 OK\r\nX-Y: z\r\n\r\n[]"))
		c.Close()
		if c, err = l.Accept(); err == nil { // the second: never answered
			defer c.Close()
			time.Sleep(2 * time.Second)
		}
	}()
	a, err := Get(sock, "docker", "/containers/json", time.Now().Add(5*time.Second))
	if err != nil || a.Status != 200 || a.Header["x-y"] != "z" || string(a.Body) != "[]" || a.PeerUID < 0 {
		t.Errorf("Get = %+v, %v", a, err)
	}
	if req := <-got; req != "GET /containers/json HTTP/1.0\r\nHost: docker\r\nUser-Agent: cnsenter\r\n\r\n" {
		t.Errorf("request %q", req)
	}
	if _, err := Get(sock, "docker", "/x", time.Now().Add(100*time.Millisecond)); err == nil || !strings.Contains(err.Error(), "deadline") {
		t.Errorf("a server that does not answer: %v", err)
	}
}
