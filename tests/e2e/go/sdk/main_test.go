// Package sdk drives a running Roleport with the AWS SDK for Go v2 (service/rolesanywhere):
// the control plane as a Go program sees it, typed results and typed errors included.
//
// The server is given by the environment, the way a Go user points the SDK anywhere:
//
//	AWS_ENDPOINT_URL, AWS_CA_BUNDLE, AWS_REGION, AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY
//	ROLEPORT_ACCOUNT_ID                       the account those keys belong to
//	ROLEPORT_SESSION_ACCESS_KEY_ID, ROLEPORT_SESSION_SECRET_ACCESS_KEY,
//	ROLEPORT_SESSION_TOKEN                    credentials from CreateSession in that account
//	ROLEPORT_SUBJECT_CN                       the common name of the certificate they came from
//
// tests/e2e/test_go_sdk.py starts a Roleport, sets these and runs the compiled tests
// (prepare.sh builds them). The tests share the account and run one after another; each
// deletes what it creates.
package sdk

import (
	"context"
	"crypto/x509"
	"fmt"
	"net/http"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	awshttp "github.com/aws/aws-sdk-go-v2/aws/transport/http"
	"github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/rolesanywhere"
)

var required = []string{
	"AWS_ENDPOINT_URL", "AWS_CA_BUNDLE", "AWS_REGION", "AWS_ACCESS_KEY_ID",
	"AWS_SECRET_ACCESS_KEY", "ROLEPORT_ACCOUNT_ID", "ROLEPORT_SESSION_ACCESS_KEY_ID",
	"ROLEPORT_SESSION_SECRET_ACCESS_KEY", "ROLEPORT_SESSION_TOKEN", "ROLEPORT_SUBJECT_CN",
}

// ra is the client built the ordinary way: config.LoadDefaultConfig reads the endpoint,
// the CA bundle, the region and the keys from the AWS_* variables.
var ra *rolesanywhere.Client

func TestMain(m *testing.M) {
	var missing []string
	for _, name := range required {
		if os.Getenv(name) == "" {
			missing = append(missing, name)
		}
	}
	if len(missing) > 0 {
		fmt.Fprintf(os.Stderr, "these tests need a running Roleport; not set: %s "+
			"(tests/e2e/test_go_sdk.py sets them)\n", strings.Join(missing, ", "))
		os.Exit(2)
	}
	cfg, err := config.LoadDefaultConfig(context.Background(),
		config.WithSharedConfigFiles([]string{}), config.WithSharedCredentialsFiles([]string{}),
		config.WithRetryMaxAttempts(1))
	if err != nil {
		fmt.Fprintln(os.Stderr, "config.LoadDefaultConfig:", err)
		os.Exit(2)
	}
	ra = rolesanywhere.NewFromConfig(cfg)
	os.Exit(m.Run())
}

func ctx(t *testing.T) context.Context {
	c, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	t.Cleanup(cancel)
	return c
}

var (
	region    = func() string { return os.Getenv("AWS_REGION") }
	accountID = func() string { return os.Getenv("ROLEPORT_ACCOUNT_ID") }
)

// clientWith builds a client the other way: an explicit endpoint, an HTTP client that
// trusts Roleport's CA, and the given credentials (no environment lookups).
func clientWith(t *testing.T, creds aws.CredentialsProvider) *rolesanywhere.Client {
	t.Helper()
	pem, err := os.ReadFile(os.Getenv("AWS_CA_BUNDLE"))
	if err != nil {
		t.Fatal(err)
	}
	pool := x509.NewCertPool()
	if !pool.AppendCertsFromPEM(pem) {
		t.Fatalf("no certificate in %s", os.Getenv("AWS_CA_BUNDLE"))
	}
	httpClient := awshttp.NewBuildableClient().WithTransportOptions(func(tr *http.Transport) {
		tr.TLSClientConfig.RootCAs = pool
	})
	return rolesanywhere.New(rolesanywhere.Options{
		Region:           region(),
		BaseEndpoint:     aws.String(os.Getenv("AWS_ENDPOINT_URL")),
		HTTPClient:       httpClient,
		Credentials:      creds,
		RetryMaxAttempts: 1,
	})
}

func staticCreds(id, secret, token string) aws.CredentialsProvider {
	return credentials.NewStaticCredentialsProvider(id, secret, token)
}

// -- small assertions ------------------------------------------------------------------

func must(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

func eq[T comparable](t *testing.T, what string, got, want T) {
	t.Helper()
	if got != want {
		t.Errorf("%s: got %v, want %v", what, got, want)
	}
}

func eqSlice[T comparable](t *testing.T, what string, got, want []T) {
	t.Helper()
	if len(got) != len(want) {
		t.Errorf("%s: got %v, want %v", what, got, want)
		return
	}
	for i := range got {
		if got[i] != want[i] {
			t.Errorf("%s: got %v, want %v", what, got, want)
			return
		}
	}
}

// recent checks a server timestamp: set, in UTC, and within a minute of this machine's clock.
func recent(t *testing.T, what string, ts *time.Time) {
	t.Helper()
	if ts == nil {
		t.Errorf("%s: missing", what)
		return
	}
	if d := time.Since(*ts); d < -time.Minute || d > time.Minute {
		t.Errorf("%s: %v is not now (%v off)", what, *ts, d)
	}
}

func arn(kind, id string) string {
	return fmt.Sprintf("arn:aws:rolesanywhere:%s:%s:%s/%s", region(), accountID(), kind, id)
}

var counter int

// uniqueName returns a resource name no other test of this run uses.
func uniqueName(prefix string) string {
	counter++
	return fmt.Sprintf("go-%s-%d-%d", prefix, time.Now().UnixNano()%1_000_000, counter)
}
