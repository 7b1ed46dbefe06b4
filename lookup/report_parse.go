package lookup

import (
	"fmt"
	"regexp"
	"strconv"
	"strings"
	"time"
)

// ReportParseOptions are the defaults report words are read against.
type ReportParseOptions struct {
	Now      time.Time      // TRACEBOT_NOW in tests and replays; zero means time.Now()
	Zone     *time.Location // TRACEBOT_TIME_ZONE: where "since 9am" and "yesterday" are; nil means America/New_York
	MaxRange time.Duration  // TRACEBOT_REPORT_MAX_RANGE; zero means 7d
}

// ParseReportQuery reads chat or CLI words such as "cost 2h", "cache 24h",
// "finish since 9am", "providers yesterday", "deploys" or "help" into a
// ReportQuery whose window ends at now (yesterday: the whole previous day in the
// zone). "env test" picks the env. It returns an *Error: CodeNotUnderstood, with a
// "did you mean" when the kind is misspelt, for words it cannot read, and
// CodeWindowTooLong, saying why, for a window over MaxRange.
func ParseReportQuery(text string, opt ReportParseOptions) (ReportQuery, error) {
	opt = opt.withDefaults()
	words := reportWords(text)
	if len(words) == 0 {
		return ReportQuery{}, errorSay(CodeNotUnderstood, say("Which report? Try %s.", "哪个报告？试试 %s。", reportExampleList()))
	}
	kind, ok := reportKindWord(words[0])
	if !ok {
		return ReportQuery{}, notAReport(words[0])
	}
	q := ReportQuery{Kind: kind, Zone: opt.Zone}
	rest, err := q.readEnv(words[1:])
	if err != nil {
		return ReportQuery{}, err
	}
	if kind == ReportHelp || kind == ReportDeploys {
		return q, nil // deploys looks at what runs now: it has no window
	}
	if err := q.readWindow(strings.Join(rest, " "), opt); err != nil {
		return ReportQuery{}, err
	}
	return q, nil
}

func (o ReportParseOptions) withDefaults() ReportParseOptions {
	if o.Now.IsZero() {
		o.Now = time.Now()
	}
	if o.Zone == nil {
		o.Zone = timeLoadZoneOr(parseDefaultZoneName, time.UTC)
	}
	o.MaxRange = cwOr(o.MaxRange, DefaultReportMaxRange)
	return o
}

// IsReportRequest reports whether text asks for a report or for help rather
// than a trace: its first word is a report kind or "help" (chat emphasis such as
// Slack's *bold*, _italic_ or ~strike~ aside), or a near miss of one followed by
// nothing but a window and an env ("cahce 24h"), so that a pasted report
// starting "Lost…" or "Most…" is still traced. A text with a phone number, a
// session id or a generation id is always a trace.
func IsReportRequest(text string) bool {
	words := reportWords(text)
	if len(words) == 0 {
		return false
	}
	rep := readReport(text)
	if rep.phone != "" || rep.badPhone != "" || rep.shortPhone != "" || rep.sessionID != "" || len(rep.genIDs) > 0 {
		return false
	}
	if _, ok := reportKindWord(words[0]); ok {
		return true
	}
	_, near := nearestKind(words[0])
	return near && readsAsWindow(words[1:])
}

// reportWords are text's words in lower case, without the emphasis markup chat
// wraps words in (*cost* 2h, _cache_, ~finish~).
func reportWords(text string) []string {
	var out []string
	for _, w := range strings.Fields(strings.ToLower(text)) {
		if w = strings.Trim(w, "*_~"); w != "" {
			out = append(out, w)
		}
	}
	return out
}

// readsAsWindow reports whether words are what may follow a report kind:
// nothing, an env, a window (one too long included: it is still a window).
func readsAsWindow(words []string) bool {
	q := ReportQuery{Kind: ReportCost}
	rest, err := q.readEnv(words)
	switch {
	case err != nil:
		return false
	case len(rest) == 0:
		return true
	}
	err = q.readWindow(strings.Join(rest, " "), ReportParseOptions{}.withDefaults())
	return err == nil || ErrorCode(err) == CodeWindowTooLong
}

// reportKindWords are the words each kind answers to.
var reportKindWords = map[string]ReportKind{
	"cost": ReportCost, "costs": ReportCost, "cache": ReportCache, "finish": ReportFinish, "finishes": ReportFinish,
	"providers": ReportProviders, "provider": ReportProviders, "deploys": ReportDeploys, "deploy": ReportDeploys,
	"help": ReportHelp, "?": ReportHelp,
}

