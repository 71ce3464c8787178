package reviewers

import (
	"crypto/sha256"
	"crypto/subtle"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"slices"
	"unicode/utf8"

	"github.com/signupflow/signupflow/flow"
)

// MinTokenLength is the shortest reviewer API token NewDirectory accepts.
const MinTokenLength = 16

// Member is a reviewer as the directory knows them: one entry per person, with every group they are
// listed in, in configuration order.
type Member struct {
	ID     string
	Email  string
	Groups []string
}

func (m Member) clone() Member {
	m.Groups = slices.Clone(m.Groups)
	return m
}

type tokenEntry struct {
	hash [sha256.Size]byte
	idx  int // into Directory.members
}

// Directory is the set of reviewers and groups of one configuration. It is immutable, so it is safe
// for concurrent use; build a new one when the configuration changes.
type Directory struct {
	members []Member       // in order of first appearance
	byID    map[string]int // member id -> index
	groups  []string       // group ids in configuration order
	inGroup map[string][]int
	tokens  []tokenEntry // only when built withTokens
}

// NewDirectory builds the directory from the configuration. With withTokens (the API process, which
// authenticates reviewers) every reviewer's tokenEnv must hold a token of at least MinTokenLength
// characters and no two reviewers may share a token; errors name the variable and the reviewer,
// never the value. Without it (the worker, which only mails reviewers) tokens are not read.
// getenv nil means os.Getenv.
func NewDirectory(cfg *flow.Config, getenv func(string) string, withTokens bool) (*Directory, error) {
	if cfg == nil {
		return nil, errors.New("approval: no configuration")
	}
	if getenv == nil {
		getenv = os.Getenv
	}
	d := &Directory{byID: map[string]int{}, inGroup: map[string][]int{}}
	tokenOwner := map[[sha256.Size]byte]string{}
	var errs []error
	for _, g := range cfg.ReviewerGroups {
		if _, dup := d.inGroup[g.ID]; dup {
			errs = append(errs, fmt.Errorf("reviewer group %q is declared twice", g.ID))
			continue
		}
		d.groups = append(d.groups, g.ID)
		idxs := []int{}
		for _, r := range g.Members {
			i, seen := d.byID[r.ID]
			if seen {
				m := &d.members[i]
				if m.Email != r.Email {
					errs = append(errs, fmt.Errorf("reviewer %q is declared with different e-mail addresses", r.ID))
				}
				if !slices.Contains(m.Groups, g.ID) {
					m.Groups = append(m.Groups, g.ID)
					idxs = append(idxs, i)
				}
				continue
			}
			i = len(d.members)
			d.members = append(d.members, Member{ID: r.ID, Email: r.Email, Groups: []string{g.ID}})
			d.byID[r.ID] = i
			idxs = append(idxs, i)
			if !withTokens {
				continue
			}
			tok := getenv(r.TokenEnv)
			switch {
			case tok == "":
				errs = append(errs, fmt.Errorf("reviewer %q: environment variable %s (tokenEnv) is not set", r.ID, r.TokenEnv))
				continue
			case utf8.RuneCountInString(tok) < MinTokenLength:
				errs = append(errs, fmt.Errorf("reviewer %q: the token in %s is shorter than %d characters", r.ID, r.TokenEnv, MinTokenLength))
				continue
			}
			h := sha256.Sum256([]byte(tok))
			if owner, ok := tokenOwner[h]; ok {
				errs = append(errs, fmt.Errorf("reviewers %q and %q have the same token (%s); every reviewer needs their own", owner, r.ID, r.TokenEnv))
				continue
			}
			tokenOwner[h] = r.ID
			d.tokens = append(d.tokens, tokenEntry{hash: h, idx: i})
		}
		d.inGroup[g.ID] = idxs
	}
	if err := errors.Join(errs...); err != nil {
		return nil, fmt.Errorf("approval: reviewers: %w", err)
	}
	return d, nil
}

// Authenticate finds the reviewer whose token this is. It hashes the presented token and compares the
// hash with every reviewer's in constant time, without stopping at a match, so the time taken says
// nothing about which token (or how much of one) matched. An empty token never matches.
func (d *Directory) Authenticate(token string) (*Member, bool) {
	if d == nil || token == "" {
		return nil, false
	}
	h := sha256.Sum256([]byte(token))
	found := -1
	for _, e := range d.tokens {
		eq := subtle.ConstantTimeCompare(h[:], e.hash[:])
		found = subtle.ConstantTimeSelect(eq, e.idx, found)
	}
	if found < 0 {
		return nil, false
	}
	m := d.members[found].clone()
	return &m, true
}

// TokenFingerprint is a short digest of the reviewer's current token (not the token, nor its plain
// hash), so that a browser session opened with a token ends when the token is rotated. Empty without
// tokens or for an unknown reviewer.
func (d *Directory) TokenFingerprint(id string) string {
	if d == nil {
		return ""
	}
	i, ok := d.byID[id]
	if !ok {
		return ""
	}
	for _, e := range d.tokens {
		if e.idx == i {
			f := sha256.Sum256(append([]byte("signupflow console session\x00"), e.hash[:]...))
			return hex.EncodeToString(f[:12])
		}
	}
	return ""
}

// Member returns the reviewer with the id (a copy).
func (d *Directory) Member(id string) (*Member, bool) {
	if d == nil {
		return nil, false
	}
	i, ok := d.byID[id]
	if !ok {
		return nil, false
	}
	m := d.members[i].clone()
	return &m, true
}

// GroupMembers returns a copy of the group's members in configuration order, or nil for an unknown
// group.
func (d *Directory) GroupMembers(group string) []Member {
	if d == nil {
		return nil
	}
	idxs, ok := d.inGroup[group]
	if !ok {
		return nil
	}
	out := make([]Member, 0, len(idxs))
	for _, i := range idxs {
		out = append(out, d.members[i].clone())
	}
	return out
}

// Groups returns every group id in configuration order.
func (d *Directory) Groups() []string {
	if d == nil {
		return nil
	}
	return slices.Clone(d.groups)
}
