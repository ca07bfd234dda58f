package docker

import (
	"context"
	"fmt"
	"net"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/cnsenter/cnsenter/internal/unixhttp"
)

// What goes into a path must be a version, nothing else.
func TestAPIVersion(t *testing.T) {
	for header, want := range map[string]string{
		"Api-Version: 1.41": "1.41", "api-version:1.52 ": "1.52", "Api-Version: 1.56/../x": "",
		"Api-Version: v1.41": "", "Api-Version: 1.": "", "Api-Version: 123456789.123": "", "Server: Docker/29.0": "",
	} {
		a, err := unixhttp.Parse([]byte("HTTP/1.0 200 OK\r\n" + header + "\r\n\r\n{}"))
		if got := apiVersion(a); err != nil || got != want {
			t.Errorf("%q: version %q (%v), want %q", header, got, err, want)
		}
	}
}

// TestVersionNegotiated: the first request of a session names no API
// version; the later ones ask for the one the engine's answer named.
func TestVersionNegotiated(t *testing.T) {
	sock := filepath.Join(t.TempDir(), "docker.sock")
	l, err := net.Listen("unix", sock)
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	var mu sync.Mutex
	var paths []string
	go func() {
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			buf := make([]byte, 4096)
			n, _ := c.Read(buf)
			line, _, _ := strings.Cut(string(buf[:n]), "\r\n")
			mu.Lock()
			paths = append(paths, strings.Fields(line)[1])
			mu.Unlock()
			body := `{"Id":"0123456789ab","Name":"/web","State":{"Running":true,"Pid":42}}`
			if strings.Contains(line, "/containers/json") {
				body = `[]`
			}
			fmt.Fprintf(c, "HTTP/1.0 200 OK\r\nApi-Version: 1.56\r\nContent-Type: application/json\r\n\r\n%s", body)
			c.Close()
		}
	}()
	a, err := New("unix://"+sock, 5*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := a.Resolve(context.Background(), "web"); err != nil {
		t.Fatal(err)
	}
	if _, err := a.List(context.Background()); err != nil {
		t.Fatal(err)
	}
	mu.Lock()
	defer mu.Unlock()
	if len(paths) != 2 || paths[0] != "/containers/web/json" || !strings.HasPrefix(paths[1], "/v1.56/containers/json") {
		t.Errorf("requests %q: want the first without a version, the next with the engine's 1.56", paths)
	}
}
