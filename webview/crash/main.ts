// The crash detail page: what crashed and where, the stack with links to the workspace's frames,
// the input as hex and text (original and minimised), the reproduction command, and buttons for
// the crash's actions. Browser code, bundled by esbuild into dist/webview/crash.js. Every value
// comes from a crash record (hostile): it is set as text (webview/dom.ts), never as markup.
import { provideVSCodeDesignSystem, vsCodeBadge, vsCodeButton, vsCodeDivider } from '@vscode/webview-ui-toolkit';
import { custom, el } from '../dom';
import type {
  CrashActionResult,
  CrashDetail,
  CrashInputView,
  CrashPageState,
  CrashRequest,
  ToCrashPage,
} from '../protocol';
import { connectPage } from '../vscodeApi';

provideVSCodeDesignSystem().register(vsCodeBadge(), vsCodeButton(), vsCodeDivider());

const page = connectPage<CrashRequest, ToCrashPage, CrashPageState>();

function button(label: string, request: CrashRequest, attrs: Record<string, string> = {}): HTMLElement {
  const b = custom('vscode-button', { 'data-action': request.type, ...attrs }, label);
  b.addEventListener('click', () => page.post(request));
  return b;
}

function inputSection(title: string, input: CrashInputView | undefined): Node[] {
  if (!input) {
    return [];
  }
  return [
    el('h3', {}, `${title} (${input.bytes} bytes)`),
    el('h4', {}, 'Hex'),
    el('pre', { class: 'hex', 'data-part': `${title.toLowerCase().replace(/\W+/g, '-')}-hex` }, input.hex),
    el('h4', {}, 'Text'),
    el('pre', { 'data-part': `${title.toLowerCase().replace(/\W+/g, '-')}-text` }, input.text),
  ];
}

/** How the last action ended, under the buttons. */
function resultLine(r: CrashActionResult | undefined): Node[] {
  return r
    ? [el('p', { class: r.ok ? 'result' : 'error', 'data-part': 'action-result', 'data-action': r.action }, r.text)]
    : [];
}

function render(d: CrashDetail, result?: CrashActionResult): void {
  const root = document.getElementById('root');
  if (!root) {
    return;
  }
  const c = d.crash;
  const actions = el(
    'div',
    { class: 'actions' },
    button('Replay', { type: 'replay' }),
    ...(d.canDebug ? [button('Debug', { type: 'debug' })] : []),
    button('Copy Input Path', { type: 'copyInputPath' }),
    button('Save as Regression Input', { type: 'saveRegression' }),
  );
  const frames = el(
    'ol',
    { class: 'frames', 'data-part': 'frames' },
    ...d.frames.map((f) => {
      const where = f.file ? `${f.file}${f.line ? `:${f.line}` : ''}` : '';
      if (!f.open || !f.file) {
        return el('li', {}, `${f.function}${where ? ` (${where})` : ''}`);
      }
      const file = f.file;
      const link = el('a', { role: 'link', tabindex: '0', title: `Open ${where}` }, where);
      const open = () => page.post({ type: 'openFrame', file, ...(f.line ? { line: f.line } : {}) });
      link.addEventListener('click', open);
      link.addEventListener('keydown', (e) => {
        if (e.key === 'Enter') {
          open();
        }
      });
      return el('li', {}, `${f.function} (`, link, ')');
    }),
  );
  root.replaceChildren(
    el(
      'header',
      {},
      el('h2', { 'data-part': 'kind' }, c.kind),
      custom('vscode-badge', {}, `${c.hits} ${c.hits === 1 ? 'hit' : 'hits'}`),
      el('span', { class: 'muted' }, `${c.engine} · ${c.harness} (${c.harnessFile})`),
    ),
    el('p', { 'data-part': 'summary' }, c.summary),
    el('p', { class: 'muted' }, `crash ${c.id} of run ${d.runId}; first seen ${c.firstSeen}, last ${c.lastSeen}`),
    actions,
    ...resultLine(result),
    ...(d.trusted
      ? []
      : [
          el(
            'p',
            { class: 'error' },
            'This workspace is not trusted: Replay and Save as Regression Input are refused (they build, run or write workspace code).',
          ),
        ]),
    ...(d.error ? [el('p', { class: 'error', 'data-part': 'error' }, d.error)] : []),
    custom('vscode-divider'),
    el('h3', {}, 'Stack'),
    frames,
    ...(d.stack
      ? [el('details', {}, el('summary', {}, 'Full output'), el('pre', { 'data-part': 'stack' }, d.stack))]
      : []),
    el('h3', {}, 'Reproduce'),
    el('pre', { 'data-part': 'reproduce' }, d.reproduce),
    ...(d.inputPath ? [el('p', { class: 'muted' }, `Input on this machine: ${d.inputPath}`)] : []),
    ...inputSection('Input', d.input),
    ...inputSection('Minimised input', d.minimized),
  );
}

let state = page.state();
if (state) {
  render(state.last, state.result);
}
page.start((message) => {
  switch (message.type) {
    case 'crash':
      state = { last: message };
      break;
    case 'actionResult':
      if (!state) {
        return;
      }
      state = { ...state, result: message };
      break;
  }
  page.keep(state);
  render(state.last, state.result);
});
