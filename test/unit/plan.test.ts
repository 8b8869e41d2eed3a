import * as assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { toolboxDir } from '../../backend/paths';
import { findWorkflow } from '../../backend/scan';
import { checkParams } from '../../backend/toolbox/params';
import { ALWAYS, applicableWorkflows, BY_LANGUAGE } from '../../toolbox/modules/orchestration/plan';

describe('full_scan planning', () => {
  it('always runs the generic scans and adds one workflow per detected language family', () => {
    assert.deepEqual(applicableWorkflows([]), ['security_assessment', 'secret_detection']);
    assert.deepEqual(applicableWorkflows(['typescript', 'javascript', 'python', 'ruby']), [
      'security_assessment',
      'secret_detection',
      'js_sast',
      'python_sast',
    ]);
    assert.deepEqual(applicableWorkflows(['c', 'go']), [
      'security_assessment',
      'secret_detection',
      'cpp_sast',
      'go_sast',
    ]);
  });

  it('restricts to the workflows asked for', () => {
    assert.deepEqual(applicableWorkflows(['python', 'go'], ['go_sast', 'python_sast']), ['go_sast', 'python_sast']);
    assert.deepEqual(applicableWorkflows(['python'], ['cpp_sast']), []);
  });

  it('its workflows parameter accepts exactly the children the plan knows, so a misspelt one is an error', () => {
    const def = findWorkflow(toolboxDir(), 'full_scan');
    const items = (def.parameters.properties.workflows as { items?: { enum?: string[] } }).items?.enum ?? [];
    assert.deepEqual([...items].sort(), [...new Set([...ALWAYS, ...Object.values(BY_LANGUAGE)])].sort());
    assert.deepEqual(
      checkParams(def, { workflows: ['python_sats'] }).problems.map((p) => p.field),
      ['workflows.0'],
    );
  });
});
