// Package testplugins holds the connectors behind the test plugin binaries
// (one main package each, below): the well-behaved and the badly-behaved
// plugins the host is tested against. They live in a package so that
// benchmarks can call the same connector in-process.
package testplugins

import (
	"context"
	"errors"
	"fmt"
	"os"
	"strconv"

	"github.com/signupflow/signupflow/plugins/sdk"
)

// EnvPIDs names a file each test plugin appends its PID to when it starts,
// so a test can count the processes a host started and check they are gone.
const EnvPIDs = "TESTPLUGIN_PIDS"

// EnvCrashMarker names the file Crash uses to know its first call.
const EnvCrashMarker = "TESTPLUGIN_CRASH_MARKER"

// Main records the PID and serves c.
func Main(c sdk.Connector) {
	RecordPID()
	sdk.Serve(c)
}

// RecordPID appends the PID to the file named in EnvPIDs, if set.
func RecordPID() {
	if path := os.Getenv(EnvPIDs); path != "" {
		f, err := os.OpenFile(path, os.O_APPEND|os.O_CREATE|os.O_WRONLY, 0o600)
		if err != nil {
			panic(err)
		}
		fmt.Fprintln(f, os.Getpid())
		f.Close()
	}
}

func pid() int64 { return int64(os.Getpid()) }

// Echo answers Continue with the request's claims, what it saw of the
// request's fields, its PID, the configured greeting and the value of the
// environment variable named by reportEnv.
type Echo struct{ greeting, reportEnv string }

// Describe declares the optional keys.
func (e *Echo) Describe() sdk.Info {
	return sdk.Info{Name: "echo", Version: "0.0.1", Config: []sdk.ConfigKey{
		{Name: "greeting", Type: sdk.ConfigString, Description: "added to every answer"},
		{Name: "reportEnv", Type: sdk.ConfigString, Description: "an environment variable to report"},
	}}
}

// Configure keeps the keys and logs that it was configured.
func (e *Echo) Configure(cfg map[string]any) error {
	e.greeting, _ = cfg["greeting"].(string)
	e.reportEnv, _ = cfg["reportEnv"].(string)
	sdk.Logger().Warn("echo configured", "greeting", e.greeting)
	return nil
}

// Invoke echoes.
func (e *Echo) Invoke(_ context.Context, req *sdk.Request) (*sdk.Response, error) {
	claims := make(map[string]any, len(req.Claims)+6)
	for k, v := range req.Claims {
		claims[k] = v
	}
	claims["pid"] = pid()
	claims["seenEmail"] = req.Email
	claims["seenSignupId"] = req.SignupID
	claims["seenClientId"] = req.ClientID
	claims["seenUiLocales"] = req.UILocales
	claims["seenIdentities"] = int64(len(req.Identities))
	if e.greeting != "" {
		claims["greeting"] = e.greeting
	}
	if e.reportEnv != "" {
		v, set := os.LookupEnv(e.reportEnv)
		claims["env"], claims["envSet"] = v, set
	}
	return sdk.Continue(claims), nil
}

// Crash exits in the middle of its first call ever (across restarts,
// remembered by the file named in EnvCrashMarker), and answers Continue
// with its PID afterwards.
type Crash struct{ sdk.NoConfig }

// Describe names it.
func (Crash) Describe() sdk.Info { return sdk.Info{Name: "crash", Version: "0.0.1"} }

// Invoke crashes once.
func (Crash) Invoke(context.Context, *sdk.Request) (*sdk.Response, error) {
	marker := os.Getenv(EnvCrashMarker)
	if marker == "" {
		return nil, errors.New(EnvCrashMarker + " is not set")
	}
	if _, err := os.Stat(marker); errors.Is(err, os.ErrNotExist) {
		if err := os.WriteFile(marker, []byte(strconv.Itoa(os.Getpid())), 0o600); err != nil {
			return nil, err
		}
		os.Exit(3)
	}
	return sdk.Continue(map[string]any{"pid": pid()}), nil
}

// Hang never answers a call whose claim "hang" is true, ignoring its
// context as a stuck plugin would; other calls get Continue with its PID.
// It runs at PostAttributeCollection only.
type Hang struct{ sdk.NoConfig }

// Describe declares the one step.
func (Hang) Describe() sdk.Info {
	return sdk.Info{Name: "hang", Version: "0.0.1", Steps: []sdk.Step{sdk.StepPostAttributeCollection}}
}

// Invoke hangs on request.
func (Hang) Invoke(_ context.Context, req *sdk.Request) (*sdk.Response, error) {
	if req.Claims["hang"] == true {
		select {}
	}
	return sdk.Continue(map[string]any{"pid": pid()}), nil
}

// Contract answers what the claim "answer" asks for, most of it breaking
// the contract.
type Contract struct{ sdk.NoConfig }

// Describe names it.
func (Contract) Describe() sdk.Info { return sdk.Info{Name: "contract", Version: "0.0.1"} }

// Invoke misbehaves on request.
func (Contract) Invoke(_ context.Context, req *sdk.Request) (*sdk.Response, error) {
	switch req.Claims["answer"] {
	case "block-without-message":
		return &sdk.Response{Action: sdk.ActionShowBlockPage}, nil
	case "validation-error":
		return sdk.ValidationError("Please fix the form."), nil
	case "validation-error-without-message":
		return sdk.ValidationError("  "), nil
	case "unknown-action":
		return &sdk.Response{Action: "Maybe"}, nil
	case "lowercase-action":
		return &sdk.Response{Action: "continue"}, nil
	case "fail":
		return nil, errors.New("backend down")
	case "nil":
		return nil, nil
	case "panic":
		panic("boom")
	}
	return sdk.Continue(map[string]any{"pid": pid()}), nil
}
