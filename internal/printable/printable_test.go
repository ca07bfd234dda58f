package printable

import "testing"

func TestString(t *testing.T) {
	for in, want := range map[string]string{
		"plain /tmp/x":              "plain /tmp/x",
		"caf\u00e9 \u65e5\u672c":    "caf\u00e9 \u65e5\u672c",
		"\x1b]0;pwned\x07":          `\x1b]0;pwned\x07`,
		"a\nb\tc\r":                 `a\x0ab\x09c\x0d`,
		"\u009b31m":                 `\xc2\x9b31m`, // C1 CSI, as UTF-8
		"\x9b31m":                   `\x9b31m`,     // C1 CSI, a raw byte
		"del\x7f":                   `del\x7f`,
		"ok \xff\xfe end":           `ok \xff\xfe end`,
		"\xe2\x82":                  `\xe2\x82`,   // a cut-off sequence
		"a \ufffd b":                "a \ufffd b", // U+FFFD written out is text
		"tab-free \\x1b stays text": "tab-free \\x1b stays text",
	} {
		if got := String(in); got != want {
			t.Errorf("String(%q) = %q, want %q", in, got, want)
		}
	}
}

func FuzzString(f *testing.F) {
	f.Add("\x1b[2J\xff")
	f.Fuzz(func(t *testing.T, s string) {
		out := String(s)
		for i := 0; i < len(out); i++ {
			if c := out[i]; c < 0x20 || c == 0x7f {
				t.Fatalf("String(%q) = %q keeps control byte %#x", s, out, c)
			}
		}
		if safe(out) == false {
			t.Fatalf("String(%q) = %q is not safe", s, out)
		}
	})
}
