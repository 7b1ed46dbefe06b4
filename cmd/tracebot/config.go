package main

import (
	"errors"
	"fmt"
	"log/slog"
	"math"
	"net"
	"os"
	"regexp"
	"strconv"
	"strings"
	"time"

	"github.com/callytics/tracebot/lookup"
)

// Config is tracebot's configuration, read once from the environment (SPEC §7).
type Config struct {
	Env               string
	Regions           []string
	LogGroups         []string
	Window            time.Duration
	TimeZone          *time.Location
	DBTimeZone        *time.Location
	OpenRouterURL     string
	GenerationLink    string
	SlackAPIURL       string
	LarkBaseURL       string
	LarkAppID         string
	Addr              string
	AllowedChannels   []string
	LarkMode          string
	Lang              string
	EscalationMention string
	RegionGrace       time.Duration
	MaxQueries        int
	TraceTimeout      time.Duration
	NoTimeLookback    time.Duration
	RateLimit         Rate
	ReprocessTarget   string
	ReprocessPayload  string
	ReprocessAllowed  []string
	ReprocessCooldown time.Duration
	SecretsDir        string
	SecretsTTL        time.Duration
	PollRate          Rate
	Verdict           bool        // TRACEBOT_VERDICT=on: read stored content and analyses (SPEC §11)
	AnalysisBuckets   []string    // TRACEBOT_ANALYSIS_BUCKETS; empty: any bucket a call's s3_analysis_path names
	Now               time.Time   // zero: the clock
	LogLevel          *slog.Level // TRACEBOT_LOG_LEVEL; nil: the command's own level
	ReportMaxRange    time.Duration
	ReportCacheTTL    time.Duration
	Functions         []string      // TRACEBOT_FUNCTIONS: Lambda name patterns for deploys
	CacheMin          float64       // 0 turns cache_collapse off
	LengthMax         float64       // 0 turns length_spike / content_filter_spike off
	AlertChannels     []string      // TRACEBOT_ALERT_CHANNELS: Slack channel ids, Lark chat ids (oc_…); empty: alerts off
	AlertInterval     time.Duration // TRACEBOT_ALERT_INTERVAL, at least 1s
	DailyBudget       float64       // TRACEBOT_DAILY_BUDGET, USD; 0: the budget rule is off
	DailyBudgetSet    bool          // TRACEBOT_DAILY_BUDGET is set (to 0 too): the sandbox keeps its own budget only when it is not
	CostSpike         float64       // TRACEBOT_COST_SPIKE: k × the 24h median; 0 turns cost_spike off
	SSM               SSMNames
}

// SSMNames are the parameter names of every secret.
type SSMNames struct {
	DatabaseURL, OpenRouterKey                           string
	SlackBotToken, SlackSigningSecret, SlackAppToken     string
	LarkAppSecret, LarkVerificationToken, LarkEncryptKey string
	StateDatabaseURL                                     string
}

// Rate is "N/unit", e.g. 20/min or 5/s.
type Rate struct {
	N   int
	Per time.Duration
}

// PerSecond returns the rate as events per second.
func (r Rate) PerSecond() float64 { return float64(r.N) / r.Per.Seconds() }

func (r Rate) String() string { return fmt.Sprintf("%d/%s", r.N, r.Per) }

const (
	defaultLogGroups = "/aws/lambda/call-analytics-{env}-ai-analysis-processor-{region},/aws/lambda/call-analytics-{env}-contacts-analyzer-{region}"
	defaultPayload   = `{"telephonySessionId":"{session_id}","requestedBy":"{requested_by}"}`
)

