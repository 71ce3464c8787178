package mailtest

import (
	"bytes"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"mime"
	"mime/multipart"
	"mime/quotedprintable"
	"net/mail"
	"strings"
)

// decode parses a message as received in DATA into a Message (without envelope).
func decode(raw []byte) (Message, error) {
	msg, err := mail.ReadMessage(bytes.NewReader(raw))
	if err != nil {
		return Message{}, fmt.Errorf("parse header: %w", err)
	}
	subject, err := new(mime.WordDecoder).DecodeHeader(msg.Header.Get("Subject"))
	if err != nil {
		return Message{}, fmt.Errorf("decode Subject: %w", err)
	}
	text, found, err := plainText(msg.Header.Get("Content-Type"),
		msg.Header.Get("Content-Transfer-Encoding"), msg.Body)
	if err != nil {
		return Message{}, err
	}
	if !found {
		return Message{}, errors.New("no text/plain part")
	}
	return Message{Header: msg.Header, Subject: subject, Text: text, Raw: raw}, nil
}

// plainText returns the first text/plain body in a part, descending into multipart
// containers; found is false when there is none.
func plainText(contentType, encoding string, body io.Reader) (text string, found bool, err error) {
	mediaType, params := "text/plain", map[string]string{}
	if contentType != "" {
		if mediaType, params, err = mime.ParseMediaType(contentType); err != nil {
			return "", false, fmt.Errorf("parse Content-Type %q: %w", contentType, err)
		}
	}
	switch {
	case strings.HasPrefix(mediaType, "multipart/"):
		return firstPlainPart(multipart.NewReader(body, params["boundary"]))
	case mediaType != "text/plain":
		return "", false, nil
	}
	if cs := strings.ToLower(params["charset"]); cs != "" && cs != "utf-8" && cs != "us-ascii" {
		return "", false, fmt.Errorf("charset %q not supported (mailtest decodes UTF-8 only)", cs)
	}
	r, err := transferDecoder(encoding, body)
	if err != nil {
		return "", false, err
	}
	b, err := io.ReadAll(r)
	if err != nil {
		return "", false, fmt.Errorf("decode %s body: %w", encoding, err)
	}
	return strings.ReplaceAll(string(b), "\r\n", "\n"), true, nil
}

func firstPlainPart(mr *multipart.Reader) (string, bool, error) {
	for {
		// NextRawPart, because NextPart would decode quoted-printable by itself
		// and so hide the encoding from transferDecoder.
		p, err := mr.NextRawPart()
		if errors.Is(err, io.EOF) {
			return "", false, nil
		}
		if err != nil {
			return "", false, fmt.Errorf("read multipart: %w", err)
		}
		text, found, err := plainText(p.Header.Get("Content-Type"),
			p.Header.Get("Content-Transfer-Encoding"), p)
		if err != nil || found {
			return text, found, err
		}
	}
}

func transferDecoder(encoding string, r io.Reader) (io.Reader, error) {
	switch strings.ToLower(strings.TrimSpace(encoding)) {
	case "", "7bit", "8bit", "binary":
		return r, nil
	case "quoted-printable":
		return quotedprintable.NewReader(r), nil
	case "base64":
		return base64.NewDecoder(base64.StdEncoding, r), nil // skips the line breaks itself
	default:
		return nil, fmt.Errorf("Content-Transfer-Encoding %q not supported", encoding)
	}
}
