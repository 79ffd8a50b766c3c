import { Progress } from './progress';

describe('Progress', () => {
  let stderr: jest.SpyInstance;
  beforeEach(() => {
    jest.useFakeTimers({ now: 0 });
    stderr = jest.spyOn(process.stderr, 'write').mockImplementation(() => true);
  });
  afterEach(() => {
    stderr.mockRestore();
    jest.useRealTimers();
  });

  it('in a log, writes a plain line every interval while files remain, and nothing on stderr', () => {
    const lines: string[] = [];
    const progress = new Progress('upload', 3, 3072, (line) => lines.push(line), false, 5000);
    progress.advance(1, 1024);
    jest.setSystemTime(5000);
    progress.advance(1, 1024);
    jest.setSystemTime(6000);
    progress.advance(0, 512);
    jest.setSystemTime(11_000);
    progress.advance(1, 512);
    expect(lines).toEqual(['upload: 2/3 files, 2.0 KB/3.0 KB']);
    expect(stderr).not.toHaveBeenCalled();
  });

  it('at a terminal, redraws one line on stderr and ends it with the last file', () => {
    const lines: string[] = [];
    const progress = new Progress('upload', 2, 2048, (line) => lines.push(line), true);
    progress.advance(1, 1024);
    progress.advance(1, 1024);
    const written = stderr.mock.calls.map(([chunk]) => String(chunk));
    expect(written[0]).toMatch(/^\rupload \[#{12}\.{12}\] 1\/2 files/);
    expect(written.slice(-2)).toEqual([expect.stringMatching(/^\rupload \[#{24}\] 2\/2 files/), '\n']);
    expect(lines).toEqual([]);
  });
});
