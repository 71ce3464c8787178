package flow

import (
	"testing"

	"github.com/stretchr/testify/require"
)

func TestParseObservability(t *testing.T) {
	cfg, err := Parse([]byte(minimalYAML), noEnv)
	require.NoError(t, err)
	require.Empty(t, cfg.Server.MetricsListen, "no metrics port unless asked")
	require.Empty(t, cfg.Tracing.OTLPEndpoint, "tracing off by default")
	require.Nil(t, cfg.Tracing.SampleRatio)

	yml := minimalYAML + "server: {metricsListen: \":9464\"}\ntracing: {otlpEndpoint: \"collector:4317\", sampleRatio: 0.25}\n"
	cfg, err = Parse([]byte(yml), noEnv)
	require.NoError(t, err)
	require.Equal(t, ":9464", cfg.Server.MetricsListen)
	require.Equal(t, "collector:4317", cfg.Tracing.OTLPEndpoint)
	require.Equal(t, 0.25, *cfg.Tracing.SampleRatio)

	cfg, err = Parse([]byte(minimalYAML), env(map[string]string{"SIGNUPFLOW_METRICS_LISTEN": " :9100 "}))
	require.NoError(t, err)
	require.Equal(t, ":9100", cfg.Server.MetricsListen)

	_, err = Parse([]byte(minimalYAML+"tracing: {sampleRatio: 1.5}\n"), noEnv)
	require.ErrorContains(t, err, "tracing.sampleRatio")
}
