package db

import (
	"encoding/base64"
	"sort"
	"strings"
	"time"
)

// Page links: a cursor says where a page ends in the List, never how many
// rows come before it, so the next page is a seek and a deep page costs what
// the first one does.

// listKey is where a row stands in the List.
type listKey struct {
	part  byte
	key   string // the stored time the part sorts on; "" in ICCID order
	iccid string
}

// cursorVersion starts every cursor, so a change of their layout turns old
// links into a clear message instead of a wrong page.
const cursorVersion = "1"

func (k listKey) cursor() string {
	return base64.RawURLEncoding.EncodeToString([]byte(cursorVersion + "|" + string(k.part) + "|" + k.key + "|" + k.iccid))
}

// staleCursorNotice is said above the first page when a page link's cursor
// does not fit the List it asks for: the filter or the cursor's layout
// changed since the link was made.
const staleCursorNotice = "That page link is out of date, so the List starts from its first page."

// parseCursor reads a cursor of the List of these parts; ok is false when it
// does not fit them.
func parseCursor(s, parts string) (k listKey, ok bool) {
	raw, err := base64.RawURLEncoding.DecodeString(s)
	if err != nil {
		return listKey{}, false
	}
	fields := strings.Split(string(raw), "|")
	if len(fields) != 4 || fields[0] != cursorVersion || len(fields[1]) != 1 || !strings.Contains(parts, fields[1]) {
		return listKey{}, false
	}
	k = listKey{part: fields[1][0], key: fields[2], iccid: fields[3]}
	if k.iccid == "" || len(k.iccid) > 20 || onlyDigits(k.iccid) != k.iccid {
		return listKey{}, false
	}
	if k.part == 'i' {
		if k.key != "" {
			return listKey{}, false
		}
	} else if _, err := time.Parse(timeFormat, k.key); err != nil {
		return listKey{}, false
	}
	return k, true
}

// before reports whether k comes before o in the List of these parts.
func (k listKey) before(o listKey, parts string) bool {
	switch {
	case k.part != o.part:
		return strings.IndexByte(parts, k.part) < strings.IndexByte(parts, o.part)
	case k.part == 'i':
		return k.iccid < o.iccid
	case k.key != o.key:
		return k.key > o.key
	}
	return k.iccid > o.iccid
}

// pageOf cuts from all the matches, in list order, what listKeys would read:
// up to ListPageSize+1 keys after the cursor, or before it going backward.
func pageOf(all []listKey, parts string, from *listKey, backward bool) []listKey {
	if from == nil {
		return all[:min(len(all), ListPageSize+1)]
	}
	if backward {
		end := sort.Search(len(all), func(i int) bool { return !all[i].before(*from, parts) })
		return all[max(0, end-ListPageSize-1):end]
	}
	start := sort.Search(len(all), func(i int) bool { return from.before(all[i], parts) })
	return all[start:min(len(all), start+ListPageSize+1)]
}

func cmpOr(a, b string) string {
	if a != "" {
		return a
	}
	return b
}
