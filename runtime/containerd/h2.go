package containerd

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
	"time"

	"golang.org/x/net/http2/hpack"
)

// A gRPC client for unary calls, over HTTP/2 with prior knowledge on a unix
// socket (grpc.io/docs/guides/wire, RFC 9113): all cnsenter asks of
// containerd. grpc-go brings net/http, TLS and protobuf's reflection: 8 MiB
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
	codeDeadlineExceeded = 4
	codeNotFound         = 5
	codeUnavailable      = 14
)

// rpcError is a call that containerd answered with a gRPC status.
type rpcError struct {
	code    int
	message string
}

func (e *rpcError) Error() string { return fmt.Sprintf("%s (gRPC status %d)", e.message, e.code) }

// errUnreachable wraps a failure to connect.
type errUnreachable struct{ err error }

func (e errUnreachable) Error() string { return e.err.Error() }
func (e errUnreachable) Unwrap() error { return e.err }

type conn struct {
	c      net.Conn
	r      *bufio.Reader
	block  bytes.Buffer // our header block, hpack-encoded
	enc    *hpack.Encoder
	dec    *hpack.Decoder
	stream uint32 // the next stream ID: odd, increasing
}

// dial connects and says what the server needs before the first call: the
// preface and our settings. The windows we grant are as large as HTTP/2
// allows, so the server never waits for a WINDOW_UPDATE from us.
func dial(ctx context.Context, path string) (*conn, error) {
	var d net.Dialer
	nc, err := d.DialContext(ctx, "unix", path)
	if err != nil {
		return nil, errUnreachable{err}
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
		return nil, errUnreachable{err}
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
// a serialized message; it returns the serialized response.
func (c *conn) call(ctx context.Context, namespace, method string, request []byte) ([]byte, error) {
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
		{Name: ":authority", Value: "containerd"}, {Name: "content-type", Value: "application/grpc"},
		{Name: "te", Value: "trailers"},
		{Name: "grpc-timeout", Value: grpcTimeout(time.Until(deadline))},
	}
	if namespace != "" {
		headers = append(headers, hpack.HeaderField{Name: "containerd-namespace", Value: namespace})
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
				return nil, errUnreachable{fmt.Errorf("containerd closed the connection (GOAWAY, error %d)", binary.BigEndian.Uint32(payload[4:]))}
			}
		case frameRSTStream:
			if stream == id {
				code := uint32(0)
				if len(payload) >= 4 {
					code = binary.BigEndian.Uint32(payload)
				}
				return nil, fmt.Errorf("containerd reset the call (HTTP/2 error %d)", code)
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
		return nil, fmt.Errorf("containerd answered HTTP status %s", s)
	}
	code, err := strconv.Atoi(fields["grpc-status"])
	if err != nil {
		return nil, errors.New("containerd's answer has no gRPC status")
	}
	if code != 0 {
		msg, err := url.PathUnescape(fields["grpc-message"])
		if err != nil {
			msg = fields["grpc-message"]
		}
		return nil, &rpcError{code: code, message: msg}
	}
	if len(body) < 5 || body[0] != 0 {
		return nil, errors.New("containerd's answer holds no uncompressed gRPC message")
	}
	n := binary.BigEndian.Uint32(body[1:5])
	if uint64(n) != uint64(len(body)-5) {
		return nil, errors.New("containerd's answer is not one gRPC message")
	}
	return body[5:], nil
}
