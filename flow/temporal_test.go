package flow

import (
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

// temporal.stickyCacheSize: 128 unless set, and a cache too small to hold the worker's running
// workflow tasks is refused with its key.
func TestStickyCacheSize(t *testing.T) {
	cfg, err := Parse([]byte(minimalYAML), noEnv)
	require.NoError(t, err)
	require.Equal(t, 128, cfg.Temporal.StickyCacheSize)

	cfg, err = Parse([]byte("temporal: {stickyCacheSize: 500}\n"+minimalYAML), noEnv)
	require.NoError(t, err)
	require.Equal(t, 500, cfg.Temporal.StickyCacheSize)

	for _, bad := range []string{"5", "-1"} {
		_, err = Parse([]byte("temporal: {stickyCacheSize: "+bad+"}\n"+minimalYAML), noEnv)
		require.Error(t, err, bad)
		require.True(t, strings.Contains(err.Error(), "temporal.stickyCacheSize"), err.Error())
	}
}

// temporal.compression: none unless set, gzip when asked for, anything else refused with its key.
func TestTemporalCompression(t *testing.T) {
	cfg, err := Parse([]byte(minimalYAML), noEnv)
	require.NoError(t, err)
	require.Equal(t, CompressionNone, cfg.Temporal.Compression)

	cfg, err = Parse([]byte("temporal: {compression: gzip}\n"+minimalYAML), noEnv)
	require.NoError(t, err)
	require.Equal(t, CompressionGzip, cfg.Temporal.Compression)

	_, err = Parse([]byte("temporal: {compression: zstd}\n"+minimalYAML), noEnv)
	require.Error(t, err)
	require.Contains(t, err.Error(), "temporal.compression")
}
