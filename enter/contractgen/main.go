// Command contractgen writes enter/stage2/contract.h from enter/contract.go
// (go generate ./enter).
package main

import (
	"fmt"
	"os"

	"github.com/cnsenter/cnsenter/enter"
)

func main() {
	if err := os.WriteFile("stage2/contract.h", []byte(enter.ContractHeader()), 0o644); err != nil {
		fmt.Fprintln(os.Stderr, "contractgen:", err)
		os.Exit(1)
	}
}
