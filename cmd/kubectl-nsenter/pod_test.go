package main

import (
	"reflect"
	"strings"
	"testing"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

func TestCnsenterArgs(t *testing.T) {
	ref := "cri://ns/p/c"
	for _, c := range []struct {
		s    Session
		want string
	}{
		{Session{Profile: profiles["general"]}, "-t cri://ns/p/c --confine"},
		{Session{Profile: profiles["general"], Command: []string{"ps", "-ef"}}, "-t cri://ns/p/c --confine -- ps -ef"},
		{Session{Profile: profiles["general"], HostTools: true}, "-t cri://ns/p/c --host-tools"},
		{Session{Profile: profiles["general"], HostTools: true, Confine: true}, "-t cri://ns/p/c --host-tools --confine"},
		{Session{Profile: profiles["general"], NS: []string{"-n"}}, "-t cri://ns/p/c -n"},
		{Session{Profile: profiles["general"], NS: []string{"-m", "-p"}}, "-t cri://ns/p/c -m -p --confine"},
		{Session{Profile: profiles["general"], Privileged: true}, "-t cri://ns/p/c"},
		{Session{Profile: profiles["sysadmin"]}, "-t cri://ns/p/c"},
		{Session{Profile: profiles["restricted"]}, "-t cri://ns/p/c --read-only --confine"},
		{Session{Profile: profiles["netadmin"]}, "-t cri://ns/p/c -n"},
		{Session{Profile: profiles["netadmin"], NS: []string{"-n", "-u"}}, "-t cri://ns/p/c -n -u"},
		{Session{Profile: profiles["general"], HostTools: true, ReadOnly: true, NoSymfollow: true, AuditLog: "/var/log/a.log"},
			"-t cri://ns/p/c --host-tools --read-only --nosymfollow --audit-log /var/log/a.log"},
	} {
		c.s.Ref = ref
		got := strings.Join(c.s.cnsenterArgs()[1:], " ")
		if got != c.want {
			t.Errorf("%+v: %q, want %q", c.s, got, c.want)
		}
	}
}

func TestParseNS(t *testing.T) {
	got, err := parseNS("net,pid,net")
	if err != nil || !reflect.DeepEqual(got, []string{"-n", "-p"}) {
		t.Errorf("net,pid,net: %v %v", got, err)
	}
	if _, err := parseNS("net,bogus"); err == nil || !strings.Contains(err.Error(), `"bogus"`) {
		t.Errorf("bogus: %v", err)
	}
}

func TestHelperPod(t *testing.T) {
	h := Helper{Namespace: "shop", Node: "n1", Image: "img:1", PullPolicy: corev1.PullNever, Deadline: 60,
		CRIEndpoint: "unix:///run/containerd/containerd.sock", Caller: "alice", Target: "shop/web/app",
		TargetPodPrefix: "web", Stdin: true,
		Session: Session{Ref: "cri://shop/web/app", Profile: profiles["general"], TTY: true, AuditLog: "/var/log/cnsenter/a.log"}}
	p := h.Pod()
	s := p.Spec
	if s.NodeName != "n1" || !s.HostPID || !s.HostNetwork || *s.ActiveDeadlineSeconds != 60 || s.RestartPolicy != corev1.RestartPolicyNever {
		t.Errorf("spec: %+v", s)
	}
	if *s.AutomountServiceAccountToken {
		t.Error("the helper gets an API token it does not need")
	}
	if len(s.Tolerations) != 1 || s.Tolerations[0].Operator != corev1.TolerationOpExists || s.Tolerations[0].Key != "" {
		t.Errorf("does not tolerate every taint: %+v", s.Tolerations)
	}
	c := s.Containers[0]
	if !*c.SecurityContext.Privileged || !c.Stdin || !c.StdinOnce || !c.TTY || c.Image != "img:1" || c.ImagePullPolicy != corev1.PullNever {
		t.Errorf("container: %+v", c)
	}
	want := "cnsenter-attach --stdin -- cnsenter -t cri://shop/web/app --confine --audit-log /var/log/cnsenter/a.log"
	if got := strings.Join(c.Command, " "); got != want {
		t.Errorf("command %q, want %q", got, want)
	}
	if p.Labels[LabelManagedBy] != ManagedBy || p.Annotations[AnnotationCaller] != "alice" || p.Annotations[AnnotationTarget] != "shop/web/app" {
		t.Errorf("labels %v annotations %v", p.Labels, p.Annotations)
	}
	if !strings.HasPrefix(p.GenerateName, "nsenter-web-") || p.Namespace != "shop" {
		t.Errorf("name %q ns %q", p.GenerateName, p.Namespace)
	}
	paths := map[string]string{}
	for _, v := range s.Volumes {
		paths[v.Name] = v.HostPath.Path
	}
	if paths["cri-socket"] != "/run/containerd/containerd.sock" || paths["audit-log"] != "/var/log/cnsenter" {
		t.Errorf("volumes %v", paths)
	}
	if len(c.VolumeMounts) != 2 || c.VolumeMounts[0].MountPath != "/run/containerd/containerd.sock" {
		t.Errorf("mounts %+v", c.VolumeMounts)
	}
}

func TestCRIEndpointFor(t *testing.T) {
	n := &corev1.Node{ObjectMeta: metav1.ObjectMeta{Name: "n"}}
	n.Status.NodeInfo.ContainerRuntimeVersion = "containerd://2.4.2"
	if e, _ := criEndpointFor(n); e != "unix:///run/containerd/containerd.sock" {
		t.Errorf("containerd: %q", e)
	}
	n.Status.NodeInfo.ContainerRuntimeVersion = "cri-o://1.30"
	if e, _ := criEndpointFor(n); e != "unix:///var/run/crio/crio.sock" {
		t.Errorf("cri-o: %q", e)
	}
	n.Annotations = map[string]string{"kubeadm.alpha.kubernetes.io/cri-socket": "unix:///x/y.sock"}
	if e, _ := criEndpointFor(n); e != "unix:///x/y.sock" {
		t.Errorf("kubeadm annotation: %q", e)
	}
	n.Annotations = nil
	n.Status.NodeInfo.ContainerRuntimeVersion = "frob://1"
	if _, err := criEndpointFor(n); err == nil || !strings.Contains(err.Error(), "--cri-endpoint") {
		t.Errorf("unknown runtime: %v", err)
	}
}

func TestRunningContainer(t *testing.T) {
	p := &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Name: "p", Namespace: "ns"}}
	p.Status.ContainerStatuses = []corev1.ContainerStatus{
		{Name: "a", ContainerID: "containerd://abc", State: corev1.ContainerState{Running: &corev1.ContainerStateRunning{}}},
		{Name: "b", State: corev1.ContainerState{Waiting: &corev1.ContainerStateWaiting{Reason: "CrashLoopBackOff"}}},
	}
	if id, err := runningContainer(p, "a"); err != nil || id != "abc" {
		t.Errorf("a: %q %v", id, err)
	}
	if _, err := runningContainer(p, "b"); err == nil || !strings.Contains(err.Error(), "CrashLoopBackOff") {
		t.Errorf("b: %v", err)
	}
	if _, err := runningContainer(p, "c"); err == nil || !strings.Contains(err.Error(), "has not started") {
		t.Errorf("c: %v", err)
	}
}
