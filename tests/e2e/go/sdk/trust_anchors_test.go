package sdk

import (
	"errors"
	"regexp"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/rolesanywhere"
	"github.com/aws/aws-sdk-go-v2/service/rolesanywhere/types"
)

var uuidPattern = regexp.MustCompile(`^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$`)

func bundle(ca *testCA) *types.Source {
	return &types.Source{
		SourceType: types.TrustAnchorTypeCertificateBundle,
		SourceData: &types.SourceDataMemberX509CertificateData{Value: ca.pem},
	}
}

// createTrustAnchor creates a trust anchor for ca and deletes it when the test ends.
func createTrustAnchor(t *testing.T, in *rolesanywhere.CreateTrustAnchorInput) *types.TrustAnchorDetail {
	t.Helper()
	out, err := ra.CreateTrustAnchor(ctx(t), in)
	must(t, err)
	id := aws.ToString(out.TrustAnchor.TrustAnchorId)
	t.Cleanup(func() { deleteQuietly(t, "trust anchor", id, deleteTrustAnchor) })
	return out.TrustAnchor
}

func deleteTrustAnchor(t *testing.T, id string) error {
	_, err := ra.DeleteTrustAnchor(ctx(t), &rolesanywhere.DeleteTrustAnchorInput{
		TrustAnchorId: aws.String(id)})
	return err
}

// deleteQuietly deletes in a cleanup: gone already is fine, anything else fails the test.
func deleteQuietly(t *testing.T, what, id string, del func(*testing.T, string) error) {
	var notFound *types.ResourceNotFoundException
	if err := del(t, id); err != nil && !errors.As(err, &notFound) {
		t.Errorf("cleanup: deleting %s %s: %v", what, id, err)
	}
}

func certificateData(t *testing.T, s *types.Source) string {
	t.Helper()
	if s == nil {
		t.Fatal("source: missing")
	}
	data, ok := s.SourceData.(*types.SourceDataMemberX509CertificateData)
	if !ok {
		t.Fatalf("sourceData: got %T, want x509CertificateData", s.SourceData)
	}
	return data.Value
}

func TestTrustAnchorCreateGetUpdateEnableDisableDelete(t *testing.T) {
	ca := newCA(t, "Go SDK anchor CA")
	name := uniqueName("anchor")
	created := createTrustAnchor(t, &rolesanywhere.CreateTrustAnchorInput{
		Name: aws.String(name), Source: bundle(ca), Enabled: aws.Bool(false),
		Tags: []types.Tag{{Key: aws.String("team"), Value: aws.String("go")}},
	})
	id := aws.ToString(created.TrustAnchorId)
	if !uuidPattern.MatchString(id) {
		t.Errorf("trustAnchorId %q is not a UUID", id)
	}
	eq(t, "trustAnchorArn", aws.ToString(created.TrustAnchorArn), arn("trust-anchor", id))
	eq(t, "name", aws.ToString(created.Name), name)
	eq(t, "enabled", aws.ToBool(created.Enabled), false)
	eq(t, "crlDpRevocationEnabled", aws.ToBool(created.CrlDpRevocationEnabled), false)
	eq(t, "sourceType", created.Source.SourceType, types.TrustAnchorTypeCertificateBundle)
	eq(t, "x509CertificateData", certificateData(t, created.Source), ca.pem)
	recent(t, "createdAt", created.CreatedAt)
	eq(t, "updatedAt", *created.UpdatedAt, *created.CreatedAt)
	if created.AliasName != nil || created.AliasArn != nil || created.PreviousAliasName != nil {
		t.Errorf("alias fields on an anchor without alias: %v %v %v", created.AliasName,
			created.AliasArn, created.PreviousAliasName)
	}
	checkDefaultNotificationSettings(t, created.NotificationSettings)

	for _, identifier := range []string{id, arn("trust-anchor", id)} {
		got, err := ra.GetTrustAnchor(ctx(t), &rolesanywhere.GetTrustAnchorInput{
			TrustAnchorId: aws.String(identifier)})
		must(t, err)
		eq(t, "get("+identifier+").trustAnchorId", aws.ToString(got.TrustAnchor.TrustAnchorId), id)
		eq(t, "get.name", aws.ToString(got.TrustAnchor.Name), name)
		eq(t, "get.createdAt", *got.TrustAnchor.CreatedAt, *created.CreatedAt)
		eq(t, "get.x509CertificateData", certificateData(t, got.TrustAnchor.Source), ca.pem)
	}

	other := newCA(t, "Go SDK replacement CA")
	updated, err := ra.UpdateTrustAnchor(ctx(t), &rolesanywhere.UpdateTrustAnchorInput{
		TrustAnchorId: aws.String(id), Name: aws.String(name + "-renamed"),
		Source: bundle(other), CrlDpRevocationEnabled: aws.Bool(true)})
	must(t, err)
	eq(t, "updated.name", aws.ToString(updated.TrustAnchor.Name), name+"-renamed")
	eq(t, "updated.crlDpRevocationEnabled", aws.ToBool(updated.TrustAnchor.CrlDpRevocationEnabled), true)
	eq(t, "updated.x509CertificateData", certificateData(t, updated.TrustAnchor.Source), other.pem)
	eq(t, "updated.enabled (Update does not enable)", aws.ToBool(updated.TrustAnchor.Enabled), false)
	eq(t, "updated.createdAt", *updated.TrustAnchor.CreatedAt, *created.CreatedAt)
	if updated.TrustAnchor.UpdatedAt.Before(*created.UpdatedAt) {
		t.Errorf("updatedAt went back: %v < %v", *updated.TrustAnchor.UpdatedAt, *created.UpdatedAt)
	}

	enabled, err := ra.EnableTrustAnchor(ctx(t), &rolesanywhere.EnableTrustAnchorInput{
		TrustAnchorId: aws.String(id)})
	must(t, err)
	eq(t, "enable.enabled", aws.ToBool(enabled.TrustAnchor.Enabled), true)
	disabled, err := ra.DisableTrustAnchor(ctx(t), &rolesanywhere.DisableTrustAnchorInput{
		TrustAnchorId: aws.String(arn("trust-anchor", id))})
	must(t, err)
	eq(t, "disable.enabled", aws.ToBool(disabled.TrustAnchor.Enabled), false)
	eq(t, "disable.name", aws.ToString(disabled.TrustAnchor.Name), name+"-renamed")

	deleted, err := ra.DeleteTrustAnchor(ctx(t), &rolesanywhere.DeleteTrustAnchorInput{
		TrustAnchorId: aws.String(id)})
	must(t, err)
	eq(t, "deleted.trustAnchorId", aws.ToString(deleted.TrustAnchor.TrustAnchorId), id)
	eq(t, "deleted.name", aws.ToString(deleted.TrustAnchor.Name), name+"-renamed")
	_, err = ra.GetTrustAnchor(ctx(t), &rolesanywhere.GetTrustAnchorInput{TrustAnchorId: aws.String(id)})
	var notFound *types.ResourceNotFoundException
	if !errors.As(err, &notFound) {
		t.Errorf("get after delete: got %v, want ResourceNotFoundException", err)
	}
}

