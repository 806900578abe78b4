export * from './definitions';
export * from './errors';
export * from './ids';
export * from './search-attributes';
export * from './types';
