// Package all links every runtime adapter into a command: importing it
// registers them (runtime.Register). A new runtime is one folder under
// runtime/ and one line here.
package all

import (
	_ "github.com/cnsenter/cnsenter/runtime/cgroupscan"
	_ "github.com/cnsenter/cnsenter/runtime/containerd"
	_ "github.com/cnsenter/cnsenter/runtime/cri"
	_ "github.com/cnsenter/cnsenter/runtime/docker"
	_ "github.com/cnsenter/cnsenter/runtime/podman"
)
