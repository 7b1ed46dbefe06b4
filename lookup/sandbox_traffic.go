package lookup

import (
	"encoding/json"
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
	"strconv"
	"time"

	"github.com/callytics/tracebot/lookup/insights"
)

// TrafficConfig describes generated ai_usage traffic: sessions of the pipeline
// (triage → classify → coaching, then the contacts-analyzer) in every region,
// every hour. The generator is deterministic for a Seed. With the knobs at zero
// the traffic is a quiet day: no report warns about it.
type TrafficConfig struct {
	Seed            uint64
	Start           time.Time // the first hour; truncated to the hour
	Hours           int       // how many hours, 24 when zero
	Regions         []string  // the three default regions when empty
	Env             string    // {env} of the log groups, "prod" when empty
	SessionsPerHour int       // per region, 12 when zero

	// LongInput sessions have a classify transcript five times the usual length.
	LongInput int
	// CacheMiss sessions' classify stage reads nothing from the cache.
	CacheMiss int
	// CacheCollapse are hour offsets in which the ai-analysis prompts miss the
	// cache (a drifted prefix).
	CacheCollapse []int
	// LengthSpike and ContentFilterSpike make a share of one stage's rows finish
	// length or content-filter in some hours.
	LengthSpike        *TrafficSpike
	ContentFilterSpike *TrafficSpike
	// SwitchShare of sessions has one stage served by another provider than the
	// session's sticky one; 0.02 when zero, which stays under the 5% warning.
	SwitchShare float64
}

// TrafficSpike is a share of one stage's rows with a finish reason in some hours.
type TrafficSpike struct {
	Stage string
	Hours []int   // hour offsets from Start
	Share float64 // of the stage's rows in each of those hours
}

// TrafficRow is one generated ai_usage line.
type TrafficRow struct {
	UsageRow
	SessionID string
	Stage     string
}

// Models and providers of the generated traffic.
const (
	ModelDeepSeek = "deepseek/deepseek-v4-flash"
	ModelKimi     = "moonshotai/kimi-k2"
	ModelQwen     = "qwen/qwen3-30b-a3b"
)

var trafficProviders = []string{"AtlasCloud", "Alibaba Cloud Int", "DeepInfra"}

// trafficStage is how one stage's calls look on an ordinary day.
type trafficStage struct {
	stage, service, lambda string
	in, out                [2]int64 // ranges
	maxTokens              int64
}

var trafficStages = []trafficStage{
	{"triage", "ai-analysis-triage", "ai-analysis-processor", [2]int64{2600, 3400}, [2]int64{150, 220}, 4096},
	{"classify", "ai-analysis-classify", "ai-analysis-processor", [2]int64{4600, 5600}, [2]int64{850, 1050}, 4096},
	{"coaching", "ai-analysis-coaching", "ai-analysis-processor", [2]int64{3700, 4600}, [2]int64{700, 900}, 4096},
	{StageContacts, "contacts-analyzer", "contacts-analyzer", [2]int64{1500, 2100}, [2]int64{100, 140}, 4000},
}

// Prices in USD per million tokens: input, cached input, output.
var trafficPrices = map[string][3]float64{
	ModelDeepSeek: {0.27, 0.027, 1.10},
	ModelKimi:     {0.55, 0.055, 2.20},
	ModelQwen:     {0.08, 0.008, 0.30},
}

func (c TrafficConfig) withDefaults() TrafficConfig {
	c.Start = c.Start.UTC().Truncate(time.Hour)
	if c.Hours <= 0 {
		c.Hours = 24
	}
	if len(c.Regions) == 0 {
		c.Regions = sandboxRegions
	}
	c.Env = cwOr(c.Env, DefaultEnv)
	if c.SessionsPerHour <= 0 {
		c.SessionsPerHour = 12
	}
	if c.SwitchShare <= 0 {
		c.SwitchShare = 0.02
	}
	return c
}

