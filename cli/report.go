package cli

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"slices"
	"sort"

	"github.com/signupflow/signupflow/connector"
	"github.com/signupflow/signupflow/flow"
	"github.com/signupflow/signupflow/workflows"
)

// reportError says what a sign-up does after the connector failed: retry, then onError.
func reportError(out io.Writer, k *flow.Connector, err error) {
	fmt.Fprintf(out, "error      %v\n", err)
	var ce *connector.Error
	if !errors.As(err, &ce) {
		ce = &connector.Error{Kind: connector.KindNetwork}
	}
	fmt.Fprintf(out, "kind       %s\n", ce.Kind)
	switch {
	case !ce.Retryable():
		fmt.Fprintf(out, "retried    no: a %s error is the same on every attempt\n", ce.Kind)
	case *k.Retries == 0:
		fmt.Fprintf(out, "retried    no: it is retryable, but the connector has retries: 0\n")
	default:
		fmt.Fprintf(out, "retried    yes: a sign-up makes up to %d more attempt(s) (retries: %d), 0.5 s after the first, then twice as long each time\n",
			*k.Retries, *k.Retries)
	}
	when := ""
	if ce.Retryable() && *k.Retries > 0 {
		when = "if the retries fail too, "
	}
	if k.OnError == flow.OnErrorContinue {
		fmt.Fprintf(out, "decision   onError continue: %sthe sign-up skips this connector and goes on with the values it has\n", when)
	} else {
		fmt.Fprintf(out, "decision   onError block: %sthe sign-up ends Blocked and the applicant sees %q\n", when, workflows.MsgConnectorFailed)
	}
}

// reportDecision says what a sign-up does with the connector's answer.
func reportDecision(out io.Writer, cfg *flow.Config, id string, step connector.Step, res *connector.Response) {
	switch res.Action {
	case connector.ActionShowBlockPage:
		fmt.Fprintf(out, "decision   ShowBlockPage: the sign-up ends Blocked and the applicant sees %q\n", res.UserMessage)
	case connector.ActionValidationError:
		fmt.Fprintf(out, "decision   ValidationError: the applicant stays on the form and sees %q\n", res.UserMessage)
	case connector.ActionContinue:
		what := "the kept claims overwrite the collected values"
		if step == connector.StepPostFederationSignup {
			what = "the kept claims prefill the form"
		}
		fmt.Fprintf(out, "decision   Continue: the sign-up goes on; %s\n", what)
		reportClaims(out, cfg, id, step, res.Claims)
	}
	if res.Code != "" {
		fmt.Fprintf(out, "code       %s (logged, never shown to the applicant)\n", res.Code)
	}
}

// reportClaims shows, for each user flow that calls the connector at step, which claims of a Continue
// it keeps (mapped onto its attributes) and which it ignores.
func reportClaims(out io.Writer, cfg *flow.Config, id string, step connector.Step, claims map[string]any) {
	found := false
	for _, f := range cfg.UserFlows {
		ids := f.Connectors.PostAttributeCollection
		if step == connector.StepPostFederationSignup {
			ids = f.Connectors.PostFederationSignup
		}
		i := slices.Index(ids, id)
		if i < 0 {
			continue
		}
		found = true
		next := "then the next step of the sign-up"
		if i+1 < len(ids) {
			next = "then " + ids[i+1] + " is called with the values"
		}
		fmt.Fprintf(out, "  flow %s (connector %d of %d at this step; %s)\n", f.ID, i+1, len(ids), next)
		snap := &flow.Snapshot{Attributes: f.Attributes, ExtensionsAppID: cfg.ExtensionsAppID}
		reportKept(out, snap, claims)
	}
	if !found {
		fmt.Fprintf(out, "  no user flow calls %s at %s, so no claims would be kept\n", id, step)
	}
}

// reportKept lists the claims a flow keeps and those it ignores.
func reportKept(out io.Writer, snap *flow.Snapshot, claims map[string]any) {
	kept, ignored := snap.FromClaims(claims)
	if len(kept) == 0 && len(ignored) == 0 {
		fmt.Fprintf(out, "    no claims: the values stay as they are\n")
		return
	}
	names := make([]string, 0, len(kept))
	for name := range kept {
		names = append(names, name)
	}
	sort.Strings(names)
	for _, name := range names {
		v, _ := json.Marshal(kept[name])
		fmt.Fprintf(out, "    keeps    %s = %s\n", name, v)
	}
	sort.Strings(ignored)
	for _, name := range ignored {
		fmt.Fprintf(out, "    ignores  %s (no attribute of the flow by that name, or a value of the wrong type)\n", name)
	}
}

// responseJSON renders an answer the way the contract writes it.
func responseJSON(res *connector.Response) []byte {
	obj := map[string]any{"action": string(res.Action)}
	for k, v := range res.Claims {
		obj[k] = v
	}
	if res.UserMessage != "" {
		obj["userMessage"] = res.UserMessage
	}
	if res.Code != "" {
		obj["code"] = res.Code
	}
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	_ = enc.Encode(obj)
	return bytes.TrimSpace(buf.Bytes())
}

func indent(js []byte) string {
	var buf bytes.Buffer
	if err := json.Indent(&buf, js, "  ", "  "); err != nil {
		return "  " + string(js)
	}
	return "  " + buf.String()
}
