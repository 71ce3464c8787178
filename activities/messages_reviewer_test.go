package activities

import (
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// TestReviewerMessageNamesTheApplicantOnce: the summary holds the display name (the flow collects
// it, labelled as in the flow), so the e-mail's body does not print it on a line of its own as well.
func TestReviewerMessageNamesTheApplicantOnce(t *testing.T) {
	in := reviewersInput()
	in.Summary = append([]SummaryItem{{Label: "Display name", Value: "Dave Example"}}, in.Summary...)
	m := reviewerMessage(in, "https://signup.test/approvals/review?t=x", time.Now())
	require.Equal(t, "Approval needed: Dave Example for Partner Portal", m.Subject)
	require.Equal(t, 1, strings.Count(m.Text, "Dave Example"), m.Text)
	require.Contains(t, m.Text, "\nDisplay name: Dave Example\nCompany: Fabrikam\n")
	require.Contains(t, m.Text, "Applicant: Dave@Fabrikam.test\nFlow: partner-signup\n")

	// A name the summary cut short is still the name.
	long := strings.Repeat("Dave ", 30)[:140]
	in.DisplayName = long
	in.Summary[0].Value = string([]rune(long)[:99]) + "…"
	m = reviewerMessage(in, "https://signup.test/approvals/review?t=x", time.Now())
	require.Equal(t, 1, strings.Count(m.Text, "Display name:"), m.Text)

	// A name the summary does not show (past its eight values) gets its own line.
	in = reviewersInput()
	m = reviewerMessage(in, "https://signup.test/approvals/review?t=x", time.Now())
	require.Contains(t, m.Text, "Applicant: Dave@Fabrikam.test\nDisplay name: Dave Example\n")
	require.Equal(t, 1, strings.Count(m.Text, "Dave Example"), m.Text)
}
