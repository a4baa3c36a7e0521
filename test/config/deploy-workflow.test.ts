/**
 * The GitHub Actions deploy (issue 15): tests before the deploy, OpenID Connect instead of AWS
 * keys, and a documented trust policy that pins one repository and environment, no wildcard.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';

const ROOT = join(__dirname, '..', '..');
const workflow = readFileSync(join(ROOT, '.github/workflows/deploy.yml'), 'utf8');
const guide = readFileSync(join(ROOT, 'docs/deploy.md'), 'utf8');

describe('.github/workflows/deploy.yml', () => {
  it('deploys only after the tests, in the production environment, with an OIDC token', () => {
    const deploy = workflow.slice(workflow.indexOf('\n  deploy:'));
    expect(deploy).toMatch(/needs: test/);
    expect(deploy).toMatch(/environment: production/);
    expect(deploy).toMatch(/id-token: write/);
    expect(deploy).toMatch(/aws-actions\/configure-aws-credentials@v\d+/);
    expect(deploy).toMatch(/role-to-assume: \$\{\{ vars\.AWS_DEPLOY_ROLE_ARN \}\}/);
    expect(workflow.slice(workflow.indexOf('\n  test:'), workflow.indexOf('\n  deploy:'))).toMatch(/\.ci\/run/);
    // The workflow itself may read the repository and nothing more.
    expect(workflow).toMatch(/^permissions:\n {2}contents: read\n/m);
  });

  it('holds no long-lived AWS keys', () => {
    expect(workflow).not.toMatch(/aws-access-key-id|aws-secret-access-key|AWS_ACCESS_KEY_ID|AWS_SECRET_ACCESS_KEY|secrets\./);
  });
});

describe('docs/deploy.md: the deploy role', () => {
  const trust = (() => {
    const start = guide.indexOf('"sts:AssumeRoleWithWebIdentity"');
    const block = guide.slice(guide.lastIndexOf('```json', start), guide.indexOf('```\n', start));
    return JSON.parse(block.replace('```json', '')) as { Statement: { Condition: { StringEquals: Record<string, string>; StringLike?: unknown } }[] };
  })();

  it('trusts exactly one repository and environment, and only for sts.amazonaws.com', () => {
    const condition = trust.Statement[0]?.Condition;
    expect(condition?.StringLike).toBeUndefined();
    expect(condition?.StringEquals).toEqual({
      'token.actions.githubusercontent.com:aud': 'sts.amazonaws.com',
      'token.actions.githubusercontent.com:sub': 'repo:OWNER/REPOSITORY:environment:production',
    });
    expect(JSON.stringify(trust)).not.toContain('*');
  });
});
