import { XMLParser } from 'fast-xml-parser';

export function escapeXml(value: string): string {
  return value.replace(/[&<>"']/g, (c) => `&${{ '&': 'amp', '<': 'lt', '>': 'gt', '"': 'quot', "'": 'apos' }[c]};`);
}

/** `<Tag>escaped value</Tag>`, or nothing when the value is absent. */
export function el(tag: string, value: string | number | boolean | undefined | null): string {
  return value === undefined || value === null ? '' : `<${tag}>${escapeXml(String(value))}</${tag}>`;
}

export function xmlDocument(body: string): string {
  return `<?xml version="1.0" encoding="UTF-8"?>\n${body}`;
}

/** Element names that AWS REST-XML bodies repeat; they always parse as arrays. */
const LIST_ELEMENTS = new Set([
  'Object',
  'Part',
  'Path',
  'Origin',
  'CacheBehavior',
  'CustomErrorResponse',
  'FunctionAssociation',
  'KeyValueStoreAssociation',
  'KeyValueStore',
  'LambdaFunctionAssociation',
  'Method',
  'CNAME',
  'Name',
  'HeaderName',
]);

const parser = new XMLParser({
  ignoreAttributes: true,
  parseTagValue: false,
  trimValues: false,
  isArray: (name) => LIST_ELEMENTS.has(name),
});

export function parseXml(text: string): Record<string, any> {
  return parser.parse(text) as Record<string, any>;
}
