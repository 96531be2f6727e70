package report

import (
	"fmt"
	"math"
	"strings"

	"github.com/libertum/platform-gitops/generator/action"
	"github.com/libertum/platform-gitops/generator/capacity"
)

// touchedEnvs are the environments whose rendered objects the change
// alters: their stamps' capacity is shown.
func touchedEnvs(r *action.Review) map[string]bool {
	out := map[string]bool{}
	for _, u := range r.Units {
		out[u.Env] = true
	}
	return out
}

// percent is a demand as a share of a budget.
func percent(need, budget float64) int {
	if budget <= 0 {
		return 0
	}
	return int(math.Round(100 * need / budget))
}

// figure writes an amount against its budget, with what it was before
// (when there was a before) if the change moves it.
func figure(after float64, before []float64, budget float64, unit string) string {
	s := fmt.Sprintf("%.1f %s (%d%%)", after, unit, percent(after, budget))
	if len(before) == 1 && fmt.Sprintf("%.1f", before[0]) != fmt.Sprintf("%.1f", after) {
		s = fmt.Sprintf("%.1f → %s", before[0], s)
	}
	if percent(after, budget) > 100 {
		s = "**" + s + "** ⚠️"
	}
	return s
}

// capacitySection is the capacity headroom of every stamp of the
// environments the change touches: a table, and per environment a chart
// GitHub renders (Mermaid's xychart) of each stamp's CPU and memory
// requests at peak and at failover as a share of its node budget, with the
// budget as a line at 100%.
func capacitySection(r *action.Review) []piece {
	touched := touchedEnvs(r)
	var rows []action.StampCapacity
	for _, c := range r.Capacity {
		if touched[c.After.Env] {
			rows = append(rows, c)
		}
	}
	if len(rows) == 0 {
		return nil
	}
	var ps []piece
	ps = append(ps, piece{text: "### 📊 Capacity headroom of the stamps\n\n" +
		"Requests at the stamp's own peak, and at failover (the stamp takes the traffic of the neighbour whose loss loads it most, by Front Door's weights: the autoscalers' maxima are sized for it), against the node budget (autoscaler maximum × allocatable).\n\n"})
	header := "| stamp | CPU at peak | CPU at failover | memory at peak | memory at failover | node budget |\n|---|---:|---:|---:|---:|---:|\n"
	for _, c := range rows {
		a := c.After
		// was gives one figure of the stamp before the change, none for a
		// stamp the change adds.
		was := func(get func(capacity.Stamp) float64) []float64 {
			if c.Before == nil {
				return nil
			}
			return []float64{get(*c.Before)}
		}
		cpuF, memF := "no other stamp", "no other stamp"
		if a.FailoverFrom != "" {
			cpuF = figure(a.Failover.CPU, was(func(s capacity.Stamp) float64 { return s.Failover.CPU }), a.Budget.CPU, "cores") +
				fmt.Sprintf(" (without %s, ×%.2g)", a.FailoverFrom, a.Factor)
			memF = figure(a.Failover.Memory, was(func(s capacity.Stamp) float64 { return s.Failover.Memory }), a.Budget.Memory, "GiB")
		}
		ps = append(ps, piece{table: header, text: fmt.Sprintf("| %s/%s | %s | %s | %s | %s | %.1f cores, %.1f GiB |\n",
			a.Env, a.Stamp,
			figure(a.Peak.CPU, was(func(s capacity.Stamp) float64 { return s.Peak.CPU }), a.Budget.CPU, "cores"), cpuF,
			figure(a.Peak.Memory, was(func(s capacity.Stamp) float64 { return s.Peak.Memory }), a.Budget.Memory, "GiB"), memF,
			a.Budget.CPU, a.Budget.Memory)})
	}
	ps = append(ps, piece{text: "\n"})
	for _, env := range r.Envs {
		if chart := capacityChart(env, rows); chart != "" {
			ps = append(ps, piece{text: chart})
		}
	}
	return ps
}

// capacityChart draws one environment's stamps as bars of percent of their
// node budget.
func capacityChart(env string, rows []action.StampCapacity) string {
	var labels []string
	var bars, budget []int
	top := 100
	for _, c := range rows {
		a := c.After
		if a.Env != env {
			continue
		}
		add := func(label string, need, of float64) {
			p := percent(need, of)
			labels = append(labels, fmt.Sprintf("%q", a.Stamp+" "+label))
			bars = append(bars, p)
			budget = append(budget, 100)
			top = max(top, p)
		}
		add("CPU peak", a.Peak.CPU, a.Budget.CPU)
		if a.FailoverFrom != "" {
			add("CPU failover", a.Failover.CPU, a.Budget.CPU)
		}
		add("mem peak", a.Peak.Memory, a.Budget.Memory)
		if a.FailoverFrom != "" {
			add("mem failover", a.Failover.Memory, a.Budget.Memory)
		}
	}
	if len(bars) == 0 {
		return ""
	}
	ints := func(xs []int) string {
		s := make([]string, len(xs))
		for i, x := range xs {
			s[i] = fmt.Sprint(x)
		}
		return strings.Join(s, ", ")
	}
	top = (top/25 + 1) * 25
	var b strings.Builder
	fmt.Fprintf(&b, "**%s**\n\n```mermaid\nxychart-beta\n", env)
	fmt.Fprintf(&b, "  title \"%s: requests as %% of the node budget (line: the budget)\"\n", env)
	fmt.Fprintf(&b, "  x-axis [%s]\n", strings.Join(labels, ", "))
	fmt.Fprintf(&b, "  y-axis \"%% of node budget\" 0 --> %d\n", top)
	fmt.Fprintf(&b, "  bar [%s]\n", ints(bars))
	fmt.Fprintf(&b, "  line [%s]\n", ints(budget))
	b.WriteString("```\n\n")
	return b.String()
}