// LoadConfig reads the configuration through getenv (os.Getenv in production). The
// error names every variable that has a bad value.
func LoadConfig(getenv func(string) string) (Config, error) {
	r := envReader{get: getenv}
	c := Config{
		Env:               r.oneOf("TRACEBOT_ENV", "prod", "test", "pre", "prod"),
		Regions:           r.list("TRACEBOT_REGIONS", "us-east-1,us-west-2,us-east-2"),
		LogGroups:         r.list("TRACEBOT_LOG_GROUPS", defaultLogGroups),
		Window:            r.duration("TRACEBOT_WINDOW", 2*time.Hour),
		TimeZone:          r.zone("TRACEBOT_TIME_ZONE", "America/New_York"),
		DBTimeZone:        r.zone("TRACEBOT_DB_TIME_ZONE", "UTC"),
		OpenRouterURL:     strings.TrimRight(r.url("TRACEBOT_OPENROUTER_URL", "https://openrouter.ai/api/v1"), "/"),
		GenerationLink:    r.str("TRACEBOT_GENERATION_LINK", "https://openrouter.ai/activity/{id}"),
		SlackAPIURL:       r.url("TRACEBOT_SLACK_API_URL", "https://slack.com/api/"),
		LarkBaseURL:       strings.TrimRight(r.url("TRACEBOT_LARK_BASE_URL", "https://open.larksuite.com"), "/"),
		LarkAppID:         r.str("TRACEBOT_LARK_APP_ID", ""),
		Addr:              r.str("TRACEBOT_ADDR", ":8080"),
		AllowedChannels:   r.list("TRACEBOT_ALLOWED_CHANNELS", ""),
		LarkMode:          r.oneOf("TRACEBOT_LARK_MODE", "ws", "ws", "webhook"),
		Lang:              r.oneOf("TRACEBOT_LANG", "en", "en", "zh"),
		EscalationMention: r.str("TRACEBOT_ESCALATION_MENTION", ""),
		RegionGrace:       r.duration("TRACEBOT_REGION_GRACE", 2*time.Second),
		MaxQueries:        r.positiveInt("TRACEBOT_MAX_QUERIES", 8),
		TraceTimeout:      r.duration("TRACEBOT_TRACE_TIMEOUT", 60*time.Second),
		NoTimeLookback:    r.duration("TRACEBOT_NO_TIME_LOOKBACK", 168*time.Hour),
		RateLimit:         r.rate("TRACEBOT_RATE_LIMIT", "20/min"),
		ReprocessTarget:   r.str("TRACEBOT_REPROCESS_TARGET", ""),
		ReprocessPayload:  r.str("TRACEBOT_REPROCESS_PAYLOAD", defaultPayload),
		ReprocessAllowed:  r.list("TRACEBOT_REPROCESS_ALLOWED", ""),
		ReprocessCooldown: r.duration("TRACEBOT_REPROCESS_COOLDOWN", 10*time.Minute),
		SecretsDir:        r.str("TRACEBOT_SECRETS_DIR", ""),
		SecretsTTL:        r.duration("TRACEBOT_SECRETS_TTL", 15*time.Minute),
		PollRate:          r.rate("TRACEBOT_POLL_RATE", "5/s"),
		Verdict:           r.oneOf("TRACEBOT_VERDICT", "on", "on", "off") == "on",
		AnalysisBuckets:   r.list("TRACEBOT_ANALYSIS_BUCKETS", ""),
		Now:               r.instant("TRACEBOT_NOW"),
		LogLevel:          r.logLevel("TRACEBOT_LOG_LEVEL"),
		ReportMaxRange:    r.duration("TRACEBOT_REPORT_MAX_RANGE", 168*time.Hour),
		ReportCacheTTL:    r.duration("TRACEBOT_REPORT_CACHE_TTL", 2*time.Minute),
		CacheMin:          r.fraction("TRACEBOT_CACHE_MIN", 0.5),
		LengthMax:         r.fraction("TRACEBOT_LENGTH_MAX", 0.2),
		AlertChannels:     r.channels("TRACEBOT_ALERT_CHANNELS"),
		AlertInterval:     r.interval("TRACEBOT_ALERT_INTERVAL", lookup.DefaultAlertInterval),
		DailyBudget:       r.amount("TRACEBOT_DAILY_BUDGET", 0, "want an amount of USD a day like 50 or 12.5"),
		CostSpike:         r.amount("TRACEBOT_COST_SPIKE", lookup.DefaultCostSpike, "want a factor like 3 (0 turns the rule off)"),
		SSM: SSMNames{
			DatabaseURL:           r.str("TRACEBOT_SSM_DATABASE_URL", "/callytics/neon-database-url"),
			OpenRouterKey:         r.str("TRACEBOT_SSM_OPENROUTER_API_KEY", "/callytics/openrouter-api-key"),
			SlackBotToken:         r.str("TRACEBOT_SSM_SLACK_BOT_TOKEN", "/callytics/tracebot/slack-bot-token"),
			SlackSigningSecret:    r.str("TRACEBOT_SSM_SLACK_SIGNING_SECRET", "/callytics/tracebot/slack-signing-secret"),
			SlackAppToken:         r.str("TRACEBOT_SSM_SLACK_APP_TOKEN", "/callytics/tracebot/slack-app-token"),
			LarkAppSecret:         r.str("TRACEBOT_SSM_LARK_APP_SECRET", "/callytics/tracebot/lark-app-secret"),
			LarkVerificationToken: r.str("TRACEBOT_SSM_LARK_VERIFICATION_TOKEN", "/callytics/tracebot/lark-verification-token"),
			LarkEncryptKey:        r.str("TRACEBOT_SSM_LARK_ENCRYPT_KEY", "/callytics/tracebot/lark-encrypt-key"),
			StateDatabaseURL:      r.str("TRACEBOT_SSM_STATE_DATABASE_URL", ""),
		},
	}
	c.DailyBudgetSet = r.str("TRACEBOT_DAILY_BUDGET", "") != ""
	r.check(&c)
	c.Functions = r.list("TRACEBOT_FUNCTIONS", strings.Join(lookup.DefaultFunctions(c.LogGroups), ","))
	if len(c.Functions) == 0 {
		r.bad("TRACEBOT_FUNCTIONS", r.get("TRACEBOT_FUNCTIONS"), "want at least one Lambda name pattern, like call-analytics-{env}-ai-analysis-processor-{region}")
	}
	if len(c.AlertChannels) > 0 && c.ReportMaxRange < lookup.AlertReportRange {
		r.bad("TRACEBOT_REPORT_MAX_RANGE", c.ReportMaxRange.String(),
			fmt.Sprintf("alerts are on (TRACEBOT_ALERT_CHANNELS) and one check reads up to %s of cost; allow at least that", lookup.AlertReportRange))
	}
	if err := r.err(); err != nil {
		return Config{}, err
	}
	return c, nil
}

