package sdk

import (
	"bytes"
	"crypto/x509"
	"errors"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/rolesanywhere"
	"github.com/aws/aws-sdk-go-v2/service/rolesanywhere/types"
)

func importCrl(t *testing.T, in *rolesanywhere.ImportCrlInput) *types.CrlDetail {
	t.Helper()
	out, err := ra.ImportCrl(ctx(t), in)
	must(t, err)
	id := aws.ToString(out.Crl.CrlId)
	t.Cleanup(func() { deleteQuietly(t, "CRL", id, deleteCrl) })
	return out.Crl
}

func deleteCrl(t *testing.T, id string) error {
	_, err := ra.DeleteCrl(ctx(t), &rolesanywhere.DeleteCrlInput{CrlId: aws.String(id)})
	return err
}

// revokedSerials parses the crlData Roleport returned: it must still be the CRL we sent.
func revokedSerials(t *testing.T, data []byte) []int64 {
	t.Helper()
	crl, err := x509.ParseRevocationList(data)
	if err != nil {
		t.Fatalf("crlData returned is not a DER CRL: %v", err)
	}
	out := make([]int64, 0, len(crl.RevokedCertificateEntries))
	for _, e := range crl.RevokedCertificateEntries {
		out = append(out, e.SerialNumber.Int64())
	}
	return out
}

func TestCrlImportGetUpdateEnableDisableDelete(t *testing.T) {
	ca := newCA(t, "Go SDK CRL CA")
	anchor := createTrustAnchor(t, &rolesanywhere.CreateTrustAnchorInput{
		Name: aws.String(uniqueName("crl-anchor")), Source: bundle(ca)})
	anchorArn := aws.ToString(anchor.TrustAnchorArn)
	name := uniqueName("crl")
	data := ca.crl(t, 1, 1001, 1002)
	created := importCrl(t, &rolesanywhere.ImportCrlInput{
		Name: aws.String(name), CrlData: data, TrustAnchorArn: aws.String(anchorArn),
		Enabled: aws.Bool(false)})
	id := aws.ToString(created.CrlId)
	if !uuidPattern.MatchString(id) {
		t.Errorf("crlId %q is not a UUID", id)
	}
	eq(t, "crlArn", aws.ToString(created.CrlArn), arn("crl", id))
	eq(t, "name", aws.ToString(created.Name), name)
	eq(t, "trustAnchorArn", aws.ToString(created.TrustAnchorArn), anchorArn)
	eq(t, "enabled", aws.ToBool(created.Enabled), false)
	eq(t, "crlData is what was imported", bytes.Equal(created.CrlData, data), true)
	recent(t, "createdAt", created.CreatedAt)

	got, err := ra.GetCrl(ctx(t), &rolesanywhere.GetCrlInput{CrlId: aws.String(arn("crl", id))})
	must(t, err)
	eq(t, "get.crlId", aws.ToString(got.Crl.CrlId), id)
	eqSlice(t, "get.crlData revoked serials", revokedSerials(t, got.Crl.CrlData), []int64{1001, 1002})

	newer := ca.crl(t, 2, 1001, 1002, 1003)
	updated, err := ra.UpdateCrl(ctx(t), &rolesanywhere.UpdateCrlInput{
		CrlId: aws.String(id), Name: aws.String(name + "-renamed"), CrlData: newer})
	must(t, err)
	eq(t, "updated.name", aws.ToString(updated.Crl.Name), name+"-renamed")
	eqSlice(t, "updated.crlData revoked serials", revokedSerials(t, updated.Crl.CrlData),
		[]int64{1001, 1002, 1003})
	eq(t, "updated.enabled (kept)", aws.ToBool(updated.Crl.Enabled), false)

	enabled, err := ra.EnableCrl(ctx(t), &rolesanywhere.EnableCrlInput{CrlId: aws.String(id)})
	must(t, err)
	eq(t, "enable.enabled", aws.ToBool(enabled.Crl.Enabled), true)
	disabled, err := ra.DisableCrl(ctx(t), &rolesanywhere.DisableCrlInput{CrlId: aws.String(id)})
	must(t, err)
	eq(t, "disable.enabled", aws.ToBool(disabled.Crl.Enabled), false)

	deleted, err := ra.DeleteCrl(ctx(t), &rolesanywhere.DeleteCrlInput{CrlId: aws.String(id)})
	must(t, err)
	eq(t, "deleted.crlId", aws.ToString(deleted.Crl.CrlId), id)
	_, err = ra.GetCrl(ctx(t), &rolesanywhere.GetCrlInput{CrlId: aws.String(id)})
	var notFound *types.ResourceNotFoundException
	if !errors.As(err, &notFound) {
		t.Errorf("get after delete: got %v, want ResourceNotFoundException", err)
	}
}

func TestCrlAliasAndTheAnchorAliasImportRefuses(t *testing.T) {
	ca := newCA(t, "Go SDK CRL alias CA")
	anchorAlias := uniqueName("crl-anchor-alias")
	anchor := createTrustAnchor(t, &rolesanywhere.CreateTrustAnchorInput{
		Name: aws.String(uniqueName("crl-alias-anchor")), Source: bundle(ca),
		AliasName: aws.String(anchorAlias)})
	alias := uniqueName("crl-alias")
	crl := importCrl(t, &rolesanywhere.ImportCrlInput{
		Name: aws.String(uniqueName("crl")), CrlData: ca.crl(t, 1),
		TrustAnchorArn: anchor.TrustAnchorArn, AliasName: aws.String(alias)})
	eq(t, "aliasArn", aws.ToString(crl.AliasArn), arn("alias/crl", alias))
	got, err := ra.GetCrl(ctx(t), &rolesanywhere.GetCrlInput{CrlId: crl.AliasArn})
	must(t, err)
	eq(t, "get(aliasArn).crlId", aws.ToString(got.Crl.CrlId), aws.ToString(crl.CrlId))

	// the model: ImportCrl's trustAnchorArn does not take an alias ARN (ResourceNotFound)
	_, err = ra.ImportCrl(ctx(t), &rolesanywhere.ImportCrlInput{
		Name: aws.String(uniqueName("crl")), CrlData: ca.crl(t, 2),
		TrustAnchorArn: anchor.AliasArn})
	var notFound *types.ResourceNotFoundException
	if !errors.As(err, &notFound) {
		t.Errorf("ImportCrl with the anchor's alias ARN: got %v, want ResourceNotFoundException", err)
	}
}
