package sdk

import (
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/rolesanywhere"
	"github.com/aws/aws-sdk-go-v2/service/rolesanywhere/types"
)

const serviceConfigured = "rolesanywhere.amazonaws.com"

func setting(t *testing.T, all []types.NotificationSettingDetail,
	event types.NotificationEvent) types.NotificationSettingDetail {
	t.Helper()
	for _, s := range all {
		if s.Event == event {
			return s
		}
	}
	t.Fatalf("no notification setting for %s in %+v", event, all)
	return types.NotificationSettingDetail{}
}

// checkDefaultNotificationSettings: both expiry events, on, 45 days, channel ALL, set by
// the service (as a new AWS trust anchor has them).
func checkDefaultNotificationSettings(t *testing.T, all []types.NotificationSettingDetail) {
	t.Helper()
	eq(t, "number of notification settings", len(all), 2)
	for _, event := range []types.NotificationEvent{types.NotificationEventCaCertificateExpiry,
		types.NotificationEventEndEntityCertificateExpiry} {
		s := setting(t, all, event)
		eq(t, string(event)+".enabled", aws.ToBool(s.Enabled), true)
		eq(t, string(event)+".threshold", aws.ToInt32(s.Threshold), 45)
		eq(t, string(event)+".channel", s.Channel, types.NotificationChannelAll)
		eq(t, string(event)+".configuredBy", aws.ToString(s.ConfiguredBy), serviceConfigured)
	}
}

func TestNotificationSettingsPutAndReset(t *testing.T) {
	anchor := createTrustAnchor(t, &rolesanywhere.CreateTrustAnchorInput{
		Name: aws.String(uniqueName("notify")), Source: bundle(newCA(t, "Go SDK notify CA")),
		NotificationSettings: []types.NotificationSetting{{
			Event: types.NotificationEventEndEntityCertificateExpiry, Enabled: aws.Bool(true),
			Threshold: aws.Int32(10)}},
	})
	id := aws.ToString(anchor.TrustAnchorId)
	onCreate := setting(t, anchor.NotificationSettings, types.NotificationEventEndEntityCertificateExpiry)
	eq(t, "create: end-entity threshold", aws.ToInt32(onCreate.Threshold), 10)
	eq(t, "create: end-entity channel", onCreate.Channel, types.NotificationChannelAll)
	eq(t, "create: end-entity configuredBy", aws.ToString(onCreate.ConfiguredBy) != serviceConfigured, true)

	put, err := ra.PutNotificationSettings(ctx(t), &rolesanywhere.PutNotificationSettingsInput{
		TrustAnchorId: aws.String(id),
		NotificationSettings: []types.NotificationSetting{{
			Event: types.NotificationEventCaCertificateExpiry, Enabled: aws.Bool(false),
			Threshold: aws.Int32(30), Channel: types.NotificationChannelAll}},
	})
	must(t, err)
	ca := setting(t, put.TrustAnchor.NotificationSettings, types.NotificationEventCaCertificateExpiry)
	eq(t, "put: CA enabled", aws.ToBool(ca.Enabled), false)
	eq(t, "put: CA threshold", aws.ToInt32(ca.Threshold), 30)
	if aws.ToString(ca.ConfiguredBy) == serviceConfigured || aws.ToString(ca.ConfiguredBy) == "" {
		t.Errorf("put: configuredBy %q, want the caller", aws.ToString(ca.ConfiguredBy))
	}
	end := setting(t, put.TrustAnchor.NotificationSettings, types.NotificationEventEndEntityCertificateExpiry)
	eq(t, "put leaves the other event alone", aws.ToInt32(end.Threshold), 10)

	reset, err := ra.ResetNotificationSettings(ctx(t), &rolesanywhere.ResetNotificationSettingsInput{
		TrustAnchorId: aws.String(id),
		NotificationSettingKeys: []types.NotificationSettingKey{
			{Event: types.NotificationEventCaCertificateExpiry, Channel: types.NotificationChannelAll},
			{Event: types.NotificationEventEndEntityCertificateExpiry},
		},
	})
	must(t, err)
	checkDefaultNotificationSettings(t, reset.TrustAnchor.NotificationSettings)
}
