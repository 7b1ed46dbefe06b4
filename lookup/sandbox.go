package lookup

import (
	"context"
	"encoding/json"
	"sort"
	"strings"
	"time"
)

// SandboxNow is "now" in the sandbox, so "5/20" always means 2026-05-20.
var SandboxNow = time.Date(2026, 5, 22, 16, 0, 0, 0, time.UTC)

// SandboxReports are reports that exercise each sandbox case, for help texts and docs.
var SandboxReports = []struct{ Case, Report string }{
	{"the runbook's example (verdict model_output)", "(914) 265-4371 5/20 1:15pm"},
	{"the stored analysis differs from the model's answer (verdict mapping_bug)", "646-555-0134 5/21 2pm"},
	{"several candidates", "312-555-0142 5/21 10:30am"},
	{"missing generation id, nothing stored (verdict unknown)", "+1 415 555 0123 May 19 around 9:40am"},
	{"truncated output (length; verdict truncated_output)", "617.555.0199 2026-05-18 16:20"},
	{"reprocessed call", "305-555-0187 5月17日 上午11点"},
	{"no call found", "(914) 265-4371 5/10 9am"},
}

// Sandbox is the built-in world of sample data behind --sandbox: the same interfaces as the
// real backends, answering from fixed data so every code path can be seen without
// cloud access.
type Sandbox struct {
	Calls       CallStore
	Usage       UsageSearcher
	Generations GenerationFetcher
	Contents    ContentFetcher // stored content (SPEC §11)
	Analyses    AnalysisReader // stored analyses (SPEC §11)
}

// NewSandbox returns the sandbox. delay, when positive, is added to every
// backend call so progress can be watched.
func NewSandbox(delay time.Duration) Sandbox {
	w := NewSandboxData()
	return Sandbox{
		Calls:       &sandboxCalls{calls: w.Calls, delay: delay},
		Usage:       &sandboxUsage{rows: w.Rows, delay: delay},
		Generations: &sandboxGenerations{gens: w.Generations, delay: delay},
		Contents:    &sandboxContents{contents: w.Contents, delay: delay},
		Analyses:    &sandboxAnalysisReader{objects: w.Analyses, delay: delay},
	}
}

// SandboxData is the data of the sandbox: calls, their ai_usage lines by session,
// OpenRouter generations and their stored content by id, and the stored analyses by
// s3_analysis_path. Tests load it into real backends too.
type SandboxData struct {
	Calls       []Call
	Rows        map[string][]UsageRow // telephony_session_id → lines
	Generations map[string]Generation
	Contents    map[string]SandboxContent  // generation id → stored content
	Analyses    map[string]json.RawMessage // s3_analysis_path → the stored object
}

// NewSandboxData returns a fresh copy of the sandbox data.
func NewSandboxData() SandboxData {
	w := SandboxData{Rows: map[string][]UsageRow{}, Generations: map[string]Generation{}}
	for _, sc := range sandboxCallList() {
		w.Calls = append(w.Calls, sc.call)
		for _, st := range sc.stages {
			row := sandboxRow(sc, st)
			w.Rows[sc.call.TelephonySessionID] = append(w.Rows[sc.call.TelephonySessionID], row)
			if st.genID != "" {
				w.Generations[st.genID] = sandboxGeneration(st, row.Timestamp)
			}
		}
	}
	sandboxVerdictData(&w)
	return w
}

var sandboxRegions = []string{"us-east-1", "us-west-2", "us-east-2"}

func sandboxGroup(region, lambda string) string {
	return "/aws/lambda/call-analytics-prod-" + lambda + "-" + region
}

type sandboxCalls struct {
	calls []Call
	delay time.Duration
}

func (s *sandboxCalls) FindCalls(ctx context.Context, q CallQuery) ([]Call, error) {
	if err := Sleep(ctx, s.delay); err != nil {
		return nil, err
	}
	var out []Call
	for _, c := range s.calls {
		col := matchColumn(c, q.Phone, q.Direction)
		if col == "" || c.CreatedAt.Before(q.From) || c.CreatedAt.After(q.To) {
			continue
		}
		c.MatchedColumn = col
		out = append(out, c)
	}
	sortByDistance(out, q.At)
	return out, nil
}

