import { ProcessingMode } from 'mingo';
import type { Options } from 'mingo/types';

/** Server-side JavaScript ($where, $function) stays off, as on a hardened mongod. */
export const QUERY_OPTIONS: Partial<Options> = {
  scriptEnabled: false,
  processingMode: ProcessingMode.CLONE_OFF,
};
