// Package setuid holds the refusal both Go commands start with: a real uid
// that differs from the effective one is what a set-user-ID install gives
// every local user, and with it every container. The C front
// (enter/stage2/front.c), which runs first in an install, says the same.
package setuid

import (
	"errors"
	"os"
)

// ErrInstall is the refusal, one line with its remedy; each command puts
// its name in front and exits with status 1.
var ErrInstall = errors.New("refusing to run with a real uid different from the effective uid (a set-user-ID install would hand every local user every container): run it as the user you mean")

// Check returns ErrInstall when this process runs set-user-ID.
func Check() error {
	return check(os.Getuid(), os.Geteuid())
}

func check(uid, euid int) error {
	if uid != euid {
		return ErrInstall
	}
	return nil
}
