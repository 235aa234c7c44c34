package rules

import "testing"

const mb = BytesPerMB

func TestFormatBytes(t *testing.T) {
	for _, tc := range []struct {
		n    int64
		want string
	}{{0, "0 MB"}, {999, "999 B"}, {1500, "2 kB"}, {380 * mb, "380 MB"}, {1000 * mb, "1 GB"}, {1250 * mb, "1.25 GB"}, {2960 * mb, "2.96 GB"},
		{3500 * mb, "3.5 GB"}, {9999 * mb, "10 GB"}, {12_345 * mb, "12.3 GB"}, {20_000 * mb, "20 GB"}} {
		if got := FormatBytes(tc.n); got != tc.want {
			t.Errorf("FormatBytes(%d) = %q, want %q", tc.n, got, tc.want)
		}
	}
}
