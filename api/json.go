package api

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"

	"github.com/gin-gonic/gin"

	"github.com/signupflow/signupflow/signup"
)

// MaxBodyBytes caps request bodies.
const MaxBodyBytes = 64 << 10

type jsonRender struct{ v any }

func (r jsonRender) Render(w http.ResponseWriter) error {
	r.WriteContentType(w)
	return encodeJSON(w, r.v)
}

// encodeJSON writes v with HTML-sensitive characters escaped, so that a value echoed from input can
// never be read as markup by a browser that ignores the content type.
func encodeJSON(w http.ResponseWriter, v any) error {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(true)
	if err := enc.Encode(v); err != nil {
		return err
	}
	_, err := w.Write(buf.Bytes())
	return err
}

func (r jsonRender) WriteContentType(w http.ResponseWriter) {
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
}

func writeJSON(c *gin.Context, status int, v any) {
	c.Header("Cache-Control", "no-store")
	c.Render(status, jsonRender{v})
}

// readJSON decodes one JSON object into dst strictly: unknown fields, wrong types, trailing data and
// oversize bodies are clear client errors. It writes the problem and returns false on failure.
func readJSON(c *gin.Context, dst any) bool {
	if ct := c.GetHeader("Content-Type"); ct != "" {
		if mt, _, err := mime.ParseMediaType(ct); err != nil || (mt != "application/json" && mt != "application/problem+json") {
			writeProblem(c, newProblem(http.StatusUnsupportedMediaType, CodeUnsupportedType, "send application/json"))
			return false
		}
	}
	dec := json.NewDecoder(c.Request.Body)
	dec.DisallowUnknownFields()
	err := dec.Decode(dst)
	if err == nil {
		if _, extra := dec.Token(); extra != io.EOF {
			err = errors.New("trailing data after the JSON object")
		}
	}
	if err == nil {
		return true
	}
	writeProblem(c, decodeProblem(err))
	return false
}

func decodeProblem(err error) *signup.Error {
	var tooBig *http.MaxBytesError
	var typeErr *json.UnmarshalTypeError
	var syntaxErr *json.SyntaxError
	switch {
	case errors.As(err, &tooBig):
		return newProblem(http.StatusRequestEntityTooLarge, CodeTooLarge, fmt.Sprintf("the body is larger than %d bytes", MaxBodyBytes))
	case errors.As(err, &typeErr):
		return newProblem(http.StatusBadRequest, CodeInvalidRequest, fmt.Sprintf("%s must be %s", fieldName(typeErr.Field), jsonKind(typeErr.Type.Kind().String()))).
			WithField(fieldName(typeErr.Field), "wrong_type")
	case errors.As(err, &syntaxErr), errors.Is(err, io.EOF), errors.Is(err, io.ErrUnexpectedEOF):
		return newProblem(http.StatusBadRequest, CodeInvalidJSON, "the body is not a valid JSON object")
	}
	// json reports unknown fields and trailing data as plain errors.
	return newProblem(http.StatusBadRequest, CodeInvalidRequest, err.Error())
}

func fieldName(f string) string {
	if f == "" {
		return "body"
	}
	return f
}

func jsonKind(k string) string {
	switch k {
	case "string":
		return "a string"
	case "map", "struct":
		return "an object"
	case "slice":
		return "an array"
	case "bool":
		return "true or false"
	}
	return "a number"
}
