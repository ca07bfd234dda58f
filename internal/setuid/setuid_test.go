package setuid

import (
	"strings"
	"testing"
)

func TestCheck(t *testing.T) {
	if err := check(0, 0); err != nil {
		t.Errorf("uid 0, euid 0: %v", err)
	}
	if err := check(1000, 1000); err != nil {
		t.Errorf("uid 1000, euid 1000: %v", err)
	}
	// The text test/compat (TestRefusesSetuidInstall) and users look for.
	err := check(1000, 0)
	if err != ErrInstall || !strings.Contains(err.Error(), "refusing to run with a real uid different from the effective uid") || strings.Contains(err.Error(), "\n") {
		t.Errorf("uid 1000, euid 0: %v, want ErrInstall on one line", err)
	}
	if err := Check(); err != nil {
		t.Errorf("the test itself runs set-user-ID? %v", err)
	}
}
