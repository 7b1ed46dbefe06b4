package lookup

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/lambda"
)

// FunctionsAPI is the part of the Lambda client the deploys report uses.
type FunctionsAPI interface {
	GetFunction(ctx context.Context, in *lambda.GetFunctionInput, optFns ...func(*lambda.Options)) (*lambda.GetFunctionOutput, error)
}

var _ FunctionsAPI = (*lambda.Client)(nil)

// lambdaTimeLayout is how Lambda writes LastModified.
const lambdaTimeLayout = "2006-01-02T15:04:05.000-0700"

// FunctionNames expands TRACEBOT_FUNCTIONS patterns for region and env.
func FunctionNames(patterns []string, env, region string) []string {
	expand := strings.NewReplacer("{env}", env, "{region}", region)
	out := make([]string, 0, len(patterns))
	for _, p := range patterns {
		out = append(out, expand.Replace(p))
	}
	return out
}

// DefaultFunctions are the log-group patterns without "/aws/lambda/" (the
// default of TRACEBOT_FUNCTIONS).
func DefaultFunctions(logGroups []string) []string {
	out := make([]string, 0, len(logGroups))
	for _, g := range logGroups {
		out = append(out, strings.TrimPrefix(g, "/aws/lambda/"))
	}
	return out
}

// deploys reads every configured function in every region at once; answered
// hears each region's state as soon as all of its functions were read.
func (e *ReportEngine) deploys(ctx context.Context, q ReportQuery, r *Report, answered func(ReportRegion)) {
	env := cwOr(q.Env, e.cfg.Env)
	d := &DeploysReport{Functions: []FunctionDeploy{}}
	perRegion := make([][]FunctionDeploy, len(e.cfg.Regions))
	regions := make([]ReportRegion, len(e.cfg.Regions))
	var wg sync.WaitGroup
	for i, region := range e.cfg.Regions {
		perRegion[i] = make([]FunctionDeploy, len(e.cfg.Functions))
		wg.Go(func() {
			var fns sync.WaitGroup
			for j, pattern := range e.cfg.Functions {
				fns.Go(func() { perRegion[i][j] = e.readFunction(ctx, region, pattern, env) })
			}
			fns.Wait()
			regions[i] = deployRegion(region, perRegion[i])
			answered(regions[i])
		})
	}
	wg.Wait()
	for i := range e.cfg.Regions {
		d.Functions = append(d.Functions, perRegion[i]...)
	}
	r.Regions = append(r.Regions, regions...)
	r.Deploys = d
	r.Warnings = append(r.Warnings, codeDiffers(d, e.cfg.Functions)...)
}

func (e *ReportEngine) readFunction(ctx context.Context, region, pattern, env string) FunctionDeploy {
	name := FunctionNames([]string{pattern}, env, region)[0]
	fd := FunctionDeploy{Function: name, Pattern: pattern, Region: region}
	api := e.lambdas[region]
	if api == nil {
		fd.Error = region + ": no Lambda client for this region"
		fd.err = errors.New("lambda " + fd.Error)
		return fd
	}
	out, err := api.GetFunction(ctx, &lambda.GetFunctionInput{FunctionName: aws.String(name)})
	if err != nil {
		fd.err = fmt.Errorf("lambda %s: get function %s: %w", region, name, err)
		if fd.missing = cwErrorCode(err) == "ResourceNotFoundException"; fd.missing {
			fd.Error = region + ": " + name + " is not deployed here"
		} else {
			fd.Error = awsErrorLine(region, "lambda", err)
		}
		e.cfg.Logger.Warn("report: get function failed", "region", region, "function", name, "err", err)
		return fd
	}
	if c := out.Configuration; c != nil {
		fd.CodeSHA256, fd.Version = aws.ToString(c.CodeSha256), aws.ToString(c.Version)
		if t, err := time.Parse(lambdaTimeLayout, aws.ToString(c.LastModified)); err == nil {
			t = t.UTC()
			fd.LastModified = &t
		}
	}
	return fd
}

// deployRegion is a region's state: failed, with the first failure's line and
// cause, when no function could be read for a reason other than not being
// deployed there.
func deployRegion(region string, fns []FunctionDeploy) ReportRegion {
	rr := ReportRegion{Region: region, State: RegionEmpty}
	var failed *FunctionDeploy
	for i, f := range fns {
		switch {
		case f.Error == "":
			rr.State = RegionRows
		case failed == nil && !f.missing:
			failed = &fns[i]
		}
	}
	if rr.State != RegionRows && failed != nil {
		rr.State, rr.Error, rr.Err = RegionFailed, failed.Error, failed.err
	}
	return rr
}

// codeDiffers flags a function pattern whose code is not the same in every
// region that runs it (runbook scenario 4).
func codeDiffers(d *DeploysReport, patterns []string) []ReportWarning {
	var out []ReportWarning
	for _, p := range patterns {
		bySHA := map[string][]string{}
		var last time.Time
		for _, f := range d.Functions {
			if f.Pattern == p && f.CodeSHA256 != "" {
				bySHA[f.CodeSHA256] = append(bySHA[f.CodeSHA256], f.Region)
				if f.LastModified != nil && f.LastModified.After(last) {
					last = *f.LastModified
				}
			}
		}
		if len(bySHA) < 2 {
			continue
		}
		var parts, partsZH []string
		for _, sha := range slices.Sorted(maps.Keys(bySHA)) {
			verb := "runs"
			if len(bySHA[sha]) > 1 {
				verb = "run"
			}
			parts = append(parts, fmt.Sprintf("%s %s %s", strings.Join(bySHA[sha], ", "), verb, shortSHA(sha)))
			partsZH = append(partsZH, fmt.Sprintf("%s 运行 %s", strings.Join(bySHA[sha], ", "), shortSHA(sha)))
		}
		en := fmt.Sprintf("%s: the code differs between regions (%s): a region still runs an old build, as after a merge that was not deployed everywhere. "+
			"Compare with `aws lambda get-function --function-name <name> --query Configuration.CodeSha256`, then redeploy that region's stack "+
			"(cd ~/workspace/callytics-infrastructure && npx cdk deploy <stack> --require-approval never) (runbook scenario 4).",
			p, strings.Join(parts, "; "))
		zh := fmt.Sprintf("%s：各区域的代码不一致（%s）：有区域还在跑旧版本，像是合并后没有部署到所有区域。"+
			"请用 `aws lambda get-function --function-name <name> --query Configuration.CodeSha256` 对比，然后重新部署该区域的 stack"+
			"（`cd ~/workspace/callytics-infrastructure && npx cdk deploy <stack> --require-approval never`）（runbook 场景 4）。",
			p, strings.Join(partsZH, "；"))
		out = append(out, ReportWarning{Code: WarnCodeDiffers, Message: en, zh: zh})
	}
	return out
}

func shortSHA(s string) string {
	if len(s) > 12 {
		return s[:12] + "…"
	}
	return s
}
