package report

import "testing"

// TestFigureShowsChangeAndOverBudget: a figure shows what it was only when
// the change moves it, and is marked when it exceeds the budget.
func TestFigureShowsChangeAndOverBudget(t *testing.T) {
	for _, tc := range []struct {
		after  float64
		before []float64
		want   string
	}{
		{7.5, nil, "7.5 cores (26%)"},
		{7.5, []float64{7.5}, "7.5 cores (26%)"},
		{13.5, []float64{7.5}, "7.5 → 13.5 cores (47%)"},
		{30, []float64{13.5}, "**13.5 → 30.0 cores (105%)** ⚠️"},
	} {
		if got := figure(tc.after, tc.before, 28.5, "cores"); got != tc.want {
			t.Errorf("figure(%g, %v) = %q, want %q", tc.after, tc.before, got, tc.want)
		}
	}
}
