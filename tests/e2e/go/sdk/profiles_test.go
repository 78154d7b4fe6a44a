package sdk

import (
	"errors"
	"fmt"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/rolesanywhere"
	"github.com/aws/aws-sdk-go-v2/service/rolesanywhere/types"
)

func roleArn(name string) string {
	return fmt.Sprintf("arn:aws:iam::%s:role/%s", accountID(), name)
}

func createProfile(t *testing.T, in *rolesanywhere.CreateProfileInput) *types.ProfileDetail {
	t.Helper()
	out, err := ra.CreateProfile(ctx(t), in)
	must(t, err)
	id := aws.ToString(out.Profile.ProfileId)
	t.Cleanup(func() { deleteQuietly(t, "profile", id, deleteProfile) })
	return out.Profile
}

func deleteProfile(t *testing.T, id string) error {
	_, err := ra.DeleteProfile(ctx(t), &rolesanywhere.DeleteProfileInput{ProfileId: aws.String(id)})
	return err
}

// mappings renders attribute mappings as "field=spec,spec" strings, in the server's order.
func mappings(all []types.AttributeMapping) []string {
	out := make([]string, 0, len(all))
	for _, m := range all {
		s := string(m.CertificateField) + "="
		for i, r := range m.MappingRules {
			if i > 0 {
				s += ","
			}
			s += aws.ToString(r.Specifier)
		}
		out = append(out, s)
	}
	return out
}

const sessionPolicy = `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"s3:GetObject","Resource":"*"}]}`

func TestProfileCreateGetUpdateEnableDisableDelete(t *testing.T) {
	name := uniqueName("profile")
	created := createProfile(t, &rolesanywhere.CreateProfileInput{
		Name:                      aws.String(name),
		RoleArns:                  []string{roleArn("go-a"), roleArn("go-b")},
		ManagedPolicyArns:         []string{"arn:aws:iam::aws:policy/ReadOnlyAccess"},
		SessionPolicy:             aws.String(sessionPolicy),
		DurationSeconds:           aws.Int32(1800),
		RequireInstanceProperties: aws.Bool(true),
		AcceptRoleSessionName:     aws.Bool(true),
		Enabled:                   aws.Bool(false),
	})
	id := aws.ToString(created.ProfileId)
	if !uuidPattern.MatchString(id) {
		t.Errorf("profileId %q is not a UUID", id)
	}
	eq(t, "profileArn", aws.ToString(created.ProfileArn), arn("profile", id))
	eq(t, "name", aws.ToString(created.Name), name)
	eqSlice(t, "roleArns", created.RoleArns, []string{roleArn("go-a"), roleArn("go-b")})
	eqSlice(t, "managedPolicyArns", created.ManagedPolicyArns,
		[]string{"arn:aws:iam::aws:policy/ReadOnlyAccess"})
	eq(t, "sessionPolicy", aws.ToString(created.SessionPolicy), sessionPolicy)
	eq(t, "durationSeconds", aws.ToInt32(created.DurationSeconds), 1800)
	eq(t, "requireInstanceProperties", aws.ToBool(created.RequireInstanceProperties), true)
	eq(t, "acceptRoleSessionName", aws.ToBool(created.AcceptRoleSessionName), true)
	eq(t, "enabled", aws.ToBool(created.Enabled), false)
	eq(t, "createdBy", aws.ToString(created.CreatedBy), fmt.Sprintf("arn:aws:iam::%s:root", accountID()))
	recent(t, "createdAt", created.CreatedAt)
	eq(t, "updatedAt", *created.UpdatedAt, *created.CreatedAt)
	eqSlice(t, "default attributeMappings", mappings(created.AttributeMappings),
		[]string{"x509Issuer=*", "x509SAN=DNS,URI,Name/*", "x509Subject=*"})

	got, err := ra.GetProfile(ctx(t), &rolesanywhere.GetProfileInput{ProfileId: aws.String(arn("profile", id))})
	must(t, err)
	eq(t, "get.profileId", aws.ToString(got.Profile.ProfileId), id)
	eq(t, "get.sessionPolicy", aws.ToString(got.Profile.SessionPolicy), sessionPolicy)
	eq(t, "get.createdAt", *got.Profile.CreatedAt, *created.CreatedAt)

	updated, err := ra.UpdateProfile(ctx(t), &rolesanywhere.UpdateProfileInput{
		ProfileId: aws.String(id), Name: aws.String(name + "-renamed"),
		RoleArns: []string{roleArn("go-c")}, DurationSeconds: aws.Int32(43200),
		AcceptRoleSessionName: aws.Bool(false), ManagedPolicyArns: []string{},
	})
	must(t, err)
	p := updated.Profile
	eq(t, "updated.name", aws.ToString(p.Name), name+"-renamed")
	eqSlice(t, "updated.roleArns (replaced)", p.RoleArns, []string{roleArn("go-c")})
	eqSlice(t, "updated.managedPolicyArns (emptied)", p.ManagedPolicyArns, []string{})
	eq(t, "updated.durationSeconds", aws.ToInt32(p.DurationSeconds), 43200)
	eq(t, "updated.acceptRoleSessionName", aws.ToBool(p.AcceptRoleSessionName), false)
	eq(t, "updated.sessionPolicy (omitted: kept)", aws.ToString(p.SessionPolicy), sessionPolicy)
	eq(t, "updated.requireInstanceProperties (kept)", aws.ToBool(p.RequireInstanceProperties), true)
	eq(t, "updated.enabled (kept)", aws.ToBool(p.Enabled), false)

	enabled, err := ra.EnableProfile(ctx(t), &rolesanywhere.EnableProfileInput{ProfileId: aws.String(id)})
	must(t, err)
	eq(t, "enable.enabled", aws.ToBool(enabled.Profile.Enabled), true)
	disabled, err := ra.DisableProfile(ctx(t), &rolesanywhere.DisableProfileInput{ProfileId: aws.String(id)})
	must(t, err)
	eq(t, "disable.enabled", aws.ToBool(disabled.Profile.Enabled), false)

	deleted, err := ra.DeleteProfile(ctx(t), &rolesanywhere.DeleteProfileInput{ProfileId: aws.String(id)})
	must(t, err)
	eq(t, "deleted.profileId", aws.ToString(deleted.Profile.ProfileId), id)
	_, err = ra.GetProfile(ctx(t), &rolesanywhere.GetProfileInput{ProfileId: aws.String(id)})
	var notFound *types.ResourceNotFoundException
	if !errors.As(err, &notFound) {
		t.Errorf("get after delete: got %v, want ResourceNotFoundException", err)
	}
}

