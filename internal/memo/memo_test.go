package memo

import (
	"testing"
	"time"
)

func TestCache(t *testing.T) {
	now := time.Date(2026, 11, 22, 0, 0, 0, 0, time.UTC)
	c := New[string, int](10*time.Second, 2, func() time.Time { return now })
	c.Put("a", 1, time.Time{})
	c.Put("b", 2, now.Add(3*time.Second))
	if v, ok := c.Get("a"); !ok || v != 1 {
		t.Errorf("a = %d, %v", v, ok)
	}
	now = now.Add(3 * time.Second)
	if _, ok := c.Get("b"); ok {
		t.Error("b outlived its notAfter")
	}
	if _, ok := c.Get("a"); !ok {
		t.Error("a expired early")
	}
	now = now.Add(7 * time.Second)
	if _, ok := c.Get("a"); ok {
		t.Error("a outlived the ttl")
	}
	c.Put("c", 3, time.Time{})
	c.Put("d", 4, time.Time{})
	c.Put("e", 5, time.Time{})
	if len(c.m) > 2 {
		t.Errorf("%d entries, max 2", len(c.m))
	}
	if v, ok := c.Get("e"); !ok || v != 5 {
		t.Errorf("newest entry missing: %d, %v", v, ok)
	}
	c.Forget("e")
	if _, ok := c.Get("e"); ok {
		t.Error("Forget kept e")
	}
}
