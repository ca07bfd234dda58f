package e2e

import (
	"bufio"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestHostToolsOnAnImageWithNothing: the image holds one static binary;
// both binaries give the host's tools in the container's namespaces, its
// root at $CONTAINER_ROOT and its processes in /proc, and leave the mount
// tables of host and container as they were.
func TestHostToolsOnAnImageWithNothing(t *testing.T) {
	d := newDockerCLI(t)
	pid := dockerInspect(t, "noshell", "{{.State.Pid}}")
	host, _ := readFile("/proc/self/mountinfo")
	container, _ := readFile("/proc/" + pid + "/mountinfo")
	script := `echo $CONTAINER_ROOT; ls $CONTAINER_ROOT/busybox; tr '\0' ' ' </proc/1/cmdline; echo; readlink /proc/self/ns/net; command -v ps`
	want := "/mnt\n/mnt/busybox\n/busybox sleep 100000 \n" + nsLink(t, pid, "net") + "\n"
	for name, r := range map[string]result{
		"cnsenter":       cnsenter(t, nil, "-t", "docker://noshell", "--host-tools", "sh", "-c", script),
		"docker nsenter": d.run(t, "", "nsenter", "--host-tools", "noshell", "sh", "-c", script),
	} {
		if !strings.HasPrefix(r.stdout, want) || r.code != 0 || !strings.Contains(r.stdout, "/bin/ps") {
			t.Errorf("%s --host-tools: want %q and the host's ps, got %v", name, want, r)
		}
	}
	// ps lists the container's processes and the session's, not the host's.
	r := d.run(t, "", "nsenter", "--host-tools", "noshell", "ps", "-e", "-o", "pid=,comm=")
	if fields := strings.Fields(r.stdout); len(fields) != 4 || fields[0] != "1" || fields[1] != "busybox" || fields[3] != "ps" {
		t.Errorf("ps in the session: %v", r)
	}
	if now, _ := readFile("/proc/self/mountinfo"); now != host {
		t.Errorf("the host's mount table changed")
	}
	if now, _ := readFile("/proc/" + pid + "/mountinfo"); now != container {
		t.Errorf("the container's mount table changed")
	}
}

func TestReadOnlySession(t *testing.T) {
	d := newDockerCLI(t)
	for name, r := range map[string]result{
		"cnsenter":                    cnsenter(t, nil, "-t", "docker://web", "-a", "--read-only", "sh", "-c", "cat /etc/passwd >/dev/null && echo read; touch /tmp/ro"),
		"docker nsenter":              d.run(t, "", "nsenter", "--read-only", "web", "sh", "-c", "cat /etc/passwd >/dev/null && echo read; touch /tmp/ro"),
		"docker nsenter --host-tools": d.run(t, "", "nsenter", "--read-only", "--host-tools", "web", "sh", "-c", "cat $CONTAINER_ROOT/etc/passwd >/dev/null && echo read; touch $CONTAINER_ROOT/tmp/ro"),
	} {
		if r.stdout != "read\n" || r.code != 1 || !strings.Contains(r.stderr, "Read-only file system") {
			t.Errorf("%s --read-only: want reads to work and writes refused, got %v", name, r)
		}
	}
	// The container itself keeps writing.
	if _, err := eng.Docker("exec", "web", "touch", "/tmp/rw"); err != nil {
		t.Errorf("the container can no longer write: %v", err)
	}
}

func TestAuditLog(t *testing.T) {
	d := newDockerCLI(t)
	log := filepath.Join(t.TempDir(), "audit.log")
	cnsenter(t, []string{"CNSENTER_AUDIT_LOG=" + log}, "-t", "docker://web", "-a", "sh", "-c", "exit 4")
	d.run(t, "", "nsenter", "--audit-log", log, "--no-cgroup", "--read-only", "web", "true")
	cnsenter(t, nil, "--audit-log", log, "-t", "docker://web", "-a", "-W", "/nonexistent", "true") // fails inside
	f, err := os.Open(log)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var records []map[string]any
	for s := bufio.NewScanner(f); s.Scan(); {
		var r map[string]any
		if err := json.Unmarshal(s.Bytes(), &r); err != nil {
			t.Fatalf("not a JSON line: %q", s.Text())
		}
		records = append(records, r)
	}
	if len(records) != 6 {
		t.Fatalf("want 3 sessions of 2 records, got %v", records)
	}
	id := dockerInspect(t, "web", "{{.Id}}")
	for i := 0; i < 6; i += 2 {
		start, end := records[i], records[i+1]
		if start["event"] != "start" || end["event"] != "end" || start["session"] != end["session"] {
			t.Errorf("records %d and %d are not a session: %v %v", i, i+1, start, end)
		}
		if start["runtime"] != "docker" || start["container_id"] != id || start["uid"] != 0.0 || start["time"] == nil || end["time"] == nil {
			t.Errorf("start record %d: %v", i, start)
		}
	}
	if records[1]["exit_status"] != 4.0 || records[0]["cgroup_joined"] != false {
		t.Errorf("cnsenter session: %v %v", records[0], records[1])
	}
	if records[2]["cgroup_joined"] != false || records[2]["read_only"] != true || records[3]["exit_status"] != 0.0 {
		t.Errorf("docker nsenter session: %v %v", records[2], records[3])
	}
	if records[5]["exit_status"] != 1.0 || !strings.Contains(fmt.Sprint(records[5]["error"]), "cannot open the working directory /nonexistent") {
		t.Errorf("failed session: %v", records[5])
	}
	// A log that cannot be written stops the entry before it starts.
	r := cnsenter(t, nil, "--audit-log", "/nonexistent/audit.log", "-t", "docker://web", "-a", "touch", "/tmp/should-not-exist")
	oneLineError(t, r, "audit log /nonexistent/audit.log")
	if _, err := eng.Docker("exec", "web", "test", "!", "-e", "/tmp/should-not-exist"); err != nil {
		t.Errorf("the program ran although the audit log could not be written")
	}
}

// TestHostToolsBanner: interactive sessions say where they are.
func TestHostToolsBanner(t *testing.T) {
	d := newDockerCLI(t)
	out := underScript(t, d.env, "docker -H "+eng.DockerHost+" nsenter --host-tools web true")
	if !strings.Contains(out, "docker nsenter: host tools in web: the host's files and tools, the container's root at /mnt ($CONTAINER_ROOT)") {
		t.Errorf("no banner: %q", out)
	}
}
