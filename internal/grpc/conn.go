// Package grpc is a client for gRPC unary calls over HTTP/2 with prior
// knowledge on a unix socket, and the protobuf wire format the callers
// write their few messages in: what cnsenter asks of containerd and of a
// CRI runtime, without grpc-go and generated services.
package grpc

import (
	"bufio"
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"net"
	"net/url"
	"strconv"
	"sync"
	"time"

	"golang.org/x/net/http2/hpack"
)

// A gRPC client for unary calls, over HTTP/2 with prior knowledge on a unix
// socket (grpc.io/docs/guides/wire, RFC 9113): all cnsenter asks of
// containerd and of CRI runtimes. grpc-go brings net/http, TLS and protobuf's reflection: 8 MiB
// of resident memory and 2 ms of start-up before the first call, which
// kept it out of cnsenter, in a resolver program of its own. One call at a
// time on a connection.

// HTTP/2 frame types and flags (RFC 9113, section 6).
const (
	frameData         = 0x0
	frameHeaders      = 0x1
	frameRSTStream    = 0x3
	frameSettings     = 0x4
	framePing         = 0x6
	frameGoAway       = 0x7
	frameWindowUpdate = 0x8
	frameContinuation = 0x9

	flagEndStream  = 0x1
	flagAck        = 0x1
	flagEndHeaders = 0x4
	flagPadded     = 0x8
	flagPriority   = 0x20

	settingEnablePush        = 0x2
	settingInitialWindowSize = 0x4

	maxWindow = 1<<31 - 1
	// A frame larger than the 16 KiB we never raised is a broken peer.
	maxFrame = 1 << 14
)

// gRPC status codes that cnsenter tells apart.
const (
	CodeDeadlineExceeded = 4
	CodeNotFound         = 5
	CodePermissionDenied = 7
	CodeUnimplemented    = 12
	CodeUnavailable      = 14
)

// StatusError is a call that the server answered with a gRPC status.
type StatusError struct {
	Code    int
	Message string
}

func (e *StatusError) Error() string { return fmt.Sprintf("%s (gRPC status %d)", e.Message, e.Code) }

// Unreachable wraps a failure to connect, or a server that hung up.
type Unreachable struct{ Err error }

func (e Unreachable) Error() string { return e.Err.Error() }
func (e Unreachable) Unwrap() error { return e.Err }

type conn struct {
	c      net.Conn
	r      *bufio.Reader
	block  bytes.Buffer // our header block, hpack-encoded
	enc    *hpack.Encoder
	dec    *hpack.Decoder
	stream uint32 // the next stream ID: odd, increasing
}

// Client makes calls to one server, connecting when first needed and again
// after a connection failed; one call at a time.
type Client struct {
	path string
	mu   sync.Mutex
	conn *conn
}

// NewClient makes a client for the server on a unix socket.
func NewClient(path string) *Client { return &Client{path: path} }

// Call makes one unary call within ctx's deadline (a minute when none):
// method is "/package.Service/Method", request a serialized message,
// metadata pairs of header names and values. A failure to connect is
// Unreachable; the server's gRPC status is a *StatusError.
func (cl *Client) Call(ctx context.Context, method string, request []byte, metadata ...string) ([]byte, error) {
	cl.mu.Lock()
	defer cl.mu.Unlock()
	if cl.conn == nil {
		c, err := dial(ctx, cl.path)
		if err != nil {
			return nil, err
		}
		cl.conn = c
	}
	response, err := cl.conn.call(ctx, method, request, metadata)
	var status *StatusError
	if err != nil && !errors.As(err, &status) {
		cl.conn.Close() // not to be used again
		cl.conn = nil
	}
	return response, err
}

// Close closes the connection, if one is open.
func (cl *Client) Close() error {
	cl.mu.Lock()
	defer cl.mu.Unlock()
	if cl.conn == nil {
		return nil
	}
	err := cl.conn.Close()
	cl.conn = nil
	return err
}

