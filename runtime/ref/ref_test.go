package ref

import (
	"strings"
	"testing"
)

func TestParse(t *testing.T) {
	for in, want := range map[string]Ref{
		"42":                     {Kind: PID, PID: 42},
		"007":                    {Kind: PID, PID: 7},
		"docker://web":           {Kind: Scheme, Scheme: "docker", Name: "web"},
		"docker:///web":          {Kind: Scheme, Scheme: "docker", Name: "/web"},
		"containerd://k8s.io/c1": {Kind: Scheme, Scheme: "containerd", Name: "k8s.io/c1"},
		"cri://ns/pod/c":         {Kind: Scheme, Scheme: "cri", Name: "ns/pod/c"},
		"web-1":                  {Kind: Bare, Name: "web-1"},
	} {
		got, err := Parse(in)
		if err != nil || got != want {
			t.Errorf("Parse(%q) = %+v, %v; want %+v", in, got, err, want)
		}
	}
}

func TestParseErrors(t *testing.T) {
	for in, want := range map[string]string{
		"":                     "empty target",
		"0":                    "0 is not a valid PID",
		"99999999999999999999": "is not a valid PID",
		"docker://":            "give a container after docker://",
		"Foo://x":              `Foo:// is not a scheme`,
		"://x":                 `:// is not a scheme`,
		"a b":                  `' ' cannot be in a container name`,
		"docker://a\nb":        `'\n' cannot be in a container name`,
	} {
		in = strings.ReplaceAll(in, "\\n", "\n")
		_, err := Parse(in)
		if err == nil || !strings.Contains(err.Error(), want) || strings.Contains(err.Error(), "\n") {
			t.Errorf("Parse(%q) error = %v, want it to say %q", in, err, want)
		}
	}
}

func FuzzParse(f *testing.F) {
	for _, s := range []string{"42", "docker://web", "containerd://ns/id", "containerd://id", "web", "", "x://", "docker://a/b", "containerd://a/b/c", "podman://web"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		r, err := Parse(s)
		if err != nil {
			if strings.Contains(err.Error(), "\n") {
				t.Errorf("Parse(%q): error has several lines: %q", s, err)
			}
			return
		}
		again, err := Parse(r.String())
		if err != nil || again != r {
			t.Errorf("Parse(%q) = %+v, but its String %q parses to %+v, %v", s, r, r.String(), again, err)
		}
	})
}

// TestCheckName: what the engines accept as names, IDs and ID prefixes
// passes; a path in their API (.., a /) or anything else is refused, in one
// line.
func TestCheckName(t *testing.T) {
	for _, ok := range []string{"web", "/web", "3f2a", "my_app.1-2", strings.Repeat("a", 255)} {
		if err := CheckName(ok); err != nil {
			t.Errorf("%q: %v", ok, err)
		}
	}
	for _, bad := range []string{"", "/", "..", ".", "../x", "a/b", "a/../b", ".hidden", "-x", "_x", "a b", "a\nb", "a%2Fb", "a?b", "a#b", "/..", "//web", strings.Repeat("a", 256)} {
		err := CheckName(bad)
		if err == nil || !strings.Contains(err.Error(), "is not a container reference") || strings.Contains(err.Error(), "\n") {
			t.Errorf("%q: want one line saying it is not a container reference, got %v", bad, err)
		}
	}
}
