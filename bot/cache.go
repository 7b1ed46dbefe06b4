package bot

import (
	"time"

	lru "github.com/hashicorp/golang-lru/v2"
)

// expiring is a bounded LRU cache whose entries lapse ttl after they were added.
// Expiry is judged when an entry is read, so it starts no goroutine (golang-lru's
// expirable LRU starts a cleanup goroutine that can never be stopped). It is safe
// for concurrent use.
type expiring[K comparable, V any] struct {
	ttl   time.Duration
	now   func() time.Time
	cache *lru.Cache[K, expiringEntry[V]]
}

type expiringEntry[V any] struct {
	value   V
	expires time.Time
}

func newExpiring[K comparable, V any](size int, ttl time.Duration) *expiring[K, V] {
	c, _ := lru.New[K, expiringEntry[V]](size) // fails only for size <= 0
	return &expiring[K, V]{ttl: ttl, now: time.Now, cache: c}
}

// Add stores v under k for ttl, evicting the least recently used entry when full.
func (c *expiring[K, V]) Add(k K, v V) {
	c.cache.Add(k, expiringEntry[V]{value: v, expires: c.now().Add(c.ttl)})
}

// Get returns the value under k unless it lapsed.
func (c *expiring[K, V]) Get(k K) (V, bool) {
	e, ok := c.cache.Get(k)
	if !ok || !c.now().Before(e.expires) {
		var zero V
		return zero, false
	}
	return e.value, true
}
