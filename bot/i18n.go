package bot

import "fmt"

// texts holds every sentence the bot says, in English and Chinese (TRACEBOT_LANG).
var texts = map[string][2]string{
	"root":              {"Tracing %s %s — requested by %s", "正在追踪 %s %s — 发起人 %s"},
	"root_session":      {"Tracing call %s — requested by %s", "正在追踪通话 %s — 发起人 %s"},
	"sample":            {"Sample data (--sandbox): not a real call", "示例数据（--sandbox）：不是真实通话"},
	"p_number":          {"number %s · %s", "号码 %s · %s"},
	"p_session":         {"session %s", "会话 %s"},
	"p_call_wait":       {"finding the call in Neon…", "正在 Neon 中查找通话…"},
	"p_call":            {"call %s (matched %s)", "通话 %s（匹配列 %s）"},
	"p_candidates":      {"%d calls match", "匹配到 %d 通电话"},
	"p_no_call":         {"no call found", "未找到通话"},
	"p_logs_wait":       {"logs in %d regions…", "正在查询 %d 个区域的日志…"},
	"p_logs":            {"logs: %s", "日志：%s"},
	"p_gens":            {"OpenRouter %d/%d", "OpenRouter %d/%d"},
	"p_gens_wait":       {"OpenRouter…", "OpenRouter…"},
	"r_title":           {"Call %s", "通话 %s"},
	"r_searched":        {"Searched %s, %s", "已搜索 %s，%s"},
	"f_created":         {"Created", "创建时间"},
	"f_store":           {"Store", "门店"},
	"f_franchise":       {"Franchise", "品牌"},
	"f_direction":       {"Direction", "方向"},
	"f_matched":         {"Matched", "匹配列"},
	"f_analysis":        {"Analysis", "分析结果"},
	"t_stage":           {"Stage", "阶段"},
	"t_model":           {"Model", "模型"},
	"t_provider":        {"Provider", "Provider"},
	"t_tokens":          {"Tokens in/out", "Token 输入/输出"},
	"t_cache":           {"Cache", "缓存"},
	"t_cost":            {"Cost", "费用"},
	"t_finish":          {"Finish", "结束原因"},
	"t_generation":      {"Generation", "Generation"},
	"no_gen_id":         {"no generation id", "无 generation id"},
	"totals":            {"**Total** %s · cache %s (token-weighted)", "**合计** %s · 缓存命中 %s（按 token 加权）"},
	"runs":              {" · %d runs, showing the newest", " · 共 %d 次运行，显示最新一次"},
	"no_stages":         {"No ai_usage lines were found for this call.", "没有找到这通电话的 ai_usage 日志。"},
	"errors_title":      {"**Could not check everything:**", "**部分步骤失败：**"},
	"b_reprocess":       {"Reprocess", "重新分析"},
	"b_refresh":         {"Refresh", "刷新"},
	"b_escalate":        {"Escalate", "升级"},
	"b_trace_call":      {"Trace this call", "追踪这通电话"},
	"b_widen":           {"Widen to ±6h", "扩大到 ±6 小时"},
	"b_last_week":       {"Last 7 days", "最近 7 天"},
	"b_cancel":          {"Cancel", "取消"},
	"confirm_title":     {"Reprocess this call?", "重新分析这通电话？"},
	"confirm_text":      {"This asks the pipeline to analyze session %s again (at most once per %s).", "将让流水线重新分析会话 %s（每 %s 最多一次）。"},
	"candidates":        {"%d calls match %s, %s. Which one?", "%d 通电话匹配 %s，%s。是哪一通？"},
	"candidate_line":    {"**%s** · %s · %s · store %s", "**%s** · %s · %s · 门店 %s"},
	"candidates_more":   {"…and %d more; narrow the window or give the direction.", "…还有 %d 通；请缩小时间窗口或说明呼入/呼出。"},
	"not_found":         {"No call found for %s between %s and %s (%s).", "在 %s 到 %s（%s）之间没有找到 %s 的通话。"},
	"not_found_hint":    {"Searched contact_phone, from_phone_number and to_phone_number in calls.", "已在 calls 表的 contact_phone、from_phone_number、to_phone_number 中搜索。"},
	"not_understood":    {"Sorry, I could not read that report: %s", "抱歉，没能看懂这条报告：%s"},
	"understood":        {"**Understood:** %s", "**已识别：** %s"},
	"missing":           {"**Missing:** %s", "**缺少：** %s"},
	"examples":          {"**Examples:**", "**示例：**"},
	"failed":            {"The trace failed: %s", "追踪失败：%s"},
	"engineers":         {"For engineers", "工程师信息"},
	"e_sql":             {"**SQL** (Neon `calls`)", "**SQL**（Neon `calls`）"},
	"e_params":          {"**Parameters** %s", "**参数** %s"},
	"e_insights":        {"**Logs Insights query**", "**Logs Insights 查询**"},
	"e_range":           {"**Range** %s – %s UTC%s", "**时间范围** %s – %s UTC%s"},
	"e_widened":         {" (widened to 24h)", "（已扩大到 24 小时）"},
	"e_console":         {"[Open in CloudWatch (%s)](%s)", "[在 CloudWatch 中打开（%s）](%s)"},
	"e_trace_id":        {"trace id `%s`", "trace id `%s`"},
	"reprocess_done":    {"🔁 Reprocess of %s requested by %s — %s %s", "🔁 %s 已请求重新分析，发起人 %s — %s %s"},
	"reprocess_state":   {"🔁 Reprocess requested by %s at %s", "🔁 %s 于 %s 请求了重新分析"},
	"reprocess_refused": {"Reprocess of %s requested by %s was not accepted: %s. The button can be used again.", "%s 的重新分析（发起人 %s）未被接受：%s。可以再次点击按钮。"},
	"reprocess_unknown": {"Reprocess of %s requested by %s may or may not have started: %s. Check the pipeline before trying again.", "%s 的重新分析（发起人 %s）结果未知：%s。请先检查流水线再重试。"},
	"reprocess_again":   {"Reprocess of %s was already requested by %s at %s; it can be requested again after %s.", "%s 已由 %s 于 %s 请求重新分析；%s 之后才能再次请求。"},
	"reprocess_pending": {"Reprocess of %s is being requested by %s right now.", "%s 正在由 %s 请求重新分析。"},
	"not_allowed":       {"Sorry, you are not allowed to reprocess calls. Ask someone in TRACEBOT_REPROCESS_ALLOWED.", "抱歉，你没有重新分析的权限。请联系 TRACEBOT_REPROCESS_ALLOWED 中的人。"},
	"reprocess_off":     {"Reprocess is not configured (TRACEBOT_REPROCESS_TARGET).", "未配置重新分析（TRACEBOT_REPROCESS_TARGET）。"},
	"escalate":          {"%s — escalation from %s: %s", "%s — %s 升级了此问题：%s"},
	"escalate_off":      {"Escalation is not configured (TRACEBOT_ESCALATION_MENTION).", "未配置升级（TRACEBOT_ESCALATION_MENTION）。"},
	"rate_limited":      {"You have asked for %d traces in %s; please wait a moment and try again.", "你在 %[2]s 内已发起 %[1]d 次追踪，请稍后再试。"},
	"channel_off":       {"tracebot is not enabled in this channel.", "此频道未启用 tracebot。"},
	"busy":              {"tracebot is busy right now; please try again in a minute.", "tracebot 正忙，请一分钟后再试。"},
	"shutting_down":     {"tracebot is restarting; please try again in a minute.", "tracebot 正在重启，请一分钟后再试。"},
	"cannot_post":       {"I can't post in that channel. Invite me with `/invite @tracebot` (or add the app to the channel), then try again.", "我无法在该频道发消息。请先用 `/invite @tracebot` 邀请我（或把应用加入频道），然后重试。"},
	"cannot_post_lark":  {"I can't post in that chat. Add me in the group's settings → Bots, then try again.", "我无法在该群发消息。请在群设置 → 群机器人中添加我，然后重试。"},
	"empty_report":      {"That message has no text to trace.", "这条消息没有可追踪的文字。"},
	"working":           {"Working on it…", "处理中…"},
	"generation_error":  {"%s: generation details unavailable (%s)", "%s：无法获取 generation 详情（%s）"},
	"own_message":       {"That is one of my own messages; use “Trace this report” on the report itself.", "这是我自己发的消息；请在报告消息上使用“Trace this report”。"},
	"bad_button":        {"That button is no longer supported; run the trace again.", "这个按钮已失效；请重新发起追踪。"},
	"truncated":         {"…(shortened to fit in one card)", "…（内容过长，已截断）"},
	"stale_button":      {"This button no longer works; ask again.", "这个按钮已失效，请重新发起。"},
	"not_available":     {"tracebot is not available right now.", "tracebot 暂时不可用。"},
	"action_failed":     {"That did not work: %s", "操作失败：%s"},
	// The verdict (SPEC §11): a label per code, the line under the call, and the
	// sentences a verdict is worded from (lookup.VerdictFacts) in languages other
	// than the message's English.
	"v_truncated_output": {"Truncated output", "输出被截断"},
	"v_mapping_bug":      {"Mapping bug", "映射错误"},
	"v_model_output":     {"Model error", "模型判断有误"},
	"v_unknown":          {"Verdict unknown", "无法判定"},
	"v_line":             {"🔎 **%s** — %s", "🔎 **%s** — %s"},
	"v_diff":             {"• %s (%s): model %s · stored %s", "• %s（%s）：模型 %s · 存储 %s"},
	"v_more":             {"+%d more", "另有 %d 个字段不同"},
	"v_summary":          {" · verdict: %s", " · 结论：%s"},
	"vw_cut_off":         {"%s's answer was cut off (finish reason length), so the stored analysis rests on a partial answer: look at maxTokens (%s) or an unusually long transcript", "%s 的回答被截断（finish reason length），存储的分析基于不完整的回答：请检查 maxTokens（%s）或过长的转写"},
	"vw_not_json":        {"%s's answer is not JSON (%s): look at the prompt's output instructions (response_format) and the raw answer", "%s 的回答不是 JSON（%s）：请检查提示词的输出要求（response_format）和原始回答"},
	"vw_also":            {" (also: %s)", "（另有：%s）"},
	"vw_mapping":         {"%s answered %s=%s; the stored analysis says %s: the mapping after the model (%s) is wrong", "%s 回答 %s=%s，而存储的分析是 %s：模型之后的映射（%s）有误"},
	"vw_differ":          {" (%d fields differ)", "（共 %d 个字段不同）"},
	"vw_model":           {"the stored analysis is what the model answered (%s: %s=%s%s): look at the prompt or the transcript (%s)", "存储的分析就是模型的回答（%s：%s=%s%s）：请检查提示词或转写（%s）"},
	"vw_agree":           {"; %d fields agree", "；%d 个字段一致"},
	"vw_not_stored":      {"OpenRouter stored no content for %s (input/output logging off or zero data retention)", "OpenRouter 没有存储 %s 的内容（输入/输出日志已关闭或零数据保留）"},
	"vw_unreadable":      {"could not read the stored content of %s", "无法读取 %s 的存储内容"},
	"vw_sep":             {"; ", "；"},
	"vw_list":            {", ", "、"},
	// The Model output button and its private answer.
	"b_model_output": {"Model output", "模型输出"},
	"mo_title":       {"Model output · call %s", "模型输出 · 通话 %s"},
	"mo_text":        {"Model output of call %s (only you can see it)", "通话 %s 的模型输出（仅你可见）"},
	"mo_private":     {"Only you can see this. Prompts and transcripts are customer data: do not paste them into a channel.", "仅你可见。提示词和转写属于客户数据，请勿粘贴到频道中。"},
	"mo_answer":      {"**%s** · %s — answer (parsed JSON)", "**%s** · %s — 回答（解析后的 JSON）"},
	"mo_answer_raw":  {"**%s** · %s — answer as stored (%s)", "**%s** · %s — 回答原文（%s）"},
	"mo_input":       {"Input (excerpt, at most %d characters)", "输入（节选，最多 %d 个字符）"},
	"mo_empty":       {"(empty)", "（空）"},
	"mo_not_stored":  {"**%s** · %s — OpenRouter stored no content for this generation (input/output logging off or zero data retention).", "**%s** · %s — OpenRouter 没有存储这次生成的内容（输入/输出日志已关闭或零数据保留）。"},
	"mo_failed":      {"**%s** · %s — could not read the stored content: %s", "**%s** · %s — 无法读取存储的内容：%s"},
	"mo_off":         {"Stored content is not read (TRACEBOT_VERDICT=off).", "未读取存储的内容（TRACEBOT_VERDICT=off）。"},
	"mo_no_refs":     {"That button names no generation to show.", "这个按钮没有可显示的 generation。"},
}

// T returns the sentence for key in lang ("zh" for Chinese, anything else for
// English), formatted with args; an unknown key is returned as it is. Every
// sentence the bot and its platforms say is in this one table.
func T(lang, key string, args ...any) string {
	pair, ok := texts[key]
	if !ok {
		return key
	}
	f := pair[0]
	if lang == "zh" {
		f = pair[1]
	}
	if len(args) == 0 {
		return f
	}
	return fmt.Sprintf(f, args...)
}
