// Command orch is the CLI, the server and the client agent of the orch orchestrator.
package main

import (
	"os"

	"github.com/orch-io/orch/command"
)

func main() { os.Exit(command.Main(os.Args)) }
