import { formatBytes } from '../util/format';

/**
 * Progress as one line redrawn on stderr (`redraw`: a person at a terminal), else a plain line every few seconds
 * (CodeBuild logs).
 */
export class Progress {
  private done = 0;
  private bytes = 0;
  private lastLine = Date.now();

  constructor(
    private readonly label: string,
    private readonly total: number,
    private readonly totalBytes: number,
    private readonly write: (line: string) => void,
    private readonly redraw: boolean,
    private readonly intervalMs = 5000,
  ) {}

  advance(files: number, bytes = 0): void {
    this.done += files;
    this.bytes += bytes;
    const now = Date.now();
    if (this.redraw) {
      const width = 24;
      const filled = this.total ? Math.round((this.done / this.total) * width) : width;
      process.stderr.write(
        `\r${this.label} [${'#'.repeat(filled)}${'.'.repeat(width - filled)}] ${this.done}/${this.total} files, ${formatBytes(this.bytes)}/${formatBytes(this.totalBytes)}`,
      );
      if (this.done >= this.total) process.stderr.write('\n');
    } else if (now - this.lastLine >= this.intervalMs && this.done < this.total) {
      this.lastLine = now;
      this.write(
        `${this.label}: ${this.done}/${this.total} files, ${formatBytes(this.bytes)}/${formatBytes(this.totalBytes)}`,
      );
    }
  }
}
