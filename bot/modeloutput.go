package bot

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"

	"github.com/callytics/tracebot/lookup"
)

// The Model output button (SPEC §11): it shows the person who clicks it, and no
// one else, each stage's stored answer and a bounded excerpt of its input. Those
// are customer data (prompts, transcripts): they go into that private answer and
// nowhere else — not the channel, a log line, metrics or the state store. The
// button's value carries the stages' content refs, so any replica can answer the
// click by fetching the content again.

// ContentReader fetches the stored content of a trace's stages again;
// *lookup.Service implements it (see lookup.Service.StoredContents: the error is
// lookup.ErrVerdictOff or nil, a failed fetch is recorded on its stage).
type ContentReader interface {
	StoredContents(ctx context.Context, refs []lookup.ContentRef) ([]lookup.Stage, error)
}

// EphemeralPoster is implemented by posters whose platform can show a reply to one
// person inside the conversation, seen by no one else and kept in no chat history
// (Lark's cards "only visible to you"). The bot uses it for answers that hold
// customer data, and Private when it fails (a direct chat, a topic group).
type EphemeralPoster interface {
	// Ephemeral shows r to m.User alone, in m.Channel.
	Ephemeral(ctx context.Context, m Message, r Reply) error
}

// Bounds of the Model output answer.
const (
	maxContentRefs  = 12   // stages a button carries (a pipeline has a handful)
	maxAnswerRunes  = 1500 // of one stage's answer, pretty-printed
	inputExcerptLen = lookup.InputExcerptRunes
)

// modelOutputButton is the Model output button of a traced call, or nil when there
// is nothing to show: no content reader, no stage with a generation id, or neither
// a verdict nor any stored content (TRACEBOT_VERDICT=off).
func (r replies) modelOutputButton(tr *lookup.Trace, v ActionValue) *Button {
	refs := tr.ContentRefs()
	if !r.modelOutput || len(refs) == 0 || (tr.Verdict == nil && !anyStored(tr.Stages)) {
		return nil
	}
	v.Action, v.StoreID, v.Refs = ActModelOutput, "", refs[:min(len(refs), maxContentRefs)]
	return &Button{Label: r.t("b_model_output"), Value: v}
}

func anyStored(stages []lookup.Stage) bool {
	for _, s := range stages {
		if s.Content == lookup.ContentStored {
			return true
		}
	}
	return false
}

// showModelOutput answers a Model output click privately, within the clicker's
// trace rate limit (each click reads OpenRouter again).
func (b *Bot) showModelOutput(ctx context.Context, a Action) {
	m := a.asMessage()
	switch {
	case b.deps.Contents == nil:
		b.private(ctx, m, b.replies.notice("mo_off"))
		return
	case len(a.Value.Refs) == 0:
		b.private(ctx, m, b.replies.notice("mo_no_refs"))
		return
	case !b.allowTrace(a.User):
		b.private(ctx, m, b.replies.notice("rate_limited", b.cfg.RateLimit, b.cfg.RatePer))
		return
	}
	refs := a.Value.Refs[:min(len(a.Value.Refs), maxContentRefs)]
	stages, err := b.deps.Contents.StoredContents(ctx, refs)
	if errors.Is(err, lookup.ErrVerdictOff) {
		b.private(ctx, m, b.replies.notice("mo_off"))
		return
	}
	if err != nil {
		b.log.Warn("model output: stored content", "session", a.Value.SessionID, "err", err)
		b.private(ctx, m, b.replies.notice("action_failed", "could not read the stored content; try again"))
		return
	}
	b.log.Info("model output shown", "platform", a.Platform, "user", a.User, "session", a.Value.SessionID, "stages", len(stages))
	b.whisper(ctx, m, b.replies.modelOutputAnswer(a.Value.SessionID, stages))
}

// whisper shows r to m's requester alone: in the conversation where the platform
// can (EphemeralPoster), else as a private answer. Failures are logged, never r.
func (b *Bot) whisper(ctx context.Context, m Message, r Reply) {
	if ep, ok := b.poster(m.Platform).(EphemeralPoster); ok && m.Channel != "" {
		err := ep.Ephemeral(ctx, m, r)
		if err == nil {
			return
		}
		b.log.Info("ephemeral answer refused; answering privately", "platform", m.Platform, "err", err)
	}
	b.private(ctx, m, r)
}

// modelOutputAnswer is the private answer: for each stage, its answer (the parsed
// JSON, pretty; the raw answer when it is not JSON) and an excerpt of its input,
// or why there is none. Its notification text names only the call.
func (r replies) modelOutputAnswer(session string, stages []lookup.Stage) Reply {
	blocks := []Block{{Kind: BlockHeader, Text: r.t("mo_title", session)}, contextBlock(r.t("mo_private"))}
	for i, s := range stages {
		if i > 0 {
			blocks = append(blocks, Block{Kind: BlockDivider})
		}
		blocks = append(blocks, r.storedStage(s)...)
	}
	return r.reply(r.t("mo_text", session), blocks...)
}

// storedStage is one stage of the Model output answer.
func (r replies) storedStage(s lookup.Stage) []Block {
	stage, gen := literal(s.Stage), code(s.GenerationID)
	switch s.Content {
	case lookup.ContentStored:
	case lookup.ContentNone:
		return []Block{textBlock(r.t("mo_not_stored", stage, gen))}
	default:
		return []Block{textBlock(r.t("mo_failed", stage, gen, literal(orDash(s.ContentError))))}
	}
	answer, title := prettyJSON(s.Output), r.t("mo_answer", stage, gen)
	if s.Output == nil {
		why := literal(s.OutputError)
		if s.CutOff() {
			why = r.t("mo_cut_off")
		}
		answer, title = s.Answer(), r.t("mo_answer_raw", stage, gen, why)
	}
	return []Block{textBlock(title), {Kind: BlockCode, Text: orText(clip(answer, maxAnswerRunes), r.t("mo_empty"))},
		contextBlock(r.t("mo_input", inputExcerptLen)), {Kind: BlockCode, Text: orText(s.InputExcerpt(inputExcerptLen), r.t("mo_empty"))}}
}

// prettyJSON indents a JSON value for reading; what does not indent is shown as it is.
func prettyJSON(raw json.RawMessage) string {
	var b bytes.Buffer
	if json.Indent(&b, raw, "", "  ") != nil {
		return string(raw)
	}
	return b.String()
}

func orText(s, empty string) string {
	if s == "" {
		return empty
	}
	return s
}
