// Package command is orch's command line: one file per command, built on urfave/cli/v2.
//
// Commands talk to an agent's HTTP API through package api. Results go to
// stdout, errors to stderr. Exit codes: 0 success, 1 error, 2 usage error
// (wrong arguments or flags); `job run` and `job stop` also exit 2 when the
// scheduler could not place every allocation, as Nomad does.
package command

import (
	"errors"
	"fmt"
	"io"
	"os"
	"strings"

	"github.com/urfave/cli/v2"
)

// Version is stamped at build time (-ldflags -X).
var Version = "dev"

// Exit codes.
const (
	exitOK    = 0
	exitError = 1
	exitUsage = 2
)

// Main runs the CLI and returns the process exit code.
func Main(args []string) int {
	return run(args, os.Stdout, os.Stderr)
}

// run is Main with its output streams, so tests can run commands in process.
func run(args []string, stdout, stderr io.Writer) int {
	app := newApp(stdout, stderr)
	return exitCodeOf(app.Run(args), stderr)
}

// newApp builds the command tree writing to stdout and stderr.
func newApp(stdout, stderr io.Writer) *cli.App {
	app := &cli.App{
		Name:        "orch",
		HelpName:    "orch", // not os.Args[0], which differs in tests
		Usage:       "an open workload orchestrator",
		UsageText:   "orch [-h] <command> [<subcommand>] [options] [args]",
		Version:     Version,
		HideVersion: true, // `orch version` instead of a global flag
		Writer:      stdout,
		ErrWriter:   stderr,
		// Errors are printed by exitCodeOf; never let urfave/cli exit the process.
		ExitErrHandler:            func(*cli.Context, error) {},
		OnUsageError:              onUsageError,
		DisableSliceFlagSeparator: true, // -var 'list=a,b' is one variable
		Action:                    rootAction,
		Commands: []*cli.Command{
			agentCommand(),
			jobCommand(),
			statusCommand(),
			deploymentCommand(),
			allocCommand(),
			evalCommand(),
			serviceCommand(),
			nodeCommand(),
			serverCommand(),
			versionCommand(),
			operatorCommand(),
			systemCommand(),
			supervisorCommand(),
			aclCommand(),
			tlsCommand(),
			namespaceCommand(),
			monitorCommand(),
		},
	}
	prepareCommands(app.Commands)
	return app
}

// prepareCommands gives every command the same handling of usage errors, and
// every command group an action that rejects unknown subcommands.
func prepareCommands(cmds []*cli.Command) {
	for _, c := range cmds {
		if c.OnUsageError == nil {
			c.OnUsageError = onUsageError
		}
		if len(c.Subcommands) > 0 && c.Action == nil {
			c.Action = parentAction
		}
		addAgentFlags(c)
		prepareCommands(c.Subcommands)
	}
}

// rootAction runs for `orch` given no known command. Without arguments it
// prints the usage on stderr and exits 1, as Nomad does: a script that runs
// `orch` with an empty command line has made a mistake.
func rootAction(c *cli.Context) error {
	if c.Args().Present() {
		return unknownCommand(c, c.App.Commands)
	}
	return helpOnStderr(c, cli.ShowAppHelp)
}

// parentAction runs for a command group given no known subcommand: its help
// on stderr and exit 1 when it got no arguments, a usage error when it got an
// unknown one.
func parentAction(c *cli.Context) error {
	if c.Args().Present() {
		return unknownCommand(c, c.Command.Subcommands)
	}
	return helpOnStderr(c, cli.ShowSubcommandHelp)
}

// helpOnStderr prints a help text on stderr instead of stdout and ends the
// command with exit code 1.
func helpOnStderr(c *cli.Context, show func(*cli.Context) error) error {
	out := c.App.Writer
	c.App.Writer = c.App.ErrWriter
	defer func() { c.App.Writer = out }()
	if err := show(c); err != nil {
		return err
	}
	return exitStatus(exitError)
}

