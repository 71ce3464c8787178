package main

import (
	"reflect"
	"testing"

	"github.com/signupflow/signupflow/plugins/sdk"
	"github.com/signupflow/signupflow/plugins/sdk/sdktest"
)

func TestNormalisesNames(t *testing.T) {
	resp := sdktest.Invoke(t, normalizer{}, sdk.StepPostAttributeCollection, map[string]any{
		"email":       "marie@example.com",
		"displayName": "  mARIE-cLAIRE   o'neil ",
		"givenName":   "mARIE-cLAIRE",
		"surname":     "O’NEIL",
		"city":        "paris",
	})
	want := map[string]any{"displayName": "Marie-Claire O'Neil", "givenName": "Marie-Claire", "surname": "O’Neil"}
	if resp.Action != sdk.ActionContinue || !reflect.DeepEqual(resp.Claims, want) {
		t.Fatalf("got %+v, want Continue with %v", resp, want)
	}
}

func TestLeavesAbsentNamesAbsent(t *testing.T) {
	resp := sdktest.Invoke(t, normalizer{}, sdk.StepPostFederationSignup, map[string]any{
		"email": "x@example.com", "givenName": "élodie", "surname": "",
	})
	want := map[string]any{"givenName": "Élodie"}
	if resp.Action != sdk.ActionContinue || !reflect.DeepEqual(resp.Claims, want) {
		t.Fatalf("got %+v, want Continue with only %v", resp, want)
	}
}

func TestTakesNoConfig(t *testing.T) {
	if err := sdktest.Configure(normalizer{}, nil); err != nil {
		t.Fatalf("empty config refused: %v", err)
	}
	if err := sdktest.Configure(normalizer{}, map[string]any{"locale": "fr"}); err == nil {
		t.Fatal("a config key was accepted by a plugin that declares none")
	}
}

func TestSameAnswerThroughGRPC(t *testing.T) {
	remote := sdktest.Serve(t, normalizer{})
	resp := sdktest.Invoke(t, remote, sdk.StepPostAttributeCollection, map[string]any{"surname": "dE lA fONTAINE"})
	if got := resp.Claims["surname"]; got != "De La Fontaine" {
		t.Fatalf("surname = %v over gRPC", got)
	}
}
