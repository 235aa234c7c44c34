package db

import (
	"errors"
	"fmt"
	"strings"
)

// Error is a refusal the person using the portal can act on: a domain rule
// said no. Its Message is written for them. Any other error is internal.
type Error struct {
	Code    Code
	Field   string // the form field, or the API body's field or record, the message belongs next to, if any
	Message string
	Line    int // the line of a file the refusal is about, from 1; 0 when it is not about a file's line
}

func (e *Error) Error() string {
	if e.Line > 0 {
		return fmt.Sprintf("line %d: %s", e.Line, e.Message)
	}
	return e.Message
}

// Code names the kind of refusal; handlers map it to an HTTP status in one
// table (handlers.statusOf).
type Code string

const (
	ErrNotFound        Code = "not_found"
	ErrInvalid         Code = "invalid"
	ErrConflict        Code = "conflict"
	ErrOutOfStock      Code = "out_of_stock"
	ErrNotEligible     Code = "not_eligible"
	ErrProfileMismatch Code = "profile_mismatch"
	ErrForbidden       Code = "forbidden"
	ErrTooLarge        Code = "too_large"

	// Refusals of a request before anything is asked of the store: no or a
	// revoked API key, a body in a format the operation does not read, an
	// address asked with a method it does not take.
	ErrUnauthenticated Code = "unauthenticated"
	ErrWrongFormat     Code = "wrong_format"
	ErrWrongMethod     Code = "wrong_method"
)

// Refuse is a refusal with its code, for the layers above the store that
// refuse a request before asking it (an API key, a body that cannot be read).
func Refuse(code Code, field, message string) *Error { return refuse(code, field, message) }

func refuse(code Code, field, message string) *Error {
	return &Error{Code: code, Field: field, Message: message}
}

// Errors is every refusal of one form or request, returned together so the
// person fixes them all in one go. Its code is its first refusal's.
type Errors []*Error

func (es Errors) Error() string {
	msgs := make([]string, len(es))
	for i, e := range es {
		msgs[i] = e.Message
	}
	return strings.Join(msgs, " ")
}

// Unwrap lets errors.As find the first refusal, and with it the code.
func (es Errors) Unwrap() []error {
	out := make([]error, len(es))
	for i, e := range es {
		out[i] = e
	}
	return out
}

// ByField maps each field to its message; "" holds a refusal of the whole form.
func (es Errors) ByField() map[string]string {
	m := make(map[string]string, len(es))
	for _, e := range es {
		if _, ok := m[e.Field]; !ok {
			m[e.Field] = e.Message
		}
	}
	return m
}

// Err is nil when there is nothing to refuse, so a validation can end with
// `return errs.Err()`.
func (es Errors) Err() error {
	if len(es) == 0 {
		return nil
	}
	return es
}

// add appends err when it is a refusal and reports whether it was; any other
// non-nil error is returned for the caller to stop on.
func (es *Errors) add(err error) error {
	if err == nil {
		return nil
	}
	var e *Error
	if errors.As(err, &e) {
		*es = append(*es, e)
		return nil
	}
	return err
}

// Refusals returns every refusal in err: the members of Errors, or the one
// *Error; nil when err is no refusal.
func Refusals(err error) Errors {
	var es Errors
	if errors.As(err, &es) {
		return es
	}
	var e *Error
	if errors.As(err, &e) {
		return Errors{e}
	}
	return nil
}

// ErrorCode reports the Code of a domain error, or "" for any other error.
func ErrorCode(err error) Code {
	var e *Error
	if errors.As(err, &e) {
		return e.Code
	}
	return ""
}

// failed names the operation an internal error came from, so a 500 in the
// log says what failed; a refusal goes back as it is, for the person to read.
func failed(op string, err error) error {
	if err == nil || Refusals(err) != nil {
		return err
	}
	return fmt.Errorf("%s: %w", op, err)
}
