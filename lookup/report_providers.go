package lookup

import (
	"cmp"
	"fmt"
	"slices"
	"strconv"
	"strings"
)

// The providers report's two queries per region: requests and cost per model and
// provider, and sessions counted by how many providers their stages used (two
// stats commands: per session, then per provider count, so the answer stays a
// few rows however many sessions there are). A session's stages run in one
// region's pipeline, so regions' session counts add up.
const (
	providersMixQuery = `filter @message like /ai_usage/
| stats count(*) as requests, sum(costUsd) as cost_usd by model, provider`
	providersSwitchQuery = `filter @message like /ai_usage/ and ispresent(telephonySessionId) and ispresent(provider)
| stats count_distinct(provider) as providers by telephonySessionId
| stats count(*) as sessions, sortsFirst(telephonySessionId) as first_session, sortsLast(telephonySessionId) as last_session by providers`
)

// Provider switching is flagged above this share of sessions; the report keeps a
// few switched sessions as examples.
const (
	switchingMax    = 0.05
	switchExamples  = 5
	providerUnknown = "(none)"
)

type providersKind struct{}

func (providersKind) queries() []string { return []string{providersMixQuery, providersSwitchQuery} }

func (providersKind) merge(e *ReportEngine, q ReportQuery, r *Report, answers []RegionAnswer) {
	p := &ProvidersReport{Mix: []ProviderMix{}, Examples: []string{}}
	mix := map[[2]string]*ProviderMix{}
	perModel := map[string]int64{}
	var examples []string
	for _, a := range answers {
		for _, row := range a.Results[0] {
			k := [2]string{cwOr(row["model"], "unknown"), cwOr(row["provider"], providerUnknown)}
			m := mix[k]
			if m == nil {
				m = &ProviderMix{Model: k[0], Provider: k[1]}
				mix[k] = m
			}
			n := statInt(row, "requests")
			m.Requests += n
			m.CostUSD = addUSD(m.CostUSD, statFloat(row, "cost_usd"))
			perModel[k[0]] += n
		}
		for _, row := range a.Results[1] {
			n := statInt(row, "sessions")
			p.Sessions += n
			if providers, _ := strconv.Atoi(row["providers"]); providers > 1 {
				p.SwitchedSessions += n
				examples = append(examples, row["first_session"], row["last_session"])
			}
		}
	}
	for _, m := range mix {
		m.Share = float64(m.Requests) / float64(perModel[m.Model])
		p.Mix = append(p.Mix, *m)
	}
	slices.SortFunc(p.Mix, func(a, b ProviderMix) int {
		return cmp.Or(cmp.Compare(perModel[b.Model], perModel[a.Model]), strings.Compare(a.Model, b.Model),
			cmp.Compare(b.Requests, a.Requests), strings.Compare(a.Provider, b.Provider))
	})
	slices.Sort(examples)
	for _, s := range slices.Compact(examples) {
		if s != "" && len(p.Examples) < switchExamples {
			p.Examples = append(p.Examples, s)
		}
	}
	r.Providers = p
	if w, ok := switchingWarning(p, q); ok {
		r.Warnings = append(r.Warnings, w)
	}
}

// switchingWarning flags more than 5% of sessions switching provider (runbook
// scenario 6).
func switchingWarning(p *ProvidersReport, q ReportQuery) (ReportWarning, bool) {
	if p.Sessions == 0 || float64(p.SwitchedSessions)/float64(p.Sessions) <= switchingMax {
		return ReportWarning{}, false
	}
	from, to := q.From, q.To
	eg := sentence{}
	if len(p.Examples) > 0 {
		ids := strings.Join(p.Examples[:min(3, len(p.Examples))], ", ")
		eg = say(", e.g. %s", "，例如 %s", ids)
	}
	share := percent(float64(p.SwitchedSessions) / float64(p.Sessions))
	en := fmt.Sprintf("%s of sessions (%d of %d) used more than one provider%s: sticky routing is not holding, which also costs cache hits. "+
		"Check Provider routing on the generation's activity page and tell the platform team (OpenRouter support if routing is broken); "+
		"a short-term mitigation is provider: { order: ['AtlasCloud'], allow_fallbacks: false } in createOpenRouter() in "+
		"lambda/shared/utils/ai/invoke.ts, which gives up availability: discuss it first (runbook scenario 6).",
		share, p.SwitchedSessions, p.Sessions, eg.en)
	zh := fmt.Sprintf("%s 的会话（%d 个中有 %d 个）使用了不止一个 provider%s：sticky routing 没有生效，这也会降低缓存命中率。"+
		"请在 generation 的 Activity 页查看 Provider routing，并告知 platform team（如果是路由本身坏了，联系 OpenRouter support）；"+
		"短期 mitigation 是在 lambda/shared/utils/ai/invoke.ts 的 createOpenRouter() 加 "+
		"`provider: { order: ['AtlasCloud'], allow_fallbacks: false }`，但会牺牲 availability：先讨论再做（runbook 场景 6）。",
		share, p.Sessions, p.SwitchedSessions, eg.zh)
	return ReportWarning{Code: WarnProviderSwitching, From: &from, To: &to, Message: en, zh: zh}, true
}

// ModelShares returns the mix of one model, most requests first.
func (p *ProvidersReport) ModelShares(model string) []ProviderMix {
	var out []ProviderMix
	for _, m := range p.Mix {
		if m.Model == model {
			out = append(out, m)
		}
	}
	return out
}

// Models are the models of the mix, busiest first.
func (p *ProvidersReport) Models() []string {
	var out []string
	for _, m := range p.Mix {
		if !slices.Contains(out, m.Model) {
			out = append(out, m.Model)
		}
	}
	return out
}
