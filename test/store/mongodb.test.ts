/**
 * The store contract against a real MongoDB. No MongoDB server can be installed on the build
 * machines, so this runs only when MONGODB_URI points at one, e.g.
 *   MONGODB_URI=mongodb://127.0.0.1:27017 node --import tsx --test test/store/mongodb.test.ts
 * Each test uses a database of its own and drops it afterwards.
 */
import { test } from 'node:test';
import { randomUUID } from 'node:crypto';
import { MongoClient } from 'mongodb';
import { openMongoStore } from '../../src/store/mongo-store.ts';
import { storeContract } from './contract.ts';

const uri = process.env.MONGODB_URI;

if (!uri) {
  test('HistoryStore contract: MongoDB', { skip: 'skipped because MONGODB_URI is unset (no MongoDB server to test against)' }, () => {});
} else {
  storeContract('MongoDB', async () => {
    const dbName = `tide_test_${randomUUID().replaceAll('-', '')}`.slice(0, 38);
    return {
      open: (options) => openMongoStore(uri, { ...options, dbName }),
      cleanup: async () => {
        const client = await MongoClient.connect(uri);
        try {
          await client.db(dbName).dropDatabase();
        } finally {
          await client.close();
        }
      },
    };
  });
}