func reportKindWord(w string) (ReportKind, bool) {
	k, ok := reportKindWords[strings.Trim(w, ".,:;!")]
	return k, ok
}

// notAReport is the answer to a first word that names no report: "did you mean"
// the closest kind when it is a near miss.
func notAReport(word string) error {
	if k, ok := nearestKind(word); ok {
		info := reportKindInfo(k)
		ex := string(k)
		if info.Example != "" {
			ex = info.Example
		}
		e := errorSay(CodeNotUnderstood, say("“%s” is not a report. Did you mean “%s”?", "“%s” 不是报告。你是想要 “%s” 吗？", word, ex))
		e.addMissing(say("a report kind: %s", "报告类型：%s", reportKindList()))
		return e
	}
	e := errorSay(CodeNotUnderstood, say("“%s” is not a report: try %s.", "“%s” 不是报告：试试 %s。", word, reportExampleList()))
	e.addMissing(say("a report kind: %s", "报告类型：%s", reportKindList()))
	return e
}

func reportKindInfo(k ReportKind) ReportKindInfo {
	if info, ok := reportKindsByName[k]; ok {
		return info
	}
	return ReportKindInfo{Kind: k, Example: string(k)}
}

// nearestKind is the kind (or help) whose name is one edit away from w (two for
// names longer than five letters), counting a swap of neighbours as one edit.
func nearestKind(w string) (ReportKind, bool) {
	best, bestDist := ReportKind(""), 99
	for word, k := range reportKindWords {
		if word == "?" {
			continue
		}
		limit := 1
		if len(word) > 5 {
			limit = 2
		}
		if d := editDistance(w, word); d <= limit && d > 0 && (d < bestDist || d == bestDist && string(k) < string(best)) {
			best, bestDist = k, d
		}
	}
	return best, best != ""
}

// editDistance is the optimal-string-alignment distance between a and b.
func editDistance(a, b string) int {
	ra, rb := []rune(a), []rune(b)
	d := make([][]int, len(ra)+1)
	for i := range d {
		d[i] = make([]int, len(rb)+1)
		d[i][0] = i
	}
	for j := range d[0] {
		d[0][j] = j
	}
	for i := 1; i <= len(ra); i++ {
		for j := 1; j <= len(rb); j++ {
			cost := 1
			if ra[i-1] == rb[j-1] {
				cost = 0
			}
			d[i][j] = min(d[i-1][j]+1, d[i][j-1]+1, d[i-1][j-1]+cost)
			if i > 1 && j > 1 && ra[i-1] == rb[j-2] && ra[i-2] == rb[j-1] {
				d[i][j] = min(d[i][j], d[i-2][j-2]+1)
			}
		}
	}
	return d[len(ra)][len(rb)]
}

// readEnv takes "env test" (or "env=test") out of the words.
func (q *ReportQuery) readEnv(words []string) ([]string, error) {
	var rest []string
	for i := 0; i < len(words); i++ {
		w := words[i]
		val, isEnv := strings.CutPrefix(w, "env=")
		if w == "env" && i+1 < len(words) {
			val, isEnv = words[i+1], true
			i++
		}
		if !isEnv {
			rest = append(rest, w)
			continue
		}
		switch val {
		case "test", "pre", "prod":
			q.Env = val
		default:
			return nil, errorSay(CodeNotUnderstood, notAnEnv(val))
		}
	}
	return rest, nil
}

var (
	reportSpanRe  = regexp.MustCompile(`^(?:last |past )?(\d{1,4}) ?(m|min|mins|minutes?|h|hr|hrs|hours?|d|days?|w|weeks?)$`)
	reportClockRe = regexp.MustCompile(`^(\d{1,2})(?::(\d{2}))? ?(am|pm)?$`)
)

var reportUnits = map[byte]time.Duration{'m': time.Minute, 'h': time.Hour, 'd': 24 * time.Hour, 'w': 7 * 24 * time.Hour}

