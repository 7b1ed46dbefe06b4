package main

import (
	"bytes"
	"context"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/callytics/tracebot/bot/slack/slackfake"
	"github.com/callytics/tracebot/lookup/lookuptest"
)

const e2eSigningSecret = "e2e-signing-secret-0a1b2c3d"

var (
	buildOnce sync.Once
	binPath   string
	buildErr  error
)

// tracebotBinary builds this command once per test run.
func tracebotBinary(t testing.TB) string {
	t.Helper()
	buildOnce.Do(func() {
		dir, err := os.MkdirTemp("", "tracebot-bin-")
		if err != nil {
			buildErr = err
			return
		}
		binPath = filepath.Join(dir, "tracebot")
		out, err := exec.Command("go", "build", "-o", binPath, ".").CombinedOutput()
		if err != nil {
			buildErr = fmt.Errorf("go build: %v\n%s", err, out)
		}
	})
	if buildErr != nil {
		t.Fatal(buildErr)
	}
	return binPath
}

// replica is one `tracebot serve` process.
type replica struct {
	cmd  *exec.Cmd
	addr string
	logs *bytes.Buffer
	done chan error
}

type cluster struct {
	slack  *slackfake.Server
	lambda *lookuptest.LambdaServer
	env    []string
	args   []string // the command line of each replica; newCluster sets serve --sandbox
	dir    string   // TRACEBOT_SECRETS_DIR: one file per secret (writeSecret)
	state  string   // the state database's DSN
}

// newCluster prepares what replicas share: a fake Slack, a wire-level Lambda, and
// one real Postgres state database (secrets as mounted files).
func newCluster(t testing.TB) *cluster {
	t.Helper()
	c := &cluster{slack: slackfake.New(t, slackfake.Config{}), lambda: lookuptest.NewLambdaServer(t),
		args: []string{"serve", "--sandbox"}, dir: t.TempDir(), state: sharedPG.NewDatabase(t)}
	c.lambda.AddFunction("call-analytics-prod-reprocess")
	for name, value := range map[string]string{
		"slack-bot-token": c.slack.Config().BotToken, "slack-signing-secret": e2eSigningSecret, "state-database-url": c.state,
	} {
		c.writeSecret(t, name, value)
	}
	c.env = append(os.Environ(),
		"TRACEBOT_SECRETS_DIR="+c.dir, "TRACEBOT_SSM_STATE_DATABASE_URL=/callytics/tracebot/state-database-url",
		"TRACEBOT_SLACK_API_URL="+c.slack.APIURL(), "TRACEBOT_REPROCESS_TARGET=lambda:call-analytics-prod-reprocess",
		"AWS_REGION=us-east-1", "AWS_ACCESS_KEY_ID=AKIDTEST", "AWS_SECRET_ACCESS_KEY=test", "AWS_CONFIG_FILE=/dev/null",
		"AWS_SHARED_CREDENTIALS_FILE=/dev/null", "AWS_EC2_METADATA_DISABLED=true", "AWS_ENDPOINT_URL_LAMBDA="+c.lambda.URL())
	return c
}

// writeSecret puts a secret in the replicas' secrets directory, under the last
// element of its SSM name.
func (c *cluster) writeSecret(t testing.TB, name, value string) {
	t.Helper()
	if err := os.WriteFile(filepath.Join(c.dir, name), []byte(value+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
}

func freeAddr(t testing.TB) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().String()
}

func (c *cluster) start(t testing.TB) *replica {
	t.Helper()
	r := &replica{addr: freeAddr(t), logs: &bytes.Buffer{}, done: make(chan error, 1)}
	r.cmd = exec.Command(tracebotBinary(t), c.args...)
	r.cmd.Env = append(c.env, "TRACEBOT_ADDR="+r.addr)
	r.cmd.Stdout, r.cmd.Stderr = r.logs, r.logs
	if err := r.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() { r.done <- r.cmd.Wait() }()
	t.Cleanup(func() {
		_ = r.cmd.Process.Kill()
		<-r.done
	})
	deadline := time.Now().Add(20 * time.Second)
	for r.status(t, "/readyz") != http.StatusOK {
		if time.Now().After(deadline) {
			t.Fatalf("replica %s never became ready:\n%s", r.addr, r.logs)
		}
		time.Sleep(50 * time.Millisecond)
	}
	return r
}

func (r *replica) status(t testing.TB, path string) int {
	resp, err := http.Get("http://" + r.addr + path)
	if err != nil {
		return 0
	}
	resp.Body.Close()
	return resp.StatusCode
}

// send posts a request signed the way Slack signs it.
func (r *replica) send(t testing.TB, path string, body []byte) int {
	req := slackfake.NewRequest("http://"+r.addr+path, e2eSigningSecret, time.Now(), "application/x-www-form-urlencoded", body)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Errorf("POST %s: %v", path, err)
		return 0
	}
	resp.Body.Close()
	return resp.StatusCode
}

func (c *cluster) slash(t testing.TB, r *replica, text string) {
	t.Helper()
	cmd := slackfake.Command{Command: "/trace", Text: text, TeamID: slackfake.DefaultTeamID, ChannelID: "CSUPPORT",
		ChannelName: "support", UserID: "USUPPORT", UserName: "support", ResponseURL: c.slack.NewResponseURL(),
		TriggerID: c.slack.NewTriggerID()}
	if code := r.send(t, "/slack/commands", cmd.Form()); code != http.StatusOK {
		t.Fatalf("slash command: HTTP %d", code)
	}
}

