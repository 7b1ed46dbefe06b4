package expiring

import (
	"testing"
	"time"
)

func TestEntriesLapseAfterTTL(t *testing.T) {
	now := time.Date(2026, 5, 22, 12, 0, 0, 0, time.UTC)
	c := New[string, int](2, time.Minute)
	c.SetClock(func() time.Time { return now })
	c.Add("a", 1)
	if v, ok := c.Get("a"); !ok || v != 1 {
		t.Fatalf("fresh entry: got %d, %v", v, ok)
	}
	now = now.Add(59 * time.Second)
	if _, ok := c.Get("a"); !ok {
		t.Error("an entry younger than the ttl lapsed")
	}
	now = now.Add(time.Second)
	if _, ok := c.Get("a"); ok {
		t.Error("an entry as old as the ttl is still served")
	}
	c.Add("a", 2)
	if v, _ := c.Get("a"); v != 2 {
		t.Errorf("re-added entry = %d, want 2", v)
	}
}

func TestSizeBound(t *testing.T) {
	c := New[int, int](2, time.Hour)
	for i := range 3 {
		c.Add(i, i)
	}
	if _, ok := c.Get(0); ok {
		t.Error("the least recently used entry was kept past the bound")
	}
	for _, k := range []int{1, 2} {
		if _, ok := c.Get(k); !ok {
			t.Errorf("entry %d was dropped", k)
		}
	}
	if New[int, int](0, time.Hour) == nil {
		t.Error("a size of 0 must still give a cache")
	}
}