func (s *sandboxCalls) CallBySession(ctx context.Context, id string) (Call, error) {
	if err := Sleep(ctx, s.delay); err != nil {
		return Call{}, err
	}
	for _, c := range s.calls {
		if c.TelephonySessionID == id {
			return c, nil
		}
	}
	return Call{}, Errorf(CodeNotFound, "no call with telephony_session_id %q", id)
}

func matchColumn(c Call, phone string, d Direction) string {
	switch {
	case d == DirectionInbound:
		return pick(c.FromPhoneNumber == phone, "from_phone_number")
	case d == DirectionOutbound:
		return pick(c.ToPhoneNumber == phone, "to_phone_number")
	case c.ContactPhone == phone:
		return "contact_phone"
	case c.FromPhoneNumber == phone:
		return "from_phone_number"
	case c.ToPhoneNumber == phone:
		return "to_phone_number"
	}
	return ""
}

func pick(ok bool, s string) string {
	if ok {
		return s
	}
	return ""
}

// sortByDistance orders calls closest to at first, newest first when at is nil.
func sortByDistance(calls []Call, at *time.Time) {
	sort.SliceStable(calls, func(i, j int) bool {
		if at == nil {
			return calls[i].CreatedAt.After(calls[j].CreatedAt)
		}
		return absDur(calls[i].CreatedAt.Sub(*at)) < absDur(calls[j].CreatedAt.Sub(*at))
	})
}

func absDur(d time.Duration) time.Duration {
	if d < 0 {
		return -d
	}
	return d
}

type sandboxUsage struct {
	rows  map[string][]UsageRow
	delay time.Duration
}

// SearchUsage applies the real ranges: [created−5m, created+1h], then +24h if empty.
func (s *sandboxUsage) SearchUsage(ctx context.Context, q UsageQuery) (UsageResult, error) {
	res := UsageResult{Query: UsageQueryText(q.SessionID)}
	for _, span := range []time.Duration{time.Hour, 24 * time.Hour} {
		res.From, res.To = q.CreatedAt.Add(-5*time.Minute).UTC(), q.CreatedAt.Add(span).UTC()
		res.Widened = span > time.Hour
		if err := Sleep(ctx, s.delay); err != nil {
			return res, err
		}
		res.Rows = s.find(q.SessionID, res.From, res.To)
		if len(res.Rows) > 0 {
			break
		}
	}
	res.Regions = s.regions(res.Rows)
	for _, r := range res.Regions {
		if q.OnRegion != nil {
			q.OnRegion(r)
		}
	}
	return res, nil
}

func (s *sandboxUsage) find(session string, from, to time.Time) []UsageRow {
	var out []UsageRow
	for _, r := range s.rows[session] {
		if !r.Timestamp.Before(from) && !r.Timestamp.After(to) {
			out = append(out, r)
		}
	}
	return out
}

func (s *sandboxUsage) regions(rows []UsageRow) []RegionStatus {
	var out []RegionStatus
	for _, region := range sandboxRegions {
		st := RegionStatus{Region: region, State: RegionEmpty,
			LogGroups: []string{sandboxGroup(region, "ai-analysis-processor"), sandboxGroup(region, "contacts-analyzer")}}
		for _, r := range rows {
			if r.Region == region {
				st.Rows++
			}
		}
		if st.Rows > 0 {
			st.State = RegionRows
		} else if len(rows) > 0 {
			st.State = RegionStopped
		}
		out = append(out, st)
	}
	return out
}

type sandboxGenerations struct {
	gens  map[string]Generation
	delay time.Duration
}

func (s *sandboxGenerations) FetchGeneration(ctx context.Context, id string) (Generation, error) {
	if err := Sleep(ctx, s.delay); err != nil {
		return Generation{}, err
	}
	g, ok := s.gens[id]
	if !ok {
		return Generation{}, Errorf(CodeNotFound, "openrouter: generation %s not found", id)
	}
	return g, nil
}