// readWindow sets From and To from the window words (the kind's default when
// there are none).
func (q *ReportQuery) readWindow(w string, opt ReportParseOptions) error {
	now := opt.Now.Truncate(time.Second)
	local := now.In(opt.Zone)
	midnight := time.Date(local.Year(), local.Month(), local.Day(), 0, 0, 0, 0, opt.Zone)
	q.To = now.UTC()
	switch {
	case w == "":
		d := reportKindInfo(q.Kind).DefaultWindow
		q.Window, q.From = reportSpan(d), now.Add(-d).UTC()
	case w == "today":
		q.Window, q.From = "today", midnight.UTC()
	case w == "yesterday":
		q.Window, q.From, q.To = "yesterday", midnight.AddDate(0, 0, -1).UTC(), midnight.UTC()
	case strings.HasPrefix(w, "since "):
		from, err := sinceTime(strings.TrimPrefix(w, "since "), local, midnight)
		if err != nil {
			return err
		}
		q.Window, q.From = w, from.UTC()
	default:
		m := reportSpanRe.FindStringSubmatch(w)
		if m == nil {
			return errorSay(CodeNotUnderstood, say("I could not read the window “%s”: try 2h, 24h, 7d, since 9am or yesterday.",
				"“%s” 不是能读懂的时间窗口：试试 2h、24h、7d、since 9am 或 yesterday。", w))
		}
		n, _ := strconv.Atoi(m[1])
		d := time.Duration(n) * reportUnits[m[2][0]]
		if d <= 0 {
			return errorSay(CodeNotUnderstood, say("The window “%s” is empty: try 2h, 24h or 7d.", "时间窗口 “%s” 是空的：试试 2h、24h 或 7d。", w))
		}
		if err := windowTooLong(d, opt.MaxRange); err != nil {
			return err
		}
		q.Window, q.From = reportSpan(d), now.Add(-d).UTC()
	}
	return windowTooLong(q.To.Sub(q.From), opt.MaxRange)
}

// sinceTime reads the clock of "since 9am" (or "since yesterday", "since
// noon"): today at that time, or yesterday when today's is not yet past.
func sinceTime(clock string, local, midnight time.Time) (time.Time, error) {
	switch clock {
	case "yesterday":
		return midnight.AddDate(0, 0, -1), nil
	case "midnight", "today":
		return midnight, nil
	case "noon":
		clock = "12pm"
	}
	m := reportClockRe.FindStringSubmatch(clock)
	h, _ := strconv.Atoi(safeIndex(m, 1))
	mins, _ := strconv.Atoi(safeIndex(m, 2))
	switch ampm := safeIndex(m, 3); {
	case m == nil || mins > 59 || ampm == "" && h > 23 || ampm != "" && (h < 1 || h > 12):
		return time.Time{}, errorSay(CodeNotUnderstood, say("I could not read the time “%s”: try since 9am, since 13:30 or since yesterday.",
			"“%s” 不是能读懂的时间：试试 since 9am、since 13:30 或 since yesterday。", clock))
	case ampm == "am" && h == 12:
		h = 0
	case ampm == "pm" && h < 12:
		h += 12
	}
	t := time.Date(midnight.Year(), midnight.Month(), midnight.Day(), h, mins, 0, 0, midnight.Location())
	if !t.Before(local) {
		t = t.AddDate(0, 0, -1)
	}
	return t, nil
}

func safeIndex(m []string, i int) string {
	if i < len(m) {
		return m[i]
	}
	return ""
}

// reportSpan writes a window length as people type it: 90m, 2h, 24h, 36h, 7d.
func reportSpan(d time.Duration) string {
	switch {
	case d >= 48*time.Hour && d%(24*time.Hour) == 0:
		return fmt.Sprintf("%dd", d/(24*time.Hour))
	case d%time.Hour == 0:
		return fmt.Sprintf("%dh", d/time.Hour)
	case d%time.Minute == 0:
		return fmt.Sprintf("%dm", d/time.Minute)
	}
	return d.String()
}

func reportExampleList() string {
	var ex []string
	for _, k := range ReportKinds {
		ex = append(ex, "“"+k.Example+"”")
	}
	return strings.Join(ex, ", ")
}

// ReportHelpText lists every report kind with one example each, in English (the
// bot localises its own).
func ReportHelpText() string {
	var b strings.Builder
	b.WriteString("Reports across calls (window: 2h, 24h, 7d, since 9am, today or yesterday; add env test|pre|prod):\n")
	for _, k := range ReportKinds {
		def := "no window"
		if k.DefaultWindow > 0 {
			def = "default " + reportSpan(k.DefaultWindow)
		}
		fmt.Fprintf(&b, "  %-22s %s (%s)\n", k.Example, k.Summary, def)
	}
	b.WriteString("Or paste a phone number and roughly when to trace one call.\n")
	return b.String()
}
