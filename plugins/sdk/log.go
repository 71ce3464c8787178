package sdk

import (
	"io"
	"log/slog"
	"os"
	"strings"
)

// stderr is the process's real standard error, captured before Serve
// redirects os.Stderr into go-plugin's stdio stream: signupflow reads this
// one line by line and logs each line with the connector's id, at the
// level the line names.
var stderr io.Writer = os.Stderr

// hclogTime is the timestamp layout go-plugin's host expects in a JSON log
// line; a line it cannot parse is still logged, but at debug level.
const hclogTime = "2006-01-02T15:04:05.000000Z07:00"

// Logger returns a logger whose records signupflow logs with the
// connector's id and the record's level and attributes. Use it rather than
// fmt or the log package, whose lines signupflow can only log verbatim. Do
// not log e-mail addresses or secrets: the lines end up in signupflow's logs.
func Logger() *slog.Logger {
	return slog.New(slog.NewJSONHandler(stderr, &slog.HandlerOptions{
		Level:       slog.LevelDebug,
		ReplaceAttr: hclogAttr,
	}))
}

// hclogAttr renames slog's built-in keys to the ones go-plugin parses.
func hclogAttr(groups []string, a slog.Attr) slog.Attr {
	if len(groups) > 0 {
		return a
	}
	switch a.Key {
	case slog.TimeKey:
		return slog.String("@timestamp", a.Value.Time().Format(hclogTime))
	case slog.MessageKey:
		return slog.String("@message", a.Value.String())
	case slog.LevelKey:
		return slog.String("@level", hclogLevel(a.Value.Any()))
	}
	return a
}

func hclogLevel(v any) string {
	l, ok := v.(slog.Level)
	if !ok {
		return strings.ToLower(slog.AnyValue(v).String())
	}
	switch {
	case l < slog.LevelDebug:
		return "trace"
	case l < slog.LevelInfo:
		return "debug"
	case l < slog.LevelWarn:
		return "info"
	case l < slog.LevelError:
		return "warn"
	}
	return "error"
}
