package bot

import (
	"time"

	ttl "github.com/callytics/tracebot/lookup/expiring"
)

// expiring is a bounded LRU cache whose entries lapse ttl after they were added;
// it starts no goroutine (see lookup/expiring).
type expiring[K comparable, V any] = ttl.Cache[K, V]

func newExpiring[K comparable, V any](size int, lapse time.Duration) *expiring[K, V] {
	return ttl.New[K, V](size, lapse)
}
