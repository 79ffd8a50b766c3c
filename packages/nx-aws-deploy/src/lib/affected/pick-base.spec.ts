import { lastSucceededRevision, pipelineFromInitiator, shellExports } from './pick-base';

const exec = (status: string, revisionId: string, actionName = 'Source') => ({
  status,
  sourceRevisions: [{ actionName, revisionId }],
});

describe('lastSucceededRevision', () => {
  it.each([
    ['no executions (first run)', [], undefined, undefined],
    ['the newest Succeeded one', [exec('Succeeded', 'c3'), exec('Succeeded', 'c2')], undefined, 'c3'],
    [
      'skips Failed, InProgress, Stopped and Superseded ones',
      [
        exec('InProgress', 'c5'),
        exec('Failed', 'c4'),
        exec('Stopped', 'c3'),
        exec('Superseded', 'c2'),
        exec('Succeeded', 'c1'),
      ],
      undefined,
      'c1',
    ],
    ['none Succeeded', [exec('Failed', 'c2'), exec('Failed', 'c1')], undefined, undefined],
    [
      'the named source action among several',
      [
        {
          status: 'Succeeded',
          sourceRevisions: [
            { actionName: 'Infra', revisionId: 'i1' },
            { actionName: 'App', revisionId: 'a1' },
          ],
        },
      ],
      'App',
      'a1',
    ],
    [
      'several sources and none named: ambiguous, so none',
      [
        {
          status: 'Succeeded',
          sourceRevisions: [
            { actionName: 'Infra', revisionId: 'i1' },
            { actionName: 'App', revisionId: 'a1' },
          ],
        },
      ],
      undefined,
      undefined,
    ],
  ])('%s', (_, executions, action, expected) => {
    expect(lastSucceededRevision(executions, action)).toBe(expected);
  });
});

it.each([
  ['codepipeline/web-frontend', 'web-frontend'],
  ['user/alice', undefined],
  [undefined, undefined],
])('pipelineFromInitiator(%j) → %j', (initiator, expected) => expect(pipelineFromInitiator(initiator)).toBe(expected));

it('quotes only what the shell needs quoted', () => {
  expect(shellExports({ NX_BASE: 'abc123', NX_NOTE: "it's here" })).toBe(
    "export NX_BASE=abc123\nexport NX_NOTE='it'\\''s here'",
  );
});