// sandboxStage describes one sample ai_usage line and its generation.
type sandboxStage struct {
	service, genID, provider, model, finish string
	offset                                  time.Duration // after the call
	in, out, cached                         int64
	cost                                    float64
	noCost                                  bool
	billed                                  float64 // OpenRouter total_cost when it differs
	contacts                                bool
	requestID                               string
}

type sandboxCall struct {
	call   Call
	region string
	stages []sandboxStage
}

func sandboxRow(sc sandboxCall, st sandboxStage) UsageRow {
	lambda, svc := "ai-analysis-processor", "ai-analysis-"+st.service
	if st.contacts {
		lambda, svc = "contacts-analyzer", "contacts-analyzer"
	}
	reqID := st.requestID
	if reqID == "" {
		reqID = "7f3c9a12-0b1e-4d2a-9c55-" + strings.TrimPrefix(sc.call.TelephonySessionID, "s-")
	}
	row := UsageRow{
		Timestamp: sc.call.CreatedAt.Add(st.offset), Region: sc.region, LogGroup: sandboxGroup(sc.region, lambda),
		RequestID: reqID, Service: svc, OpenRouterID: st.genID,
		Provider: st.provider, Model: st.model, InputTokens: st.in, OutputTokens: st.out,
		CacheReadTokens: ptr(st.cached), FinishReason: st.finish,
	}
	if st.in > 0 {
		row.CacheReadRatio = ptr(round3(float64(st.cached) / float64(st.in)))
	}
	if !st.noCost {
		row.CostUSD = ptr(st.cost)
	}
	return row
}

func sandboxGeneration(st sandboxStage, at time.Time) Generation {
	billed := st.cost
	if st.billed != 0 {
		billed = st.billed
	}
	g := Generation{
		ID: st.genID, Model: st.model, ProviderName: st.provider, TotalCost: billed,
		TokensPrompt: st.in, TokensCompletion: st.out, NativeTokensPrompt: st.in, NativeTokensCompletion: st.out,
		NativeTokensCached: st.cached, Latency: 850, GenerationTime: 1900, FinishReason: st.finish,
		NativeFinishReason: st.finish, CreatedAt: at.UTC().Format(time.RFC3339),
	}
	raw := map[string]any{
		"id": g.ID, "model": g.Model, "provider_name": g.ProviderName, "total_cost": g.TotalCost,
		"tokens_prompt": g.TokensPrompt, "tokens_completion": g.TokensCompletion,
		"native_tokens_prompt": g.NativeTokensPrompt, "native_tokens_completion": g.NativeTokensCompletion,
		"native_tokens_cached": g.NativeTokensCached, "latency": g.Latency, "generation_time": g.GenerationTime,
		"finish_reason": g.FinishReason, "native_finish_reason": g.NativeFinishReason, "created_at": g.CreatedAt,
		"app_id": nil, "streamed": false, "cancelled": false, "origin": "",
	}
	g.Raw, _ = json.Marshal(raw)
	return g
}

const sandboxModel = "deepseek/deepseek-v4-flash"

func sandboxCallList() []sandboxCall {
	return []sandboxCall{
		runbookCall(),
		mappingCall(),
		candidateCall("s-4f1a9c0e7d21", time.Date(2026, 5, 21, 15, 2, 11, 0, time.UTC), "+13125550142", "+13125559000"),
		candidateCall("s-4f1a9c0e7e58", time.Date(2026, 5, 21, 15, 47, 36, 0, time.UTC), "+13125559000", "+13125550142"),
		missingGenCall(),
		lengthCall(),
		reprocessedCall(),
	}
}

