package lookup

import (
	"regexp"
	"strconv"
	"strings"
	"time"
)

// parseScan is the working copy of a report. A pass that understands a span blanks
// it (overwrites it with spaces of the same byte length), so later passes do not
// read it again and byte offsets stay valid.
type parseScan struct {
	buf   []byte
	orig  string // the text before any blanking, at the same offsets
	lower string // orig lower-cased, for pass gates
}

// newParseScan returns a scan of text.
func newParseScan(text string) *parseScan {
	return &parseScan{buf: []byte(text), orig: text, lower: strings.ToLower(text)}
}

// parsePass is a pattern and the words it cannot match without. Checking the words
// first skips most patterns for a typical report: running a pattern costs several
// microseconds even when nothing matches.
type parsePass struct {
	re   *regexp.Regexp
	gate []string // lower case; the pattern runs when any occurs (or gate is empty)
}

// mayMatch reports whether the pass's gate lets it run on the scan.
func (p parsePass) mayMatch(s *parseScan) bool {
	for _, w := range p.gate {
		if strings.Contains(s.lower, w) {
			return true
		}
	}
	return len(p.gate) == 0
}

// parseMatch is one regexp match in a parseScan.
type parseMatch struct {
	sc  *parseScan
	idx []int
}

func (m parseMatch) start() int { return m.idx[0] }
func (m parseMatch) end() int   { return m.idx[1] }

// text returns the whole match.
func (m parseMatch) text() string { return string(m.sc.buf[m.idx[0]:m.idx[1]]) }

// group returns submatch i, or "" when it did not participate.
func (m parseMatch) group(i int) string {
	if m.idx[2*i] < 0 {
		return ""
	}
	return string(m.sc.buf[m.idx[2*i]:m.idx[2*i+1]])
}

// groupStart returns where submatch i starts, or -1.
func (m parseMatch) groupStart(i int) int { return m.idx[2*i] }

// groupEnd returns where submatch i ends, or -1.
func (m parseMatch) groupEnd(i int) int { return m.idx[2*i+1] }

// each calls fn for every match of p in the text as it is before the call; the span
// of a match for which fn returns true is blanked.
func (s *parseScan) each(p parsePass, fn func(m parseMatch) bool) {
	if !p.mayMatch(s) {
		return
	}
	for _, idx := range p.re.FindAllSubmatchIndex(s.buf, -1) {
		m := parseMatch{sc: s, idx: idx}
		if fn(m) {
			s.blank(idx[0], idx[1])
		}
	}
}

// blank overwrites buf[start:end] with spaces.
func (s *parseScan) blank(start, end int) {
	for i := start; i < end; i++ {
		s.buf[i] = ' '
	}
}

func (s *parseScan) String() string { return string(s.buf) }

// parseNormalizeChars maps the look-alike characters people paste (full-width
// digits and punctuation, unicode dashes, smart quotes, exotic spaces) to ASCII and
// drops zero-width characters, so that the passes need only ASCII patterns.
func parseNormalizeChars(s string) string {
	return strings.Map(func(r rune) rune {
		switch {
		case r >= 0xFF01 && r <= 0xFF5E: // full-width ASCII block
			return r - 0xFEE0
		case r == 0x3000 || r == 0x00A0 || (r >= 0x2000 && r <= 0x200A) || r == 0x202F || r == 0x205F:
			return ' '
		case (r >= 0x200B && r <= 0x200D) || r == 0x2060 || r == 0xFEFF:
			return -1
		case (r >= 0x2010 && r <= 0x2015) || r == 0x2212 || r == 0xFE58 || r == 0xFE63:
			return '-'
		case r == 0x2018 || r == 0x2019 || r == 0x201A || r == 0x201B || r == 0x2032:
			return '\''
		case r >= 0x201C && r <= 0x201F || r == 0x2033:
			return '"'
		case r == 0x301C: // wave dash, "about"
			return '~'
		}
		return r
	}, s)
}

