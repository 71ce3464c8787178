package mail

import (
	"context"
	"fmt"
	"io"
	netmail "net/mail"
	"strings"
	"sync"
)

// logSender is the development Sender: it prints each message so a developer can
// read the one-time code in the console. It shows the recipient in full, which the
// no-PII logging rule would otherwise forbid, because that is its whole purpose and
// "log" is never a production setting.
type logSender struct {
	mu   sync.Mutex // keeps concurrent messages from interleaving
	out  io.Writer
	from *netmail.Address
}

// Send writes m to the console.
func (s *logSender) Send(ctx context.Context, m Message) error {
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("mail: not written: %w", err)
	}
	var b strings.Builder
	b.WriteString("----- mail (log mode, not sent) -----\n")
	fmt.Fprintf(&b, "From:    %s\n", readable(s.from))
	fmt.Fprintf(&b, "To:      %s\n", m.To)
	fmt.Fprintf(&b, "Subject: %s\n\n", m.Subject)
	b.WriteString(strings.TrimRight(m.Text, "\n"))
	b.WriteString("\n----- end of mail -----\n")

	s.mu.Lock()
	defer s.mu.Unlock()
	if _, err := io.WriteString(s.out, b.String()); err != nil {
		return fmt.Errorf("mail: writing message to log: %w", err)
	}
	return nil
}

// readable formats a for people; net/mail's String would MIME-encode a non-ASCII name.
func readable(a *netmail.Address) string {
	if a.Name == "" {
		return a.Address
	}
	return a.Name + " <" + a.Address + ">"
}