// runbookCall is the runbook's worked example, to the token.
func runbookCall() sandboxCall {
	return sandboxCall{
		call: Call{TelephonySessionID: "s-abc123def456", CreatedAt: time.Date(2026, 5, 20, 17, 14, 52, 0, time.UTC),
			StoreID: "a1b2c3d4-5e6f-4a7b-8c9d-0e1f2a3b4c5d", FranchiseID: "retaintive-demo",
			FromPhoneNumber: "+19142654371", ToPhoneNumber: "+18455550100", ContactPhone: "+19142654371",
			S3AnalysisPath: "s3://callytics-prod-analysis/2026/05/20/s-abc123def456.json", Direction: DirectionInbound},
		region: "us-east-1",
		stages: []sandboxStage{
			{service: "triage", genID: "gen-1779299695-aBcDeFg", provider: "AtlasCloud", model: sandboxModel, finish: "stop", offset: 3 * time.Second, in: 3000, out: 180, cached: 2760, cost: 0.000122},
			{service: "classify", genID: "gen-1779299697-hIjKlMn", provider: "AtlasCloud", model: sandboxModel, finish: "stop", offset: 5 * time.Second, in: 5000, out: 950, cached: 4400, cost: 0.000774},
			{service: "coaching", genID: "gen-1779299700-oPqRsTu", provider: "AtlasCloud", model: sandboxModel, finish: "stop", offset: 8 * time.Second, in: 4000, out: 820, cached: 3400, cost: 0.000639},
		},
	}
}

func candidateCall(id string, at time.Time, from, to string) sandboxCall {
	dir := DirectionInbound
	if to == "+13125550142" {
		dir = DirectionOutbound
	}
	return sandboxCall{
		call: Call{TelephonySessionID: id, CreatedAt: at, StoreID: "b7e4c2d1-9a8f-4e3d-b2c1-a0f9e8d7c6b5", FranchiseID: "retaintive-demo",
			FromPhoneNumber: from, ToPhoneNumber: to, ContactPhone: "+13125550142",
			S3AnalysisPath: "s3://callytics-prod-analysis/2026/05/21/" + id + ".json", Direction: dir},
		region: "us-east-2",
		stages: []sandboxStage{
			{service: "triage", genID: "gen-1779375731-" + id[2:8], provider: "AtlasCloud", model: sandboxModel, finish: "stop", offset: 4 * time.Second, in: 2800, out: 160, cached: 2600, cost: 0.000118},
		},
	}
}

func missingGenCall() sandboxCall {
	return sandboxCall{
		call: Call{TelephonySessionID: "s-7d0e2b91c3aa", CreatedAt: time.Date(2026, 5, 19, 16, 41, 3, 0, time.UTC),
			StoreID: "c3d4e5f6-0718-4293-a4b5-c6d7e8f90a1b", FranchiseID: "retaintive-west",
			FromPhoneNumber: "+14155550123", ToPhoneNumber: "+14155557700", ContactPhone: "+14155550123",
			S3AnalysisPath: "s3://callytics-prod-analysis/2026/05/19/s-7d0e2b91c3aa.json", Direction: DirectionInbound},
		region: "us-west-2",
		stages: []sandboxStage{
			{service: "triage", genID: "gen-1779212466-Qw3rTy", provider: "AtlasCloud", model: sandboxModel, finish: "stop", offset: 3 * time.Second, in: 2900, out: 170, cached: 2650, cost: 0.000119},
			{service: "classify", provider: "Alibaba Cloud Int", model: sandboxModel, finish: "stop", offset: 6 * time.Second, in: 5100, out: 990, cached: 0, cost: 0.001312},
			{service: "coaching", genID: "gen-1779212472-Zx9CvB", provider: "Alibaba Cloud Int", model: sandboxModel, finish: "stop", offset: 9 * time.Second, in: 4100, out: 800, cached: 3500, cost: 0.000655},
		},
	}
}

