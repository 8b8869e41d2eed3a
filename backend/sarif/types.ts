// The subset of SARIF 2.1.0 that FuzzForge reads and writes. Field names follow the spec.

export type SarifLevel = 'none' | 'note' | 'warning' | 'error';

export interface SarifLog {
  version: '2.1.0';
  $schema?: string;
  runs: SarifRun[];
}

export interface SarifRun {
  tool: { driver: SarifToolComponent };
  results?: SarifResult[];
  artifacts?: { location: SarifArtifactLocation; length?: number; roles?: string[] }[];
  originalUriBaseIds?: Record<string, { uri: string; description?: { text: string } }>;
  invocations?: SarifInvocation[];
  automationDetails?: { id?: string; guid?: string };
  properties?: Record<string, unknown>;
}

export interface SarifToolComponent {
  name: string;
  version?: string;
  semanticVersion?: string;
  informationUri?: string;
  rules?: SarifRule[];
}

export interface SarifRule {
  id: string;
  name?: string;
  shortDescription?: { text: string };
  fullDescription?: { text: string };
  help?: { text: string; markdown?: string };
  helpUri?: string;
  defaultConfiguration?: { level?: SarifLevel };
  properties?: { tags?: string[]; precision?: string; 'security-severity'?: string; [key: string]: unknown };
}

export interface SarifArtifactLocation {
  uri: string;
  uriBaseId?: string;
}

export interface SarifRegion {
  startLine?: number;
  startColumn?: number;
  endLine?: number;
  endColumn?: number;
  snippet?: { text: string };
}

export interface SarifLocation {
  physicalLocation?: { artifactLocation?: SarifArtifactLocation; region?: SarifRegion; contextRegion?: SarifRegion };
  message?: { text: string };
}

export interface SarifResult {
  ruleId?: string;
  ruleIndex?: number;
  level?: SarifLevel;
  kind?: 'notApplicable' | 'pass' | 'fail' | 'review' | 'open' | 'informational';
  message: { text: string };
  locations?: SarifLocation[];
  relatedLocations?: SarifLocation[];
  codeFlows?: SarifCodeFlow[];
  /** Files that belong to the result (a crashing input), e.g. in object storage. */
  attachments?: { description?: { text: string }; artifactLocation: SarifArtifactLocation }[];
  partialFingerprints?: Record<string, string>;
  suppressions?: { kind: 'inSource' | 'external'; status?: string; justification?: string }[];
  baselineState?: 'new' | 'unchanged' | 'updated' | 'absent';
  properties?: Record<string, unknown>;
}

export interface SarifCodeFlow {
  message?: { text: string };
  threadFlows: { locations: { location: SarifLocation; nestingLevel?: number }[] }[];
}

export interface SarifInvocation {
  executionSuccessful: boolean;
  toolExecutionNotifications?: { level?: SarifLevel; message: { text: string } }[];
  exitCode?: number;
}
