package sdk

import (
	"errors"
	"fmt"
	"sort"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/rolesanywhere"
	"github.com/aws/aws-sdk-go-v2/service/rolesanywhere/types"
)

func tagsOf(t *testing.T, resourceArn string) []string {
	t.Helper()
	out, err := ra.ListTagsForResource(ctx(t), &rolesanywhere.ListTagsForResourceInput{
		ResourceArn: aws.String(resourceArn)})
	must(t, err)
	tags := make([]string, 0, len(out.Tags))
	for _, tag := range out.Tags {
		tags = append(tags, aws.ToString(tag.Key)+"="+aws.ToString(tag.Value))
	}
	sort.Strings(tags)
	return tags
}

func tag(key, value string) types.Tag {
	return types.Tag{Key: aws.String(key), Value: aws.String(value)}
}

func TestTagsOnTrustAnchorsProfilesAndCrls(t *testing.T) {
	ca := newCA(t, "Go SDK tags CA")
	anchor := createTrustAnchor(t, &rolesanywhere.CreateTrustAnchorInput{
		Name: aws.String(uniqueName("tags")), Source: bundle(ca),
		Tags: []types.Tag{tag("team", "go"), tag("env", "test")}})
	profile := createProfile(t, &rolesanywhere.CreateProfileInput{
		Name: aws.String(uniqueName("tags")), RoleArns: []string{roleArn("go-tags")},
		Tags: []types.Tag{tag("team", "go")}})
	crl := importCrl(t, &rolesanywhere.ImportCrlInput{
		Name: aws.String(uniqueName("tags")), CrlData: ca.crl(t, 1),
		TrustAnchorArn: anchor.TrustAnchorArn, Tags: []types.Tag{tag("empty", "")}})

	eqSlice(t, "anchor tags from create", tagsOf(t, aws.ToString(anchor.TrustAnchorArn)),
		[]string{"env=test", "team=go"})
	eqSlice(t, "profile tags from create", tagsOf(t, aws.ToString(profile.ProfileArn)),
		[]string{"team=go"})
	eqSlice(t, "CRL tags from create (empty value kept)", tagsOf(t, aws.ToString(crl.CrlArn)),
		[]string{"empty="})

	for _, resource := range []string{aws.ToString(anchor.TrustAnchorArn),
		aws.ToString(profile.ProfileArn), aws.ToString(crl.CrlArn)} {
		_, err := ra.TagResource(ctx(t), &rolesanywhere.TagResourceInput{
			ResourceArn: aws.String(resource),
			Tags:        []types.Tag{tag("team", "platform"), tag("cost:center", "42")}})
		must(t, err)
		_, err = ra.UntagResource(ctx(t), &rolesanywhere.UntagResourceInput{
			ResourceArn: aws.String(resource), TagKeys: []string{"env", "empty", "never-set"}})
		must(t, err)
		eqSlice(t, "tags of "+resource, tagsOf(t, resource),
			[]string{"cost:center=42", "team=platform"})
	}
}

func TestTagsBeyondTheLimitAreTooManyTagsException(t *testing.T) {
	anchor := createTrustAnchor(t, &rolesanywhere.CreateTrustAnchorInput{
		Name: aws.String(uniqueName("many-tags")), Source: bundle(newCA(t, "Go SDK many tags CA"))})
	var tags []types.Tag
	for i := range 51 {
		tags = append(tags, tag(fmt.Sprintf("k%02d", i), "v"))
	}
	_, err := ra.TagResource(ctx(t), &rolesanywhere.TagResourceInput{
		ResourceArn: anchor.TrustAnchorArn, Tags: tags})
	var tooMany *types.TooManyTagsException
	if !errors.As(err, &tooMany) {
		t.Fatalf("51 tags: got %v, want TooManyTagsException", err)
	}
	if tooMany.ErrorMessage() == "" {
		t.Error("TooManyTagsException without a message")
	}
	eq(t, "status", httpStatus(t, err), 400)
	eqSlice(t, "no tag was added", tagsOf(t, aws.ToString(anchor.TrustAnchorArn)), []string{})
}
