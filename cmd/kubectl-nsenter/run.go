package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"strings"
	"syscall"
	"time"

	"github.com/spf13/cobra"
	"golang.org/x/term"
	authnv1 "k8s.io/api/authentication/v1"
	authzv1 "k8s.io/api/authorization/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/fields"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"
)

// apiTimeout bounds every single API call; waiting for the helper pod has
// its own (--pod-running-timeout), the session none but its deadline.
const apiTimeout = 30 * time.Second

func (o *options) info(format string, a ...any) {
	if !o.quiet {
		fmt.Fprintf(os.Stderr, format+"\n", a...)
	}
}

func (o *options) run(cmd *cobra.Command, podName string, command []string) error {
	prof, ok := profiles[o.profile]
	if !ok {
		return usageError{fmt.Sprintf("--profile %q: not a profile (%s)", o.profile, strings.Join(profileNames(), ", "))}
	}
	var nsList []string
	if o.ns != "" {
		var err error
		if nsList, err = parseNS(o.ns); err != nil {
			return usageError{err.Error()}
		}
	}
	switch corev1.PullPolicy(o.pullPolicy) {
	case corev1.PullAlways, corev1.PullIfNotPresent, corev1.PullNever:
	default:
		return usageError{fmt.Sprintf("--image-pull-policy %q: one of Always, IfNotPresent, Never", o.pullPolicy)}
	}
	if o.auditLog != "" && (!strings.HasPrefix(o.auditLog, "/") || strings.HasSuffix(o.auditLog, "/")) {
		return usageError{fmt.Sprintf("--audit-log %q: an absolute file path on the node", o.auditLog)}
	}
	secs := int64(o.deadline / time.Second)
	if secs < 1 {
		return usageError{fmt.Sprintf("--deadline %s: at least 1s", o.deadline)}
	}
	if o.confine && o.privileged {
		return usageError{"--confine and --privileged contradict each other: give one"}
	}
	if len(command) == 0 {
		o.stdin = true
		if !cmd.Flags().Changed("tty") && term.IsTerminal(int(os.Stdin.Fd())) {
			o.tty = true
		}
	}
	if o.tty {
		o.stdin = true
		if !term.IsTerminal(int(os.Stdin.Fd())) {
			return usageError{"-t: stdin is not a terminal (leave -t out)"}
		}
	}
	image := o.image
	if image == "" {
		image = os.Getenv("KUBECTL_NSENTER_IMAGE")
	}
	if image == "" {
		image = defaultImage
	}

	restCfg, err := o.config.ToRESTConfig()
	if err != nil {
		return fmt.Errorf("kubeconfig: %w", err)
	}
	ns, _, err := o.config.ToRawKubeConfigLoader().Namespace()
	if err != nil {
		return fmt.Errorf("kubeconfig: %w", err)
	}
	cs, err := kubernetes.NewForConfig(restCfg)
	if err != nil {
		return fmt.Errorf("kubeconfig: %w", err)
	}
	helperNS := o.helperNS
	if helperNS == "" {
		helperNS = ns
	}

	ctx, caught, stop := signalContext()
	defer stop()

	// The target: its pod, container and node.
	pod, err := get(ctx, func(c context.Context) (*corev1.Pod, error) {
		return cs.CoreV1().Pods(ns).Get(c, podName, metav1.GetOptions{})
	})
	if err != nil {
		return apiError(err, "pod "+ns+"/"+podName, "kubectl get pods -n "+ns)
	}
	container, err := o.pickContainer(pod)
	if err != nil {
		return err
	}
	target := ns + "/" + podName + "/" + container
	if pod.Spec.NodeName == "" {
		return fmt.Errorf("pod %s is not scheduled on any node yet (phase %s): nothing to enter", ns+"/"+podName, pod.Status.Phase)
	}
	node, err := get(ctx, func(c context.Context) (*corev1.Node, error) {
		return cs.CoreV1().Nodes().Get(c, pod.Spec.NodeName, metav1.GetOptions{})
	})
	switch {
	case apierrors.IsNotFound(err):
		return fmt.Errorf("pod %s is bound to node %s, which no longer exists (kubectl get nodes): nothing runs it to enter; delete the pod or wait for its controller to replace it", ns+"/"+podName, pod.Spec.NodeName)
	case apierrors.IsForbidden(err):
		node = nil // a caller that may not read nodes: the node's runtime is guessed
	case err != nil:
		return apiError(err, "node "+pod.Spec.NodeName, "")
	}
	if _, err := runningContainer(pod, container); err != nil {
		return err
	}
	endpoint := o.criEndpoint
	if endpoint == "" {
		if node == nil {
			endpoint = "unix:///run/containerd/containerd.sock"
		} else if endpoint, err = criEndpointFor(node); err != nil {
			return err
		}
	} else if !strings.HasPrefix(endpoint, "unix://") {
		if !strings.HasPrefix(endpoint, "/") {
			return usageError{fmt.Sprintf("--cri-endpoint %q: a unix socket path on the node (unix:///run/containerd/containerd.sock)", endpoint)}
		}
		endpoint = "unix://" + endpoint
	}
	// Unknown node (not readable): containerd, the usual runtime, assumed.
	containerd := o.criEndpoint == ""
	if node != nil {
		containerd = strings.HasPrefix(node.Status.NodeInfo.ContainerRuntimeVersion, "containerd://")
	}
	ref := "cri://" + target

	caller := o.caller(ctx, cs)
	if err := o.mayRunHelper(ctx, cs, helperNS); err != nil {
		return err
	}
	o.sweep(ctx, cs, helperNS, caller)

	h := Helper{
		Namespace: helperNS, Node: pod.Spec.NodeName, Image: image,
		PullPolicy: corev1.PullPolicy(o.pullPolicy), Deadline: secs,
		CRIEndpoint: endpoint, Containerd: containerd, Caller: caller, Target: target, Stdin: o.stdin,
		TargetPodPrefix: podName,
		Session: Session{Ref: ref, Profile: prof, NS: nsList, HostTools: o.hostTools,
			ReadOnly: o.readOnly, NoSymfollow: o.noSymfollow, Confine: o.confine,
			Privileged: o.privileged, AuditLog: o.auditLog, TTY: o.tty, Command: command},
	}
	created, err := create(ctx, cs, h.Pod())
	if err != nil {
		if apierrors.IsForbidden(err) {
			return fmt.Errorf("the API server refused the helper pod in namespace %s: %s", helperNS, apiMessage(err))
		}
		return fmt.Errorf("creating the helper pod in namespace %s: %w", helperNS, err)
	}
	// From here on the helper pod exists: every way out deletes it.
	defer o.remove(cs, created)

	code, err := o.session(ctx, cs, restCfg, created)
	if s := caught(); s != nil {
		return exitError{128 + int(s.(syscall.Signal))}
	}
	if err != nil {
		return err
	}
	if code != 0 {
		return exitError{code}
	}
	return nil
}