var (
	// parseSlackRe matches Slack's markup: <target|label>, <@U123>, <#C1|name>, <!here>.
	parseSlackRe = regexp.MustCompile(`<([^<>\n]{1,1000})>`)
	// parseURLRe matches a bare link (Lark, plain text).
	parseURLRe = regexp.MustCompile(`(?i)\bhttps?://[^\s<>"'|]+`)
	// parseEmailRe matches an e-mail address, whose digits are not a phone number.
	parseEmailRe = regexp.MustCompile(`[A-Za-z0-9._%+\-]+@[A-Za-z0-9.\-]+\.[A-Za-z]{2,}`)
	// parseLinkIDRe finds the ids a link may carry (an OpenRouter activity link, a
	// dashboard link with the session).
	parseLinkIDRe = regexp.MustCompile(`(?:^|[^A-Za-z0-9_-])((?:gen|s)-[A-Za-z0-9][A-Za-z0-9_-]{5,})`)
	parseEntities = strings.NewReplacer("&lt;", "<", "&gt;", ">", "&amp;", "&")
)

// parsePrepareText normalizes characters, replaces Slack markup by what it shows,
// drops links and e-mail addresses (keeping the ids a link carries), unescapes
// Slack's HTML entities and drops emphasis underscores.
func parsePrepareText(text string) string {
	s := parseNormalizeChars(text)
	s = parseSlackRe.ReplaceAllStringFunc(s, func(m string) string {
		return " " + parseSlackReplacement(m[1:len(m)-1]) + " "
	})
	s = parseURLRe.ReplaceAllStringFunc(s, parseLinkIDs)
	s = parseEmailRe.ReplaceAllString(s, " ")
	return parseDropEmphasis(parseEntities.Replace(s))
}

// parseDropEmphasis turns the underscores of Slack italics ("_5/20 1:15pm_") into
// spaces: a run of underscores at the start or the end of a word, that is, not
// between two letters, digits or dashes. Underscores inside a token (s-abc_def,
// gen-…_x) are kept. The text keeps its byte length.
func parseDropEmphasis(s string) string {
	if !strings.Contains(s, "_") {
		return s
	}
	b := []byte(s)
	inWord := func(i int) bool {
		if i < 0 || i >= len(b) {
			return false
		}
		c := b[i]
		return parseIsAlnum(c) || c == '-' || c >= 0x80
	}
	for i := 0; i < len(b); {
		if b[i] != '_' {
			i++
			continue
		}
		j := i
		for j < len(b) && b[j] == '_' {
			j++
		}
		if !inWord(i-1) || !inWord(j) {
			for k := i; k < j; k++ {
				b[k] = ' '
			}
		}
		i = j
	}
	return string(b)
}

// parseSlackReplacement returns the plain text for the inside of one <…> markup.
func parseSlackReplacement(inner string) string {
	target, label, hasLabel := strings.Cut(inner, "|")
	lower := strings.ToLower(target)
	switch {
	case strings.HasPrefix(target, "@"), strings.HasPrefix(target, "#"):
		return ""
	case strings.HasPrefix(target, "!date^"):
		return label
	case strings.HasPrefix(target, "!"):
		return ""
	case strings.HasPrefix(lower, "tel:"):
		if hasLabel && strings.TrimSpace(label) != "" {
			return label
		}
		return target[len("tel:"):]
	case strings.HasPrefix(lower, "mailto:"):
		return ""
	case strings.HasPrefix(lower, "http://"), strings.HasPrefix(lower, "https://"):
		ids := parseLinkIDs(target)
		if hasLabel && !parseLooksLikeURL(label) {
			return label + " " + ids
		}
		return ids
	}
	return inner
}

// parseLooksLikeURL reports whether a link label is just the link again.
func parseLooksLikeURL(label string) bool {
	return !strings.ContainsAny(label, " \t") && strings.ContainsAny(label, "./")
}

// parseLinkIDs returns the gen-/s- ids inside a link, space separated.
func parseLinkIDs(link string) string {
	var ids []string
	for _, m := range parseLinkIDRe.FindAllStringSubmatch(link, -1) {
		ids = append(ids, m[1])
	}
	return " " + strings.Join(ids, " ") + " "
}

