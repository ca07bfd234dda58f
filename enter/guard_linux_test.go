package enter

import "testing"

// TestProgramFromHost: the program's files are the host's unless the
// mount namespace is entered, or --root names the target's root.
func TestProgramFromHost(t *testing.T) {
	mount := map[Kind]bool{Mount: true, PID: true}
	noMount := map[Kind]bool{Net: true, PID: true}
	for _, c := range []struct {
		name string
		req  Request
		want map[Kind]bool
		host bool
	}{
		{"mount entered", Request{}, mount, false},
		{"mount not entered", Request{}, noMount, true},
		{"no namespace", Request{}, map[Kind]bool{}, true},
		{"mount entered, --root the target's", Request{Root: Dir{Set: true}}, mount, false},
		{"mount not entered, --root the target's", Request{Root: Dir{Set: true}}, noMount, false},
		{"mount entered, --root a host directory", Request{Root: Dir{Set: true, Path: "/srv/root"}}, mount, true},
		{"mount not entered, --root a host directory", Request{Root: Dir{Set: true, Path: "/"}}, noMount, true},
		// Host-tools mode takes the mount namespace out of want.
		{"host tools", Request{HostTools: true}, noMount, true},
	} {
		if got := programFromHost(c.req, c.want); got != c.host {
			t.Errorf("%s: programFromHost = %v, want %v", c.name, got, c.host)
		}
	}
}

func TestCapabilityField(t *testing.T) {
	status := "Name:\tsleep\nCapInh:\t0000000000000000\nCapPrm:\t00000000a80425fb\nCapEff:\t00000000a80425fb\n" +
		"CapBnd:\t000001ffffffffff\nCapAmb:\t0000000000000000\nNoNewPrivs:\t0\n"
	for _, c := range []struct {
		set  string
		want uint64
	}{
		{"CapInh", 0}, {"CapPrm", 0xa80425fb}, {"CapBnd", 0x1ffffffffff}, {"CapAmb", 0},
	} {
		if got, err := capabilityField(status, c.set); err != nil || got != c.want {
			t.Errorf("%s: got %#x, %v; want %#x", c.set, got, err, c.want)
		}
	}
	if got, _ := capabilityField(status, "CapPrm"); got&capSysPtrace != 0 {
		t.Errorf("Docker's default capabilities hold CAP_SYS_PTRACE: %#x", got)
	}
	for _, c := range []struct{ status, set string }{
		{status, "Cap"},                            // a prefix of a name is not the name
		{status, "CapNone"},                        // no such set
		{"", "CapBnd"},                             // an empty file
		{"CapBnd:\tzz\n", "CapBnd"},                // not hexadecimal
		{"CapBnd:\t1ffffffffffffffff\n", "CapBnd"}, // more than 64 bits
		{"CapBnd:\n", "CapBnd"},                    // no value
	} {
		if got, err := capabilityField(c.status, c.set); err == nil {
			t.Errorf("%q in %q: got %#x and no error", c.set, c.status, got)
		}
	}
}
