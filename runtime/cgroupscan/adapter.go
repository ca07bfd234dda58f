package cgroupscan

import (
	"context"

	"github.com/cnsenter/cnsenter/runtime"
)

func init() {
	runtime.Register(runtime.Runtime{
		Name: "cgroup", Rank: 100, Syntax: "ID|PREFIX|NAME", Fallback: true,
		New: func(runtime.Config) (runtime.Adapter, error) { return New("/proc"), nil },
	})
}

// Adapter finds containers of any runtime by their processes' cgroups,
// asked last: for a bare name only when no runtime that answered knows it,
// and in --list for the containers no runtime listed.
type Adapter struct{ proc string }

// New makes an adapter that scans a /proc.
func New(proc string) *Adapter { return &Adapter{proc: proc} }

func (a *Adapter) Name() string     { return "cgroup" }
func (a *Adapter) Endpoint() string { return a.proc }
func (a *Adapter) Close() error     { return nil }

// Resolve finds the container an ID, a prefix of at least MinPrefix hex
// digits, or an LXC or systemd-nspawn name names.
func (a *Adapter) Resolve(ctx context.Context, ref string) (runtime.Container, error) {
	inits, err := Scan(a.proc)
	if err != nil {
		return runtime.Container{}, err
	}
	i, err := Match(inits, ref)
	if err != nil {
		return runtime.Container{}, err
	}
	return i.Container(a.proc), nil
}

// Find is Resolve for a bare name: none found is not an error.
func (a *Adapter) Find(ctx context.Context, name string) ([]runtime.Container, error) {
	return runtime.FindOne(a.Resolve(ctx, name))
}

// List returns every container the scan finds. One that several cgroups
// name is listed as "ambiguous", without a PID: its PID may be another's.
func (a *Adapter) List(ctx context.Context) ([]runtime.Container, error) {
	inits, err := Scan(a.proc)
	if err != nil {
		return nil, err
	}
	var list []runtime.Container
	for _, i := range inits {
		c := i.Container(a.proc)
		c.Note = ""
		if i.Places != nil {
			c.Status, c.PID = "ambiguous", 0
		}
		list = append(list, c)
	}
	return list, nil
}

var _ runtime.Adapter = (*Adapter)(nil)
