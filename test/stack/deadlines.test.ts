/**
 * Every function's timeout is a backstop behind its handler's own deadline: the synthesized
 * timeouts leave the margin, and synth refuses a function whose timeout would end it before
 * its handler can answer.
 */
import { App, Duration, Stack } from 'aws-cdk-lib';
import * as logs from 'aws-cdk-lib/aws-logs';
import { HANDLER_DEADLINE_MS } from '../../lambda/contract';
import { DEADLINE_MARGIN_MS, TrackerFunction } from '../../lib/tracker-function';
import type { Template } from 'aws-cdk-lib/assertions';
import { build, logicalId, resources } from './helpers';

let template: Template;
beforeAll(() => {
  ({ template } = build());
});

it('each function times out at least a margin after its handler deadline', () => {
  const timeoutMs = (prefix: string) =>
    Number((resources(template)[logicalId(template, 'AWS::Lambda::Function', prefix)]?.Properties as { Timeout: number }).Timeout) * 1000;
  const pairs: [string, number][] = [
    ['ClickFunction', HANDLER_DEADLINE_MS.click],
    ['PostbackFunction', HANDLER_DEADLINE_MS.postback],
    ['IpnFunction', HANDLER_DEADLINE_MS.ipn],
    ['ConversionTypesSyncFunction', HANDLER_DEADLINE_MS.syncConversionTypes],
  ];
  for (const [prefix, deadline] of pairs) expect(timeoutMs(prefix)).toBeGreaterThanOrEqual(deadline + DEADLINE_MARGIN_MS);
  // The README's promise rests on this one: a redirect within 1.5 s even when everything hangs.
  expect(HANDLER_DEADLINE_MS.click).toBeLessThanOrEqual(1200);
});

it('no function parses source maps at run time: the first error stack would cost a failing request ~300 ms of CPU', () => {
  const functions = Object.values(resources(template, 'AWS::Lambda::Function'));
  expect(functions.length).toBeGreaterThanOrEqual(4);
  for (const fn of functions) {
    const variables = (fn.Properties as { Environment?: { Variables?: Record<string, unknown> } }).Environment?.Variables ?? {};
    expect(String(variables.NODE_OPTIONS ?? '')).not.toMatch(/enable-source-maps/);
  }
});

it('synth refuses a timeout that leaves no time beyond the deadline', () => {
  const stack = new Stack(new App({ context: { 'aws:cdk:bundling-stacks': [] } }), 'S');
  const props = { entry: 'lambda/handlers/click.ts', description: 'x', memorySize: 256, logRetention: logs.RetentionDays.ONE_WEEK, logLevel: 'INFO' as const };
  expect(() => new TrackerFunction(stack, 'Tight', { ...props, timeout: Duration.seconds(2), deadlineMs: 1200 })).toThrow(
    "TrackerFunction Tight: the timeout (2000 ms) must leave 1000 ms beyond the handler's deadline (1200 ms, lambda/contract.ts HANDLER_DEADLINE_MS), or Lambda would end it before it answers",
  );
  expect(() => new TrackerFunction(stack, 'Fits', { ...props, timeout: Duration.seconds(3), deadlineMs: 1200 })).not.toThrow();
});