func TestProfileAttributeMappingsPutAndDelete(t *testing.T) {
	profile := createProfile(t, &rolesanywhere.CreateProfileInput{
		Name: aws.String(uniqueName("mappings")), RoleArns: []string{roleArn("go-mapped")}})
	id := aws.ToString(profile.ProfileId)

	put, err := ra.PutAttributeMapping(ctx(t), &rolesanywhere.PutAttributeMappingInput{
		ProfileId: aws.String(id), CertificateField: types.CertificateFieldX509Subject,
		MappingRules: []types.MappingRule{{Specifier: aws.String("CN")}, {Specifier: aws.String("OU")}},
	})
	must(t, err)
	eqSlice(t, "after put x509Subject", mappings(put.Profile.AttributeMappings),
		[]string{"x509Issuer=*", "x509SAN=DNS,URI,Name/*", "x509Subject=CN,OU"})
	if put.Profile.UpdatedAt.Before(*profile.UpdatedAt) {
		t.Errorf("updatedAt went back after PutAttributeMapping")
	}

	one, err := ra.DeleteAttributeMapping(ctx(t), &rolesanywhere.DeleteAttributeMappingInput{
		ProfileId: aws.String(id), CertificateField: types.CertificateFieldX509SAN,
		Specifiers: []string{"DNS", "URI"},
	})
	must(t, err)
	eqSlice(t, "after deleting two SAN specifiers", mappings(one.Profile.AttributeMappings),
		[]string{"x509Issuer=*", "x509SAN=Name/*", "x509Subject=CN,OU"})

	field, err := ra.DeleteAttributeMapping(ctx(t), &rolesanywhere.DeleteAttributeMappingInput{
		ProfileId: aws.String(id), CertificateField: types.CertificateFieldX509Issuer,
	})
	must(t, err)
	eqSlice(t, "after deleting the issuer field", mappings(field.Profile.AttributeMappings),
		[]string{"x509SAN=Name/*", "x509Subject=CN,OU"})

	got, err := ra.GetProfile(ctx(t), &rolesanywhere.GetProfileInput{ProfileId: aws.String(id)})
	must(t, err)
	eqSlice(t, "stored mappings", mappings(got.Profile.AttributeMappings),
		[]string{"x509SAN=Name/*", "x509Subject=CN,OU"})
}

func TestProfileAliasIdentifiesIt(t *testing.T) {
	alias := uniqueName("profile-alias")
	profile := createProfile(t, &rolesanywhere.CreateProfileInput{
		Name: aws.String(uniqueName("aliased")), RoleArns: []string{roleArn("go-alias")},
		AliasName: aws.String(alias)})
	aliasArn := arn("alias/profile", alias)
	eq(t, "aliasName", aws.ToString(profile.AliasName), alias)
	eq(t, "aliasArn", aws.ToString(profile.AliasArn), aliasArn)
	disabled, err := ra.DisableProfile(ctx(t), &rolesanywhere.DisableProfileInput{ProfileId: aws.String(aliasArn)})
	must(t, err)
	eq(t, "disable(aliasArn).profileId", aws.ToString(disabled.Profile.ProfileId), aws.ToString(profile.ProfileId))
	eq(t, "disable(aliasArn).enabled", aws.ToBool(disabled.Profile.Enabled), false)
}