// unknownCommand is the usage error for a first argument that names none of
// cmds, suggesting the nearest name when one is close enough.
func unknownCommand(c *cli.Context, cmds []*cli.Command) error {
	name := c.Args().First()
	if s := suggestCommand(cmds, name); s != "" {
		return usageErrorf(c, "unknown command %q: did you mean %q?", name, s)
	}
	return usageErrorf(c, "unknown command %q", name)
}

// suggestCommand returns the visible command name nearest to typed, or ""
// when none is near: within an edit distance of a third of the longer name
// (at least 1), or a name that typed is a prefix of.
func suggestCommand(cmds []*cli.Command, typed string) string {
	best, bestDist := "", -1
	for _, cmd := range cmds {
		if cmd.Hidden {
			continue
		}
		for _, name := range cmd.Names() {
			d := editDistance(typed, name)
			if strings.HasPrefix(name, typed) && typed != "" {
				d = 0
			}
			if d > max(1, max(len(name), len(typed))/3) {
				continue
			}
			if bestDist < 0 || d < bestDist {
				best, bestDist = name, d
			}
		}
	}
	return best
}

// editDistance is the optimal string alignment distance of a and b in bytes
// (command names are ASCII): insertions, deletions, substitutions and
// transpositions of neighbours ("jbo" is one step from "job").
func editDistance(a, b string) int {
	d := make([][]int, len(a)+1)
	for i := range d {
		d[i] = make([]int, len(b)+1)
		d[i][0] = i
	}
	for j := range d[0] {
		d[0][j] = j
	}
	for i := 1; i <= len(a); i++ {
		for j := 1; j <= len(b); j++ {
			cost := 1
			if a[i-1] == b[j-1] {
				cost = 0
			}
			d[i][j] = min(d[i-1][j]+1, d[i][j-1]+1, d[i-1][j-1]+cost)
			if i > 1 && j > 1 && a[i-1] == b[j-2] && a[i-2] == b[j-1] {
				d[i][j] = min(d[i][j], d[i-2][j-2]+1)
			}
		}
	}
	return d[len(a)][len(b)]
}

// usageError is a mistake in how a command was called: exit code 2, with the
// command's usage line.
type usageError struct {
	msg   string
	usage string // the usage line
	help  string // the command to run for help
}

func (e *usageError) Error() string { return e.msg }

// usageErrorf returns a usage error of the command c is running.
func usageErrorf(c *cli.Context, format string, args ...any) error {
	e := &usageError{msg: fmt.Sprintf(format, args...)}
	if cmd := c.Command; cmd != nil {
		name := cmd.HelpName
		if name == "" {
			name = c.App.Name
		}
		e.usage = name + " [options]"
		if cmd.UsageText != "" {
			e.usage, _, _ = strings.Cut(cmd.UsageText, "\n")
		}
		e.help = name + " -h"
	} else {
		e.usage = c.App.UsageText
		e.help = c.App.Name + " -h"
	}
	return e
}

// onUsageError turns a flag parsing error into a usage error.
func onUsageError(c *cli.Context, err error, _ bool) error {
	return usageErrorf(c, "%v", err)
}

// exitStatus ends a command with a code and no message of its own (the
// command has already said everything).
type exitStatus int

func (e exitStatus) Error() string { return fmt.Sprintf("exit status %d", int(e)) }

// exitCodeOf prints err (if any) to stderr and returns the exit code.
func exitCodeOf(err error, stderr io.Writer) int {
	if err == nil {
		return exitOK
	}
	var ue *usageError
	var es exitStatus
	var coder cli.ExitCoder
	switch {
	case errors.As(err, &ue):
		fmt.Fprintf(stderr, "Error: %s\n\nUsage: %s\nRun \"%s\" for help.\n", ue.msg, ue.usage, ue.help)
		return exitUsage
	case errors.As(err, &es):
		return int(es)
	case errors.As(err, &coder):
		if msg := err.Error(); msg != "" {
			fmt.Fprintln(stderr, msg)
		}
		return coder.ExitCode()
	}
	// Commands word their errors "Error doing X: why" where the context
	// helps; bare ones get the prefix here.
	msg := err.Error()
	if !strings.HasPrefix(msg, "Error") {
		msg = "Error: " + msg
	}
	fmt.Fprintln(stderr, msg)
	return exitError
}
