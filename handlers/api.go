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
	"sync"
	"time"

	"github.com/labstack/echo/v4"

	"github.com/carrier/esim-admin/db"
)

// The network API: the networks report where an eSIM's phone attached, and
// the SM-DP+ what the phone did with the profile. Machines call it with a
// bearer token, not a session, and it answers in JSON, errors included: a
// handler returns its own refusals and the store's, which the error handler
// answers in the one shape for every path under /api/ (errors.go).

// apiBodyLimit is far more than a report needs.
const apiBodyLimit = 64 << 10

// requireScope lets through requests that carry the key of an API client
// with scope: a revoked or unknown key is 401, a key without the scope 403
// naming it. ESIM_API_TOKEN, from before API clients, still opens the
// network scope. A session cookie counts for nothing here.
func (h *Handlers) requireScope(scope string) echo.MiddlewareFunc {
	return func(next echo.HandlerFunc) echo.HandlerFunc {
		return func(c echo.Context) error {
			client, err := h.apiClient(c)
			if db.ErrorCode(err) == db.ErrUnauthenticated {
				c.Response().Header().Set(echo.HeaderWWWAuthenticate, `Bearer realm="esim-admin"`)
			}
			if err != nil {
				return err
			}
			if !client.Can(scope) {
				return refuse(db.ErrForbidden, fmt.Sprintf("this API key lacks the scope %q; a team lead gives a client its scopes on Integrations", scope))
			}
			if client.ID != 0 {
				if err := h.Store.MarkAPIClientUsed(c.Request().Context(), client); err != nil {
					h.Log.Warn("API client's last use not recorded", "client", client.ID, "err", err)
				}
			}
			c.Set(apiClientKey, client)
			return next(c)
		}
	}
}

const apiClientKey = "api_client"

// apiClientOf is the API client that made the request.
func apiClientOf(c echo.Context) db.APIClient {
	client, _ := c.Get(apiClientKey).(db.APIClient)
	return client
}

// apiClient is the client whose key the request carries, or the refusal of
// the key.
func (h *Handlers) apiClient(c echo.Context) (db.APIClient, error) {
	const missing = "an API key is required, as the header Authorization: Bearer followed by the key"
	scheme, key, _ := strings.Cut(c.Request().Header.Get(echo.HeaderAuthorization), " ")
	key = strings.TrimSpace(key)
	if !strings.EqualFold(scheme, "Bearer") || key == "" {
		return db.APIClient{}, refuse(db.ErrUnauthenticated, missing)
	}
	if h.APIToken != "" && sameToken(key, h.APIToken) {
		return db.APIClient{Name: "ESIM_API_TOKEN", Scopes: []string{db.ScopeNetwork}}, nil
	}
	unknown := refuse(db.ErrUnauthenticated, "this API key is not known")
	if len(key) > 200 { // no key is this long: not worth a lookup
		return db.APIClient{}, unknown
	}
	client, err := h.Store.APIClientByKey(c.Request().Context(), key)
	switch {
	case db.ErrorCode(err) == db.ErrNotFound:
		return client, unknown
	case err != nil:
		return client, fmt.Errorf("check API key: %w", err)
	case client.Revoked():
		return client, refuse(db.ErrUnauthenticated, "this API key was revoked on "+apiTime(client.RevokedAt))
	}
	return client, nil
}

// sameToken compares in constant time; hashing first hides the length too.
func sameToken(got, want string) bool {
	g, w := sha256.Sum256([]byte(got)), sha256.Sum256([]byte(want))
	return subtle.ConstantTimeCompare(g[:], w[:]) == 1
}

// apiNotFound answers unknown /api/ addresses, and a known one asked with
// a method it does not take (405, with Allow); the error handler says so in
// JSON. Echo gives both to the catch-all route, so the routes are looked up
// here.
func (h *Handlers) apiNotFound(c echo.Context) error {
	var allow []string
	for _, r := range c.Echo().Routes() {
		if r.Method != echo.RouteNotFound && samePath(r.Path, c.Request().URL.Path) && !slices.Contains(allow, r.Method) {
			allow = append(allow, r.Method)
		}
	}
	if len(allow) == 0 {
		return refuse(db.ErrNotFound, "")
	}
	slices.Sort(allow)
	c.Response().Header().Set(echo.HeaderAllow, strings.Join(allow, ", "))
	return refuse(db.ErrWrongMethod, "use "+strings.Join(allow, " or "))
}