// pickContainer: -c, else the default-container annotation, else the
// first container, as kubectl exec.
func (o *options) pickContainer(pod *corev1.Pod) (string, error) {
	var names []string
	for _, c := range pod.Spec.Containers {
		names = append(names, c.Name)
	}
	if o.container != "" {
		for _, c := range append(append([]corev1.Container{}, pod.Spec.InitContainers...), pod.Spec.Containers...) {
			if c.Name == o.container {
				return c.Name, nil
			}
		}
		for _, c := range pod.Spec.EphemeralContainers {
			if c.Name == o.container {
				return c.Name, nil
			}
		}
		return "", fmt.Errorf("pod %s/%s has no container %q (it has: %s)", pod.Namespace, pod.Name, o.container, strings.Join(names, ", "))
	}
	if d := pod.Annotations["kubectl.kubernetes.io/default-container"]; d != "" {
		for _, n := range names {
			if n == d {
				return d, nil
			}
		}
	}
	if len(names) == 0 {
		return "", fmt.Errorf("pod %s/%s has no containers", pod.Namespace, pod.Name)
	}
	if len(names) > 1 {
		o.info("Defaulted container %q out of: %s (-c to choose)", names[0], strings.Join(names, ", "))
	}
	return names[0], nil
}

// runningContainer returns the container's runtime ID if it runs.
func runningContainer(pod *corev1.Pod, name string) (string, error) {
	all := append(append(append([]corev1.ContainerStatus{}, pod.Status.ContainerStatuses...),
		pod.Status.InitContainerStatuses...), pod.Status.EphemeralContainerStatuses...)
	for _, st := range all {
		if st.Name != name {
			continue
		}
		if st.State.Running == nil {
			why := "not running"
			switch {
			case st.State.Waiting != nil:
				why = "waiting (" + st.State.Waiting.Reason + ")"
			case st.State.Terminated != nil:
				why = fmt.Sprintf("terminated (%s, exit %d)", st.State.Terminated.Reason, st.State.Terminated.ExitCode)
			}
			return "", fmt.Errorf("container %s of pod %s/%s is %s: only a running container can be entered", name, pod.Namespace, pod.Name, why)
		}
		id := st.ContainerID
		if i := strings.Index(id, "://"); i >= 0 {
			id = id[i+3:]
		}
		return id, nil
	}
	return "", fmt.Errorf("container %s of pod %s/%s has not started (pod phase %s): only a running container can be entered", name, pod.Namespace, pod.Name, pod.Status.Phase)
}

