/** The legacy layout's data formats: JSON, XML and CSV for every declared data kind, single and batched. */
export * from './layouts.ts';
export * from './errors.ts';
export * from './record-codecs.ts';
export * from './batch.ts';