// dial connects and says what the server needs before the first call: the
// preface and our settings. The windows we grant are as large as HTTP/2
// allows, so the server never waits for a WINDOW_UPDATE from us.
func dial(ctx context.Context, path string) (*conn, error) {
	var d net.Dialer
	nc, err := d.DialContext(ctx, "unix", path)
	if err != nil {
		return nil, Unreachable{err}
	}
	c := &conn{c: nc, r: bufio.NewReaderSize(nc, 32<<10), stream: 1}
	c.enc = hpack.NewEncoder(&c.block)
	// No dynamic table on our side: nothing to keep in step with whatever
	// table size the server's SETTINGS allow.
	c.enc.SetMaxDynamicTableSizeLimit(0)
	c.dec = hpack.NewDecoder(4096, nil)
	var settings []byte
	settings = binary.BigEndian.AppendUint16(settings, settingEnablePush)
	settings = binary.BigEndian.AppendUint32(settings, 0)
	settings = binary.BigEndian.AppendUint16(settings, settingInitialWindowSize)
	settings = binary.BigEndian.AppendUint32(settings, maxWindow)
	b := []byte("PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n")
	b = appendFrame(b, frameSettings, 0, 0, settings)
	b = appendFrame(b, frameWindowUpdate, 0, 0, binary.BigEndian.AppendUint32(nil, maxWindow-65535))
	if deadline, ok := ctx.Deadline(); ok {
		nc.SetDeadline(deadline)
	}
	if _, err := nc.Write(b); err != nil {
		nc.Close()
		return nil, Unreachable{err}
	}
	return c, nil
}

func (c *conn) Close() error { return c.c.Close() }

func appendFrame(b []byte, typ, flags byte, stream uint32, payload []byte) []byte {
	n := len(payload)
	b = append(b, byte(n>>16), byte(n>>8), byte(n), typ, flags)
	b = binary.BigEndian.AppendUint32(b, stream)
	return append(b, payload...)
}

// call makes one unary call: method is "/package.Service/Method", request
// a serialized message, metadata pairs of header names and values; it
// returns the serialized response.
func (c *conn) call(ctx context.Context, method string, request []byte, metadata []string) ([]byte, error) {
	deadline, ok := ctx.Deadline()
	if !ok {
		deadline = time.Now().Add(time.Minute)
	}
	c.c.SetDeadline(deadline)
	id := c.stream
	c.stream += 2

	c.block.Reset()
	headers := []hpack.HeaderField{
		{Name: ":method", Value: "POST"}, {Name: ":scheme", Value: "http"}, {Name: ":path", Value: method},
		{Name: ":authority", Value: "localhost"}, {Name: "content-type", Value: "application/grpc"},
		{Name: "te", Value: "trailers"},
		{Name: "grpc-timeout", Value: grpcTimeout(time.Until(deadline))},
	}
	for i := 0; i+1 < len(metadata); i += 2 {
		headers = append(headers, hpack.HeaderField{Name: metadata[i], Value: metadata[i+1]})
	}
	for _, h := range headers {
		c.enc.WriteField(h)
	}
	// A gRPC message: not compressed, its length, itself.
	msg := append([]byte{0}, binary.BigEndian.AppendUint32(nil, uint32(len(request)))...)
	msg = append(msg, request...)
	if c.block.Len() > maxFrame || len(msg) > maxFrame {
		return nil, errors.New("request too large") // never, for cnsenter's requests
	}
	b := appendFrame(nil, frameHeaders, flagEndHeaders, id, c.block.Bytes())
	b = appendFrame(b, frameData, flagEndStream, id, msg)
	if _, err := c.c.Write(b); err != nil {
		return nil, err
	}
	return c.response(id)
}

// grpcTimeout writes a deadline as gRPC wants it: at most 8 digits and a unit.
func grpcTimeout(d time.Duration) string {
	if ms := d.Milliseconds(); ms < 1e8 {
		return strconv.FormatInt(max(ms, 1), 10) + "m"
	}
	return strconv.FormatInt(int64(d/time.Hour), 10) + "H" // a Duration is under 3 million hours
}