// caller names who asks, as the API server authenticated it
// (SelfSubjectReview), else as the kubeconfig calls its user.
func (o *options) caller(ctx context.Context, cs kubernetes.Interface) string {
	c, cancel := context.WithTimeout(ctx, apiTimeout)
	defer cancel()
	r, err := cs.AuthenticationV1().SelfSubjectReviews().Create(c, &authnv1.SelfSubjectReview{}, metav1.CreateOptions{})
	if err == nil && r.Status.UserInfo.Username != "" {
		return r.Status.UserInfo.Username
	}
	raw, err := o.config.ToRawKubeConfigLoader().RawConfig()
	if err == nil {
		ctxName := raw.CurrentContext
		if o.config.Context != nil && *o.config.Context != "" {
			ctxName = *o.config.Context
		}
		if kc, ok := raw.Contexts[ctxName]; ok && kc.AuthInfo != "" {
			return "kubeconfig-user:" + kc.AuthInfo
		}
	}
	return "unknown"
}

// mayRunHelper asks the API server, before anything is created, whether
// the caller may create, attach to and delete the helper pod, so that a
// refusal leaves nothing behind (a pod it could create but not attach to
// or delete would be left to its deadline).
func (o *options) mayRunHelper(ctx context.Context, cs kubernetes.Interface, ns string) error {
	checks := []struct{ verb, sub string }{{"create", ""}, {"create", "attach"}, {"get", ""}, {"delete", ""}}
	var missing []string
	for _, ch := range checks {
		c, cancel := context.WithTimeout(ctx, apiTimeout)
		r, err := cs.AuthorizationV1().SelfSubjectAccessReviews().Create(c, &authzv1.SelfSubjectAccessReview{
			Spec: authzv1.SelfSubjectAccessReviewSpec{ResourceAttributes: &authzv1.ResourceAttributes{
				Namespace: ns, Verb: ch.verb, Resource: "pods", Subresource: ch.sub}},
		}, metav1.CreateOptions{})
		cancel()
		if err != nil {
			return nil // cannot ask: the create itself will say
		}
		if !r.Status.Allowed {
			what := ch.verb + " pods"
			if ch.sub != "" {
				what = ch.verb + " pods/" + ch.sub
			}
			missing = append(missing, what)
		}
	}
	if len(missing) > 0 {
		return fmt.Errorf("you may not %s in namespace %s: kubectl nsenter runs a helper pod there (ask for these rights, or give --helper-namespace); nothing was created", strings.Join(missing, ", "), ns)
	}
	return nil
}

