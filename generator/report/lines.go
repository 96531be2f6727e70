package report

import (
	"fmt"
	"strings"
)

// multiline reports whether a change's values are text over several lines
// (a configuration file in a ConfigMap, an alert rule file, an nginx
// snippet): those are shown as a line diff, not cut to a prefix.
func multiline(old, new any) (string, string, bool) {
	o, okO := old.(string)
	n, okN := new.(string)
	if old == nil {
		o, okO = "", true
	}
	if new == nil {
		n, okN = "", true
	}
	return o, n, okO && okN && (strings.Contains(o, "\n") || strings.Contains(n, "\n"))
}

// diffContext is how many unchanged lines a hunk shows around a change.
const diffContext = 2

// maxDiffCells bounds the line diff's table (lines x lines) for the part
// between the common prefix and suffix; past it the part is shown removed
// and added whole.
const maxDiffCells = 1 << 20

// lineDiff returns a unified diff of two texts' lines: hunks headed "@@",
// unchanged lines " ", removed "-", added "+".
func lineDiff(old, new string) []string {
	a, b := strings.Split(strings.TrimSuffix(old, "\n"), "\n"), strings.Split(strings.TrimSuffix(new, "\n"), "\n")
	if old == "" {
		a = nil
	}
	if new == "" {
		b = nil
	}
	// Common prefix and suffix: a change to a configuration is local.
	pre := 0
	for pre < len(a) && pre < len(b) && a[pre] == b[pre] {
		pre++
	}
	suf := 0
	for suf < len(a)-pre && suf < len(b)-pre && a[len(a)-1-suf] == b[len(b)-1-suf] {
		suf++
	}
	ops := make([]string, 0, len(a)+len(b))
	for _, l := range a[:pre] {
		ops = append(ops, " "+l)
	}
	ops = append(ops, middle(a[pre:len(a)-suf], b[pre:len(b)-suf])...)
	for _, l := range a[len(a)-suf:] {
		ops = append(ops, " "+l)
	}
	return hunks(ops)
}

// middle diffs the changed part by its longest common subsequence.
func middle(a, b []string) []string {
	var out []string
	if len(a)*len(b) > maxDiffCells {
		for _, l := range a {
			out = append(out, "-"+l)
		}
		for _, l := range b {
			out = append(out, "+"+l)
		}
		return out
	}
	// lcs[i][j]: the longest common subsequence of a[i:] and b[j:].
	lcs := make([][]int32, len(a)+1)
	for i := range lcs {
		lcs[i] = make([]int32, len(b)+1)
	}
	for i := len(a) - 1; i >= 0; i-- {
		for j := len(b) - 1; j >= 0; j-- {
			if a[i] == b[j] {
				lcs[i][j] = lcs[i+1][j+1] + 1
			} else {
				lcs[i][j] = max(lcs[i+1][j], lcs[i][j+1])
			}
		}
	}
	i, j := 0, 0
	for i < len(a) || j < len(b) {
		switch {
		case i < len(a) && j < len(b) && a[i] == b[j]:
			out = append(out, " "+a[i])
			i, j = i+1, j+1
		case i < len(a) && (j == len(b) || lcs[i+1][j] >= lcs[i][j+1]):
			out = append(out, "-"+a[i])
			i++
		default:
			out = append(out, "+"+b[j])
			j++
		}
	}
	return out
}

// hunks keeps the changed lines with diffContext unchanged lines around
// each, and an "@@ line N" header where a hunk starts (N: its first line
// in the old text).
func hunks(ops []string) []string {
	keep := make([]bool, len(ops))
	for i, op := range ops {
		if op[0] == ' ' {
			continue
		}
		for k := max(0, i-diffContext); k <= min(len(ops)-1, i+diffContext); k++ {
			keep[k] = true
		}
	}
	var out []string
	oldLine := 1
	for i, op := range ops {
		if keep[i] {
			if i == 0 || !keep[i-1] {
				out = append(out, fmt.Sprintf("@@ line %d", oldLine))
			}
			out = append(out, op)
		}
		if op[0] != '+' {
			oldLine++
		}
	}
	return out
}
