package sdk

import (
	"os"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/rolesanywhere"
	"github.com/aws/aws-sdk-go-v2/service/rolesanywhere/types"
)

// The session credentials in the environment came from a CreateSession in this account,
// so Roleport has recorded the certificate's subject.
func TestSubjectOfTheSessionIsListedAndDescribed(t *testing.T) {
	cn := os.Getenv("ROLEPORT_SUBJECT_CN")
	var found *types.SubjectSummary
	p := rolesanywhere.NewListSubjectsPaginator(ra, &rolesanywhere.ListSubjectsInput{
		PageSize: aws.Int32(1)})
	for p.HasMorePages() {
		out, err := p.NextPage(ctx(t))
		must(t, err)
		for i, s := range out.Subjects {
			if strings.Contains(aws.ToString(s.X509Subject), "CN="+cn) {
				found = &out.Subjects[i]
			}
		}
	}
	if found == nil {
		t.Fatalf("no subject with CN=%s listed", cn)
	}
	id := aws.ToString(found.SubjectId)
	eq(t, "subjectArn", aws.ToString(found.SubjectArn), arn("subject", id))
	eq(t, "enabled", aws.ToBool(found.Enabled), true)
	recent(t, "lastSeenAt", found.LastSeenAt)

	got, err := ra.GetSubject(ctx(t), &rolesanywhere.GetSubjectInput{SubjectId: aws.String(id)})
	must(t, err)
	s := got.Subject
	eq(t, "get.x509Subject", aws.ToString(s.X509Subject), aws.ToString(found.X509Subject))
	eq(t, "get.lastSeenAt", *s.LastSeenAt, *found.LastSeenAt)
	if len(s.Credentials) == 0 {
		t.Fatal("the subject records no credential")
	}
	c := s.Credentials[0]
	eq(t, "credential.failed", aws.ToBool(c.Failed), false)
	eq(t, "credential.enabled", aws.ToBool(c.Enabled), true)
	if !strings.HasPrefix(aws.ToString(c.X509CertificateData), "-----BEGIN CERTIFICATE-----") {
		t.Errorf("credential.x509CertificateData is not a PEM certificate: %q", aws.ToString(c.X509CertificateData))
	}
	if aws.ToString(c.SerialNumber) == "" || aws.ToString(c.Issuer) == "" {
		t.Errorf("credential without serial number or issuer: %+v", c)
	}
	recent(t, "credential.seenAt", c.SeenAt)
}
