package connector

import (
	"bytes"
	"encoding/json"
	"fmt"
	"math"
	"sort"
)

// Request is what is sent to a connector.
type Request struct {
	Step       Step       // sent as "step"; must be one of the two steps
	ClientID   string     // sent as "client_id" when set
	UILocales  string     // sent as "ui_locales" when set
	Email      string     // always sent, even empty, as Entra does
	Identities []Identity // sent when non-empty
	// Claims maps already-serialised claim names (displayName,
	// extension_<appid>_CompanyName, ...) to string, integer or bool values.
	Claims map[string]any
}

// reservedMembers are written by Body itself; a claim of the same name would
// produce a duplicate JSON member, which parsers resolve differently.
var reservedMembers = map[string]bool{
	"email": true, "identities": true, "ui_locales": true, "step": true, "client_id": true,
}

// Body renders the flat JSON object of the contract: email always; identities
// when non-empty; each claim unless nil or "" (a claim with no value is not
// sent at all); ui_locales when set; step; client_id when set. Members come
// in that order, claims sorted by name, so equal requests give equal bytes.
// A claim named like one of the fixed members is ignored: the fixed member wins.
func (r *Request) Body() ([]byte, error) {
	if !r.Step.Valid() {
		return nil, fmt.Errorf("unknown step %q", r.Step)
	}
	w := &objectWriter{}
	w.member("email", r.Email)
	if len(r.Identities) > 0 {
		w.member("identities", r.Identities)
	}
	names := make([]string, 0, len(r.Claims))
	for name := range r.Claims {
		names = append(names, name)
	}
	sort.Strings(names)
	for _, name := range names {
		if reservedMembers[name] || name == "" {
			continue
		}
		v, send, err := claimValue(r.Claims[name])
		if err != nil {
			return nil, fmt.Errorf("claim %q: %w", name, err)
		}
		if send {
			w.member(name, v)
		}
	}
	if r.UILocales != "" {
		w.member("ui_locales", r.UILocales)
	}
	w.member("step", string(r.Step))
	if r.ClientID != "" {
		w.member("client_id", r.ClientID)
	}
	return w.finish()
}

// claimValue normalises a claim to what the contract allows (strings,
// integers, booleans) and reports whether it is sent at all.
func claimValue(v any) (any, bool, error) {
	switch x := v.(type) {
	case nil:
		return nil, false, nil
	case string:
		return x, x != "", nil
	case *string:
		if x == nil || *x == "" {
			return nil, false, nil
		}
		return *x, true, nil
	case bool, int, int8, int16, int32, int64, uint, uint8, uint16, uint32, uint64:
		// encoding/json renders every integer type as a JSON integer.
		return x, true, nil
	case json.Number:
		if x == "" {
			return nil, false, nil
		}
		return x, true, nil
	case float64:
		// An integral float (from a decoded response, say) must still go out
		// as an integer, never 1e+06; NaN and Inf have no JSON form at all.
		if math.IsNaN(x) || math.IsInf(x, 0) {
			return nil, false, fmt.Errorf("non-finite number")
		}
		if x == math.Trunc(x) && math.Abs(x) < 1<<53 {
			return int64(x), true, nil
		}
		return x, true, nil
	default:
		return nil, false, fmt.Errorf("unsupported type %T (want string, integer or bool)", v)
	}
}

// objectWriter emits a JSON object member by member, because a map would lose
// the member order that makes bodies readable and byte-stable.
type objectWriter struct {
	buf bytes.Buffer
	err error
}

func (w *objectWriter) member(name string, v any) {
	if w.err != nil {
		return
	}
	if w.buf.Len() == 0 {
		w.buf.WriteByte('{')
	} else {
		w.buf.WriteByte(',')
	}
	w.err = encodeTo(&w.buf, name)
	if w.err == nil {
		w.buf.WriteByte(':')
		w.err = encodeTo(&w.buf, v)
	}
}

func (w *objectWriter) finish() ([]byte, error) {
	if w.err != nil {
		return nil, w.err
	}
	w.buf.WriteByte('}')
	return w.buf.Bytes(), nil
}

// encodeTo writes v without HTML escaping: connectors see "&" in a company
// name as "&", exactly as Entra sends it, not "\u0026".
func encodeTo(buf *bytes.Buffer, v any) error {
	enc := json.NewEncoder(buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		return err
	}
	buf.Truncate(buf.Len() - 1) // Encode appends a newline
	return nil
}