// resultMessage waits for the trace result (the message with a Reprocess button).
func (c *cluster) resultMessage(t testing.TB) (slackfake.Message, slackfake.Button) {
	t.Helper()
	var msg slackfake.Message
	var btn slackfake.Button
	c.slack.Wait(t, 20*time.Second, "a result with a Reprocess button", func() bool {
		for _, m := range c.slack.Messages("CSUPPORT") {
			for _, b := range slackfake.Buttons(m) {
				if strings.Contains(b.Value, `"a":"reprocess"`) {
					msg, btn = m, b
					return true
				}
			}
		}
		return false
	})
	return msg, btn
}

// TestTwoReplicasReprocessExactlyOnce starts two real `serve` processes on one
// Postgres state database and clicks Reprocess on both at once.
func TestTwoReplicasReprocessExactlyOnce(t *testing.T) {
	c := newCluster(t)
	a, b := c.start(t), c.start(t)
	c.slash(t, a, "(914) 265-4371 5/20 1:15pm")
	msg, btn := c.resultMessage(t)
	if !strings.Contains(msg.BlockText(), "🔎 *Model error* — the stored analysis is what the model answered") {
		t.Errorf("serve --sandbox shows no verdict:\n%s", msg.BlockText())
	}

	var wg sync.WaitGroup
	for i := range 8 {
		r := a
		if i%2 == 1 {
			r = b
		}
		click := slackfake.Click{User: fmt.Sprintf("UENG%d", i), Message: msg, Button: btn,
			TriggerID: c.slack.NewTriggerID(), ResponseURL: c.slack.NewResponseURL()}
		wg.Go(func() {
			if code := r.send(t, "/slack/interactivity", slackfake.InteractionForm(click.Payload())); code != http.StatusOK {
				t.Errorf("click: HTTP %d", code)
			}
		})
	}
	wg.Wait()
	c.slack.Wait(t, 20*time.Second, "an announcement and 7 refusals", func() bool {
		announced := 0
		for _, m := range c.slack.Messages("CSUPPORT") {
			if strings.Contains(m.Text+string(m.Blocks), "Reprocess of") && strings.Contains(m.Text+string(m.Blocks), "requested by") {
				announced++
			}
		}
		return announced >= 1 && len(c.slack.CallsTo("chat.postEphemeral"))+len(c.slack.ResponsePosts()) >= 7
	})
	time.Sleep(300 * time.Millisecond) // let any stray second request arrive
	if n := len(c.lambda.Invocations()); n != 1 {
		t.Fatalf("Lambda invocations: %d, want exactly 1\nA:\n%s\nB:\n%s", n, a.logs, b.logs)
	}
}

// TestServeShutsDownCleanly sends SIGTERM while a trace is in flight: /readyz turns
// 503, the trace finishes and is posted, and the process exits 0.
func TestServeShutsDownCleanly(t *testing.T) {
	c := newCluster(t)
	r := c.start(t)
	c.slash(t, r, "(914) 265-4371 5/20 1:15pm")
	c.slack.Wait(t, 10*time.Second, "the root message", func() bool { return len(c.slack.Messages("CSUPPORT")) > 0 })
	if err := r.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	saw503 := false
	deadline := time.Now().Add(30 * time.Second)
	for {
		select {
		case err := <-r.done:
			r.done <- err // for the cleanup
			if err != nil {
				t.Fatalf("exit: %v\n%s", err, r.logs)
			}
			if !saw503 {
				t.Error("/readyz never answered 503 while draining")
			}
			if _, btn := c.resultMessage(t); btn.Value == "" {
				t.Error("the in-flight trace was not finished")
			}
			if !strings.Contains(r.logs.String(), `"msg":"stopped"`) {
				t.Errorf("no clean stop in the logs:\n%s", r.logs)
			}
			return
		default:
		}
		if r.status(t, "/readyz") == http.StatusServiceUnavailable {
			saw503 = true
		}
		if time.Now().After(deadline) {
			t.Fatalf("still running 30s after SIGTERM:\n%s", r.logs)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func TestServeWithoutPlatformSaysWhatIsMissing(t *testing.T) {
	cmd := exec.CommandContext(context.Background(), tracebotBinary(t), "serve", "--sandbox")
	cmd.Env = append(os.Environ(), "TRACEBOT_SECRETS_DIR="+t.TempDir(), "TRACEBOT_ADDR="+freeAddr(t), "AWS_REGION=us-east-1",
		"AWS_EC2_METADATA_DISABLED=true", "AWS_CONFIG_FILE=/dev/null", "AWS_SHARED_CREDENTIALS_FILE=/dev/null")
	out, err := cmd.CombinedOutput()
	if err == nil || !strings.Contains(string(out), "no chat platform is configured") {
		t.Fatalf("want a clear error, got %v:\n%s", err, out)
	}
}

// TestServeWithoutCredentialsSaysWhatToDo: serve --sandbox with its secrets in SSM
// but no AWS credentials anywhere stops with one actionable line.
func TestServeWithoutCredentialsSaysWhatToDo(t *testing.T) {
	cmd := exec.CommandContext(context.Background(), tracebotBinary(t), "serve", "--sandbox")
	cmd.Env = []string{"PATH=" + os.Getenv("PATH"), "HOME=" + t.TempDir(), "TRACEBOT_ADDR=" + freeAddr(t), "AWS_REGION=us-east-1",
		"AWS_EC2_METADATA_DISABLED=true", "AWS_CONFIG_FILE=/dev/null", "AWS_SHARED_CREDENTIALS_FILE=/dev/null"}
	out, err := cmd.CombinedOutput()
	if err == nil || !strings.Contains(string(out), "no AWS credentials were found") || strings.Contains(string(out), "ec2imds") {
		t.Fatalf("want the credentials hint without the SDK's chain, got %v:\n%s", err, out)
	}
}
