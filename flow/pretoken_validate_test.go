package flow

import (
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

// connectors.preTokenIssuance names known connectors, and none with onError: wait: a token is issued
// while a browser or an application waits for it.
func TestPreTokenIssuanceConnectors(t *testing.T) {
	yml := strings.Replace(minimalYAML, "postAttributeCollection: [k]", "postAttributeCollection: [k]\n      preTokenIssuance: [k]", 1)
	cfg, err := Parse([]byte(yml), noEnv)
	require.NoError(t, err)
	require.Equal(t, []string{"k"}, cfg.UserFlow("f").Connectors.PreTokenIssuance)

	_, err = Parse([]byte(strings.Replace(yml, "preTokenIssuance: [k]", "preTokenIssuance: [k, nope]", 1)), noEnv)
	require.ErrorContains(t, err, `userFlows[0].connectors.preTokenIssuance[1]: unknown connector id "nope"`)

	waiting := strings.Replace(yml, `url: "https://connector.example/api"}`, `url: "https://connector.example/api", onError: wait}`, 1)
	_, err = Parse([]byte(waiting), noEnv)
	require.ErrorContains(t, err, `userFlows[0].connectors.preTokenIssuance[0]: connector "k" has onError: wait`)
	// The same connector with onError: wait at a sign-up step only is fine.
	_, err = Parse([]byte(strings.Replace(waiting, "\n      preTokenIssuance: [k]", "", 1)), noEnv)
	require.NoError(t, err)
}
