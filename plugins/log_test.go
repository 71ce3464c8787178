package plugins

import (
	"log/slog"
	"sync"
	"testing"

	"github.com/hashicorp/go-hclog"
)

func newRecorder() recorder { return recorder{mu: &sync.Mutex{}, recs: &[]record{}} }

func TestHCLoggerForwardsToSlog(t *testing.T) {
	rec := newRecorder()
	var l hclog.Logger = newHCLogger(slog.New(rec).With("connector", "c1"))
	l = l.Named("plugin").Named("echo").With("pid", 7)
	l.Warn("hello", "k", "v", "timestamp", "2020-01-01", "fmt", hclog.Fmt("%d-%s", 1, "x"))
	l.Trace("deep")
	got, ok := rec.find(func(r record) bool { return r.msg == "hello" })
	if !ok {
		t.Fatal("no record")
	}
	want := map[string]string{"connector": "c1", "logger": "plugin.echo", "pid": "7", "k": "v", "fmt": "1-x"}
	for k, v := range want {
		if got.attrs[k] != v {
			t.Errorf("attr %s = %q, want %q (all: %v)", k, got.attrs[k], v, got.attrs)
		}
	}
	if _, dup := got.attrs["timestamp"]; dup || got.level != slog.LevelWarn {
		t.Errorf("record %+v: want level WARN and no plugin timestamp", got)
	}
	if tr, ok := rec.find(func(r record) bool { return r.msg == "deep" }); !ok || tr.level != slog.LevelDebug-4 {
		t.Errorf("trace record %+v", tr)
	}
}

func TestHCLoggerLevelFollowsTheHandler(t *testing.T) {
	l := newHCLogger(slog.New(slog.NewTextHandler(nil, &slog.HandlerOptions{Level: slog.LevelWarn})))
	if l.GetLevel() != hclog.Warn || l.IsInfo() || !l.IsError() {
		t.Fatalf("level %v", l.GetLevel())
	}
}

func TestLineWriterLogsWholeLines(t *testing.T) {
	rec := newRecorder()
	w := &lineWriter{l: slog.New(rec), level: slog.LevelInfo, attrs: []any{"stream", "stderr"}}
	for _, chunk := range []string{"one\ntw", "o\r\n", "\n", "three"} {
		if _, err := w.Write([]byte(chunk)); err != nil {
			t.Fatal(err)
		}
	}
	var msgs []string
	for _, r := range *rec.recs {
		msgs = append(msgs, r.msg)
		if r.attrs["stream"] != "stderr" {
			t.Errorf("record %+v lacks stream", r)
		}
	}
	if len(msgs) != 2 || msgs[0] != "one" || msgs[1] != "two" {
		t.Fatalf("lines %q, want one, two (three waits for its newline)", msgs)
	}
}
