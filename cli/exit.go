// Package cli holds what the signupflow command line does beyond wiring flags: today the
// `signupflow connector list|invoke` subcommands, which list a configuration file's connectors and call
// one of them without a sign-up. cmd/signupflow parses the flags, loads the file and calls in here.
package cli

import (
	"errors"
	"fmt"
)

// Exit codes of signupflow. A failure that is not a usage error exits ExitFailed.
const (
	ExitOK     = 0
	ExitFailed = 1 // the command failed; for `connector`, the connector failed or refused
	ExitUsage  = 2 // bad flags or arguments, or a configuration file that does not load
)

// ExitError ends the process with Code; Err, when set, is printed first.
type ExitError struct {
	Code int
	Err  error
}

// Error is Err's text, or the exit status when there is no Err.
func (e *ExitError) Error() string {
	if e.Err == nil {
		return fmt.Sprintf("exit status %d", e.Code)
	}
	return e.Err.Error()
}

// Unwrap returns Err.
func (e *ExitError) Unwrap() error { return e.Err }

// Usagef is an ExitUsage error with a formatted message.
func Usagef(format string, args ...any) error {
	return &ExitError{Code: ExitUsage, Err: fmt.Errorf(format, args...)}
}

// Usage makes err an ExitUsage error.
func Usage(err error) error {
	return &ExitError{Code: ExitUsage, Err: err}
}

// ExitCode is the exit code of a command that returned err: ExitOK for nil, the code of an *ExitError,
// ExitFailed for anything else.
func ExitCode(err error) int {
	var ee *ExitError
	switch {
	case err == nil:
		return ExitOK
	case errors.As(err, &ee):
		return ee.Code
	}
	return ExitFailed
}
