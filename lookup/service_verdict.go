package lookup

import "fmt"

// joinContent records a stored-content fetch on the stage and parses its answer:
// Content and ContentError say what came back, Output and OutputError what the
// answer is.
func (s *Stage) joinContent(c Content, err error) {
	switch {
	case err != nil:
		s.Content, s.ContentError = ContentFailed, errLine(err)
	case !c.Stored:
		s.Content = ContentNone
		s.ContentError = fmt.Sprintf("OpenRouter stored no content for %s (input/output logging off or zero data retention)", s.GenerationID)
	default:
		s.Content, s.content = ContentStored, &c
		answer, perr := ParseAnswer(c.Completion(), s.FinishReason)
		if perr != nil {
			s.OutputError = perr.Error()
			return
		}
		s.answer, s.Output = answer, answer.JSON()
	}
}
