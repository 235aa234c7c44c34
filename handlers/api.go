package handlers

import (
	"bytes"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"
	"reflect"
	"slices"
	"strings"
	"time"

	"github.com/labstack/echo/v4"

	"github.com/carrier/esim-admin/db"
)

// The network API: the networks report where an eSIM's phone attached, and
// the SM-DP+ what the phone did with the profile. Machines call it with a
// bearer token, not a session, and it answers in JSON, errors included: a
// handler answers what it checks itself with apiFail and returns the store's
// errors, which the error handler answers for every path under /api/.

// apiBodyLimit is far more than a report needs.
const apiBodyLimit = 64 << 10

type apiError struct {
	Error string `json:"error"`
}

func apiFail(c echo.Context, status int, msg string) error {
	return c.JSON(status, apiError{Error: msg})
}

// requireAPIToken lets through requests that carry the API token. A session
// cookie counts for nothing here.
func (h *Handlers) requireAPIToken(next echo.HandlerFunc) echo.HandlerFunc {
	return func(c echo.Context) error {
		if h.APIToken == "" {
			return apiFail(c, http.StatusServiceUnavailable, "the network API is off: ESIM_API_TOKEN is not set")
		}
		scheme, token, _ := strings.Cut(c.Request().Header.Get(echo.HeaderAuthorization), " ")
		if !strings.EqualFold(scheme, "Bearer") || !sameToken(strings.TrimSpace(token), h.APIToken) {
			c.Response().Header().Set(echo.HeaderWWWAuthenticate, `Bearer realm="esim-admin"`)
			return apiFail(c, http.StatusUnauthorized, "a valid API token is required, as the header Authorization: Bearer followed by the token")
		}
		return next(c)
	}
}

// sameToken compares in constant time; hashing first hides the length too.
func sameToken(got, want string) bool {
	g, w := sha256.Sum256([]byte(got)), sha256.Sum256([]byte(want))
	return subtle.ConstantTimeCompare(g[:], w[:]) == 1
}

// apiEndpoints are the API's addresses; each takes POST only.
var apiEndpoints = []string{"/api/v1/attach", "/api/v1/profile-events", "/api/v1/usage"}

// apiNotFound answers unknown /api/ addresses, and other methods than POST;
// the error handler says so in JSON.
func apiNotFound(c echo.Context) error {
	if slices.Contains(apiEndpoints, c.Request().URL.Path) {
		c.Response().Header().Set(echo.HeaderAllow, http.MethodPost)
		return echo.ErrMethodNotAllowed
	}
	return echo.ErrNotFound
}

// decodeJSON reads a body of exactly one JSON object of at most limit bytes
// into v, strictly: the body must say it is JSON (415), be no larger than
// limit (413), and name each of v's fields at most once and exactly as
// written, so a misspelt, miscased or repeated field is an error instead of
// a silent zero or a silent choice.
func decodeJSON(c echo.Context, v any, limit int64) (int, string) {
	if msg := checkJSONType(c.Request().Header.Get(echo.HeaderContentType)); msg != "" {
		return http.StatusUnsupportedMediaType, msg
	}
	body, err := io.ReadAll(http.MaxBytesReader(c.Response(), c.Request().Body, limit))
	var tooLarge *http.MaxBytesError
	switch {
	case errors.As(err, &tooLarge):
		return http.StatusRequestEntityTooLarge, "the body is too large"
	case err != nil:
		return http.StatusBadRequest, "the body could not be read"
	}
	if msg := strictMembers(body, jsonNames(v)); msg != "" {
		return http.StatusBadRequest, msg
	}
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.DisallowUnknownFields()
	err = dec.Decode(v)
	if err == nil {
		if dec.Decode(&struct{}{}) != io.EOF {
			return http.StatusBadRequest, "the body must be a single JSON object"
		}
		return 0, ""
	}
	var typeErr *json.UnmarshalTypeError
	switch {
	case errors.As(err, &typeErr) && typeErr.Field != "":
		return http.StatusBadRequest, typeMessage(typeErr)
	case strings.HasPrefix(err.Error(), "json: unknown field "):
		return http.StatusBadRequest, strings.TrimPrefix(err.Error(), "json: ")
	}
	return http.StatusBadRequest, "the body must be a JSON object"
}

// typeMessage says what a field of the wrong JSON type should be, in the
// API's words rather than Go's: "bytes must be a whole number, not a string".
func typeMessage(e *json.UnmarshalTypeError) string {
	t := e.Type
	for t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	var want string
	switch t.Kind() {
	case reflect.String:
		want = "a string"
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64,
		reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
		want = "a whole number"
	case reflect.Float32, reflect.Float64:
		want = "a number"
	case reflect.Bool:
		want = "true or false"
	case reflect.Slice, reflect.Array:
		want = "an array"
	default:
		want = "an object"
	}
	given, number := strings.CutPrefix(e.Value, "number ")
	switch {
	case number && want == "a whole number" && !strings.ContainsAny(given, ".eE"):
		return e.Field + " is out of range"
	case number:
	case e.Value == "bool":
		given = "true or false"
	case e.Value == "array" || e.Value == "object":
		given = "an " + e.Value
	default:
		given = "a " + e.Value
	}
	return e.Field + " must be " + want + ", not " + given
}

// checkJSONType refuses a body that does not say it is JSON in UTF-8.
func checkJSONType(contentType string) string {
	const want = "the body must be JSON, sent with Content-Type: application/json"
	mt, params, err := mime.ParseMediaType(contentType)
	if err != nil || mt != "application/json" {
		return want
	}
	if cs, ok := params["charset"]; ok && !strings.EqualFold(cs, "utf-8") {
		return want + " in UTF-8"
	}
	return ""
}

