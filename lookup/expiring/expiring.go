// Package expiring is a bounded LRU cache whose entries lapse a fixed time after
// they were added. Expiry is judged when an entry is read, so the cache starts no
// goroutine: golang-lru's expirable LRU starts a cleanup goroutine that can never
// be stopped, which outlives every bot, edge and report engine that holds one.
package expiring

import (
	"time"

	lru "github.com/hashicorp/golang-lru/v2"
)

// Cache is a bounded LRU cache whose entries lapse ttl after they were added. It
// is safe for concurrent use. The zero value is not usable; use New.
type Cache[K comparable, V any] struct {
	ttl   time.Duration
	now   func() time.Time
	cache *lru.Cache[K, entry[V]]
}

type entry[V any] struct {
	value   V
	expires time.Time
}

// New returns a cache of at most size entries (at least 1), each kept for ttl.
func New[K comparable, V any](size int, ttl time.Duration) *Cache[K, V] {
	c, _ := lru.New[K, entry[V]](max(size, 1)) // fails only for a size <= 0
	return &Cache[K, V]{ttl: ttl, now: time.Now, cache: c}
}

// Add stores v under k for ttl, evicting the least recently used entry when full.
func (c *Cache[K, V]) Add(k K, v V) {
	c.cache.Add(k, entry[V]{value: v, expires: c.now().Add(c.ttl)})
}

// Get returns the value under k unless it lapsed (a lapsed entry is removed).
func (c *Cache[K, V]) Get(k K) (V, bool) {
	e, ok := c.cache.Get(k)
	if ok && c.now().Before(e.expires) {
		return e.value, true
	}
	if ok {
		c.cache.Remove(k)
	}
	var zero V
	return zero, false
}

// SetClock replaces the clock entries are dated by (tests).
func (c *Cache[K, V]) SetClock(now func() time.Time) { c.now = now }
