package main

import (
	"fmt"
	"slices"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/callytics/tracebot/lookup"
	"github.com/callytics/tracebot/lookup/numfmt"
)

// renderReport is the terminal form of a report: a heading, the kind's table,
// the warnings, each region's state and the data scanned with its price.
func renderReport(r *lookup.Report) string {
	var b strings.Builder
	zone := r.Zone
	if zone == nil {
		zone = time.UTC
	}
	if r.Sandbox {
		b.WriteString("SAMPLE DATA (--sandbox)\n")
	}
	b.WriteString(reportHeading(r, zone) + "\n\n")
	if !r.Answered() {
		head := "Failed in every region: nothing to show.\n"
		var lines strings.Builder
		for _, reg := range r.Regions {
			switch reg.State {
			case lookup.RegionFailed:
				lines.WriteString("  ✗ " + reg.Error + "\n")
			case lookup.RegionNoGroup:
				head = "No region could answer: nothing to show.\n"
				lines.WriteString("  ✗ " + reg.Region + ": no log group\n")
			}
		}
		b.WriteString(head + lines.String())
		renderReportWarnings(&b, r.Warnings)
		return b.String()
	}
	switch {
	case r.Cost != nil:
		renderCost(&b, r.Cost, zone)
	case r.Cache != nil:
		renderCache(&b, r.Cache, zone)
	case r.Finish != nil:
		renderFinish(&b, r.Finish, zone)
	case r.Providers != nil:
		renderProviders(&b, r.Providers)
	case r.Deploys != nil:
		renderDeploys(&b, r.Deploys, zone)
	}
	renderReportWarnings(&b, r.Warnings)
	b.WriteString("\n" + renderRegions(r))
	return b.String()
}

func renderReportWarnings(b *strings.Builder, warnings []lookup.ReportWarning) {
	if len(warnings) == 0 {
		return
	}
	b.WriteString("\nWarnings:\n")
	for _, w := range warnings {
		stage := ""
		if w.Stage != "" {
			stage = " (" + w.Stage + ")"
		}
		fmt.Fprintf(b, "  ! %s%s: %s\n", w.Code, stage, w.Message)
	}
}

var reportTitles = map[lookup.ReportKind]string{
	lookup.ReportCost:      "Cost: the most expensive AI calls",
	lookup.ReportCache:     "Cache hit rate (cache read tokens / input tokens)",
	lookup.ReportFinish:    "Finish reasons per stage",
	lookup.ReportProviders: "Providers per model",
	lookup.ReportDeploys:   "Deployed Lambda code per region",
}

func reportHeading(r *lookup.Report, zone *time.Location) string {
	h := reportTitles[r.Kind]
	if r.From.IsZero() {
		return h
	}
	window := r.Window
	if window != "" {
		window += ", "
	}
	return fmt.Sprintf("%s — %s%s → %s", h, window, r.From.In(zone).Format("Mon Jan 2 15:04"), r.To.In(zone).Format("Mon Jan 2 15:04 MST"))
}

func table(b *strings.Builder) *tabwriter.Writer { return tabwriter.NewWriter(b, 0, 0, 2, ' ', 0) }

func renderCost(b *strings.Builder, c *lookup.CostReport, zone *time.Location) {
	fmt.Fprintf(b, "Total %s over %s rows; median input ≈%s tokens per row (mean %s).\n\n", numfmt.USD(c.TotalCostUSD), numfmt.Count(c.Rows),
		numfmt.Count(int64(c.MedianInputTokens+0.5)), numfmt.Count(int64(c.MeanInputTokens+0.5)))
	if len(c.Top) == 0 {
		b.WriteString("No ai_usage rows with a cost in this window.\n")
		return
	}
	tw := table(b)
	fmt.Fprintln(tw, "#\ttime\tregion\tsession\tstage\tmodel\tprovider\tin\tout\tcache\tcost\tgeneration")
	for i, row := range c.Top {
		fmt.Fprintf(tw, "%d\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n", i+1, row.Timestamp.In(zone).Format("Jan 2 15:04:05"),
			row.Region, row.SessionID, row.Stage, row.Model, dash(row.Provider), numfmt.Count(row.InputTokens), numfmt.Count(row.OutputTokens),
			numfmt.Percent(row.CacheRatio), numfmt.USD(row.CostUSD), dash(row.GenerationID))
	}
	tw.Flush()
}

func renderCache(b *strings.Builder, c *lookup.CacheReport, zone *time.Location) {
	fmt.Fprintf(b, "Overall %s (%s of %s input tokens read from the cache).\n\n", numfmt.Percent(c.Overall.CacheRatio),
		numfmt.Count(c.Overall.CacheReadTokens), numfmt.Count(c.Overall.InputTokens))
	var models []string
	for _, p := range c.Series {
		if !slices.Contains(models, p.Model) {
			models = append(models, p.Model)
		}
	}
	slices.Sort(models)
	tw := table(b)
	fmt.Fprintf(tw, "hour (%s)\tall models\tinput tokens\t%s\n", zone.String(), strings.Join(models, "\t"))
	for _, h := range c.Hours {
		cells := []string{h.Bucket.In(zone).Format("Jan 2 15:04"), numfmt.Percent(h.CacheRatio), numfmt.Count(h.InputTokens)}
		for _, m := range models {
			cell := "-"
			for _, p := range c.Series {
				if p.Model == m && p.Bucket.Equal(h.Bucket) {
					cell = numfmt.Percent(p.CacheRatio)
				}
			}
			cells = append(cells, cell)
		}
		fmt.Fprintln(tw, strings.Join(cells, "\t"))
	}
	tw.Flush()
}