func TestTrustAnchorAliasSetUseRenameRemove(t *testing.T) {
	alias := uniqueName("anchor-alias")
	created := createTrustAnchor(t, &rolesanywhere.CreateTrustAnchorInput{
		Name: aws.String(uniqueName("aliased")), Source: bundle(newCA(t, "Go SDK alias CA")),
		AliasName: aws.String(alias)})
	id := aws.ToString(created.TrustAnchorId)
	aliasArn := arn("alias/trust-anchor", alias)
	eq(t, "aliasName", aws.ToString(created.AliasName), alias)
	eq(t, "aliasArn", aws.ToString(created.AliasArn), aliasArn)
	if created.PreviousAliasName != nil {
		t.Errorf("previousAliasName on create: %q", *created.PreviousAliasName)
	}

	got, err := ra.GetTrustAnchor(ctx(t), &rolesanywhere.GetTrustAnchorInput{
		TrustAnchorId: aws.String(aliasArn)})
	must(t, err)
	eq(t, "get(aliasArn).trustAnchorId", aws.ToString(got.TrustAnchor.TrustAnchorId), id)

	renamed := alias + "-2"
	up, err := ra.UpdateTrustAnchor(ctx(t), &rolesanywhere.UpdateTrustAnchorInput{
		TrustAnchorId: aws.String(aliasArn), AliasName: aws.String(renamed)})
	must(t, err)
	eq(t, "renamed.aliasName", aws.ToString(up.TrustAnchor.AliasName), renamed)
	eq(t, "renamed.aliasArn", aws.ToString(up.TrustAnchor.AliasArn), arn("alias/trust-anchor", renamed))
	eq(t, "renamed.previousAliasName", aws.ToString(up.TrustAnchor.PreviousAliasName), alias)
	_, err = ra.GetTrustAnchor(ctx(t), &rolesanywhere.GetTrustAnchorInput{TrustAnchorId: aws.String(aliasArn)})
	var notFound *types.ResourceNotFoundException
	if !errors.As(err, &notFound) {
		t.Errorf("get(old alias ARN): got %v, want ResourceNotFoundException", err)
	}

	kept, err := ra.UpdateTrustAnchor(ctx(t), &rolesanywhere.UpdateTrustAnchorInput{
		TrustAnchorId: aws.String(id), Name: aws.String("kept-alias")})
	must(t, err)
	eq(t, "omitted aliasName keeps it", aws.ToString(kept.TrustAnchor.AliasName), renamed)
	if kept.TrustAnchor.PreviousAliasName != nil {
		t.Errorf("previousAliasName after an update that kept the alias: %q",
			*kept.TrustAnchor.PreviousAliasName)
	}

	removed, err := ra.UpdateTrustAnchor(ctx(t), &rolesanywhere.UpdateTrustAnchorInput{
		TrustAnchorId: aws.String(id), AliasName: aws.String("")})
	must(t, err)
	if removed.TrustAnchor.AliasName != nil || removed.TrustAnchor.AliasArn != nil {
		t.Errorf("alias after removal: %v %v", removed.TrustAnchor.AliasName, removed.TrustAnchor.AliasArn)
	}
	eq(t, "removed.previousAliasName", aws.ToString(removed.TrustAnchor.PreviousAliasName), renamed)
}
