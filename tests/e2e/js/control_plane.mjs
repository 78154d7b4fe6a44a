// Exercise the Roles Anywhere control plane of a Roleport server with the AWS SDK for
// JavaScript v3, unchanged. Endpoint, credentials and CA come from the environment
// (AWS_ENDPOINT_URL, AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY, AWS_REGION, NODE_EXTRA_CA_CERTS).
// argv[2]: a CA certificate in PEM for the trust anchor. Prints one JSON line of results.
import { readFileSync } from "node:fs";
import {
  RolesAnywhereClient, CreateTrustAnchorCommand, GetTrustAnchorCommand, ListTrustAnchorsCommand,
  CreateProfileCommand, UpdateProfileCommand, TagResourceCommand, ListTagsForResourceCommand,
  DeleteTrustAnchorCommand, GetProfileCommand, paginateListProfiles,
} from "@aws-sdk/client-rolesanywhere";

const client = new RolesAnywhereClient({ maxAttempts: 1, endpoint: process.env.AWS_ENDPOINT_URL });
const pem = readFileSync(process.argv[2], "utf8");
const account = process.env.ROLEPORT_ACCOUNT_ID;
const out = {};

const ta = (await client.send(new CreateTrustAnchorCommand({
  name: "js-ca", enabled: true,
  source: { sourceType: "CERTIFICATE_BUNDLE", sourceData: { x509CertificateData: pem } },
}))).trustAnchor;
out.createdAtIsDate = ta.createdAt instanceof Date;
out.trustAnchorArn = ta.trustAnchorArn;
out.viaArn = (await client.send(new GetTrustAnchorCommand({ trustAnchorId: ta.trustAnchorArn })))
  .trustAnchor.trustAnchorId === ta.trustAnchorId;
for (let i = 0; i < 3; i++) {
  await client.send(new CreateProfileCommand({
    name: `js-${i}`, roleArns: [`arn:aws:iam::${account}:role/js`], durationSeconds: 1800 }));
}
const names = [];
for await (const page of paginateListProfiles({ client }, { pageSize: 2 })) {
  for (const p of page.profiles) names.push(p.name);
}
out.profileNames = names;
const first = (await client.send(new ListTrustAnchorsCommand({}))).trustAnchors;
out.trustAnchorCount = first.length;
await client.send(new TagResourceCommand({ resourceArn: ta.trustAnchorArn,
  tags: [{ key: "sdk", value: "js" }] }));
out.tags = (await client.send(new ListTagsForResourceCommand({ resourceArn: ta.trustAnchorArn })))
  .tags;
try {
  await client.send(new GetProfileCommand({ profileId: "0ace5b12-24b9-427e-a483-c55884852fbf" }));
  out.notFound = "no error";
} catch (err) {
  out.notFound = { name: err.name, status: err.$metadata.httpStatusCode, message: err.message };
}
try {
  await client.send(new UpdateProfileCommand({ profileId: "0ace5b12-24b9-427e-a483-c55884852fbf",
    durationSeconds: 10 }));
} catch (err) {
  out.validation = { name: err.name, status: err.$metadata.httpStatusCode, message: err.message };
}
out.deleted = (await client.send(new DeleteTrustAnchorCommand({ trustAnchorId: ta.trustAnchorId })))
  .trustAnchor.name;
console.log(JSON.stringify(out));