func renderFinish(b *strings.Builder, f *lookup.FinishReport, zone *time.Location) {
	tw := table(b)
	fmt.Fprintln(tw, "stage\tfinish reason\trows\tshare")
	for _, s := range f.Shares {
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\n", s.Stage, s.FinishReason, numfmt.Count(s.Count), numfmt.Percent(&s.Share))
	}
	tw.Flush()
	stages := f.Stages()
	b.WriteString("\nHours with length or content-filter finishes (share of the stage's rows: length / content-filter):\n")
	tw = table(b)
	fmt.Fprintf(tw, "hour (%s)\t%s\n", zone.String(), strings.Join(stages, "\t"))
	var hours []time.Time
	for _, p := range f.Series {
		if !slices.ContainsFunc(hours, p.Bucket.Equal) {
			hours = append(hours, p.Bucket)
		}
	}
	for _, h := range hours {
		cells := []string{h.In(zone).Format("Jan 2 15:04")}
		any := false
		for _, s := range stages {
			length, rows := f.HourShare(h, s, lookup.FinishLength)
			filtered, _ := f.HourShare(h, s, lookup.FinishContentFilter)
			any = any || length > 0 || filtered > 0
			cells = append(cells, fmt.Sprintf("%s / %s of %d", numfmt.Percent(&length), numfmt.Percent(&filtered), rows))
		}
		if any {
			fmt.Fprintln(tw, strings.Join(cells, "\t"))
		}
	}
	tw.Flush()
}

func renderProviders(b *strings.Builder, p *lookup.ProvidersReport) {
	tw := table(b)
	fmt.Fprintln(tw, "model\tprovider\trequests\tshare of model\tcost")
	for _, m := range p.Mix {
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\n", m.Model, m.Provider, numfmt.Count(m.Requests), numfmt.Percent(&m.Share), numfmt.USD(m.CostUSD))
	}
	tw.Flush()
	share := 0.0
	if p.Sessions > 0 {
		share = float64(p.SwitchedSessions) / float64(p.Sessions)
	}
	fmt.Fprintf(b, "\n%s of %s sessions (%s) used more than one provider.", numfmt.Count(p.SwitchedSessions), numfmt.Count(p.Sessions), numfmt.Percent(&share))
	if len(p.Examples) > 0 {
		fmt.Fprintf(b, " Examples: %s", strings.Join(p.Examples, ", "))
	}
	b.WriteString("\n")
}

func renderDeploys(b *strings.Builder, d *lookup.DeploysReport, zone *time.Location) {
	tw := table(b)
	fmt.Fprintln(tw, "function\tregion\tCodeSha256\tversion\tlast modified")
	for _, f := range d.Functions {
		if f.Error != "" {
			fmt.Fprintf(tw, "%s\t%s\t%s\t\t\n", f.Function, f.Region, "✗ "+f.Error)
			continue
		}
		modified := "-"
		if f.LastModified != nil {
			modified = f.LastModified.In(zone).Format("Jan 2 2006 15:04 MST")
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\n", f.Function, f.Region, f.CodeSHA256, f.Version, modified)
	}
	tw.Flush()
}

// renderRegions states each region's part and the data scanned.
func renderRegions(r *lookup.Report) string {
	var parts []string
	for _, reg := range r.Regions {
		switch reg.State {
		case lookup.RegionFailed:
			parts = append(parts, "✗ "+reg.Error)
		case lookup.RegionNoGroup:
			parts = append(parts, reg.Region+" no log group")
		case lookup.RegionEmpty:
			parts = append(parts, reg.Region+" nothing found")
		case lookup.RegionRows:
			if r.Kind == lookup.ReportDeploys {
				parts = append(parts, reg.Region+" read")
				continue
			}
			parts = append(parts, fmt.Sprintf("%s %s", reg.Region, numfmt.Bytes(reg.BytesScanned)))
		default:
			parts = append(parts, fmt.Sprintf("%s %s", reg.Region, numfmt.Bytes(reg.BytesScanned)))
		}
	}
	out := "Regions: " + strings.Join(parts, "; ") + "\n"
	if r.Kind != lookup.ReportDeploys {
		out += fmt.Sprintf("Data scanned: %s (%s at $0.005/GB)", numfmt.Bytes(r.BytesScanned), numfmt.USD(r.ScanCostUSD))
		if r.Cached {
			out += "; cached result, no query ran"
		}
		out += "\n"
	}
	return out
}

func dash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}
