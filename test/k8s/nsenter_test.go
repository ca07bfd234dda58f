package k8s

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
)

// A pod whose image is one static program, no shell: kubectl exec cannot
// run anything in it; kubectl nsenter --host-tools runs the helper image's
// shell in its namespaces, with its files at $CONTAINER_ROOT and its
// processes in ps.
func TestNoShellHostTools(t *testing.T) {
	need(t)
	pod(t, "default", "noshell", `  - name: app
    image: localhost/pause:1
    imagePullPolicy: Never
`)
	r := nsenter(t, "noshell", "--", "sh", "-c", "true")
	if r.code != 127 && r.code != 126 {
		t.Errorf("sh in an image without one: exit %d, want 126 or 127", r.code)
	}
	r = nsenter(t, "--host-tools", "noshell", "--", "sh", "-c", `ls "$CONTAINER_ROOT"; ps -o pid,args`)
	if r.code != 0 {
		t.Fatalf("--host-tools: exit %d", r.code)
	}
	if !strings.Contains(r.stdout, "pause") {
		t.Errorf("the container's root (its /pause) is not at $CONTAINER_ROOT: %q", r.stdout)
	}
	if !strings.Contains(r.stdout, "1 /pause") {
		t.Errorf("ps does not show the container's init as PID 1: %q", r.stdout)
	}
	noHelpers(t)
}

// -c picks a container of a multi-container pod; without it, the first,
// with a line saying so, as kubectl exec; a wrong name lists the names.
func TestMultiContainer(t *testing.T) {
	need(t)
	pod(t, "default", "multi", busybox("first", "A")+busybox("second", "B"))
	if r := nsenter(t, "multi", "-c", "second", "--", "cat", "/tmp/me"); r.code != 0 || strings.TrimSpace(r.stdout) != "B" {
		t.Errorf("-c second: exit %d, %q, want B", r.code, r.stdout)
	}
	r := nsenter(t, "multi", "--", "cat", "/tmp/me")
	if r.code != 0 || strings.TrimSpace(r.stdout) != "A" {
		t.Errorf("default container: exit %d, %q, want A", r.code, r.stdout)
	}
	if !strings.Contains(r.stderr, `Defaulted container "first"`) {
		t.Errorf("no line naming the defaulted container: %q", r.stderr)
	}
	r = nsenter(t, "multi", "-c", "third", "--", "true")
	if r.code != 1 || !strings.Contains(r.stderr, `no container "third"`) || !strings.Contains(r.stderr, "first, second") {
		t.Errorf("-c third: exit %d, %q", r.code, r.stderr)
	}
	noHelpers(t)
}

// -n: a pod in another namespace, whose helper runs there too.
func TestOtherNamespace(t *testing.T) {
	need(t)
	namespace(t, "nsenter-other")
	pod(t, "nsenter-other", "web", busybox("app", "other"))
	r := nsenter(t, "-n", "nsenter-other", "web", "--", "cat", "/tmp/me")
	if r.code != 0 || strings.TrimSpace(r.stdout) != "other" {
		t.Errorf("-n nsenter-other: exit %d, %q", r.code, r.stdout)
	}
	if r := nsenter(t, "web", "--", "true"); r.code != 1 || !strings.Contains(r.stderr, "pod default/web not found") {
		t.Errorf("the same name in default: exit %d, %q", r.code, r.stderr)
	}
	noHelpers(t)
}

// A normal exit: the program's status and streams, stdin with -i, and no
// helper pod left.
func TestExitStatusAndStreams(t *testing.T) {
	need(t)
	pod(t, "default", "streams", busybox("app", "x"))
	r := nsenter(t, "streams", "--", "sh", "-c", "echo out; echo err >&2; exit 7")
	if r.code != 7 || strings.TrimSpace(r.stdout) != "out" || !strings.Contains(r.stderr, "err") {
		t.Errorf("exit %d, stdout %q, stderr %q; want 7, out, err", r.code, r.stdout, r.stderr)
	}
	cmd := nsenterCmd(adminKubeconfig(), "-i", "streams", "--", "sh", "-c", "cat; echo done")
	cmd.Stdin = strings.NewReader("hello from stdin\n")
	out, err := cmd.Output()
	if err != nil || string(out) != "hello from stdin\ndone\n" {
		t.Errorf("-i: %v, %q", err, out)
	}
	// Without -i the program's stdin is empty.
	cmd = nsenterCmd(adminKubeconfig(), "streams", "--", "sh", "-c", "cat; echo done")
	cmd.Stdin = strings.NewReader("not for you\n")
	if out, err = cmd.Output(); err != nil || string(out) != "done\n" {
		t.Errorf("without -i: %v, %q", err, out)
	}
	// Through kubectl itself, which finds the plugin on PATH.
	cmd = exec.Command(filepath.Join(kdir, "bin", "kubectl"), "nsenter", "--image", image, "--image-pull-policy", "Never",
		"--cri-endpoint", sock, "streams", "--", "echo", "via-kubectl")
	cmd.Env = append(os.Environ(), "KUBECONFIG="+adminKubeconfig(), "PATH="+filepath.Dir(plugin)+":"+os.Getenv("PATH"))
	if out, err = cmd.CombinedOutput(); err != nil || string(out) != "via-kubectl\n" {
		t.Errorf("kubectl nsenter: %v, %q", err, out)
	}
	cmd = exec.Command(filepath.Join(kdir, "bin", "kubectl"), "nsenter", "--help")
	cmd.Env = append(os.Environ(), "PATH="+filepath.Dir(plugin)+":"+os.Getenv("PATH"))
	if out, err = cmd.CombinedOutput(); err != nil || !strings.Contains(string(out), "kubectl nsenter [-n NAMESPACE] POD") {
		t.Errorf("kubectl nsenter --help: %v, %q", err, out)
	}
	noHelpers(t)
}

