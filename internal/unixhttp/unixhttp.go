// Package unixhttp sends the one kind of HTTP request cnsenter's engine
// clients need, a GET on a unix socket, and reads its answer: HTTP/1.0, so
// that the body runs to the end of the connection and no chunked encoding
// is to be read. Docker's Engine API and Podman's libpod API are both
// asked this way. net/http (and the TLS code it brings) would cost 3.7 MiB
// and a few tenths of a millisecond at every start.
package unixhttp

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"
	"time"

	"golang.org/x/sys/unix"
)

// MaxAnswer is the largest answer read.
const MaxAnswer = 64 << 20

// Answer is what the server answered.
type Answer struct {
	Status int
	// Header holds the answer's header fields by lower-case name (the
	// last of a name).
	Header map[string]string
	Body   []byte
	// PeerUID is the uid of the process that serves the socket
	// (SO_PEERCRED), for the callers that trust a server by its owner.
	PeerUID int
}

// Get connects to socket, sends "GET PATH HTTP/1.0" with host as its Host
// and reads the answer to the end of the connection, each step bounded by
// the deadline through the socket's own timeouts. A deadline passed is
// context.DeadlineExceeded.
func Get(socket, host, path string, deadline time.Time) (Answer, error) {
	fd, err := unix.Socket(unix.AF_UNIX, unix.SOCK_STREAM|unix.SOCK_CLOEXEC, 0)
	if err != nil {
		return Answer{}, err
	}
	defer unix.Close(fd)
	left := time.Until(deadline)
	if left <= 0 {
		return Answer{}, context.DeadlineExceeded
	}
	tv := unix.NsecToTimeval(left.Nanoseconds())
	unix.SetsockoptTimeval(fd, unix.SOL_SOCKET, unix.SO_SNDTIMEO, &tv) // connect too, on a unix socket
	unix.SetsockoptTimeval(fd, unix.SOL_SOCKET, unix.SO_RCVTIMEO, &tv)
	if err := unix.Connect(fd, &unix.SockaddrUnix{Name: socket}); err != nil {
		return Answer{}, timedOut(err)
	}
	cred, err := unix.GetsockoptUcred(fd, unix.SOL_SOCKET, unix.SO_PEERCRED)
	if err != nil {
		return Answer{}, fmt.Errorf("cannot tell who serves the socket: %w", err)
	}
	request := "GET " + path + " HTTP/1.0\r\nHost: " + host + "\r\nUser-Agent: cnsenter\r\n\r\n"
	for sent := 0; sent < len(request); {
		n, err := unix.Write(fd, []byte(request[sent:]))
		if err != nil {
			return Answer{}, timedOut(err)
		}
		sent += n
	}
	var raw []byte
	buf := make([]byte, 32<<10)
	for {
		if time.Now().After(deadline) {
			return Answer{}, context.DeadlineExceeded
		}
		n, err := unix.Read(fd, buf)
		if err != nil {
			if err == unix.EINTR {
				continue
			}
			return Answer{}, timedOut(err)
		}
		if n == 0 {
			break
		}
		if raw = append(raw, buf[:n]...); len(raw) > MaxAnswer {
			return Answer{}, errors.New("the answer is larger than 64 MiB")
		}
	}
	a, err := Parse(raw)
	a.PeerUID = int(cred.Uid)
	return a, err
}

// timedOut says a socket timeout as a deadline.
func timedOut(err error) error {
	if err == unix.EAGAIN || err == unix.EINPROGRESS {
		return context.DeadlineExceeded
	}
	return err
}

// Parse splits an HTTP/1.0 answer into its status, header fields and body.
// Nothing at all is io.EOF: the server closed without a word.
func Parse(raw []byte) (Answer, error) {
	head, body, ok := bytes.Cut(raw, []byte("\r\n\r\n"))
	if !ok {
		if len(raw) == 0 {
			return Answer{}, io.EOF
		}
		return Answer{}, fmt.Errorf("not an HTTP answer: %.80q", raw)
	}
	statusLine, headers, _ := bytes.Cut(head, []byte("\r\n"))
	fields := strings.Fields(string(statusLine))
	if len(fields) < 2 || !strings.HasPrefix(fields[0], "HTTP/") {
		return Answer{}, fmt.Errorf("not an HTTP answer: %.80q", statusLine)
	}
	status, err := strconv.Atoi(fields[1])
	if err != nil {
		return Answer{}, fmt.Errorf("not an HTTP status: %.20q", fields[1])
	}
	a := Answer{Status: status, Header: map[string]string{}, Body: body}
	for _, line := range strings.Split(string(headers), "\r\n") {
		name, value, _ := strings.Cut(line, ":")
		a.Header[strings.ToLower(strings.TrimSpace(name))] = strings.TrimSpace(value)
	}
	if strings.EqualFold(a.Header["transfer-encoding"], "chunked") {
		return Answer{}, errors.New("the server answered HTTP/1.0 in chunks")
	}
	return a, nil
}
