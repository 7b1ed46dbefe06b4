package main

import "flag"

// usageError is a command line that cannot be run; its message says how to fix it.
// shown is set when the flag package has already printed it (with the usage) on
// stderr.
type usageError struct {
	msg   string
	shown bool
}

func (e *usageError) Error() string { return e.msg }

// parseInterleaved parses args with fs, flags before and after the other words,
// and returns the words in order. A parse error is a *usageError the flag package
// has already printed.
func parseInterleaved(fs *flag.FlagSet, args []string) ([]string, error) {
	var words []string
	for {
		if err := fs.Parse(args); err != nil {
			return words, &usageError{msg: err.Error(), shown: true}
		}
		if fs.NArg() == 0 {
			return words, nil
		}
		words = append(words, fs.Arg(0))
		args = fs.Args()[1:]
	}
}
