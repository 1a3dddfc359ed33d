package command

import (
	"fmt"
	"strings"

	"github.com/urfave/cli/v2"
)

// jobValidateCommand is `orch job validate`: parse and check a job file
// locally, without an agent.
func jobValidateCommand() *cli.Command {
	return &cli.Command{
		Name:      "validate",
		Usage:     "Check a job file for errors without running it",
		UsageText: "orch job validate [options] <path>",
		Description: `Parses the job file (HCL; JSON with -json), fills in the defaults and checks
every rule the servers check. Prints "Job validation successful", or every
problem with its position (file:line:col) or field, and exits 1.

Examples:
  orch job validate web.hcl
  orch job validate -var count=3 web.hcl`,
		Flags:  jobFileFlags(),
		Action: jobValidate,
	}
}

func jobValidate(c *cli.Context) error {
	if err := checkArgs(c, 1, 1, "one argument: the path of the job file"); err != nil {
		return err
	}
	job, err := readJobFile(c)
	if err != nil {
		return err
	}
	if err := validateJob(job); err != nil {
		return validationFailed(err)
	}
	fmt.Fprintln(stdout(c), "Job validation successful")
	return nil
}

// validationFailed is the error of a job that fails validateJob, printed as
// Nomad prints it: a heading and one bullet per problem.
func validationFailed(err error) error {
	//lint:ignore ST1005 the message is printed as is, with Nomad's capitalised heading.
	return fmt.Errorf("Job validation errors:\n%s", bulletLines(err.Error()))
}

// bulletLines makes each line of a multi-line error (errors.Join) a "  * " bullet.
func bulletLines(s string) string {
	lines := strings.Split(strings.TrimRight(s, "\n"), "\n")
	for i, l := range lines {
		lines[i] = "  * " + l
	}
	return strings.Join(lines, "\n")
}
