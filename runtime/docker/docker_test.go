package docker

import (
	"io"
	"strings"
	"testing"
)

func TestParseAnswer(t *testing.T) {
	status, body, err := parseAnswer([]byte("HTTP/1.1 404 Not Found\r\nContent-Type: application/json\r\n\r\n{\"message\":\"No such container: x\"}\n"))
	if err != nil || status != 404 || string(body) != "{\"message\":\"No such container: x\"}\n" {
		t.Errorf("got %d %q %v", status, body, err)
	}
	for answer, want := range map[string]string{
		"":                        io.EOF.Error(),
		"garbage":                 "not an HTTP answer",
		"HTTP/1.1 abc OK\r\n\r\n": "not an HTTP status",
		"SSH-2.0-OpenSSH\r\n\r\n": "not an HTTP answer",
		"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n0\r\n\r\n": "in chunks",
	} {
		if _, _, err := parseAnswer([]byte(answer)); err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("parseAnswer(%q) = %v, want %q", answer, err, want)
		}
	}
}
