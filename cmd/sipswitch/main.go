// Command sipswitch is the switch's single binary: the daemon (serve) and
// the operator's tools (render, route, costs import, user add, migrate).
// This package holds flags and wiring only.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"syscall"
)

// Exit codes of the CLI contract.
const (
	exitOK      = 0
	exitFailure = 1
	exitUsage   = 2
)

// errUsage marks a usage error: the command already printed why.
var errUsage = errors.New("usage error")

// errDrift is render --check finding a difference: exit 1, diff printed.
var errDrift = errors.New("rendered configuration differs")

type command struct {
	name    string
	summary string
	run     func(ctx context.Context, args []string, stdout, stderr io.Writer) error
}

func commands() []command {
	return []command{
		{"serve", "run the daemon: API, SIP core, renderer", runServe},
		{"render", "render Asterisk configuration from a database or switch file", runRender},
		{"route", "show how a number would be routed", runRoute},
		{"costs", "peer cost tables (costs import)", runCosts},
		{"calls", "call records (calls export, as CSV)", runCalls},
		{"user", "API users (user add)", runUser},
		{"import", "import peers and lines from Asterisk (import asterisk)", runImport},
		{"migrate", "apply database migrations", runMigrate},
		{"version", "print version information", runVersion},
	}
}

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := run(ctx, os.Args[1:], os.Stdout, os.Stderr)
	stop()
	os.Exit(code)
}

func run(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	if len(args) == 0 {
		usage(stderr)
		return exitUsage
	}
	switch args[0] {
	case "-h", "-help", "--help", "help":
		// Asked for: the answer, on standard output.
		usage(stdout)
		return exitOK
	case "-version", "--version":
		args = append([]string{"version"}, args[1:]...)
	}
	for _, c := range commands() {
		if c.name != args[0] {
			continue
		}
		// `sipswitch <command> -h` asks for the command's usage: it goes
		// to standard output and exits 0, whether the command is one of
		// flags (flag.ErrHelp) or of subcommands (which print their
		// usage and return errUsage).
		askedHelp := len(args) > 1 && isHelpFlag(args[1])
		errw := io.Writer(&cliStderr{Writer: stderr, stdout: stdout})
		if askedHelp {
			errw = &cliStderr{Writer: stdout, stdout: stdout}
		}
		err := c.run(ctx, args[1:], stdout, errw)
		switch {
		case err == nil:
			return exitOK
		case errors.Is(err, flag.ErrHelp), askedHelp && errors.Is(err, errUsage):
			return exitOK
		case errors.Is(err, errUsage):
			return exitUsage
		case errors.Is(err, errDrift):
			return exitFailure
		default:
			fmt.Fprintf(stderr, "sipswitch %s: %v\n", args[0], err)
			return exitFailure
		}
	}
	fmt.Fprintf(stderr, "sipswitch: unknown command %q\n\n", args[0])
	usage(stderr)
	return exitUsage
}

func isHelpFlag(arg string) bool { return arg == "-h" || arg == "-help" || arg == "--help" }

// cliStderr is the standard error a command writes to. It also carries
// standard output, where a flag set prints the usage a -h asked for
// (parseFlags): asked-for help is output, usage after a mistake is an
// error.
type cliStderr struct {
	io.Writer
	stdout io.Writer
}

// helpOutput is where a flag set writing to w prints asked-for usage.
func helpOutput(w io.Writer) io.Writer {
	if s, ok := w.(*cliStderr); ok {
		return s.stdout
	}
	return w
}

func usage(w io.Writer) {
	fmt.Fprintln(w, "usage: sipswitch <command> [flags]\n\ncommands:")
	for _, c := range commands() {
		fmt.Fprintf(w, "  %-8s %s\n", c.name, c.summary)
	}
	fmt.Fprintln(w, "\nRun 'sipswitch <command> -h' for a command's flags.")
}

// newFlags makes a flag set that reports errors to stderr and returns
// errUsage rather than exiting.
func newFlags(name string, stderr io.Writer) *flag.FlagSet {
	fs := flag.NewFlagSet("sipswitch "+name, flag.ContinueOnError)
	fs.SetOutput(stderr)
	return fs
}

// parseFlags parses and rejects stray arguments.
func parseFlags(fs *flag.FlagSet, args []string) error {
	if err := parseWithArgs(fs, args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		fmt.Fprintf(fs.Output(), "%s: unexpected argument %q\n", fs.Name(), fs.Arg(0))
		fs.Usage()
		return errUsage
	}
	return nil
}

// parseWithArgs parses flags and leaves the arguments after them to the
// caller. A -h prints the usage to standard output and returns
// flag.ErrHelp (exit 0); a mistake prints it to standard error and
// returns errUsage (exit 2).
func parseWithArgs(fs *flag.FlagSet, args []string) error {
	// Usage is printed here, once it is known where it goes.
	usage := fs.Usage
	fs.Usage = func() {}
	err := fs.Parse(args)
	fs.Usage = usage
	if errors.Is(err, flag.ErrHelp) {
		stderr := fs.Output()
		fs.SetOutput(helpOutput(stderr))
		fs.Usage()
		fs.SetOutput(stderr)
		return err
	}
	if err != nil {
		fs.Usage()
		return errUsage
	}
	return nil
}

// usageErr prints a message and returns errUsage.
func usageErr(fs *flag.FlagSet, format string, a ...any) error {
	fmt.Fprintf(fs.Output(), "%s: %s\n", fs.Name(), fmt.Sprintf(format, a...))
	fs.Usage()
	return errUsage
}