var (
	awsRegionName = regexp.MustCompile(`^[a-z]{2}(-[a-z]+)+-[0-9]{1,2}$`)
	// ssmParameterName is what SSM accepts in a parameter name.
	ssmParameterName = regexp.MustCompile(`^[A-Za-z0-9_.\-/]+$`)
)

// check refuses values that read well but cannot work: regions, log groups and
// buckets AWS would reject, a link without its {id}, a reprocess target or payload
// serve would refuse (so check, trace and serve all say so at start), SSM names
// SSM would reject.
func (r *envReader) check(c *Config) {
	if len(c.Regions) == 0 {
		r.bad("TRACEBOT_REGIONS", "", "at least one region is needed")
	}
	for _, region := range c.Regions {
		if !awsRegionName.MatchString(region) {
			r.bad("TRACEBOT_REGIONS", region, "want AWS region names like us-east-1, comma-separated")
		}
	}
	if _, port, err := net.SplitHostPort(c.Addr); err != nil || port == "" {
		r.bad("TRACEBOT_ADDR", c.Addr, "want host:port or :port, like :8080")
	}
	if len(c.LogGroups) == 0 {
		r.bad("TRACEBOT_LOG_GROUPS", r.get("TRACEBOT_LOG_GROUPS"), "want at least one log-group pattern, like /aws/lambda/call-analytics-{env}-ai-analysis-processor-{region}")
	}
	if l := c.GenerationLink; !strings.Contains(l, "{id}") || (!strings.HasPrefix(l, "http://") && !strings.HasPrefix(l, "https://")) {
		r.bad("TRACEBOT_GENERATION_LINK", l, "want an http(s) URL with {id} where the generation id goes, like https://openrouter.ai/activity/{id}")
	}
	for _, b := range c.AnalysisBuckets {
		if _, _, err := lookup.ParseS3Path("s3://" + b + "/key"); err != nil {
			r.bad("TRACEBOT_ANALYSIS_BUCKETS", b, "want S3 bucket names like callytics-prod-analysis (no s3://, no key), comma-separated")
		}
	}
	if c.ReprocessTarget != "" {
		if _, err := lookup.ParseReprocessTarget(c.ReprocessTarget); err != nil {
			r.bad("TRACEBOT_REPROCESS_TARGET", c.ReprocessTarget, causeOf(err))
		}
	}
	if _, err := lookup.RenderPayload(c.ReprocessPayload, lookup.ReprocessRequest{}); err != nil {
		r.bad("TRACEBOT_REPROCESS_PAYLOAD", c.ReprocessPayload, err.Error())
	}
	n := c.SSM
	for name, v := range map[string]string{
		"TRACEBOT_SSM_DATABASE_URL": n.DatabaseURL, "TRACEBOT_SSM_OPENROUTER_API_KEY": n.OpenRouterKey,
		"TRACEBOT_SSM_SLACK_BOT_TOKEN": n.SlackBotToken, "TRACEBOT_SSM_SLACK_SIGNING_SECRET": n.SlackSigningSecret,
		"TRACEBOT_SSM_SLACK_APP_TOKEN": n.SlackAppToken, "TRACEBOT_SSM_LARK_APP_SECRET": n.LarkAppSecret,
		"TRACEBOT_SSM_LARK_VERIFICATION_TOKEN": n.LarkVerificationToken, "TRACEBOT_SSM_LARK_ENCRYPT_KEY": n.LarkEncryptKey,
		"TRACEBOT_SSM_STATE_DATABASE_URL": n.StateDatabaseURL,
	} {
		if v != "" && !ssmParameterName.MatchString(v) {
			r.bad(name, v, "want an SSM parameter name like /callytics/neon-database-url (letters, digits, _ . - /)")
		}
	}
}