var (
	parseGenPass = parsePass{
		re:   regexp.MustCompile(`(?:^|[^A-Za-z0-9_-])(gen-[A-Za-z0-9][A-Za-z0-9_-]{5,})`),
		gate: []string{"gen-"},
	}
	// parseSessionKeyPass matches a session id given with a keyword: "session abc123",
	// "session id: abc", "telephonySessionId = 's-…'".
	parseSessionKeyPass = parsePass{
		re:   regexp.MustCompile(`(?i)\b(?:telephony[ _]?session[ _]?id|session[ _]?id|session)\b([ \t]*[:=#][ \t]?|[ \t]{1,2}(?:is[ \t]+)?)["'` + "`" + `]?([A-Za-z0-9][A-Za-z0-9_.-]*)`),
		gate: []string{"session"},
	}
	parseSessionPass = parsePass{
		re:   regexp.MustCompile(`(?:^|[^A-Za-z0-9_-])(s-[A-Za-z0-9_-]{6,})`),
		gate: []string{"s-"},
	}
	parseDateLikeRe = regexp.MustCompile(`^\d{1,4}[-.]\d{1,2}(?:[-.]\d{1,4})?$`)
)

// readIDs reads gen-… and session ids and blanks them, so their digits are not read
// as phone numbers or dates.
func (r *parsedReport) readIDs(sc *parseScan) {
	sc.each(parseGenPass, func(m parseMatch) bool {
		id := strings.TrimRight(m.group(1), "-_")
		if !parseContains(r.genIDs, id) {
			r.genIDs = append(r.genIDs, id)
		}
		sc.blank(m.groupStart(1), m.groupEnd(1))
		return false
	})
	sc.each(parseSessionKeyPass, func(m parseMatch) bool {
		id := strings.TrimRight(m.group(2), "-_.")
		explicit := strings.ContainsAny(m.group(1), ":=#")
		if len(id) < 4 || parseDateLikeRe.MatchString(id) || !(explicit || strings.ContainsAny(id, "0123456789")) {
			return false
		}
		if r.sessionID == "" {
			r.sessionID = id
		}
		return true
	})
	sc.each(parseSessionPass, func(m parseMatch) bool {
		at := m.groupStart(1)
		// "it's-…" is English, not an id; a quoted 's-…' is.
		if at >= 2 && sc.buf[at-1] == '\'' && parseIsLetter(sc.buf[at-2]) {
			return false
		}
		id := strings.TrimRight(m.group(1), "-_")
		if r.sessionID == "" {
			r.sessionID = id
		}
		sc.blank(at, m.groupEnd(1))
		return false
	})
}

var (
	parseInboundPass = parsePass{
		re:   regexp.MustCompile(`(?i)\b(?:inbound|incoming)\b|呼入|来电|來電|打进来|打進來`),
		gate: []string{"inbound", "incoming", "呼入", "来电", "來電", "打进来", "打進來"},
	}
	parseOutboundPass = parsePass{
		re:   regexp.MustCompile(`(?i)\b(?:outbound|outgoing)\b|呼出|去电|去電|打出去`),
		gate: []string{"outbound", "outgoing", "呼出", "去电", "去電", "打出去"},
	}
	// parseEnvPass is "env prod", "env=test", "environment: pre", "环境 prod": the
	// keyword and the word after it, whatever it is (readEnv judges it).
	parseEnvPass = parsePass{
		re:   regexp.MustCompile(`(?i)(\benv(?:ironment)?\b|环境|環境)[ \t]*([:=]?)[ \t]*([A-Za-z][A-Za-z0-9_-]*)`),
		gate: []string{"env", "环境", "環境"},
	}
	parseWindowPass = parsePass{
		re:   regexp.MustCompile(`(?i)(±|\+\s?/?\s?-|\bwindow(?:\s+of)?\s*[:=]?|前后|前後)\s*(\d{1,4}(?:\.\d{1,2})?)\s*(hours|hour|hrs|hr|h|minutes|minute|mins|min|m|个小时|個小時|小时|小時|分钟|分鐘)`),
		gate: []string{"±", "+", "window", "前后", "前後"},
	}
)