// sweep deletes the caller's helper pods that ended without being deleted
// (their kubectl-nsenter was killed and their deadline came). Best effort.
func (o *options) sweep(ctx context.Context, cs kubernetes.Interface, ns, caller string) {
	c, cancel := context.WithTimeout(ctx, apiTimeout)
	defer cancel()
	list, err := cs.CoreV1().Pods(ns).List(c, metav1.ListOptions{LabelSelector: LabelManagedBy + "=" + ManagedBy})
	if err != nil {
		return
	}
	for _, p := range list.Items {
		if p.Annotations[AnnotationCaller] != caller || p.DeletionTimestamp != nil {
			continue
		}
		if p.Status.Phase == corev1.PodSucceeded || p.Status.Phase == corev1.PodFailed {
			if cs.CoreV1().Pods(ns).Delete(c, p.Name, metav1.DeleteOptions{}) == nil {
				o.info("removed %s/%s, the helper pod of an interrupted session", ns, p.Name)
			}
		}
	}
}

func (o *options) remove(cs kubernetes.Interface, p *corev1.Pod) {
	// A context of its own: the session's may be cancelled (a signal).
	ctx, cancel := context.WithTimeout(context.Background(), apiTimeout)
	defer cancel()
	grace := int64(1)
	err := cs.CoreV1().Pods(p.Namespace).Delete(ctx, p.Name, metav1.DeleteOptions{GracePeriodSeconds: &grace})
	if err != nil && !apierrors.IsNotFound(err) {
		fmt.Fprintf(os.Stderr, "kubectl nsenter: could not delete the helper pod %s/%s (it ends at its deadline): %v\n", p.Namespace, p.Name, err)
	}
}

// session waits for the helper to run, attaches, and returns the exit
// status of its program.
func (o *options) session(ctx context.Context, cs kubernetes.Interface, cfg *rest.Config, p *corev1.Pod) (int, error) {
	if err := o.waitRunning(ctx, cs, p); err != nil {
		return 0, err
	}
	if err := attach(ctx, cs, cfg, p, o.stdin, o.tty); err != nil && ctx.Err() == nil {
		// The stream may end in an error when the program exits as it
		// closes; the pod's status is the truth.
		if code, ok := o.exitCode(ctx, cs, p, 5*time.Second); ok {
			return code, nil
		}
		return 0, fmt.Errorf("attaching to the helper pod %s/%s: %w", p.Namespace, p.Name, err)
	}
	if ctx.Err() != nil {
		return 0, nil
	}
	if code, ok := o.exitCode(ctx, cs, p, time.Minute); ok {
		return code, nil
	}
	if ctx.Err() != nil {
		return 0, nil
	}
	return 0, fmt.Errorf("the helper pod %s/%s did not report its program's exit status", p.Namespace, p.Name)
}

// waitRunning watches the helper pod until its container runs, failing
// at once on what will not resolve itself (image missing, pod refused by
// the kubelet, ended).
func (o *options) waitRunning(ctx context.Context, cs kubernetes.Interface, p *corev1.Pod) error {
	c, cancel := context.WithTimeout(ctx, o.startTimeout)
	defer cancel()
	for {
		w, err := cs.CoreV1().Pods(p.Namespace).Watch(c, metav1.ListOptions{
			FieldSelector: fields.OneTermEqualSelector("metadata.name", p.Name).String()})
		if err != nil {
			if c.Err() != nil {
				return o.notRunning(ctx, cs, p)
			}
			return fmt.Errorf("watching the helper pod %s/%s: %w", p.Namespace, p.Name, err)
		}
		for ev := range w.ResultChan() {
			cur, ok := ev.Object.(*corev1.Pod)
			if !ok {
				continue
			}
			done, err := helperState(cur)
			if done || err != nil {
				w.Stop()
				return err
			}
		}
		w.Stop()
		if c.Err() != nil {
			return o.notRunning(ctx, cs, p)
		}
	}
}

func (o *options) notRunning(ctx context.Context, cs kubernetes.Interface, p *corev1.Pod) error {
	if ctx.Err() != nil {
		return nil // a signal: the caller says so
	}
	why := ""
	if cur, err := get(ctx, func(c context.Context) (*corev1.Pod, error) {
		return cs.CoreV1().Pods(p.Namespace).Get(c, p.Name, metav1.GetOptions{})
	}); err == nil {
		why = " (phase " + string(cur.Status.Phase)
		for _, st := range cur.Status.ContainerStatuses {
			if st.State.Waiting != nil && st.State.Waiting.Reason != "" {
				why += ", " + st.State.Waiting.Reason
			}
		}
		for _, cond := range cur.Status.Conditions {
			if cond.Status != corev1.ConditionTrue && cond.Message != "" {
				why += ", " + cond.Message
			}
		}
		why += ")"
	}
	return fmt.Errorf("the helper pod %s/%s did not start within %s%s: see kubectl describe pod -n %s %s, or raise --pod-running-timeout", p.Namespace, p.Name, o.startTimeout, why, p.Namespace, p.Name)
}