// causeOf is what err says below its outermost wrapping (which names the variable
// again).
func causeOf(err error) string {
	if inner := errors.Unwrap(err); inner != nil {
		return inner.Error()
	}
	return err.Error()
}

// nowFor is "now" for a terminal command: TRACEBOT_NOW when set, else the sample
// world's now with --sandbox, else the clock.
func (c Config) nowFor(sandbox bool) time.Time {
	switch {
	case !c.Now.IsZero():
		return c.Now
	case sandbox:
		return lookup.SandboxNow
	}
	return time.Now()
}

// LoadConfigFromEnv reads the process environment.
func LoadConfigFromEnv() (Config, error) { return LoadConfig(os.Getenv) }

// envReader reads variables and collects every problem, so one run reports them all.
type envReader struct {
	get      func(string) string
	problems []string
}

func (r *envReader) bad(name, value, why string) {
	r.problems = append(r.problems, fmt.Sprintf("%s=%q: %s", name, value, why))
}

func (r *envReader) err() error {
	if len(r.problems) == 0 {
		return nil
	}
	return fmt.Errorf("config: %s", strings.Join(r.problems, "; "))
}

func (r *envReader) str(name, def string) string {
	if v := strings.TrimSpace(r.get(name)); v != "" {
		return v
	}
	return def
}

func (r *envReader) list(name, def string) []string {
	var out []string
	for _, s := range strings.Split(r.str(name, def), ",") {
		if s = strings.TrimSpace(s); s != "" {
			out = append(out, s)
		}
	}
	return out
}

func (r *envReader) oneOf(name, def string, allowed ...string) string {
	v := strings.ToLower(r.str(name, def))
	for _, a := range allowed {
		if v == a {
			return v
		}
	}
	r.bad(name, v, "want one of "+strings.Join(allowed, ", "))
	return def
}

func (r *envReader) duration(name string, def time.Duration) time.Duration {
	v := r.str(name, "")
	if v == "" {
		return def
	}
	d, err := time.ParseDuration(v)
	if err != nil || d <= 0 {
		r.bad(name, v, "want a positive duration like 90s, 2h or 10m")
		return def
	}
	return d
}

// fraction reads a share from 0 to 1 ("0.5"); 0 is allowed and turns a check off.
func (r *envReader) fraction(name string, def float64) float64 {
	return r.number(name, def, 1, "want a share from 0 to 1, like 0.5 (0 turns the check off)")
}

