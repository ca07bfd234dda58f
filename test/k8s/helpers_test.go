package k8s

import (
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

func need(t *testing.T) {
	t.Helper()
	if skipWhy != "" {
		t.Skip(skipWhy)
	}
}

func adminKubeconfig() string { return filepath.Join(kdir, "pki", "admin.kubeconfig") }

// kubectl runs the cluster's kubectl as its admin.
func kubectl(t *testing.T, stdin string, args ...string) string {
	t.Helper()
	out, err := kubectlErr(stdin, args...)
	if err != nil {
		t.Fatalf("kubectl %s: %v\n%s", strings.Join(args, " "), err, out)
	}
	return out
}

func kubectlErr(stdin string, args ...string) (string, error) {
	cmd := exec.Command(filepath.Join(kdir, "bin", "kubectl"),
		append([]string{"--kubeconfig", adminKubeconfig(), "--cache-dir", filepath.Join(kdir, "kube-cache")}, args...)...)
	cmd.Stdin = strings.NewReader(stdin)
	var b bytes.Buffer
	cmd.Stdout, cmd.Stderr = &b, &b
	err := cmd.Run()
	return b.String(), err
}

// nsenterCmd is kubectl-nsenter as kubectl runs a plugin (KUBECONFIG in
// its environment), with the test image, never pulled.
func nsenterCmd(kubeconfig string, args ...string) *exec.Cmd {
	all := []string{"--image", image, "--image-pull-policy", "Never", "--cri-endpoint", sock}
	all = append(all, extraArgs...)
	all = append(all, args...)
	cmd := exec.Command(plugin, all...)
	cmd.Env = append(os.Environ(), "KUBECONFIG="+kubeconfig)
	return cmd
}

type result struct {
	stdout, stderr string
	code           int
}

func nsenter(t *testing.T, args ...string) result {
	t.Helper()
	return nsenterAs(t, adminKubeconfig(), args...)
}

func nsenterAs(t *testing.T, kubeconfig string, args ...string) result {
	t.Helper()
	cmd := nsenterCmd(kubeconfig, args...)
	var o, e bytes.Buffer
	cmd.Stdout, cmd.Stderr = &o, &e
	err := cmd.Run()
	r := result{o.String(), e.String(), 0}
	if err != nil {
		ee, ok := err.(*exec.ExitError)
		if !ok {
			t.Fatalf("kubectl-nsenter: %v", err)
		}
		r.code = ee.ExitCode()
		if st, ok := ee.Sys().(syscall.WaitStatus); ok && st.Signaled() {
			r.code = 128 + int(st.Signal())
		}
	}
	t.Logf("kubectl nsenter %s -> %d\nstdout: %s\nstderr: %s", strings.Join(args, " "), r.code, r.stdout, r.stderr)
	return r
}

// namespace makes a namespace for one test, with its default service
// account (pods need it), removed at the end.
func namespace(t *testing.T, name string) {
	t.Helper()
	kubectl(t, "", "create", "namespace", name)
	t.Cleanup(func() {
		kubectlErr("", "delete", "namespace", name, "--wait=true", "--timeout=120s")
	})
	poll(t, "service account default in "+name, func() bool {
		_, err := kubectlErr("", "get", "serviceaccount", "default", "-n", name)
		return err == nil
	})
}

// pod creates a pod on the node (host network: the cluster has no pod
// network) and waits until it is Ready; removed at the end.
func pod(t *testing.T, ns, name string, containers string) {
	t.Helper()
	y := fmt.Sprintf(`apiVersion: v1
kind: Pod
metadata: {name: %s, namespace: %s}
spec:
  nodeName: localhost
  hostNetwork: true
  automountServiceAccountToken: false
  terminationGracePeriodSeconds: 1
  containers:
%s`, name, ns, containers)
	kubectl(t, y, "apply", "-f", "-")
	t.Cleanup(func() {
		kubectlErr("", "delete", "pod", "-n", ns, name, "--grace-period=1", "--wait=true", "--timeout=60s")
	})
	kubectl(t, "", "wait", "-n", ns, "--for=condition=Ready", "pod/"+name, "--timeout=120s")
}

// busybox is a container of the cluster's busybox image that writes
// MARK to /tmp/me, then waits.
func busybox(name, mark string) string {
	return fmt.Sprintf(`  - name: %s
    image: localhost/busybox:1
    imagePullPolicy: Never
    command: ["sh", "-c", "echo %s > /tmp/me; trap 'exit 0' TERM; while true; do sleep 1; done"]
`, name, mark)
}

// helpers lists the helper pods of kubectl nsenter in every namespace.
func helpers(t *testing.T) []helperPod {
	t.Helper()
	out := kubectl(t, "", "get", "pods", "-A", "-l", "app.kubernetes.io/managed-by=kubectl-nsenter", "-o", "json")
	var l struct {
		Items []struct {
			Metadata struct {
				Name, Namespace string
				Annotations     map[string]string
			}
			Spec struct {
				NodeName              string
				HostPID               bool
				ActiveDeadlineSeconds int64
				Containers            []struct {
					Command []string
					Image   string
				}
			}
			Status struct{ Phase, Reason string }
		}
	}
	if err := json.Unmarshal([]byte(out), &l); err != nil {
		t.Fatalf("helper pods: %v\n%s", err, out)
	}
	var r []helperPod
	for _, i := range l.Items {
		h := helperPod{Name: i.Metadata.Name, Namespace: i.Metadata.Namespace, Phase: i.Status.Phase,
			Reason: i.Status.Reason, Annotations: i.Metadata.Annotations, Deadline: i.Spec.ActiveDeadlineSeconds,
			HostPID: i.Spec.HostPID, Node: i.Spec.NodeName}
		if len(i.Spec.Containers) > 0 {
			h.Command = i.Spec.Containers[0].Command
		}
		r = append(r, h)
	}
	return r
}

type helperPod struct {
	Name, Namespace, Phase, Reason, Node string
	Annotations                          map[string]string
	Deadline                             int64
	HostPID                              bool
	Command                              []string
}

// noHelpers waits until no helper pod is left: deletion takes the
// kubelet's confirmation (grace period 1s), a few seconds.
func noHelpers(t *testing.T) {
	t.Helper()
	poll(t, "no helper pod left", func() bool { return len(helpers(t)) == 0 })
}

// poll waits for cond, at most 3 minutes (a bound for a broken cluster,
// not a timing assertion).
func poll(t *testing.T, what string, cond func() bool) {
	t.Helper()
	end := time.Now().Add(3 * time.Minute)
	for !cond() {
		if time.Now().After(end) {
			t.Fatalf("still not so after 3 minutes: %s", what)
		}
		time.Sleep(300 * time.Millisecond)
	}
}