// Ctrl-C (SIGINT) and SIGTERM to kubectl nsenter: the helper pod is
// deleted before it exits (128+signal).
func TestInterruptDeletesHelper(t *testing.T) {
	need(t)
	pod(t, "default", "intr", busybox("app", "x"))
	for _, sig := range []syscall.Signal{syscall.SIGINT, syscall.SIGTERM} {
		cmd := nsenterCmd(adminKubeconfig(), "intr", "--", "sleep", "600")
		var stderr bytes.Buffer
		cmd.Stderr = &stderr
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		poll(t, "the helper pod running", func() bool {
			h := helpers(t)
			return len(h) == 1 && h[0].Phase == "Running"
		})
		cmd.Process.Signal(sig)
		err := cmd.Wait()
		ee, _ := err.(*exec.ExitError)
		if ee == nil || ee.ExitCode() != 128+int(sig) {
			t.Errorf("%v: %v, want exit %d; stderr %q", sig, err, 128+int(sig), stderr.String())
		}
		// Deleted, not only asked to be: the pod object goes once the
		// kubelet has stopped its container.
		noHelpers(t)
	}
}

// kubectl nsenter killed (SIGKILL): nothing deletes the helper, its
// activeDeadlineSeconds ends it (phase Failed, DeadlineExceeded), and the
// caller's next session removes it by its label.
func TestKilledPluginHelperEnds(t *testing.T) {
	need(t)
	pod(t, "default", "killed", busybox("app", "x"))
	cmd := nsenterCmd(adminKubeconfig(), "--deadline", "8s", "killed", "--", "sleep", "600")
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	var h []helperPod
	poll(t, "the helper pod running", func() bool {
		h = helpers(t)
		return len(h) == 1 && h[0].Phase == "Running"
	})
	// The helper pod as specified: on the target's node, the host's PID
	// namespace, its deadline, who asked and for what.
	if h[0].Node != "localhost" || !h[0].HostPID || h[0].Deadline != 8 {
		t.Errorf("helper pod: node %q hostPID %v deadline %d", h[0].Node, h[0].HostPID, h[0].Deadline)
	}
	if h[0].Annotations["nsenter.cnsenter.io/caller"] != "admin" || h[0].Annotations["nsenter.cnsenter.io/target"] != "default/killed/app" {
		t.Errorf("helper pod annotations: %v", h[0].Annotations)
	}
	if c := strings.Join(h[0].Command, " "); !strings.Contains(c, "cnsenter -t ") || !strings.Contains(c, "-- sleep 600") {
		t.Errorf("helper command: %q", c)
	}
	cmd.Process.Kill()
	cmd.Wait()
	poll(t, "the helper pod ended by its deadline", func() bool {
		h = helpers(t)
		return len(h) == 1 && h[0].Phase == "Failed"
	})
	if h[0].Reason != "DeadlineExceeded" {
		t.Errorf("helper pod ended with reason %q, want DeadlineExceeded", h[0].Reason)
	}
	r := nsenter(t, "killed", "--", "true")
	if r.code != 0 || !strings.Contains(r.stderr, "removed default/"+h[0].Name) {
		t.Errorf("the next session: exit %d, stderr %q: did not remove %s", r.code, r.stderr, h[0].Name)
	}
	noHelpers(t)
}

// A pod bound to a node that no longer exists: one clear line, nothing
// created.
func TestNodeGone(t *testing.T) {
	need(t)
	y := `apiVersion: v1
kind: Pod
metadata: {name: orphan, namespace: default}
spec:
  nodeName: gone-node
  containers:
  - {name: app, image: localhost/busybox:1, imagePullPolicy: Never}
`
	kubectl(t, y, "apply", "-f", "-")
	t.Cleanup(func() { kubectlErr("", "delete", "pod", "orphan", "--force", "--grace-period=0") })
	r := nsenter(t, "orphan", "--", "true")
	if r.code != 1 || !strings.Contains(r.stderr, "bound to node gone-node, which no longer exists") {
		t.Errorf("exit %d, stderr %q", r.code, r.stderr)
	}
	if n := strings.Count(r.stderr, "\n"); n != 1 {
		t.Errorf("%d lines on stderr, want one", n)
	}
	if h := helpers(t); len(h) != 0 {
		t.Errorf("helper pods created: %v", h)
	}
}

