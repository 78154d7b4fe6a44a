package sdk

import (
	"errors"
	"os"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	awshttp "github.com/aws/aws-sdk-go-v2/aws/transport/http"
	"github.com/aws/aws-sdk-go-v2/service/rolesanywhere"
	"github.com/aws/aws-sdk-go-v2/service/rolesanywhere/types"
	"github.com/aws/smithy-go"
)

const unknownID = "0b4c9b53-58a3-4a8d-9b1e-7f2a4c6d8e10"

// httpStatus is the status of the response an SDK error came from.
func httpStatus(t *testing.T, err error) int {
	t.Helper()
	var re *awshttp.ResponseError
	if !errors.As(err, &re) {
		t.Fatalf("%v is not an HTTP response error", err)
	}
	if re.ServiceRequestID() == "" {
		t.Errorf("no request id in %v (x-amzn-RequestId)", err)
	}
	return re.HTTPStatusCode()
}

// apiError checks the SDK read an AWS error with this code, a message and this status.
func apiError(t *testing.T, err error, code string, status int) smithy.APIError {
	t.Helper()
	var ae smithy.APIError
	if !errors.As(err, &ae) {
		t.Fatalf("got %v, want an API error %s", err, code)
	}
	eq(t, "error code", ae.ErrorCode(), code)
	if ae.ErrorMessage() == "" {
		t.Errorf("%s without a message", code)
	}
	eq(t, code+" status", httpStatus(t, err), status)
	return ae
}

func TestUnknownResourcesAreResourceNotFoundException(t *testing.T) {
	calls := map[string]func(t *testing.T) error{
		"GetProfile": func(t *testing.T) error {
			_, err := ra.GetProfile(ctx(t), &rolesanywhere.GetProfileInput{ProfileId: aws.String(unknownID)})
			return err
		},
		"DeleteTrustAnchor(ARN)": func(t *testing.T) error {
			_, err := ra.DeleteTrustAnchor(ctx(t), &rolesanywhere.DeleteTrustAnchorInput{
				TrustAnchorId: aws.String(arn("trust-anchor", unknownID))})
			return err
		},
		"UpdateCrl": func(t *testing.T) error {
			_, err := ra.UpdateCrl(ctx(t), &rolesanywhere.UpdateCrlInput{
				CrlId: aws.String(unknownID), Name: aws.String("x")})
			return err
		},
		"GetSubject": func(t *testing.T) error {
			_, err := ra.GetSubject(ctx(t), &rolesanywhere.GetSubjectInput{SubjectId: aws.String(unknownID)})
			return err
		},
		"TagResource": func(t *testing.T) error {
			_, err := ra.TagResource(ctx(t), &rolesanywhere.TagResourceInput{
				ResourceArn: aws.String(arn("profile", unknownID)), Tags: []types.Tag{tag("a", "b")}})
			return err
		},
		"GetTrustAnchor(unknown alias)": func(t *testing.T) error {
			_, err := ra.GetTrustAnchor(ctx(t), &rolesanywhere.GetTrustAnchorInput{
				TrustAnchorId: aws.String(arn("alias/trust-anchor", "go-no-such-alias"))})
			return err
		},
	}
	for name, call := range calls {
		t.Run(name, func(t *testing.T) {
			err := call(t)
			var notFound *types.ResourceNotFoundException
			if !errors.As(err, &notFound) {
				t.Fatalf("got %v, want ResourceNotFoundException", err)
			}
			apiError(t, err, "ResourceNotFoundException", 404)
			eq(t, "fault", notFound.ErrorFault(), smithy.FaultClient)
		})
	}
}

func TestBadInputIsValidationException(t *testing.T) {
	cases := []struct {
		name, wants string
		call        func(t *testing.T) error
	}{
		{"durationSeconds below the minimum", "greater than or equal to 900", func(t *testing.T) error {
			_, err := ra.CreateProfile(ctx(t), &rolesanywhere.CreateProfileInput{
				Name: aws.String(uniqueName("bad")), RoleArns: []string{roleArn("r")},
				DurationSeconds: aws.Int32(100)})
			return err
		}},
		{"name outside the pattern", "name", func(t *testing.T) error {
			_, err := ra.CreateProfile(ctx(t), &rolesanywhere.CreateProfileInput{
				Name: aws.String("no/slashes!"), RoleArns: []string{roleArn("r")}})
			return err
		}},
		{"identifier that is no ID nor ARN", "trustAnchorId", func(t *testing.T) error {
			_, err := ra.GetTrustAnchor(ctx(t), &rolesanywhere.GetTrustAnchorInput{
				TrustAnchorId: aws.String("not-an-id")})
			return err
		}},
		{"pageSize above the maximum", "pageSize", func(t *testing.T) error {
			_, err := ra.ListTrustAnchors(ctx(t), &rolesanywhere.ListTrustAnchorsInput{
				PageSize: aws.Int32(1000)})
			return err
		}},
		{"altered nextToken", "token", func(t *testing.T) error {
			_, err := ra.ListProfiles(ctx(t), &rolesanywhere.ListProfilesInput{
				NextToken: aws.String("eyJzIjo1fQ.AAAAAAAAAAAAAAAAAAAAAA")})
			return err
		}},
		{"a CRL that is not one", "crl", func(t *testing.T) error {
			anchor := createTrustAnchor(t, &rolesanywhere.CreateTrustAnchorInput{
				Name: aws.String(uniqueName("bad-crl")), Source: bundle(newCA(t, "Go SDK bad CRL CA"))})
			_, err := ra.ImportCrl(ctx(t), &rolesanywhere.ImportCrlInput{
				Name: aws.String(uniqueName("bad")), CrlData: []byte("not a CRL"),
				TrustAnchorArn: anchor.TrustAnchorArn})
			return err
		}},
		{"a trust anchor whose certificate is not one", "certificate", func(t *testing.T) error {
			_, err := ra.CreateTrustAnchor(ctx(t), &rolesanywhere.CreateTrustAnchorInput{
				Name: aws.String(uniqueName("bad")), Source: &types.Source{
					SourceType: types.TrustAnchorTypeCertificateBundle,
					SourceData: &types.SourceDataMemberX509CertificateData{Value: "not a certificate"}}})
			return err
		}},
		{"an alias with a reserved prefix", "alias", func(t *testing.T) error {
			_, err := ra.CreateProfile(ctx(t), &rolesanywhere.CreateProfileInput{
				Name: aws.String(uniqueName("bad")), RoleArns: []string{roleArn("r")},
				AliasName: aws.String("aws/mine")})
			return err
		}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			err := c.call(t)
			var invalid *types.ValidationException
			if !errors.As(err, &invalid) {
				t.Fatalf("got %v, want ValidationException", err)
			}
			apiError(t, err, "ValidationException", 400)
			if !strings.Contains(strings.ToLower(invalid.ErrorMessage()), strings.ToLower(c.wants)) {
				t.Errorf("message %q does not mention %q", invalid.ErrorMessage(), c.wants)
			}
		})
	}
}

