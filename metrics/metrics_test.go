package metrics

import (
	"context"
	"io"
	"net"
	"net/http"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

func TestNilMetricsRecordNothing(t *testing.T) {
	var m *Metrics
	m.HTTPRequest("GET", "/x", 200, time.Millisecond)
	m.ConnectorCall("k", "PostAttributeCollection", OutcomeContinue, time.Millisecond)
	m.CodeSent()
	m.CodeFailed("wrong")
	m.RateLimited("start_per_ip")
	m.ApprovalDecision("approve", time.Minute)
	m.RegisterPending(func(context.Context) (int64, error) { return 0, nil }, time.Second)
}

func TestServeAndPendingGaugeIsCached(t *testing.T) {
	m, err := New()
	require.NoError(t, err)
	var calls atomic.Int32
	count := func(context.Context) (int64, error) { calls.Add(1); return 7, nil }
	m.RegisterPending(count, time.Hour)
	m.RegisterPending(count, time.Hour) // a second registration is ignored, not a panic
	m.CodeSent()

	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	addr := ln.Addr().String()
	ln.Close()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- m.Serve(ctx, addr) }()
	var body string
	require.Eventually(t, func() bool {
		resp, err := http.Get("http://" + addr + "/metrics")
		if err != nil {
			return false
		}
		defer resp.Body.Close()
		raw, _ := io.ReadAll(resp.Body)
		body = string(raw)
		return resp.StatusCode == http.StatusOK
	}, 5*time.Second, 20*time.Millisecond)
	require.Contains(t, body, "signupflow_approvals_pending 7")
	require.Contains(t, body, "signupflow_codes_sent_total 1")
	_, err = http.Get("http://" + addr + "/metrics")
	require.NoError(t, err)
	require.Equal(t, int32(1), calls.Load(), "the count is cached between scrapes")
	cancel()
	require.NoError(t, <-done)
	require.False(t, strings.Contains(body, "otel_scope"), "no OpenTelemetry scope labels")
}
