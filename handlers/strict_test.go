package handlers

import "testing"

// strictMembers reads member names without decoding values: strings that
// hold braces, commas or escaped quotes, nested objects and lists, and
// escaped names must not fool it.
func TestStrictMembers(t *testing.T) {
	names := []string{"iccid", "records", "at"}
	for _, tc := range []struct{ body, want string }{
		{`{"iccid": "89", "at": "x"}`, ""},
		{` { "records" : [ {"iccid": "a,}\"b"}, [1, {"at": 2}] ] , "iccid" : "," } `, ""},
		{`{"iccid": "1", "iccid": "2"}`, `field "iccid" is given twice`},
		{`{"records": [{"x": 1}], "ICCID": "1"}`, `unknown field "ICCID": field names are lowercase, as in "iccid"`},
		{`{"at": {"deep": {"iccid": 1}}, "nope": 1}`, `unknown field "nope"`},
		{`{"\u0069ccid": 1, "iccid": 2}`, `field "iccid" is given twice`},
		{`{"iccid": "unterminated`, ""},
		{`[{"nope": 1}]`, ""},
		{``, ""},
	} {
		if got := strictMembers([]byte(tc.body), names); got != tc.want {
			t.Errorf("strictMembers(%s) = %q, want %q", tc.body, got, tc.want)
		}
	}
}