// strictMembers checks the members of the JSON object in data against
// names, the fields of the struct it is read into: encoding/json would take
// the last of a repeated member and match names whatever their case. It
// says what is wrong, or "" when nothing is, or when data is not an object
// at all, which decoding then says.
func strictMembers(data []byte, names []string) string {
	dec := json.NewDecoder(bytes.NewReader(data))
	if tok, err := dec.Token(); err != nil || tok != json.Delim('{') {
		return ""
	}
	seen := map[string]bool{}
	for dec.More() {
		tok, err := dec.Token()
		if err != nil {
			return ""
		}
		name, _ := tok.(string)
		if seen[name] {
			return fmt.Sprintf("field %q is given twice", name)
		}
		seen[name] = true
		if !slices.Contains(names, name) {
			for _, n := range names {
				if strings.EqualFold(n, name) {
					return fmt.Sprintf("unknown field %q: field names are lowercase, as in %q", name, n)
				}
			}
			return fmt.Sprintf("unknown field %q", name)
		}
		var value json.RawMessage
		if err := dec.Decode(&value); err != nil {
			return ""
		}
	}
	return ""
}

// jsonNames are the member names of the struct v points to, as its json
// tags write them.
func jsonNames(v any) []string {
	t := reflect.TypeOf(v)
	for t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	var names []string
	for f := range t.Fields() {
		if name, _, _ := strings.Cut(f.Tag.Get("json"), ","); name != "" && name != "-" {
			names = append(names, name)
		}
	}
	return names
}

// parseAPITime reads an RFC 3339 time; the zone is required, so a time
// cannot be read in the wrong one. A time before db.EarliestReport is
// refused here already: 0001-01-01T00:00:00Z is Go's zero time, which the
// store would take for no time at all.
func parseAPITime(field, v string) (time.Time, string) {
	if v == "" {
		return time.Time{}, field + " is required"
	}
	t, err := time.Parse(time.RFC3339Nano, v)
	if err != nil {
		return time.Time{}, field + " must be an RFC 3339 time with its zone, such as 2026-12-01T08:30:00Z"
	}
	if t.Before(db.EarliestReport) {
		return time.Time{}, db.ReportTooEarly(field).Message
	}
	return t, ""
}

func apiTime(t time.Time) string { return t.UTC().Format(time.RFC3339Nano) }

type attachRequest struct {
	ICCID      string `json:"iccid"`
	MCC        string `json:"mcc"`
	Country    string `json:"country"`
	AttachedAt string `json:"attached_at"`
}

type activatedPlan struct {
	OrderNumber string `json:"order_number"`
	Plan        string `json:"plan"`
	ActivatedAt string `json:"activated_at"`
	ExpiresAt   string `json:"expires_at"`
}

type attachResponse struct {
	ICCID      string         `json:"iccid"`
	Country    string         `json:"country"`
	AttachedAt string         `json:"attached_at"`
	Duplicate  bool           `json:"duplicate"`
	Activated  *activatedPlan `json:"activated"`
	Reason     string         `json:"reason,omitempty"`
}

// apiAttach records that an eSIM's phone attached to a network, which may
// start one of its plans.
func (h *Handlers) apiAttach(c echo.Context) error {
	var req attachRequest
	if status, msg := decodeJSON(c, &req, apiBodyLimit); status != 0 {
		return apiFail(c, status, msg)
	}
	at, msg := parseAPITime("attached_at", req.AttachedAt)
	if msg != "" {
		return apiFail(c, http.StatusBadRequest, msg)
	}
	r, err := h.Store.Attach(c.Request().Context(), db.Attach{ICCID: req.ICCID, MCC: req.MCC, Country: req.Country, AttachedAt: at})
	if err != nil {
		return err
	}
	out := attachResponse{ICCID: r.Attachment.ICCID, Country: r.Attachment.Country, AttachedAt: apiTime(r.Attachment.AttachedAt),
		Duplicate: r.Duplicate, Reason: r.Reason}
	if lp := r.Activated; lp != nil {
		out.Activated = &activatedPlan{OrderNumber: lp.OrderNumber, Plan: lp.Plan.Name,
			ActivatedAt: apiTime(lp.ActivatedAt), ExpiresAt: apiTime(lp.ExpiresAt)}
	}
	return c.JSON(http.StatusOK, out)
}

type profileEventRequest struct {
	ICCID string `json:"iccid"`
	Event string `json:"event"`
	At    string `json:"at"`
}

type profileEventResponse struct {
	ICCID          string `json:"iccid"`
	Event          string `json:"event"`
	At             string `json:"at"`
	Duplicate      bool   `json:"duplicate"`
	Updated        bool   `json:"updated"`
	ProfileState   string `json:"profile_state"`
	ProfileStateAt string `json:"profile_state_at"`
}

// apiProfileEvent records what the phone did with the eSIM profile.
func (h *Handlers) apiProfileEvent(c echo.Context) error {
	var req profileEventRequest
	if status, msg := decodeJSON(c, &req, apiBodyLimit); status != 0 {
		return apiFail(c, status, msg)
	}
	at, msg := parseAPITime("at", req.At)
	if msg != "" {
		return apiFail(c, http.StatusBadRequest, msg)
	}
	r, err := h.Store.RecordProfileEvent(c.Request().Context(), db.ProfileEvent{ICCID: req.ICCID, Event: req.Event, At: at})
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, profileEventResponse{ICCID: r.Event.ICCID, Event: r.Event.Event, At: apiTime(r.Event.At),
		Duplicate: r.Duplicate, Updated: r.Updated, ProfileState: r.State, ProfileStateAt: apiTime(r.StateAt)})
}