// samePath reports whether path is one of route's, whose :name segments
// match any one segment.
func samePath(route, path string) bool {
	rs, ps := strings.Split(route, "/"), strings.Split(path, "/")
	if len(rs) != len(ps) {
		return false
	}
	for i, r := range rs {
		if r != ps[i] && !(strings.HasPrefix(r, ":") && ps[i] != "") {
			return false
		}
	}
	return true
}

// decodeJSON reads a body of exactly one JSON object of at most limit bytes
// into v, strictly: the body must say it is JSON (415), be no larger than
// limit (413), and name each of v's fields at most once and exactly as
// written, so a misspelt, miscased or repeated field is an error instead of
// a silent zero or a silent choice.
func decodeJSON(c echo.Context, v any, limit int64) error {
	if msg := checkJSONType(c.Request().Header.Get(echo.HeaderContentType)); msg != "" {
		return refuse(db.ErrWrongFormat, msg)
	}
	body, err := io.ReadAll(http.MaxBytesReader(c.Response(), c.Request().Body, limit))
	var tooLarge *http.MaxBytesError
	switch {
	case errors.As(err, &tooLarge):
		return refuse(db.ErrTooLarge, "the body is too large")
	case err != nil:
		return refuse(db.ErrInvalid, "the body could not be read")
	}
	if msg := strictMembers(body, jsonNames(v)); msg != "" {
		return refuse(db.ErrInvalid, msg)
	}
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.DisallowUnknownFields()
	err = dec.Decode(v)
	if err == nil {
		if dec.Decode(&struct{}{}) != io.EOF {
			return refuse(db.ErrInvalid, "the body must be a single JSON object")
		}
		return nil
	}
	var typeErr *json.UnmarshalTypeError
	switch {
	case errors.As(err, &typeErr) && typeErr.Field != "":
		return refuse(db.ErrInvalid, typeMessage(typeErr))
	case strings.HasPrefix(err.Error(), "json: unknown field "):
		return refuse(db.ErrInvalid, strings.TrimPrefix(err.Error(), "json: "))
	}
	return refuse(db.ErrInvalid, "the body must be a JSON object")
}

// decodeBatch reads a batch body as decodeJSON does into v, and refuses one
// whose list of records (list, which lives in v, named noun) is longer than
// max, so a caller is told to split it before any record is looked at.
func decodeBatch(c echo.Context, v any, list *[]json.RawMessage, noun string, limit int64, max int) error {
	if err := decodeJSON(c, v, limit); err != nil {
		return err
	}
	if len(*list) > max {
		return refuse(db.ErrTooLarge, fmt.Sprintf("%d %s: at most %d a request; split the batch", len(*list), noun, max))
	}
	return nil
}

// decodeRecord reads one record of a batch strictly into v, as decodeJSON
// reads a body; it says what is wrong with it, or "". what names the record
// in a message, "a record".
func decodeRecord(data []byte, v any, what string) string {
	if msg := strictMembers(data, jsonNames(v)); msg != "" {
		return msg
	}
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	err := dec.Decode(v)
	var typeErr *json.UnmarshalTypeError
	switch {
	case err == nil:
		return ""
	case errors.As(err, &typeErr) && typeErr.Field != "":
		return typeMessage(typeErr)
	case strings.HasPrefix(err.Error(), "json: unknown field "):
		return strings.TrimPrefix(err.Error(), "json: ")
	}
	return what + " must be a JSON object"
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
	var msg string
	seen := make([]string, 0, len(names))
	eachMember(data, func(name string) bool {
		if slices.Contains(seen, name) {
			msg = fmt.Sprintf("field %q is given twice", name)
			return false
		}
		seen = append(seen, name)
		if !slices.Contains(names, name) {
			msg = fmt.Sprintf("unknown field %q", name)
			for _, n := range names {
				if strings.EqualFold(n, name) {
					msg = fmt.Sprintf("unknown field %q: field names are lowercase, as in %q", name, n)
				}
			}
			return false
		}
		return true
	})
	return msg
}

