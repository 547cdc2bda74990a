import { openEmbeddedStore } from './embedded-store.ts';
import { openMongoStore, type StoreLog } from './mongo-store.ts';
import type { HistoryStore, StoreOptions } from './types.ts';

export interface StoreSelection extends Partial<StoreOptions> {
  /** MongoDB connection string; when set, MongoDB is used. Defaults to $MONGODB_URI. */
  mongodbUri?: string;
  /** Data directory of the embedded store, used when no MongoDB URI is given. */
  dataDir: string;
  readOnly?: boolean;
  /** Where the MongoDB store says, once per start, which server features it does without (default: stderr). */
  log?: StoreLog;
}

/** MongoDB when a URI is given (or MONGODB_URI is set), the embedded store otherwise. */
export function openHistoryStore(selection: StoreSelection): Promise<HistoryStore> {
  const { mongodbUri = process.env.MONGODB_URI, dataDir, ...options } = selection;
  return mongodbUri ? openMongoStore(mongodbUri, options) : openEmbeddedStore(dataDir, options);
}

/** Where the embedded store lives unless told otherwise (`tide dev` and `tide report` agree on it). */
export const defaultDataDir = (): string => process.env.TIDE_DATA_DIR ?? '.tide/history';
