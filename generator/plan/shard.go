package plan

import (
	"fmt"
	"strconv"
	"strings"
)

// Shard is one runner's share of a plan: Index of Count (1-based), so N
// runners together render every unit once.
type Shard struct {
	Index, Count int
}

// ParseShard parses "I/N" with 1 <= I <= N.
func ParseShard(s string) (*Shard, error) {
	i, n, ok := strings.Cut(s, "/")
	index, err1 := strconv.Atoi(i)
	count, err2 := strconv.Atoi(n)
	if !ok || err1 != nil || err2 != nil || count < 1 || index < 1 || index > count {
		return nil, fmt.Errorf("shard %q: want I/N with 1 <= I <= N", s)
	}
	return &Shard{Index: index, Count: count}, nil
}

// Has reports whether the shard owns the i-th unit of a plan's sorted
// units. Units are dealt out in turn, so shards differ by one unit at most,
// never overlap and together cover the plan; the deal depends only on the
// sorted unit list, so every runner computes the same one.
func (s *Shard) Has(i int) bool { return i%s.Count == s.Index-1 }
