package main

import (
	"strings"
	"unicode"
	"unicode/utf8"
)

// secondLevel lists labels that, under a country code, are part of the public
// suffix ("contoso.co.uk"), so the company is the label before them. A real
// connector would use golang.org/x/net/publicsuffix; this one stays stdlib-only.
var secondLevel = map[string]bool{"co": true, "com": true, "org": true, "net": true, "ac": true, "gov": true, "edu": true}

// companyFromDomain guesses a company name from an e-mail domain:
// "fabrikam.com" -> "Fabrikam", "mail.northwind-traders.co.uk" -> "Northwind Traders".
func companyFromDomain(domain string) string {
	labels := strings.Split(strings.Trim(domain, "."), ".")
	if len(labels) < 2 {
		return ""
	}
	labels = labels[:len(labels)-1] // top-level domain
	if len(labels) > 1 && secondLevel[labels[len(labels)-1]] {
		labels = labels[:len(labels)-1]
	}
	return titleWords(strings.ReplaceAll(labels[len(labels)-1], "-", " "))
}

// nameFromLocalPart guesses a display name from the local part of an address:
// "john.smith" -> "John Smith"; a "+tag" suffix is dropped.
func nameFromLocalPart(local string) string {
	local, _, _ = strings.Cut(local, "+")
	words := strings.FieldsFunc(local, func(r rune) bool { return r == '.' || r == '_' || r == '-' })
	return titleWords(strings.Join(words, " "))
}

// collapseSpaces trims s and turns every run of white space into one space.
func collapseSpaces(s string) string {
	return strings.Join(strings.Fields(s), " ")
}

// titleWords upper-cases the first letter of each word and leaves the rest alone,
// so "mcDonald" becomes "McDonald" rather than "Mcdonald".
func titleWords(s string) string {
	words := strings.Fields(s)
	for i, w := range words {
		r, size := utf8.DecodeRuneInString(w)
		words[i] = string(unicode.ToUpper(r)) + w[size:]
	}
	return strings.Join(words, " ")
}

// maskEmail keeps the first character and the domain ("j***@fabrikam.com"): enough
// to follow one applicant through the log without writing down who they are.
func maskEmail(email string) string {
	local, domain := splitEmail(email)
	if local == "" || domain == "" {
		return "***"
	}
	r, _ := utf8.DecodeRuneInString(local)
	return string(r) + "***@" + domain
}