// helperState: true once the helper container runs; an error for a state
// that waiting will not change.
func helperState(p *corev1.Pod) (bool, error) {
	switch p.Status.Phase {
	case corev1.PodFailed, corev1.PodSucceeded:
		msg := p.Status.Reason
		if p.Status.Message != "" {
			msg += ": " + p.Status.Message
		}
		for _, st := range p.Status.ContainerStatuses {
			if t := st.State.Terminated; t != nil {
				msg += fmt.Sprintf(" (exit %d %s %s)", t.ExitCode, t.Reason, strings.TrimSpace(t.Message))
			}
		}
		return false, fmt.Errorf("the helper pod %s/%s ended before it was attached: %s", p.Namespace, p.Name, strings.TrimSpace(msg))
	}
	for _, st := range p.Status.ContainerStatuses {
		if st.State.Running != nil {
			return true, nil
		}
		if w := st.State.Waiting; w != nil {
			switch w.Reason {
			case "ErrImageNeverPull", "ErrImagePull", "ImagePullBackOff", "InvalidImageName":
				return false, fmt.Errorf("the node cannot get the helper image %s (%s: %s): import it on the node, or give --image and --image-pull-policy", st.Image, w.Reason, w.Message)
			case "CreateContainerConfigError", "CreateContainerError", "RunContainerError":
				return false, fmt.Errorf("the helper pod %s/%s cannot start: %s: %s", p.Namespace, p.Name, w.Reason, w.Message)
			}
		}
	}
	return false, nil
}

// exitCode waits (at most max) for the helper container's exit status.
func (o *options) exitCode(ctx context.Context, cs kubernetes.Interface, p *corev1.Pod, max time.Duration) (int, bool) {
	c, cancel := context.WithTimeout(ctx, max)
	defer cancel()
	w, err := cs.CoreV1().Pods(p.Namespace).Watch(c, metav1.ListOptions{
		FieldSelector: fields.OneTermEqualSelector("metadata.name", p.Name).String()})
	if err != nil {
		return 0, false
	}
	defer w.Stop()
	for ev := range w.ResultChan() {
		cur, ok := ev.Object.(*corev1.Pod)
		if !ok {
			continue
		}
		for _, st := range cur.Status.ContainerStatuses {
			if t := st.State.Terminated; t != nil {
				return int(t.ExitCode), true
			}
		}
	}
	return 0, false
}

func get[T any](ctx context.Context, f func(context.Context) (T, error)) (T, error) {
	c, cancel := context.WithTimeout(ctx, apiTimeout)
	defer cancel()
	return f(c)
}

func create(ctx context.Context, cs kubernetes.Interface, p *corev1.Pod) (*corev1.Pod, error) {
	c, cancel := context.WithTimeout(ctx, apiTimeout)
	defer cancel()
	return cs.CoreV1().Pods(p.Namespace).Create(c, p, metav1.CreateOptions{})
}

func apiMessage(err error) string {
	if s, ok := err.(apierrors.APIStatus); ok && s.Status().Message != "" {
		return s.Status().Message
	}
	return err.Error()
}

func apiError(err error, what, hint string) error {
	switch {
	case apierrors.IsNotFound(err):
		if hint != "" {
			return fmt.Errorf("%s not found (%s)", what, hint)
		}
		return fmt.Errorf("%s not found", what)
	case apierrors.IsForbidden(err):
		return fmt.Errorf("the API server refused to show %s: %s", what, apiMessage(err))
	case apierrors.IsUnauthorized(err):
		return fmt.Errorf("the API server did not accept your credentials (check --kubeconfig, --context, KUBECONFIG): %s", apiMessage(err))
	}
	return fmt.Errorf("%s: %w", what, err)
}

var _ io.Reader = (*os.File)(nil)