// A caller whom RBAC lets read pods but not create them: one clear line
// naming the rights, nothing created.
func TestRBACRefused(t *testing.T) {
	need(t)
	pod(t, "default", "guarded", busybox("app", "x"))
	kubectl(t, "", "create", "serviceaccount", "nsenter-reader")
	kubectl(t, "", "create", "role", "nsenter-reader", "--verb=get,list,watch", "--resource=pods")
	kubectl(t, "", "create", "rolebinding", "nsenter-reader", "--role=nsenter-reader", "--serviceaccount=default:nsenter-reader")
	t.Cleanup(func() {
		kubectlErr("", "delete", "rolebinding,role,serviceaccount", "nsenter-reader")
	})
	token := strings.TrimSpace(kubectl(t, "", "create", "token", "nsenter-reader", "--duration=10m"))
	kc := filepath.Join(t.TempDir(), "reader.kubeconfig")
	os.WriteFile(kc, []byte(`apiVersion: v1
kind: Config
clusters:
- name: local
  cluster: {server: "https://127.0.0.1:6443", certificate-authority: "`+filepath.Join(kdir, "pki", "ca.crt")+`"}
users:
- name: reader
  user: {token: "`+token+`"}
contexts:
- name: local
  context: {cluster: local, user: reader, namespace: default}
current-context: local
`), 0o600)
	r := nsenterAs(t, kc, "guarded", "--", "true")
	if r.code != 1 || !strings.Contains(r.stderr, "you may not create pods, create pods/attach, delete pods in namespace default") ||
		!strings.Contains(r.stderr, "nothing was created") {
		t.Errorf("exit %d, stderr %q", r.code, r.stderr)
	}
	if h := helpers(t); len(h) != 0 {
		t.Errorf("helper pods created: %v", h)
	}
}

// --audit-log: cnsenter's JSON records land in the file on the node.
func TestAuditLogOnNode(t *testing.T) {
	need(t)
	pod(t, "default", "audited", busybox("app", "x"))
	dir := filepath.Join(kdir, "audit-test")
	t.Cleanup(func() { os.RemoveAll(dir) })
	log := filepath.Join(dir, "sessions.log")
	if r := nsenter(t, "--audit-log", log, "audited", "--", "true"); r.code != 0 {
		t.Fatalf("exit %d", r.code)
	}
	b, err := os.ReadFile(log)
	if err != nil {
		t.Fatalf("no audit log on the node: %v", err)
	}
	lines := strings.Split(strings.TrimSpace(string(b)), "\n")
	if len(lines) != 2 || !strings.Contains(lines[0], `"true"`) {
		t.Errorf("audit log: %q, want a start and an end record", b)
	}
	noHelpers(t)
}

// The profiles: restricted's files are read-only, sysadmin holds every
// capability where general's container programs hold the container's.
func TestProfiles(t *testing.T) {
	need(t)
	pod(t, "default", "prof", busybox("app", "x"))
	if r := nsenter(t, "--profile", "restricted", "prof", "--", "sh", "-c", "echo x > /tmp/written"); r.code == 0 {
		t.Errorf("restricted: a write succeeded")
	}
	capEff := func(profile string) string {
		r := nsenter(t, "--profile", profile, "prof", "--", "grep", "CapEff", "/proc/self/status")
		if r.code != 0 {
			t.Fatalf("%s: exit %d", profile, r.code)
		}
		return strings.TrimSpace(r.stdout)
	}
	if g, s := capEff("general"), capEff("sysadmin"); g == s {
		t.Errorf("general and sysadmin have the same capabilities: %s", g)
	}
	if r := nsenter(t, "--profile", "netadmin", "prof", "--", "sh", "-c", "ip link >/dev/null && test ! -e /tmp/me"); r.code != 0 {
		t.Errorf("netadmin: not the helper's files with ip (exit %d)", r.code)
	}
	if r := nsenter(t, "--profile", "nope", "prof"); r.code != 1 || !strings.Contains(r.stderr, "not a profile") {
		t.Errorf("--profile nope: exit %d, %q", r.code, r.stderr)
	}
	noHelpers(t)
}

// The helper image missing on the node (never pulled): one line saying
// so, and the helper pod deleted.
func TestHelperImageMissing(t *testing.T) {
	need(t)
	pod(t, "default", "noimage", busybox("app", "x"))
	r := nsenter(t, "--image", "localhost/no-such-image:1", "noimage", "--", "true")
	if r.code != 1 || !strings.Contains(r.stderr, "the node cannot get the helper image localhost/no-such-image:1") {
		t.Errorf("exit %d, stderr %q", r.code, r.stderr)
	}
	noHelpers(t)
}
