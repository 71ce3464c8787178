// Package connector calls API connectors: HTTP endpoints that speak the
// Microsoft Entra External ID (and Azure AD B2C) API connector contract, so an
// endpoint written for Entra works against signupflow unchanged.
//
// A connector runs at one of two steps of a sign-up. signupflow POSTs a flat
// JSON object of claims (email always, identities, the collected attributes,
// ui_locales, step and client_id) and the connector answers, version "1.0.0":
//   - HTTP 200 {"action":"Continue", <claim>: value...}: go on, with these claims;
//   - HTTP 200 {"action":"ShowBlockPage","userMessage":"..."}: the sign-up ends;
//   - HTTP 400 {"action":"ValidationError","status":400,"userMessage":"..."}:
//     the applicant fixes the form (PostAttributeCollection only).
//
// Anything else is an *Error whose Kind tells the caller whether a retry can help.
// Secrets are read from the environment at call time and never appear in errors.
//
// Connector kinds sit behind one interface: a Caller calls the connectors of one
// kind, and a Registry hands each call to the Caller of its kind (flow.Target.Kind).
// Client is the Caller of HTTP endpoints; plugins.Manager is the one of connector
// plugins. A connector's settings are plain data in package flow.
package connector
