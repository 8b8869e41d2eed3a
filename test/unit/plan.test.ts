import * as assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { applicableWorkflows } from '../../toolbox/modules/orchestration/plan';

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
});
