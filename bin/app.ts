#!/usr/bin/env node
/**
 * The CDK app: `npx cdk synth|deploy [-c domainName=trk.example.com -c hostedZoneName=example.com ...]`.
 * Context keys and what they do: docs/deploy.md.
 */
import { App } from 'aws-cdk-lib';
import { buildClickvault } from '../lib/clickvault-app';

const app = new App();
buildClickvault(app, {
  env: { account: process.env.CDK_DEFAULT_ACCOUNT, region: process.env.CDK_DEFAULT_REGION },
});
app.synth();
