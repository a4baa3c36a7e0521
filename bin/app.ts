#!/usr/bin/env node
/**
 * The CDK app: `npx cdk synth|deploy [-c domainName=trk.example.com -c hostedZoneName=example.com ...]`.
 * Context keys and what they do: docs/deploy.md.
 */
import { App } from 'aws-cdk-lib';
import { ConfigError } from '../config/schema';
import { buildClickvault } from '../lib/clickvault-app';
import { ContextError } from '../lib/settings';

const app = new App();
try {
  buildClickvault(app, {
    env: { account: process.env.CDK_DEFAULT_ACCOUNT, region: process.env.CDK_DEFAULT_REGION },
  });
} catch (err) {
  // A wrong config or context is the user's to fix: show the message, not a stack trace.
  if (err instanceof ConfigError || err instanceof ContextError) {
    console.error(err.message);
    process.exit(1);
  }
  throw err;
}
app.synth();
