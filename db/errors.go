package db

import "errors"

// Error is a refusal the person using the portal can act on: a domain rule
// said no. Its Message is written for them. Any other error is internal.
type Error struct {
	Code    Code
	Field   string // the form field the message belongs next to, if any
	Message string
}

func (e *Error) Error() string { return e.Message }

// Code names the kind of refusal; handlers map it to an HTTP status.
type Code string

const (
	ErrNotFound        Code = "not_found"
	ErrInvalid         Code = "invalid"
	ErrConflict        Code = "conflict"
	ErrOutOfStock      Code = "out_of_stock"
	ErrNotEligible     Code = "not_eligible"
	ErrProfileMismatch Code = "profile_mismatch"
	ErrForbidden       Code = "forbidden"
)

func refuse(code Code, field, message string) *Error {
	return &Error{Code: code, Field: field, Message: message}
}

// ErrorCode reports the Code of a domain error, or "" for any other error.
func ErrorCode(err error) Code {
	var e *Error
	if errors.As(err, &e) {
		return e.Code
	}
	return ""
}
