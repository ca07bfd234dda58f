// Package printable makes text safe to print on the caller's terminal.
// Messages carry what comes from a container (its names, paths, spec
// fields, environment): a control character among them would be acted on
// by the terminal, an escape sequence could rewrite what the caller sees
// or, on some terminals, answer back into its input.
package printable

import (
	"fmt"
	"strings"
	"unicode/utf8"
)

// String returns s with every control character (C0, DEL and the C1
// range) and every byte that is not part of valid UTF-8 written as \xHH;
// everything else, other scripts included, is left as it is.
func String(s string) string {
	if safe(s) {
		return s
	}
	var b strings.Builder
	for i := 0; i < len(s); {
		r, size := utf8.DecodeRuneInString(s[i:])
		if r == utf8.RuneError && size <= 1 || control(r) {
			for _, c := range []byte(s[i : i+max(size, 1)]) {
				fmt.Fprintf(&b, `\x%02x`, c)
			}
		} else {
			b.WriteString(s[i : i+size])
		}
		i += max(size, 1)
	}
	return b.String()
}

// safe tells whether String would leave s as it is: by the same rule,
// where a U+FFFD written out in full is text, and only a byte that is not
// UTF-8 is not.
func safe(s string) bool {
	for i := 0; i < len(s); {
		r, size := utf8.DecodeRuneInString(s[i:])
		if r == utf8.RuneError && size <= 1 || control(r) {
			return false
		}
		i += size
	}
	return true
}

func control(r rune) bool {
	return r < 0x20 || r >= 0x7f && r < 0xa0
}
