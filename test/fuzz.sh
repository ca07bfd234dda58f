#!/usr/bin/env bash
# fuzz.sh TARGET PACKAGE [TIME]: one fuzz target for a bounded time (make fuzz).
#
# A real finding always writes its input to PACKAGE/testdata/fuzz/TARGET/
# and fails. Go's fuzzing engine also fails now and then without any
# finding: at the -fuzztime boundary ("context deadline exceeded"), or with a
# worker it took for hung (golang/go#51484, #52569, #56238). A failure that
# wrote no input is run once more, and only a second one counts.
set -u
target=$1 pkg=$2 time=${3:-20s}
dir=$pkg/testdata/fuzz/$target
inputs() { ls "$dir" 2>/dev/null | sort; }
before=$(inputs)
for attempt in 1 2; do
	"${GO:-go}" test -run '^$' -fuzz "^$target\$" -fuzztime "$time" "$pkg" && exit 0
	if [ "$(inputs)" != "$before" ]; then
		echo "fuzz: $target found a failing input, in $dir (go test -run '$target/NAME' $pkg replays it)" >&2
		exit 1
	fi
	[ "$attempt" = 1 ] && echo "fuzz: $target failed without writing a failing input (the fuzzing engine's own flake): once more" >&2
done
exit 1
