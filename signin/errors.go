package signin

// Kind names what went wrong with a sign-in through the provider.
type Kind int

const (
	// ProviderDown: the provider could not be reached, or answered nonsense.
	ProviderDown Kind = iota + 1
	// BadState: the callback is not the one this browser's sign-in waits
	// for: a wrong or replayed state, or no sign-in started.
	BadState
	// Denied: the provider did not sign the person in.
	Denied
	// BadToken: the code exchange or the ID token failed a check: another
	// audience, expired, tampered with, another nonce, the wrong verifier.
	BadToken
)

// Error is a sign-in that failed: Message is for the person, Err (never a
// token) for the operator's log.
type Error struct {
	Kind   Kind
	Detail string // the provider's error code, for Denied
	Err    error
}

func (e *Error) Error() string { return "single sign-on: " + e.Err.Error() }
func (e *Error) Unwrap() error { return e.Err }

// Message says what happened, to the person signing in.
func (e *Error) Message() string {
	switch e.Kind {
	case ProviderDown:
		return "The identity provider could not be reached, so you are not signed in. Try again in a minute; if it goes on, tell the portal's operator."
	case BadState:
		return "This sign-in had expired or was already used. Sign in again."
	case Denied:
		return "The identity provider did not sign you in (" + e.Detail + "). Sign in again, or ask your IT service desk."
	}
	return "The identity provider's answer could not be verified, so you are not signed in. Sign in again; if it goes on, tell the portal's operator."
}
