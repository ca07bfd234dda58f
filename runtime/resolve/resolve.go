// Package resolve turns a --target reference into a running container
// through the registered runtimes (runtime.Register): the one its scheme
// names, or, for a bare name, all of them at once.
package resolve

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/cnsenter/cnsenter/runtime"
	"github.com/cnsenter/cnsenter/runtime/ref"
)

// DefaultTimeout is the deadline of each engine call.
const DefaultTimeout = 5 * time.Second

// Options choose the engines.
type Options struct {
	// Option gives the runtimes' options (runtime.Option) by name; empty
	// values take each ecosystem's defaults.
	Option  func(name string) string
	Timeout time.Duration
	// Only, when set, limits the engines to these runtimes (docker
	// nsenter: Docker's containers only).
	Only []string
}

// Engines holds the adapters, each made when first needed.
type Engines struct {
	opts     Options
	runtimes []runtime.Runtime
	mu       sync.Mutex
	made     map[string]made
}

type made struct {
	a   runtime.Adapter
	err error
}

// New prepares to talk to the engines; nothing is dialled yet.
func New(opts Options) *Engines {
	if opts.Timeout <= 0 {
		opts.Timeout = DefaultTimeout
	}
	var rts []runtime.Runtime
	for _, r := range runtime.Registered() {
		if opts.Only == nil || contains(opts.Only, r.Name) {
			rts = append(rts, r)
		}
	}
	return &Engines{opts: opts, runtimes: rts, made: map[string]made{}}
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

// Adapter is the adapter of one runtime, or why there is none.
func (e *Engines) Adapter(name string) (runtime.Adapter, error) {
	e.mu.Lock()
	defer e.mu.Unlock()
	if m, ok := e.made[name]; ok {
		return m.a, m.err
	}
	var m made
	m.err = fmt.Errorf("%s:// is not a runtime here: use %s, a container name or a PID", name, e.schemes())
	for _, r := range e.runtimes {
		if r.Name == name {
			m.a, m.err = r.New(runtime.Config{Timeout: e.opts.Timeout, Option: e.opts.Option})
		}
	}
	e.made[name] = m
	return m.a, m.err
}

// schemes lists the runtimes' references, for messages.
func (e *Engines) schemes() string {
	var list []string
	for _, r := range e.runtimes {
		list = append(list, r.Name+"://"+r.Syntax)
	}
	return strings.Join(list, ", ")
}

// Runtimes are the runtimes the engines ask, by rank.
func (e *Engines) Runtimes() []runtime.Runtime { return e.runtimes }

// Close releases every adapter made.
func (e *Engines) Close() {
	e.mu.Lock()
	defer e.mu.Unlock()
	for _, m := range e.made {
		if m.a != nil {
			m.a.Close()
		}
	}
}

// Resolve finds the running container a reference names. A PID is not a
// container: the caller handles it before.
func (e *Engines) Resolve(ctx context.Context, raw string) (runtime.Container, error) {
	r, err := ref.Parse(raw)
	if err != nil {
		return runtime.Container{}, err
	}
	switch r.Kind {
	case ref.PID:
		return runtime.Container{}, fmt.Errorf("%s is a PID, not a container", raw)
	case ref.Scheme:
		a, err := e.Adapter(r.Scheme)
		if err != nil {
			return runtime.Container{}, fmt.Errorf("%s: %w", raw, err)
		}
		return a.Resolve(ctx, r.Name)
	}
	return e.find(ctx, r.Name)
}

// answer is what one runtime says of a bare name.
type answer struct {
	found []runtime.Container
	err   error
}

// ask asks the runtimes for a bare name at once, each within its own
// deadline, so that one that hangs adds nothing to the others' time.
func (e *Engines) ask(ctx context.Context, rts []runtime.Runtime, name string) []answer {
	answers := make([]answer, len(rts))
	var wg sync.WaitGroup
	for i, rt := range rts {
		wg.Add(1)
		go func() {
			defer wg.Done()
			a, err := e.Adapter(rt.Name)
			if err != nil {
				answers[i].err = err
				return
			}
			answers[i].found, answers[i].err = a.Find(ctx, name)
		}()
	}
	wg.Wait()
	return answers
}

// find looks for a bare name in every runtime at once; when none that
// answered knows it, in the fallback runtimes (the cgroup scan). One
// container known to several runtimes (Docker's are also containerd's,
// CRI's on containerd too) is named by the lowest ranked.
func (e *Engines) find(ctx context.Context, name string) (runtime.Container, error) {
	var first, fallback []runtime.Runtime
	for _, rt := range e.runtimes {
		if rt.Fallback {
			fallback = append(fallback, rt)
		} else {
			first = append(first, rt)
		}
	}
	var found []runtime.Container
	var failures []error
	var notRunning error // a container found but not to be entered: stopped, another user's, several
	collect := func(answers []answer) {
		for _, a := range answers {
			found = append(found, a.found...)
			switch {
			case a.err == nil:
			case aboutContainer(a.err):
				if notRunning == nil {
					notRunning = a.err
				}
			default:
				failures = append(failures, a.err)
			}
		}
	}
	collect(e.ask(ctx, first, name))
	found = Dedupe(found)
	if len(found) == 0 && notRunning == nil {
		collect(e.ask(ctx, fallback, name))
		found = Dedupe(found)
	}
	switch {
	case len(found) == 1:
		return found[0], nil
	case len(found) > 1:
		refs := make([]string, len(found))
		for i, c := range found {
			refs[i] = c.Ref()
		}
		return runtime.Container{}, &runtime.Error{Kind: runtime.Ambiguous, Ref: name, Matches: refs,
			Detail: "names several containers: " + strings.Join(refs, ", ")}
	case notRunning != nil:
		return runtime.Container{}, notRunning
	}
	var names []string
	for _, rt := range e.runtimes {
		names = append(names, rt.Name)
	}
	nf := &runtime.Error{Kind: runtime.NotFound, Ref: name,
		Detail: "no running container found (asked " + strings.Join(names, ", ") + ")"}
	if len(failures) > 0 {
		nf.Detail += ", and not every runtime answered: " + joinErrors(failures)
		nf.Err = failures[0]
	}
	return runtime.Container{}, nf
}

// aboutContainer tells an answer about the container (it does not run,
// it is another user's, the name is several's) from a runtime's failure.
func aboutContainer(err error) bool {
	var e *runtime.Error
	if !errors.As(err, &e) {
		return false
	}
	return e.Kind == runtime.NotRunning || e.Kind == runtime.Ambiguous || e.Kind == runtime.Denied && e.Container.ID != ""
}

func joinErrors(errs []error) string {
	s := make([]string, len(errs))
	for i, err := range errs {
		s[i] = err.Error()
	}
	return strings.Join(s, "; ")
}

// Dedupe keeps one entry of each container: the first, in rank order
// (the order of the runtimes' answers). Entries are one container when
// they have its ID and the same owner: root's engines (Docker's
// containers are containerd's too), or one rootless engine's user. A
// rootless engine's entry is its user's word, who can give a container
// any ID: it is one with another owner's only when both name the same
// process (the cgroup scan's entry of it), so that it never hides another
// container with that ID.
func Dedupe(list []runtime.Container) []runtime.Container {
	rank := map[string]int{}
	for _, r := range runtime.Registered() {
		rank[r.Name] = r.Rank
	}
	sort.SliceStable(list, func(i, j int) bool { return rank[list[i].Runtime] < rank[list[j].Runtime] })
	kept := map[string][]runtime.Container{} // by ID
	var out []runtime.Container
	for _, c := range list {
		if c.ID != "" && slices.ContainsFunc(kept[c.ID], func(k runtime.Container) bool {
			return k.RootlessUID == c.RootlessUID || k.PID > 0 && k.PID == c.PID
		}) {
			continue
		}
		kept[c.ID] = append(kept[c.ID], c)
		out = append(out, c)
	}
	return out
}

// List returns the running containers of every runtime that answers, each
// container once (named by the lowest ranked runtime that knows it: the
// cgroup scan's only when no runtime listed it), and one error for each
// runtime that does not answer. The runtimes are asked at once.
func (e *Engines) List(ctx context.Context) ([]runtime.Container, []error) {
	lists := make([][]runtime.Container, len(e.runtimes))
	errs := make([]error, len(e.runtimes))
	var wg sync.WaitGroup
	for i, rt := range e.runtimes {
		wg.Add(1)
		go func() {
			defer wg.Done()
			a, err := e.Adapter(rt.Name)
			if err == nil {
				lists[i], err = a.List(ctx)
			}
			errs[i] = err
		}()
	}
	wg.Wait()
	var all []runtime.Container
	var failed []error
	for i := range e.runtimes {
		all = append(all, lists[i]...)
		if errs[i] != nil {
			failed = append(failed, errs[i])
		}
	}
	return Dedupe(all), failed
}