// readOptions reads direction, env and window.
func (r *parsedReport) readOptions(sc *parseScan) {
	in, out := false, false
	sc.each(parseInboundPass, func(parseMatch) bool { in = true; return true })
	sc.each(parseOutboundPass, func(parseMatch) bool { out = true; return true })
	switch {
	case in && !out:
		r.direction = DirectionInbound
	case out && !in:
		r.direction = DirectionOutbound
	}
	sc.each(parseEnvPass, func(m parseMatch) bool {
		return r.readEnv(m.group(1), m.group(2), m.group(3))
	})
	sc.each(parseWindowPass, func(m parseMatch) bool {
		if next := m.end(); next < len(sc.buf) && parseIsLetter(sc.buf[next]) {
			return false // "±3 months", "±5 mi": not a window
		}
		if r.windowText == "" {
			r.readWindow(m.text(), m.group(2), m.group(3))
		}
		return true
	})
}

// parseEnvNames are names of envs other than test, pre and prod: after a bare
// "env" or 环境 only these are refused, so that ordinary words ("the env issue",
// "env is fine") are not taken for an env someone asked for.
var parseEnvNames = map[string]bool{"staging": true, "stage": true, "stg": true, "dev": true, "develop": true,
	"development": true, "qa": true, "uat": true, "sandbox": true, "preprod": true, "pre-prod": true,
	"preview": true, "local": true, "beta": true, "demo": true, "int": true, "integration": true, "perf": true,
	"canary": true, "prd": true, "testing": true}

// readEnv reads the env a keyword names and reports whether the words were one.
// test, pre and prod (production) are envs; any other word given with ":" or "="
// ("env=staging"), or an env's name after "env" or 环境 ("env staging",
// parseEnvNames) is a problem, worded as the report words' answer (notAnEnv);
// another word after a bare "env" is ordinary English ("the env issue"). After
// "environment" without ":" or "=" only an env counts: the word is English too.
func (r *parsedReport) readEnv(keyword, sep, word string) bool {
	val := strings.ToLower(word)
	if val == "production" {
		val = "prod"
	}
	switch {
	case val == "test" || val == "pre" || val == "prod":
		if r.env == "" {
			r.env = val
		}
		return true
	case sep == "" && (strings.EqualFold(keyword, "environment") || !parseEnvNames[val]):
		return false
	}
	r.problem(say("env test, pre or prod", "env test、pre 或 prod"), notAnEnv(word))
	return true
}

// notAnEnv answers a word that is not an env; report words get the same answer.
func notAnEnv(word string) sentence {
	return say("“%s” is not an env: want test, pre or prod.", "“%s” 不是 env：只能是 test、pre 或 prod。", word)
}

// readWindow sets the ± window from a number and its unit.
func (r *parsedReport) readWindow(text, number, unit string) {
	n, err := strconv.ParseFloat(number, 64)
	unitDur := time.Hour
	if strings.HasPrefix(strings.ToLower(unit), "m") || strings.HasPrefix(unit, "分") {
		unitDur = time.Minute
	}
	w := time.Duration(n * float64(unitDur)).Round(time.Minute)
	r.windowText = strings.TrimSpace(text)
	if err != nil || w < parseMinWindow || w > parseMaxWindow {
		r.problem(say("a window between ±1m and ±7d", "±1m 到 ±7d 之间的时间窗口"),
			say("“%s” is not a window I can search: use something like ±2h.", "“%s” 不是能搜索的时间窗口：请写成类似 ±2h 的形式。", r.windowText))
		return
	}
	r.window = w
}

func parseContains(list []string, s string) bool {
	for _, v := range list {
		if v == s {
			return true
		}
	}
	return false
}

func parseIsLetter(c byte) bool { return c|0x20 >= 'a' && c|0x20 <= 'z' }

func parseIsDigit(c byte) bool { return c >= '0' && c <= '9' }

func parseIsAlnum(c byte) bool { return parseIsLetter(c) || parseIsDigit(c) }
