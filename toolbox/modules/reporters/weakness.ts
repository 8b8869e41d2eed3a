// Which weakness a SARIF result names, so that results of different tools can be compared: the
// CWE tags of its rule (the normaliser adds them for every tool), with a few CWEs that name one
// weakness at different granularity folded together, and "credential" for hard-coded secrets
// whichever tool found them. Pure code, no I/O.
import { reportedBy } from '../../../backend/sarif/log';
import type { SarifResult, SarifRule, SarifRun } from '../../../backend/sarif/types';

/** The weakness class of every hard-coded secret, password or key. */
export const CREDENTIAL = 'credential';

/** Tools whose every result is a hard-coded secret. */
export const SECRET_TOOLS: ReadonlySet<string> = new Set(['fuzzforge-secrets', 'gitleaks']);

/**
 * CWEs folded into one class: a tool saying "hard-coded password" (CWE-259) and another saying
 * "hard-coded credentials" (CWE-798) at one line describe one weakness; likewise OS command
 * injection at two granularities, broken hash vs broken algorithm, eval vs code injection, and
 * reflected vs basic XSS. Any other CWE is its own class.
 */
const CWE_CLASS: Readonly<Record<string, string>> = {
  '259': CREDENTIAL,
  '321': CREDENTIAL,
  '798': CREDENTIAL,
  '77': 'cwe-78',
  '327': 'cwe-327',
  '328': 'cwe-327',
  '95': 'cwe-94',
  '80': 'cwe-79',
};

/**
 * Rules that report a hard-coded secret but may lack a CWE tag in some tool versions: bandit's
 * hard-coded password checks, gosec's G101, and rule ids that say so (semgrep's
 * `...hardcoded-secret`, `generic.secrets...`).
 */
const CREDENTIAL_RULES: ReadonlySet<string> = new Set(['B105', 'B106', 'B107', 'G101']);
const CREDENTIAL_RULE_ID = /hard-?coded[-_.]?(?:secret|password|credential|key|token)|(?:^|\.)secrets?\./i;

/**
 * Rules whose tool tags them with a CWE that does not describe what they find (bandit files
 * `eval` and `exec` under OS command injection, `yaml.load` under input validation, `assert` under
 * exception handling and jinja2 autoescape=False under code injection, though its message and
 * the weakness are XSS); their class comes from this table instead.
 */
const RULE_CWES: Readonly<Record<string, readonly string[]>> = {
  'bandit/B102': ['95'],
  'bandit/B307': ['95'],
  'bandit/B506': ['502'],
  'bandit/B101': ['617'],
  'bandit/B701': ['79'],
};

/** The rule a result refers to in its run (by index, else by id). */
export function ruleOf(run: SarifRun, result: SarifResult): SarifRule | undefined {
  const rules = run.tool.driver.rules ?? [];
  const byIndex = result.ruleIndex !== undefined ? rules[result.ruleIndex] : undefined;
  return byIndex && (result.ruleId === undefined || byIndex.id === result.ruleId)
    ? byIndex
    : rules.find((r) => r.id === result.ruleId);
}

/** A result's rule id, from the result or its rule. */
export function ruleIdOf(run: SarifRun, result: SarifResult): string {
  return result.ruleId ?? ruleOf(run, result)?.id ?? '(none)';
}

/** The weakness classes a result names (empty when it names none: it then matches nothing). */
export function weaknessClasses(run: SarifRun, result: SarifResult): Set<string> {
  const classes = new Set<string>();
  const rule = ruleOf(run, result);
  const ruleId = ruleIdOf(run, result);
  const tagged = (rule?.properties?.tags ?? []).flatMap((t) => /^external\/cwe\/cwe-(\d+)$/i.exec(t)?.[1] ?? []);
  for (const cwe of RULE_CWES[`${run.tool.driver.name}/${ruleId}`] ?? tagged) {
    classes.add(CWE_CLASS[cwe] ?? `cwe-${cwe}`);
  }
  if (SECRET_TOOLS.has(run.tool.driver.name) || CREDENTIAL_RULES.has(ruleId) || CREDENTIAL_RULE_ID.test(ruleId)) {
    classes.add(CREDENTIAL);
  }
  return classes;
}

/** Does the result report a hard-coded secret (so its quoted values are the secret)? */
export function isCredentialResult(run: SarifRun, result: SarifResult): boolean {
  return weaknessClasses(run, result).has(CREDENTIAL);
}

/**
 * Rules that only make sense in code that ships, as `tool/ruleId`: asserts (stripped by -O),
 * debug servers, binding every interface, temp-file names, bare except-pass, non-crypto random,
 * unchecked errors. In tests, docs and examples they stay quiet (postprocess.ts).
 */
const PRODUCTION_ONLY: ReadonlySet<string> = new Set([
  'bandit/B101',
  'bandit/B104',
  'bandit/B108',
  'bandit/B110',
  'bandit/B112',
  'bandit/B113',
  'bandit/B201',
  'bandit/B311',
  'bandit/B404',
  'bandit/B603',
  'bandit/B607',
  'semgrep/ff-py-flask-debug',
  'semgrep/ff-py-bind-all-interfaces',
  'semgrep/ff-py-assert-authorization',
  'gosec/G104',
  'gosec/G304',
  'gosec/G404',
]);

/** Is every rule that reported this result one that only matters in production code? */
export function isProductionOnly(run: SarifRun, result: SarifResult): boolean {
  return reportedBy(run, result).every((r) => PRODUCTION_ONLY.has(`${r.tool}/${r.ruleId}`));
}

/**
 * Secret rules that judge a value by the name it is assigned to, its entropy or its shape rather
 * than by a provider's token format; in documentation and examples such a value is an example.
 */
const GENERIC_SECRET_RULES: ReadonlySet<string> = new Set([
  'fuzzforge-secrets/ff-secret-generic-secret',
  'fuzzforge-secrets/ff-secret-connection-string',
  'fuzzforge-secrets/ff-secret-jwt',
  'gitleaks/generic-api-key',
  'gitleaks/jwt',
  'fuzzforge-patterns/ff-hardcoded-credential',
]);

/** The secret detector's kinds judged by name, entropy or shape (see GENERIC_SECRET_RULES). */
const GENERIC_SECRET_KINDS: ReadonlySet<string> = new Set(['generic-secret', 'connection-string', 'jwt']);

/**
 * Does the result report a secret whose format names its issuer (an AWS key id, a GitHub or Slack
 * token, a private key block)? Such a value is a leak wherever it is written, docs and tests too.
 */
export function isKnownFormatSecret(run: SarifRun, result: SarifResult): boolean {
  // The pattern rules' ff-hardcoded-credential carries the secret detector's kind of the value.
  const kind = result.properties?.secretKind;
  if (typeof kind === 'string' && isCredentialResult(run, result) && !GENERIC_SECRET_KINDS.has(kind)) {
    return true;
  }
  return (
    isCredentialResult(run, result) &&
    reportedBy(run, result).some(
      (r) =>
        (SECRET_TOOLS.has(r.tool) || r.tool === 'fuzzforge-patterns') &&
        !GENERIC_SECRET_RULES.has(`${r.tool}/${r.ruleId}`),
    )
  );
}

/**
 * Does the result report a private key block? In tests such keys are the fixtures of TLS and
 * signing tests (generated, self-signed), not a service's key: reported there as notes.
 */
export function isPrivateKeyResult(run: SarifRun, result: SarifResult): boolean {
  return isCredentialResult(run, result) && reportedBy(run, result).some((r) => /private[-_]?key/i.test(r.ruleId));
}