// response reads frames until stream id ends, answering the connection's
// own frames (SETTINGS, PING) on the way.
func (c *conn) response(id uint32) ([]byte, error) {
	fields := map[string]string{} // the response headers, then the trailers
	var body, block []byte
	ended := false // END_STREAM seen, on HEADERS that may go on in CONTINUATIONs
	header := make([]byte, 9)
	for {
		if _, err := io.ReadFull(c.r, header); err != nil {
			return nil, err
		}
		length := int(header[0])<<16 | int(header[1])<<8 | int(header[2])
		typ, flags := header[3], header[4]
		stream := binary.BigEndian.Uint32(header[5:]) & (1<<31 - 1)
		if length > maxFrame {
			return nil, fmt.Errorf("HTTP/2 frame of %d bytes, over the %d allowed", length, maxFrame)
		}
		payload := make([]byte, length)
		if _, err := io.ReadFull(c.r, payload); err != nil {
			return nil, err
		}
		switch typ {
		case frameSettings:
			if flags&flagAck == 0 {
				if _, err := c.c.Write(appendFrame(nil, frameSettings, flagAck, 0, nil)); err != nil {
					return nil, err
				}
			}
		case framePing:
			if flags&flagAck == 0 {
				if _, err := c.c.Write(appendFrame(nil, framePing, flagAck, 0, payload)); err != nil {
					return nil, err
				}
			}
		case frameGoAway:
			if len(payload) >= 8 && binary.BigEndian.Uint32(payload)&(1<<31-1) < id {
				return nil, Unreachable{fmt.Errorf("the server closed the connection (GOAWAY, error %d)", binary.BigEndian.Uint32(payload[4:]))}
			}
		case frameRSTStream:
			if stream == id {
				code := uint32(0)
				if len(payload) >= 4 {
					code = binary.BigEndian.Uint32(payload)
				}
				return nil, fmt.Errorf("the server reset the call (HTTP/2 error %d)", code)
			}
		case frameHeaders, frameContinuation:
			if typ == frameHeaders {
				var err error
				if payload, err = unpad(payload, flags); err != nil {
					return nil, err
				}
				if flags&flagPriority != 0 {
					if len(payload) < 5 {
						return nil, errors.New("malformed HTTP/2 HEADERS frame")
					}
					payload = payload[5:]
				}
				ended = flags&flagEndStream != 0
			}
			block = append(block, payload...)
			if flags&flagEndHeaders == 0 {
				continue
			}
			// Every header block goes through the decoder, whatever its
			// stream: they share its table.
			c.dec.SetEmitFunc(func(f hpack.HeaderField) {
				if stream == id {
					fields[f.Name] = f.Value
				}
			})
			if _, err := c.dec.Write(block); err != nil {
				return nil, fmt.Errorf("HTTP/2 headers: %w", err)
			}
			block = block[:0]
			if stream == id && ended {
				return result(fields, body)
			}
		case frameData:
			if stream != id {
				continue
			}
			data, err := unpad(payload, flags)
			if err != nil {
				return nil, err
			}
			body = append(body, data...)
			if flags&flagEndStream != 0 {
				return result(fields, body)
			}
		}
	}
}

func unpad(payload []byte, flags byte) ([]byte, error) {
	if flags&flagPadded == 0 {
		return payload, nil
	}
	if len(payload) < 1 || int(payload[0]) >= len(payload) {
		return nil, errors.New("malformed HTTP/2 padding")
	}
	return payload[1 : len(payload)-int(payload[0])], nil
}

// result reads the gRPC status, then the one message of the body.
func result(fields map[string]string, body []byte) ([]byte, error) {
	if s := fields[":status"]; s != "" && s != "200" {
		return nil, fmt.Errorf("the server answered HTTP status %s", s)
	}
	code, err := strconv.Atoi(fields["grpc-status"])
	if err != nil {
		return nil, errors.New("the answer has no gRPC status")
	}
	if code != 0 {
		msg, err := url.PathUnescape(fields["grpc-message"])
		if err != nil {
			msg = fields["grpc-message"]
		}
		return nil, &StatusError{Code: code, Message: msg}
	}
	if len(body) < 5 || body[0] != 0 {
		return nil, errors.New("the answer holds no uncompressed gRPC message")
	}
	n := binary.BigEndian.Uint32(body[1:5])
	if uint64(n) != uint64(len(body)-5) {
		return nil, errors.New("the answer is not one gRPC message")
	}
	return body[5:], nil
}