// eachMember calls fn with the name of each member of the JSON object in
// data, in order, until fn returns false. It skips the values without
// decoding them, which makes it several times faster than encoding/json's
// tokens on a batch of a thousand records; it stops quietly at anything that
// is not a well-formed object, which decoding then reports.
func eachMember(data []byte, fn func(string) bool) {
	i := skipSpace(data, 0)
	if i >= len(data) || data[i] != '{' {
		return
	}
	i++
	for {
		i = skipSpace(data, i)
		if i >= len(data) || data[i] != '"' {
			return // the end of the object, or not an object
		}
		end := skipString(data, i)
		if end < 0 {
			return
		}
		var name string
		if raw := data[i:end]; bytes.IndexByte(raw, '\\') >= 0 {
			if json.Unmarshal(raw, &name) != nil {
				return
			}
		} else {
			name = string(raw[1 : len(raw)-1])
		}
		if !fn(name) {
			return
		}
		i = skipSpace(data, end)
		if i >= len(data) || data[i] != ':' {
			return
		}
		if i = skipValue(data, i+1); i < 0 {
			return
		}
	}
}

// skipValue skips the member's value that starts at data[i]: strings whole,
// brackets counted, up to the comma that ends it. It returns the index past
// the comma, or -1 when the object ends instead (or is cut short).
func skipValue(data []byte, i int) int {
	depth := 0
	for ; i < len(data); i++ {
		switch data[i] {
		case '"':
			if i = skipString(data, i) - 1; i < 0 {
				return -1
			}
		case '{', '[':
			depth++
		case '}', ']':
			if depth == 0 {
				return -1
			}
			depth--
		case ',':
			if depth == 0 {
				return i + 1
			}
		}
	}
	return -1
}

func skipSpace(data []byte, i int) int {
	for i < len(data) && (data[i] == ' ' || data[i] == '\t' || data[i] == '\n' || data[i] == '\r') {
		i++
	}
	return i
}

// skipString returns the index just past the JSON string that starts at
// data[i], or -1 when it does not end.
func skipString(data []byte, i int) int {
	for i++; i < len(data); i++ {
		switch data[i] {
		case '\\':
			i++
		case '"':
			return i + 1
		}
	}
	return -1
}

// jsonNames are the member names of the struct v points to, as its json
// tags write them.
func jsonNames(v any) []string {
	t := reflect.TypeOf(v)
	for t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	if names, ok := jsonNamesOf.Load(t); ok {
		return names.([]string)
	}
	var names []string
	for f := range t.Fields() {
		if name, _, _ := strings.Cut(f.Tag.Get("json"), ","); name != "" && name != "-" {
			names = append(names, name)
		}
	}
	jsonNamesOf.Store(t, names)
	return names
}

// jsonNamesOf keeps each type's JSON names: a batch reads a thousand records
// of the same type.
var jsonNamesOf sync.Map // reflect.Type → []string

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
	if err := decodeJSON(c, &req, apiBodyLimit); err != nil {
		return err
	}
	at, msg := parseAPITime("attached_at", req.AttachedAt)
	if msg != "" {
		return refuse(db.ErrInvalid, msg)
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
	if err := decodeJSON(c, &req, apiBodyLimit); err != nil {
		return err
	}
	at, msg := parseAPITime("at", req.At)
	if msg != "" {
		return refuse(db.ErrInvalid, msg)
	}
	r, err := h.Store.RecordProfileEvent(c.Request().Context(), db.ProfileEvent{ICCID: req.ICCID, Event: req.Event, At: at})
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, profileEventResponse{ICCID: r.Event.ICCID, Event: r.Event.Event, At: apiTime(r.Event.At),
		Duplicate: r.Duplicate, Updated: r.Updated, ProfileState: r.State, ProfileStateAt: apiTime(r.StateAt)})
}