func lengthCall() sandboxCall {
	return sandboxCall{
		call: Call{TelephonySessionID: "s-91b3f0a6e2d4", CreatedAt: time.Date(2026, 5, 18, 20, 19, 40, 0, time.UTC),
			StoreID: "d4e5f607-1829-4a3b-b5c6-d7e8f90a1b2c", FranchiseID: "retaintive-demo",
			FromPhoneNumber: "+16175559400", ToPhoneNumber: "+16175550199", ContactPhone: "+16175550199",
			S3AnalysisPath: "s3://callytics-prod-analysis/2026/05/18/s-91b3f0a6e2d4.json", Direction: DirectionOutbound},
		region: "us-east-1",
		stages: []sandboxStage{
			{service: "triage", genID: "gen-1779135583-LmNoPq", provider: "AtlasCloud", model: sandboxModel, finish: "stop", offset: 3 * time.Second, in: 9800, out: 210, cached: 9100, cost: 0.000301},
			{service: "classify", genID: "gen-1779135586-RsTuVw", provider: "AtlasCloud", model: sandboxModel, finish: "stop", offset: 6 * time.Second, in: 14200, out: 1400, cached: 12900, cost: 0.001544},
			{service: "coaching", genID: "gen-1779135592-XyZaBc", provider: "AtlasCloud", model: sandboxModel, finish: "length", offset: 12 * time.Second, in: 13100, out: 4096, cached: 11800, cost: 0.003921, billed: 0.004688},
		},
	}
}

func reprocessedCall() sandboxCall {
	first, second := "0c1d2e3f-4a5b-4c6d-8e7f-901a2b3c4d5e", "9f8e7d6c-5b4a-4392-8170-6f5e4d3c2b1a"
	return sandboxCall{
		call: Call{TelephonySessionID: "s-2c8e5a7b9f13", CreatedAt: time.Date(2026, 5, 17, 15, 4, 27, 0, time.UTC),
			StoreID: "e5f60718-293a-4b4c-86d7-e8f90a1b2c3d", FranchiseID: "retaintive-demo",
			FromPhoneNumber: "+13055550187", ToPhoneNumber: "+13055553300", ContactPhone: "+13055550187",
			S3AnalysisPath: "s3://callytics-prod-analysis/2026/05/17/s-2c8e5a7b9f13.json", Direction: DirectionInbound},
		region: "us-east-1",
		stages: []sandboxStage{
			{service: "triage", genID: "gen-1778943870-Aa1Bb2", provider: "AtlasCloud", model: sandboxModel, finish: "stop", offset: 3 * time.Second, in: 3100, out: 175, cached: 0, cost: 0.000402, requestID: first},
			{service: "classify", genID: "gen-1778943873-Cc3Dd4", provider: "AtlasCloud", model: sandboxModel, finish: "stop", offset: 6 * time.Second, in: 5200, out: 940, cached: 0, cost: 0.001398, requestID: first},
			{service: "coaching", genID: "gen-1778943877-Ee5Ff6", provider: "AtlasCloud", model: sandboxModel, finish: "stop", offset: 10 * time.Second, in: 4300, out: 790, cached: 0, cost: 0.001102, requestID: first},
			{contacts: true, genID: "gen-1778943880-Gg7Hh8", provider: "AtlasCloud", model: sandboxModel, finish: "stop", offset: 13 * time.Second, in: 1800, out: 120, cached: 1500, cost: 0.000071},
			{service: "triage", genID: "gen-1778946301-Ii9Jj0", provider: "AtlasCloud", model: sandboxModel, finish: "stop", offset: 40*time.Minute + 3*time.Second, in: 3100, out: 180, cached: 2850, cost: 0.000125, requestID: second},
			{service: "classify", genID: "gen-1778946304-Kk1Ll2", provider: "AtlasCloud", model: sandboxModel, finish: "stop", offset: 40*time.Minute + 6*time.Second, in: 5200, out: 960, cached: 4700, cost: 0.000791, requestID: second},
			{service: "coaching", genID: "gen-1778946308-Mm3Nn4", provider: "AtlasCloud", model: sandboxModel, finish: "stop", offset: 40*time.Minute + 10*time.Second, in: 4300, out: 800, cached: 3700, cost: 0.000648, requestID: second},
		},
	}
}
