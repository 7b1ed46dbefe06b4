package lookuptest

import "github.com/callytics/tracebot/lookup"

// LoadTraffic adds generated ai_usage lines to the fake, each in its region and
// log group, as the pipeline logs them.
func (s *LogsServer) LoadTraffic(rows []lookup.TrafficRow) {
	for _, r := range rows {
		s.store.Add(r.Region, r.LogGroup, r.Event())
	}
}
