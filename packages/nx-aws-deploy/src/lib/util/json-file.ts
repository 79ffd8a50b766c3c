import { closeSync, openSync, writeSync } from 'node:fs';

/** Written to disk whenever this much is pending. */
const CHUNK_CHARS = 64 * 1024;

/** A long list inside a JSON file: array items, or the [key, value] entries of an object. */
export type JsonList =
  { name: string; items: Iterable<unknown> } | { name: string; entries: Iterable<[string, unknown]> };

/**
 * Writes `fields` as a JSON object to `path`, followed by `list`, one item per line, in chunks as it goes: a
 * 100 000-file deploy's manifest or hash cache is never held whole as one string (megabytes each, on top of
 * the records they are made from).
 */
export function writeJsonWithList(path: string, fields: Record<string, unknown>, list: JsonList): void {
  const fd = openSync(path, 'w');
  try {
    let pending = '';
    const write = (text: string) => {
      pending += text;
      if (pending.length < CHUNK_CHARS) return;
      writeSync(fd, pending);
      pending = '';
    };
    const head = JSON.stringify(fields, null, 2);
    write(head === '{}' ? '{' : `${head.slice(0, -2)},`);
    let separator = '';
    if ('items' in list) {
      write(`\n  ${JSON.stringify(list.name)}: [`);
      for (const item of list.items) {
        write(`${separator}\n    ${JSON.stringify(item)}`);
        separator = ',';
      }
      write('\n  ]\n}\n');
    } else {
      write(`\n  ${JSON.stringify(list.name)}: {`);
      for (const [key, value] of list.entries) {
        write(`${separator}\n    ${JSON.stringify(key)}: ${JSON.stringify(value)}`);
        separator = ',';
      }
      write('\n  }\n}\n');
    }
    writeSync(fd, pending);
  } finally {
    closeSync(fd);
  }
}
