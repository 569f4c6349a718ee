import { readFileSync } from 'node:fs';
import { expect, it } from 'vitest';
import { PROTO_FILE, SCHEMA_MODULE, schemaModule } from '../../scripts/embedProto.ts';

it('the embedded control schema is the one proto/bering.proto describes (npm run proto regenerates it)', () => {
  expect(readFileSync(SCHEMA_MODULE, 'utf8')).toBe(schemaModule(PROTO_FILE));
});
