package publish

import (
	"testing"
	"time"
)

// TestNewestSoaked: the newest render every stamp of the wave ran for the
// soak time; a render replaced before its soak ended does not count, and
// merges more often than the soak do not starve the next wave.
func TestNewestSoaked(t *testing.T) {
	t0 := time.Date(2026, 12, 6, 0, 0, 0, 0, time.UTC)
	at := func(h float64) time.Time { return t0.Add(time.Duration(h * float64(time.Hour))) }
	const soak = 4 * time.Hour
	// weu-1, newest first: R3 since 10h, R2 from 5h to 10h (soaked), R1
	// from 0h to 5h (soaked too, but older).
	weu := []stampRun{{Rendered: "R3", From: at(10)}, {Rendered: "R2", From: at(5), To: at(10)}, {Rendered: "R1", From: at(0), To: at(5)}}
	for _, tc := range []struct {
		name  string
		wave  [][]stampRun
		now   time.Time
		want  string
		found bool
	}{
		{"the current render has soaked", [][]stampRun{weu}, at(14.5), "R3", true},
		{"merges faster than the soak: the one before it", [][]stampRun{weu}, at(11), "R2", true},
		{"every stamp of the wave must have run it", [][]stampRun{weu, {{Rendered: "R3", From: at(10)}, {Rendered: "R2", From: at(9), To: at(10)}, {Rendered: "R1", From: at(0), To: at(9)}}}, at(11), "R1", true},
		{"nothing ran long enough", [][]stampRun{{{Rendered: "R2", From: at(1)}, {Rendered: "R1", From: at(0), To: at(1)}}}, at(3), "", false},
		{"a render run twice counts its longest run", [][]stampRun{{{Rendered: "R1", From: at(6)}, {Rendered: "R2", From: at(5), To: at(6)}, {Rendered: "R1", From: at(0), To: at(5)}}}, at(7), "R1", true},
	} {
		got, ok := newestSoaked(tc.wave, tc.now, soak)
		if ok != tc.found || got.Rendered != tc.want {
			t.Errorf("%s: %q, %v; want %q, %v", tc.name, got.Rendered, ok, tc.want, tc.found)
		}
	}
}
