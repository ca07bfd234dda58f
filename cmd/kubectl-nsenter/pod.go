package main

import (
	"fmt"
	"path"
	"strings"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

const (
	// LabelManagedBy marks every helper pod: `kubectl get pods -A -l
	// app.kubernetes.io/managed-by=kubectl-nsenter` lists what a session
	// left (none, unless the plugin was killed and its deadline has not
	// come yet).
	LabelManagedBy = "app.kubernetes.io/managed-by"
	ManagedBy      = "kubectl-nsenter"
	// Annotations: who asked (as the API server told us: SelfSubjectReview,
	// else the kubeconfig's user) and for what. The API server's own audit
	// log records the authenticated creator; these make `kubectl get pod
	// -o yaml` tell the same without it.
	AnnotationCaller  = "nsenter.cnsenter.io/caller"
	AnnotationTarget  = "nsenter.cnsenter.io/target"
	AnnotationCommand = "nsenter.cnsenter.io/command"
	helperContainer   = "cnsenter"
	// The gate: the helper's first program waits for one byte on its
	// stdin, which the plugin sends once attached, so that not a byte of
	// the session's output is written before anyone reads it.
	gateProgram = "cnsenter-attach"
)

// Helper describes the helper pod for one session.
type Helper struct {
	Namespace       string // where the helper pod runs
	Node            string
	Image           string
	PullPolicy      corev1.PullPolicy
	Deadline        int64 // activeDeadlineSeconds
	CRIEndpoint     string
	Containerd      bool // the node's CRI runtime is containerd: its socket is containerd's too
	Caller          string
	Target          string // NAMESPACE/POD/CONTAINER
	Stdin           bool
	Session         Session
	TargetPodPrefix string
}

func criSocketPath(endpoint string) string {
	return strings.TrimPrefix(endpoint, "unix://")
}

// Pod is the helper pod: on the target's node (nodeName: no scheduler
// needed, and no other node), in the node's PID namespace (hostPID: the
// PID the CRI reports is ours) and network (hostNetwork: no pod IP, no CNI
// needed), privileged (setns, mounts), tolerating every taint, with the
// node's CRI socket and, for --audit-log, the log's directory from the
// node. It never restarts and ends on its own at activeDeadlineSeconds.
func (h Helper) Pod() *corev1.Pod {
	yes, no := true, false
	grace := int64(2)
	sock := criSocketPath(h.CRIEndpoint)
	socketType := corev1.HostPathSocket
	dirType := corev1.HostPathDirectoryOrCreate

	gateArgs := []string{gateProgram}
	if h.Stdin {
		gateArgs = append(gateArgs, "--stdin")
	}
	gateArgs = append(gateArgs, "--")
	cmd := append(gateArgs, h.Session.cnsenterArgs()...)

	volumes := []corev1.Volume{{
		Name: "cri-socket",
		VolumeSource: corev1.VolumeSource{HostPath: &corev1.HostPathVolumeSource{
			Path: sock, Type: &socketType}},
	}}
	mounts := []corev1.VolumeMount{{Name: "cri-socket", MountPath: sock}}
	if h.Session.AuditLog != "" {
		dir := path.Dir(h.Session.AuditLog)
		volumes = append(volumes, corev1.Volume{
			Name: "audit-log",
			VolumeSource: corev1.VolumeSource{HostPath: &corev1.HostPathVolumeSource{
				Path: dir, Type: &dirType}},
		})
		mounts = append(mounts, corev1.VolumeMount{Name: "audit-log", MountPath: dir})
	}
	name := h.TargetPodPrefix
	if len(name) > 40 {
		name = name[:40]
	}
	env := []corev1.EnvVar{{Name: "CONTAINER_RUNTIME_ENDPOINT", Value: "unix://" + sock}}
	if h.Containerd {
		// For cnsenter's OCI spec (--confine, its guard) when the
		// container's bundle cannot be read through its shim.
		env = append(env, corev1.EnvVar{Name: "CONTAINERD_ADDRESS", Value: sock})
	}
	return &corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{
			GenerateName: "nsenter-" + strings.TrimRight(name, "-.") + "-",
			Namespace:    h.Namespace,
			Labels:       map[string]string{LabelManagedBy: ManagedBy},
			Annotations: map[string]string{
				AnnotationCaller:  h.Caller,
				AnnotationTarget:  h.Target,
				AnnotationCommand: strings.Join(cmd[len(gateArgs):], " "),
			},
		},
		Spec: corev1.PodSpec{
			NodeName:                      h.Node,
			HostPID:                       true,
			HostNetwork:                   true,
			RestartPolicy:                 corev1.RestartPolicyNever,
			ActiveDeadlineSeconds:         &h.Deadline,
			TerminationGracePeriodSeconds: &grace,
			AutomountServiceAccountToken:  &no,
			EnableServiceLinks:            &no,
			Tolerations:                   []corev1.Toleration{{Operator: corev1.TolerationOpExists}},
			Volumes:                       volumes,
			Containers: []corev1.Container{{
				Name:                     helperContainer,
				Image:                    h.Image,
				ImagePullPolicy:          h.PullPolicy,
				Command:                  cmd,
				Env:                      env,
				Stdin:                    true,
				StdinOnce:                true,
				TTY:                      h.Session.TTY,
				VolumeMounts:             mounts,
				TerminationMessagePolicy: corev1.TerminationMessageFallbackToLogsOnError,
				SecurityContext: &corev1.SecurityContext{
					Privileged: &yes,
				},
			}},
		},
	}
}

// criEndpointFor guesses the node's CRI socket: kubeadm's annotation,
// else the usual socket of the runtime the node reports.
func criEndpointFor(node *corev1.Node) (string, error) {
	if a := node.Annotations["kubeadm.alpha.kubernetes.io/cri-socket"]; a != "" {
		if !strings.HasPrefix(a, "unix://") && !strings.HasPrefix(a, "/") {
			return "", fmt.Errorf("node %s: CRI socket %q is not a unix socket: give --cri-endpoint", node.Name, a)
		}
		return "unix://" + strings.TrimPrefix(a, "unix://"), nil
	}
	rt := node.Status.NodeInfo.ContainerRuntimeVersion
	switch {
	case strings.HasPrefix(rt, "containerd://"):
		return "unix:///run/containerd/containerd.sock", nil
	case strings.HasPrefix(rt, "cri-o://"):
		return "unix:///var/run/crio/crio.sock", nil
	case strings.HasPrefix(rt, "docker://"):
		return "unix:///var/run/cri-dockerd.sock", nil
	}
	return "", fmt.Errorf("node %s runs %q, whose CRI socket is not known: give --cri-endpoint", node.Name, rt)
}