// amount reads a number that is 0 or more ("50", "12.5").
func (r *envReader) amount(name string, def float64, want string) float64 {
	return r.number(name, def, math.Inf(1), want)
}

// number reads a finite number from 0 to max; anything else (NaN and ±Inf
// included, which strconv accepts and which would silently turn a rule off or
// on) is refused naming the variable, saying want.
func (r *envReader) number(name string, def, max float64, want string) float64 {
	v := r.str(name, "")
	if v == "" {
		return def
	}
	f, err := strconv.ParseFloat(v, 64)
	if err != nil || math.IsNaN(f) || math.IsInf(f, 0) || f < 0 || f > max {
		r.bad(name, v, want)
		return def
	}
	return f
}

// interval reads a duration of at least a second.
func (r *envReader) interval(name string, def time.Duration) time.Duration {
	v := r.str(name, "")
	if v == "" {
		return def
	}
	d, err := time.ParseDuration(v)
	if err != nil || d < time.Second {
		r.bad(name, v, "want a duration of at least 1s, like 10m")
		return def
	}
	return d
}

var (
	slackChannelID = regexp.MustCompile(`^[CGD][A-Z0-9]{6,}$`)
	larkChatID     = regexp.MustCompile(`^oc_[A-Za-z0-9]+$`)
)

// channels reads a list of Slack channel ids (C…, G…) and Lark chat ids (oc_…).
func (r *envReader) channels(name string) []string {
	list := r.list(name, "")
	for _, ch := range list {
		if !slackChannelID.MatchString(ch) && !larkChatID.MatchString(ch) {
			r.bad(name, ch, "want Slack channel ids (C0123ABCD) or Lark chat ids (oc_…), comma-separated")
		}
	}
	return list
}

func (r *envReader) positiveInt(name string, def int) int {
	v := r.str(name, "")
	if v == "" {
		return def
	}
	n, err := strconv.Atoi(v)
	if err != nil || n <= 0 {
		r.bad(name, v, "want a positive integer")
		return def
	}
	return n
}

func (r *envReader) zone(name, def string) *time.Location {
	v := r.str(name, def)
	loc, err := time.LoadLocation(v)
	if err != nil {
		r.bad(name, v, "want an IANA time zone like America/New_York")
		loc, _ = time.LoadLocation(def)
	}
	return loc
}

func (r *envReader) url(name, def string) string {
	v := r.str(name, def)
	if !strings.HasPrefix(v, "http://") && !strings.HasPrefix(v, "https://") {
		r.bad(name, v, "want an http(s) URL")
		return def
	}
	return v
}

func (r *envReader) instant(name string) time.Time {
	v := r.str(name, "")
	if v == "" {
		return time.Time{}
	}
	t, err := time.Parse(time.RFC3339, v)
	if err != nil {
		r.bad(name, v, "want an RFC 3339 instant like 2026-05-22T16:00:00Z")
	}
	return t
}

var rateUnits = map[string]time.Duration{
	"s": time.Second, "sec": time.Second, "second": time.Second,
	"m": time.Minute, "min": time.Minute, "minute": time.Minute,
	"h": time.Hour, "hour": time.Hour,
}

func (r *envReader) rate(name, def string) Rate {
	v := r.str(name, def)
	n, unit, ok := strings.Cut(v, "/")
	count, err := strconv.Atoi(strings.TrimSpace(n))
	per, known := rateUnits[strings.TrimSpace(unit)]
	if !ok || err != nil || count <= 0 || !known {
		r.bad(name, v, "want N/s, N/min or N/hour, e.g. 20/min")
		return Rate{N: 1, Per: time.Second}
	}
	return Rate{N: count, Per: per}
}

// logLevel reads debug, info, warn or error; unset is nil.
func (r *envReader) logLevel(name string) *slog.Level {
	v := r.str(name, "")
	if v == "" {
		return nil
	}
	var l slog.Level
	if err := l.UnmarshalText([]byte(v)); err != nil {
		r.bad(name, v, "want debug, info, warn or error")
		return nil
	}
	return &l
}
