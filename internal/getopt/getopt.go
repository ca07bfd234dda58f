// Package getopt parses command lines exactly as glibc's getopt_long does
// with a leading '+' in the option string (stop at the first operand), which
// is how util-linux tools read theirs. pflag cannot express what nsenter
// users type: optional arguments that take the rest of a short option's word
// ("-m/run/ns", "-mu" is --mount=u), long options abbreviated to any unique
// prefix ("--targ 42"), and option-looking words taken as required
// arguments ("-S -1").
package getopt

import (
	"fmt"
	"strconv"
	"strings"
)

// Arg says whether an option takes an argument.
type Arg int

const (
	NoArg       Arg = iota
	RequiredArg     // "-t 42", "-t42", "--target 42", "--target=42"
	OptionalArg     // "-m", "-mFILE", "--mount", "--mount=FILE"; never the next word
)

// Option is one option. Short is 0 for a long-only option. An Extension
// option is matched by abbreviation only when no ordinary option is, so that
// adding one never makes an abbreviation of an ordinary option ambiguous.
type Option struct {
	Short     byte
	Long      string
	Arg       Arg
	Extension bool
}

// Parsed is one option found on the command line.
type Parsed struct {
	Option *Option
	Value  string // the argument, if HasValue
	// HasValue distinguishes "--mount" from "--mount=".
	HasValue bool
}

// Error is a usage error, worded as glibc words it.
type Error struct{ Msg string }

func (e *Error) Error() string { return e.Msg }

func errorf(format string, args ...any) error { return &Error{Printable(fmt.Sprintf(format, args...))} }

// Printable escapes what is not printable in a command-line word (a
// newline, say), so that a message quoting it stays on one line.
func Printable(s string) string {
	if q := strconv.Quote(s); q[1:len(q)-1] != s {
		return q[1 : len(q)-1]
	}
	return s
}

// Parse reads args (without the program name) and returns the options in
// order and the operands: everything from the first word that is not an
// option, or after "--".
func Parse(args []string, options []Option) ([]Parsed, []string, error) {
	var parsed []Parsed
	i := 0
	for i < len(args) {
		word := args[i]
		switch {
		case word == "--":
			return parsed, args[i+1:], nil
		case strings.HasPrefix(word, "--"):
			p, used, err := parseLong(word[2:], args[i+1:], options)
			if err != nil {
				return nil, nil, err
			}
			parsed = append(parsed, p)
			i += 1 + used
		case len(word) > 1 && word[0] == '-':
			ps, used, err := parseShorts(word[1:], args[i+1:], options)
			if err != nil {
				return nil, nil, err
			}
			parsed = append(parsed, ps...)
			i += 1 + used
		default:
			return parsed, args[i:], nil
		}
	}
	return parsed, nil, nil
}

func parseLong(word string, next []string, options []Option) (Parsed, int, error) {
	name, value, hasValue := strings.Cut(word, "=")
	opt, err := matchLong(name, word, options)
	if err != nil {
		return Parsed{}, 0, err
	}
	switch opt.Arg {
	case NoArg:
		if hasValue {
			return Parsed{}, 0, errorf("option '--%s' doesn't allow an argument", opt.Long)
		}
	case RequiredArg:
		if !hasValue {
			if len(next) == 0 {
				return Parsed{}, 0, errorf("option '--%s' requires an argument", opt.Long)
			}
			return Parsed{opt, next[0], true}, 1, nil
		}
	}
	return Parsed{opt, value, hasValue}, 0, nil
}

// matchLong finds a long option by its name or a unique prefix of it.
// word is the whole word after "--", as glibc quotes it in its messages.
func matchLong(name, word string, options []Option) (*Option, error) {
	for i := range options {
		if options[i].Long != "" && options[i].Long == name {
			return &options[i], nil
		}
	}
	for _, extension := range []bool{false, true} {
		var found []*Option
		for i := range options {
			o := &options[i]
			if o.Long != "" && o.Extension == extension && strings.HasPrefix(o.Long, name) {
				found = append(found, o)
			}
		}
		switch {
		case len(found) == 1 && name != "":
			return found[0], nil
		case len(found) > 1 && name != "":
			var b strings.Builder
			fmt.Fprintf(&b, "option '--%s' is ambiguous; possibilities:", word)
			for _, o := range found {
				fmt.Fprintf(&b, " '--%s'", o.Long)
			}
			return nil, &Error{Printable(b.String())}
		}
	}
	return nil, errorf("unrecognized option '--%s'", word)
}

// parseShorts reads a word of clustered short options ("-aeF", "-t42").
func parseShorts(word string, next []string, options []Option) ([]Parsed, int, error) {
	var parsed []Parsed
	for j := 0; j < len(word); j++ {
		opt := matchShort(word[j], options)
		if opt == nil {
			return nil, 0, errorf("invalid option -- '%c'", word[j])
		}
		rest := word[j+1:]
		switch opt.Arg {
		case NoArg:
			parsed = append(parsed, Parsed{Option: opt})
			continue
		case OptionalArg:
			return append(parsed, Parsed{opt, rest, rest != ""}), 0, nil
		}
		if rest != "" {
			return append(parsed, Parsed{opt, rest, true}), 0, nil
		}
		if len(next) == 0 {
			return nil, 0, errorf("option requires an argument -- '%c'", opt.Short)
		}
		return append(parsed, Parsed{opt, next[0], true}), 1, nil
	}
	return parsed, 0, nil
}

func matchShort(c byte, options []Option) *Option {
	for i := range options {
		if options[i].Short != 0 && options[i].Short == c {
			return &options[i]
		}
	}
	return nil
}