// GenerateTraffic returns the lines of cfg, oldest first.
func GenerateTraffic(cfg TrafficConfig) []TrafficRow {
	cfg = cfg.withDefaults()
	g := &trafficGen{cfg: cfg, rng: rand.New(rand.NewPCG(cfg.Seed, cfg.Seed^0x9e3779b97f4a7c15))}
	total := cfg.Hours * len(cfg.Regions) * cfg.SessionsPerHour
	g.longInput = spread(cfg.LongInput, total, 1)
	g.cacheMiss = spread(cfg.CacheMiss, total, 2)
	var out []TrafficRow
	n := 0
	for h := range cfg.Hours {
		for _, region := range cfg.Regions {
			for i := range cfg.SessionsPerHour {
				out = append(out, g.session(n, h, region, i)...)
				n++
			}
		}
	}
	slices.SortStableFunc(out, func(a, b TrafficRow) int { return a.Timestamp.Compare(b.Timestamp) })
	return out
}

// spread picks n of total session numbers, evenly, starting late in the day so
// the picks land in a short window ending at the last hour too.
func spread(n, total, offset int) map[int]bool {
	out := map[int]bool{}
	for k := range n {
		out[total-1-offset-k*3] = true
	}
	return out
}

type trafficGen struct {
	cfg                  TrafficConfig
	rng                  *rand.Rand
	longInput, cacheMiss map[int]bool
}

func (g *trafficGen) between(r [2]int64) int64 { return r[0] + g.rng.Int64N(r[1]-r[0]+1) }

// switches reports whether session n is one of the SwitchShare that switch
// provider: exactly that share of sessions, spread evenly.
func (g *trafficGen) switches(n int) bool {
	s := g.cfg.SwitchShare
	return math.Floor(float64(n+1)*s) > math.Floor(float64(n)*s)
}

func (g *trafficGen) session(n, hour int, region string, i int) []TrafficRow {
	cfg := g.cfg
	created := cfg.Start.Add(time.Duration(hour)*time.Hour + time.Duration(i)*time.Hour/time.Duration(cfg.SessionsPerHour) +
		time.Duration(g.rng.IntN(200))*time.Second)
	id := fmt.Sprintf("s-%012x", g.rng.Uint64()&0xffffffffffff)
	sticky := trafficProviders[g.pick([]int{70, 20, 10})]
	coachModel := ModelDeepSeek
	if g.rng.IntN(10) < 3 {
		coachModel = ModelKimi
	}
	switchAt := -1
	if g.switches(n) {
		switchAt = 1 + g.rng.IntN(2) // classify or coaching went elsewhere
	}
	var rows []TrafficRow
	offset := 2 * time.Second
	for k, st := range trafficStages {
		model := ModelDeepSeek
		switch st.stage {
		case "coaching":
			model = coachModel
		case StageContacts:
			model = ModelQwen
		}
		provider := sticky
		if k == switchAt {
			provider = trafficProviders[(slices.Index(trafficProviders, sticky)+1)%len(trafficProviders)]
		}
		offset += time.Duration(1500+g.rng.IntN(2500)) * time.Millisecond
		rows = append(rows, g.line(n, hour, region, id, created.Add(offset), st, model, provider))
	}
	return rows
}

func (g *trafficGen) pick(weights []int) int {
	x := g.rng.IntN(100)
	for i, w := range weights {
		if x < w {
			return i
		}
		x -= w
	}
	return len(weights) - 1
}