// Credentials from CreateSession may not manage Roles Anywhere: the control plane needs
// the account's own keys.
func TestSessionCredentialsOnTheControlPlaneAreAccessDeniedException(t *testing.T) {
	client := clientWith(t, staticCreds(os.Getenv("ROLEPORT_SESSION_ACCESS_KEY_ID"),
		os.Getenv("ROLEPORT_SESSION_SECRET_ACCESS_KEY"), os.Getenv("ROLEPORT_SESSION_TOKEN")))
	_, err := client.ListProfiles(ctx(t), &rolesanywhere.ListProfilesInput{})
	var denied *types.AccessDeniedException
	if !errors.As(err, &denied) {
		t.Fatalf("got %v, want AccessDeniedException", err)
	}
	apiError(t, err, "AccessDeniedException", 403)
	if !strings.Contains(denied.ErrorMessage(), "not authorized") {
		t.Errorf("message %q", denied.ErrorMessage())
	}
}

// Signature failures are not in the Roles Anywhere model: AWS answers them with the codes
// of its front end, and the SDK gives a generic smithy.APIError carrying that code.
func TestBadKeysAreTheSignatureErrorsAWSGives(t *testing.T) {
	id, secret := os.Getenv("AWS_ACCESS_KEY_ID"), os.Getenv("AWS_SECRET_ACCESS_KEY")
	sessionID := os.Getenv("ROLEPORT_SESSION_ACCESS_KEY_ID")
	sessionSecret := os.Getenv("ROLEPORT_SESSION_SECRET_ACCESS_KEY")
	token := os.Getenv("ROLEPORT_SESSION_TOKEN")
	cases := []struct {
		name  string
		creds aws.CredentialsProvider
		code  string
	}{
		{"wrong secret key", staticCreds(id, "wrong"+secret, ""), "InvalidSignatureException"},
		{"unknown access key", staticCreds("AKIAROLEPORTUNKNOWN1", secret, ""),
			"UnrecognizedClientException"},
		{"altered session token", staticCreds(sessionID, sessionSecret, token[:len(token)-4]+"AAAA"),
			"UnrecognizedClientException"},
		{"no signature at all", aws.AnonymousCredentials{}, "MissingAuthenticationTokenException"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			client := clientWith(t, c.creds)
			_, err := client.ListTrustAnchors(ctx(t), &rolesanywhere.ListTrustAnchorsInput{})
			var denied *types.AccessDeniedException
			if errors.As(err, &denied) {
				t.Fatalf("got the modelled AccessDeniedException, want %s: %v", c.code, err)
			}
			ae := apiError(t, err, c.code, 403)
			var generic *smithy.GenericAPIError
			if !errors.As(err, &generic) {
				t.Errorf("got %T, want *smithy.GenericAPIError", ae)
			}
			t.Logf("%s: %s", ae.ErrorCode(), ae.ErrorMessage())
		})
	}
}

// The other way to configure the client (own HTTP client with the CA, explicit endpoint and
// keys) reaches the same server.
func TestAnExplicitlyConfiguredClientWorksToo(t *testing.T) {
	client := clientWith(t, staticCreds(os.Getenv("AWS_ACCESS_KEY_ID"),
		os.Getenv("AWS_SECRET_ACCESS_KEY"), ""))
	name := uniqueName("explicit")
	out, err := client.CreateProfile(ctx(t), &rolesanywhere.CreateProfileInput{
		Name: aws.String(name), RoleArns: []string{roleArn("go-explicit")}})
	must(t, err)
	id := aws.ToString(out.Profile.ProfileId)
	t.Cleanup(func() { deleteQuietly(t, "profile", id, deleteProfile) })
	got, err := ra.GetProfile(ctx(t), &rolesanywhere.GetProfileInput{ProfileId: aws.String(id)})
	must(t, err)
	eq(t, "seen by the environment-configured client", aws.ToString(got.Profile.Name), name)
}
