package state

import (
	"context"
	"errors"
	"strconv"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

func TestStoreLease(t *testing.T) {
	const ttl = 20 * time.Second
	steps := []struct {
		name    string
		advance time.Duration
		holder  string
		release bool
		want    bool
	}{
		{name: "free: a takes it", holder: "a", want: true},
		{name: "b cannot", holder: "b", want: false},
		{name: "a renews", advance: ttl - time.Second, holder: "a", want: true},
		{name: "renewed: b still cannot", advance: ttl - time.Second, holder: "b", want: false},
		{name: "expired: b takes it", advance: time.Second, holder: "b", want: true},
		{name: "a lost it", holder: "a", want: false},
		{name: "b releases", holder: "b", release: true},
		{name: "a takes it at once", holder: "a", want: true},
	}
	forEachStore(t, func(t *testing.T, h storeHarness) {
		for _, st := range steps {
			h.advance(t, st.advance)
			if st.release {
				if err := h.store.ReleaseLease(t.Context(), "alerts", st.holder); err != nil {
					t.Fatalf("%s: %v", st.name, err)
				}
				continue
			}
			got, err := h.store.AcquireLease(t.Context(), "alerts", st.holder, ttl)
			if err != nil {
				t.Fatalf("%s: %v", st.name, err)
			}
			if got != st.want {
				t.Errorf("%s: AcquireLease(%s) = %v, want %v", st.name, st.holder, got, st.want)
			}
		}
		if _, err := h.store.AcquireLease(t.Context(), "alerts", "", ttl); err == nil {
			t.Error("an empty holder was accepted")
		}
	})
}

func testEpisode(rule, key, level string) AlertEpisode {
	return AlertEpisode{Rule: rule, Key: key, Subject: key, Level: level, Message: rule + " " + level, Alert: []byte(`{"rule":"` + rule + `"}`)}
}

func TestStoreEpisodes(t *testing.T) {
	forEachStore(t, func(t *testing.T, h storeHarness) {
		ctx := t.Context()
		first, opened, err := h.store.OpenEpisode(ctx, testEpisode("length_spike", "coaching", "warning"))
		if err != nil || !opened || first.ID == "" || first.ClosedAt != nil {
			t.Fatalf("first open: %+v %v %v", first, opened, err)
		}
		h.advance(t, time.Minute)
		again := testEpisode("length_spike", "coaching", "warning")
		again.Message = "newer numbers"
		same, opened, err := h.store.OpenEpisode(ctx, again)
		if err != nil || opened || same.ID != first.ID || same.Message != "newer numbers" || !same.SeenAt.After(same.OpenedAt) {
			t.Fatalf("second open: %+v %v %v", same, opened, err)
		}
		other, opened, err := h.store.OpenEpisode(ctx, testEpisode("length_spike", "contacts", "warning"))
		if err != nil || !opened || other.ID == first.ID {
			t.Fatalf("other stage: %+v %v %v", other, opened, err)
		}
		if err := h.store.CloseEpisode(ctx, first.ID); err != nil {
			t.Fatal(err)
		}
		if err := h.store.CloseEpisode(ctx, first.ID); err != nil {
			t.Fatalf("closing twice: %v", err)
		}
		next, opened, err := h.store.OpenEpisode(ctx, testEpisode("length_spike", "coaching", "warning"))
		if err != nil || !opened || next.ID == first.ID {
			t.Fatalf("after close: %+v %v %v", next, opened, err)
		}
		ids := func() []string {
			eps, err := h.store.UnsettledEpisodes(ctx)
			if err != nil {
				t.Fatal(err)
			}
			var out []string
			for _, ep := range eps {
				out = append(out, ep.ID)
				if ep.ID == first.ID && ep.ClosedAt == nil {
					t.Errorf("episode %s not closed", ep.ID)
				}
			}
			return out
		}
		if diff := cmp.Diff([]string{first.ID, other.ID, next.ID}, ids()); diff != "" {
			t.Errorf("unsettled (-want +got):\n%s", diff)
		}
		if err := h.store.SettleEpisode(ctx, first.ID); err != nil {
			t.Fatal(err)
		}
		if diff := cmp.Diff([]string{other.ID, next.ID}, ids()); diff != "" {
			t.Errorf("unsettled after settling (-want +got):\n%s", diff)
		}
		for _, err := range []error{h.store.CloseEpisode(ctx, "9999"), h.store.SettleEpisode(ctx, "nope")} {
			if !errors.Is(err, ErrNoEpisode) {
				t.Errorf("unknown episode: %v, want ErrNoEpisode", err)
			}
		}
	})
}

func TestStoreAlertPostClaims(t *testing.T) {
	const stale = 2 * time.Minute
	forEachStore(t, func(t *testing.T, h storeHarness) {
		ctx := t.Context()
		ep, _, err := h.store.OpenEpisode(ctx, testEpisode("cache_collapse", "", "warning"))
		if err != nil {
			t.Fatal(err)
		}
		p := AlertPost{Rule: "cache_collapse", EpisodeID: ep.ID, Channel: "C0ALERTS", Kind: PostAlert, Holder: "a"}
		claim := func(holder string, wantOK bool, wantAttempts int) AlertPost {
			t.Helper()
			q := p
			q.Holder = holder
			got, ok, err := h.store.ClaimAlertPost(ctx, q, stale)
			if err != nil {
				t.Fatal(err)
			}
			if ok != wantOK || got.Attempts != wantAttempts {
				t.Fatalf("claim by %s: ok %v attempts %d (%+v), want %v %d", holder, ok, got.Attempts, got, wantOK, wantAttempts)
			}
			return got
		}
		first := claim("a", true, 1)
		claim("b", false, 1) // pending and fresh
		first.State, first.Error = PostFailed, "slack chat.postMessage C0ALERTS: ratelimited"
		if err := h.store.FinishAlertPost(ctx, first); err != nil {
			t.Fatal(err)
		}
		second := claim("b", true, 2) // failed: the next interval retries
		h.advance(t, stale)
		third := claim("a", true, 3) // b died mid-post
		second.State, second.MessageID = PostDone, "1.0002"
		if err := h.store.FinishAlertPost(ctx, second); !errors.Is(err, ErrNotClaimed) {
			t.Fatalf("finishing a claim taken over: %v, want ErrNotClaimed", err)
		}
		third.State, third.MessageID, third.Thread = PostDone, "1779465600.000003", ""
		if err := h.store.FinishAlertPost(ctx, third); err != nil {
			t.Fatal(err)
		}
		done := claim("b", false, 3)
		if done.State != PostDone || done.MessageID != "1779465600.000003" || done.DoneAt == nil {
			t.Errorf("done claim %+v", done)
		}
		h.advance(t, time.Hour)
		claim("b", false, 3) // posted is final, however old

		refused := AlertPost{Rule: "cache_collapse", EpisodeID: ep.ID, Channel: "oc_gone", Kind: PostAlert, Holder: "a"}
		r, ok, err := h.store.ClaimAlertPost(ctx, refused, stale)
		if err != nil || !ok {
			t.Fatal(ok, err)
		}
		r.State, r.Error = PostRefused, "lark: bot not in chat"
		if err := h.store.FinishAlertPost(ctx, r); err != nil {
			t.Fatal(err)
		}
		if _, ok, _ := h.store.ClaimAlertPost(ctx, refused, stale); ok {
			t.Error("a refused channel was claimed again in the same episode")
		}
		posts, err := h.store.AlertPosts(ctx, ep.ID)
		if err != nil {
			t.Fatal(err)
		}
		if len(posts) != 2 || posts[0].Channel != "C0ALERTS" || posts[1].State != PostRefused {
			t.Errorf("posts %+v", posts)
		}
		bad := third
		bad.State = PostPending
		if err := h.store.FinishAlertPost(ctx, bad); err == nil {
			t.Error("a pending outcome was accepted")
		}
	})
}

func TestStoreAlertPostClaimRace(t *testing.T) {
	forEachStore(t, func(t *testing.T, h storeHarness) {
		ep, _, err := h.store.OpenEpisode(t.Context(), testEpisode("cost_spike", "", "warning"))
		if err != nil {
			t.Fatal(err)
		}
		results := race(20, func(i int) (bool, error) {
			_, ok, err := h.store.ClaimAlertPost(context.Background(), AlertPost{Rule: "cost_spike", EpisodeID: ep.ID,
				Channel: "C0ALERTS", Kind: PostAlert, Holder: "r" + strconv.Itoa(i)}, time.Minute)
			return ok, err
		})
		if got := countWins(t, results); got != 1 {
			t.Errorf("%d of 20 concurrent claims won, want 1", got)
		}
	})
}

// TestPostgresStoreTwoReplicasAlerts: two store instances on one database race
// for the lease, the episode and each post; exactly one wins each.
func TestPostgresStoreTwoReplicasAlerts(t *testing.T) {
	t.Parallel()
	dsn := sharedPG.NewDatabase(t)
	replicas := []*Postgres{openTestPostgresStore(t, dsn), openTestPostgresStore(t, dsn)}
	leases := race(20, func(i int) (bool, error) {
		return replicas[i%2].AcquireLease(context.Background(), "alerts", "replica-"+strconv.Itoa(i), time.Minute)
	})
	if got := countWins(t, leases); got != 1 {
		t.Errorf("%d of 20 lease attempts won, want 1", got)
	}
	opens := race(20, func(i int) (AlertEpisode, error) {
		ep, _, err := replicas[i%2].OpenEpisode(context.Background(), testEpisode("backend_failures", "OpenRouter", "critical"))
		return ep, err
	})
	for i, r := range opens {
		if r.err != nil || r.value.ID != opens[0].value.ID {
			t.Fatalf("opener %d: %+v %v (first got %s)", i, r.value, r.err, opens[0].value.ID)
		}
	}
	for _, ch := range []string{"C0ALERTS", "oc_alerts"} {
		claims := race(20, func(i int) (bool, error) {
			_, ok, err := replicas[i%2].ClaimAlertPost(context.Background(), AlertPost{Rule: "backend_failures",
				EpisodeID: opens[0].value.ID, Channel: ch, Kind: PostAlert, Holder: "replica-" + strconv.Itoa(i%2)}, time.Minute)
			return ok, err
		})
		if got := countWins(t, claims); got != 1 {
			t.Errorf("%s: %d of 20 claims won, want 1", ch, got)
		}
	}
}

func TestStoreMutes(t *testing.T) {
	forEachStore(t, func(t *testing.T, h storeHarness) {
		ctx := t.Context()
		m, err := h.store.Mute(ctx, AlertMute{Rule: "length_spike", Subject: "coaching", By: "U0ALICE", Platform: "slack", Channel: "C0ALERTS"}, 24*time.Hour)
		if err != nil || m.Until.Sub(m.At) != 24*time.Hour {
			t.Fatalf("mute: %+v %v", m, err)
		}
		active := func(rule, subject string) (AlertMute, bool) {
			t.Helper()
			got, ok, err := h.store.ActiveMute(ctx, rule, subject)
			if err != nil {
				t.Fatal(err)
			}
			return got, ok
		}
		if got, ok := active("length_spike", "coaching"); !ok || got.By != "U0ALICE" {
			t.Errorf("active mute: %+v %v", got, ok)
		}
		if _, ok := active("length_spike", "contacts"); ok {
			t.Error("a mute of coaching holds for contacts")
		}
		h.advance(t, 23*time.Hour)
		if _, err := h.store.Mute(ctx, AlertMute{Rule: "length_spike", Subject: "coaching", By: "U0BOB"}, 24*time.Hour); err != nil {
			t.Fatal(err)
		}
		h.advance(t, 2*time.Hour)
		if got, ok := active("length_spike", "coaching"); !ok || got.By != "U0BOB" {
			t.Errorf("the later mute should hold: %+v %v", got, ok)
		}
		h.advance(t, 22*time.Hour)
		if got, ok := active("length_spike", "coaching"); ok {
			t.Errorf("mute still active after 24h: %+v", got)
		}
		if _, err := h.store.Mute(ctx, AlertMute{Rule: "budget"}, time.Hour); err == nil {
			t.Error("a mute without a user was accepted")
		}
	})
}

func TestStoreTraceFailures(t *testing.T) {
	forEachStore(t, func(t *testing.T, h storeHarness) {
		ctx := t.Context()
		at := storeTestEpoch.Add(time.Hour)
		fails := []TraceFailure{
			{Step: "logs", Backend: "CloudWatch us-east-2", Cause: "cloudwatch us-east-2: AccessDeniedException"},
			{Step: "generations", Backend: "OpenRouter", Cause: "classify: openrouter gen-1: HTTP 401"},
		}
		for i, rec := range []TraceRecord{
			{TraceID: "tr-old", Outcome: "traced", Failures: fails[:1], CreatedAt: at.Add(-time.Hour)},
			{TraceID: "tr-1", Outcome: "traced", Failures: fails, CreatedAt: at},
			{TraceID: "tr-ok", Outcome: "traced", CreatedAt: at.Add(time.Minute)},
		} {
			if err := h.store.RecordTrace(ctx, rec); err != nil {
				t.Fatalf("record %d: %v", i, err)
			}
		}
		got, err := h.store.TraceFailures(ctx, at.Add(-time.Minute))
		if err != nil {
			t.Fatal(err)
		}
		want := []FailureRecord{{TraceID: "tr-1", TraceFailure: fails[0], At: at}, {TraceID: "tr-1", TraceFailure: fails[1], At: at}}
		if diff := cmp.Diff(want, got, cmpTime); diff != "" {
			t.Errorf("failures (-want +got):\n%s", diff)
		}
		h2, err := h.store.History(ctx, HistoryQuery{Since: at})
		if err != nil {
			t.Fatal(err)
		}
		if len(h2.Traces) != 2 || len(h2.Traces[1].Failures) != 2 || h2.Traces[1].Failures[1].Backend != "OpenRouter" || h2.Traces[0].Failures != nil {
			t.Errorf("history traces %+v", h2.Traces)
		}
	})
}

// cmpTime compares instants, whatever their location (Postgres returns local).
var cmpTime = cmp.Comparer(func(a, b time.Time) bool { return a.Equal(b) })

func TestStoreAlertHistory(t *testing.T) {
	forEachStore(t, func(t *testing.T, h storeHarness) {
		ctx := t.Context()
		ep, _, err := h.store.OpenEpisode(ctx, testEpisode("cache_collapse", "", "warning"))
		if err != nil {
			t.Fatal(err)
		}
		finish := func(ch string, kind AlertPostKind, st AlertPostState) {
			t.Helper()
			p, ok, err := h.store.ClaimAlertPost(ctx, AlertPost{Rule: "cache_collapse", EpisodeID: ep.ID, Channel: ch, Kind: kind, Holder: "a"}, time.Minute)
			if err != nil || !ok {
				t.Fatal(ok, err)
			}
			p.State, p.MessageID = st, "m-"+ch
			if st == PostRefused {
				p.Error = "cannot post"
			}
			if err := h.store.FinishAlertPost(ctx, p); err != nil {
				t.Fatal(err)
			}
		}
		finish("C0ALERTS", PostAlert, PostDone)
		h.advance(t, time.Second)
		finish("oc_gone", PostAlert, PostRefused)
		h.advance(t, time.Hour)
		finish("C0ALERTS", PostResolved, PostDone)
		pending, _, _ := h.store.ClaimAlertPost(ctx, AlertPost{Rule: "cache_collapse", EpisodeID: ep.ID, Channel: "oc_alerts", Kind: PostAlert, Holder: "a"}, time.Minute)
		_ = pending // a pending post is not history
		if _, err := h.store.Mute(ctx, AlertMute{Rule: "cache_collapse", By: "U0ALICE", Channel: "C0ALERTS"}, 24*time.Hour); err != nil {
			t.Fatal(err)
		}
		hist, err := h.store.History(ctx, HistoryQuery{})
		if err != nil {
			t.Fatal(err)
		}
		var got []string
		for _, e := range hist.Alerts {
			got = append(got, e.Event+" "+e.Channel+" "+e.By)
		}
		want := []string{"muted C0ALERTS U0ALICE", "resolved C0ALERTS ", "refused oc_gone ", "posted C0ALERTS "}
		if diff := cmp.Diff(want, got); diff != "" {
			t.Errorf("alert history (-want +got):\n%s", diff)
		}
		byUser, err := h.store.History(ctx, HistoryQuery{User: "U0ALICE"})
		if err != nil {
			t.Fatal(err)
		}
		if len(byUser.Alerts) != 1 || byUser.Alerts[0].Event != EventMuted {
			t.Errorf("history of one user: %+v", byUser.Alerts)
		}
	})
}
