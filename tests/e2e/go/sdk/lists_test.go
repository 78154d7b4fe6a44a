package sdk

import (
	"context"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/rolesanywhere"
)

// pager is what every generated paginator of the SDK offers.
type pager[O any] interface {
	HasMorePages() bool
	NextPage(context.Context, ...func(*rolesanywhere.Options)) (O, error)
}

// walk reads every page, checks each holds at most pageSize items, and returns the names
// (in order) and the number of pages.
func walk[O any](t *testing.T, p pager[O], pageSize int, names func(O) []string) ([]string, int) {
	t.Helper()
	var all []string
	pages := 0
	for p.HasMorePages() {
		out, err := p.NextPage(ctx(t))
		must(t, err)
		pages++
		got := names(out)
		if len(got) > pageSize {
			t.Errorf("page %d has %d items, more than pageSize %d", pages, len(got), pageSize)
		}
		all = append(all, got...)
		if pages > 100 {
			t.Fatal("the paginator does not stop")
		}
	}
	return all, pages
}

// withPrefix keeps the names a test made (the account may hold other tests' resources)
// and fails on a name seen twice (a page boundary served twice).
func withPrefix(t *testing.T, names []string, prefix string) []string {
	t.Helper()
	seen := map[string]bool{}
	var out []string
	for _, n := range names {
		if seen[n] {
			t.Errorf("%q listed twice", n)
		}
		seen[n] = true
		if strings.HasPrefix(n, prefix) {
			out = append(out, n)
		}
	}
	return out
}

// checkPages walks a paginator over pages of pageSize and checks it listed want (the names
// this test made, in creation order) over more than one page, nothing twice.
func checkPages[O any](t *testing.T, p pager[O], pageSize int, prefix string, want []string,
	names func(O) []string) []string {
	t.Helper()
	all, pages := walk(t, p, pageSize, names)
	if minimum := (len(want) + pageSize - 1) / pageSize; pages < minimum {
		t.Errorf("%d pages of %d for at least %d items", pages, pageSize, len(want))
	}
	eqSlice(t, "listed, in creation order", withPrefix(t, all, prefix), want)
	return all
}

func TestListTrustAnchorsWithThePaginatorAcrossPages(t *testing.T) {
	prefix := uniqueName("pages")
	var want []string
	for i := range 5 {
		name := prefix + "-" + string(rune('a'+i))
		createTrustAnchor(t, &rolesanywhere.CreateTrustAnchorInput{
			Name: aws.String(name), Source: bundle(newCA(t, "Go SDK list CA"))})
		want = append(want, name)
	}
	p := rolesanywhere.NewListTrustAnchorsPaginator(ra,
		&rolesanywhere.ListTrustAnchorsInput{PageSize: aws.Int32(2)},
		func(o *rolesanywhere.ListTrustAnchorsPaginatorOptions) { o.StopOnDuplicateToken = true })
	names := checkPages(t, p, 2, prefix, want, func(o *rolesanywhere.ListTrustAnchorsOutput) []string {
		var n []string
		for _, a := range o.TrustAnchors {
			n = append(n, aws.ToString(a.Name))
		}
		return n
	})

	// without a page size: the default page (50) holds them all, and there is no next token
	one, err := ra.ListTrustAnchors(ctx(t), &rolesanywhere.ListTrustAnchorsInput{})
	must(t, err)
	if len(names) <= 50 {
		eq(t, "one default page holds all", len(one.TrustAnchors), len(names))
		if one.NextToken != nil {
			t.Errorf("nextToken %q on the last page", *one.NextToken)
		}
	}
}

func TestListProfilesWithThePaginatorAcrossPages(t *testing.T) {
	prefix := uniqueName("pages")
	var want []string
	for i := range 5 {
		name := prefix + "-" + string(rune('a'+i))
		createProfile(t, &rolesanywhere.CreateProfileInput{
			Name: aws.String(name), RoleArns: []string{roleArn("go-list")}})
		want = append(want, name)
	}
	p := rolesanywhere.NewListProfilesPaginator(ra, &rolesanywhere.ListProfilesInput{
		PageSize: aws.Int32(2)})
	checkPages(t, p, 2, prefix, want, func(o *rolesanywhere.ListProfilesOutput) []string {
		var n []string
		for _, pr := range o.Profiles {
			n = append(n, aws.ToString(pr.Name))
		}
		return n
	})
}

func TestListCrlsWithThePaginatorAcrossPages(t *testing.T) {
	prefix := uniqueName("pages")
	var want []string
	// at most 2 CRLs per trust anchor (the AWS quota): 3 CRLs over 2 anchors
	for i := range 3 {
		ca := newCA(t, "Go SDK CRL list CA")
		anchor := createTrustAnchor(t, &rolesanywhere.CreateTrustAnchorInput{
			Name: aws.String(uniqueName("crl-list")), Source: bundle(ca)})
		name := prefix + "-" + string(rune('a'+i))
		importCrl(t, &rolesanywhere.ImportCrlInput{Name: aws.String(name),
			CrlData: ca.crl(t, 1), TrustAnchorArn: anchor.TrustAnchorArn})
		want = append(want, name)
	}
	p := rolesanywhere.NewListCrlsPaginator(ra, &rolesanywhere.ListCrlsInput{PageSize: aws.Int32(1)})
	checkPages(t, p, 1, prefix, want, func(o *rolesanywhere.ListCrlsOutput) []string {
		var n []string
		for _, c := range o.Crls {
			n = append(n, aws.ToString(c.Name))
		}
		return n
	})
}
