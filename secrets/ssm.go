package secrets

import (
	"context"
	"fmt"
	"sync"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ssm"
	"golang.org/x/sync/errgroup"
)

// ssmMaxNames is GetParameters' limit on names per call.
const ssmMaxNames = 10

// ssmAPI is the part of *ssm.Client that SSMSource uses.
type ssmAPI interface {
	GetParameters(ctx context.Context, in *ssm.GetParametersInput, optFns ...func(*ssm.Options)) (*ssm.GetParametersOutput, error)
}

var _ ssmAPI = (*ssm.Client)(nil)

// SSMSource reads secrets from AWS Systems Manager Parameter Store with
// GetParameters and decryption (SecureString parameters need kms:Decrypt on their
// key). Names are parameter names or ARNs.
type SSMSource struct {
	client ssmAPI
}

var _ Source = (*SSMSource)(nil)

// NewSSMSource returns a Source over client. It does no I/O.
func NewSSMSource(client ssmAPI) *SSMSource { return &SSMSource{client: client} }

// Fetch asks SSM for names in batches of at most 10 (the API's limit), all batches
// at once. Parameters SSM reports as invalid (or does not return) are missing. Any
// failed batch fails the whole fetch: err is the first failure, wrapped as
// "ssm: get parameters: …", and values are nil.
func (s *SSMSource) Fetch(ctx context.Context, names []string) (map[string]Secret, []string, error) {
	names = dedupe(names)
	var (
		mu     sync.Mutex
		values = make(map[string]Secret, len(names))
	)
	g, gctx := errgroup.WithContext(ctx)
	for start := 0; start < len(names); start += ssmMaxNames {
		batch := names[start:min(start+ssmMaxNames, len(names))]
		g.Go(func() error {
			got, err := s.fetchBatch(gctx, batch)
			if err != nil {
				return err
			}
			mu.Lock()
			defer mu.Unlock()
			for k, v := range got {
				values[k] = v
			}
			return nil
		})
	}
	if err := g.Wait(); err != nil {
		return nil, nil, err
	}
	var missing []string
	for _, n := range names {
		if _, ok := values[n]; !ok {
			missing = append(missing, n)
		}
	}
	return values, missing, nil
}

// fetchBatch runs one GetParameters call. Only names that were asked for are
// returned, so a stray parameter in a response cannot shadow another name.
func (s *SSMSource) fetchBatch(ctx context.Context, names []string) (map[string]Secret, error) {
	out, err := s.client.GetParameters(ctx, &ssm.GetParametersInput{
		Names:          names,
		WithDecryption: aws.Bool(true),
	})
	if err != nil {
		return nil, fmt.Errorf("ssm: get parameters: %w", err)
	}
	asked := make(map[string]bool, len(names))
	for _, n := range names {
		asked[n] = true
	}
	got := make(map[string]Secret, len(out.Parameters))
	for _, p := range out.Parameters {
		name, value := aws.ToString(p.Name), aws.ToString(p.Value)
		if !asked[name] {
			// Asked by ARN: SSM answers with the bare name and the ARN.
			name = aws.ToString(p.ARN)
		}
		if asked[name] {
			got[name] = New(value)
		}
	}
	return got, nil
}
