package main

import (
	"bytes"
	"context"
	"io"
	"os"
	"os/signal"
	"syscall"

	"golang.org/x/term"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/util/httpstream"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/kubernetes/scheme"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/remotecommand"
)

// gateByte opens the helper's gate (cnsenter-attach): sent first on the
// attach's stdin, it tells the helper that its output is being read.
var gateByte = []byte{'\n'}

// attach connects our stdin, stdout and stderr (or our terminal) to the
// helper's container through the API server's attach subresource, as
// kubectl attach: WebSocket, falling back to SPDY.
func attach(ctx context.Context, cs kubernetes.Interface, cfg *rest.Config, p *corev1.Pod, stdin, tty bool) error {
	req := cs.CoreV1().RESTClient().Post().Resource("pods").Namespace(p.Namespace).Name(p.Name).
		SubResource("attach").VersionedParams(&corev1.PodAttachOptions{
		Container: helperContainer, Stdin: true, Stdout: true, Stderr: !tty, TTY: tty,
	}, scheme.ParameterCodec)
	spdy, err := remotecommand.NewSPDYExecutor(cfg, "POST", req.URL())
	if err != nil {
		return err
	}
	ws, err := remotecommand.NewWebSocketExecutor(cfg, "GET", req.URL().String())
	if err != nil {
		return err
	}
	exec, err := remotecommand.NewFallbackExecutor(ws, spdy, func(err error) bool {
		return httpstream.IsUpgradeFailure(err) || httpstream.IsHTTPSProxyError(err)
	})
	if err != nil {
		return err
	}

	// Our stdin: the gate, then ours with -i, else nothing (the helper's
	// program gets /dev/null).
	var in io.Reader = bytes.NewReader(gateByte)
	if stdin {
		in = io.MultiReader(in, os.Stdin)
	}
	opts := remotecommand.StreamOptions{Stdin: in, Stdout: os.Stdout, Tty: tty}
	if !tty {
		opts.Stderr = os.Stderr
		return exec.StreamWithContext(ctx, opts)
	}

	// A terminal: raw for the session, its size followed, its modes put
	// back on every way out (the caller's signal cancels ctx first).
	fd := int(os.Stdin.Fd())
	state, err := term.MakeRaw(fd)
	if err != nil {
		return err
	}
	defer term.Restore(fd, state)
	sizes := newSizeQueue(fd)
	defer sizes.stop()
	opts.TerminalSizeQueue = sizes
	return exec.StreamWithContext(ctx, opts)
}

// sizeQueue reports the terminal's size at start and at every SIGWINCH.
type sizeQueue struct {
	fd   int
	ch   chan os.Signal
	done chan struct{}
	sent bool
}

func newSizeQueue(fd int) *sizeQueue {
	q := &sizeQueue{fd: fd, ch: make(chan os.Signal, 1), done: make(chan struct{})}
	signal.Notify(q.ch, syscall.SIGWINCH)
	return q
}

func (q *sizeQueue) Next() *remotecommand.TerminalSize {
	for {
		if q.sent {
			select {
			case <-q.ch:
			case <-q.done:
				return nil
			}
		}
		q.sent = true
		w, h, err := term.GetSize(q.fd)
		if err == nil {
			return &remotecommand.TerminalSize{Width: uint16(w), Height: uint16(h)}
		}
	}
}

func (q *sizeQueue) stop() {
	signal.Stop(q.ch)
	close(q.done)
}
