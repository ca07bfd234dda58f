// kubectl-nsenter is a kubectl plugin: `kubectl nsenter POD [-c
// CONTAINER] [-- COMMAND...]` runs cnsenter in a short-lived helper pod on
// the pod's node, through the API server only (no SSH, nothing of ours
// installed on the nodes), and attaches the caller's terminal to it.
package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/signal"
	"strings"
	"syscall"
	"time"

	"github.com/spf13/cobra"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/cli-runtime/pkg/genericclioptions"
)

var (
	version = "0.1.0-dev"
	commit  = "unknown"
	// defaultImage is the image `make image` builds, of the same version
	// (make sets it); $KUBECTL_NSENTER_IMAGE or --image name another.
	defaultImage = "localhost/cnsenter:latest"
)

type options struct {
	config       *genericclioptions.ConfigFlags
	container    string
	image        string
	pullPolicy   string
	profile      string
	ns           string
	hostTools    bool
	readOnly     bool
	noSymfollow  bool
	confine      bool
	privileged   bool
	auditLog     string
	stdin        bool
	tty          bool
	deadline     time.Duration
	startTimeout time.Duration
	criEndpoint  string
	helperNS     string
	quiet        bool
}

// exitError carries the exit status of the session's program.
type exitError struct{ code int }

func (e exitError) Error() string { return fmt.Sprintf("exit status %d", e.code) }

func main() {
	o := &options{config: genericclioptions.NewConfigFlags(true)}
	cmd := &cobra.Command{
		Use: "nsenter [-n NAMESPACE] POD [-c CONTAINER] [--] [COMMAND [ARG...]]",
		// kubectl's plugins show themselves as kubectl's subcommands.
		Annotations: map[string]string{cobra.CommandDisplayNameAnnotation: "kubectl nsenter"},
		Short:       "Run a program in a pod's container through cnsenter on its node",
		Long: `Run a program in the namespaces of a pod's container, with cnsenter on the pod's node,
through the API server only: a short-lived helper pod (privileged, hostPID, on the pod's
node) runs 'cnsenter -t cri://NAMESPACE/POD/CONTAINER ...' and the caller's terminal is
attached to it. The target pod's spec is never changed. The helper pod is deleted on every
way out; if kubectl-nsenter is killed, its activeDeadlineSeconds ends it.

Without COMMAND, a shell: -i, and -t when stdin is a terminal. The exit status is the
program's; 1 for an error of kubectl nsenter's, with one line saying what to do.

Profiles: --profile NAME takes a set of cnsenter options; flags add to it.
` + profileHelp(),
		Example: `  kubectl nsenter web                          # a shell in web's first container
  kubectl nsenter -n shop web -c app -- ps     # container app of pod web in namespace shop
  kubectl nsenter --host-tools distroless -- sh -c 'ls $CONTAINER_ROOT'
  kubectl nsenter --profile netadmin web -- ip addr`,
		Args:          cobra.MinimumNArgs(1),
		SilenceUsage:  true,
		SilenceErrors: true,
		Version:       version + " (commit " + commit + ")",
		RunE: func(cmd *cobra.Command, args []string) error {
			if d := cmd.ArgsLenAtDash(); d > 1 {
				return usageError{fmt.Sprintf("one POD before --, got %q: kubectl nsenter POD [-c CONTAINER] -- COMMAND", args[:d])}
			}
			return o.run(cmd, args[0], args[1:])
		},
	}
	f := cmd.Flags()
	f.StringVarP(&o.container, "container", "c", "", "the container (default: the pod's kubectl.kubernetes.io/default-container, else its first)")
	f.StringVar(&o.image, "image", "", "the helper pod's image, with cnsenter (default: $KUBECTL_NSENTER_IMAGE, else "+defaultImage+")")
	f.StringVar(&o.pullPolicy, "image-pull-policy", string(corev1.PullIfNotPresent), "the helper image's pull policy: Always, IfNotPresent, Never")
	f.StringVar(&o.profile, "profile", "general", "a set of cnsenter options: "+strings.Join(profileNames(), ", "))
	f.StringVar(&o.ns, "ns", "", "only these namespaces (mnt,uts,ipc,net,pid,cgroup,user,time); without mnt, the helper image's files")
	f.BoolVar(&o.hostTools, "host-tools", false, "the container's namespaces but mount, with the helper image's files (its tools);\nthe container's root at $CONTAINER_ROOT")
	f.BoolVar(&o.readOnly, "read-only", false, "the container's files are read-only for the session")
	f.BoolVar(&o.noSymfollow, "nosymfollow", false, "with --host-tools: follow no link of the container's")
	f.BoolVar(&o.confine, "confine", false, "run as the container's own processes even for the helper image's programs")
	f.BoolVar(&o.privileged, "privileged", false, "never --confine: root with every capability, no seccomp filter")
	f.StringVar(&o.auditLog, "audit-log", "", "cnsenter's audit log: an absolute path on the node (hostPath), one JSON line per start and end")
	f.BoolVarP(&o.stdin, "stdin", "i", false, "pass stdin to the program (default with no COMMAND)")
	f.BoolVarP(&o.tty, "tty", "t", false, "a terminal for the program (implies -i; default with no COMMAND from a terminal)")
	f.DurationVar(&o.deadline, "deadline", time.Hour, "the helper pod's activeDeadlineSeconds: the longest a session lasts")
	f.DurationVar(&o.startTimeout, "pod-running-timeout", time.Minute, "how long to wait for the helper pod to run")
	f.StringVar(&o.criEndpoint, "cri-endpoint", "", "the node's CRI socket (default: the node's kubeadm annotation, else its runtime's usual socket)")
	f.StringVar(&o.helperNS, "helper-namespace", "", "where the helper pod runs (default: the target pod's namespace)")
	f.BoolVarP(&o.quiet, "quiet", "q", false, "no informational lines on stderr")
	o.config.AddFlags(f)
	f.SortFlags = false

	err := cmd.Execute()
	var ee exitError
	var ue usageError
	switch {
	case err == nil:
	case errors.As(err, &ee):
		os.Exit(ee.code)
	case errors.As(err, &ue):
		fmt.Fprintln(os.Stderr, "kubectl nsenter:", ue.msg)
		os.Exit(1)
	default:
		fmt.Fprintln(os.Stderr, "kubectl nsenter:", err)
		os.Exit(1)
	}
}

type usageError struct{ msg string }

func (e usageError) Error() string { return e.msg }

func profileHelp() string {
	var b strings.Builder
	for _, n := range profileNames() {
		p := profiles[n]
		fmt.Fprintf(&b, "  %-10s %s\n", n, strings.ReplaceAll(p.Help, "\n", "\n             "))
	}
	return b.String()
}

// signalContext is cancelled by SIGINT, SIGTERM or SIGHUP; the signal
// received is returned by the second function (for the exit status).
func signalContext() (context.Context, func() os.Signal, func()) {
	ctx, cancel := context.WithCancel(context.Background())
	ch := make(chan os.Signal, 1)
	var got os.Signal
	done := make(chan struct{})
	signal.Notify(ch, syscall.SIGINT, syscall.SIGTERM, syscall.SIGHUP)
	go func() {
		select {
		case s := <-ch:
			got = s
			cancel()
		case <-done:
		}
	}()
	return ctx, func() os.Signal {
			if ctx.Err() != nil {
				return got
			}
			return nil
		}, func() {
			signal.Stop(ch)
			close(done)
			cancel()
		}
}
