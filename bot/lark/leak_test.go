package lark

import (
	"context"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/callytics/tracebot/bot/lark/larkfake"

	"github.com/callytics/tracebot/bot"
)

// Canary secrets: none may show up anywhere but where Lark needs it (the app
// secret in the tenant token and long-connection bootstrap requests).
const (
	canaryAppSecret = "CANARY-lark-app-secret-9d2c71e0"
	canaryToken     = "CANARY-lark-verify-token-51ab0e7f"
	canaryKey       = "CANARY-lark-encrypt-key-c3f80412"
)

// secretUses are the only requests that may carry the app secret, in the body.
var secretUses = map[string]bool{
	"/open-apis/auth/v3/tenant_access_token/internal": true,
	"/callback/ws/endpoint":                           true,
}

// TestLarkLeaksNoSecret drives every path (webhooks plain and forged, traces,
// clicks, refusals, the long connection, failures) with canary secrets and checks
// what was sent to Lark, every HTTP answer, the logs, the errors and the metrics.
func TestLeaksNoSecret(t *testing.T) {
	t.Parallel()
	reg := prometheus.NewRegistry()
	h := newHarness(t, harnessOpts{appSecret: canaryAppSecret, token: canaryToken, encryptKey: canaryKey, registry: reg})
	var errs []error

	h.deliver(t, "/lark/events", larkfake.URLVerification(canaryToken, "ch-1"))
	ev, card := h.traceDM(t, "ou_alice", testReport)
	forged := larkfake.WebhookRequest(h.srv.URL+"/lark/events", h.dm("ou_mallory", testReport).JSON(), "guessed-key")
	h.do(t, forged)
	wrongToken := h.dm("ou_mallory", testReport)
	wrongToken.Token = "guessed-token"
	h.deliver(t, "/lark/events", wrongToken.JSON())
	h.deliver(t, "/lark/card", h.click(ev.ChatID, card.ID, "ou_bob", findButton(t, cardOf(t, card), bot.ActReprocess)).JSON())
	h.deliver(t, "/lark/card", h.click(ev.ChatID, card.ID, "ou_carol", findButton(t, cardOf(t, card), bot.ActReprocess)).JSON())
	h.fake.RemoveBot("oc_closed")
	h.deliver(t, "/lark/events", h.group("oc_closed", "ou_alice", "@_user_1 "+testReport, larkfake.Mention{Key: "@_user_1", OpenID: "ou_bot"}).JSON())
	h.deliver(t, "/lark/events", h.dm("ou_alice", "nothing to see here").JSON())
	h.drain(t)

	stop := runLarkWS(t, h)
	waitWS(t, h, 1)
	push(t, h, h.dm("ou_dave", testReport).JSON())
	h.drain(t)
	if err := stop(); err != nil {
		errs = append(errs, err)
	}

	h.fake.Fail(larkfake.OpBotInfo, 99991663, http.StatusBadRequest, 1, "Invalid access token for authorization.")
	errs = append(errs, h.edge.Open(context.Background()))
	h.fake.Fail(larkfake.OpPatch, 230001, http.StatusBadRequest, 1, "invalid param")
	errs = append(errs, h.edge.Update(context.Background(), bot.Ref{Channel: ev.ChatID, ID: card.ID}, notice("x")))
	h.fake.Fail(larkfake.OpWSStart, 1000040343, http.StatusOK, 0, "internal error")
	ctx, cancel := context.WithTimeout(context.Background(), 200*time.Millisecond)
	errs = append(errs, h.edge.RunWS(ctx))
	cancel()
	h.edge.cfg.AppSecret = staticSecret(canaryAppSecret + "-rotated")
	_, err := h.edge.Post(context.Background(), bot.Ref{Channel: "oc_x"}, notice("x"), "")
	errs = append(errs, err)

	canaries := []string{canaryAppSecret, canaryToken, canaryKey}
	check := func(where, text string, allowed ...string) {
		t.Helper()
		for _, c := range canaries {
			if strings.Contains(text, c) && !slices.Contains(allowed, c) {
				t.Errorf("%s holds a secret (%.12s…):\n%.400s", where, c, text)
			}
		}
	}
	requests := h.fake.Requests()
	if len(requests) < 10 {
		t.Fatalf("only %d requests reached the fake: the test did not exercise the edge", len(requests))
	}
	for _, r := range requests {
		where := r.Method + " " + r.Path
		check(where+" headers", fmt.Sprint(r.Header)+r.RawQuery)
		if secretUses[r.Path] {
			check(where+" body", string(r.Body), canaryAppSecret, canaryAppSecret+"-rotated")
		} else {
			check(where+" body", string(r.Body))
		}
	}
	for i, a := range h.answers {
		check(fmt.Sprintf("HTTP answer %d", i), a)
	}
	check("logs", h.logs.String())
	for _, err := range errs {
		if err != nil {
			check("error", err.Error())
		}
	}
	if families, err := reg.Gather(); err == nil {
		check("metrics", fmt.Sprint(families))
	}
	if !strings.Contains(h.logs.String(), "request refused") {
		t.Error("the forged requests were not logged: the test did not reach the refusal path")
	}
}
