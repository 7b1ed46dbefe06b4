package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
)

// usageError is a command line that cannot be run; its message says how to fix it.
// shown is set when the flag package has already printed it (with the usage) on
// stderr.
type usageError struct {
	msg   string
	shown bool
	help  bool // -h or --help: the flags were asked for, and printed
}

func (e *usageError) Error() string { return e.msg }

// parseInterleaved parses args with fs, flags before and after the other words,
// and returns the words in order. A parse error is a *usageError the flag package
// has already printed.
func parseInterleaved(fs *flag.FlagSet, args []string) ([]string, error) {
	var words []string
	for {
		if err := fs.Parse(args); err != nil {
			return words, &usageError{msg: err.Error(), shown: true, help: errors.Is(err, flag.ErrHelp)}
		}
		if fs.NArg() == 0 {
			return words, nil
		}
		words = append(words, fs.Arg(0))
		args = fs.Args()[1:]
	}
}

// wantsJSON reports whether args ask for --json, even when they fail to parse, so
// that a usage error still reaches a script as JSON.
func wantsJSON(args []string) bool {
	for _, a := range args {
		switch a {
		case "--json", "-json", "--json=true", "-json=true":
			return true
		case "--":
			return false
		}
	}
	return false
}

// printUsageError reports a command line that cannot be run: one JSON object on
// stdout with --json, a line on stderr otherwise (exit 2). Help asked for with -h
// (and printed) is exit 0.
func printUsageError(stdout, stderr io.Writer, asJSON bool, cmd string, err *usageError) error {
	if err.help && !asJSON {
		return exitError{exitOK}
	}
	if asJSON {
		_ = printJSON(stdout, identity, map[string]errorJSON{"error": {Code: "usage", Message: err.msg}}, exitOK)
	} else if !err.shown {
		fmt.Fprintf(stderr, "tracebot %s: %s\n", cmd, err.msg)
	}
	return exitError{exitUsage}
}

// parseFlagsOnly parses args with fs for a command that takes flags and no words:
// a word left over is a usage error (exit 2); -h prints the flags, exit 0.
func parseFlagsOnly(fs *flag.FlagSet, args []string, stderr io.Writer) error {
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return exitError{exitOK}
		}
		return exitError{exitUsage}
	}
	if fs.NArg() > 0 {
		fmt.Fprintf(stderr, "tracebot %s: unexpected arguments %q\n", fs.Name(), fs.Args())
		return exitError{exitUsage}
	}
	return nil
}
