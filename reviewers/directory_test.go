package reviewers

import (
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/signupflow/signupflow/flow"
)

const reviewersYAML = `
applications:
  - {clientId: app, name: App, userFlow: f}
userFlows:
  - id: f
    attributes:
      - {name: displayName, required: true}
reviewerGroups:
  - id: partners
    members:
      - {id: alice, email: alice@contoso.test, tokenEnv: ALICE_TOKEN}
      - {id: bob, email: bob@contoso.test, tokenEnv: BOB_TOKEN}
  - id: security
    members:
      - {id: carol, email: carol@contoso.test, tokenEnv: CAROL_TOKEN}
      - {id: alice, email: alice@contoso.test, tokenEnv: ALICE_TOKEN}
`

var tokens = map[string]string{
	"ALICE_TOKEN": "alice-token-0123456789",
	"BOB_TOKEN":   "bob-token-0123456789abc",
	"CAROL_TOKEN": "carol-token-0123456789",
}

func getenv(vars map[string]string) func(string) string {
	return func(k string) string { return vars[k] }
}

func testConfig(t *testing.T) *flow.Config {
	t.Helper()
	cfg, err := flow.Parse([]byte(reviewersYAML), getenv(nil))
	require.NoError(t, err)
	return cfg
}

func TestDirectoryMembers(t *testing.T) {
	d, err := NewDirectory(testConfig(t), getenv(tokens), true)
	require.NoError(t, err)

	require.Equal(t, []string{"partners", "security"}, d.Groups())

	partners := d.GroupMembers("partners")
	require.Equal(t, []Member{
		{ID: "alice", Email: "alice@contoso.test", Groups: []string{"partners", "security"}},
		{ID: "bob", Email: "bob@contoso.test", Groups: []string{"partners"}},
	}, partners)
	security := d.GroupMembers("security")
	require.Equal(t, []string{"carol", "alice"}, []string{security[0].ID, security[1].ID}, "config order")
	require.Nil(t, d.GroupMembers("nope"))

	alice, ok := d.Member("alice")
	require.True(t, ok)
	require.Equal(t, []string{"partners", "security"}, alice.Groups, "one member, every group")
	_, ok = d.Member("mallory")
	require.False(t, ok)

	// Results are copies: changing them changes nothing inside.
	partners[0].Groups[0] = "changed"
	partners[1].ID = "changed"
	alice.Groups[1] = "changed"
	d.Groups()[0] = "changed"
	require.Equal(t, "partners", d.GroupMembers("partners")[0].Groups[0])
	require.Equal(t, "bob", d.GroupMembers("partners")[1].ID)
	m, _ := d.Member("alice")
	require.Equal(t, []string{"partners", "security"}, m.Groups)
	require.Equal(t, []string{"partners", "security"}, d.Groups())
}

func TestDirectoryAuthenticate(t *testing.T) {
	d, err := NewDirectory(testConfig(t), getenv(tokens), true)
	require.NoError(t, err)

	for env, id := range map[string]string{"ALICE_TOKEN": "alice", "BOB_TOKEN": "bob", "CAROL_TOKEN": "carol"} {
		m, ok := d.Authenticate(tokens[env])
		require.True(t, ok, id)
		require.Equal(t, id, m.ID)
	}
	for _, bad := range []string{"", "wrong-token-0123456789", tokens["ALICE_TOKEN"] + "x",
		tokens["ALICE_TOKEN"][:len(tokens["ALICE_TOKEN"])-1], strings.ToUpper(tokens["BOB_TOKEN"])} {
		m, ok := d.Authenticate(bad)
		require.False(t, ok, bad)
		require.Nil(t, m)
	}
}

func TestDirectoryWithoutTokens(t *testing.T) {
	read := 0
	d, err := NewDirectory(testConfig(t), func(string) string { read++; return "" }, false)
	require.NoError(t, err)
	require.Zero(t, read, "the worker does not read tokens")
	require.Len(t, d.GroupMembers("partners"), 2)
	_, ok := d.Authenticate(tokens["ALICE_TOKEN"])
	require.False(t, ok, "no tokens, nobody authenticates")
}

func TestDirectoryTokenErrors(t *testing.T) {
	with := func(k, v string) map[string]string {
		m := map[string]string{}
		for kk, vv := range tokens {
			m[kk] = vv
		}
		m[k] = v
		return m
	}
	cases := map[string]struct {
		env  map[string]string
		want []string
	}{
		"missing":   {with("BOB_TOKEN", ""), []string{"BOB_TOKEN", `"bob"`, "not set"}},
		"short":     {with("CAROL_TOKEN", "short-token"), []string{"CAROL_TOKEN", `"carol"`, "shorter than 16"}},
		"duplicate": {with("CAROL_TOKEN", tokens["ALICE_TOKEN"]), []string{`"alice"`, `"carol"`, "same token"}},
	}
	for name, c := range cases {
		t.Run(name, func(t *testing.T) {
			d, err := NewDirectory(testConfig(t), getenv(c.env), true)
			require.Nil(t, d)
			require.Error(t, err)
			for _, w := range c.want {
				require.Contains(t, err.Error(), w)
			}
			for _, v := range c.env {
				if v == "" {
					continue
				}
				require.NotContains(t, err.Error(), v, "never the token value")
			}
		})
	}
	_, err := NewDirectory(nil, nil, false)
	require.Error(t, err)
}

func TestDirectoryEmpty(t *testing.T) {
	cfg, err := flow.Parse([]byte(strings.Split(reviewersYAML, "reviewerGroups:")[0]), getenv(nil))
	require.NoError(t, err)
	d, err := NewDirectory(cfg, nil, true)
	require.NoError(t, err)
	require.Empty(t, d.Groups())
	_, ok := d.Authenticate("anything-at-all-long")
	require.False(t, ok)
}

func TestTokenFingerprintChangesWithTheToken(t *testing.T) {
	d, err := NewDirectory(testConfig(t), getenv(tokens), true)
	require.NoError(t, err)
	again, err := NewDirectory(testConfig(t), getenv(tokens), true)
	require.NoError(t, err)
	fp := d.TokenFingerprint("alice")
	require.Len(t, fp, 24)
	require.Equal(t, fp, again.TokenFingerprint("alice"), "stable for the same token")
	require.NotEqual(t, fp, d.TokenFingerprint("bob"))
	require.NotContains(t, fp, tokens["ALICE_TOKEN"])

	rotated := map[string]string{}
	for k, v := range tokens {
		rotated[k] = v
	}
	rotated["ALICE_TOKEN"] = "a-brand-new-token-for-alice-0001"
	d2, err := NewDirectory(testConfig(t), getenv(rotated), true)
	require.NoError(t, err)
	require.NotEqual(t, fp, d2.TokenFingerprint("alice"), "a rotated token ends console sessions")
	require.Empty(t, d2.TokenFingerprint("nobody"))
	noTokens, err := NewDirectory(testConfig(t), getenv(tokens), false)
	require.NoError(t, err)
	require.Empty(t, noTokens.TokenFingerprint("alice"))
}
