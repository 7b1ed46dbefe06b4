package bot

import (
	"github.com/prometheus/client_golang/prometheus"
)

// Metrics are the bot's Prometheus series, all prefixed tracebot_. A nil *Metrics
// records nothing.
type Metrics struct {
	traces      *prometheus.CounterVec
	stepSeconds *prometheus.HistogramVec
	reprocess   *prometheus.CounterVec
	chatErrors  *prometheus.CounterVec
	ackSeconds  *prometheus.HistogramVec
	queued      prometheus.Gauge
	reports     *prometheus.CounterVec
	alerts      *prometheus.CounterVec
}

// NewMetrics registers the bot's series on reg.
func NewMetrics(reg prometheus.Registerer) *Metrics {
	m := &Metrics{
		traces: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "tracebot_traces_total", Help: "Traces run, by platform and outcome (traced, not_found, candidates, failed, not_understood).",
		}, []string{"platform", "outcome"}),
		stepSeconds: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name: "tracebot_step_duration_seconds", Help: "Wall time of each trace step (calls, logs, generations, total).",
			Buckets: []float64{0.05, 0.1, 0.25, 0.5, 1, 2, 4, 8, 15, 30, 60},
		}, []string{"step"}),
		reprocess: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "tracebot_reprocess_total", Help: "Reprocess clicks, by outcome (requested, refused, failed, cooldown, not_allowed).",
		}, []string{"outcome"}),
		chatErrors: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "tracebot_chat_api_errors_total", Help: "Failed chat API calls, by platform and method.",
		}, []string{"platform", "method"}),
		ackSeconds: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name: "tracebot_ack_duration_seconds", Help: "Time to acknowledge a chat request, by platform and endpoint.",
			Buckets: []float64{0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 3},
		}, []string{"platform", "endpoint"}),
		queued: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "tracebot_jobs_in_flight", Help: "Traces and actions queued or running on the worker pool.",
		}),
		alerts: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "tracebot_alerts_total", Help: "Alert episodes opened by this replica (each is posted once per channel), by rule and level.",
		}, []string{"rule", "level"}),
	}
	m.reports = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "tracebot_reports_total", Help: "Reports across calls asked for in chat, by platform, kind and outcome (answered, partial, failed, error, not_understood, window_too_long, help).",
	}, []string{"platform", "kind", "outcome"})
	reg.MustRegister(m.traces, m.stepSeconds, m.reprocess, m.chatErrors, m.ackSeconds, m.queued, m.reports, m.alerts)
	return m
}

// ChatAPIError counts a failed chat API call.
func (m *Metrics) ChatAPIError(platform Platform, method string) {
	if m != nil {
		m.chatErrors.WithLabelValues(string(platform), method).Inc()
	}
}

// ObserveAck records how long a request took to acknowledge.
func (m *Metrics) ObserveAck(platform Platform, endpoint string, seconds float64) {
	if m != nil {
		m.ackSeconds.WithLabelValues(string(platform), endpoint).Observe(seconds)
	}
}

func (m *Metrics) trace(platform Platform, outcome string, calls, logs, gens, total int64) {
	if m == nil {
		return
	}
	m.traces.WithLabelValues(string(platform), outcome).Inc()
	for step, ms := range map[string]int64{"calls": calls, "logs": logs, "generations": gens, "total": total} {
		if ms > 0 || step == "total" {
			m.stepSeconds.WithLabelValues(step).Observe(float64(ms) / 1000)
		}
	}
}

func (m *Metrics) reprocessOutcome(outcome string) {
	if m != nil {
		m.reprocess.WithLabelValues(outcome).Inc()
	}
}

func (m *Metrics) jobs(delta float64) {
	if m != nil {
		m.queued.Add(delta)
	}
}

func (m *Metrics) report(platform Platform, kind, outcome string) {
	if m == nil {
		return
	}
	if kind == "" {
		kind = "unknown"
	}
	m.reports.WithLabelValues(string(platform), kind, outcome).Inc()
}

func (m *Metrics) alert(rule, level string) {
	if m != nil {
		m.alerts.WithLabelValues(rule, level).Inc()
	}
}