func (g *trafficGen) line(n, hour int, region, session string, at time.Time, st trafficStage, model, provider string) TrafficRow {
	in, out := g.between(st.in), g.between(st.out)
	hit := 0.85 + 0.1*g.rng.Float64()
	if st.stage == "classify" && g.longInput[n] {
		in *= 5
	}
	if st.lambda == "ai-analysis-processor" && slices.Contains(g.cfg.CacheCollapse, hour) {
		hit = 0.05 * g.rng.Float64()
	}
	if st.stage == "classify" && g.cacheMiss[n] {
		hit = 0
	}
	finish := "stop"
	if g.rng.IntN(200) == 0 {
		finish = FinishLength
	}
	for _, sp := range []struct {
		s      *TrafficSpike
		reason string
	}{{g.cfg.LengthSpike, FinishLength}, {g.cfg.ContentFilterSpike, FinishContentFilter}} {
		if sp.s != nil && sp.s.Stage == st.stage && slices.Contains(sp.s.Hours, hour) && g.rng.Float64() < sp.s.Share {
			finish = sp.reason
		}
	}
	if finish == FinishLength {
		out = st.maxTokens
	}
	cached := int64(math.Round(float64(in) * hit))
	p := trafficPrices[model]
	cost := math.Round((float64(in-cached)*p[0] + float64(cached)*p[1] + float64(out)*p[2])) / 1e6
	return TrafficRow{SessionID: session, Stage: st.stage, UsageRow: UsageRow{
		Timestamp: at.Truncate(time.Millisecond), Region: region,
		LogGroup:  "/aws/lambda/call-analytics-" + g.cfg.Env + "-" + st.lambda + "-" + region,
		RequestID: fmt.Sprintf("%08x-%04x-4%03x-8%03x-%012x", g.rng.Uint32(), g.rng.IntN(1<<16), g.rng.IntN(1<<12), g.rng.IntN(1<<12), g.rng.Uint64()&0xffffffffffff),
		Service:   st.service, OpenRouterID: fmt.Sprintf("gen-%d-%s", at.Unix(), trafficToken(g.rng)),
		Provider: provider, Model: model, InputTokens: in, OutputTokens: out,
		CacheReadTokens: ptr(cached), CacheReadRatio: ptr(round3(float64(cached) / float64(in))), CostUSD: ptr(cost),
		FinishReason: finish,
	}}
}

func trafficToken(rng *rand.Rand) string {
	const letters = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789"
	b := make([]byte, 12)
	for i := range b {
		b[i] = letters[rng.IntN(len(letters))]
	}
	return string(b)
}

// UsageFields are the fields Insights discovers in a session's ai_usage line;
// optional values that are absent from r are absent from the map.
func UsageFields(session string, r UsageRow) map[string]string {
	f := map[string]string{
		"@requestId": r.RequestID, "telephonySessionId": session, "service": r.Service, "model": r.Model,
		"inputTokens": strconv.FormatInt(r.InputTokens, 10), "outputTokens": strconv.FormatInt(r.OutputTokens, 10),
		"finishReason": r.FinishReason,
	}
	if r.OpenRouterID != "" {
		f["openrouterId"] = r.OpenRouterID
	}
	if r.Provider != "" {
		f["provider"] = r.Provider
	}
	if r.CacheReadTokens != nil {
		f["cacheReadTokens"] = strconv.FormatInt(*r.CacheReadTokens, 10)
	}
	if r.CacheReadRatio != nil {
		f["cacheReadRatio"] = strconv.FormatFloat(*r.CacheReadRatio, 'f', -1, 64)
	}
	if r.CostUSD != nil {
		f["costUsd"] = strconv.FormatFloat(*r.CostUSD, 'f', -1, 64)
	}
	return f
}

// Event is the line as Insights holds it: the discovered fields, and @message,
// the raw line the Lambda logged (timestamp, request id, level, JSON).
func (r TrafficRow) Event() insights.Event {
	f := UsageFields(r.SessionID, r.UsageRow)
	body := map[string]any{"level": "INFO", "message": "ai_usage"}
	for k, v := range f {
		if k != "@requestId" {
			body[k] = v
		}
	}
	line, _ := json.Marshal(body)
	f["@message"] = r.Timestamp.UTC().Format("2006-01-02T15:04:05.000Z") + "\t" + r.RequestID + "\tINFO\t" + string(line)
	return insights.Event{Timestamp: r.Timestamp, Fields: f}
}
