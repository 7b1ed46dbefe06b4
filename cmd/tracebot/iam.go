package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sts"

	"github.com/callytics/tracebot/lookup"
)

// policy is an IAM policy document.
type policy struct {
	Version   string      `json:"Version"`
	Statement []statement `json:"Statement"`
}

type statement struct {
	Sid       string                       `json:"Sid"`
	Effect    string                       `json:"Effect"`
	Action    []string                     `json:"Action"`
	Resource  []string                     `json:"Resource"`
	Condition map[string]map[string]string `json:"Condition,omitempty"`
}

// iamScope is where the policy applies: the SSM region and the account.
type iamScope struct {
	Region  string // the SSM parameters' region (AWS_REGION)
	Account string // "*" when it could not be learned
}

// printIAM prints the least-privilege policy for this configuration (SPEC §9): the
// account comes from sts:GetCallerIdentity when credentials allow, else "*".
func printIAM(ctx context.Context, w, stderr io.Writer, cfg Config) error {
	scope := iamScope{Region: "*", Account: "*"}
	log := newApp(cfg, stderr, slog.LevelWarn).currentLog
	if awsCfg, err := loadAWS(ctx, log); err == nil {
		if awsCfg.Region != "" {
			scope.Region = awsCfg.Region
		}
		scope.Account = callerAccount(ctx, awsCfg)
	}
	b, err := json.MarshalIndent(iamPolicy(cfg, scope), "", "  ")
	if err != nil {
		return fmt.Errorf("encode policy: %w", err)
	}
	fmt.Fprintln(w, string(b))
	for _, n := range iamNotes(cfg) {
		fmt.Fprintln(stderr, n)
	}
	return nil
}

func callerAccount(ctx context.Context, awsCfg aws.Config) string {
	ctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	out, err := sts.NewFromConfig(awsCfg).GetCallerIdentity(ctx, &sts.GetCallerIdentityInput{})
	if err != nil || out.Account == nil {
		return "*"
	}
	return *out.Account
}

// iamPolicy grants exactly the actions tracebot uses, on the names it is configured with.
func iamPolicy(cfg Config, s iamScope) policy {
	p := policy{Version: "2012-10-17"}
	if cfg.SecretsDir == "" {
		p.Statement = append(p.Statement, statement{
			Sid: "ReadSecrets", Effect: "Allow", Action: []string{"ssm:GetParameters"}, Resource: parameterARNs(cfg, s),
		}, statement{
			Sid: "DecryptSecrets", Effect: "Allow", Action: []string{"kms:Decrypt"}, Resource: []string{"*"},
			Condition: map[string]map[string]string{"StringEquals": {"kms:ViaService": "ssm." + s.Region + ".amazonaws.com"}},
		})
	}
	var groups, describe []string
	for _, region := range cfg.Regions {
		describe = append(describe, fmt.Sprintf("arn:aws:logs:%s:%s:log-group:*", region, s.Account))
		for _, pattern := range cfg.LogGroups {
			name := strings.NewReplacer("{env}", cfg.Env, "{region}", region).Replace(pattern)
			groups = append(groups, fmt.Sprintf("arn:aws:logs:%s:%s:log-group:%s:*", region, s.Account, name))
		}
	}
	p.Statement = append(p.Statement,
		statement{Sid: "QueryUsageLogs", Effect: "Allow", Action: []string{"logs:StartQuery"}, Resource: groups},
		statement{Sid: "FindLogGroups", Effect: "Allow", Action: []string{"logs:DescribeLogGroups"}, Resource: describe},
		// GetQueryResults and StopQuery take a query id and support no resource
		// scoping; DescribeQueries (one status call for a report's queries in a
		// region) lists the account's queries.
		statement{Sid: "ReadQueryResults", Effect: "Allow", Action: []string{"logs:DescribeQueries", "logs:GetQueryResults", "logs:StopQuery"}, Resource: []string{"*"}},
	)
	if cfg.Verdict && len(cfg.AnalysisBuckets) > 0 {
		p.Statement = append(p.Statement, statement{Sid: "ReadStoredAnalyses", Effect: "Allow",
			Action: []string{"s3:GetObject"}, Resource: analysisObjectARNs(cfg.AnalysisBuckets)})
	}
	var functions []string
	for _, region := range cfg.Regions {
		for _, name := range lookup.FunctionNames(cfg.Functions, cfg.Env, region) {
			functions = append(functions, fmt.Sprintf("arn:aws:lambda:%s:%s:function:%s", region, s.Account, name))
		}
	}
	if len(functions) > 0 {
		// The deploys report reads each function's CodeSha256 (SPEC §12).
		p.Statement = append(p.Statement, statement{Sid: "ReadDeployedCode", Effect: "Allow", Action: []string{"lambda:GetFunction"}, Resource: functions})
	}
	if t := cfg.ReprocessTarget; t != "" {
		action := "lambda:InvokeFunction"
		if lookup.ReprocessTargetKind(t) == lookup.ReprocessSQS {
			action = "sqs:SendMessage"
		}
		p.Statement = append(p.Statement, statement{Sid: "Reprocess", Effect: "Allow", Action: []string{action},
			Resource: []string{lookup.ReprocessResource(t, s.Region, s.Account)}})
	}
	return p
}

// analysisObjectARNs are the objects of the buckets the verdict may read.
func analysisObjectARNs(buckets []string) []string {
	out := make([]string, len(buckets))
	for i, b := range buckets {
		out[i] = "arn:aws:s3:::" + b + "/*"
	}
	return out
}

// iamNotes are what the policy cannot say for itself, for stderr.
func iamNotes(cfg Config) []string {
	if cfg.Verdict && len(cfg.AnalysisBuckets) == 0 {
		return []string{"note: no s3:GetObject is granted because TRACEBOT_ANALYSIS_BUCKETS is empty; the verdict " +
			"(SPEC §11) reads each call's s3_analysis_path: set TRACEBOT_ANALYSIS_BUCKETS to those buckets " +
			"(e.g. callytics-prod-analysis) for a policy that grants them, or TRACEBOT_VERDICT=off"}
	}
	return nil
}

// parameterARNs are the SSM parameters of every configured secret.
func parameterARNs(cfg Config, s iamScope) []string {
	n := cfg.SSM
	names := []string{n.DatabaseURL, n.OpenRouterKey, n.SlackBotToken, n.SlackSigningSecret, n.SlackAppToken}
	if cfg.LarkAppID != "" {
		names = append(names, n.LarkAppSecret, n.LarkVerificationToken, n.LarkEncryptKey)
	}
	if n.StateDatabaseURL != "" {
		names = append(names, n.StateDatabaseURL)
	}
	out := make([]string, 0, len(names))
	for _, name := range names {
		if !strings.HasPrefix(name, "/") {
			name = "/" + name
		}
		out = append(out, fmt.Sprintf("arn:aws:ssm:%s:%s:parameter%s", s.Region, s.Account, name))
	}
	return out
}
