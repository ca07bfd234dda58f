package e2e

import (
	"os"
	"os/exec"
	"strings"
	"testing"
)

// TestDemo runs make demo's program twice against the test engines: it
// must show what it promises and clean up after itself.
func TestDemo(t *testing.T) {
	requireEngines(t)
	for run := 1; run <= 2; run++ {
		cmd := exec.Command("go", "run", "github.com/cnsenter/cnsenter/test/demo", "-bin", bin)
		cmd.Env = append(os.Environ(), eng.Env()...)
		out, err := cmd.CombinedOutput()
		if err != nil {
			t.Fatalf("run %d: %v\n%s", run, err, out)
		}
		for _, want := range []string{
			"$ docker exec cnsenter-demo ps", "executable file not found",
			"$ docker nsenter --host-tools cnsenter-demo ps -ef", "/pause",
			"inet 127.0.0.1/8", "demo\n", "cnsenter-demo/noshell  running",
			"Read-only file system", `"event":"end"`,
		} {
			if !strings.Contains(string(out), want) {
				t.Errorf("run %d: the demo did not show %q:\n%s", run, want, out)
			}
		}
		if names, _ := eng.Docker("ps", "-a", "--format", "{{.Names}}"); strings.Contains(names, "cnsenter-demo") {
			t.Errorf("run %d: the demo left its container: %s", run, names)
		}
	}
}
